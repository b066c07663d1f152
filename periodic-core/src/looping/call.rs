//! `LoopingCall`, the handle of a started (or startable) looping call, and the pieces the
//! loops share: the stop/abort tokens, running the callee once, interruptible sleeps.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::future::poll_fn;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use futures::FutureExt as _;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::ErrorKind;
use crate::task_group::GroupShared;

use super::callee::{Callee, IntoControlFlow as _};
use super::error::LoopingCallError;

/// What `wait()` yields: `Some(value)` after `Break(value)`, `None` after a stop.
pub(crate) type Outcome<T, E> = Result<Option<T>, LoopingCallError<E>>;

/// The variant, for oslo's log and error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Fixed,
    FixedWithTimeout,
    Dynamic,
    BackOff,
}

impl Kind {
    /// oslo's `_KIND`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Fixed => "Fixed interval looping call",
            Kind::FixedWithTimeout => "Fixed interval looping call with timeout checking.",
            Kind::Dynamic => "Dynamic interval looping call",
            Kind::BackOff => "Dynamic backoff interval looping call",
        }
    }

    /// oslo's `_RUN_ONLY_ONE_MESSAGE` (typos included, so that searches for it find us).
    pub(crate) fn only_one_message(self) -> &'static str {
        match self {
            Kind::Fixed => "A fixed interval looping call can only run one function at a time",
            Kind::FixedWithTimeout => {
                "A fixed interval looping call with timeout checking and can only run one \
                 function at at a time"
            }
            Kind::Dynamic => "A dynamic interval looping call can only run one function at a time",
            Kind::BackOff => {
                "A dynamic backoff interval looping call can only run one function at a time"
            }
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name used in log lines: set with `.name(..)`, else the callee's type name.
pub(crate) fn default_name<F>() -> Cow<'static, str> {
    Cow::Borrowed(std::any::type_name::<F>())
}

// ===== stopping and aborting =====

/// The signals of one run: `stop` ends the loop at its next sleep (a running callee
/// finishes first); an abort also drops a running callee, see [`Control::abort`].
pub(crate) struct RunTokens {
    pub(crate) stop: CancellationToken,
    /// For a [`TaskGroup`](crate::TaskGroup) timer: the group's abort token (a clone, not
    /// a child: no allocation per timer).
    pub(crate) group_abort: Option<CancellationToken>,
}

/// What a loop gets when it starts.
pub(crate) struct RunCtx {
    pub(crate) tokens: RunTokens,
    pub(crate) control: Arc<Control>,
    /// When `start()` was called: the origin of the initial delay, the fixed grid and the
    /// timeout.
    pub(crate) started: Instant,
}

impl RunCtx {
    pub(crate) fn is_stopped(&self) -> bool {
        self.tokens.stop.is_cancelled()
    }

    fn is_aborted(&self) -> bool {
        self.control.aborted.load(Ordering::SeqCst)
            || self
                .tokens
                .group_abort
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
    }
}

/// Shared by a [`LoopingCall`], its [`StopHandle`]s and its running loop.
///
/// An abort is a flag plus a notification rather than a second token, which saves an
/// allocation per running call (the budget is 1 KiB per call).
#[derive(Default)]
pub(crate) struct Control {
    /// The stop token of the current run.
    stop: Mutex<Option<CancellationToken>>,
    /// Set by `abort()`, cleared by `start()`.
    aborted: AtomicBool,
    /// Wakes a loop whose callee is running when `abort()` is called.
    abort: Notify,
}

impl Control {
    fn begin(&self, stop: CancellationToken) {
        let mut current = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        *current = Some(stop);
        self.aborted.store(false, Ordering::SeqCst);
    }

    fn stop(&self) {
        let current = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stop) = current.as_ref() {
            stop.cancel();
        }
    }

    fn abort(&self) {
        // (Before the first start this sets only the flag, which `begin` clears.)
        self.aborted.store(true, Ordering::SeqCst);
        self.stop();
        self.abort.notify_waiters();
    }
}

// ===== the loop =====

