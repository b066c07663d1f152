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
//!
//! | file | concept |
//! |---|---|
//! | `kind.rs` | oslo's texts for each variant (`_KIND`, `_RUN_ONLY_ONE_MESSAGE`) |
//! | `callee.rs` | what a callee is and returns ([`Callee`], [`IntoControlFlow`], [`Attempt`]) |
//! | `timer.rs` | [`Timer`]: how a loop sleeps |
//! | `control.rs` | stopping and aborting: a run's tokens, [`StopHandle`] |
//! | `error.rs` | [`LoopingCallError`] |
//! | `policy.rs` | what distinguishes the variants (`Policy`), [`OnError`] |
//! | `host.rs` | what a group hands the timers it owns (`TimerHost`) |
//! | `driver.rs` | the loop driver: sleep, run, ask the policy, log |
//! | `erased.rs` | the loop with its callee's type erased, and its task's future |
//! | `call.rs` | [`LoopingCall`], the handle |
//! | `fixed.rs`, `dynamic.rs`, `backoff.rs` | the variants' builders and policies |
//! | `retry.rs` | [`Retry`] |
//!
//! A file imports only files above it in this table. This module knows nothing of
//! [`TaskGroup`](crate::TaskGroup): a group hands its timers what they need through
//! `TimerHost`.

mod backoff;
mod call;
mod callee;
mod control;
mod driver;
mod dynamic;
mod erased;
mod error;
mod fixed;
mod host;
mod kind;
mod policy;
mod retry;
mod timer;

pub use backoff::BackOff;
pub use call::LoopingCall;
pub use callee::{Attempt, Callee, IntoControlFlow};
pub use control::StopHandle;
pub use dynamic::DynamicInterval;
pub use error::LoopingCallError;
pub use fixed::FixedInterval;
pub use policy::OnError;
pub use retry::Retry;
pub use timer::Timer;

pub(crate) use control::RunTokens;
pub(crate) use host::TimerHost;

#[cfg(test)]
mod tests;
