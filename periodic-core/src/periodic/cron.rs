//! [`CronSchedule`]: a cron expression in a time zone (feature `cron`), parsed and
//! evaluated by [croner](https://docs.rs/croner), the zones named by
//! [chrono-tz](https://docs.rs/chrono-tz). The runner sees it through the `Calendar`
//! contract of `calendar.rs`.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::calendar::Calendar;
use crate::error::{Error, ErrorKind, Result};

/// When a task runs, as a cron expression evaluated in UTC or a named time zone: the
/// alternative to a [`Spacing`](crate::Spacing), for a task that must run at given times
/// of the wall clock (nightly at 03:00, at each quarter hour) rather than every so often.
///
/// The expression has 5 fields (`minute hour day-of-month month day-of-week`, at second
/// 0) or 6 (a `second` field first), or is one of the aliases `@yearly`, `@monthly`,
/// `@weekly`, `@daily`, `@hourly`. Lists, ranges and steps (`1,15`, `9-17`, `*/10`),
/// month and weekday names (`JAN`, `MON-FRI`), and croner's `L`, `W` and `#` are
/// accepted; day-of-month and day-of-week match when either does, as in Vixie cron.
/// Parsing is croner's, the same at compile time (`#[periodic_task(cron = "...")]`) and at
/// run time.
///
/// Across a daylight-saving change, a local time skipped by the change (02:30 on the
/// night clocks go forward) does not occur, and one that occurs twice (clocks go back)
/// runs once, at its first occurrence; a time such as 03:00 runs every day at 03:00 local
/// time, 23 or 25 hours apart around the change.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use periodic::CronSchedule;
///
/// let nightly = CronSchedule::parse("0 0 3 * * *")?.in_time_zone("Europe/Paris")?;
/// assert_eq!(nightly.to_string(), "0 0 3 * * * (Europe/Paris)");
///
/// // 2026-03-28 12:00 UTC: the next 03:00 in Paris is the morning clocks go forward, 01:00 UTC.
/// let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_699_200);
/// let next = nightly.next_after(noon).unwrap();
/// assert_eq!(next, SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_746_000));
///
/// let err = periodic::CronSchedule::parse("0 */10 * *").unwrap_err();
/// assert_eq!(err.kind(), periodic::ErrorKind::Config);
/// # Ok::<(), periodic::Error>(())
/// ```
#[doc(alias = "cron")]
#[derive(Clone)]
pub struct CronSchedule {
    expression: Arc<str>,
    cron: croner::Cron,
    tz: Tz,
}

impl CronSchedule {
    /// Parses a cron expression, evaluated in UTC (see
    /// [`in_time_zone`](Self::in_time_zone) for another zone).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`], with croner's reason, for an expression that is not valid:
    /// `invalid cron expression "0 */10 * *": Invalid pattern: ...`.
    pub fn parse(expression: &str) -> Result<Self> {
        let cron = croner::parser::CronParser::new()
            .parse(expression)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("invalid cron expression {expression:?}: {e}"),
                )
            })?;
        Ok(CronSchedule {
            expression: expression.trim().into(),
            cron,
            tz: Tz::UTC,
        })
    }

    /// The same expression, evaluated in the time zone of IANA name `zone`
    /// (`Europe/Paris`, `America/New_York`, `UTC`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a name the IANA time-zone database does not know.
    pub fn in_time_zone(mut self, zone: &str) -> Result<Self> {
        self.tz = Tz::from_str(zone).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "unknown time zone {zone:?}: expected an IANA name such as \
                     \"Europe/Paris\" or \"UTC\""
                ),
            )
        })?;
        Ok(self)
    }

    /// The expression as written (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The IANA name of the time zone the expression is evaluated in.
    pub fn time_zone(&self) -> &str {
        self.tz.name()
    }

    /// The first occurrence strictly after `t`, or `None` when the expression matches no
    /// later time (croner searches up to a year ahead per field combination).
    pub fn next_after(&self, t: SystemTime) -> Option<SystemTime> {
        let local = DateTime::<Utc>::from(t).with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| SystemTime::from(next.with_timezone(&Utc)))
    }

    /// The last occurrence at or before `t`.
    pub fn last_at_or_before(&self, t: SystemTime) -> Option<SystemTime> {
        let local = DateTime::<Utc>::from(t).with_timezone(&self.tz);
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|last| SystemTime::from(last.with_timezone(&Utc)))
    }
}

