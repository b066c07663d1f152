//! Periodic tasks: the compile-time registry, the schedule maths and the runner
//! (oslo.service's `periodic_task` module).

mod mintree;
mod registry;
mod runner;
mod schedule;
mod task;

pub use registry::{RegisteredTask, registered_tasks};
pub use runner::{
    Concurrency, ErrorPolicy, IdlePolicy, PeriodicRunner, PeriodicRunnerBuilder, RunOutcome,
    TaskInfo, TaskRun,
};
pub use schedule::{DEFAULT_INTERVAL, Jitter, jitter_for, nearest_boundary};
pub use task::{IntoTaskResult, PeriodicTask};

pub(crate) mod private {
    pub use super::registry::TaskDescriptor;
    pub use super::task::{TaskCall, TaskFailure};
}
