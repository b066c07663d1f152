//! `RunnerOptions`: every option of a runner, in one place. The runner's builder holds
//! one, a service builder forwards one, a `Config` produces one, so a new option is one
//! field and one setter here.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::info::TaskRun;
use super::ledger::{TaskLedger, TaskScope};
use super::policy::{Concurrency, ErrorPolicy, IdlePolicy};
use super::schedule::Jitter;
use super::spacing::Spacing;
use crate::clock::WallClock;

/// An observer of finished runs.
pub(crate) type Observer = Arc<dyn Fn(&TaskRun) + Send + Sync>;

/// A replacement for the jitter's random source. Shared, so that options stay `Clone`.
pub(crate) type JitterSource = Arc<Mutex<dyn FnMut() -> f64 + Send>>;

/// The options of a [`PeriodicRunner`](crate::PeriodicRunner), with oslo's names and
/// defaults.
///
/// One value carries them everywhere a runner is configured:
///
/// * [`PeriodicRunnerBuilder::options`](crate::PeriodicRunnerBuilder::options) builds a
///   runner with them (the builder's own setters, such as
///   [`idle_policy`](crate::PeriodicRunnerBuilder::idle_policy), set the same fields);
/// * [`ServiceBuilder::runner_options`](crate::ServiceBuilder::runner_options) hands them
///   to the runner of a [`Service`](crate::Service);
/// * [`Config::runner_options`](crate::Config::runner_options) and
///   [`Config::apply_to_runner`](crate::Config::apply_to_runner) make them from a
///   configuration file (`run_external_periodic_tasks` and `[periodic_task_spacing]`).
///
/// | option | oslo.service / nova | default |
/// |---|---|---|
/// | [`idle_policy`](Self::idle_policy) | `idle_for` | [`IdlePolicy::Precise`] |
/// | [`error_policy`](Self::error_policy) | `raise_on_error` | [`ErrorPolicy::Log`] |
/// | [`concurrency`](Self::concurrency) | `run_periodic_tasks_in_parallel` | [`Concurrency::Sequential`] |
/// | [`jitter`](Self::jitter) | `_nearest_boundary`'s jitter | [`Jitter::Oslo`] |
/// | [`seed`](Self::seed), [`jitter_source`](Self::jitter_source) | `random.random` | the operating system's randomness |
/// | [`run_external_periodic_tasks`](Self::run_external_periodic_tasks) | `run_external_periodic_tasks` | `true` |
/// | [`spacing_override`](Self::spacing_override) | nova's `*_interval` options | none (the declared spacings) |
/// | [`on_task_run`](Self::on_task_run) | (none) | no observer |
/// | [`task_ledger`](Self::task_ledger) | (none) | none: no fleet tasks, nothing recorded |
/// | [`ledger_scope`](Self::ledger_scope) | (none) | none: plain runs are not recorded |
/// | [`default_fleet`](Self::default_fleet) | (none) | the manager type's name (a service: its binary) |
/// | [`fleet_holder`](Self::fleet_holder) | (none) | `host:pid` (a service: `host:pid:service_id`) |
/// | [`fleet_lease`](Self::fleet_lease) | (none) | spacing / 2, within 100 ms ..= 30 s |
/// | [`wall_clock`](Self::wall_clock) | (none) | the system clock: where cron tasks' occurrences fall |
///
/// ```
/// use std::time::Duration;
/// use periodic::{IdlePolicy, Jitter, PeriodicRunner, RunnerOptions, Spacing, periodic_tasks};
///
/// struct Manager;
///
/// #[periodic_tasks]
/// impl Manager {
///     #[periodic_task(spacing = 10)]
///     async fn audit(&self) {}
/// }
///
/// let options = RunnerOptions::new()
///     .idle_policy(IdlePolicy::Oslo)
///     .jitter(Jitter::None)
///     .spacing_override("audit", Duration::from_secs(300));
/// let runner = PeriodicRunner::<Manager>::builder(Manager).options(options).build()?;
/// assert_eq!(runner.task("audit").unwrap().spacing, Spacing::Every(Duration::from_secs(300)));
/// # Ok::<(), periodic::Error>(())
/// ```
#[derive(Clone)]
pub struct RunnerOptions {
    pub(crate) idle_policy: IdlePolicy,
    pub(crate) error_policy: ErrorPolicy,
    pub(crate) concurrency: Concurrency,
    pub(crate) jitter: Jitter,
    pub(crate) seed: Option<u64>,
    pub(crate) jitter_source: Option<JitterSource>,
    pub(crate) run_external_periodic_tasks: bool,
    pub(crate) spacing_overrides: Vec<(String, Spacing)>,
    pub(crate) observers: Vec<Observer>,
    pub(crate) task_ledger: Option<Arc<dyn TaskLedger>>,
    pub(crate) ledger_scope: Option<TaskScope>,
    pub(crate) default_fleet: Option<String>,
    pub(crate) fleet_holder: Option<String>,
    pub(crate) fleet_lease: Option<Duration>,
    pub(crate) wall_clock: WallClock,
}

