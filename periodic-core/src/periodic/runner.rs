//! `run_periodic_tasks`: one pass over a manager's periodic tasks.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::time::Instant;

use super::mintree::{MinTree, NEVER};
use super::registry::{TaskDescriptor, descriptors_for};
use super::schedule::{DEFAULT_INTERVAL, Jitter, jitter_for, nearest_boundary};
use super::task::{AddedFn, PeriodicTask, TaskCall, TaskFailure, TaskResult};
use crate::error::{Error, ErrorKind, Result};

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
    /// [`DEFAULT_INTERVAL`]. Driven by a loop that sleeps what it is told, no task sleeps
    /// past its grid point.
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
    /// Stop the pass and return the failure as an [`ErrorKind::Task`] error; the tasks after
    /// it in this pass are not run (oslo's `raise_on_error=True`). In a concurrent pass all
    /// started tasks finish first and the first failure is returned.
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
}

/// One finished run, handed to the observer set with
/// [`PeriodicRunnerBuilder::on_task_run`] (for metrics, traces, simulations).
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
}

impl TaskRun {
    /// How late the run started against its due time.
    pub fn lateness(&self) -> Duration {
        self.started.saturating_duration_since(self.due)
    }
}

/// A snapshot of one task's schedule and counters, from [`PeriodicRunner::tasks`].
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
    /// Spacing in effect (the declared one, or the default for spacing 0); for a task
    /// disabled by a negative spacing, the default.
    pub spacing: Duration,
    /// The spacing in seconds as declared or overridden (0: default; negative: disabled).
    pub configured_spacing: f64,
    /// Whether the task runs in this runner: declared enabled, spacing not negative, and
    /// not an `external_process_ok` task of a runner that skips those.
    pub enabled: bool,
    /// `run_immediately`.
    pub run_immediately: bool,
    /// `external_process_ok`.
    pub external_process_ok: bool,
    /// The last run's grid-aligned time (oslo's `_periodic_last_run`), or `None` before the
    /// first run of a `run_immediately` task.
    pub last_run: Option<Instant>,
    /// When the task is next due; `None` when it does not run.
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
}

type Observer = Arc<dyn Fn(&TaskRun) + Send + Sync>;
type ErasedFn = fn(Arc<dyn Any + Send + Sync>, Arc<dyn Any + Send + Sync>) -> TaskCall;

enum TaskFn<M, C> {
    Registered(ErasedFn),
    Added(AddedFn<M, C>),
}

#[derive(Default)]
struct Stats {
    runs: u64,
    failures: u64,
    last_duration: Option<Duration>,
    last_lateness: Option<Duration>,
}

#[allow(
    clippy::struct_excessive_bools,
    reason = "oslo's task flags, one field each"
)]
struct Slot<M, C> {
    name: Arc<str>,
    full_name: Arc<str>,
    configured: f64,
    spacing: Duration,
    declared_enabled: bool,
    runnable: bool,
    run_immediately: bool,
    external_process_ok: bool,
    last_run: Option<Instant>,
    due: Instant,
    func: TaskFn<M, C>,
    stats: Stats,
    in_flight: Arc<AtomicBool>,
}

struct State<M, C> {
    origin: Instant,
    slots: Vec<Slot<M, C>>,
    by_name: HashMap<Arc<str>, usize>,
    due: MinTree,
    min_spacing: Option<Duration>,
    uniform: Uniform,
}

/// The source of the uniform draws in `[0, 1)` behind oslo's jitter.
enum Uniform {
    Rng(Box<StdRng>),
    Custom(Box<dyn FnMut() -> f64 + Send>),
}