/// What distinguishes the variants: when the first run is due and, after each run, when
/// the next one is (or why the loop ends). The driver, [`Looping`], does the rest.
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

/// A callee, its variant's [`Policy`] and its name: what a looping call's task runs.
pub(crate) struct Looping<F, P> {
    pub(crate) callee: F,
    pub(crate) policy: P,
    pub(crate) name: Cow<'static, str>,
    /// The spin window of [`Timer::Spin`](super::Timer::Spin); zero: tokio's timer alone.
    pub(crate) spin: std::time::Duration,
}

impl<F, P> Looping<F, P>
where
    P: Policy,
    F: Callee<P::Continue>,
{
    /// Runs the loop until it breaks, fails or is stopped.
    async fn run(&mut self, ctx: &RunCtx) -> Outcome<F::Break, F::Error> {
        let kind = self.policy.kind();
        let mut deadline = self.policy.first(ctx.started);
        loop {
            // Sleep until the deadline (at once if it has passed) unless stopped. A new
            // `Sleep` each time costs no allocation (its timer entry is inline) and keeps
            // it out of the loop's state while the callee runs.
            let slept = if self.spin.is_zero() {
                sleep_unless_stopped(pin!(tokio::time::sleep_until(deadline)), &ctx.tokens.stop)
                    .await
            } else {
                // Boxed so that the rarely used spin does not grow every loop's state.
                let wait = Box::pin(super::timer::wait_until(deadline, self.spin));
                sleep_unless_stopped(wait, &ctx.tokens.stop).await
            };
            if !slept {
                return Ok(None);
            }

            // Run the callee once: panics caught, dropped if aborted. Its future is pinned
            // here, in place, so that it is stored once.
            let run_start = Instant::now();
            let result = {
                let callee = &mut self.callee;
                let mut run =
                    pin!(AssertUnwindSafe(async move { callee.call().await }).catch_unwind());
                let mut aborted = pin!(ctx.control.abort.notified());
                let mut group_aborted = pin!(
                    ctx.tokens
                        .group_abort
                        .as_ref()
                        .map(CancellationToken::cancelled)
                );
                poll_fn(|cx| {
                    // The callee comes first: a run that ends as it is aborted keeps its
                    // result.
                    if let Poll::Ready(result) = run.as_mut().poll(cx) {
                        return Poll::Ready(Some(result));
                    }
                    // Registered for the notification before the flag is read, so that an
                    // abort in between is not missed.
                    let notified = aborted.as_mut().poll(cx).is_ready();
                    let group = group_aborted
                        .as_mut()
                        .as_pin_mut()
                        .is_some_and(|group| group.poll(cx).is_ready());
                    if notified || group || ctx.is_aborted() {
                        Poll::Ready(None)
                    } else {
                        Poll::Pending
                    }
                })
                .await
            };
            let cont = match result {
                None => return Ok(None),
                Some(Ok(value)) => match value.into_control_flow() {
                    Ok(ControlFlow::Continue(cont)) => Some(cont),
                    Ok(ControlFlow::Break(value)) => return Ok(Some(value)),
                    Err(err) => self.failed(LoopingCallError::callee(err))?,
                },
                Some(Err(payload)) => {
                    self.failed(LoopingCallError::panicked(kind, &self.name, &*payload))?
                }
            };
            // Stopped while the callee ran: its `Continue` is discarded.
            if ctx.is_stopped() {
                return Ok(None);
            }

            let times = Times {
                started: ctx.started,
                run_start,
                now: Instant::now(),
            };
            match self.policy.next(cont, &times, &self.name) {
                Ok(idle) => {
                    log_sleep(kind, &self.name, idle.secs);
                    deadline = idle.until;
                }
                Err(Failure {
                    kind: error_kind,
                    message,
                }) => {
                    let err = LoopingCallError::other(error_kind, message);
                    log_failure(kind, &self.name, &err);
                    return Err(err);
                }
            }
        }
    }

    /// Logs a failed run; ends the loop with it unless the policy is [`OnError::Log`].
    fn failed<C>(
        &self,
        err: LoopingCallError<F::Error>,
    ) -> Result<Option<C>, LoopingCallError<F::Error>> {
        log_failure(self.policy.kind(), &self.name, &err);
        match self.policy.on_error() {
            OnError::Stop => Err(err),
            OnError::Log => Ok(None),
        }
    }
}

