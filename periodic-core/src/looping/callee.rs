//! What a looping call runs: the `Callee` and the values it may return.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;

/// A value a looping call's callee may return: go on (`Continue(c)`), end the loop with a
/// value (`Break(value)`, oslo's `raise LoopingCallDone(value)`), or fail.
///
/// `C` is what the loop needs from a run to go on: `()` for a
/// [`FixedInterval`](crate::FixedInterval), the next delay (`Option<Duration>`) for a
/// [`DynamicInterval`](crate::DynamicInterval), an [`Attempt`] for a
/// [`BackOff`](crate::BackOff).
///
/// Implemented for:
///
/// | the callee returns | meaning |
/// |---|---|
/// | `ControlFlow<T, C>` | cannot fail |
/// | `Result<ControlFlow<T, C>, E>` | `Err(e)` is a failure |
/// | `()` (only `C = ()`) | go on, never ends by itself (a timer) |
/// | `Result<(), E>` (only `C = ()`) | `Ok(())` goes on, `Err(e)` is a failure |
///
/// A callee without a `Break` still needs a type for it: write
/// `ControlFlow::<(), _>::Continue(..)` or annotate the closure's return type.
///
/// ```
/// use std::ops::ControlFlow;
/// use periodic::IntoControlFlow;
///
/// let done: ControlFlow<&str> = ControlFlow::Break("done");
/// assert_eq!(done.into_control_flow(), Ok::<_, std::convert::Infallible>(ControlFlow::Break("done")));
///
/// let failed: Result<(), &str> = Err("disk full");
/// assert_eq!(failed.into_control_flow(), Err("disk full"));
/// ```
#[diagnostic::on_unimplemented(
    message = "a looping call's callee cannot return `{Self}` here",
    label = "expected `ControlFlow<_, {C}>` or `Result<ControlFlow<_, {C}>, _>`",
    note = "a `FixedInterval` callee may also return `()` or `Result<(), E>`"
)]
pub trait IntoControlFlow<C> {
    /// The value `wait()` returns when the callee breaks out of the loop.
    type Break;
    /// The callee's error type ([`Infallible`] when it cannot fail).
    type Error;

    /// Converts the callee's return value.
    ///
    /// # Errors
    ///
    /// The callee's error, when it failed.
    fn into_control_flow(self) -> Result<ControlFlow<Self::Break, C>, Self::Error>;
}

impl<B, C> IntoControlFlow<C> for ControlFlow<B, C> {
    type Break = B;
    type Error = Infallible;

    fn into_control_flow(self) -> Result<ControlFlow<B, C>, Infallible> {
        Ok(self)
    }
}

impl<B, C, E> IntoControlFlow<C> for Result<ControlFlow<B, C>, E> {
    type Break = B;
    type Error = E;

    fn into_control_flow(self) -> Result<ControlFlow<B, C>, E> {
        self
    }
}

impl IntoControlFlow<()> for () {
    type Break = ();
    type Error = Infallible;

    fn into_control_flow(self) -> Result<ControlFlow<()>, Infallible> {
        Ok(ControlFlow::Continue(()))
    }
}

impl<E> IntoControlFlow<()> for Result<(), E> {
    type Break = ();
    type Error = E;

    fn into_control_flow(self) -> Result<ControlFlow<()>, E> {
        self.map(ControlFlow::Continue)
    }
}

/// How a [`BackOff`](crate::BackOff) callee's run went: oslo's truthy / falsy return value.
///
/// ```
/// use periodic::Attempt;
///
/// assert_eq!(Attempt::from(true), Attempt::Succeeded);
/// assert_eq!(Attempt::from(false), Attempt::Failed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// The run did what it should: the back-off is reset and the loop sleeps
    /// `starting_interval * r`.
    Succeeded,
    /// The run did not succeed (yet): the loop backs off further.
    Failed,
}

impl From<bool> for Attempt {
    fn from(succeeded: bool) -> Self {
        if succeeded {
            Attempt::Succeeded
        } else {
            Attempt::Failed
        }
    }
}

/// The function a looping call runs once per iteration, oslo's `f`.
///
/// Implemented for every `FnMut() -> Fut + Send + 'static` whose future is `Send +
/// 'static` and resolves to an [`IntoControlFlow<C>`] value; there is no need to implement
/// it by hand. The callee is kept between runs (and between a finished run and the next
/// [`start`](crate::LoopingCall::start)), so it may carry state in its captures.
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::Duration;
/// use periodic::FixedInterval;
///
/// let mut left = 3;
/// let countdown = FixedInterval::new(Duration::from_secs(1), move || {
///     left -= 1;
///     let step = if left == 0 { ControlFlow::Break("done") } else { ControlFlow::Continue(()) };
///     async move { step }
/// });
/// # drop(countdown);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be run by a looping call",
    label = "expected a `FnMut() -> impl Future` returning `ControlFlow<_, {C}>` or `Result<ControlFlow<_, {C}>, _>`",
    note = "the closure and its future must be `Send + 'static`, and its error must implement `Display`"
)]
pub trait Callee<C>: Send + 'static {
    /// The value `wait()` returns when the callee breaks out of the loop.
    type Break: Send + 'static;
    /// The callee's error type.
    type Error: fmt::Display + Send + 'static;
    /// The future one run returns.
    type Future: Future<Output: IntoControlFlow<C, Break = Self::Break, Error = Self::Error>>
        + Send
        + 'static;

    /// Starts one run.
    fn call(&mut self) -> Self::Future;
}

impl<C, F, Fut> Callee<C> for F
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output: IntoControlFlow<C>> + Send + 'static,
    <Fut::Output as IntoControlFlow<C>>::Break: Send + 'static,
    <Fut::Output as IntoControlFlow<C>>::Error: fmt::Display + Send + 'static,
{
    type Break = <Fut::Output as IntoControlFlow<C>>::Break;
    type Error = <Fut::Output as IntoControlFlow<C>>::Error;
    type Future = Fut;

    fn call(&mut self) -> Fut {
        self()
    }
}
