//! The slot table: one slot per task (its spacing, flags, schedule, function and counters),
//! the index of due times over them, and the jitter's random source.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::time::Instant;

use super::calendar::{self, Calendar, Plan};
use super::info::TaskInfo;
use super::ledger::TaskScope;
use super::mintree::{MinTree, NEVER};
use super::options::{JitterSource, RunnerOptions};
use super::policy::Overrun;
use super::run::Fleet;
use super::schedule::{DEFAULT_INTERVAL, Jitter, jitter_for, nearest_boundary};
use super::spacing::Spacing;
use super::task::{AddedFn, TaskCall};
use crate::clock::WallClock;
use crate::error::{Error, ErrorKind, Result};

/// The call of a task registered by `#[periodic_task]`, on the type-erased manager and
/// context.
pub(super) type ErasedFn =
    fn(Arc<dyn Any + Send + Sync>, Arc<dyn Any + Send + Sync>, super::run::RunContext) -> TaskCall;

/// How a slot's task is called.
pub(super) enum TaskFn<M, C> {
    /// Declared with `#[periodic_task]`.
    Registered(ErasedFn),
    /// Added with `add_periodic_task`.
    Added(AddedFn<M, C>),
}

/// A task as it enters the table.
pub(super) struct SlotSpec<M, C> {
    pub(super) name: Arc<str>,
    pub(super) spacing: Spacing,
    pub(super) run_immediately: bool,
    pub(super) enabled: bool,
    pub(super) external_process_ok: bool,
    pub(super) fleet: Option<Fleet>,
    pub(super) timeout: Option<Duration>,
    pub(super) overrun: Overrun,
    /// A cron task's calendar, in place of its spacing.
    pub(super) calendar: Option<Arc<dyn Calendar>>,
    pub(super) func: TaskFn<M, C>,
}

/// A fleet task's fleet, resolved, and the last claim this runner won.
pub(super) struct FleetOf {
    pub(super) name: Arc<str>,
    pub(super) scope: TaskScope,
    pub(super) token: Option<u64>,
    pub(super) slot: Option<i64>,
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
pub(super) struct Slot<M, C> {
    pub(super) name: Arc<str>,
    pub(super) full_name: Arc<str>,
    spacing: Spacing,
    enabled: bool,
    /// Enabled, spacing not disabled, and not an external task of a runner that skips
    /// those.
    runnable: bool,
    run_immediately: bool,
    external_process_ok: bool,
    last_run: Option<Instant>,
    due: Instant,
    pub(super) func: TaskFn<M, C>,
    /// Boxed: few tasks are fleet tasks, and inline it would double every slot.
    pub(super) fleet: Option<Box<FleetOf>>,
    /// The task's timeout, overrun policy and calendar; boxed, and `None` for the
    /// defaults (no timeout, `Overrun::RunOnce`, a spacing), as most tasks have them:
    /// inline they would add 24 bytes and more to every slot.
    limits: Option<Box<Limits>>,
    stats: Stats,
    /// Set while a run is in progress; made at the first run, so that a task that never
    /// runs here (disabled, or not due yet) does not pay for it.
    in_flight: Option<Arc<AtomicBool>>,
}

/// The run limits and calendar of a task that has any (see [`Slot`]'s `limits`).
#[derive(Debug)]
struct Limits {
    timeout: Option<Duration>,
    overrun: Overrun,
    /// A cron task's calendar and the occurrence its due time stands for: the task
    /// follows it instead of its spacing.
    plan: Option<Plan>,
}

impl<M, C> Slot<M, C> {
    /// The longest a run may take.
    pub(super) fn timeout(&self) -> Option<Duration> {
        self.limits.as_ref().and_then(|limits| limits.timeout)
    }

    /// What follows a run that outlasted its spacing.
    fn overrun(&self) -> Overrun {
        self.limits
            .as_ref()
            .map_or_else(Overrun::default, |limits| limits.overrun)
    }

    /// A cron task's calendar and where it stands.
    fn plan(&self) -> Option<&Plan> {
        self.limits.as_ref().and_then(|limits| limits.plan.as_ref())
    }