/// What the loop task hands back: the loop (so that the call can start again) and the
/// outcome.
type TaskOutput<T, E> = (Box<dyn Runner<T, E>>, Outcome<T, E>);

/// Waits for `sleep` unless `stop` is cancelled first: `true` when the sleep ended.
/// (A new sleep each time costs no allocation for tokio's timer, whose entry is inline,
/// and keeps it out of the loop's state while the callee runs.)
async fn sleep_unless_stopped(
    mut sleep: impl Future<Output = ()> + Unpin,
    stop: &CancellationToken,
) -> bool {
    let mut stopped = pin!(stop.cancelled());
    poll_fn(|cx| match stopped.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(false),
        Poll::Pending => Pin::new(&mut sleep).poll(cx).map(|()| true),
    })
    .await
}

/// A [`Looping`] with its types erased, so that [`LoopingCall<T, E>`] does not name the
/// callee's type.
pub(crate) trait Runner<T, E>: Send + 'static {
    fn spawn(
        self: Box<Self>,
        ctx: RunCtx,
        group: Option<&GroupShared>,
    ) -> JoinHandle<TaskOutput<T, E>>;
}

impl<F, P> Runner<F::Break, F::Error> for Looping<F, P>
where
    P: Policy,
    F: Callee<P::Continue>,
{
    fn spawn(
        self: Box<Self>,
        ctx: RunCtx,
        group: Option<&GroupShared>,
    ) -> JoinHandle<TaskOutput<F::Break, F::Error>> {
        let task = loop_task(self, ctx);
        match group {
            None => tokio::spawn(task),
            Some(group) => group.spawn_timer(task),
        }
    }
}

/// The future a looping call's task runs. (Not an `async fn`: that would store `looping`
/// and `ctx` twice, as arguments and as locals.)
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
pub(crate) fn loop_task<F, P>(
    mut looping: Box<Looping<F, P>>,
    ctx: RunCtx,
) -> impl Future<Output = TaskOutput<F::Break, F::Error>> + Send + 'static
where
    P: Policy,
    F: Callee<P::Continue>,
{
    async move {
        let outcome = looping.run(&ctx).await;
        (looping as Box<dyn Runner<_, _>>, outcome)
    }
}

/// oslo's `LOG.error("%(kind)s %(func_name)r failed")`.
pub(crate) fn log_failure<E: fmt::Display>(kind: Kind, name: &str, err: &LoopingCallError<E>) {
    tracing::error!(name, error = %err, "{kind} '{name}' failed");
}

/// oslo's `"%(kind)s %(func_name)r sleeping for %(idle).02f seconds"` (TRACE, as with
/// oslo's default eventlet backend).
pub(crate) fn log_sleep(kind: Kind, name: &str, idle_secs: f64) {
    tracing::trace!(
        name,
        idle = idle_secs,
        "{kind} '{name}' sleeping for {idle_secs:.2} seconds"
    );
}

// ===== LoopingCall =====