impl RunnerOptions {
    /// oslo's defaults (see the table above).
    pub fn new() -> Self {
        RunnerOptions {
            idle_policy: IdlePolicy::default(),
            error_policy: ErrorPolicy::default(),
            concurrency: Concurrency::default(),
            jitter: Jitter::default(),
            seed: None,
            jitter_source: None,
            run_external_periodic_tasks: true,
            spacing_overrides: Vec::new(),
            observers: Vec::new(),
            task_ledger: None,
            ledger_scope: None,
            default_fleet: None,
            fleet_holder: None,
            fleet_lease: None,
            wall_clock: WallClock::system(),
        }
    }

    /// How long a pass tells its caller to idle (default [`IdlePolicy::Precise`]).
    #[must_use]
    pub fn idle_policy(mut self, policy: IdlePolicy) -> Self {
        self.idle_policy = policy;
        self
    }

    /// What a failing task does to its pass (default [`ErrorPolicy::Log`]; oslo's
    /// `raise_on_error`).
    #[doc(alias = "raise_on_error")]
    #[must_use]
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// Sequential (default) or concurrent passes.
    #[must_use]
    pub fn concurrency(mut self, concurrency: Concurrency) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// oslo's 0-5 % jitter (default) or none.
    #[must_use]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Seeds the jitter's random source, for reproducible schedules. Unseeded runners draw
    /// their seed from the operating system. A [`Service`](crate::Service) also seeds its
    /// random `periodic_fuzzy_delay` with it.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Replaces the random source of the jitter with `draw`, which must return values in
    /// `[0, 1)` (values outside are clamped, non-finite ones count as 0). oslo's tests
    /// patch `random.random` the same way; use it to reproduce a schedule with known
    /// draws. It takes precedence over [`seed`](Self::seed). Runners built from clones of
    /// these options share `draw`.
    ///
    /// ```
    /// # use periodic::{Jitter, PeriodicRunner, RunnerOptions};
    /// # struct Manager;
    /// let options = RunnerOptions::new()
    ///     .jitter(Jitter::Oslo)
    ///     .jitter_source(|| 0.5); // spacing 200 gets int(200 * 0.5 / 20) = 5 s
    /// let runner = PeriodicRunner::<Manager>::builder(Manager).options(options).build()?;
    /// # let _ = runner; Ok::<(), periodic::Error>(())
    /// ```
    #[must_use]
    pub fn jitter_source(mut self, draw: impl FnMut() -> f64 + Send + 'static) -> Self {
        self.jitter_source = Some(Arc::new(Mutex::new(draw)));
        self
    }

    /// oslo's `run_external_periodic_tasks` (default `true`). When `false`, tasks marked
    /// `external_process_ok` never run here and do not count towards the idle time.
    #[must_use]
    pub fn run_external_periodic_tasks(mut self, yes: bool) -> Self {
        self.run_external_periodic_tasks = yes;
        self
    }

    /// Overrides the spacing of the task called `name`: what nova does with its
    /// `*_interval` options. A later override of the same task wins. Building a runner
    /// fails with [`ErrorKind::Config`](crate::ErrorKind::Config) when `name` is not one
    /// of its tasks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::{RunnerOptions, Spacing};
    ///
    /// // From code, and from a number of seconds with oslo's meaning (here: disabled).
    /// let options = RunnerOptions::new()
    ///     .spacing_override("_sync_power_states", Duration::from_secs(600))
    ///     .spacing_override("_heal_instance_info_cache", Spacing::from_secs_f64(-1.0)?);
    /// # let _ = options; Ok::<(), periodic::Error>(())
    /// ```
    #[must_use]
    pub fn spacing_override(
        mut self,
        name: impl Into<String>,
        spacing: impl Into<Spacing>,
    ) -> Self {
        self.spacing_overrides.push((name.into(), spacing.into()));
        self
    }

