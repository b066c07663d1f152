//! The runner's policies: how long a pass says to idle, what a failing task does to its
//! pass, and whether a pass runs its due tasks one by one, all at once, or each in a lane.

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

/// Whether the due tasks of one pass run one after another, at the same time, or each in
/// a lane of its own.
///
/// One task `S` of 2.5 s every 1 s declared before a task `F` of 0.1 s every 1 s
/// (`Jitter::None`, both `run_immediately`; 1 s = 4 columns):
///
/// ```text
/// t (s)        0   1   2   3   4   5   6
/// Sequential   S═════════FS═════════FS═══     F after S in each pass: 2.5, 5.1 (2 of 7)
/// Concurrent   S═════════S═════════S═══       a pass waits for all it started:
///              F         F         F          F at 0, 2.5, 5 (3 of 7)
/// Lanes        S═════════S═════════S═══       S at 0, 2.5, 5, never two at once
///              F   F   F   F   F   F   F      F on time, every second (7 of 7)
/// ```
///
/// # Which one
///
/// [`Sequential`](Self::Sequential) stays the default, also under
/// [`IdlePolicy::Precise`]: it is oslo's, tasks of one manager never run at the same time
/// (nova's tasks share the manager's state and rely on that), and it is exact against
/// oslo.service under [`IdlePolicy::Oslo`]. Choose [`Lanes`](Self::Lanes) when the tasks
/// may run at the same time and one slow task must not delay the others (what users did
/// before by splitting tasks across runners).
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
    /// Each task runs in a lane of its own (a tokio task; a blocking task on the blocking
    /// pool): its runs start on time whatever the other tasks are doing, it never overlaps
    /// itself, and a slow task delays only itself. A run that ends after its next due time
    /// is followed at once by the next run, on the spacing's grid (missed runs are
    /// skipped, as in the other modes).
    ///
    /// A pass starts the due tasks in their lanes and returns without waiting for them;
    /// a lane runs its task again for as long as its next run comes before the next pass
    /// (the idle time the pass returned), then hands it back. Drive the runner as usual,
    /// sleeping what each pass returns (a [`Service`](crate::Service) does). The idle
    /// time is always [`IdlePolicy::Precise`]'s (from the pass to the earliest due task
    /// that no lane holds); a lane's failure under [`ErrorPolicy::Propagate`] is returned
    /// by the next pass. Stop the lanes with
    /// [`PeriodicRunner::stop_lanes`](crate::PeriodicRunner::stop_lanes) (a service does
    /// when it stops); without passes they stop by themselves at the time the last pass
    /// said the next one comes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    /// use periodic::{Concurrency, Jitter, PeriodicRunner, PeriodicTask};
    ///
    /// struct Manager;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> periodic::Result<()> {
    /// let runner = PeriodicRunner::<Manager>::builder(Manager)
    ///     .concurrency(Concurrency::Lanes)
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let every = Duration::from_secs(1);
    /// runner.add_periodic_task(
    ///     PeriodicTask::new("slow", |_m: Arc<Manager>, _c: Arc<()>| async {
    ///         tokio::time::sleep(Duration::from_millis(2500)).await;
    ///     })
    ///     .spacing(every)
    ///     .run_immediately(true),
    /// )?;
    /// let fast = Arc::new(AtomicU32::new(0));
    /// let counter = Arc::clone(&fast);
    /// runner.add_periodic_task(
    ///     PeriodicTask::new("fast", move |_m: Arc<Manager>, _c: Arc<()>| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///         async {}
    ///     })
    ///     .spacing(every)
    ///     .run_immediately(true),
    /// )?;
    /// // Drive it as a service does, for 6.5 s.
    /// let end = tokio::time::Instant::now() + Duration::from_millis(6500);
    /// while tokio::time::Instant::now() < end {
    ///     let idle = runner.run_periodic_tasks(()).await?;
    ///     tokio::time::sleep_until((tokio::time::Instant::now() + idle).min(end)).await;
    /// }
    /// assert_eq!(fast.load(Ordering::Relaxed), 7); // t = 0, 1, .. 6: none held back
    /// runner.stop_lanes().await;
    /// # Ok(()) }
    /// ```
    Lanes,
}

/// What a task does when a run outlasts its spacing: its next due time passes while it
/// runs.
///
/// One task every 1 s whose run at 0 takes 3.5 s (later runs are short):
///
/// ```text
/// t (s)        0    1    2    3    4    5
/// grid         |    |    |    |    |    |
/// RunOnce      R═════════════════╗R   R    R     1, 2, 3 missed: one run at once (3.5),
///                                                then on the grid (4, 5)
/// Skip         R═════════════════╗    R    R     1, 2, 3 missed: next run at 4
/// CatchUp(2)   R═════════════════╗RR  R    R     2 and 3 run back to back at 3.5
///                                                (1 is older than the bound: skipped)
/// ```
///
/// A cron task (`#[periodic_task(cron = "...")]`, feature `cron`) follows the same policies
/// with its occurrences as the grid: a run that starts late, or ends after its next
/// occurrence, has missed those in between (see `PeriodicTask::cron`).
///
/// A fleet task runs once per slot whatever the policy: its next run is the next slot's.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use periodic::{Overrun, PeriodicTask};
///
/// # struct Manager;
/// let task = PeriodicTask::<Manager>::new("sync", |_m: Arc<Manager>, _c: Arc<()>| async {})
///     .spacing(Duration::from_secs(60))
///     .overrun(Overrun::CatchUp(3));
/// # let _ = task;
/// ```
///
/// # Differences from oslo.service
///
/// oslo has only [`RunOnce`](Self::RunOnce), the default here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overrun {
    /// The missed runs are skipped; one run starts as soon as the long one has ended (at
    /// the next pass, or at once in its lane), then the task is back on its grid. oslo's
    /// behaviour, and the default.
    #[default]
    RunOnce,
    /// The missed runs are skipped, and so is the rest of the grid point the long run
    /// ended in: the next run starts at the next grid point after it ended.
    Skip,
    /// Each missed grid point gets a run, back to back, but at most this many runs (for
    /// the most recent points; older ones are skipped); then the task is back on its grid.
    /// `CatchUp(0)` and `CatchUp(1)` are [`RunOnce`](Self::RunOnce).
    CatchUp(u32),
}