/// A looping call: a callee run again and again on its own tokio task until it returns
/// `ControlFlow::Break(value)`, fails, or is stopped. oslo.service's `LoopingCallBase`.
///
/// Made by [`FixedInterval`](crate::FixedInterval), [`DynamicInterval`](crate::DynamicInterval)
/// or [`BackOff`](crate::BackOff) (`.start()` or `.build()`), or by a
/// [`TaskGroup`](crate::TaskGroup) timer. It names only what the loop yields, `T` (the
/// `Break` value), and the callee's error type `E`, so it can be stored in a struct field.
///
/// Life cycle, as in oslo:
///
/// * [`start`](Self::start) spawns the loop; starting a call that still runs is an error,
///   starting one whose loop has ended runs the same callee again;
/// * [`stop`](Self::stop) ends the loop at once if it sleeps (the initial delay included);
///   a callee that is running is allowed to finish, then the loop ends and a
///   `Continue` result is discarded. Stopping twice, or before `start`, does nothing;
/// * [`abort`](Self::abort) also drops a running callee's future;
/// * [`wait`](Self::wait) returns how the loop ended: `Ok(Some(value))` after
///   `Break(value)`, `Ok(None)` after a stop or abort, `Err(..)` after a failure.
///
/// Dropping the handle does **not** stop the loop (like dropping a tokio `JoinHandle`):
/// call [`stop`](Self::stop) first if that is what you want.
///
/// # Differences from oslo.service
///
/// * `wait()` hands the value out once (it is moved out, not cloned); a second `wait()`
///   without a new `start()` returns [`ErrorKind::NotStarted`].
/// * A panicking callee is caught and ends the loop like an error of kind
///   [`ErrorKind::Panicked`] (oslo catches `Exception`, not `BaseException`).
///
/// # Examples
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::Duration;
/// use periodic::FixedInterval;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut runs = 0;
/// let mut call = FixedInterval::new(Duration::from_secs(10), move || {
///     runs += 1;
///     let step = if runs == 3 { ControlFlow::Break(runs) } else { ControlFlow::Continue(()) };
///     async move { step }
/// })
/// .start();
/// assert_eq!(call.wait().await.unwrap(), Some(3)); // at t = 20 s
///
/// // Start it again: the callee kept its state.
/// call.start().unwrap();
/// call.stop();
/// assert_eq!(call.wait().await.unwrap(), None);
/// # }
/// ```
pub struct LoopingCall<T, E> {
    state: State<T, E>,
    control: Arc<Control>,
    kind: Kind,
    /// Set for a [`TaskGroup`](crate::TaskGroup) timer: its runs are tracked by the group.
    group: Option<Arc<GroupShared>>,
}

enum State<T, E> {
    /// Not running: never started, or its outcome was taken by `wait()`.
    Idle {
        runner: Box<dyn Runner<T, E>>,
        started_before: bool,
    },
    /// Started; the loop may have ended already.
    Running(JoinHandle<TaskOutput<T, E>>),
    /// The task was lost with its callee (the runtime shut down, or a panic escaped).
    Lost,
}

impl<T: Send + 'static, E: Send + 'static> LoopingCall<T, E> {
    pub(crate) fn new<F, P>(looping: Looping<F, P>) -> Self
    where
        P: Policy,
        F: Callee<P::Continue, Break = T, Error = E>,
    {
        let kind = looping.policy.kind();
        LoopingCall {
            state: State::Idle {
                runner: Box::new(looping),
                started_before: false,
            },
            control: Arc::default(),
            kind,
            group: None,
        }
    }

    pub(crate) fn set_group(&mut self, group: Arc<GroupShared>) {
        self.group = Some(group);
    }

    /// Starts a call that was just built (which cannot be running yet).
    pub(crate) fn started(mut self) -> Self {
        match self.start() {
            Ok(()) => self,
            Err(_) => unreachable!("a new looping call is not running"),
        }
    }