impl Uniform {
    fn draw(&mut self) -> f64 {
        match self {
            Uniform::Rng(rng) => rng.random::<f64>(),
            Uniform::Custom(f) => {
                let u = f();
                if u.is_finite() {
                    u.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            }
        }
    }
}

struct Settings {
    idle_policy: IdlePolicy,
    error_policy: ErrorPolicy,
    concurrency: Concurrency,
    jitter: Jitter,
    run_external: bool,
}

struct Inner<M, C> {
    manager: Arc<M>,
    manager_any: Arc<dyn Any + Send + Sync>,
    owner_name: Arc<str>,
    settings: Settings,
    observer: Option<Observer>,
    pass: tokio::sync::Mutex<()>,
    state: Mutex<State<M, C>>,
}

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
/// # Differences from oslo.service
///
/// - A task added with `add_periodic_task` belongs to this runner only (oslo adds it to the
///   class, which breaks instances created earlier, case 5.1-24).
/// - A task that is not `run_immediately` is first due one spacing after the runner was
///   built (oslo: after the class was defined, usually import time).
/// - Two tasks with the same name are an error, not a silent collision (case 5.1-23).
/// - Disabled tasks are kept (not run) so that introspection lists them.
/// - The default idle policy is [`IdlePolicy::Precise`]; [`IdlePolicy::Oslo`] is exact.
pub struct PeriodicRunner<M, C = ()> {
    inner: Arc<Inner<M, C>>,
}

impl<M, C> Clone for PeriodicRunner<M, C> {
    fn clone(&self) -> Self {
        PeriodicRunner {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M, C> fmt::Debug for PeriodicRunner<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicRunner")
            .field("manager", &self.inner.owner_name)
            .field("idle_policy", &self.inner.settings.idle_policy)
            .field("error_policy", &self.inner.settings.error_policy)
            .field("concurrency", &self.inner.settings.concurrency)
            .finish_non_exhaustive()
    }
}

/// Builds a [`PeriodicRunner`]; see [`PeriodicRunner::builder`].
pub struct PeriodicRunnerBuilder<M, C = ()> {
    manager: Arc<M>,
    settings: Settings,
    seed: Option<u64>,
    uniform: Option<Box<dyn FnMut() -> f64 + Send>>,
    overrides: Vec<(String, f64)>,
    observer: Option<Observer>,
    _context: std::marker::PhantomData<fn(C)>,
}

impl<M, C> fmt::Debug for PeriodicRunnerBuilder<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicRunnerBuilder")
            .field("idle_policy", &self.settings.idle_policy)
            .field("seed", &self.seed)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl<M, C> PeriodicRunnerBuilder<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// How long a pass tells its caller to idle (default [`IdlePolicy::Precise`]).
    #[must_use]
    pub fn idle_policy(mut self, policy: IdlePolicy) -> Self {
        self.settings.idle_policy = policy;
        self
    }

    /// What a failing task does to its pass (default [`ErrorPolicy::Log`]).
    #[must_use]
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.settings.error_policy = policy;
        self
    }

    /// Sequential (default) or concurrent passes.
    #[must_use]
    pub fn concurrency(mut self, concurrency: Concurrency) -> Self {
        self.settings.concurrency = concurrency;
        self
    }

