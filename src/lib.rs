//! **oslo.service-style periodic tasks, looping calls and service heartbeats for tokio.**
//!
//! OpenStack services run their background work with oslo.service: methods marked
//! `@periodic_task(spacing=60)` are collected per manager class, `run_periodic_tasks()`
//! runs the ones that are due and returns how long to sleep, and a looping call sleeps
//! that long and calls it again. `periodic` brings that system to Rust: faithful where
//! users depend on it (the schedule of [`IdlePolicy::Oslo`] is identical to oslo's,
//! checked against the real package), better where oslo has known bugs.
//!
//! This page walks the way a service goes: declare the tasks (1), run them (2) and test
//! their schedule (3), run the manager as a service in a service group (4), and see it in
//! `periodic service list` (5). Looping calls and task groups (6) are the pieces
//! underneath, usable on their own. [Features](#features) says which cargo features to
//! pick and what each costs to build.
//!
//! # 1. Declare periodic tasks
//!
//! Mark an impl block with `#[periodic_tasks]` and its task methods with
//! `#[periodic_task]`. The arguments keep oslo's names and meaning: `spacing` in seconds
//! (0, the default, means [`DEFAULT_INTERVAL`], 60 s; negative disables), `run_immediately`,
//! `name`, `enabled`, `external_process_ok`; and beyond oslo `fleet`, `timeout` (seconds
//! a run may take, see [`PeriodicTask::timeout`]) and `overrun` (what follows a run longer
//! than its spacing, see [`Overrun`]). Tasks may be `async fn` or plain `fn` (run on
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
//! With the feature `cron`, a task may run at the occurrences of a cron expression
//! instead of every `spacing`: `cron = "..."` (5 fields, 6 with seconds first, or an alias
//! such as `@hourly`), evaluated in UTC or in the IANA time zone of `tz = "..."`; both are
//! checked at compile time. The occurrences fall on the runner's
//! [`wall_clock`](RunnerOptions::wall_clock); see `CronSchedule` and
//! `PeriodicTask::cron` for `run_immediately`, jitter, `timeout` and `overrun` with cron.
//!
//! ```
//! # #[cfg(feature = "cron")]
//! # mod with_cron {
//! use periodic::periodic_tasks;
//!
//! pub struct Janitor;
//!
//! #[periodic_tasks]
//! impl Janitor {
//!     /// 03:00 every night in Paris, also on the nights clocks change.
//!     #[periodic_task(cron = "0 0 3 * * *", tz = "Europe/Paris")]
//!     async fn purge_deleted_instances(&self) {}
//!
//!     /// At second 0 of every tenth minute, UTC; a run may take a minute.
//!     #[periodic_task(cron = "*/10 * * * *", timeout = 60)]
//!     async fn audit(&self) {}
//! }
//! # }
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
//! sleeps past its grid point. [`Concurrency::Lanes`] runs each task in a lane of its own,
//! so that a slow task delays only itself (sequential stays the default: it is oslo's, and
//! tasks of one manager then never run at the same time).
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
//! # 4. Run the manager as a service
//!
//! A service is what nova runs: a [`Manager`] whose periodic tasks run on a timer, and a
//! heartbeat in a [`ServiceGroup`] so that anyone can tell whether it is up. The manager
//! gives each pass its context ([`Manager::context`], nova's `get_admin_context()`) and
//! may hook into the start and the stop ([`Manager::init_host`],
//! [`Manager::pre_start_hook`], [`Manager::cleanup_host`], ...). A service's `main`:
//!
//! ```no_run
//! use periodic::{Manager, Service, ServiceGroup, ServiceGroupConfig, periodic_tasks};
//!
//! struct ComputeManager;
//! struct Context;
//!
//! impl Manager for ComputeManager {
//!     type Context = Context;
//!     fn context(&self) -> Context {
//!         Context
//!     }
//! }
//!
//! #[periodic_tasks]
//! impl ComputeManager {
//!     #[periodic_task(spacing = 60, run_immediately)]
//!     async fn update_available_resource(&self, _ctx: &Context) -> Result<(), std::io::Error> {
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> periodic::Result<()> {
//!     let group = ServiceGroup::open("sqlite://periodic.db", ServiceGroupConfig::default()).await?;
//!     let stopped = Service::builder(ComputeManager, "periodic-compute", "compute")
//!         .servicegroup(group)
//!         .build()?
//!         .run_until_signal() // until SIGTERM or Ctrl-C, then a graceful stop
//!         .await?;
//!     std::process::exit(stopped.exit_code())
//! }
//! ```
//!
//! [`Service::start`] follows nova's `Service.start`: `init_host`, load or create the
//! service's row in the services table (host, binary, topic), the other hooks, join the
//! group (the first heartbeat after 5 s, then one every `report_interval`, 10 s, on a
//! thread of its own so that a blocking task cannot starve it), then the periodic tasks
//! on a [`DynamicInterval`] after a random `periodic_fuzzy_delay` (up to 60 s, so that a
//! fleet started together does not hit the database at once):
//!
//! ```text
//! report_interval 10 s; the fuzzy delay drew 12 s; SIGTERM at 40 s
//!
//!   0    5       12   15        25        35   40
//!   |    hb      |    hb        hb        hb   stop: a pass in progress finishes, the row
//!   start        |                              is marked stopped (down at once), exit 0
//!                update_available_resource (spacing 60: next at 72 + 0-2 s of jitter)
//! ```
//!
//! The store is a URL: `sqlite://FILE`, `postgres://...`, `mysql://...` (each behind its
//! cargo feature) or `memory://`, this process only and on tokio's clock, for tests. In a
//! test, [`start`](Service::start) and [`stop`](RunningService::stop) bound the run and
//! paused time makes the heartbeats exact:
//!
//! ```
//! use std::time::Duration;
//! use periodic::{DownReason, Service, ServiceFilter, ServiceGroup, ServiceGroupConfig};
//! # use periodic::{Manager, periodic_tasks};
//! # struct ComputeManager;
//! # struct Context;
//! # impl Manager for ComputeManager {
//! #     type Context = Context;
//! #     fn context(&self) -> Context { Context }
//! # }
//! # #[periodic_tasks]
//! # impl ComputeManager {
//! #     #[periodic_task(spacing = 60, run_immediately)]
//! #     async fn update_available_resource(&self, _ctx: &Context) -> Result<(), std::io::Error> {
//! #         Ok(())
//! #     }
//! # }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> periodic::Result<()> {
//! // #[tokio::test(start_paused = true)]
//! let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
//! let running = Service::builder(ComputeManager, "periodic-compute", "compute")
//!     .host("compute-1")
//!     .periodic_fuzzy_delay(Duration::ZERO)
//!     .servicegroup(group.clone())
//!     .build()?
//!     .start()
//!     .await?;
//!
//! tokio::time::sleep(Duration::from_secs(30)).await; // heartbeats at 5, 15 and 25 s
//! let services = group.list(&ServiceFilter::all()).await?;
//! assert_eq!((services[0].record.host.as_str(), services[0].state()), ("compute-1", "up"));
//! assert_eq!(services[0].record.report_count, 3);
//! assert_eq!(running.runner().task("update_available_resource").unwrap().runs, 1);
//!
//! running.stop().await?; // graceful: the row is marked stopped
//! let services = group.list(&ServiceFilter::all()).await?;
//! assert_eq!(services[0].down_reason, Some(DownReason::Stopped));
//! # Ok(()) }
//! ```
//!
//! # 5. See it with `periodic service list`
//!
//! Operators look at services with the `periodic` command (the `periodic-cli` package; in
//! this repository `cargo run -p periodic-cli --`), nova's `service list`. It opens the
//! group with [`ServiceGroup::open_existing`] (nothing is created: a wrong path is an
//! error, never an empty list) and prints [`ServiceGroup::list`]. With the service of
//! step 4 running:
//!
//! ```text
//! $ periodic service list --db sqlite://periodic.db
//! +----+------------------+------+------+---------+-------+----------------------------+
//! | ID | Binary           | Host | Zone | Status  | State | Updated At                 |
//! +----+------------------+------+------+---------+-------+----------------------------+
//! |  1 | periodic-compute | vm   | nova | enabled | up    | 2026-11-30T07:08:24.175000 |
//! +----+------------------+------+------+---------+-------+----------------------------+
//! ```
//!
//! After SIGTERM it shows down at once, and `--long` says why:
//!
//! ```text
//! $ periodic service list --db sqlite://periodic.db --long
//! +----+------------------+------+------+---------+-------+----------------------------+-----------------+-------------+----------------+----------------+-------------+
//! | ID | Binary           | Host | Zone | Status  | State | Updated At                 | Disabled Reason | Forced Down | Last Heartbeat | Down Threshold | Down Reason |
//! +----+------------------+------+------+---------+-------+----------------------------+-----------------+-------------+----------------+----------------+-------------+
//! |  1 | periodic-compute | vm   | nova | enabled | down  | 2026-11-30T07:08:26.159000 | None            | False       | 4.0s ago       | 60s            | stopped     |
//! +----+------------------+------+------+---------+-------+----------------------------+-----------------+-------------+----------------+----------------+-------------+
//! ```
//!
//! A service is up when it is not forced down, has not stopped, and its last heartbeat is
//! at most `service_down_time` (60 s) old by the store's clock, never the service's own.
//! `--format json` is for scripts and `--format legacy` is nova-manage's layout;
//! `enable`, `disable --reason`, `force-down` and `delete` change a row. The same view
//! from Rust, on a temporary SQLite file:
//!
//! ```
//! use periodic::{DownReason, Service, ServiceFilter, ServiceGroup, ServiceGroupConfig};
//! # use periodic::{Manager, periodic_tasks};
//! # struct ComputeManager;
//! # struct Context;
//! # impl Manager for ComputeManager {
//! #     type Context = Context;
//! #     fn context(&self) -> Context { Context }
//! # }
//! # #[periodic_tasks]
//! # impl ComputeManager {
//! #     #[periodic_task(spacing = 60, run_immediately)]
//! #     async fn update_available_resource(&self, _ctx: &Context) -> Result<(), std::io::Error> {
//! #         Ok(())
//! #     }
//! # }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # if !cfg!(feature = "sqlite") { return Ok(()) } // `sqlite://` needs the `sqlite` feature
//! # let dir = std::env::temp_dir().join(format!("periodic-tutorial-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let url = format!("sqlite://{}", dir.join("periodic.db").display());
//! let group = ServiceGroup::open(&url, ServiceGroupConfig::default()).await?;
//! let running = Service::builder(ComputeManager, "periodic-compute", "compute")
//!     .host("compute-1")
//!     .servicegroup(group)
//!     .build()?
//!     .start()
//!     .await?;
//!
//! // What `periodic service list --db <url>` does:
//! let operator = ServiceGroup::open_existing(&url, ServiceGroupConfig::default()).await?;
//! let services = operator.list(&ServiceFilter::all()).await?;
//! assert_eq!(services[0].record.binary, "periodic-compute");
//! assert_eq!((services[0].status(), services[0].state()), ("enabled", "up"));
//!
//! running.stop().await?;
//! let services = operator.list(&ServiceFilter::all()).await?;
//! assert_eq!(services[0].state(), "down");
//! assert_eq!(services[0].down_reason, Some(DownReason::Stopped));
//! # operator.close().await;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! # 6. Run a task once per slot across a fleet
//!
//! Services run as several replicas, and by default every replica runs every task. A task
//! declared `fleet` runs **once per slot across all replicas** of its fleet (by default the
//! service's binary; `fleet = "name"` to share it across binaries):
//!
//! ```text
//! store clock  0s        600s       1200s      1800s        spacing = 600, fleet
//! slots        |  slot 0  |  slot 1  |  slot 2  |
//! replica A    ·          claim: won (token 7) ── runs ── release
//! replica B    ·          claim: taken            claim: won (token 8) ── runs
//! replica C    ·          claim: taken            claim: taken
//! ```
//!
//! - **Slots are judged by the store's clock**: slot = floor(store time / spacing), so
//!   replicas agree whatever their start times and their own clocks. Every replica wakes
//!   at the slot boundary (mapped onto its tokio clock at each claim) and claims the slot
//!   in one statement or transaction of the store; one wins, the others skip the slot. A
//!   slot once claimed is never run again, however late a replica comes.
//! - **Jitter** stays oslo's 0-5 % of the spacing, drawn per slot: a replica claims at
//!   the boundary plus its jitter, inside the same slot.
//! - **`run_immediately`** means per slot: at start, a fleet task claims the *current*
//!   slot when it is `run_immediately` or when the ledger shows that the previous slot was
//!   missed (every replica was down); otherwise it waits for the next boundary.
//! - **While it runs** the claim is a lease, renewed every third of it (default: half the
//!   spacing, within 100 ms ..= 30 s). When renewal fails past the lease, the run's
//!   [`RunContext`] is cancelled and the loss is logged once; another replica may run the
//!   next slot. The lease is released only after the run has ended, and the ledger records
//!   when it ended (store clock), how and how long.
//! - **The store unreachable**: fleet tasks do not run (they fail closed), logged once when
//!   it goes and once when it is back; plain tasks and the heartbeat go on.
//! - **Fencing**: each won claim carries a token that only grows per (fleet, task). A
//!   holder paused past its lease (GC, SIGSTOP, VM migration) may wake up after another
//!   replica took the next slot; a write guarded with [`Fence::sql_condition`] then
//!   changes nothing.
//!
//! ```
//! use periodic::{RunContext, periodic_tasks};
//!
//! struct Scheduler;
//!
//! #[periodic_tasks]
//! impl Scheduler {
//!     /// Once per 10 minutes across every nova-scheduler replica.
//!     #[periodic_task(spacing = 600, fleet)]
//!     async fn clean_up_expired_reservations(&self, run: &RunContext) -> Result<(), String> {
//!         let Some(fence) = run.fence() else { return Ok(()) };
//!         // Applies only while no replica has been given a newer token for this task:
//!         let sql = format!(
//!             "DELETE FROM reservations WHERE expire < now() AND {}",
//!             fence.sql_condition()
//!         );
//!         if run.is_cancelled() {
//!             return Err("lease lost".into()); // stop early: another replica takes over
//!         }
//!         let _ = sql; // sqlx::query(&sql).execute(&pool).await ...
//!         Ok(())
//!     }
//! }
//! ```
//!
//! Claims live in the task ledger of the service group's store (the SQL stores and
//! `memory://`, table `periodic_task_ledger`) or in the store named by `fleet_store`
//! ([`ServiceBuilder::fleet_store`]). The same ledger records every plain task's last
//! run, so a restarted service resumes its schedule: a 24-hour task that ran an hour ago
//! does not run again at start (unless `run_immediately`), one that missed its runs while
//! everything was down runs once. A runner outside a service takes a ledger with
//! [`RunnerOptions::task_ledger`]; tests use a [`MemoryLedger`], whose clock is tokio's.
//!
//! # 7. Looping calls and task groups
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
//! ```
//! use std::ops::ControlFlow;
//! use std::time::Duration;
//! use periodic::{FixedInterval, Shutdown, TaskGroup};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let tg = TaskGroup::new();
//! let mut polls = 0;
//! let mut wait_for_volume = tg.add_timer(FixedInterval::new(Duration::from_secs(1), move || {
//!     polls += 1;
//!     let step = if polls < 5 { ControlFlow::Continue(()) } else { ControlFlow::Break("available") };
//!     async move { step }
//! }));
//! let upload = tg.add_task(async {
//!     tokio::time::sleep(Duration::from_secs(10)).await;
//!     "uploaded"
//! });
//!
//! assert_eq!(wait_for_volume.wait().await.unwrap(), Some("available")); // at 4 s
//! tg.stop(Shutdown::Graceful).await; // waits for the upload
//! assert_eq!(upload.await.unwrap(), Some("uploaded"));
//! # }
//! ```
//!
//! # Examples
//!
//! The repository's `examples/` holds complete programs (`cargo run --example NAME`); the
//! small ones end by themselves within seconds, and `cargo test` runs them:
//!
//! - `tasks_only`: tasks and a runner and nothing else, as built with
//!   `default-features = false, features = ["macros"]`;
//! - `looping_call`: a [`FixedInterval`] that ends with `ControlFlow::Break(value)`, a
//!   [`DynamicInterval`] stopped from outside;
//! - `task_group`: timers and tasks in a [`TaskGroup`], stopped gracefully;
//! - `service`: a service on `memory://` that heartbeats, lists itself and stops (or on
//!   any store: `cargo run --example service -- --db sqlite://periodic.db --seconds 30`);
//! - `compute_manager`: the main job, a small nova-compute with every option (flags, a
//!   configuration file, the memcached driver, the HTTP API).
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
//! Without any feature, `periodic` has the runner, looping calls, task groups, and
//! services on `memory://`; tasks are then added at run time with [`PeriodicTask::new`].
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `macros` | yes | `#[periodic_tasks]` and `#[periodic_task]` (`syn`, `quote`) |
//! | `sqlite` | yes | `sqlite://` service groups (`sqlx`, with SQLite's C library built from source) |
//! | `config` | yes | `Config`: one TOML file with oslo's option names, overridden by `PERIODIC_*` variables (`serde`, `toml`) |
//! | `postgres` | | `postgres://` service groups (`sqlx`) |
//! | `mysql` | | `mysql://` and `mariadb://` service groups (`sqlx`) |
//! | `memcached` | | the `mc` liveness driver: heartbeats are memcached keys that expire (`async-memcached`) |
//! | `redis` | | `fleet_store = "redis://..."`: the task ledger of fleet tasks in Redis, one Lua script per operation on Redis's clock (`redis`) |
//! | `cron` | | `cron = "..."` and `tz = "..."` on `#[periodic_task]`, `PeriodicTask::cron`, `CronSchedule`: cron expressions in UTC or a named time zone (`croner`, `chrono-tz`) |
//! | `http` | | [`ApiServer`]: nova's `/os-services` API over a service group (for `openstack compute service list/set/delete`) with `/healthz`, `/tasks` and `/metrics`, standalone or inside a service ([`ServiceBuilder::api`]) (`axum`, `prometheus-client`) |
//!
//! How to depend on each part:
//!
//! ```toml
//! # Periodic tasks, the runner, looping calls and task groups only:
//! periodic = { version = "0.1", default-features = false, features = ["macros"] }
//! # The same, plus services on an SQLite file and the configuration file (the defaults):
//! periodic = "0.1"
//! # A service on PostgreSQL or MySQL, no SQLite:
//! periodic = { version = "0.1", default-features = false, features = ["macros", "config", "postgres"] }
//! # Everything: every store, the memcached driver and the HTTP API:
//! periodic = { version = "0.1", features = ["postgres", "mysql", "memcached", "http"] }
//! ```
//!
//! A library that declares managers and tasks for others to run should take the first
//! line: cargo features are additive, so defaults a library keeps are forced on every
//! program that uses it. A store URL whose feature is missing is an error at
//! [`ServiceGroup::open`] that names the feature. The README's "Cargo features and build
//! cost" counts the crates each line compiles (51, 142 with the defaults, 209 with every
//! feature) and says why the defaults are what they are.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

pub use periodic_core::*;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use periodic_macros::{periodic_task, periodic_tasks};

#[doc(hidden)]
pub use periodic_core::__private;
