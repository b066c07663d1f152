//! Durations in JSON answers: seconds rounded to the microsecond, the precision of the
//! timestamps next to them (`2026-11-23T02:37:25.123456`).
//!
//! `Duration::as_secs_f64` prints binary noise (`4.2620000000000005`); a number of
//! microseconds divided by 10^6 is the double nearest to the decimal, which JSON prints
//! as written (`4.262`).

use std::time::Duration;

/// `d` in seconds, to the microsecond.
pub(crate) fn secs(d: Duration) -> f64 {
    round_micros(d.as_secs_f64())
}

/// Seconds rounded to the microsecond.
pub(crate) fn round_micros(secs: f64) -> f64 {
    (secs * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_float_noise_in_json() {
        let noisy = Duration::from_secs_f64(4.262_000_000_000_000_5) + Duration::from_nanos(400);
        assert_eq!(serde_json::json!(secs(noisy)).to_string(), "4.262");
        assert_eq!(
            serde_json::json!(secs(Duration::from_millis(4262))).to_string(),
            "4.262"
        );
        assert_eq!(
            serde_json::json!(secs(Duration::from_secs(60))).to_string(),
            "60.0"
        );
        assert_eq!(
            serde_json::json!(round_micros(0.1 + 0.2)).to_string(),
            "0.3"
        );
    }
}
