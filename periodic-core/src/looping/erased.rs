//! Type erasure: a [`Looping`] as a `Box<dyn Runner<T, E>>`, so that a
//! [`LoopingCall<T, E>`](super::LoopingCall) does not name its callee's type, and
//! [`loop_task`], the future its task runs.

use std::future::Future;

use tokio::task::JoinHandle;

use super::callee::Callee;
use super::driver::{Looping, Outcome, RunCtx};
use super::policy::Policy;

/// What the loop task hands back: the loop (so that the call can start again) and the
/// outcome.
pub(crate) type TaskOutput<T, E> = (Box<dyn Runner<T, E>>, Outcome<T, E>);

/// A [`Looping`] with its types erased.
pub(crate) trait Runner<T, E>: Send + 'static {
    /// Spawns the loop: on the tracker of `ctx.host` for a group's timer, else on tokio.
    fn spawn(self: Box<Self>, ctx: RunCtx) -> JoinHandle<TaskOutput<T, E>>;
}

impl<F, P> Runner<F::Break, F::Error> for Looping<F, P>
where
    P: Policy,
    F: Callee<P::Continue>,
{
    fn spawn(self: Box<Self>, ctx: RunCtx) -> JoinHandle<TaskOutput<F::Break, F::Error>> {
        match ctx.host.clone() {
            None => tokio::spawn(loop_task(self, ctx)),
            Some(host) => host.tracker().spawn(loop_task(self, ctx)),
        }
    }
}

/// The future a looping call's task runs. The loop stays in its box: moved into the
/// task's state it would grow the task past a 128-byte step of tokio's task cells (about
/// 120 bytes more per running call, measured with `benches/cost.rs`). (Not an `async fn`:
/// that would store `looping` and `ctx` twice, as arguments and as locals.)
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
