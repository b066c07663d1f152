//! Schedule maths: oslo's `_nearest_boundary` and its jitter, as pure functions.

use std::time::Duration;

use tokio::time::Instant;

/// oslo.service's `DEFAULT_INTERVAL`: the spacing of a task declared with spacing 0, and the
/// longest a runner pass ever asks to sleep.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// How a task's new last-run time is pushed past its grid point after a run.
///
/// oslo.service adds `int(spacing * U / 20)` whole seconds, `U` uniform in `[0, 1)`, so
/// that tasks of many processes drift apart (LP#1326020). The jitter is truncated, so
/// spacings of 20 s or less never get any, and the runner does not draw for them (a
/// [`jitter_source`](crate::RunnerOptions::jitter_source) is still called for every run
/// after the first, as oslo calls `random.random()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// oslo's jitter: 0 to 5 % of the spacing, in whole seconds.
    #[default]
    Oslo,
    /// No jitter: every task stays exactly on its `last_run + k * spacing` grid.
    None,
}

/// The whole seconds of jitter oslo adds for `spacing` and the uniform draw `u` in `[0, 1)`:
/// `int(spacing * (u / 20))`.
///
/// ```
/// use std::time::Duration;
/// use periodic::jitter_for;
///
/// assert_eq!(jitter_for(Duration::from_secs(200), 1.0), Duration::from_secs(10));
/// assert_eq!(jitter_for(Duration::from_secs(60), 0.99), Duration::from_secs(2));
/// assert_eq!(jitter_for(Duration::from_secs(20), 0.999), Duration::ZERO);
/// ```
pub fn jitter_for(spacing: Duration, u: f64) -> Duration {
    let secs = (spacing.as_secs_f64() * (u / 20.0)).trunc();
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs)
    } else {
        Duration::ZERO
    }
}

/// oslo's `_nearest_boundary`: the next last-run time of a task that runs at `now`.
///
/// With no previous run the result is `now` (no jitter). Otherwise it is the latest grid
/// point `last_run + k * spacing` that is not after `now`, plus `jitter` (see
/// [`jitter_for`]). Keeping the grid means a task that ran late, because the loop was
/// busy, is not re-anchored to the moment it finally ran.
///
/// ```text
/// spacing 7, last run 10, runs at 19:
///
///   10        17   19        24
///   |---------|----*---------|-->  new last run = 17, next due = 24
/// ```
///
/// A `now` before `last_run` is handled as oslo's Python float modulo does (the offset is
/// taken in `[0, spacing)`), though a runner never asks for it.
///
/// # Panics
///
/// Panics if `spacing` is zero.
///
/// ```
/// use std::time::Duration;
/// use periodic::nearest_boundary;
/// use tokio::time::Instant;
///
/// let t0 = Instant::now();
/// let at = |s: u64| t0 + Duration::from_secs(s);
/// let spacing = Duration::from_secs(7);
/// assert_eq!(nearest_boundary(Some(at(10)), spacing, at(19), Duration::ZERO), at(17));
/// assert_eq!(nearest_boundary(None, spacing, at(19), Duration::ZERO), at(19));
/// ```
#[track_caller]
pub fn nearest_boundary(
    last_run: Option<Instant>,
    spacing: Duration,
    now: Instant,
    jitter: Duration,
) -> Instant {
    assert!(!spacing.is_zero(), "spacing must be positive");
    let Some(last_run) = last_run else {
        return now;
    };
    let spacing_ns = spacing.as_nanos();
    let offset = if now >= last_run {
        (now - last_run).as_nanos() % spacing_ns
    } else {
        let behind = (last_run - now).as_nanos() % spacing_ns;
        if behind == 0 { 0 } else { spacing_ns - behind }
    };
    // offset < spacing, which fits a Duration.
    let offset = Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX));
    now - offset + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    // oslo-semantics 5.1 case 1 (test_nearest_boundary), rand = 0 unless stated.
    #[test]
    fn oslo_nearest_boundary_cases() {
        let t0 = Instant::now();
        let sp = |s: u64| Duration::from_secs(s);
        let z = Duration::ZERO;
        assert_eq!(
            nearest_boundary(Some(at(t0, 10.0)), sp(7), at(t0, 19.0), z),
            at(t0, 17.0)
        );
        assert_eq!(
            nearest_boundary(Some(at(t0, 13.0)), sp(7), at(t0, 28.0), z),
            at(t0, 27.0)
        );
        assert_eq!(
            nearest_boundary(Some(at(t0, 781.0)), sp(88), at(t0, 1841.0), z),
            at(t0, 1837.0)
        );
        assert_eq!(
            nearest_boundary(None, sp(88), at(t0, 1835.0), z),
            at(t0, 1835.0)
        );
        let j = jitter_for(sp(200), 1.0);
        assert_eq!(
            nearest_boundary(Some(at(t0, 1000.0)), sp(200), at(t0, 1300.0), j),
            at(t0, 1210.0)
        );
        let j = jitter_for(sp(200), 0.5);
        assert_eq!(
            nearest_boundary(Some(at(t0, 1000.0)), sp(200), at(t0, 1300.0), j),
            at(t0, 1205.0)
        );
    }

    // oslo-semantics 5.1 case 2: the jitter table, derived from the real code.
    #[test]
    fn oslo_jitter_table() {
        let cases: &[(u64, f64, u64)] = &[
            (200, 1.0, 10),
            (200, 0.5, 5),
            (30, 0.99, 1),
            (19, 0.999, 0),
            (20, 0.999, 0),
            (20, 1.0, 1),
            (60, 0.5, 1),
            (60, 0.99, 2),
            (100, 0.19, 0),
            (100, 0.2, 1),
            (3600, 0.37, 66),
        ];
        for &(spacing, u, expect) in cases {
            assert_eq!(
                jitter_for(Duration::from_secs(spacing), u),
                Duration::from_secs(expect),
                "spacing {spacing}, u {u}"
            );
        }
    }

    #[test]
    fn now_before_last_run_uses_euclidean_remainder() {
        let t0 = Instant::now() + Duration::from_secs(100);
        // (95 - 100) mod 7 = 2 in Python, so the boundary is 93.
        assert_eq!(
            nearest_boundary(
                Some(at(t0, 100.0) - Duration::from_secs(100)),
                Duration::from_secs(7),
                at(t0, 95.0) - Duration::from_secs(100),
                Duration::ZERO
            ),
            at(t0, 93.0) - Duration::from_secs(100)
        );
    }

    #[test]
    fn fractional_spacing() {
        let t0 = Instant::now();
        assert_eq!(
            nearest_boundary(
                Some(t0),
                Duration::from_millis(2500),
                at(t0, 6.0),
                Duration::ZERO
            ),
            at(t0, 5.0)
        );
    }
}
