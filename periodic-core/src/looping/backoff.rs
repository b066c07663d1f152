//! `BackOff`: oslo's `BackOffLoopingCall`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use rand_distr::StandardNormal;
use tokio::time::Instant;

use super::call::LoopingCall;
use super::callee::{Attempt, Callee};
use super::driver::{Looping, default_name};
use super::kind::Kind;
use super::policy::{Failure, Idle, OnError, Policy, Times, add_saturating};
use super::timer::Timer;

type Gauss = Box<dyn FnMut(f64, f64) -> f64 + Send>;

/// Runs a callee until it breaks, backing off exponentially (with jitter) while it keeps
/// failing: oslo.service's `BackOffLoopingCall`.
///
/// The callee returns `ControlFlow::Continue(`[`Attempt`]`)` (or
/// `Result<ControlFlow<T, Attempt>, E>`); `Break(value)` ends the loop with
/// `Some(value)`. With `r = |gauss(jitter, 0.1)|` drawn after each run, exactly oslo's
/// formulas:
///
/// * [`Attempt::Succeeded`]: the back-off is reset (`interval = starting_interval`,
///   `error_time = 0`) and the loop sleeps `starting_interval · r`;
/// * [`Attempt::Failed`]: the loop sleeps
///   `idle = min(max(interval · 2 · r, min_interval), max_interval)`, then
///   `interval = max(interval · 2 · jitter, min_interval)` (it grows by the mean, not by
///   the sample). If `timeout` is not zero and `error_time + idle > timeout`, the loop
///   ends with [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut), "Looping call timed
///   out after 411.99 seconds" (the would-be total); otherwise `error_time += idle`.
///   Only sleeps count towards the timeout, not the time the callee takes.
///
/// Defaults as in oslo: `starting_interval` 1 s, `timeout` 300 s, `max_interval` 300 s,
/// `jitter` 0.75, `min_interval` 1 ms, no initial delay. A failing callee (an `Err` or a
/// panic) always ends the loop: there is no [`OnError`] option, as oslo
/// has no `stop_on_exception` here.
///
/// ```text
/// defaults, r always 0.8, the callee keeps failing
///
/// sleeps   1.6  2.4  3.6  5.4  8.1  12.15  18.225  27.3375  41.00625  61.51  92.26
/// then     error_time 273.59 + idle 138.40 > 300  -> "Looping call timed out after 411.99 seconds"
/// ```
///
/// The samples come from a normal distribution (`rand_distr`) on a [`StdRng`] seeded from
/// the OS; [`seed`](Self::seed) makes them reproducible and [`gauss`](Self::gauss)
/// replaces the source altogether.
///
/// # Examples
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::Duration;
/// use periodic::{Attempt, BackOff};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut tries = 0;
/// let mut connect = BackOff::new(move || {
///     tries += 1;
///     let step = if tries < 4 {
///         ControlFlow::Continue(Attempt::Failed) // not reachable yet
///     } else {
///         ControlFlow::Break(tries)
///     };
///     async move { step }
/// })
/// .starting_interval(Duration::from_millis(500))
/// .timeout(Duration::from_secs(60))
/// .seed(7)
/// .start();
/// assert_eq!(connect.wait().await.unwrap(), Some(4));
/// # }
/// ```
#[doc(alias = "BackOffLoopingCall")]
pub struct BackOff<F> {
    pub(super) looping: Looping<F, Backoff>,
}

/// The schedule of a [`BackOff`]: oslo's settings and state.
pub(super) struct Backoff {
    initial_delay: Duration,
    starting_interval: f64,
    timeout: f64,
    max_interval: f64,
    jitter: f64,
    min_interval: f64,
    gauss: Gauss,
    interval: f64,
    error_time: f64,
}

impl<F> BackOff<F> {
    /// A back-off looping call around `callee`, with oslo's defaults.
    pub fn new(callee: F) -> Self {
        BackOff {
            looping: Looping {
                callee,
                policy: Backoff {
                    initial_delay: Duration::ZERO,
                    starting_interval: 1.0,
                    timeout: 300.0,
                    max_interval: 300.0,
                    jitter: 0.75,
                    min_interval: 0.001,
                    gauss: rng_gauss(StdRng::from_os_rng()),
                    interval: 1.0,
                    error_time: 0.0,
                },
                name: default_name::<F>(),
                spin: Duration::ZERO,
            },
        }
    }