    /// oslo's 0-5 % jitter (default) or none.
    #[must_use]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.settings.jitter = jitter;
        self
    }

    /// Seeds the jitter's random source, for reproducible schedules. Unseeded runners draw
    /// their seed from the operating system.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Replaces the random source of the jitter with `draw`, which must return values in
    /// `[0, 1)` (values outside are clamped). oslo's tests patch `random.random` the same
    /// way; use it to reproduce a schedule with known draws.
    ///
    /// ```
    /// # use periodic::{PeriodicRunner, Jitter};
    /// # struct Manager;
    /// let runner = PeriodicRunner::<Manager>::builder(Manager)
    ///     .jitter(Jitter::Oslo)
    ///     .jitter_source(|| 0.5) // spacing 200 gets int(200 * 0.5 / 20) = 5 s
    ///     .build()?;
    /// # let _ = runner; Ok::<(), periodic::Error>(())
    /// ```
    #[must_use]
    pub fn jitter_source(mut self, draw: impl FnMut() -> f64 + Send + 'static) -> Self {
        self.uniform = Some(Box::new(draw));
        self
    }

    /// oslo's `run_external_periodic_tasks` (default `true`). When `false`, tasks marked
    /// `external_process_ok` never run here and do not count towards the idle time.
    #[must_use]
    pub fn run_external_periodic_tasks(mut self, yes: bool) -> Self {
        self.settings.run_external = yes;
        self
    }

    /// Overrides the spacing of the task called `name`, in seconds with oslo's meaning:
    /// 0 is the default interval, a negative value disables the task. This is how nova
    /// takes spacings from configuration.
    #[must_use]
    pub fn spacing_override(mut self, name: impl Into<String>, spacing: f64) -> Self {
        self.overrides.push((name.into(), spacing));
        self
    }

    /// Calls `observer` after every finished run (successful or not), outside any lock.
    #[must_use]
    pub fn on_task_run(mut self, observer: impl Fn(&TaskRun) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Builds the runner from the tasks registered for `M`.
    ///
    /// Disabled tasks (`enabled = false`, negative spacing) are logged at info as oslo
    /// does ("Skipping periodic task X because it is disabled") and kept, not run.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DuplicateTask`] when two registered tasks of `M` share a name (they
    ///   can sit in different impl blocks, which the macro cannot see together);
    /// - [`ErrorKind::ContextMismatch`] when a registered task takes a context type other
    ///   than `C`;
    /// - [`ErrorKind::Config`] when a spacing override names no task or is not a finite
    ///   number.
    pub fn build(self) -> Result<PeriodicRunner<M, C>> {
        let owner_name: Arc<str> = short_type_name(std::any::type_name::<M>()).into();
        let origin = Instant::now();
        let uniform = match (self.uniform, self.seed) {
            (Some(draw), _) => Uniform::Custom(draw),
            (None, Some(seed)) => Uniform::Rng(Box::new(StdRng::seed_from_u64(seed))),
            (None, None) => Uniform::Rng(Box::new(StdRng::from_os_rng())),
        };
        let mut state = State {
            origin,
            slots: Vec::new(),
            by_name: HashMap::new(),
            due: MinTree::new(),
            min_spacing: None,
            uniform,
        };
        for desc in descriptors_for(TypeId::of::<M>()) {
            check_context::<C>(desc, &owner_name)?;
            let spec = SlotSpec {
                name: desc.name.into(),
                spacing: desc.spacing,
                run_immediately: desc.run_immediately,
                enabled: desc.enabled,
                external_process_ok: desc.external_process_ok,
                func: TaskFn::Registered(desc.call),
            };
            state.push(spec, &owner_name, &self.settings, origin)?;
        }
        for (name, spacing) in &self.overrides {
            state.set_spacing(name, *spacing, &owner_name, &self.settings, origin)?;
        }
        let manager_any: Arc<dyn Any + Send + Sync> = self.manager.clone();
        Ok(PeriodicRunner {
            inner: Arc::new(Inner {
                manager: self.manager,
                manager_any,
                owner_name,
                settings: self.settings,
                observer: self.observer,
                pass: tokio::sync::Mutex::new(()),
                state: Mutex::new(state),
            }),
        })
    }
}

fn check_context<C: 'static>(desc: &TaskDescriptor, owner: &str) -> Result<()> {
    if let Some(context) = desc.context
        && context() != TypeId::of::<C>()
    {
        return Err(Error::new(
            ErrorKind::ContextMismatch,
            format!(
                "periodic task {owner}.{} takes a context of type `{}`, but the runner's context type is `{}`",
                desc.name,
                desc.context_name,
                std::any::type_name::<C>()
            ),
        ));
    }
    Ok(())
}

/// The last path segment of a type name, without generic arguments:
/// `my_crate::compute::ComputeManager<T>` becomes `ComputeManager`.
fn short_type_name(full: &str) -> &str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

struct SlotSpec<M, C> {
    name: Arc<str>,
    spacing: f64,
    run_immediately: bool,
    enabled: bool,
    external_process_ok: bool,
    func: TaskFn<M, C>,
}

/// The effective spacing for a declared one: `None` when negative (disabled).
fn effective_spacing(name: &str, spacing: f64) -> Result<Option<Duration>> {
    if !spacing.is_finite() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "spacing of periodic task {name} must be a finite number of seconds, got {spacing}"
            ),
        ));
    }
    if spacing < 0.0 {
        return Ok(None);
    }
    if spacing == 0.0 {
        return Ok(Some(DEFAULT_INTERVAL));
    }
    let d = Duration::try_from_secs_f64(spacing).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("spacing of periodic task {name} is out of range: {spacing}"),
        )
        .with_source(e)
    })?;
    if d.is_zero() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("spacing of periodic task {name} is shorter than a nanosecond: {spacing}"),
        ));
    }
    Ok(Some(d))
}

