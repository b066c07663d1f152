//! What a periodic task is at run time: its call, its result, its failures, and tasks added
//! at run time.

use super::calendar::Calendar;
use super::policy::Overrun;
use super::run::{Fleet, RunContext};
use super::spacing::Spacing;
use crate::error::BoxError;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One run's result as the runner sees it.
pub(crate) type TaskResult = Result<(), TaskFailure>;

/// Why one run of a task failed. Not public API.
#[doc(hidden)]
pub enum TaskFailure {
    /// The task returned an error that converts into a [`BoxError`].
    Error(BoxError),
    /// The task returned an error that only implements `Display`.
    Message(String),
    /// The task panicked; the panic payload's text.
    Panic(String),
    /// The async run went past the task's timeout and was cancelled.
    TimedOut(std::time::Duration),
}

impl TaskFailure {
    pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let text = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        TaskFailure::Panic(text)
    }

    pub(crate) fn is_panic(&self) -> bool {
        matches!(self, TaskFailure::Panic(_))
    }
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Error(e) => f.write_str(&crate::error::report(e.as_ref())),
            TaskFailure::Message(m) => f.write_str(m),
            TaskFailure::Panic(m) => write!(f, "panicked: {m}"),
            TaskFailure::TimedOut(after) => {
                write!(f, "timed out after {after:?} and was cancelled")
            }
        }
    }
}

impl fmt::Debug for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Error(e) => f.debug_tuple("Error").field(e).finish(),
            TaskFailure::Message(m) => f.debug_tuple("Message").field(m).finish(),
            TaskFailure::Panic(m) => f.debug_tuple("Panic").field(m).finish(),
            TaskFailure::TimedOut(after) => f.debug_tuple("TimedOut").field(after).finish(),
        }
    }
}

/// A boxed future of one task run.
pub(crate) type TaskFuture = Pin<Box<dyn Future<Output = TaskResult> + Send + 'static>>;

/// One invocation of a task, ready to run. Not public API; built by generated code.
#[doc(hidden)]
pub enum TaskCall {
    /// An `async fn` task: the runner awaits it.
    Async(TaskFuture),
    /// A plain `fn` task: the runner runs it on tokio's blocking pool.
    Blocking(Box<dyn FnOnce() -> TaskResult + Send + 'static>),
}

impl fmt::Debug for TaskCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskCall::Async(_) => "TaskCall::Async(..)",
            TaskCall::Blocking(_) => "TaskCall::Blocking(..)",
        })
    }
}

/// What a task added at run time may return: `()` or `Result<T, E>` whose error converts
/// into a [`BoxError`] (every `std::error::Error + Send + Sync + 'static`, `String`,
/// `&'static str`, `Box<dyn Error + Send + Sync>`, `anyhow::Error`, ...).
///
/// Tasks declared with `#[periodic_task]` accept more: any error type that implements
/// `Display` is logged with its text.
#[diagnostic::on_unimplemented(
    message = "a periodic task must return `()` or `Result<_, E>` with `E: Into<BoxError>`, not `{Self}`"
)]
pub trait IntoTaskResult {
    /// Converts the task's return value into the runner's view of it.
    #[doc(hidden)]
    fn into_task_result(self) -> Result<(), BoxError>;
}