    /// The time between runs in effect: the spacing's, or [`DEFAULT_INTERVAL`] when it
    /// is disabled (the slot then never becomes due, so the value only keeps the
    /// arithmetic of a later `set_spacing` total). Derived, not stored: a slot is kept
    /// small (see `a_slot_is_small`).
    fn interval(&self) -> Duration {
        self.spacing.interval().unwrap_or(DEFAULT_INTERVAL)
    }

    /// Marks a run in progress until the returned guard is dropped.
    fn mark_in_flight(&mut self) -> InFlight {
        let flag = self.in_flight.get_or_insert_with(Arc::default);
        flag.store(true, Ordering::Release);
        InFlight(Arc::clone(flag))
    }

    fn is_in_flight(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Acquire))
    }
}

/// Clears a task's in-flight flag when the run ends, however it ends (also when a pass is
/// cancelled and the run's future dropped).
pub(super) struct InFlight(Arc<AtomicBool>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A run that [`State::begin_run`] picked: what the pass needs to account for it.
pub(super) struct Begun {
    pub(super) due: Instant,
    pub(super) guard: InFlight,
}

/// The longest interval oslo's jitter leaves at 0 whatever the draw.
const NO_JITTER_UP_TO: Duration = Duration::from_secs(20);

/// The source of the uniform draws in `[0, 1)` behind oslo's jitter.
enum Uniform {
    Rng(Box<StdRng>),
    Custom(JitterSource),
}

impl Uniform {
    fn new(options: &RunnerOptions) -> Self {
        match (&options.jitter_source, options.seed) {
            (Some(draw), _) => Uniform::Custom(Arc::clone(draw)),
            (None, Some(seed)) => Uniform::Rng(Box::new(StdRng::seed_from_u64(seed))),
            (None, None) => Uniform::Rng(Box::new(StdRng::from_os_rng())),
        }
    }

    /// Whether a draw can change the jitter of `interval`: not for 20 s or less, where
    /// oslo's `int(spacing * u / 20)` is 0 for every `u` in `[0, 1)`. A custom source is
    /// always asked.
    fn needed_for(&self, interval: Duration) -> bool {
        match self {
            Uniform::Rng(_) => interval > NO_JITTER_UP_TO,
            Uniform::Custom(_) => true,
        }
    }

    fn draw(&mut self) -> f64 {
        match self {
            Uniform::Rng(rng) => rng.random::<f64>(),
            Uniform::Custom(f) => {
                let u = (f.lock().unwrap_or_else(PoisonError::into_inner))();
                if u.is_finite() {
                    u.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            }
        }
    }
}

/// Every task of a runner, in pass order, with the index of their due times.
pub(super) struct State<M, C> {
    /// What due times are measured from, in the index.
    origin: Instant,
    /// The manager type's short name, for `Manager.task` and messages.
    owner: Arc<str>,
    /// oslo's `run_external_periodic_tasks`.
    run_external: bool,
    jitter: Jitter,
    uniform: Uniform,
    pub(super) slots: Vec<Slot<M, C>>,
    /// The fleet of a bare `fleet`.
    default_fleet: Arc<str>,
    /// Whether the runner has a task ledger (a fleet task needs one).
    has_ledger: bool,
    /// foldhash rather than SipHash: the names are the program's own, not an attacker's,
    /// and hashing them was a tenth of the time of adding a task.
    by_name: HashMap<Arc<str>, usize, foldhash::fast::RandomState>,
    /// The due time of each runnable slot (nanoseconds since `origin`), [`NEVER`] for the
    /// others.
    pub(super) due: MinTree,
    /// The shortest interval of a runnable task (oslo's `idle_for` starts from it).
    pub(super) min_interval: Option<Duration>,
    /// [`Concurrency::Lanes`](crate::Concurrency::Lanes): when the last pass said the next
    /// one comes; a lane keeps its task until then.
    pub(super) wake: Option<Instant>,
    /// Where cron tasks' occurrences fall.
    clock: WallClock,
}

impl<M, C> State<M, C> {
    /// An empty table for a runner of `owner`'s tasks.
    pub(super) fn new(owner: Arc<str>, origin: Instant, options: &RunnerOptions) -> Self {
        let default_fleet = options
            .default_fleet
            .as_deref()
            .map_or_else(|| Arc::clone(&owner), Arc::from);
        State {
            origin,
            owner,
            run_external: options.run_external_periodic_tasks,
            jitter: options.jitter,
            uniform: Uniform::new(options),
            slots: Vec::new(),
            default_fleet,
            has_ledger: options.task_ledger.is_some(),
            by_name: HashMap::default(),
            due: MinTree::new(),
            min_interval: None,
            wake: None,
            clock: options.wall_clock.clone(),
        }
    }

    /// `t` as nanoseconds since the origin, as the index keeps it.
    pub(super) fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.origin).as_nanos()).unwrap_or(NEVER - 1)
    }

    /// The earliest next due time of any task, or `None` when no task runs.
    pub(super) fn next_due(&self) -> Option<Instant> {
        let m = self.due.min(0, self.due.len());
        (m != NEVER).then(|| self.origin + Duration::from_nanos(m))
    }

    /// Adds a task; a task that is not `run_immediately` is first due one interval after
    /// `now`. Returns whether it is runnable.
    pub(super) fn push(&mut self, spec: SlotSpec<M, C>, now: Instant) -> Result<bool> {
        if self.by_name.contains_key(&spec.name) {
            return Err(Error::new(
                ErrorKind::DuplicateTask,
                format!(
                    "two periodic tasks of {} are named `{}`; give one of them another `name`",
                    self.owner, spec.name
                ),
            ));
        }
        let full_name: Arc<str> = format!("{}.{}", self.owner, spec.name).into();
        let interval = spec.spacing.checked_interval(&full_name)?;
        if spec.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("periodic task {full_name}: a timeout must be above zero"),
            ));
        }
        if let (Some(calendar), Some(_)) = (&spec.calendar, &spec.fleet) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "periodic task {full_name} is a fleet task with a cron schedule ({:?}); \
                     fleet tasks take a spacing: cron schedules are not supported for them yet",
                    calendar.expression()
                ),
            ));
        }
        let fleet = match &spec.fleet {
            None => None,
            Some(fleet) => Some(Box::new(self.fleet_of(fleet, &full_name)?)),
        };
        if interval.is_none() {
            tracing::info!(task = %spec.name, "Skipping periodic task {} because its interval is negative", spec.name);
        } else if !spec.enabled {
            tracing::info!(task = %spec.name, "Skipping periodic task {} because it is disabled", spec.name);
        }
        let mut runnable = self.runnable(spec.enabled, interval, spec.external_process_ok);
        let interval = interval.unwrap_or(DEFAULT_INTERVAL);
        let last_run = if spec.run_immediately {
            None
        } else {
            Some(now)
        };
        let mut due = last_run.map_or(now, |t| t + interval);
        let plan = spec.calendar.map(|calendar| {
            let now_wall = self.clock.now();
            let first = calendar::first_due(&*calendar, now_wall, spec.run_immediately);
            if let Some(first) = first {
                due = calendar::to_instant(now, now_wall, first);
            } else {
                tracing::warn!(task = %spec.name, cron = calendar.expression(), "Periodic task {} never runs: its cron expression has no occurrence ahead", spec.name);
                runnable = false;
            }
            Plan {
                calendar,
                due: first,
            }
        });
        let follows_calendar = plan.is_some();
        let index = self.slots.len();
        self.slots.push(Slot {
            name: Arc::clone(&spec.name),
            full_name,
            spacing: spec.spacing,
            enabled: spec.enabled,
            runnable,
            run_immediately: spec.run_immediately,
            external_process_ok: spec.external_process_ok,
            last_run,
            due,
            func: spec.func,
            fleet,
            limits: (spec.timeout.is_some()
                || spec.overrun != Overrun::default()
                || plan.is_some())
            .then(|| {
                Box::new(Limits {
                    timeout: spec.timeout,
                    overrun: spec.overrun,
                    plan,
                })
            }),
            stats: Stats::default(),
            in_flight: None,
        });
        self.by_name.insert(spec.name, index);
        let value = if runnable { self.ns(due) } else { NEVER };
        self.due.push(value);
        // A cron task's "interval" is no interval: oslo's idle time counts it by its due
        // time only.
        if runnable && !follows_calendar {
            self.min_interval = Some(self.min_interval.map_or(interval, |m| m.min(interval)));
        }
        Ok(runnable)
    }

    /// Resolves a task's fleet: its name checked, the runner's ledger required.
    fn fleet_of(&self, fleet: &Fleet, full_name: &str) -> Result<FleetOf> {
        let name: Arc<str> = match fleet {
            Fleet::Default => Arc::clone(&self.default_fleet),
            Fleet::Named(name) => Arc::from(&**name),
        };
        let scope = TaskScope::fleet(&name).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("periodic task {full_name}: {}", e.message()),
            )
        })?;
        if !self.has_ledger {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "periodic task {full_name} is a fleet task (fleet `{name}`) but the runner \
                     has no task ledger; run it in a Service whose store keeps one (SQL or \
                     memory://) or set `RunnerOptions::task_ledger`"
                ),
            ));
        }
        Ok(FleetOf {
            name,
            scope,
            token: None,
            slot: None,
        })
    }

    /// Sets task `index`'s next due time (a fleet task after its claim, a resumed task).
    pub(super) fn set_due(&mut self, index: usize, due: Instant) {
        let slot = &mut self.slots[index];
        slot.due = due;
        let value = if slot.runnable { self.ns(due) } else { NEVER };
        self.due.set(index, value);
    }

    /// For a cron task passed over at `now` (paused): moves its plan to the first
    /// occurrence after `now` and returns that occurrence's instant, so that a resumed
    /// task runs on its calendar, not one interval after it was passed over. `None` for a
    /// spacing task, and for a cron task with no occurrence ahead.
    pub(super) fn next_occurrence(&mut self, index: usize, now: Instant) -> Option<Instant> {
        let now_wall = self.wall_at(now);
        let plan = self.slots[index]
            .limits
            .as_mut()
            .and_then(|l| l.plan.as_mut())?;
        plan.due = plan.calendar.next_after(now_wall);
        plan.due
            .map(|next| calendar::to_instant(now, now_wall, next))
    }

    /// Sets task `index`'s last run (a task resumed from the ledger).
    pub(super) fn set_last_run(&mut self, index: usize, last: Instant) {
        self.slots[index].last_run = Some(last);
    }

    /// The time between runs of task `index` in effect.
    pub(super) fn interval(&self, index: usize) -> Duration {
        self.slots[index].interval()
    }

    /// Whether task `index` is `run_immediately`.
    pub(super) fn run_immediately(&self, index: usize) -> bool {
        self.slots[index].run_immediately
    }

    /// A jitter within a fleet task's slot: oslo's 0-5 % of the interval, or none.
    pub(super) fn slot_jitter(&mut self, interval: Duration) -> Duration {
        match self.jitter {
            Jitter::Oslo => jitter_for(interval, self.uniform.draw()),
            Jitter::None => Duration::ZERO,
        }
    }

    /// Starts a fleet task's run at `now` after it won `slot` with `token`: its next due
    /// time is `next_due` (the next slot boundary on the store's clock).
    pub(super) fn begin_fleet_run(
        &mut self,
        index: usize,
        now: Instant,
        next_due: Instant,
        slot: i64,
        token: u64,
    ) -> Begun {
        let due = self.slots[index].due.min(now);
        self.set_due(index, next_due);
        let entry = &mut self.slots[index];
        entry.last_run = Some(now);
        if let Some(fleet) = &mut entry.fleet {
            fleet.slot = Some(slot);
            fleet.token = Some(token);
        }
        Begun {
            due,
            guard: entry.mark_in_flight(),
        }
    }

    fn runnable(&self, enabled: bool, interval: Option<Duration>, external: bool) -> bool {
        enabled && interval.is_some() && (self.run_external || !external)
    }

    /// Changes the spacing of task `name`; its next due time becomes its last run plus the
    /// new interval (a task that has not run yet keeps its anchor).
    pub(super) fn set_spacing(&mut self, name: &str, spacing: Spacing, now: Instant) -> Result<()> {
        let Some(&index) = self.by_name.get(name) else {
            let mut known: Vec<&str> = self.slots.iter().map(|s| &*s.name).collect();
            known.sort_unstable();
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "spacing override for `{name}`: {} has no periodic task of that name (its tasks: {})",
                    self.owner,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let interval = spacing.checked_interval(&self.slots[index].full_name)?;
        if self.slots[index].plan().is_some() {
            return self.set_calendar_spacing(index, spacing, now);
        }
        let slot = &self.slots[index];
        let runnable = self.runnable(slot.enabled, interval, slot.external_process_ok);
        if interval.is_none() {
            tracing::info!(task = %name, "Skipping periodic task {name} because its interval is negative");
        }
        let slot = &mut self.slots[index];
        slot.spacing = spacing;
        slot.runnable = runnable;
        // A task that has not run yet keeps its anchor (creation time or "immediately").
        let anchor_due = match slot.last_run {
            Some(last) => last + slot.interval(),
            None => slot.due.min(now),
        };
        slot.due = anchor_due;
        let value = if runnable { self.ns(anchor_due) } else { NEVER };
        self.due.set(index, value);
        self.min_interval = self
            .slots
            .iter()
            .filter(|s| s.runnable && s.plan().is_none())
            .map(Slot::interval)
            .min();
        Ok(())
    }

    /// Changes oslo's `run_external_periodic_tasks`: the tasks marked
    /// `external_process_ok` stop running or start again. One that starts is next due one
    /// interval after its last run (at once if it never ran), a cron task at its next
    /// occurrence.
    pub(super) fn set_run_external(&mut self, yes: bool, now: Instant) {
        if self.run_external == yes {
            return;
        }
        self.run_external = yes;
        for index in 0..self.slots.len() {
            if !self.slots[index].external_process_ok {
                continue;
            }
            let slot = &self.slots[index];
            let calendar = slot.plan().is_some();
            let mut runnable = yes && slot.enabled && !slot.spacing.is_disabled();
            let mut due = match slot.last_run {
                Some(last) => last + slot.interval(),
                None => slot.due.min(now),
            };
            if calendar && runnable {
                match self.next_occurrence(index, now) {
                    Some(next) => due = next,
                    None => runnable = false,
                }
            }
            let slot = &mut self.slots[index];
            slot.runnable = runnable;
            if runnable {
                slot.due = due;
            }
            let value = if runnable { self.ns(due) } else { NEVER };
            self.due.set(index, value);
        }
        self.min_interval = self
            .slots
            .iter()
            .filter(|s| s.runnable && s.plan().is_none())
            .map(Slot::interval)
            .min();
    }

    /// Whether tasks marked `external_process_ok` run here.
    pub(super) fn run_external(&self) -> bool {
        self.run_external
    }

    /// [`set_spacing`](Self::set_spacing) on a cron task: [`Spacing::Disabled`] disables
    /// it, [`Spacing::Default`] (what a cron task declares) puts it back on its cron
    /// schedule from its next occurrence; a spacing of its own is refused, so that
    /// returning to the declaration (a SIGHUP that removes the override) is always
    /// possible.
    fn set_calendar_spacing(&mut self, index: usize, spacing: Spacing, now: Instant) -> Result<()> {
        let now_wall = self.wall_at(now);
        let run_external = self.run_external;
        let slot = &mut self.slots[index];
        let Some(plan) = slot.limits.as_mut().and_then(|l| l.plan.as_mut()) else {
            return Ok(());
        };
        if let Spacing::Every(every) = spacing {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "periodic task {} follows the cron schedule {:?}: a spacing override can \
                     disable it (a negative spacing) or keep its schedule (0), not make it \
                     run every {every:?}",
                    slot.full_name,
                    plan.calendar.expression()
                ),
            ));
        }
        if spacing.is_disabled() {
            tracing::info!(task = %slot.name, "Skipping periodic task {} because its interval is negative", slot.name);
        } else {
            plan.due = plan.calendar.next_after(now_wall);
            if let Some(next) = plan.due {
                slot.due = calendar::to_instant(now, now_wall, next);
            }
        }
        slot.spacing = spacing;
        slot.runnable = slot.enabled
            && !spacing.is_disabled()
            && plan.due.is_some()
            && (run_external || !slot.external_process_ok);
        let value = if slot.runnable {
            self.ns(self.slots[index].due)
        } else {
            NEVER
        };
        self.due.set(index, value);
        Ok(())
    }

    /// Picks task `index` to run at `now`: moves its last run to the nearest grid point
    /// (plus oslo's jitter) and its due time one interval on, and marks it in flight.
    pub(super) fn begin_run(&mut self, index: usize, now: Instant) -> Begun {
        if self.slots[index].plan().is_some() {
            return self.begin_calendar_run(index, now);
        }
        let slot = &self.slots[index];
        let interval = slot.interval();
        let previous = slot.last_run;
        // oslo draws the random number only for a task that has run before. Its jitter is
        // whole seconds of at most a twentieth of the interval, so an interval of 20 s or
        // less never gets any: the generator is not asked (a custom source still is, as
        // oslo's `random.random()` is, so that a replayed sequence stays in step).
        let jitter = match (self.jitter, previous) {
            (Jitter::Oslo, Some(_)) if self.uniform.needed_for(interval) => {
                jitter_for(interval, self.uniform.draw())
            }
            _ => Duration::ZERO,
        };
        let mut last = nearest_boundary(previous, interval, now, jitter);
        if let (Overrun::CatchUp(most), Some(_)) = (slot.overrun(), previous)
            && most > 1
            && slot.due < last
        {
            // Behind: this run serves the oldest missed grid point within the bound, and
            // the next one is due at once until the task is back on its grid.
            let oldest = last
                .checked_sub(interval.saturating_mul(most - 1))
                .unwrap_or(slot.due);
            last = slot.due.max(oldest);
        }
        let next_due = last + interval;
        let next_ns = self.ns(next_due);
        self.due.set(index, next_ns);
        let slot = &mut self.slots[index];
        let due = slot.due;
        slot.last_run = Some(last);
        slot.due = next_due;
        Begun {
            due,
            guard: slot.mark_in_flight(),
        }
    }

    /// [`begin_run`](Self::begin_run) for a cron task: its last run is the occurrence the
    /// run serves, its next due time the occurrence its overrun policy picks (see
    /// `calendar::begin`); no jitter.
    fn begin_calendar_run(&mut self, index: usize, now: Instant) -> Begun {
        let now_wall = self.wall_at(now);
        let slot = &mut self.slots[index];
        let overrun = slot.overrun();
        let due = slot.due;
        let Some(plan) = slot.limits.as_mut().and_then(|l| l.plan.as_mut()) else {
            unreachable!("begin_calendar_run is called for a cron task")
        };
        let planned = plan
            .due
            .unwrap_or_else(|| calendar::to_wall(now, now_wall, due));
        let (served, next) = calendar::begin(&*plan.calendar, overrun, planned, now_wall);
        plan.due = next;
        slot.last_run = Some(calendar::to_instant(now, now_wall, served));
        if let Some(next) = next {
            slot.due = calendar::to_instant(now, now_wall, next);
        }
        let value = match next {
            Some(_) if slot.runnable => self.ns(self.slots[index].due),
            _ => NEVER,
        };
        self.due.set(index, value);
        Begun {
            due,
            guard: self.slots[index].mark_in_flight(),
        }
    }

    /// The wall-clock time of instant `t` (now, or shortly before).
    fn wall_at(&self, t: Instant) -> SystemTime {
        calendar::to_wall(Instant::now(), self.clock.now(), t)
    }

    /// For a cron task that just started a run at `now`: the time until its next
    /// occurrence, which oslo's idle time counts where it counts a spacing task's spacing
    /// (`None` for a spacing task).
    pub(super) fn calendar_wait(&self, index: usize, now: Instant) -> Option<Duration> {
        let slot = &self.slots[index];
        let plan = slot.plan()?;
        plan.due?;
        slot.runnable
            .then(|| slot.due.saturating_duration_since(now))
    }

    /// Whether task `index` follows a cron schedule rather than its spacing.
    pub(super) fn follows_calendar(&self, index: usize) -> bool {
        self.slots[index].plan().is_some()
    }

    /// Counts a finished run of task `index`.
    pub(super) fn record(
        &mut self,
        index: usize,
        failed: bool,
        duration: Duration,
        lateness: Duration,
    ) {
        if let Some(slot) = self.slots.get_mut(index) {
            slot.stats.runs += 1;
            if failed {
                slot.stats.failures += 1;
            }
            slot.stats.last_duration = Some(duration);
            slot.stats.last_lateness = Some(lateness);
        }
    }

    /// After a run of task `index` that ended at `ended`: with [`Overrun::Skip`], when its
    /// next due time passed while it ran, moves it to the first grid point after `ended`
    /// (a fleet task keeps its next slot).
    /// Starts a run-now run of task `index`: marks it in flight, its schedule untouched.
    pub(super) fn begin_requested_run(&mut self, index: usize) -> InFlight {
        self.slots[index].mark_in_flight()
    }

    /// Whether task `index` runs here at all (see [`TaskInfo::runnable`]).
    pub(super) fn is_runnable(&self, index: usize) -> bool {
        self.slots[index].runnable
    }

    pub(super) fn skip_missed(&mut self, index: usize, ended: Instant) {
        let slot = &self.slots[index];
        if slot.overrun() != Overrun::Skip || slot.fleet.is_some() || slot.due > ended {
            return;
        }
        if slot.plan().is_some() {
            self.skip_missed_occurrences(index, ended);
            return;
        }
        let slot = &mut self.slots[index];
        let interval_ns = slot.interval().as_nanos().max(1);
        let behind = (ended - slot.due).as_nanos() / interval_ns + 1;
        let step = u32::try_from(behind).unwrap_or(u32::MAX);
        slot.due += slot.interval().saturating_mul(step);
        let (due, runnable) = (slot.due, slot.runnable);
        // A task its lane holds stays hidden; the lane reads the new due time.
        if runnable && self.due.get(index) != NEVER {
            let value = self.ns(due);
            self.due.set(index, value);
        }
    }

    /// [`skip_missed`](Self::skip_missed) for a cron task: the first occurrence after the
    /// run's end.
    fn skip_missed_occurrences(&mut self, index: usize, ended: Instant) {
        let (now, now_wall) = (Instant::now(), self.clock.now());
        let ended_wall = calendar::to_wall(now, now_wall, ended);
        let slot = &mut self.slots[index];
        let Some(plan) = slot.limits.as_mut().and_then(|l| l.plan.as_mut()) else {
            return;
        };
        let Some(due) = plan.due else { return };
        plan.due = calendar::skip_missed(&*plan.calendar, due, ended_wall);
        let next = plan.due;
        if let Some(next) = next {
            slot.due = calendar::to_instant(now, now_wall, next);
        }
        let value = match next {
            Some(_) => self.ns(self.slots[index].due),
            None => NEVER,
        };
        // A task its lane holds stays hidden; the lane reads the new due time.
        if self.slots[index].runnable && self.due.get(index) != NEVER {
            self.due.set(index, value);
        }
    }

    /// Hides task `index` from the index of due times while a lane holds it, so that
    /// passes neither start it nor wait for it.
    pub(super) fn hide(&mut self, index: usize) {
        self.due.set(index, NEVER);
    }

    /// Shows task `index` in the index of due times again (a lane hands it back).
    pub(super) fn show(&mut self, index: usize) {
        let slot = &self.slots[index];
        let value = if slot.runnable {
            self.ns(slot.due)
        } else {
            NEVER
        };
        self.due.set(index, value);
    }

    /// Task `index`'s next due time, and whether it runs at all.
    pub(super) fn due_of(&self, index: usize) -> (Instant, bool) {
        let slot = &self.slots[index];
        (slot.due, slot.runnable)
    }

    /// Whether a run of task `index` is in progress.
    pub(super) fn in_flight(&self, index: usize) -> bool {
        self.slots[index].is_in_flight()
    }

    /// Every task's snapshot, in pass order.
    pub(super) fn infos(&self) -> Vec<TaskInfo> {
        self.slots.iter().map(Self::info).collect()
    }

    /// Task `name`'s snapshot.
    pub(super) fn info_of(&self, name: &str) -> Option<TaskInfo> {
        self.by_name.get(name).map(|&i| Self::info(&self.slots[i]))
    }

    fn info(slot: &Slot<M, C>) -> TaskInfo {
        TaskInfo {
            name: slot.name.to_string(),
            full_name: slot.full_name.to_string(),
            spacing: slot.spacing,
            interval: slot
                .plan()
                .map_or_else(|| slot.spacing.interval(), |_| None),
            enabled: slot.enabled,
            runnable: slot.runnable,
            run_immediately: slot.run_immediately,
            external_process_ok: slot.external_process_ok,
            last_run: slot.last_run,
            next_due: slot.runnable.then_some(slot.due),
            runs: slot.stats.runs,
            failures: slot.stats.failures,
            last_duration: slot.stats.last_duration,
            last_lateness: slot.stats.last_lateness,
            running: slot.is_in_flight(),
            fleet: slot.fleet.as_ref().map(|f| f.name.to_string()),
            timeout: slot.timeout(),
            overrun: slot.overrun(),
            cron: slot
                .plan()
                .map(|plan| plan.calendar.expression().to_owned()),
            time_zone: slot.plan().map(|plan| plan.calendar.time_zone().to_owned()),
            fleet_token: slot.fleet.as_ref().and_then(|f| f.token),
            fleet_slot: slot.fleet.as_ref().and_then(|f| f.slot),
            paused: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What one registered task costs in the table, before its name and the index: the
    /// budget is 256 bytes per task in all (see `benches/cost.rs`). 168 bytes before
    /// timeouts and overrun policies; their box adds 8 (inline they would add 24).
    #[test]
    fn a_slot_is_small() {
        let slot = size_of::<Slot<(), ()>>();
        println!(
            "slot {slot} B (stats {}, func {}, fleet {}, spacing {})",
            size_of::<Stats>(),
            size_of::<TaskFn<(), ()>>(),
            size_of::<Option<Box<FleetOf>>>(),
            size_of::<Spacing>()
        );
        assert!(slot <= 176, "a slot takes {slot} bytes");
    }

    fn task(name: &str, every: u64) -> SlotSpec<(), ()> {
        SlotSpec {
            name: name.into(),
            spacing: Spacing::Every(Duration::from_secs(every)),
            run_immediately: true,
            enabled: true,
            external_process_ok: false,
            fleet: None,
            timeout: None,
            overrun: Overrun::default(),
            calendar: None,
            func: TaskFn::Added(Box::new(|_, _, _| TaskCall::Blocking(Box::new(|| Ok(()))))),
        }
    }

    /// A task of 20 s or less never gets oslo's jitter, so its runs leave the seeded
    /// generator untouched: the first draw after them is the generator's first value. A
    /// longer task does draw.
    #[test]
    fn no_draw_where_the_jitter_is_always_zero() {
        let options = RunnerOptions::new().seed(7);
        let first = StdRng::seed_from_u64(7).random::<f64>();
        // Compared bit for bit: the same draw of the same generator.
        let first = first.to_bits();
        let next_draw = |state: &mut State<(), ()>| match &mut state.uniform {
            Uniform::Rng(rng) => rng.random::<f64>().to_bits(),
            Uniform::Custom(_) => unreachable!("a seeded runner"),
        };
        let origin = Instant::now();
        let mut state = State::new("Manager".into(), origin, &options);
        state.push(task("short", 20), origin).unwrap();
        state.push(task("long", 21), origin).unwrap();
        for k in 0..3 {
            drop(state.begin_run(0, origin + Duration::from_secs(20 * k)));
        }
        assert_eq!(next_draw(&mut state), first);

        let mut state = State::new("Manager".into(), origin, &options);
        state.push(task("long", 21), origin).unwrap();
        for k in 0..2 {
            drop(state.begin_run(0, origin + Duration::from_secs(21 * k)));
        }
        assert_ne!(next_draw(&mut state), first);
    }
}