    /// Starts the loop on a new tokio task.
    ///
    /// A stop requested before this call has no effect on the new run. The initial delay,
    /// the fixed grid and the timeout count from this call.
    ///
    /// # Errors
    ///
    /// * [`ErrorKind::AlreadyRunning`] if the loop is still running, with oslo's message
    ///   ("A fixed interval looping call can only run one function at a time", ...). A
    ///   loop that has ended may be started again, whether or not its outcome was taken
    ///   with [`wait`](Self::wait) (an outcome nobody waited for is dropped).
    /// * [`ErrorKind::Cancelled`] if an earlier run's task was cancelled by its runtime
    ///   shutting down, which dropped the callee.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// use periodic::{ErrorKind, FixedInterval};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut call = FixedInterval::new(Duration::from_secs(1), || async {
    ///     ControlFlow::Break("done")
    /// })
    /// .build();
    /// call.start().unwrap();
    /// assert_eq!(call.start().unwrap_err().kind(), ErrorKind::AlreadyRunning);
    /// assert_eq!(call.wait().await.unwrap(), Some("done"));
    /// call.start().unwrap(); // ended: may start again
    /// # }
    /// ```
    pub fn start(&mut self) -> Result<(), LoopingCallError<E>> {
        let runner = match std::mem::replace(&mut self.state, State::Lost) {
            State::Idle { runner, .. } => runner,
            State::Running(mut handle) => {
                let finished = if handle.is_finished() {
                    // The output is ready; `unconstrained` keeps the coop budget from
                    // reporting it as pending.
                    tokio::task::unconstrained(&mut handle).now_or_never()
                } else {
                    None
                };
                match finished {
                    Some(Ok((runner, _unclaimed))) => runner,
                    Some(Err(err)) => return Err(lost(&err)),
                    None => {
                        self.state = State::Running(handle);
                        return Err(LoopingCallError::already_running(self.kind));
                    }
                }
            }
            State::Lost => return Err(lost_before()),
        };
        let tokens = match &self.group {
            Some(group) => group.timer_tokens(),
            None => RunTokens {
                stop: CancellationToken::new(),
                group_abort: None,
            },
        };
        self.control.begin(tokens.stop.clone());
        let ctx = RunCtx {
            tokens,
            control: Arc::clone(&self.control),
            started: Instant::now(),
        };
        self.state = State::Running(runner.spawn(ctx, self.group.as_deref()));
        Ok(())
    }

    /// Waits for the loop to end and returns how it ended.
    ///
    /// * `Ok(Some(value))`: the callee returned `ControlFlow::Break(value)` (oslo's
    ///   `LoopingCallDone(value)`);
    /// * `Ok(None)`: the loop was stopped or aborted.
    ///
    /// The outcome is handed out once; the call may then be [`start`](Self::start)ed
    /// again.
    ///
    /// # Errors
    ///
    /// * [`ErrorKind::Callee`]: the callee failed (with [`OnError::Stop`],
    ///   the default); the error is inside, see [`LoopingCallError::into_callee`];
    /// * [`ErrorKind::Panicked`], [`ErrorKind::TimedOut`], [`ErrorKind::NoInterval`]: the
    ///   loop ended for that reason;
    /// * [`ErrorKind::NotStarted`]: the call was never started, or its outcome was already
    ///   taken by an earlier `wait()`;
    /// * [`ErrorKind::Cancelled`]: the runtime shut down under the loop.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the returned future is dropped before it completes, the loop goes
    /// on and a later `wait()` still gets its outcome.
    pub async fn wait(&mut self) -> Result<Option<T>, LoopingCallError<E>> {
        let handle = match &mut self.state {
            State::Running(handle) => handle,
            State::Idle { started_before, .. } => {
                let message = if *started_before {
                    "the looping call is not running: its outcome was already taken by an \
                     earlier wait()"
                } else {
                    "the looping call was never started"
                };
                return Err(LoopingCallError::other(
                    ErrorKind::NotStarted,
                    message.to_owned(),
                ));
            }
            State::Lost => return Err(lost_before()),
        };
        match handle.await {
            Ok((runner, outcome)) => {
                self.state = State::Idle {
                    runner,
                    started_before: true,
                };
                outcome
            }
            Err(err) => {
                self.state = State::Lost;
                Err(lost(&err))
            }
        }
    }