impl IntoTaskResult for () {
    fn into_task_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<T, E: Into<BoxError>> IntoTaskResult for Result<T, E> {
    fn into_task_result(self) -> Result<(), BoxError> {
        self.map(|_| ()).map_err(Into::into)
    }
}

/// The call of a task added at run time. Boxed, not shared: the runner calls it in place,
/// and a closure that captures nothing then costs no allocation.
pub(crate) type AddedFn<M, C> = Box<dyn Fn(Arc<M>, Arc<C>, RunContext) -> TaskCall + Send + Sync>;

/// A periodic task added at run time with
/// [`PeriodicRunner::add_periodic_task`](crate::PeriodicRunner::add_periodic_task), oslo's
/// `add_periodic_task`.
///
/// It takes the same settings as `#[periodic_task]`, as builder methods with the same
/// names and defaults: `spacing` [`Spacing::Default`] (every
/// [`DEFAULT_INTERVAL`](crate::DEFAULT_INTERVAL), 60 s), not `run_immediately`, `enabled`,
/// not `external_process_ok`.
///
/// [`new`](Self::new) makes an async task and [`blocking`](Self::blocking) one that runs on
/// tokio's blocking pool; both take a closure of the manager and the pass's context, as
/// `Arc<M>` and `Arc<C>`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use periodic::PeriodicTask;
///
/// struct Manager;
///
/// let task: PeriodicTask<Manager> = PeriodicTask::new("heal_cache", |_manager: Arc<Manager>, _ctx: Arc<()>| async {
///     Ok::<(), std::io::Error>(())
/// })
/// .spacing(Duration::from_secs(30))
/// .run_immediately(true);
/// assert_eq!(task.name(), "heal_cache");
/// ```
pub struct PeriodicTask<M, C = ()> {
    pub(crate) name: String,
    pub(crate) spacing: Spacing,
    pub(crate) run_immediately: bool,
    pub(crate) enabled: bool,
    pub(crate) external_process_ok: bool,
    pub(crate) fleet: Option<Fleet>,
    pub(crate) timeout: Option<std::time::Duration>,
    pub(crate) overrun: Overrun,
    /// A cron task's schedule, in place of its spacing.
    pub(crate) calendar: Option<Arc<dyn Calendar>>,
    pub(crate) func: AddedFn<M, C>,
}

impl<M, C> PeriodicTask<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// An async task: `f` gets the manager and the pass's context and returns the future of
    /// one run.
    pub fn new<F, Fut, R>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Arc<M>, Arc<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoTaskResult,
    {
        let func: AddedFn<M, C> = Box::new(move |manager, ctx, _run| {
            let fut = f(manager, ctx);
            TaskCall::Async(Box::pin(async move {
                fut.await.into_task_result().map_err(TaskFailure::Error)
            }))
        });
        Self::with_fn(name.into(), func)
    }

    /// A blocking task: `f` gets the manager and the pass's context, as
    /// [`new`](Self::new)'s does, and runs on tokio's blocking thread pool, so it may block
    /// its thread (a synchronous database driver, a CPU-heavy scan) without stalling the
    /// runtime.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use periodic::PeriodicTask;
    ///
    /// struct Manager;
    ///
    /// let task: PeriodicTask<Manager> =
    ///     PeriodicTask::blocking("scan_disks", |_manager: Arc<Manager>, _ctx: Arc<()>| {
    ///         std::fs::read_dir(".").map(|entries| entries.count())
    ///     });
    /// assert_eq!(task.name(), "scan_disks");
    /// ```
    pub fn blocking<F, R>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Arc<M>, Arc<C>) -> R + Send + Sync + 'static,
        R: IntoTaskResult,
    {
        let f = Arc::new(f);
        let func: AddedFn<M, C> = Box::new(move |manager, ctx, _run| {
            let f = Arc::clone(&f);
            TaskCall::Blocking(Box::new(move || {
                f(manager, ctx)
                    .into_task_result()
                    .map_err(TaskFailure::Error)
            }))
        });
        Self::with_fn(name.into(), func)
    }

    /// An async task that also gets the run's [`RunContext`]: for a fleet task, its
    /// fencing token, its slot and the signal that its lease was lost.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::{Fleet, PeriodicTask, RunContext};
    ///
    /// struct Manager;
    ///
    /// let task: PeriodicTask<Manager> = PeriodicTask::with_run_context(
    ///     "clean_up",
    ///     |_manager: Arc<Manager>, _ctx: Arc<()>, run: RunContext| async move {
    ///         if run.is_cancelled() {
    ///             return;
    ///         }
    ///         let _token = run.token();
    ///     },
    /// )
    /// .spacing(Duration::from_secs(600))
    /// .fleet(Fleet::Default);
    /// assert_eq!(task.name(), "clean_up");
    /// ```
    pub fn with_run_context<F, Fut, R>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Arc<M>, Arc<C>, RunContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoTaskResult,
    {
        let func: AddedFn<M, C> = Box::new(move |manager, ctx, run| {
            let fut = f(manager, ctx, run);
            TaskCall::Async(Box::pin(async move {
                fut.await.into_task_result().map_err(TaskFailure::Error)
            }))
        });
        Self::with_fn(name.into(), func)
    }

    fn with_fn(name: String, func: AddedFn<M, C>) -> Self {
        PeriodicTask {
            name,
            spacing: Spacing::Default,
            run_immediately: false,
            enabled: true,
            external_process_ok: false,
            fleet: None,
            timeout: None,
            overrun: Overrun::RunOnce,
            calendar: None,
            func,
        }
    }
}

