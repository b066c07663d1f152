//! The loop driver: [`Looping`] runs a callee under its variant's [`Policy`] (sleep,
//! run with panics caught and aborts heard, ask the policy what next) until it breaks,
//! fails or is stopped, and writes oslo's log lines.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, poll_fn};
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt as _;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::callee::{Callee, IntoControlFlow as _};
use super::control::{Control, RunTokens};
use super::error::LoopingCallError;
use super::host::TimerHost;
use super::kind::Kind;
use super::policy::{Failure, OnError, Policy, Times};

/// What `wait()` yields: `Some(value)` after `Break(value)`, `None` after a stop.
pub(crate) type Outcome<T, E> = Result<Option<T>, LoopingCallError<E>>;

/// The name used in log lines: set with `.name(..)`, else the callee's type name.
pub(crate) fn default_name<F>() -> Cow<'static, str> {
    Cow::Borrowed(std::any::type_name::<F>())
}

/// What a loop gets when it starts.
pub(crate) struct RunCtx {
    /// The signals of the group that owns the call, if any.
    pub(crate) tokens: RunTokens,
    pub(crate) control: Arc<Control>,
    /// The group whose timer this is, if any: the loop is spawned on its tracker and the
    /// callee polled inside it.
    pub(crate) host: Option<Arc<dyn TimerHost>>,
    /// When `start()` was called: the origin of the initial delay, the fixed grid and the
    /// timeout.
    pub(crate) started: Instant,
}

impl RunCtx {
    /// Whether the call or its group was stopped: one atomic load for a call that no group
    /// owns.
    fn is_stopped(&self) -> bool {
        self.control.is_stopped()
            || self
                .tokens
                .group_stop
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
    }

    /// Calls `poll` (a poll of the callee) inside the host's
    /// [`enter`](TimerHost::enter), or as it is without a host.
    fn enter(&self, poll: &mut dyn FnMut()) {
        match &self.host {
            Some(host) => host.enter(poll),
            None => poll(),
        }
    }
}

/// A group's stop and abort as futures made once per loop, so that waiting on them
/// registers no new waiter per run. Boxed: a call that no group owns has neither and pays
/// two pointers in its loop's state.
struct GroupSignals {
    stopped: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    aborted: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl GroupSignals {
    fn new(tokens: &RunTokens) -> Self {
        let watch = |token: &Option<CancellationToken>| {
            token
                .as_ref()
                .map(|token| Box::pin(token.clone().cancelled_owned()))
        };
        GroupSignals {
            stopped: watch(&tokens.group_stop),
            aborted: watch(&tokens.group_abort),
        }
    }

    fn poll_stopped(&mut self, cx: &mut Context<'_>) -> bool {
        self.stopped
            .as_mut()
            .is_some_and(|stopped| stopped.as_mut().poll(cx).is_ready())
    }

    fn poll_aborted(&mut self, cx: &mut Context<'_>) -> bool {
        self.aborted
            .as_mut()
            .is_some_and(|aborted| aborted.as_mut().poll(cx).is_ready())
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
    ///
    /// What a run costs the loop itself, as little as a raw `tokio::time::interval` loop:
    /// one timer entry for the whole loop, moved to each deadline with `Sleep::reset`;
    /// stops and aborts read from atomic flags, and the task's waker registered for them
    /// only when the loop is about to wait.
    pub(crate) async fn run(&mut self, ctx: &RunCtx) -> Outcome<F::Break, F::Error> {
        let kind = self.policy.kind();
        let mut deadline = self.policy.first(ctx.started);
        let mut sleep = pin!(tokio::time::sleep_until(deadline));
        let mut group = GroupSignals::new(&ctx.tokens);
        loop {
            // Sleep until the deadline (at once if it has passed) unless stopped.
            let slept = if self.spin.is_zero() {
                sleep_unless_stopped(sleep.as_mut(), ctx, &mut group).await
            } else {
                // Boxed so that the rarely used spin does not grow every loop's state.
                let mut wait = Box::pin(super::timer::wait_until(deadline, self.spin));
                sleep_unless_stopped(wait.as_mut(), ctx, &mut group).await
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
                poll_fn(|cx| {
                    // The callee comes first: a run that ends as it is aborted keeps its
                    // result. It runs inside its group, if it has one.
                    let mut polled = Poll::Pending;
                    ctx.enter(&mut || polled = run.as_mut().poll(cx));
                    if let Poll::Ready(result) = polled {
                        return Poll::Ready(Some(result));
                    }
                    // Only a callee that waits registers for an abort.
                    let aborted = ctx.control.poll_flag(cx, Control::is_aborted).is_ready();
                    if aborted || group.poll_aborted(cx) {
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
                    if self.spin.is_zero() {
                        sleep.as_mut().reset(deadline);
                    }
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

/// Waits for `sleep` unless the call or its group is stopped first: `true` when the sleep
/// ended. A stop is read before the deadline, so that a stop and a deadline that come
/// together end the loop.
async fn sleep_unless_stopped<S: Future<Output = ()>>(
    mut sleep: Pin<&mut S>,
    ctx: &RunCtx,
    group: &mut GroupSignals,
) -> bool {
    poll_fn(|cx| {
        if ctx.control.is_stopped() || group.poll_stopped(cx) {
            return Poll::Ready(false);
        }
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(true);
        }
        ctx.control
            .poll_flag(cx, Control::is_stopped)
            .map(|()| false)
    })
    .await
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