    /// Waits this long after [`start`](LoopingCall::start) before the first run (zero,
    /// the default, means no wait).
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.looping.policy.initial_delay = delay;
        self
    }

    /// The base sleep after a success, and where the back-off starts (default 1 s).
    #[must_use]
    pub fn starting_interval(mut self, interval: Duration) -> Self {
        self.looping.policy.starting_interval = interval.as_secs_f64();
        self
    }

    /// The most time the loop may spend sleeping between consecutive failures before it
    /// gives up (default 300 s; zero means never).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.looping.policy.timeout = timeout.as_secs_f64();
        self
    }

    /// The longest sleep after a failure (default 300 s).
    #[must_use]
    pub fn max_interval(mut self, max: Duration) -> Self {
        self.looping.policy.max_interval = max.as_secs_f64();
        self
    }

    /// The shortest sleep after a failure, and the floor of the back-off interval
    /// (default 1 ms).
    #[must_use]
    pub fn min_interval(mut self, min: Duration) -> Self {
        self.looping.policy.min_interval = min.as_secs_f64();
        self
    }

    /// The growth factor's mean: samples are drawn from `gauss(jitter, 0.1)` and the
    /// interval grows by `2 · jitter` per failure (default 0.75, so by 1.5).
    ///
    /// # Panics
    ///
    /// If `jitter` is not finite.
    #[track_caller]
    #[must_use]
    pub fn jitter(mut self, jitter: f64) -> Self {
        assert!(
            jitter.is_finite(),
            "BackOff::jitter: `jitter` must be finite"
        );
        self.looping.policy.jitter = jitter;
        self
    }

    /// Draws the samples from a [`StdRng`] seeded with `seed`, so that a run can be
    /// reproduced.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.looping.policy.gauss = rng_gauss(StdRng::seed_from_u64(seed));
        self
    }

    /// Replaces the sample source: `gauss(mean, std_dev)` is called once per run that
    /// returns `Continue`, with `mean = jitter` and `std_dev = 0.1`, and its absolute
    /// value is used. For tests that need exact sleeps, e.g. `.gauss(|_, _| 0.8)`.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use periodic::{Attempt, BackOff};
    ///
    /// let call = BackOff::new(|| async { ControlFlow::<(), _>::Continue(Attempt::Failed) })
    ///     .gauss(|_mean, _std_dev| 0.8); // sleeps 1.6, 2.4, 3.6, ... seconds
    /// # drop(call);
    /// ```
    #[must_use]
    pub fn gauss(mut self, gauss: impl FnMut(f64, f64) -> f64 + Send + 'static) -> Self {
        self.looping.policy.gauss = Box::new(gauss);
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

fn rng_gauss(mut rng: StdRng) -> Gauss {
    Box::new(move |mean, std_dev| mean + std_dev * rng.sample::<f64, _>(StandardNormal))
}

/// Seconds to a `Duration`: NaN and negatives give zero, too large gives `Duration::MAX`.
fn secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(if secs > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

impl<F: Callee<Attempt>> BackOff<F> {
    /// A [`LoopingCall`] that is not started yet.
    pub fn build(self) -> LoopingCall<F::Break, F::Error> {
        LoopingCall::new(self.looping)
    }

    /// Starts the loop on a new tokio task and returns its handle. The back-off state
    /// (interval, error time) starts afresh with every start.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> LoopingCall<F::Break, F::Error> {
        self.build().started()
    }
}

impl Policy for Backoff {
    type Continue = Attempt;

    fn kind(&self) -> Kind {
        Kind::BackOff
    }

    fn on_error(&self) -> OnError {
        OnError::Stop
    }

    fn first(&mut self, started: Instant) -> Instant {
        self.interval = self.starting_interval;
        self.error_time = 0.0;
        add_saturating(started, self.initial_delay)
    }

    fn next(&mut self, cont: Option<Attempt>, at: &Times, _: &str) -> Result<Idle, Failure> {
        let r = (self.gauss)(self.jitter, 0.1).abs();
        // (`cont` is `None` only after a failure with `OnError::Log`, which a back-off
        // never uses.)
        let idle = if cont == Some(Attempt::Succeeded) {
            self.interval = self.starting_interval;
            self.error_time = 0.0;
            self.starting_interval * r
        } else {
            let idle = (self.interval * 2.0 * r)
                .max(self.min_interval)
                .min(self.max_interval);
            self.interval = (self.interval * 2.0 * self.jitter).max(self.min_interval);
            if self.timeout > 0.0 && self.error_time + idle > self.timeout {
                return Err(Failure::timed_out(self.error_time + idle));
            }
            self.error_time += idle;
            idle
        };
        Ok(Idle {
            until: add_saturating(at.now, secs(idle)),
            secs: idle,
        })
    }
}

impl<F> fmt::Debug for BackOff<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = &self.looping.policy;
        f.debug_struct("BackOff")
            .field("name", &self.looping.name)
            .field("initial_delay", &policy.initial_delay)
            .field("starting_interval", &policy.starting_interval)
            .field("timeout", &policy.timeout)
            .field("max_interval", &policy.max_interval)
            .field("jitter", &policy.jitter)
            .field("min_interval", &policy.min_interval)
            .finish_non_exhaustive()
    }
}
