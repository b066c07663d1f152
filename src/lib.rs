//! **oslo.service-style periodic tasks, looping calls and service heartbeats for tokio.**
//!
//! OpenStack services run their background work with oslo.service: methods marked
//! `@periodic_task(spacing=60)` are collected per manager class, `run_periodic_tasks()`
//! runs the ones that are due and returns how long to sleep, and a looping call sleeps
//! that long and calls it again. `periodic` brings that system to Rust: faithful where
//! users depend on it (the schedule of [`IdlePolicy::Oslo`] is identical to oslo's,
//! checked against the real package), better where oslo has known bugs.
//!
//! # 1. Declare periodic tasks
//!
//! Mark an impl block with `#[periodic_tasks]` and its task methods with
//! `#[periodic_task]`. The arguments keep oslo's names and meaning: `spacing` in seconds
//! (0, the default, means [`DEFAULT_INTERVAL`], 60 s; negative disables), `run_immediately`,
//! `name`, `enabled`, `external_process_ok`. Tasks may be `async fn` or plain `fn` (run on
//! tokio's blocking pool), take a context or not, and return `()` or `Result<_, E>`.
//! Misuse is a compile error with a span, not a runtime surprise.
//!
//! ```
//! use periodic::periodic_tasks;
//!
//! struct ComputeManager;
//! struct Context;
//!
//! #[periodic_tasks]
//! impl ComputeManager {
//!     #[periodic_task(spacing = 60, run_immediately)]
//!     async fn update_available_resource(&self, _ctx: &Context) -> Result<(), std::io::Error> {
//!         Ok(())
//!     }
//!
//!     #[periodic_task] // every DEFAULT_INTERVAL (60 s)
//!     fn sync_power_states(&self, _ctx: &Context) {}
//! }
//! ```
//!
//! Tasks are registered at compile time (through [`inventory`](https://docs.rs/inventory)),
//! keyed by the manager type; a type's tasks may be spread over several impl blocks and
//! modules and run in source order.
//!
//! # 2. Run them
//!
//! A [`PeriodicRunner`] holds one manager instance's schedule. Each
//! [`run_periodic_tasks`](PeriodicRunner::run_periodic_tasks) call is one pass: it runs
//! the due tasks and returns how long to idle. A service drives it with a
//! [`DynamicInterval`], oslo's `DynamicLoopingCall`:
//!
//! ```
//! use std::ops::ControlFlow;
//! use std::time::Duration;
//! use periodic::{DynamicInterval, PeriodicRunner, periodic_tasks};
//!
//! struct Manager;
//!
//! #[periodic_tasks]
//! impl Manager {
//!     #[periodic_task(spacing = 10, run_immediately)]
//!     async fn poll(&self) {}
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> periodic::Result<()> {
//! let runner = PeriodicRunner::<Manager>::new(Manager)?;
//! let mut looping = DynamicInterval::new(move || {
//!     let runner = runner.clone();
//!     async move {
//!         let idle = runner.run_periodic_tasks(()).await?; // failures are logged, not returned
//!         Ok::<_, periodic::Error>(ControlFlow::<(), _>::Continue(Some(idle)))
//!     }
//! })
//! .periodic_interval_max(Duration::from_secs(60))
//! .start();
//! # tokio::time::sleep(Duration::from_secs(35)).await;
//! looping.stop();
//! looping.wait().await.unwrap();
//! # Ok(()) }
//! ```
//!
//! The runner's options are oslo's ([`run_external_periodic_tasks`],
//! [`ErrorPolicy::Propagate`] for `raise_on_error`, [`Jitter`], [`Concurrency`] for
//! `run_periodic_tasks_in_parallel`) plus [`IdlePolicy`]: `Oslo` returns exactly oslo's
//! `idle_for`, `Precise` (the default) sleeps until the earliest next due run so no task
//! sleeps past its grid point.
//!
//! [`run_external_periodic_tasks`]: PeriodicRunnerBuilder::run_external_periodic_tasks
//!
//! # 3. Test schedules in paused time
//!
//! Everything schedules on [`tokio::time::Instant`](https://docs.rs/tokio/latest/tokio/time/struct.Instant.html), so a test with
//! `#[tokio::test(start_paused = true)]` controls time exactly and days pass in
//! milliseconds:
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use periodic::{IdlePolicy, PeriodicRunner, periodic_tasks};
//!
//! #[derive(Default)]
//! struct Counter(AtomicU32);
//!
//! #[periodic_tasks]
//! impl Counter {
//!     #[periodic_task(spacing = 9)]
//!     async fn tick(&self) {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> periodic::Result<()> {
//! // #[tokio::test(start_paused = true)]
//! let runner = PeriodicRunner::<Counter>::builder(Counter::default())
//!     .idle_policy(IdlePolicy::Oslo)
//!     .build()?;
//! for second in 0..=200u32 {
//!     let idle = runner.run_periodic_tasks(()).await?;
//!     assert_eq!(runner.manager().0.load(Ordering::Relaxed), second / 9);
//!     assert!(idle <= Duration::from_secs(9));
//!     tokio::time::advance(Duration::from_secs(1)).await;
//! }
//! # Ok(()) }
//! ```
//!
//! `periodic simulate SCENARIO.json` (the `periodic` command) previews a schedule the same
//! way from a JSON description.
//!
//! # 4. Looping calls and task groups
//!
//! Every looping call of oslo.service exists, on tokio's clock:
//! [`FixedInterval`] (`FixedIntervalLoopingCall`, and with a timeout
//! `FixedIntervalWithTimeoutLoopingCall`), [`DynamicInterval`] (`DynamicLoopingCall`),
//! [`BackOff`] (`BackOffLoopingCall`) and [`Retry`] (`RetryDecorator`). oslo's
//! `LoopingCallDone(value)` is a value: the callee returns
//! [`ControlFlow::Break(value)`](std::ops::ControlFlow::Break) and
//! [`LoopingCall::wait`] yields it. A [`TaskGroup`] (oslo's `ThreadGroup`) owns timers and
//! tasks and stops them gracefully or at once.
//!
//! # Differences from oslo.service
//!
//! Each item documents its own differences under this heading. In short:
//!
//! - the schedule runs on a monotonic clock in integer nanoseconds: oslo's float clock can
//!   run a task twice at a boundary such as 54.55 s (`1054.55 - 1000.0 < 54.55` in binary
//!   floating point); `periodic` does not reproduce that artefact;
//! - tasks added at run time belong to one runner, not to the class;
//! - a task that is not `run_immediately` counts its first spacing from runner start, not
//!   from import time;
//! - duplicate task names are an error, not a silent collision;
//! - the default idle policy is `Precise`;
//! - looping calls are deadline-based (no drift), and a dynamic call whose callee fails
//!   does not busy-loop.
//!
//! # Features
//!
//! - `macros` (default): `#[periodic_tasks]` and `#[periodic_task]`.
//! - `config` (default): `Config`, one TOML file with oslo's option names, overridden by
//!   `PERIODIC_*` environment variables.
//! - `http`: [`ApiServer`], nova's `/os-services` API over a service group (for
//!   `openstack compute service list/set/delete`) with `/healthz`, `/tasks` and
//!   `/metrics`, standalone or inside a service ([`ServiceBuilder::api`]).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

pub use periodic_core::*;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use periodic_macros::{periodic_task, periodic_tasks};

#[doc(hidden)]
pub use periodic_core::__private;
