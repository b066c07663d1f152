//! `PeriodicRunner`: the handle on a manager's periodic tasks (oslo.service's
//! `PeriodicTasks`). It is built by [`PeriodicRunnerBuilder`](crate::PeriodicRunnerBuilder)
//! (`builder.rs`, which also holds `PeriodicRunner::builder` and `::new`), keeps its tasks
//! in the slot table (`slots.rs`) and runs them with the pass algorithms (`pass.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::controls::CONTROL_POLL;
use super::info::TaskInfo;
use super::pass::Shared;
use super::policy::{Concurrency, ErrorPolicy};
use super::slots::{SlotSpec, TaskFn};
use super::spacing::Spacing;
use super::task::PeriodicTask;
use crate::error::Result;

/// Runs a manager's periodic tasks: oslo.service's `PeriodicTasks`, per manager instance.
///
/// The runner is built from the tasks `#[periodic_task]` registered for the manager type
/// `M` (in source order) and from tasks added with
/// [`add_periodic_task`](Self::add_periodic_task). Each call of
/// [`run_periodic_tasks`](Self::run_periodic_tasks) is one pass: it runs the tasks that are
/// due and returns how long to idle before the next pass. A service drives it with a
/// [`DynamicInterval`](crate::DynamicInterval); tests drive it by hand in paused time.
///
/// `C` is the context type handed to every task (nova's `RequestContext`); tasks that take
/// no context ignore it. The handle is cheap to clone; clones share the schedule.
///
/// ```
/// use std::time::Duration;
/// use periodic::{PeriodicRunner, periodic_tasks};
///
/// struct Manager;
///
/// #[periodic_tasks]
/// impl Manager {
///     #[periodic_task(spacing = 10, run_immediately)]
///     async fn tick(&self) {}
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> periodic::Result<()> {
/// let runner = PeriodicRunner::<Manager>::new(Manager)?;
/// let idle = runner.run_periodic_tasks(()).await?;     // tick runs now
/// assert_eq!(idle, Duration::from_secs(10));
/// # Ok(()) }
/// ```
///
/// # Fleet tasks
///
/// A task declared `fleet` ([`PeriodicTask::fleet`], `#[periodic_task(fleet)]`) runs once
/// per slot across every runner that shares its [task
/// ledger](crate::RunnerOptions::task_ledger): it is due at the next slot boundary on the
/// store's clock (plus its jitter), claims the slot before it runs and skips the slot when
/// another runner has it; see the crate docs, "Run a task once per slot across a fleet".
///
/// ```text
/// store clock   0s        10s        20s        30s      spacing 10 s, no jitter
/// runner A      built 3s  claim: won  claim: taken  claim: won
/// runner B       built 7s claim: taken claim: won   claim: taken
/// ```
///
/// # Differences from oslo.service
///
/// - A task added with `add_periodic_task` belongs to this runner only (oslo adds it to the
///   class, which breaks instances created earlier, case 5.1-24).
/// - A task that is not `run_immediately` is first due one spacing after the runner was
///   built (oslo: after the class was defined, usually import time).
/// - Two tasks with the same name are an error, not a silent collision (case 5.1-23).
/// - Disabled tasks are kept (not run) so that introspection lists them.
/// - The default idle policy is [`IdlePolicy::Precise`](crate::IdlePolicy::Precise);
///   [`IdlePolicy::Oslo`](crate::IdlePolicy::Oslo) is exact.
/// - A spacing is a [`Spacing`], not a number with two sentinels (see its docs).
pub struct PeriodicRunner<M, C = ()> {
    shared: Arc<Shared<M, C>>,
}

impl<M, C> Clone for PeriodicRunner<M, C> {
    fn clone(&self) -> Self {
        PeriodicRunner {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M, C> fmt::Debug for PeriodicRunner<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.shared.options;
        f.debug_struct("PeriodicRunner")
            .field("manager", &self.shared.owner_name)
            .field("idle_policy", &options.idle_policy)
            .field("error_policy", &options.error_policy)
            .field("concurrency", &options.concurrency)
            .finish_non_exhaustive()
    }
}

impl<M, C> PeriodicRunner<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// The runner around `shared` (made by the builder).
    pub(super) fn from_shared(shared: Shared<M, C>) -> Self {
        PeriodicRunner {
            shared: Arc::new(shared),
        }
    }

    /// The manager whose tasks this runner runs.
    pub fn manager(&self) -> &Arc<M> {
        &self.shared.manager
    }

    /// Adds a task to this runner (oslo's `add_periodic_task`). A task that is not
    /// `run_immediately` is first due one spacing from now.
    ///
    /// Returns `Ok(false)` when the task does not run here (see
    /// [`TaskInfo::runnable`]): its spacing is [`Spacing::Disabled`], it is not
    /// [`enabled`](PeriodicTask::enabled), or it is an `external_process_ok` task of a
    /// runner that skips those. It is logged and listed, as oslo's return value says, but
    /// not run.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DuplicateTask`](crate::ErrorKind::DuplicateTask) if the runner already
    /// has a task of that name; [`ErrorKind::Config`](crate::ErrorKind::Config) for a
    /// spacing of [`Spacing::Every`] zero.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::{PeriodicRunner, PeriodicTask};
    ///
    /// struct Manager;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> periodic::Result<()> {
    /// let runner = PeriodicRunner::<Manager>::new(Manager)?;
    /// let added = runner.add_periodic_task(
    ///     PeriodicTask::new("poll", |_m: Arc<Manager>, _ctx: Arc<()>| async {})
    ///         .spacing(Duration::from_secs(5))
    ///         .run_immediately(true),
    /// )?;
    /// assert!(added);
    /// assert_eq!(runner.run_periodic_tasks(()).await?, Duration::from_secs(5));
    /// assert_eq!(runner.task("poll").unwrap().runs, 1);
    /// # Ok(()) }
    /// ```
    pub fn add_periodic_task(&self, task: PeriodicTask<M, C>) -> Result<bool> {
        let now = Instant::now();
        let spec = SlotSpec {
            name: task.name.into(),
            spacing: task.spacing,
            run_immediately: task.run_immediately,
            enabled: task.enabled,
            external_process_ok: task.external_process_ok,
            fleet: task.fleet,
            timeout: task.timeout,
            overrun: task.overrun,
            calendar: task.calendar,
            func: TaskFn::Added(task.func),
        };
        self.shared.state().push(spec, now)
    }

    /// Changes the spacing of task `name` at run time: a [`Spacing`], or a [`Duration`]
    /// (which converts into [`Spacing::Every`]). The next due time is the last run plus
    /// the new spacing; [`Spacing::Disabled`] stops the task and another spacing starts it
    /// again. A number of seconds with oslo's meaning (0: the default interval, negative:
    /// disabled) converts with [`Spacing::from_secs_f64`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when there is no such task, or for
    /// a spacing of [`Spacing::Every`] zero.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::{PeriodicRunner, PeriodicTask, Spacing};
    ///
    /// # struct Manager;
    /// let runner = PeriodicRunner::<Manager>::new(Manager)?;
    /// runner.add_periodic_task(PeriodicTask::new("audit", |_m: Arc<Manager>, _c: Arc<()>| async {}))?;
    /// runner.set_spacing("audit", Duration::from_secs(300))?;
    /// assert_eq!(runner.task("audit").unwrap().interval, Some(Duration::from_secs(300)));
    /// runner.set_spacing("audit", Spacing::Disabled)?; // as a negative configured spacing does in nova
    /// assert!(!runner.task("audit").unwrap().runnable);
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn set_spacing(&self, name: &str, spacing: impl Into<Spacing>) -> Result<()> {
        self.shared
            .state()
            .set_spacing(name, spacing.into(), Instant::now())
    }

    /// Changes oslo's `run_external_periodic_tasks` at run time (what a service's SIGHUP
    /// reload does): with `false` the tasks marked `external_process_ok` stop running at
    /// once; with `true` they run again, each one interval after its last run (at once if
    /// it never ran; a cron task at its next occurrence).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use periodic::{PeriodicRunner, PeriodicTask};
    ///
    /// # struct Manager;
    /// let runner = PeriodicRunner::<Manager>::new(Manager)?;
    /// runner.add_periodic_task(
    ///     PeriodicTask::new("sync", |_m: Arc<Manager>, _c: Arc<()>| async {}).external_process_ok(true),
    /// )?;
    /// runner.set_run_external_periodic_tasks(false);
    /// assert!(!runner.run_external_periodic_tasks());
    /// assert!(!runner.task("sync").unwrap().runnable);
    /// runner.set_run_external_periodic_tasks(true);
    /// assert!(runner.task("sync").unwrap().runnable);
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn set_run_external_periodic_tasks(&self, yes: bool) {
        self.shared.state().set_run_external(yes, Instant::now());
    }

    /// Whether tasks marked `external_process_ok` run here (oslo's
    /// `run_external_periodic_tasks`).
    pub fn run_external_periodic_tasks(&self) -> bool {
        self.shared.state().run_external()
    }

    /// A snapshot of every task, in pass order: spacing, whether it is enabled and
    /// runnable, last run, next due, run and failure counts, last duration and lateness.
    ///
    /// ```
    /// use periodic::{PeriodicRunner, periodic_tasks};
    ///
    /// struct Manager;
    ///
    /// #[periodic_tasks]
    /// impl Manager {
    ///     #[periodic_task(spacing = 30)]
    ///     async fn poll(&self) {}
    ///     #[periodic_task(enabled = false)]
    ///     async fn unused(&self) {}
    /// }
    ///
    /// let runner = PeriodicRunner::<Manager>::new(Manager)?;
    /// for task in runner.tasks() {
    ///     println!("{} {}, runnable {}, next due {:?}", task.full_name, task.spacing, task.runnable, task.next_due);
    /// }
    /// assert_eq!(runner.tasks().len(), 2);
    /// let unused = runner.task("unused").unwrap();
    /// assert!(!unused.enabled && !unused.runnable);
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let infos = self.shared.state().infos();
        infos
            .into_iter()
            .map(|info| self.shared.with_controls(info))
            .collect()
    }

    /// One task's snapshot by name.
    pub fn task(&self, name: &str) -> Option<TaskInfo> {
        let info = self.shared.state().info_of(name)?;
        Some(self.shared.with_controls(info))
    }

    /// The task ledger the runner claims in, records to and reads its controls from
    /// ([`RunnerOptions::task_ledger`](crate::RunnerOptions::task_ledger)), if it has one.
    ///
    /// ```
    /// use periodic::PeriodicRunner;
    ///
    /// struct Manager;
    ///
    /// let runner = PeriodicRunner::<Manager>::new(Manager)?;
    /// assert!(runner.task_ledger().is_none());
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn task_ledger(&self) -> Option<Arc<dyn super::ledger::TaskLedger>> {
        self.shared.options.task_ledger.clone()
    }

    /// The earliest time any task is next due, or `None` when no task runs.
    pub fn next_due(&self) -> Option<Instant> {
        self.shared.state().next_due()
    }

    /// Runs one pass with the runner's [`ErrorPolicy`] and returns how long to idle before
    /// the next one (see [`IdlePolicy`](crate::IdlePolicy)). `ctx` is handed to every task that takes a
    /// context.
    ///
    /// A task is due when its last run plus its spacing is not after now (exactly at the
    /// boundary counts).
    ///
    /// With a [task ledger](crate::RunnerOptions::task_ledger) the runner also follows the
    /// operator's controls ([`TaskControl`](crate::TaskControl)): a task paused in the
    /// ledger is skipped (moved to its next due time or slot), and a run-now request the
    /// runner takes runs first in the pass, once, with a new fencing token, its schedule
    /// unchanged. The controls are read in the background every 500 ms (PostgreSQL: at
    /// once, on `NOTIFY`), and the idle time returned is at most 500 ms, so that a
    /// request is picked up within a second. Before a task runs its last run moves to
    /// [`nearest_boundary`](crate::nearest_boundary), so a failing or slow task is not
    /// retried early. Async tasks are awaited; blocking (`fn`) tasks run on tokio's
    /// blocking pool. A panicking task counts as a failed one: it never takes the runner
    /// down. A task whose earlier run is still in progress (its pass was cancelled) is not
    /// started again.
    ///
    /// # Errors
    ///
    /// Only with [`ErrorPolicy::Propagate`]: the first failure, as
    /// [`ErrorKind::Task`](crate::ErrorKind::Task).
    ///
    /// # Cancel safety
    ///
    /// Cancelling a pass drops the run in progress (a blocking run goes on to its end on
    /// the blocking pool). A task's last run is advanced before it starts, so a cancelled
    /// run is not repeated early. With [`Concurrency::Lanes`] a pass only starts runs: they
    /// go on in their lanes whatever happens to the pass (see
    /// [`stop_lanes`](Self::stop_lanes)).
    pub async fn run_periodic_tasks(&self, ctx: impl Into<Arc<C>>) -> Result<Duration> {
        self.pass(ctx.into(), self.shared.options.error_policy)
            .await
    }

    /// [`run_periodic_tasks`](Self::run_periodic_tasks) with an explicit error policy
    /// (oslo's `raise_on_error` argument).
    ///
    /// # Errors
    ///
    /// With [`ErrorPolicy::Propagate`], the first failure.
    ///
    /// # Cancel safety
    ///
    /// As [`run_periodic_tasks`](Self::run_periodic_tasks).
    pub async fn run_periodic_tasks_with(
        &self,
        ctx: impl Into<Arc<C>>,
        policy: ErrorPolicy,
    ) -> Result<Duration> {
        self.pass(ctx.into(), policy).await
    }

    async fn pass(&self, ctx: Arc<C>, policy: ErrorPolicy) -> Result<Duration> {
        let idle = if self.shared.options.concurrency == Concurrency::Lanes {
            self.shared.lanes_pass(ctx, policy).await
        } else {
            self.shared.run_pass(ctx, policy).await
        }?;
        // With a ledger, the next pass comes within the controls' poll, so that a run-now
        // request or a pause is picked up within a second.
        if self.shared.watches_controls() {
            Ok(idle.min(CONTROL_POLL))
        } else {
            Ok(idle)
        }
    }

    /// Stops the lanes of a [`Concurrency::Lanes`] runner: no lane starts another run,
    /// and this returns when the runs in progress have ended. A later pass starts lanes
    /// again. Without lanes it returns at once. A [`Service`](crate::Service) calls it
    /// when it stops, within its `graceful_shutdown_timeout`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the lanes are stopped at the first poll; cancelling only stops the
    /// waiting (the runs in progress go on; [`abort_lanes`](Self::abort_lanes) drops
    /// them).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::{Concurrency, PeriodicRunner, PeriodicTask};
    ///
    /// struct Manager;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> periodic::Result<()> {
    /// let runner = PeriodicRunner::<Manager>::builder(Manager)
    ///     .concurrency(Concurrency::Lanes)
    ///     .build()?;
    /// runner.add_periodic_task(
    ///     PeriodicTask::new("slow", |_m: Arc<Manager>, _c: Arc<()>| async {
    ///         tokio::time::sleep(Duration::from_secs(5)).await;
    ///     })
    ///     .spacing(Duration::from_secs(1))
    ///     .run_immediately(true),
    /// )?;
    /// runner.run_periodic_tasks(()).await?; // starts `slow` in its lane, returns at once
    /// runner.stop_lanes().await;            // returns when the run has ended, at t = 5 s
    /// assert_eq!(runner.task("slow").unwrap().runs, 1);
    /// # Ok(()) }
    /// ```
    pub async fn stop_lanes(&self) {
        self.shared.stop_lanes().await;
    }

    /// Stops the lanes of a [`Concurrency::Lanes`] runner at once: their async runs in
    /// progress are dropped (cancelled at their next `.await`); a blocking run cannot be
    /// cancelled and goes on to its end on its thread. A later pass starts lanes again.
    pub fn abort_lanes(&self) {
        self.shared.abort_lanes();
    }
}