impl<M, C> State<M, C> {
    fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.origin).as_nanos()).unwrap_or(NEVER - 1)
    }

    fn push(
        &mut self,
        spec: SlotSpec<M, C>,
        owner: &str,
        settings: &Settings,
        now: Instant,
    ) -> Result<bool> {
        if self.by_name.contains_key(&spec.name) {
            return Err(Error::new(
                ErrorKind::DuplicateTask,
                format!(
                    "two periodic tasks of {owner} are named `{}`; give one of them another `name`",
                    spec.name
                ),
            ));
        }
        let spacing = effective_spacing(&spec.name, spec.spacing)?;
        if spacing.is_none() {
            tracing::info!(task = %spec.name, "Skipping periodic task {} because its interval is negative", spec.name);
        } else if !spec.enabled {
            tracing::info!(task = %spec.name, "Skipping periodic task {} because it is disabled", spec.name);
        }
        let runnable = spec.enabled
            && spacing.is_some()
            && (settings.run_external || !spec.external_process_ok);
        let spacing = spacing.unwrap_or(DEFAULT_INTERVAL);
        let last_run = if spec.run_immediately {
            None
        } else {
            Some(now)
        };
        let due = last_run.map_or(now, |t| t + spacing);
        let full_name: Arc<str> = format!("{owner}.{}", spec.name).into();
        let index = self.slots.len();
        self.slots.push(Slot {
            name: Arc::clone(&spec.name),
            full_name,
            configured: spec.spacing,
            spacing,
            declared_enabled: spec.enabled,
            runnable,
            run_immediately: spec.run_immediately,
            external_process_ok: spec.external_process_ok,
            last_run,
            due,
            func: spec.func,
            stats: Stats::default(),
            in_flight: Arc::new(AtomicBool::new(false)),
        });
        self.by_name.insert(spec.name, index);
        let value = if runnable { self.ns(due) } else { NEVER };
        self.due.push(value);
        if runnable {
            self.min_spacing = Some(self.min_spacing.map_or(spacing, |m| m.min(spacing)));
        }
        Ok(runnable)
    }

    fn set_spacing(
        &mut self,
        name: &str,
        configured: f64,
        owner: &str,
        settings: &Settings,
        now: Instant,
    ) -> Result<()> {
        let Some(&index) = self.by_name.get(name) else {
            let mut known: Vec<&str> = self.slots.iter().map(|s| &*s.name).collect();
            known.sort_unstable();
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "spacing override for `{name}`: {owner} has no periodic task of that name (its tasks: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let spacing = effective_spacing(name, configured)?;
        let slot = &mut self.slots[index];
        slot.configured = configured;
        slot.spacing = spacing.unwrap_or(DEFAULT_INTERVAL);
        slot.runnable = slot.declared_enabled
            && spacing.is_some()
            && (settings.run_external || !slot.external_process_ok);
        if spacing.is_none() {
            tracing::info!(task = %name, "Skipping periodic task {name} because its interval is negative");
        }
        // A task that has not run yet keeps its anchor (creation time or "immediately").
        let anchor_due = match slot.last_run {
            Some(last) => last + slot.spacing,
            None => slot.due.min(now),
        };
        slot.due = anchor_due;
        let value = if slot.runnable {
            self.ns(anchor_due)
        } else {
            NEVER
        };
        self.due.set(index, value);
        self.min_spacing = self
            .slots
            .iter()
            .filter(|s| s.runnable)
            .map(|s| s.spacing)
            .min();
        Ok(())
    }

    fn info(slot: &Slot<M, C>) -> TaskInfo {
        TaskInfo {
            name: slot.name.to_string(),
            full_name: slot.full_name.to_string(),
            spacing: slot.spacing,
            configured_spacing: slot.configured,
            enabled: slot.runnable,
            run_immediately: slot.run_immediately,
            external_process_ok: slot.external_process_ok,
            last_run: slot.last_run,
            next_due: slot.runnable.then_some(slot.due),
            runs: slot.stats.runs,
            failures: slot.stats.failures,
            last_duration: slot.stats.last_duration,
            last_lateness: slot.stats.last_lateness,
            running: slot.in_flight.load(Ordering::Acquire),
        }
    }
}

