//! Timestamps and durations as the OpenStack tools print them, without a date library:
//! UTC only, from the days-from-civil algorithm (Howard Hinnant's `civil_from_days`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC date and time, to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
}

impl Utc {
    pub(crate) fn from_system(t: SystemTime) -> Utc {
        // Whole seconds since the epoch (floor) and the microseconds within that second.
        let (secs, micros) = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_micros(),
            ),
            Err(e) => {
                let d = e.duration();
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_micros() {
                    0 => (-whole, 0),
                    us => (-whole - 1, 1_000_000 - us),
                }
            }
        };
        let days = secs.div_euclid(86_400);
        let in_day = u32::try_from(secs.rem_euclid(86_400)).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day / 60 % 60,
            second: in_day % 60,
            micros,
        }
    }

    /// nova's API form, as OpenStackClient shows it: `2026-01-02T03:04:05.678000`.
    pub(crate) fn nova(self) -> String {
        format!("{}T{}.{:06}", self.date(), self.time(), self.micros)
    }

    /// RFC 3339 with microseconds: `2026-01-02T03:04:05.678000Z`.
    pub(crate) fn rfc3339(self) -> String {
        format!("{}Z", self.nova())
    }

    /// Python's `str(datetime)`, as nova-manage printed it: `2026-01-02 03:04:05.678000`,
    /// or without the fraction when it is zero.
    pub(crate) fn python(self) -> String {
        if self.micros == 0 {
            format!("{} {}", self.date(), self.time())
        } else {
            format!("{} {}.{:06}", self.date(), self.time(), self.micros)
        }
    }

    fn date(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    fn time(self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// (year, month, day) of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds as nova prints its options: `60`, or `2.5` when not whole, with an `s`.
pub(crate) fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// A short human duration: `0.012s`, `4.2s`, `3m05s`, `2h07m`. Negative values get a
/// leading `-`.
pub(crate) fn human(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".to_owned();
    }
    let sign = if secs < 0.0 { "-" } else { "" };
    let x = secs.abs();
    if x < 1.0 {
        format!("{sign}{x:.3}s")
    } else if x < 60.0 {
        format!("{sign}{x:.1}s")
    } else {
        // Below 2^53 seconds the cast is exact enough for a display.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = x.round() as u64;
        if whole < 3600 {
            format!("{sign}{}m{:02}s", whole / 60, whole % 60)
        } else {
            format!("{sign}{}h{:02}m", whole / 3600, whole / 60 % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, micros: u32) -> Utc {
        let t = if secs >= 0 {
            UNIX_EPOCH
                + Duration::from_secs(secs.unsigned_abs())
                + Duration::from_micros(micros.into())
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                + Duration::from_micros(micros.into())
        };
        Utc::from_system(t)
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0, 0).nova(), "1970-01-01T00:00:00.000000");
        // date -u -d @1767323045 → 2026-01-02 03:04:05
        assert_eq!(
            at(1_767_323_045, 678_000).nova(),
            "2026-01-02T03:04:05.678000"
        );
        assert_eq!(
            at(1_767_323_045, 678_000).python(),
            "2026-01-02 03:04:05.678000"
        );
        assert_eq!(at(1_767_323_045, 0).python(), "2026-01-02 03:04:05");
        assert_eq!(
            at(1_767_323_045, 1).rfc3339(),
            "2026-01-02T03:04:05.000001Z"
        );
        // 2024-02-29, a leap day; 2000-03-01 after a century leap year.
        assert_eq!(at(1_709_164_800, 0).python(), "2024-02-29 00:00:00");
        assert_eq!(at(951_868_800, 0).python(), "2000-03-01 00:00:00");
        // Before the epoch: 1969-12-31 23:59:59.5
        assert_eq!(at(-1, 500_000).nova(), "1969-12-31T23:59:59.500000");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(Duration::from_secs(60)), "60s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5s");
        assert_eq!(human(0.0123), "0.012s");
        assert_eq!(human(4.24), "4.2s");
        assert_eq!(human(185.0), "3m05s");
        assert_eq!(human(7620.0), "2h07m");
        assert_eq!(human(-3.0), "-3.0s");
        assert_eq!(human(f64::NAN), "?");
    }
}
