//! What distinguishes the variants of looping call ([`Policy`]: when to run first and
//! next, or why to stop), the instants it decides by, and [`OnError`], what a failed run
//! does to the loop.

use tokio::time::Instant;

use super::kind::Kind;
use crate::error::ErrorKind;

/// What distinguishes the variants: when the first run is due and, after each run, when
/// the next one is (or why the loop ends). The driver,
/// [`Looping`](super::driver::Looping), does the rest.
pub(crate) trait Policy: Send + 'static {
    /// What a run returns to go on: `()`, `Option<Duration>`, `Attempt`.
    type Continue;

    fn kind(&self) -> Kind;

    fn on_error(&self) -> OnError;

    /// Resets the per-run state; returns the deadline of the first run.
    fn first(&mut self, started: Instant) -> Instant;

    /// After a run that returned `Continue(c)` (`Some(c)`), or failed with
    /// [`OnError::Log`] (`None`): when to run next.
    fn next(
        &mut self,
        cont: Option<Self::Continue>,
        at: &Times,
        name: &str,
    ) -> Result<Idle, Failure>;
}

/// The instants a [`Policy`] decides by.
pub(crate) struct Times {
    /// When `start()` was called.
    pub(crate) started: Instant,
    /// When the run that just ended began.
    pub(crate) run_start: Instant,
    /// When it ended.
    pub(crate) now: Instant,
}

/// The next deadline, and the sleep until then in seconds (for the log line, in the
/// policy's own arithmetic).
pub(crate) struct Idle {
    pub(crate) until: Instant,
    pub(crate) secs: f64,
}

/// A loop-ending failure a [`Policy`] detects (timed out, no interval).
pub(crate) struct Failure {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

impl Failure {
    /// oslo's `LoopingCallTimeOut`.
    pub(crate) fn timed_out(secs: f64) -> Self {
        Failure {
            kind: ErrorKind::TimedOut,
            message: format!("Looping call timed out after {secs:.2} seconds"),
        }
    }

    /// LP#1489998: `Continue(None)` without a `periodic_interval_max`.
    pub(crate) fn no_interval() -> Self {
        Failure {
            kind: ErrorKind::NoInterval,
            message: "A dynamic interval looping call should supply either an interval or \
                      periodic_interval_max"
                .to_owned(),
        }
    }
}

/// What a looping call does when its callee fails (returns an error or panics): oslo's
/// `stop_on_exception`.
///
/// Either way the failure is logged at ERROR as `"<kind> 'name' failed"` (oslo's text,
/// e.g. `Fixed interval looping call 'heartbeat' failed`) with the error as a field.
///
/// ```
/// use std::time::Duration;
/// use periodic::{FixedInterval, OnError};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut call = FixedInterval::new(Duration::from_secs(1), || async {
///     Err::<(), _>("flaky")
/// })
/// .on_error(OnError::Log) // keep going: a heartbeat must survive a bad run
/// .start();
/// tokio::time::sleep(Duration::from_secs(5)).await;
/// assert!(call.is_running());
/// call.stop();
/// # call.wait().await.unwrap();
/// # }
/// ```
#[doc(alias = "stop_on_exception")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnError {
    /// End the loop; [`LoopingCall::wait`](crate::LoopingCall::wait) returns the error (`stop_on_exception=True`,
    /// oslo's default).
    #[default]
    Stop,
    /// Log the error and go on looping (`stop_on_exception=False`): a
    /// [`FixedInterval`](crate::FixedInterval) keeps its schedule, a
    /// [`DynamicInterval`](crate::DynamicInterval) sleeps as described in its docs.
    Log,
}

/// `instant + d`, saturating at about 30 years from `instant` (tokio's far future).
pub(crate) fn add_saturating(instant: Instant, d: std::time::Duration) -> Instant {
    instant
        .checked_add(d)
        .unwrap_or_else(|| instant + std::time::Duration::from_hours(24 * 365 * 30))
}
