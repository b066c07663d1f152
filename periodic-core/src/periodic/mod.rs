//! Periodic tasks: the compile-time registry, the schedule maths and the runner
//! (oslo.service's `periodic_task` module).
//!
//! | file | concept |
//! |---|---|
//! | `schedule.rs` | oslo's `_nearest_boundary` and jitter, as pure functions |
//! | `spacing.rs` | [`Spacing`]: how often a task runs |
//! | `policy.rs` | [`IdlePolicy`], [`ErrorPolicy`], [`Concurrency`] |
//! | `mintree.rs` | the index of due times |
//! | `info.rs` | what the runner tells: [`RunOutcome`], [`TaskRun`], [`TaskInfo`] |
//! | `ledger.rs` | [`TaskLedger`]: the store contract of fleet claims and the run record |
//! | `run.rs` | [`RunContext`] (what a run knows: token, slot, cancellation), [`Fleet`] |
//! | `task.rs` | a task at run time: its call, result and failures; [`PeriodicTask`] |
//! | `registry.rs` | the tasks `#[periodic_task]` registers; [`registered_tasks`] |
//! | `options.rs` | [`RunnerOptions`]: every option of a runner, in one place |
//! | `controls.rs` | the operator's controls a runner knows of (pause, run now), and their watcher |
//! | `fleet.rs` | the runner's side of the ledger: store clock, claims, leases held, resume |
//! | `slots.rs` | the slot table: each task's schedule, function and counters |
//! | `run_task.rs` | the one helper that runs a task, and a fleet run with its lease held |
//! | `lane_control.rs` | what a runner shares with its lanes: tracker, stop tokens, failure |
//! | `pass.rs` | one pass, sequential or concurrent; claims of due fleet tasks; resume |
//! | `lanes.rs` | [`Concurrency::Lanes`]: the lanes' pass, and each task's lane |
//! | `runner.rs` | [`PeriodicRunner`] |
//! | `builder.rs` | [`PeriodicRunnerBuilder`], `PeriodicRunner::builder` and `::new` |
//!
//! A file imports only files above it in this table.

mod builder;
mod controls;
mod fleet;
mod info;
mod lane_control;
mod lanes;
pub(crate) mod ledger;
mod mintree;
mod options;
mod pass;
mod policy;
mod registry;
mod run;
mod run_task;
mod runner;
mod schedule;
mod slots;
mod spacing;
mod task;

pub use builder::PeriodicRunnerBuilder;
pub use info::{RunOutcome, TaskInfo, TaskRun};
pub use ledger::{
    Claim, ClaimRequest, Claimed, ControlState, Fence, HISTORY_LEN, LedgerEntry, MAX_FLEET_NAME,
    MAX_PAUSE_REASON, RunRecord, RunReport, TaskControl, TaskLedger, TaskScope,
};
pub use options::RunnerOptions;
pub use policy::{Concurrency, ErrorPolicy, IdlePolicy, Overrun};
pub use registry::{RegisteredTask, registered_tasks};
pub use run::{Fleet, RunContext};
pub use runner::PeriodicRunner;
pub use schedule::{DEFAULT_INTERVAL, Jitter, jitter_for, nearest_boundary};
pub use spacing::Spacing;
pub use task::{IntoTaskResult, PeriodicTask};

pub(crate) mod private {
    pub use super::policy::Overrun;
    pub use super::registry::TaskDescriptor;
    pub use super::run::{Fleet, RunContext};
    pub use super::spacing::Spacing;
    pub use super::task::{TaskCall, TaskFailure};
}
