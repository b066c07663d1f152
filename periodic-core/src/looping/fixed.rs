//! `FixedInterval`: oslo's `FixedIntervalLoopingCall` and
//! `FixedIntervalWithTimeoutLoopingCall`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::call::LoopingCall;
use super::callee::Callee;
use super::driver::{Looping, default_name};
use super::kind::Kind;
use super::policy::{Failure, Idle, OnError, Policy, Times, add_saturating};
use super::timer::Timer;

/// Runs a callee every `interval`, on a fixed grid: oslo.service's
/// `FixedIntervalLoopingCall` (and, with [`timeout`](Self::timeout),
/// `FixedIntervalWithTimeoutLoopingCall`).
///
/// A builder: set the options, then [`start`](Self::start) it (or
/// [`build`](Self::build) a [`LoopingCall`] to start later, or hand it to
/// [`TaskGroup::add_timer`](crate::TaskGroup::add_timer)). The callee returns
/// `ControlFlow<T>` (or `Result<ControlFlow<T>, E>`, `()`, `Result<(), E>`, see
/// [`IntoControlFlow`](crate::IntoControlFlow)); `ControlFlow::Break(value)` ends the loop
/// and [`LoopingCall::wait`] returns `Some(value)`.
///
/// # Schedule
///
/// The first run starts after the [`initial_delay`](Self::initial_delay) (none by
/// default), and run *k* is due at `start + initial_delay + k·interval`: the time the
/// callee takes and how late the task wakes up do not add up over time. A run that
/// outlasts the interval is followed at once by the next one, and the grid is re-anchored
/// at that late start: missed ticks are not made up in a burst (tokio's
/// `MissedTickBehavior::Delay`, not `Burst`). A run that was short but started late (the
/// thread was busy, the machine loaded) keeps the grid: the next run is at the first grid
/// point not before the run's end, and the ticks that passed meanwhile are skipped (tokio's
/// `MissedTickBehavior::Skip`).
///
/// ```text
/// interval 1 s; the loop is not polled from 1 to 3.5 (a blocked thread)
///
///   grid   0    1    2    3    4    5
///   runs   |         ...       |    |    |       the run due at 1 starts at 3.5;
///                             3.5   4    5       2 and 3 are skipped, 4, 5, ... on time
/// ```
///
/// ```text
/// interval 10 s; the run at 10 takes 14 s
///
///   0         10        20  24        34        44
///   |===      |==============|===      |===      |===
///                            ^ late: runs at once, and the grid moves to 24, 34, 44, ...
/// ```
///
/// Such an overrun is logged at WARN with oslo's text, `Function 'name' run outlasted
/// interval by 4.00 sec`, with the fields `name` and `delay` (seconds, rounded to two
/// decimals; as in oslo, nothing is logged when the rounded delay is 0.00).
///
/// With [`OnError::Log`] a failed run is logged and the schedule goes on unchanged.
///
/// # Timeout
///
/// With [`timeout`](Self::timeout), after every run the loop checks the time since
/// [`start`](LoopingCall::start) (initial delay included); once it is strictly greater
/// than the timeout the loop ends with [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut),
/// `Looping call timed out after 0.31 seconds`. Log and error texts then use oslo's kind
/// "Fixed interval looping call with timeout checking.".
///
/// # Differences from oslo.service
///
/// * oslo sleeps `interval - elapsed`, rounded to 10 ms, after each run, so its schedule
///   drifts by the rounding and by every late wake-up; here each run has a deadline on the
///   grid, and sleeps are not rounded.
/// * The timeout is measured on tokio's monotonic clock; oslo uses the wall clock
///   (`time.time()`), so a clock jump could end or extend its loop.
/// * A zero interval panics (oslo would run the callee back to back).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use periodic::{FixedInterval, OnError};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut heartbeat = FixedInterval::new(Duration::from_secs(10), || async {
///     // report_state().await?
///     Ok::<(), std::io::Error>(())
/// })
/// .initial_delay(Duration::from_secs(5))
/// .on_error(OnError::Log)
/// .name("report_state")
/// .start();
///
/// tokio::time::sleep(Duration::from_secs(60)).await; // runs at 5, 15, 25, ...
/// heartbeat.stop();
/// assert_eq!(heartbeat.wait().await.unwrap(), None);
/// # }
/// ```
///
/// With a timeout:
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::Duration;
/// use periodic::FixedInterval;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut poll = FixedInterval::new(Duration::from_secs(5), || async {
///     ControlFlow::<()>::Continue(()) // "not ready yet"
/// })
/// .timeout(Duration::from_secs(12))
/// .start();
/// let err = poll.wait().await.unwrap_err(); // runs at 0, 5, 10, 15
/// assert!(err.is_timeout());
/// assert_eq!(err.to_string(), "Looping call timed out after 15.00 seconds");
/// # }
/// ```
#[doc(alias = "FixedIntervalLoopingCall")]
#[doc(alias = "FixedIntervalWithTimeoutLoopingCall")]
pub struct FixedInterval<F> {
    pub(super) looping: Looping<F, Fixed>,
}

/// The schedule of a [`FixedInterval`].
#[derive(Debug)]
pub(super) struct Fixed {
    interval: Duration,
    initial_delay: Duration,
    timeout: Option<Duration>,
    on_error: OnError,
    /// The deadline of the last run; the grid is `due + k * interval`. Set by `first`.
    due: Instant,
}