    /// Asks the loop to stop: a sleep (the initial delay included) ends at once; a running
    /// callee finishes first, then its `Continue` result is discarded (a `Break` value or
    /// an error it returns is still reported by [`wait`](Self::wait)).
    ///
    /// Does nothing if the loop is not running; a stop before [`start`](Self::start) does
    /// not affect the next run. oslo's `stop()`.
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Stops the loop and drops a running callee's future at its next `.await`, without
    /// letting it finish. [`wait`](Self::wait) then returns `Ok(None)`. The callee itself
    /// is kept, so the call can be started again.
    ///
    /// Used by [`TaskGroup::stop`](crate::TaskGroup::stop) with
    /// [`Shutdown::Immediate`](crate::Shutdown::Immediate). oslo has no equivalent for a
    /// single looping call (its eventlet backend kills greenthreads).
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// use periodic::FixedInterval;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut call = FixedInterval::new(Duration::from_secs(1), || async {
    ///     tokio::time::sleep(Duration::from_secs(3600)).await; // a run that hangs
    ///     ControlFlow::Break(())
    /// })
    /// .start();
    /// tokio::time::sleep(Duration::from_secs(1)).await;
    /// call.abort();
    /// assert_eq!(call.wait().await.unwrap(), None); // at t = 1 s
    /// # }
    /// ```
    pub fn abort(&self) {
        self.control.abort();
    }

    /// Whether the loop is running: started, and not yet ended.
    ///
    /// Unlike oslo's `_running`, this is `false` once the loop has ended by itself
    /// (after a `Break`, an error or a timeout).
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// use periodic::FixedInterval;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut call = FixedInterval::new(Duration::from_secs(1), || async {
    ///     ControlFlow::Break(())
    /// })
    /// .build();
    /// assert!(!call.is_running());
    /// call.start().unwrap();
    /// assert!(call.is_running());
    /// tokio::task::yield_now().await; // the loop runs once and breaks
    /// assert!(!call.is_running());
    /// # }
    /// ```
    pub fn is_running(&self) -> bool {
        matches!(&self.state, State::Running(handle) if !handle.is_finished())
    }

    /// A handle that can [`stop`](StopHandle::stop) or [`abort`](StopHandle::abort) this
    /// call from elsewhere, for instance while another task is in [`wait`](Self::wait).
    /// It stays valid across restarts.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// use periodic::FixedInterval;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut call = FixedInterval::new(Duration::from_secs(60), || async {
    ///     ControlFlow::<()>::Continue(())
    /// })
    /// .start();
    /// let stopper = call.stop_handle();
    /// let waiter = tokio::spawn(async move { call.wait().await });
    /// stopper.stop();
    /// assert_eq!(waiter.await.unwrap().unwrap(), None);
    /// # }
    /// ```
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            control: Arc::clone(&self.control),
        }
    }
}

fn lost<E>(err: &tokio::task::JoinError) -> LoopingCallError<E> {
    if err.is_panic() {
        LoopingCallError::other(
            ErrorKind::Panicked,
            "the looping call's task panicked outside its callee; the callee is lost".to_owned(),
        )
    } else {
        LoopingCallError::other(
            ErrorKind::Cancelled,
            "the looping call's task was cancelled (its runtime shut down); the callee is lost"
                .to_owned(),
        )
    }
}

fn lost_before<E>() -> LoopingCallError<E> {
    LoopingCallError::other(
        ErrorKind::Cancelled,
        "the looping call cannot run again: an earlier run's task was lost with its callee"
            .to_owned(),
    )
}

impl<T, E> fmt::Debug for LoopingCall<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle { .. } => "idle",
            State::Running(handle) if handle.is_finished() => "finished",
            State::Running(_) => "running",
            State::Lost => "lost",
        };
        f.debug_struct("LoopingCall")
            .field("kind", &self.kind.as_str())
            .field("state", &state)
            .field("in_task_group", &self.group.is_some())
            .finish_non_exhaustive()
    }
}

/// Stops or aborts a [`LoopingCall`] from elsewhere; made by
/// [`LoopingCall::stop_handle`]. Cheap to clone.
#[derive(Clone)]
pub struct StopHandle {
    control: Arc<Control>,
}

impl StopHandle {
    /// Same as [`LoopingCall::stop`].
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Same as [`LoopingCall::abort`].
    pub fn abort(&self) {
        self.control.abort();
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}

// ===== OnError =====

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
    /// End the loop; [`LoopingCall::wait`] returns the error (`stop_on_exception=True`,
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
