//! Timestamps and durations as the OpenStack tools print them. Dates come from the `time`
//! crate, in UTC; the short durations are this tool's own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// nova's API form, without the zone: `2026-01-02T03:04:05.678000`.
const NOVA: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");
/// Python's `str(datetime)` when the microseconds are zero: `2026-01-02 03:04:05`.
const PYTHON_WHOLE: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
/// Python's `str(datetime)` otherwise: `2026-01-02 03:04:05.678000`.
const PYTHON_FRACTION: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]");

/// A UTC date and time, to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc(OffsetDateTime);

impl Utc {
    /// `t` truncated to the microsecond (towards the epoch, as `SystemTime`'s
    /// `subsec_micros` does). A time outside the years -9999..=9999 shows as the nearest
    /// one inside; no store holds one.
    pub(crate) fn from_system(t: SystemTime) -> Utc {
        let nanos = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => i128::try_from(e.duration().as_nanos()).map_or(i128::MIN, |n| -n),
        };
        let nanos = nanos / 1000 * 1000;
        Utc(
            OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or_else(|_| {
                if nanos < 0 {
                    PrimitiveDateTime::MIN.assume_utc()
                } else {
                    PrimitiveDateTime::MAX.assume_utc()
                }
            }),
        )
    }

    /// nova's API form, as OpenStackClient shows it: `2026-01-02T03:04:05.678000`.
    pub(crate) fn nova(self) -> String {
        self.format(NOVA)
    }

    /// RFC 3339 with microseconds: `2026-01-02T03:04:05.678000Z`.
    pub(crate) fn rfc3339(self) -> String {
        format!("{}Z", self.nova())
    }

    /// Python's `str(datetime)`, as nova-manage printed it: `2026-01-02 03:04:05.678000`,
    /// or without the fraction when it is zero.
    pub(crate) fn python(self) -> String {
        if self.0.microsecond() == 0 {
            self.format(PYTHON_WHOLE)
        } else {
            self.format(PYTHON_FRACTION)
        }
    }

    fn format(self, description: &[BorrowedFormatItem<'_>]) -> String {
        // Formatting into a String fails only for components the value lacks (an offset
        // in a PrimitiveDateTime, ...); an OffsetDateTime has all of these.
        self.0.format(description).unwrap_or_default()
    }
}

/// Seconds for JSON, to the microsecond like the timestamps beside them:
/// `as_secs_f64` alone prints binary noise (`4.2620000000000005`); microseconds divided by
/// 10^6 give the double nearest to the decimal, printed as written (`4.262`).
pub(crate) fn json_seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// Seconds as nova prints its options: `60`, or `2.5` when not whole, with an `s`.
pub(crate) fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}s", json_seconds(d))
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

    #[test]
    fn seconds_have_no_float_noise() {
        let noisy = Duration::from_nanos(4_262_000_400);
        assert_eq!(serde_json::json!(json_seconds(noisy)).to_string(), "4.262");
        let age = Duration::from_millis(4262);
        assert_eq!(serde_json::json!(json_seconds(age)).to_string(), "4.262");
        assert_eq!(
            serde_json::json!(json_seconds(Duration::from_secs(60))).to_string(),
            "60.0"
        );
        assert_eq!(seconds(Duration::from_nanos(150_000_000_001)), "150s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5s");
    }

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
        // Truncated to the microsecond towards the epoch, on both sides of it.
        let t = UNIX_EPOCH + Duration::from_nanos(1_767_323_045_678_000_999);
        assert_eq!(Utc::from_system(t).nova(), "2026-01-02T03:04:05.678000");
        let t = UNIX_EPOCH - Duration::from_nanos(1_500);
        assert_eq!(Utc::from_system(t).nova(), "1969-12-31T23:59:59.999999");
        // Far outside the calendar: the nearest date, no panic.
        let t = UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert_eq!(Utc::from_system(t).python(), "9999-12-31 23:59:59.999999");
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
