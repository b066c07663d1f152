//! Calendar schedules: the maths of a task whose runs follow the wall clock (a cron
//! expression) rather than a spacing, as pure functions over a small [`Calendar`]
//! contract. The slot table keeps a task's calendar and the wall time its next due
//! instant stands for; the cron parser itself (croner, feature `cron`) sits in `cron.rs`,
//! so nothing here depends on the feature.
//!
//! Occurrences are wall-clock times ([`SystemTime`]); the runner schedules on tokio's
//! [`Instant`], so an occurrence is placed by its distance from the wall clock's "now",
//! read together with tokio's: [`to_instant`]. In a test with tokio's paused clock, a
//! [`WallClock`](crate::WallClock) that advances with it keeps the two in step.
//!
//! What follows a run, by [`Overrun`] policy (`*/10 * * * * *`, a run at 0 that takes
//! 25 s; 1 s = 1 column):
//!
//! ```text
//! t (s)        0         10        20        30        40
//! occurrences  |         |         |         |         |
//! RunOnce      R═════════════════════════╗R  |         R    10, 20 missed: one run at
//!                                                           once (25), then 30, 40
//! Skip         R═════════════════════════╗   R         R    next occurrence after 25
//! CatchUp(2)   R═════════════════════════╗RR R         R    10 and 20 back to back at 25
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::policy::Overrun;

/// When a calendar-scheduled task runs: the occurrences of a cron expression in a time
/// zone. Object-safe, so that the slot table holds one without naming the cron crate.
pub(crate) trait Calendar: Send + Sync + fmt::Debug {
    /// The first occurrence strictly after `t`; `None` when there is none (an expression
    /// that matches no time ahead).
    fn next_after(&self, t: SystemTime) -> Option<SystemTime>;

    /// The last occurrence at or before `t`.
    fn last_at_or_before(&self, t: SystemTime) -> Option<SystemTime>;

    /// The expression as written (trimmed).
    fn expression(&self) -> &str;

    /// The IANA name of the time zone the expression is evaluated in (`UTC` by default).
    fn time_zone(&self) -> &str;
}

/// A task's calendar and where it stands: the wall time its next due instant is for.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) calendar: Arc<dyn Calendar>,
    /// The occurrence (or, before the first run of a `run_immediately` task, the moment it
    /// was added) that the slot's due instant stands for; `None` when the expression has
    /// no occurrence left.
    pub(crate) due: Option<SystemTime>,
}

/// Where `at` falls on tokio's clock, given the wall clock and tokio's clock read
/// together (`now_wall` at `now`). A time before tokio's epoch becomes `now`.
pub(crate) fn to_instant(now: Instant, now_wall: SystemTime, at: SystemTime) -> Instant {
    match at.duration_since(now_wall) {
        Ok(ahead) => now.checked_add(ahead).unwrap_or(now),
        Err(behind) => now.checked_sub(behind.duration()).unwrap_or(now),
    }
}

