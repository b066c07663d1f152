//! [`LoopingCall`]: the handle of a looping call (oslo.service's `LoopingCallBase`): start,
//! stop, abort, wait.

use std::fmt;
use std::sync::Arc;

use futures::FutureExt as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::callee::Callee;
use super::control::{Control, RunTokens, StopHandle};
use super::driver::{Looping, RunCtx};
use super::erased::{Runner, TaskOutput};
use super::error::LoopingCallError;
use super::host::TimerHost;
use super::kind::Kind;
use super::policy::Policy;
use crate::error::ErrorKind;

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
    /// Set for a group's timer ([`TaskGroup`](crate::TaskGroup)): its runs are tracked by
    /// the group.
    host: Option<Arc<dyn TimerHost>>,
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
            host: None,
        }
    }

    /// Makes this call a timer of `host`: its next runs get their signals from the host
    /// and are spawned on its tracker.
    pub(crate) fn set_host(&mut self, host: Arc<dyn TimerHost>) {
        self.host = Some(host);
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
        let tokens = match &self.host {
            Some(host) => host.run_tokens(),
            None => RunTokens::default(),
        };
        self.control.begin();
        let ctx = RunCtx {
            tokens,
            control: Arc::clone(&self.control),
            host: self.host.clone(),
            started: Instant::now(),
        };
        self.state = State::Running(runner.spawn(ctx));
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
    /// * [`ErrorKind::Callee`]: the callee failed (with [`OnError::Stop`](crate::OnError::Stop),
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
        StopHandle::new(Arc::clone(&self.control))
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
            .field("in_task_group", &self.host.is_some())
            .finish_non_exhaustive()
    }
}
