//! The runner's policies: how long a pass says to idle, what a failing task does to its
//! pass, and whether a pass runs its due tasks one by one or all at once.

/// What a pass returns as the time to sleep before the next pass.
///
/// Both policies run the same tasks at the same moments within a pass; they differ in how
/// long the caller is told to idle afterwards.
///
/// ```text
/// one task, spacing 10, its pass was delayed to t = 35 (grid: 30, 40, 50, ...)
///
/// Oslo:     runs at 35, last run snaps to 30, returns 10  -> next pass at 45
///           grid     30    40    50    60
///           runs        35    45    55    65     (5 s late for ever)
///
/// Precise:  runs at 35, last run snaps to 30, returns 5   -> next pass at 40
///           grid     30    40    50    60
///           runs        35 40    50    60        (back on the grid)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdlePolicy {
    /// Exactly oslo.service's `idle_for`: the minimum of 60 s, every task's spacing, and the
    /// time until each not-due task is due, measured when the pass reached that task. A task
    /// that just ran counts its full spacing, so a task that ran late stays late.
    Oslo,
    /// The time from the end of the pass to the earliest next due run, at most
    /// [`DEFAULT_INTERVAL`](crate::DEFAULT_INTERVAL). Driven by a loop that sleeps what it
    /// is told, no task sleeps past its grid point.
    #[default]
    Precise,
}

/// What a pass does when a task fails (returns an error or panics).
///
/// ```
/// use std::sync::Arc;
/// use periodic::{ErrorKind, ErrorPolicy, PeriodicRunner, PeriodicTask};
///
/// # struct Manager;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> periodic::Result<()> {
/// let runner = PeriodicRunner::<Manager>::new(Manager)?;
/// runner.add_periodic_task(
///     PeriodicTask::new("flaky", |_m: Arc<Manager>, _c: Arc<()>| async { Err::<(), _>("disk full") })
///         .run_immediately(true),
/// )?;
/// // oslo's raise_on_error=True:
/// let err = runner.run_periodic_tasks_with((), ErrorPolicy::Propagate).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Task);
/// assert_eq!(err.to_string(), "Error during Manager.flaky: disk full");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorPolicy {
    /// Log `Error during Manager.task` with the error and go on with the pass (oslo's
    /// default, `raise_on_error=False`).
    #[default]
    Log,
    /// Stop the pass and return the failure as an
    /// [`ErrorKind::Task`](crate::ErrorKind::Task) error; the tasks after it in this pass
    /// are not run (oslo's `raise_on_error=True`). In a concurrent pass all started tasks
    /// finish first and the first failure is returned.
    Propagate,
}

/// Whether the due tasks of one pass run one after another or at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Concurrency {
    /// One after another in declaration order, as oslo's `run_periodic_tasks`.
    #[default]
    Sequential,
    /// All tasks due at the start of the pass run at once (oslo's
    /// `run_periodic_tasks_in_parallel`): async tasks as tokio tasks, blocking ones on the
    /// blocking pool. The pass ends when all of them have.
    #[doc(alias = "run_periodic_tasks_in_parallel")]
    Concurrent,
}
