//! The units every store computes the same way: the slot of a store time, milliseconds,
//! the outcome as text.

use std::time::Duration;

use super::super::info::RunOutcome;

/// The outcome as the ledger stores it.
pub(crate) fn outcome_text(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Succeeded => "succeeded",
        RunOutcome::Failed => "failed",
        RunOutcome::Panicked => "panicked",
        RunOutcome::TimedOut => "timed_out",
    }
}

/// Slot of `now_ms` for `spacing`, as every store computes it.
pub(crate) fn slot_of(now_ms: i64, spacing: Duration) -> i64 {
    now_ms.div_euclid(spacing_ms(spacing))
}

/// `spacing` in whole milliseconds, at least 1.
pub(crate) fn spacing_ms(spacing: Duration) -> i64 {
    i64::try_from(spacing.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// `d` in whole milliseconds.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots() {
        let ten = Duration::from_secs(10);
        assert_eq!(slot_of(9_999, ten), 0);
        assert_eq!(slot_of(10_000, ten), 1);
        assert_eq!(slot_of(0, Duration::ZERO), 0);
    }
}
