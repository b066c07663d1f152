//! What the runner tells about its tasks: how a run ended ([`RunOutcome`]), one finished
//! run ([`TaskRun`], for observers) and a task's schedule and counters ([`TaskInfo`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::spacing::Spacing;

/// How one run of a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunOutcome {
    /// The task returned successfully.
    Succeeded,
    /// The task returned an error.
    Failed,
    /// The task panicked.
    Panicked,
    /// The run went past the task's [`timeout`](crate::PeriodicTask::timeout) and was
    /// cancelled (an async run; a blocking one cannot be, see [`TaskRun::overran`]).
    TimedOut,
}

/// One finished run, handed to the observers set with
/// [`RunnerOptions::on_task_run`](crate::RunnerOptions::on_task_run) (for metrics, traces,
/// simulations).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskRun {
    /// Task name.
    pub name: Arc<str>,
    /// `Manager.task`, as in the log lines.
    pub full_name: Arc<str>,
    /// When the run was due.
    pub due: Instant,
    /// When it started.
    pub started: Instant,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: RunOutcome,
    /// A blocking run that went past the task's [`timeout`](crate::PeriodicTask::timeout):
    /// it could not be cancelled and ran to its end (its outcome is its own).
    pub overran: bool,
}

impl TaskRun {
    /// How late the run started against its due time.
    pub fn lateness(&self) -> Duration {
        self.started.saturating_duration_since(self.due)
    }
}

/// A snapshot of one task's schedule and counters, from
/// [`PeriodicRunner::tasks`](crate::PeriodicRunner::tasks).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::struct_excessive_bools,
    reason = "oslo's task flags, one field each"
)]
pub struct TaskInfo {
    /// Task name.
    pub name: String,
    /// `Manager.task`.
    pub full_name: String,
    /// The spacing as declared, or as set by
    /// [`set_spacing`](crate::PeriodicRunner::set_spacing) or a spacing override.
    pub spacing: Spacing,
    /// The time between two runs in effect: the spacing's
    /// [`interval`](Spacing::interval), [`DEFAULT_INTERVAL`](crate::DEFAULT_INTERVAL) for
    /// [`Spacing::Default`]; `None` when the spacing is [`Spacing::Disabled`].
    pub interval: Option<Duration>,
    /// The task's own switch: `#[periodic_task(enabled = ...)]` or
    /// [`PeriodicTask::enabled`](crate::PeriodicTask::enabled). A task can be enabled and
    /// still not run here; see [`runnable`](Self::runnable).
    pub enabled: bool,
    /// Whether the task runs in this runner: [`enabled`](Self::enabled), its spacing not
    /// [`Spacing::Disabled`], and not an `external_process_ok` task of a runner built with
    /// `run_external_periodic_tasks(false)`. A task that is not runnable is listed but has
    /// no [`next_due`](Self::next_due).
    pub runnable: bool,
    /// `run_immediately`.
    pub run_immediately: bool,
    /// `external_process_ok`.
    pub external_process_ok: bool,
    /// The last run's grid-aligned time (oslo's `_periodic_last_run`), or `None` before the
    /// first run of a `run_immediately` task.
    pub last_run: Option<Instant>,
    /// When the task is next due; `None` when it is not [`runnable`](Self::runnable).
    pub next_due: Option<Instant>,
    /// Completed runs.
    pub runs: u64,
    /// Runs that failed or panicked.
    pub failures: u64,
    /// Duration of the last completed run.
    pub last_duration: Option<Duration>,
    /// How late the last run started.
    pub last_lateness: Option<Duration>,
    /// Whether a run is in progress.
    pub running: bool,
    /// The fleet of a fleet task.
    pub fleet: Option<String>,
    /// The fencing token of the last slot this runner won, for a fleet task.
    pub fleet_token: Option<u64>,
    /// The last slot this runner won, for a fleet task.
    pub fleet_slot: Option<i64>,
    /// The longest a run may take ([`PeriodicTask::timeout`](crate::PeriodicTask::timeout)).
    pub timeout: Option<Duration>,
    /// Whether the task is paused in the task ledger
    /// ([`TaskControl::Pause`](crate::TaskControl::Pause)), as this runner last read it.
    pub paused: bool,
}