impl<F> FixedInterval<F> {
    /// A looping call that runs `callee` every `interval`.
    ///
    /// Defaults: no initial delay, [`OnError::Stop`], no timeout, named after the
    /// callee's type.
    ///
    /// # Panics
    ///
    /// If `interval` is zero.
    #[track_caller]
    pub fn new(interval: Duration, callee: F) -> Self {
        assert!(
            !interval.is_zero(),
            "FixedInterval::new: `interval` must be greater than zero"
        );
        FixedInterval {
            looping: Looping {
                callee,
                policy: Fixed {
                    interval,
                    initial_delay: Duration::ZERO,
                    timeout: None,
                    on_error: OnError::Stop,
                    due: Instant::now(),
                },
                name: default_name::<F>(),
                spin: Duration::ZERO,
            },
        }
    }

    /// Waits this long after [`start`](LoopingCall::start) before the first run (oslo's
    /// `initial_delay`; zero, the default, means no wait). [`stop`](LoopingCall::stop)
    /// interrupts it.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.looping.policy.initial_delay = delay;
        self
    }

    /// What to do when the callee fails; see [`OnError`]. oslo's `stop_on_exception`.
    #[doc(alias = "stop_on_exception")]
    #[must_use]
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.looping.policy.on_error = on_error;
        self
    }

    /// Ends the loop with [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) once, after
    /// a run, more than `timeout` has passed since [`start`](LoopingCall::start). Zero
    /// means no timeout, as in oslo. See [Timeout](Self#timeout).
    #[doc(alias = "FixedIntervalWithTimeoutLoopingCall")]
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.looping.policy.timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// The name in log lines and error messages (default: the callee's type name, as
    /// `std::any::type_name` gives it).
    #[must_use]
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.looping.name = name.into();
        self
    }

    /// How the call waits for its deadlines (default [`Timer::Tokio`]: 0-2 ms late, no
    /// busy waiting; [`Timer::Spin`] for microsecond precision).
    #[must_use]
    pub fn timer(mut self, timer: Timer) -> Self {
        self.looping.spin = timer.spin();
        self
    }
}

impl<F: Callee<()>> FixedInterval<F> {
    /// A [`LoopingCall`] that is not started yet.
    pub fn build(self) -> LoopingCall<F::Break, F::Error> {
        LoopingCall::new(self.looping)
    }

    /// Starts the loop on a new tokio task and returns its handle.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> LoopingCall<F::Break, F::Error> {
        self.build().started()
    }
}

impl Fixed {
    /// oslo's overrun warning, only when the delay rounded to 10 ms is positive.
    fn warn_outlasted(&self, elapsed: Duration, name: &str) {
        let delay = round_centis(elapsed.as_secs_f64() - self.interval.as_secs_f64());
        if delay > 0.0 {
            tracing::warn!(
                name,
                delay,
                "Function '{name}' run outlasted interval by {delay:.2} sec"
            );
        }
    }
}

/// Rounds to two decimals the way Python's `round(x, 2)` does (correctly rounded, ties to
/// even). Only called on the rare overrun path.
fn round_centis(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap_or(x)
}

impl Policy for Fixed {
    type Continue = ();

    fn kind(&self) -> Kind {
        if self.timeout.is_some() {
            Kind::FixedWithTimeout
        } else {
            Kind::Fixed
        }
    }

    fn on_error(&self) -> OnError {
        self.on_error
    }

    fn first(&mut self, started: Instant) -> Instant {
        self.due = add_saturating(started, self.initial_delay);
        self.due
    }

    fn next(&mut self, _: Option<()>, at: &Times, name: &str) -> Result<Idle, Failure> {
        let next = add_saturating(self.due, self.interval);
        let ran_for = at.now - at.run_start;
        if ran_for > self.interval {
            // The callee outlasted the interval: run again at once and re-anchor the grid
            // at this late start (oslo's behaviour, without a burst).
            self.due = at.now;
            self.warn_outlasted(ran_for, name);
        } else if at.now > next {
            // The run was short but started late (a late wake-up, a busy thread): keep the
            // grid and go on at its first point not before now, skipping the ticks that
            // have passed, so one hiccup neither bursts nor shifts every later run.
            let behind = (at.now - next).as_nanos();
            let steps = behind.div_ceil(self.interval.as_nanos());
            let steps = u32::try_from(steps).unwrap_or(u32::MAX);
            self.due = add_saturating(next, self.interval.saturating_mul(steps));
        } else {
            self.due = next;
        }
        if let Some(timeout) = self.timeout {
            let elapsed = at.now - at.started;
            if elapsed > timeout {
                return Err(Failure::timed_out(elapsed.as_secs_f64()));
            }
        }
        Ok(Idle {
            until: self.due,
            secs: (self.due - at.now).as_secs_f64(),
        })
    }
}

impl<F> fmt::Debug for FixedInterval<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = &self.looping.policy;
        f.debug_struct("FixedInterval")
            .field("name", &self.looping.name)
            .field("interval", &policy.interval)
            .field("initial_delay", &policy.initial_delay)
            .field("timeout", &policy.timeout)
            .field("on_error", &policy.on_error)
            .finish_non_exhaustive()
    }
}