impl<M, C> PeriodicTask<M, C> {
    /// The time between runs: a [`Spacing`], or a [`Duration`](std::time::Duration)
    /// (which converts into [`Spacing::Every`]). A [`Spacing::Disabled`] task is kept for
    /// introspection but never runs. A number of seconds with oslo's meaning converts with
    /// [`Spacing::from_secs_f64`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::{PeriodicTask, Spacing};
    ///
    /// # struct Manager;
    /// let every_minute = PeriodicTask::<Manager>::new("a", |_m: Arc<Manager>, _c: Arc<()>| async {})
    ///     .spacing(Duration::from_secs(60));
    /// let from_config = PeriodicTask::<Manager>::new("b", |_m: Arc<Manager>, _c: Arc<()>| async {})
    ///     .spacing(Spacing::from_secs_f64(-1.0)?); // oslo's "disabled"
    /// # let _ = (every_minute, from_config); Ok::<(), periodic::Error>(())
    /// ```
    #[must_use]
    pub fn spacing(mut self, spacing: impl Into<Spacing>) -> Self {
        self.spacing = spacing.into();
        self
    }

    /// Run on the first pass instead of one spacing after the task is added.
    #[must_use]
    pub fn run_immediately(mut self, yes: bool) -> Self {
        self.run_immediately = yes;
        self
    }

    /// A disabled task is listed but never runs.
    #[must_use]
    pub fn enabled(mut self, yes: bool) -> Self {
        self.enabled = yes;
        self
    }

    /// Marks a task that may run in another process; it is skipped when the runner is built
    /// with `run_external_periodic_tasks(false)`.
    #[must_use]
    pub fn external_process_ok(mut self, yes: bool) -> Self {
        self.external_process_ok = yes;
        self
    }

    /// Makes the task a fleet task: it runs once per slot across the replicas of
    /// `fleet` that share the runner's [task ledger](crate::RunnerOptions::task_ledger)
    /// (the runtime form of `#[periodic_task(fleet)]`).
    #[must_use]
    pub fn fleet(mut self, fleet: Fleet) -> Self {
        self.fleet = Some(fleet);
        self
    }

