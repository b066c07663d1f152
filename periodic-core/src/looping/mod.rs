//! Looping calls: a function run again and again on its own tokio task (oslo.service's
//! `loopingcall` module), and the retry helper.
//!
//! | oslo.service | here |
//! |---|---|
//! | `FixedIntervalLoopingCall`, `FixedIntervalWithTimeoutLoopingCall` | [`FixedInterval`] (with [`timeout`](FixedInterval::timeout)) |
//! | `DynamicLoopingCall` | [`DynamicInterval`] |
//! | `BackOffLoopingCall` | [`BackOff`] |
//! | `LoopingCallBase` (`start`, `stop`, `wait`) | [`LoopingCall`] |
//! | `raise LoopingCallDone(value)` | `return ControlFlow::Break(value)` ([`IntoControlFlow`]) |
//! | `LoopingCallTimeOut` | [`LoopingCallError`] of kind [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) |
//! | `stop_on_exception` | [`OnError`] |
//! | `RetryDecorator` | [`Retry`] |
//!
//! A builder ([`FixedInterval`], ...) takes the callee and the options, and `start()`
//! spawns the loop and returns its [`LoopingCall`] handle. All timing uses
//! [`tokio::time`], so tests drive it with `#[tokio::test(start_paused = true)]`.

mod backoff;
mod call;
mod callee;
mod dynamic;
mod error;
mod fixed;
mod retry;
mod timer;

pub use backoff::BackOff;
pub use call::{LoopingCall, OnError, StopHandle};
pub use callee::{Attempt, Callee, IntoControlFlow};
pub use dynamic::DynamicInterval;
pub use error::LoopingCallError;
pub use fixed::FixedInterval;
pub use retry::Retry;
pub use timer::Timer;

pub(crate) use call::RunTokens;

#[cfg(test)]
mod tests;