    /// Adds `observer`, called after every finished run (successful or not), outside any
    /// lock, after the observers added before it.
    #[must_use]
    pub fn on_task_run(mut self, observer: impl Fn(&TaskRun) + Send + Sync + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }
}

impl RunnerOptions {
    /// The task ledger: where fleet tasks claim their slots and where runs are recorded
    /// (a [`Service`](crate::Service) sets its group's). A runner with a fleet task and no
    /// ledger cannot be built. A runner with a ledger follows the operator's controls
    /// kept there ([`TaskControl`](crate::TaskControl): pause, resume, run now; see
    /// [`PeriodicRunner::run_periodic_tasks`](crate::PeriodicRunner::run_periodic_tasks)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use periodic::{MemoryLedger, RunnerOptions};
    ///
    /// let options = RunnerOptions::new().task_ledger(Arc::new(MemoryLedger::new()));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn task_ledger(mut self, ledger: Arc<dyn TaskLedger>) -> Self {
        self.task_ledger = Some(ledger);
        self
    }

    /// The scope under which plain tasks' runs are recorded in the ledger, and from which
    /// a restarted runner resumes their schedule (a service: `service/<host>/<binary>`).
    /// Without it plain runs are not recorded.
    #[must_use]
    pub fn ledger_scope(mut self, scope: TaskScope) -> Self {
        self.ledger_scope = Some(scope);
        self
    }

    /// The fleet of tasks declared with a bare `fleet` ([`Fleet::Default`](crate::Fleet::Default)):
    /// a service sets its binary. Default: the manager type's name.
    #[must_use]
    pub fn default_fleet(mut self, name: impl Into<String>) -> Self {
        self.default_fleet = Some(name.into());
        self
    }

    /// Who this runner is in the ledger's `holder` column. Default `host:pid`; a service
    /// sets `host:pid:service_id`.
    #[must_use]
    pub fn fleet_holder(mut self, holder: impl Into<String>) -> Self {
        self.fleet_holder = Some(holder.into());
        self
    }

    /// How long a fleet claim holds without renewal; the runner renews it every third of
    /// it while the task runs. Default: half the task's spacing, at least 100 ms and at
    /// most 30 s.
    #[must_use]
    pub fn fleet_lease(mut self, lease: Duration) -> Self {
        self.fleet_lease = Some(lease);
        self
    }

    /// The wall clock a runner reads to place the occurrences of its cron tasks
    /// (`#[periodic_task(cron = "...")]`, feature `cron`) on tokio's clock; default the
    /// system clock. Tasks with a spacing never read it.
    ///
    /// The next occurrence is placed when a run starts (or the task is added), by its
    /// distance from the wall clock's "now": a step of the system clock (NTP, a manual
    /// change) moves the occurrences placed after it. A test with tokio's paused clock
    /// injects a clock that advances with it:
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use periodic::{RunnerOptions, WallClock};
    ///
    /// let start = tokio::time::Instant::now();
    /// let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    /// let options = RunnerOptions::new()
    ///     .wall_clock(WallClock::from_fn(move || base + start.elapsed()));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn wall_clock(mut self, clock: WallClock) -> Self {
        self.wall_clock = clock;
        self
    }
}

impl Default for RunnerOptions {
    /// [`RunnerOptions::new`].
    fn default() -> Self {
        RunnerOptions::new()
    }
}

impl fmt::Debug for RunnerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerOptions")
            .field("idle_policy", &self.idle_policy)
            .field("error_policy", &self.error_policy)
            .field("concurrency", &self.concurrency)
            .field("jitter", &self.jitter)
            .field("seed", &self.seed)
            .field("jitter_source", &self.jitter_source.as_ref().map(|_| ".."))
            .field(
                "run_external_periodic_tasks",
                &self.run_external_periodic_tasks,
            )
            .field("spacing_overrides", &self.spacing_overrides)
            .field("observers", &self.observers.len())
            .field("task_ledger", &self.task_ledger.as_ref().map(|_| ".."))
            .field("ledger_scope", &self.ledger_scope)
            .field("default_fleet", &self.default_fleet)
            .field("fleet_holder", &self.fleet_holder)
            .field("fleet_lease", &self.fleet_lease)
            .field("wall_clock", &self.wall_clock)
            .finish()
    }
}