    /// The longest a run may take (the runtime form of `#[periodic_task(timeout = 30)]`;
    /// default: no limit). An async run still going at the timeout is cancelled (dropped
    /// at its next `.await`), logged as failed and counted as
    /// [`RunOutcome::TimedOut`](crate::RunOutcome::TimedOut) (in `/metrics`:
    /// `periodic_task_timeouts`). A blocking
    /// run cannot be cancelled: at the timeout a warning says it is overrunning, it runs
    /// to its end, and its [`TaskRun::overran`](crate::TaskRun::overran) is set
    /// (`periodic_task_overruns`). A zero timeout is refused when the task is added.
    ///
    /// ```text
    /// spacing 10 s, timeout 3 s, a run that would take 5 s
    /// t (s)     0        3         10       13
    /// async     |═══════x|          |═══════x|       cancelled at 3 s: TimedOut
    /// blocking  |═══════!════|      |═══════!════|   warned at 3 s, ends at 5 s: overran
    /// ```
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::PeriodicTask;
    ///
    /// # struct Manager;
    /// let task = PeriodicTask::<Manager>::new("sync_power_states", |_m: Arc<Manager>, _c: Arc<()>| async {})
    ///     .spacing(Duration::from_secs(600))
    ///     .timeout(Duration::from_secs(120));
    /// # let _ = task;
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What follows a run that outlasts the spacing (the runtime form of
    /// `#[periodic_task(overrun = skip)]`, `run_once` or `catch_up(N)`); default
    /// [`Overrun::RunOnce`], oslo's. See [`Overrun`] for the timelines.
    #[must_use]
    pub fn overrun(mut self, overrun: Overrun) -> Self {
        self.overrun = overrun;
        self
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(feature = "cron")]
#[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
impl<M, C> PeriodicTask<M, C> {
    /// Runs the task at the occurrences of a cron expression, evaluated in UTC (see
    /// [`cron_tz`](Self::cron_tz)), instead of every spacing: the runtime form of
    /// `#[periodic_task(cron = "0 */10 * * * *")]`. 5 fields (at second 0), 6 (seconds
    /// first) or an alias such as `@hourly`; see [`CronSchedule`](crate::CronSchedule).
    ///
    /// The occurrences are read on the runner's
    /// [`wall_clock`](crate::RunnerOptions::wall_clock). With `run_immediately` the task
    /// runs once when it is added, then at each occurrence; the jitter does not apply;
    /// [`timeout`](Self::timeout) and [`overrun`](Self::overrun) do (a missed occurrence
    /// counts as an overrun: see [`Overrun`]). A fleet task cannot have a cron schedule
    /// yet (adding one is an [`ErrorKind::Config`](crate::ErrorKind::Config) error).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) with the parser's reason for an
    /// invalid expression.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use periodic::PeriodicTask;
    ///
    /// # struct Manager;
    /// let task = PeriodicTask::<Manager>::new("purge", |_m: Arc<Manager>, _c: Arc<()>| async {})
    ///     .cron("0 30 2 * * *")? // 02:30:00 every day
    ///     .cron_tz("Europe/Paris")?;
    /// assert!(PeriodicTask::<Manager>::new("bad", |_m: Arc<Manager>, _c: Arc<()>| async {})
    ///     .cron("every day")
    ///     .is_err());
    /// # let _ = task; Ok::<(), periodic::Error>(())
    /// ```
    pub fn cron(self, expression: &str) -> crate::Result<Self> {
        Ok(self.cron_schedule(super::cron::CronSchedule::parse(expression)?))
    }

    /// Evaluates the task's cron expression in the time zone of IANA name `zone`
    /// (`Europe/Paris`) rather than UTC; the runtime form of `tz = "Europe/Paris"`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a zone the IANA database does
    /// not know, or when the task has no cron expression (call [`cron`](Self::cron)
    /// first).
    pub fn cron_tz(mut self, zone: &str) -> crate::Result<Self> {
        let Some(calendar) = &self.calendar else {
            return Err(crate::Error::new(
                crate::ErrorKind::Config,
                format!(
                    "periodic task {}: a time zone needs a cron expression first: \
                     `.cron(\"0 0 3 * * *\")?.cron_tz({zone:?})?`",
                    self.name
                ),
            ));
        };
        let zoned = super::cron::CronSchedule::parse(calendar.expression())?.in_time_zone(zone)?;
        self.calendar = Some(Arc::new(zoned));
        Ok(self)
    }

    /// Runs the task at the occurrences of `schedule` instead of every spacing (as
    /// [`cron`](Self::cron) and [`cron_tz`](Self::cron_tz) do, with a schedule parsed
    /// already).
    #[must_use]
    pub fn cron_schedule(mut self, schedule: super::cron::CronSchedule) -> Self {
        self.calendar = Some(Arc::new(schedule));
        self
    }
}

impl<M, C> fmt::Debug for PeriodicTask<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicTask")
            .field("name", &self.name)
            .field("spacing", &self.spacing)
            .field("run_immediately", &self.run_immediately)
            .field("enabled", &self.enabled)
            .field("external_process_ok", &self.external_process_ok)
            .field("fleet", &self.fleet)
            .field("timeout", &self.timeout)
            .field("overrun", &self.overrun)
            .field("cron", &self.calendar)
            .finish_non_exhaustive()
    }
}