impl Calendar for CronSchedule {
    fn next_after(&self, t: SystemTime) -> Option<SystemTime> {
        CronSchedule::next_after(self, t)
    }

    fn last_at_or_before(&self, t: SystemTime) -> Option<SystemTime> {
        CronSchedule::last_at_or_before(self, t)
    }

    fn expression(&self) -> &str {
        CronSchedule::expression(self)
    }

    fn time_zone(&self) -> &str {
        CronSchedule::time_zone(self)
    }
}

impl fmt::Display for CronSchedule {
    /// `0 0 3 * * * (Europe/Paris)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.expression, self.tz.name())
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronSchedule")
            .field("expression", &self.expression)
            .field("time_zone", &self.tz.name())
            .finish_non_exhaustive()
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.tz == other.tz
    }
}

impl Eq for CronSchedule {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn five_and_six_fields_and_aliases() {
        // 2026-01-01 00:00:07 UTC
        let t = at(1_767_225_607);
        let next = |e: &str| {
            CronSchedule::parse(e)
                .unwrap()
                .next_after(t)
                .unwrap()
                .duration_since(t)
                .unwrap()
        };
        assert_eq!(next("*/5 * * * * *"), Duration::from_secs(3));
        assert_eq!(next("*/10 * * * *"), Duration::from_secs(600 - 7));
        assert_eq!(next("@hourly"), Duration::from_secs(3600 - 7));
        assert_eq!(
            CronSchedule::parse("  @daily ").unwrap().expression(),
            "@daily"
        );
    }

    #[test]
    fn bad_expressions_and_zones() {
        for bad in ["", "* * *", "61 * * * * *", "* * * * * * * *", "bogus"] {
            let err = CronSchedule::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad:?}");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid cron expression {bad:?}: ")),
                "{err}"
            );
        }
        let err = CronSchedule::parse("@daily")
            .unwrap()
            .in_time_zone("Mars/Olympus")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown time zone \"Mars/Olympus\": expected an IANA name such as \
             \"Europe/Paris\" or \"UTC\""
        );
    }

    /// 03:00 in Paris across the night clocks go forward (2026-03-29) and back
    /// (2026-10-25): 02:00 UTC, 01:00 UTC, ..., 01:00 UTC, 02:00 UTC.
    #[test]
    fn daily_across_daylight_saving_changes() {
        let paris = CronSchedule::parse("0 3 * * *")
            .unwrap()
            .in_time_zone("Europe/Paris")
            .unwrap();
        let day = 86_400;
        let mar28_02z = 1_774_663_200; // 2026-03-28 02:00 UTC = 03:00 CET
        let mut t = paris.next_after(at(mar28_02z - 1)).unwrap();
        assert_eq!(t, at(mar28_02z));
        t = paris.next_after(t).unwrap();
        assert_eq!(t, at(mar28_02z + day - 3600), "23 h later: 03:00 CEST");
        let oct24_01z = 1_792_803_600; // 2026-10-24 01:00 UTC = 03:00 CEST
        let mut t = paris.next_after(at(oct24_01z - 1)).unwrap();
        assert_eq!(t, at(oct24_01z));
        t = paris.next_after(t).unwrap();
        assert_eq!(t, at(oct24_01z + day + 3600), "25 h later: 03:00 CET");
        assert_eq!(paris.last_at_or_before(t), Some(t));
    }
}