/// Clears a task's in-flight flag when the run ends, however it ends (also when a pass is
/// cancelled and the run's future dropped).
struct InFlight(Arc<AtomicBool>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A task launched by a pass, with what the pass needs to account for it.
struct Launched {
    index: usize,
    name: Arc<str>,
    full_name: Arc<str>,
    due: Instant,
    call: TaskCall,
    guard: InFlight,
}

struct Finished {
    index: usize,
    name: Arc<str>,
    full_name: Arc<str>,
    due: Instant,
    started: Instant,
    duration: Duration,
    result: TaskResult,
}

impl<M, C> PeriodicRunner<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// A builder for a runner of `manager`'s tasks.
    pub fn builder(manager: impl Into<Arc<M>>) -> PeriodicRunnerBuilder<M, C> {
        PeriodicRunnerBuilder {
            manager: manager.into(),
            settings: Settings {
                idle_policy: IdlePolicy::default(),
                error_policy: ErrorPolicy::default(),
                concurrency: Concurrency::default(),
                jitter: Jitter::default(),
                run_external: true,
            },
            seed: None,
            uniform: None,
            overrides: Vec::new(),
            observer: None,
            _context: std::marker::PhantomData,
        }
    }

    /// A runner with the default settings; see [`PeriodicRunnerBuilder::build`] for the
    /// errors.
    pub fn new(manager: impl Into<Arc<M>>) -> Result<Self> {
        Self::builder(manager).build()
    }

    /// The manager whose tasks this runner runs.
    pub fn manager(&self) -> &Arc<M> {
        &self.inner.manager
    }

    fn state(&self) -> MutexGuard<'_, State<M, C>> {
        // A panic while the lock is held can only come from this module's own code, which
        // leaves the state consistent between statements; keep going with it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a task to this runner (oslo's `add_periodic_task`). A task that is not
    /// `run_immediately` is first due one spacing from now.
    ///
    /// Returns `Ok(false)` when the task is disabled (negative spacing or
    /// `enabled(false)`): it is logged and listed, as oslo's return value says, but not run.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DuplicateTask`] if the runner already has a task of that name;
    /// [`ErrorKind::Config`] for a spacing that is not a finite number.
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
            func: TaskFn::Added(task.func),
        };
        let owner = Arc::clone(&self.inner.owner_name);
        self.state().push(spec, &owner, &self.inner.settings, now)
    }

    /// Changes the spacing of task `name` at run time, in seconds with oslo's meaning (0:
    /// default interval, negative: disable). The next due time is the last run plus the new
    /// spacing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when there is no such task or the value is not finite.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use periodic::{PeriodicRunner, PeriodicTask};
    ///
    /// # struct Manager;
    /// let runner = PeriodicRunner::<Manager>::new(Manager)?;
    /// runner.add_periodic_task(PeriodicTask::new("audit", |_m: Arc<Manager>, _c: Arc<()>| async {}))?;
    /// runner.set_spacing("audit", 300.0)?;
    /// assert_eq!(runner.task("audit").unwrap().spacing, Duration::from_secs(300));
    /// runner.set_spacing("audit", -1.0)?; // disabled, as a negative configured spacing does in nova
    /// assert!(!runner.task("audit").unwrap().enabled);
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn set_spacing(&self, name: &str, spacing: f64) -> Result<()> {
        let owner = Arc::clone(&self.inner.owner_name);
        self.state()
            .set_spacing(name, spacing, &owner, &self.inner.settings, Instant::now())
    }

    /// A snapshot of every task, in pass order: spacing, enabled state, last run, next
    /// due, run and failure counts, last duration and lateness.
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
    ///     println!("{} every {:?}, enabled {}, next due {:?}", task.full_name, task.spacing, task.enabled, task.next_due);
    /// }
    /// assert_eq!(runner.tasks().len(), 2);
    /// assert!(!runner.task("unused").unwrap().enabled);
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let state = self.state();
        state.slots.iter().map(State::info).collect()
    }

    /// One task's snapshot by name.
    pub fn task(&self, name: &str) -> Option<TaskInfo> {
        let state = self.state();
        state
            .by_name
            .get(name)
            .map(|&i| State::info(&state.slots[i]))
    }

    /// The earliest time any task is next due, or `None` when no task runs.
    pub fn next_due(&self) -> Option<Instant> {
        let state = self.state();
        let m = state.due.min(0, state.due.len());
        (m != NEVER).then(|| state.origin + Duration::from_nanos(m))
    }

    /// Runs one pass with the runner's [`ErrorPolicy`] and returns how long to idle before
    /// the next one (see [`IdlePolicy`]). `ctx` is handed to every task that takes a
    /// context.
    ///
    /// A task is due when its last run plus its spacing is not after now (exactly at the
    /// boundary counts). Before a task runs its last run moves to
    /// [`nearest_boundary`](crate::nearest_boundary), so a failing or slow task is not
    /// retried early. Async tasks are awaited; blocking (`fn`) tasks run on tokio's
    /// blocking pool. A panicking task counts as a failed one: it never takes the runner
    /// down. A task whose earlier run is still in progress (its pass was cancelled) is not
    /// started again.
    ///
    /// # Errors
    ///
    /// Only with [`ErrorPolicy::Propagate`]: the first failure, as [`ErrorKind::Task`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling a pass drops the run in progress (a blocking run goes on to its end on
    /// the blocking pool). A task's last run is advanced before it starts, so a cancelled
    /// run is not repeated early.
    pub async fn run_periodic_tasks(&self, ctx: impl Into<Arc<C>>) -> Result<Duration> {
        self.run_periodic_tasks_with(ctx, self.inner.settings.error_policy)
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
        let ctx: Arc<C> = ctx.into();
        let _pass = self.inner.pass.lock().await;
        match self.inner.settings.concurrency {
            Concurrency::Sequential => self.sequential_pass(&ctx, policy).await,
            Concurrency::Concurrent => self.concurrent_pass(&ctx, policy).await,
        }
    }

    /// Picks task `index` to run now: advances its last run and due time, marks it in
    /// flight and builds its call.
    fn launch(
        &self,
        state: &mut State<M, C>,
        index: usize,
        now: Instant,
        ctx: &Arc<C>,
    ) -> Launched {
        let jitter_mode = self.inner.settings.jitter;
        let slot = &state.slots[index];
        let spacing = slot.spacing;
        let previous = slot.last_run;
        // oslo draws the random number only for a task that has run before.
        let jitter = match (jitter_mode, previous) {
            (Jitter::Oslo, Some(_)) => jitter_for(spacing, state.uniform.draw()),
            _ => Duration::ZERO,
        };
        let last = nearest_boundary(previous, spacing, now, jitter);
        let next_due = last + spacing;
        let next_ns = state.ns(next_due);
        state.due.set(index, next_ns);
        let slot = &mut state.slots[index];
        let due = slot.due;
        slot.last_run = Some(last);
        slot.due = next_due;
        slot.in_flight.store(true, Ordering::Release);
        let guard = InFlight(Arc::clone(&slot.in_flight));
        let manager = &self.inner;
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| match &slot.func {
            TaskFn::Registered(f) => {
                let ctx_any: Arc<dyn Any + Send + Sync> = ctx.clone();
                f(Arc::clone(&manager.manager_any), ctx_any)
            }
            TaskFn::Added(f) => f(Arc::clone(&manager.manager), Arc::clone(ctx)),
        }))
        .unwrap_or_else(|payload| {
            let failure = TaskFailure::from_panic(&*payload);
            TaskCall::Async(Box::pin(async move { Err(failure) }))
        });
        Launched {
            index,
            name: Arc::clone(&slot.name),
            full_name: Arc::clone(&slot.full_name),
            due,
            call,
            guard,
        }
    }

    /// Accounts for a finished run: counters, log lines, the observer. Returns the error to
    /// propagate, if the policy says so.
    fn finish(&self, done: Finished, policy: ErrorPolicy) -> Option<Error> {
        let outcome = match &done.result {
            Ok(()) => RunOutcome::Succeeded,
            Err(f) if f.is_panic() => RunOutcome::Panicked,
            Err(_) => RunOutcome::Failed,
        };
        {
            let mut state = self.state();
            if let Some(slot) = state.slots.get_mut(done.index) {
                slot.stats.runs += 1;
                if outcome != RunOutcome::Succeeded {
                    slot.stats.failures += 1;
                }
                slot.stats.last_duration = Some(done.duration);
                slot.stats.last_lateness = Some(done.started.saturating_duration_since(done.due));
            }
        }
        if let Some(observer) = &self.inner.observer {
            observer(&TaskRun {
                name: Arc::clone(&done.name),
                full_name: Arc::clone(&done.full_name),
                due: done.due,
                started: done.started,
                duration: done.duration,
                outcome,
            });
        }
        let Err(failure) = done.result else {
            return None;
        };
        let full = &done.full_name;
        match policy {
            ErrorPolicy::Log => {
                tracing::error!(
                    task = %full,
                    elapsed = ?done.duration,
                    error = %failure,
                    "Error during {full}: {failure}"
                );
                None
            }
            ErrorPolicy::Propagate => {
                let message = format!("Error during {full}: {failure}");
                let err = Error::new(ErrorKind::Task, message);
                Some(match failure {
                    TaskFailure::Error(source) => err.with_source(source),
                    TaskFailure::Message(_) | TaskFailure::Panic(_) => err,
                })
            }
        }
    }

    async fn sequential_pass(&self, ctx: &Arc<C>, policy: ErrorPolicy) -> Result<Duration> {
        let oslo = self.inner.settings.idle_policy == IdlePolicy::Oslo;
        let mut now = Instant::now();
        let mut idle = DEFAULT_INTERVAL;
        let mut start = 0;
        if oslo && let Some(min) = self.state().min_spacing {
            idle = idle.min(min);
        }
        loop {
            let launched = {
                let mut state = self.state();
                let now_ns = state.ns(now);
                let mut next = state.due.first_at_most(start, now_ns);
                // Skip tasks whose previous run is still in progress.
                while let Some(j) = next {
                    if !state.slots[j].in_flight.load(Ordering::Acquire) {
                        break;
                    }
                    tracing::warn!(
                        task = %state.slots[j].full_name,
                        "Skipping periodic task {} because its previous run is still in progress",
                        state.slots[j].full_name
                    );
                    if oslo {
                        idle = idle.min(remaining(state.due.min(start, j), now_ns));
                    }
                    start = j + 1;
                    next = state.due.first_at_most(start, now_ns);
                }
                let segment_end = next.unwrap_or(state.due.len());
                if oslo {
                    // Tasks between the previous run and this one were checked at `now`.
                    idle = idle.min(remaining(state.due.min(start, segment_end), now_ns));
                }
                match next {
                    Some(j) => self.launch(&mut state, j, now, ctx),
                    None => break,
                }
            };
            start = launched.index + 1;
            tracing::debug!(task = %launched.full_name, "Running periodic task {}", launched.full_name);
            let started = Instant::now();
            let Launched {
                index,
                name,
                full_name,
                due,
                call,
                guard,
            } = launched;
            let result = run_call(call, guard).await;
            now = Instant::now();
            let finished = Finished {
                index,
                name,
                full_name,
                due,
                started,
                duration: now - started,
                result,
            };
            if let Some(err) = self.finish(finished, policy) {
                return Err(err);
            }
        }
        if oslo {
            Ok(idle)
        } else {
            Ok(self.precise_idle())
        }
    }

    async fn concurrent_pass(&self, ctx: &Arc<C>, policy: ErrorPolicy) -> Result<Duration> {
        let oslo = self.inner.settings.idle_policy == IdlePolicy::Oslo;
        let now = Instant::now();
        let mut idle = DEFAULT_INTERVAL;
        let mut launched = Vec::new();
        {
            let mut state = self.state();
            if let Some(min) = state.min_spacing {
                idle = idle.min(min);
            }
            let now_ns = state.ns(now);
            let mut start = 0;
            loop {
                let next = state.due.first_at_most(start, now_ns);
                let segment_end = next.unwrap_or(state.due.len());
                idle = idle.min(remaining(state.due.min(start, segment_end), now_ns));
                let Some(j) = next else { break };
                start = j + 1;
                if state.slots[j].in_flight.load(Ordering::Acquire) {
                    tracing::warn!(
                        task = %state.slots[j].full_name,
                        "Skipping periodic task {} because its previous run is still in progress",
                        state.slots[j].full_name
                    );
                    continue;
                }
                launched.push(self.launch(&mut state, j, now, ctx));
            }
        }
        let mut set = tokio::task::JoinSet::new();
        let mut waiting: HashMap<tokio::task::Id, (usize, Arc<str>, Arc<str>, Instant)> =
            HashMap::new();
        for l in launched {
            tracing::debug!(task = %l.full_name, "Running periodic task {}", l.full_name);
            let meta = (l.index, l.name, l.full_name, l.due);
            let guard = l.guard;
            let handle = match l.call {
                TaskCall::Async(fut) => set.spawn(async move {
                    let started = Instant::now();
                    let result = fut.await;
                    drop(guard);
                    (started, Instant::now(), result)
                }),
                TaskCall::Blocking(f) => set.spawn_blocking(move || {
                    let started = Instant::now();
                    let result = f();
                    drop(guard);
                    (started, Instant::now(), result)
                }),
            };
            waiting.insert(handle.id(), meta);
        }
        let mut first_error = None;
        while let Some(joined) = set.join_next_with_id().await {
            let (id, started, ended, result) = match joined {
                Ok((id, (started, ended, result))) => (id, started, ended, result),
                Err(err) => {
                    let id = err.id();
                    let failure = if err.is_panic() {
                        TaskFailure::from_panic(&*err.into_panic())
                    } else {
                        TaskFailure::Panic("the run was cancelled".to_owned())
                    };
                    let at = Instant::now();
                    (id, at, at, Err(failure))
                }
            };
            let Some((index, name, full_name, due)) = waiting.remove(&id) else {
                continue;
            };
            let finished = Finished {
                index,
                name,
                full_name,
                due,
                started,
                duration: ended.saturating_duration_since(started),
                result,
            };
            if let Some(err) = self.finish(finished, policy) {
                first_error.get_or_insert(err);
            }
        }
        if let Some(err) = first_error {
            return Err(err);
        }
        if oslo {
            Ok(idle)
        } else {
            Ok(self.precise_idle())
        }
    }

    fn precise_idle(&self) -> Duration {
        let state = self.state();
        let now_ns = state.ns(Instant::now());
        remaining(state.due.min(0, state.due.len()), now_ns).min(DEFAULT_INTERVAL)
    }
}

/// Time from `now_ns` until `due_ns` for a task that is not due (`due_ns > now_ns`), or the
/// default interval for an empty segment.
fn remaining(due_ns: u64, now_ns: u64) -> Duration {
    if due_ns == NEVER {
        DEFAULT_INTERVAL
    } else {
        Duration::from_nanos(due_ns.saturating_sub(now_ns))
    }
}

async fn run_call(call: TaskCall, guard: InFlight) -> TaskResult {
    match call {
        TaskCall::Async(fut) => {
            let result = match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(result) => result,
                Err(payload) => Err(TaskFailure::from_panic(&*payload)),
            };
            drop(guard);
            result
        }
        TaskCall::Blocking(f) => {
            let joined = tokio::task::spawn_blocking(move || {
                let result = f();
                drop(guard);
                result
            })
            .await;
            match joined {
                Ok(result) => result,
                Err(err) if err.is_panic() => Err(TaskFailure::from_panic(&*err.into_panic())),
                Err(_) => Err(TaskFailure::Panic("the run was cancelled".to_owned())),
            }
        }
    }
}
