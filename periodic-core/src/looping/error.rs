//! `LoopingCallError`: why a looping call ended without a value.

use std::any::Any;
use std::fmt;

use crate::error::{BoxError, Error, ErrorKind};

use super::kind::Kind;

/// Why a looping call, or an operation on its handle, failed.
///
/// It is either the callee's own error `E`, returned as it was (kind
/// [`ErrorKind::Callee`], take it back with [`into_callee`](Self::into_callee)), or one of
/// the looping call's own failures, each with a message in oslo.service's words:
///
/// | kind | when | message |
/// |---|---|---|
/// | [`TimedOut`](ErrorKind::TimedOut) | [`FixedInterval::timeout`](crate::FixedInterval::timeout) or [`BackOff::timeout`](crate::BackOff::timeout) elapsed (oslo's `LoopingCallTimeOut`) | `Looping call timed out after 0.31 seconds` |
/// | [`Panicked`](ErrorKind::Panicked) | the callee panicked | `Fixed interval looping call 'f' panicked: boom` |
/// | [`NoInterval`](ErrorKind::NoInterval) | a [`DynamicInterval`](crate::DynamicInterval) callee returned `Continue(None)` and no `periodic_interval_max` is set | `A dynamic interval looping call should supply either an interval or periodic_interval_max` |
/// | [`AlreadyRunning`](ErrorKind::AlreadyRunning) | [`LoopingCall::start`](crate::LoopingCall::start) while the loop runs | `A fixed interval looping call can only run one function at a time` |
/// | [`NotStarted`](ErrorKind::NotStarted) | [`LoopingCall::wait`](crate::LoopingCall::wait) with nothing to wait for | `the looping call was never started` |
/// | [`Cancelled`](ErrorKind::Cancelled) | the runtime shut down under the loop | `the looping call's task was cancelled ...` |
///
/// Callee errors display as the callee's error and report its source; the others display
/// their message. `LoopingCallError<E>` converts into the crate's [`Error`] when `E`
/// converts into a [`BoxError`], so `?` works in functions returning
/// [`periodic::Result`](crate::Result).
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::Duration;
/// use periodic::{ErrorKind, FixedInterval};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut call = FixedInterval::new(Duration::from_secs(1), || async {
///     Err::<ControlFlow<()>, _>("disk full")
/// })
/// .start();
/// let err = call.wait().await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Callee);
/// assert_eq!(err.into_callee().ok(), Some("disk full"));
/// # }
/// ```
#[doc(alias = "LoopingCallTimeOut")]
pub struct LoopingCallError<E> {
    repr: Repr<E>,
}

enum Repr<E> {
    Callee(E),
    // Boxed so that the loop's result stays small next to a small `E`.
    Other(Box<Other>),
}

struct Other {
    kind: ErrorKind,
    message: String,
}

// ===== impl LoopingCallError =====

impl<E> LoopingCallError<E> {
    pub(crate) fn callee(err: E) -> Self {
        LoopingCallError {
            repr: Repr::Callee(err),
        }
    }

    pub(crate) fn other(kind: ErrorKind, message: String) -> Self {
        LoopingCallError {
            repr: Repr::Other(Box::new(Other { kind, message })),
        }
    }

    pub(crate) fn panicked(kind: Kind, name: &str, payload: &(dyn Any + Send)) -> Self {
        Self::other(
            ErrorKind::Panicked,
            format!("{kind} '{name}' panicked: {}", panic_message(payload)),
        )
    }

    pub(crate) fn already_running(kind: Kind) -> Self {
        Self::other(
            ErrorKind::AlreadyRunning,
            kind.only_one_message().to_owned(),
        )
    }

    /// What went wrong: [`ErrorKind::Callee`] for the callee's own error, otherwise one of
    /// the kinds in the table above.
    pub fn kind(&self) -> ErrorKind {
        match &self.repr {
            Repr::Callee(_) => ErrorKind::Callee,
            Repr::Other(other) => other.kind,
        }
    }

    /// The callee's error, if that is what this is.
    pub fn callee_error(&self) -> Option<&E> {
        match &self.repr {
            Repr::Callee(err) => Some(err),
            Repr::Other(_) => None,
        }
    }

    /// Takes the callee's error out; gives the error back unchanged when it is one of the
    /// looping call's own failures.
    ///
    /// # Errors
    ///
    /// `Err(self)` when [`kind`](Self::kind) is not [`ErrorKind::Callee`].
    pub fn into_callee(self) -> Result<E, Self> {
        match self.repr {
            Repr::Callee(err) => Ok(err),
            repr @ Repr::Other(_) => Err(LoopingCallError { repr }),
        }
    }

    /// Whether the loop ended because its timeout elapsed (oslo's `LoopingCallTimeOut`).
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::TimedOut
    }

    /// Whether the callee panicked.
    pub fn is_panic(&self) -> bool {
        self.kind() == ErrorKind::Panicked
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

impl<E: fmt::Debug> fmt::Debug for LoopingCallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Callee(err) => f.debug_tuple("Callee").field(err).finish(),
            Repr::Other(other) => f
                .debug_struct("LoopingCallError")
                .field("kind", &other.kind)
                .field("message", &other.message)
                .finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for LoopingCallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Callee(err) => err.fmt(f),
            Repr::Other(other) => f.write_str(&other.message),
        }
    }
}

impl<E: std::error::Error> std::error::Error for LoopingCallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.repr {
            Repr::Callee(err) => err.source(),
            Repr::Other(_) => None,
        }
    }
}

impl<E: Into<BoxError>> From<LoopingCallError<E>> for Error {
    /// Keeps the kind and message; a callee error becomes the [`source`] of an
    /// [`ErrorKind::Callee`] error.
    ///
    /// [`source`]: std::error::Error::source
    fn from(err: LoopingCallError<E>) -> Self {
        match err.repr {
            Repr::Callee(err) => {
                let err: BoxError = err.into();
                Error::new(ErrorKind::Callee, err.to_string()).with_source(err)
            }
            Repr::Other(other) => Error::new(other.kind, other.message),
        }
    }
}