/// The wall time of instant `t`, given the wall clock and tokio's clock read together.
pub(crate) fn to_wall(now: Instant, now_wall: SystemTime, t: Instant) -> SystemTime {
    if t >= now {
        now_wall + (t - now)
    } else {
        now_wall
            .checked_sub(now - t)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// The first due time of a task added at `now_wall`: then, for a `run_immediately` task
/// (its later runs follow the calendar), else the next occurrence.
pub(crate) fn first_due(
    calendar: &dyn Calendar,
    now_wall: SystemTime,
    run_immediately: bool,
) -> Option<SystemTime> {
    if run_immediately {
        Some(now_wall)
    } else {
        calendar.next_after(now_wall)
    }
}

/// A run starts at `now_wall` for the due time `due`: returns the time the run serves
/// (its "last run") and the next due time.
///
/// [`Overrun::RunOnce`] and [`Overrun::Skip`]: this run stands for every occurrence
/// missed until now, the next one is the first after now. [`Overrun::CatchUp`]`(n)`:
/// this run serves the oldest missed occurrence among the `n` most recent ones, and the
/// next due time is the occurrence after it (already passed: due at once), until the
/// task is back on its calendar.
pub(crate) fn begin(
    calendar: &dyn Calendar,
    overrun: Overrun,
    due: SystemTime,
    now_wall: SystemTime,
) -> (SystemTime, Option<SystemTime>) {
    let served = match overrun {
        Overrun::CatchUp(most) if most > 1 && due < now_wall => {
            let mut oldest = calendar.last_at_or_before(now_wall);
            for _ in 1..most {
                match oldest.and_then(|t| t.checked_sub(Duration::from_nanos(1))) {
                    Some(before) if oldest.is_some_and(|t| t > due) => {
                        oldest = calendar.last_at_or_before(before).or(oldest);
                    }
                    _ => break,
                }
            }
            oldest.map_or(due, |oldest| oldest.max(due))
        }
        _ => now_wall.max(due),
    };
    let next = match overrun {
        Overrun::CatchUp(most) if most > 1 => calendar.next_after(served),
        _ => calendar.next_after(now_wall.max(due)),
    };
    (served, next)
}

/// After a run that ended at `ended_wall` under [`Overrun::Skip`]: the first occurrence
/// after the run's end, when its next due time passed while it ran.
pub(crate) fn skip_missed(
    calendar: &dyn Calendar,
    next_due: SystemTime,
    ended_wall: SystemTime,
) -> Option<SystemTime> {
    if next_due > ended_wall {
        Some(next_due)
    } else {
        calendar.next_after(ended_wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `step` seconds since the Unix epoch, in UTC (what `*/step * * * * *` is for
    /// a step that divides 60).
    #[derive(Debug)]
    struct Every(u64);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn secs(t: SystemTime) -> f64 {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    }

    #[allow(
        clippy::unnecessary_literal_bound,
        reason = "the contract lends the text from `self`"
    )]
    impl Calendar for Every {
        fn next_after(&self, t: SystemTime) -> Option<SystemTime> {
            let s = t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
            Some(at((s / self.0 + 1) * self.0))
        }
        fn last_at_or_before(&self, t: SystemTime) -> Option<SystemTime> {
            let s = t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
            Some(at(s / self.0 * self.0))
        }
        fn expression(&self) -> &str {
            "every"
        }
        fn time_zone(&self) -> &str {
            "UTC"
        }
    }

    #[test]
    fn instants_follow_the_wall_clock() {
        let now = Instant::now();
        let wall = at(1000);
        assert_eq!(
            to_instant(now, wall, at(1005)),
            now + Duration::from_secs(5)
        );
        let later = now + Duration::from_secs(10);
        assert_eq!(
            to_instant(later, at(1010), at(1003)),
            now + Duration::from_secs(3)
        );
        assert_eq!(to_wall(later, at(1010), now), at(1000));
        assert_eq!(to_wall(now, wall, later), at(1010));
    }

    #[test]
    fn first_due_is_now_or_the_next_occurrence() {
        let cal = Every(5);
        assert_eq!(first_due(&cal, at(12), true), Some(at(12)));
        assert_eq!(first_due(&cal, at(12), false), Some(at(15)));
        assert_eq!(first_due(&cal, at(15), false), Some(at(20)));
    }

    /// Occurrences every 10 s; the run due at 10 starts at 35 (20 and 30 missed).
    #[test]
    fn overrun_policies() {
        let cal = Every(10);
        let (served, next) = begin(&cal, Overrun::RunOnce, at(10), at(35));
        assert_eq!((secs(served), next.map(secs)), (35.0, Some(40.0)));
        let (_, next) = begin(&cal, Overrun::Skip, at(10), at(35));
        assert_eq!(next.map(secs), Some(40.0));
        // CatchUp(2): 20 and 30 are the two most recent; this run serves 20, 30 is due at
        // once, then 40.
        let (served, next) = begin(&cal, Overrun::CatchUp(2), at(10), at(35));
        assert_eq!((secs(served), next.map(secs)), (20.0, Some(30.0)));
        let (served, next) = begin(&cal, Overrun::CatchUp(2), at(30), at(35));
        assert_eq!((secs(served), next.map(secs)), (30.0, Some(40.0)));
        // A bound above what was missed serves the due occurrence itself.
        let (served, next) = begin(&cal, Overrun::CatchUp(9), at(10), at(35));
        assert_eq!((secs(served), next.map(secs)), (10.0, Some(20.0)));
        // On time: the same for every policy.
        for policy in [Overrun::RunOnce, Overrun::Skip, Overrun::CatchUp(3)] {
            let (served, next) = begin(&cal, policy, at(40), at(40));
            assert_eq!(
                (secs(served), next.map(secs)),
                (40.0, Some(50.0)),
                "{policy:?}"
            );
        }
        // Skip after a run that ended at 57 with 50 due: the next occurrence after 57.
        assert_eq!(skip_missed(&cal, at(50), at(57)).map(secs), Some(60.0));
        assert_eq!(skip_missed(&cal, at(60), at(57)).map(secs), Some(60.0));
    }
}
