//! `DynamicInterval`: oslo's `DynamicLoopingCall`.

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

/// How long a [`DynamicInterval`] waits after a failed run when it has nothing better to
/// go by (no earlier delay, no `periodic_interval_max`).
const FALLBACK_ERROR_DELAY: Duration = Duration::from_secs(1);

/// Runs a callee that says how long to wait before its next run: oslo.service's
/// `DynamicLoopingCall`.
///
/// The callee returns `ControlFlow::Continue(delay)` with `delay: Option<Duration>` (or
/// `Result<ControlFlow<T, Option<Duration>>, E>`):
///
/// * `Continue(Some(d))`: sleep `d`, capped at
///   [`periodic_interval_max`](Self::periodic_interval_max) if one is set. A zero delay
///   runs the callee again at once (the task still yields to tokio's scheduler when its
///   budget is used up);
/// * `Continue(None)`: sleep `periodic_interval_max`; without one the loop ends with
///   [`ErrorKind::NoInterval`](crate::ErrorKind::NoInterval), "A dynamic interval looping
///   call should supply either an interval or periodic_interval_max";
/// * `Break(value)`: end the loop; [`LoopingCall::wait`] returns `Some(value)`.
///
/// Delays count from the end of the run.
///
/// ```text
/// initial_delay 3 s, periodic_interval_max 5 s, runs take no time
///
/// run at    3 s           8 s          13 s         14 s
/// returns   Some(11 s)    None         Some(1 s)    Break(v)   -> wait() = Ok(Some(v))
/// sleeps    5 s (capped)  5 s (max)    1 s
/// ```
///
/// # Differences from oslo.service
///
/// * Delays are [`Duration`]s, so they cannot be negative (oslo treats a negative delay
///   like zero).
/// * With [`OnError::Log`], oslo runs the callee again at once after a failure (a busy
///   loop while the failure lasts, the pitfall of LP#1458119). Here the loop waits as long
///   as after the last successful run that asked for a non-zero delay; if there was none
///   yet, `periodic_interval_max`; without one either, 1 second.
///
/// # Examples
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::Duration;
/// use periodic::DynamicInterval;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // Poll quickly while there is work, slowly when idle.
/// let mut queue = vec![1, 2, 3];
/// let mut worker = DynamicInterval::new(move || {
///     let step = match queue.pop() {
///         Some(_job) => ControlFlow::Continue(Some(Duration::from_millis(100))),
///         None => ControlFlow::Continue(None), // nothing to do: wait the maximum
///     };
///     async move { step }
/// })
/// .periodic_interval_max(Duration::from_secs(60))
/// .start();
///
/// tokio::time::sleep(Duration::from_secs(30)).await;
/// worker.stop();
/// assert_eq!(worker.wait().await.unwrap(), None::<()>);
/// # }
/// ```
#[doc(alias = "DynamicLoopingCall")]
pub struct DynamicInterval<F> {
    pub(super) looping: Looping<F, Dynamic>,
}

/// The schedule of a [`DynamicInterval`].
#[derive(Debug)]
pub(super) struct Dynamic {
    initial_delay: Duration,
    periodic_interval_max: Option<Duration>,
    on_error: OnError,
    /// The last non-zero delay a successful run led to: the wait after a failure.
    last_delay: Option<Duration>,
}

impl<F> DynamicInterval<F> {
    /// A looping call that runs `callee` and then sleeps what it returns.
    ///
    /// Defaults: no initial delay, no `periodic_interval_max`, [`OnError::Stop`], named
    /// after the callee's type.
    pub fn new(callee: F) -> Self {
        DynamicInterval {
            looping: Looping {
                callee,
                policy: Dynamic {
                    initial_delay: Duration::ZERO,
                    periodic_interval_max: None,
                    on_error: OnError::Stop,
                    last_delay: None,
                },
                name: default_name::<F>(),
                spin: Duration::ZERO,
            },
        }
    }

    /// Waits this long after [`start`](LoopingCall::start) before the first run (zero,
    /// the default, means no wait). [`stop`](LoopingCall::stop) interrupts it.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.looping.policy.initial_delay = delay;
        self
    }

    /// The longest sleep, and the sleep when the callee returns `Continue(None)`.
    #[must_use]
    pub fn periodic_interval_max(mut self, max: Duration) -> Self {
        self.looping.policy.periodic_interval_max = Some(max);
        self
    }

    /// What to do when the callee fails; see [`OnError`] and
    /// [the differences from oslo](Self#differences-from-oslo-service). oslo's
    /// `stop_on_exception`.
    #[doc(alias = "stop_on_exception")]
    #[must_use]
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.looping.policy.on_error = on_error;
        self
    }

    /// The name in log lines and error messages (default: the callee's type name).
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

impl<F: Callee<Option<Duration>>> DynamicInterval<F> {
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

impl Policy for Dynamic {
    type Continue = Option<Duration>;

    fn kind(&self) -> Kind {
        Kind::Dynamic
    }

    fn on_error(&self) -> OnError {
        self.on_error
    }

    fn first(&mut self, started: Instant) -> Instant {
        self.last_delay = None;
        add_saturating(started, self.initial_delay)
    }

    fn next(
        &mut self,
        cont: Option<Option<Duration>>,
        at: &Times,
        _: &str,
    ) -> Result<Idle, Failure> {
        let idle = match cont {
            Some(asked) => {
                let idle = match (asked, self.periodic_interval_max) {
                    (Some(asked), Some(max)) => asked.min(max),
                    (Some(asked), None) => asked,
                    (None, Some(max)) => max,
                    (None, None) => return Err(Failure::no_interval()),
                };
                if !idle.is_zero() {
                    self.last_delay = Some(idle);
                }
                idle
            }
            // A failed run (with `OnError::Log`): no busy loop.
            None => self
                .last_delay
                .or(self.periodic_interval_max)
                .unwrap_or(FALLBACK_ERROR_DELAY),
        };
        Ok(Idle {
            until: add_saturating(at.now, idle),
            secs: idle.as_secs_f64(),
        })
    }
}

impl<F> fmt::Debug for DynamicInterval<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = &self.looping.policy;
        f.debug_struct("DynamicInterval")
            .field("name", &self.looping.name)
            .field("initial_delay", &policy.initial_delay)
            .field("periodic_interval_max", &policy.periodic_interval_max)
            .field("on_error", &policy.on_error)
            .finish_non_exhaustive()
    }
}
