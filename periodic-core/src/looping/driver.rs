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
use std::task::Poll;

use futures::FutureExt as _;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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
    pub(crate) fn is_stopped(&self) -> bool {
        self.tokens.stop.is_cancelled()
    }

    /// Calls `poll` (a poll of the callee) inside the host's
    /// [`enter`](TimerHost::enter), or as it is without a host.
    fn enter(&self, poll: &mut dyn FnMut()) {
        match &self.host {
            Some(host) => host.enter(poll),
            None => poll(),
        }
    }

    fn is_aborted(&self) -> bool {
        self.control.is_aborted()
            || self
                .tokens
                .group_abort
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
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
    pub(crate) async fn run(&mut self, ctx: &RunCtx) -> Outcome<F::Break, F::Error> {
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
                let mut aborted = pin!(ctx.control.aborted());
                let mut group_aborted = pin!(
                    ctx.tokens
                        .group_abort
                        .as_ref()
                        .map(CancellationToken::cancelled)
                );
                poll_fn(|cx| {
                    // The callee comes first: a run that ends as it is aborted keeps its
                    // result. It runs inside its group, if it has one.
                    let mut polled = Poll::Pending;
                    ctx.enter(&mut || polled = run.as_mut().poll(cx));
                    if let Poll::Ready(result) = polled {
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
