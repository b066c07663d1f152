//! One pass over a runner's due tasks: oslo's `run_periodic_tasks` (one task after
//! another) and `run_periodic_tasks_in_parallel` (all due tasks at once), with the idle
//! time each returns; the claims of due fleet tasks, and where the ledger says the tasks
//! stand before the first pass.

use std::any::Any;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::fleet::{FleetRuntime, Job, Won};
use super::info::{RunOutcome, TaskInfo, TaskRun};
use super::lane_control::LaneControl;
use super::ledger::TaskScope;
use super::mintree::NEVER;
use super::options::RunnerOptions;
use super::policy::{Concurrency, ErrorPolicy, IdlePolicy};
use super::run::RunContext;
use super::run_task::{Holding, Ran, outcome_of, run_launched};
use super::schedule::DEFAULT_INTERVAL;
use super::slots::{InFlight, State, TaskFn};
use super::task::{TaskCall, TaskFailure};
use crate::error::{Error, ErrorKind, Result};

/// What a runner's handles share: the manager, the options, and the slot table.
pub(super) struct Shared<M, C> {
    pub(super) manager: Arc<M>,
    /// The same manager, type-erased for the tasks `#[periodic_task]` registered.
    pub(super) manager_any: Arc<dyn Any + Send + Sync>,
    pub(super) owner_name: Arc<str>,
    pub(super) options: RunnerOptions,
    /// Held for the length of a pass: passes do not overlap.
    pub(super) pass: tokio::sync::Mutex<()>,
    pub(super) state: Mutex<State<M, C>>,
    /// The task ledger's side of the runner, if it has a ledger.
    pub(super) fleet: Option<Arc<FleetRuntime>>,
    /// Whether the first pass has read where the ledger says the tasks stand.
    pub(super) resumed: std::sync::atomic::AtomicBool,
    /// The lanes of a [`Concurrency::Lanes`] runner.
    pub(super) lanes: LaneControl,
}

/// Which run of which task: what a pass needs to account for a run.
pub(super) struct RunOf {
    index: usize,
    pub(super) name: Arc<str>,
    full_name: Arc<str>,
    pub(super) due: Instant,
    /// A fleet task's runs are recorded when their lease is released, not by the writer of
    /// plain runs.
    fleet: bool,
}

/// A task launched by a pass: its run, ready to start.
pub(super) struct Launched {
    pub(super) of: RunOf,
    pub(super) call: TaskCall,
    pub(super) guard: InFlight,
    pub(super) holding: Option<Holding>,
    pub(super) timeout: Option<Duration>,
}

impl<M, C> Shared<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    pub(super) fn state(&self) -> MutexGuard<'_, State<M, C>> {
        // A panic while the lock is held can only come from this module's own code, which
        // leaves the state consistent between statements; keep going with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One pass with `policy`; returns how long to idle before the next one.
    /// (The lanes' pass is `lanes.rs`'s `lanes_pass`.)
    pub(super) async fn run_pass(&self, ctx: Arc<C>, policy: ErrorPolicy) -> Result<Duration> {
        let _pass = self.begin_pass().await;
        let requested = self.run_requests(&ctx, policy).await;
        let idle = if self.options.concurrency == Concurrency::Concurrent {
            self.concurrent_pass(&ctx, policy).await
        } else {
            self.sequential_pass(&ctx, policy).await
        };
        match requested {
            Some(err) => Err(err),
            None => idle,
        }
    }

    /// Takes the pass lock (passes do not overlap) and, before the first pass, reads
    /// where the ledger says the tasks stand.
    pub(super) async fn begin_pass(&self) -> tokio::sync::MutexGuard<'_, ()> {
        let pass = self.pass.lock().await;
        if !self.resumed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.resume().await;
            if let Some(fleet) = &self.fleet {
                fleet.watch_controls(self.scopes()).await;
            }
        }
        pass
    }

    /// Every ledger scope of the runner's tasks: the service's, and each fleet's.
    fn scopes(&self) -> Vec<TaskScope> {
        let state = self.state();
        let mut scopes: Vec<TaskScope> = (0..state.slots.len())
            .filter_map(|index| self.scope_of(&state, index))
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// The ledger scope of task `index`: its fleet's, or the service's for a plain task.
    pub(super) fn scope_of(&self, state: &State<M, C>, index: usize) -> Option<TaskScope> {
        match &state.slots[index].fleet {
            Some(fleet) => Some(fleet.scope.clone()),
            None => self.fleet.as_ref()?.service_scope().cloned(),
        }
    }

    /// Whether task `index` is paused in the ledger ([`TaskControl::Pause`]); a paused
    /// task is moved to its next due time (a fleet task: its next slot) without running.
    ///
    /// [`TaskControl::Pause`]: super::ledger::TaskControl::Pause
    pub(super) fn skip_if_paused(
        &self,
        state: &mut State<M, C>,
        index: usize,
        now: Instant,
    ) -> bool {
        let Some(runtime) = &self.fleet else {
            return false;
        };
        let Some(scope) = self.scope_of(state, index) else {
            return false;
        };
        if !runtime
            .controls()
            .is_paused(&scope, &state.slots[index].name)
        {
            return false;
        }
        let interval = state.interval(index);
        let next = if state.slots[index].fleet.is_some() {
            runtime.estimated_boundary(interval)
        } else {
            now + interval
        };
        state.set_due(index, next.max(now + Duration::from_millis(1)));
        tracing::debug!(task = %state.slots[index].full_name, "Skipping paused periodic task {}", state.slots[index].full_name);
        true
    }

    /// Whether the runner watches the operator's controls: it has a task ledger.
    pub(super) fn watches_controls(&self) -> bool {
        self.fleet.is_some()
    }

    /// `info` with whether its task is paused, as this runner last read the controls.
    pub(super) fn with_controls(&self, mut info: TaskInfo) -> TaskInfo {
        if let Some(runtime) = &self.fleet {
            let scope = match &info.fleet {
                Some(name) => TaskScope::fleet(name).ok(),
                None => runtime.service_scope().cloned(),
            };
            info.paused =
                scope.is_some_and(|scope| runtime.controls().is_paused(&scope, &info.name));
        }
        info
    }

    /// Runs, one after another, the tasks with a run-now request that this runner takes
    /// ([`TaskLedger::take_run_request`]: one runner of all that share the ledger), each
    /// with its new fencing token and its lease held, recorded like any run. Their
    /// regular schedule is unchanged. Returns the first error to propagate.
    ///
    /// [`TaskLedger::take_run_request`]: super::ledger::TaskLedger::take_run_request
    pub(super) async fn run_requests(&self, ctx: &Arc<C>, policy: ErrorPolicy) -> Option<Error> {
        let runtime = self.fleet.as_ref()?;
        if !runtime.controls().any_requested() {
            return None;
        }
        let candidates: Vec<(usize, TaskScope, Arc<str>, Duration)> = {
            let state = self.state();
            (0..state.slots.len())
                .filter_map(|index| {
                    let scope = self.scope_of(&state, index)?;
                    let name = &state.slots[index].name;
                    let wanted = runtime.controls().is_requested(&scope, name)
                        && state.is_runnable(index)
                        && !state.in_flight(index);
                    wanted.then(|| (index, scope, Arc::clone(name), state.interval(index)))
                })
                .collect()
        };
        let mut first_error = None;
        for (index, scope, name, interval) in candidates {
            let Some(won) = runtime.take_request(&scope, &name, interval).await else {
                continue;
            };
            let Launched {
                of,
                call,
                guard,
                holding,
                timeout,
            } = self.launch_requested(&mut self.state(), index, ctx, won, scope);
            let ran = run_launched(
                self.fleet.clone(),
                call,
                guard,
                holding,
                &of.name,
                of.due,
                timeout,
            )
            .await;
            if let Some(err) = self.finish(of, ran, policy) {
                first_error.get_or_insert(err);
            }
        }
        first_error
    }

    /// A run-now run of task `index` with the request it took: fenced and held like a
    /// fleet run, its schedule untouched.
    fn launch_requested(
        &self,
        state: &mut State<M, C>,
        index: usize,
        ctx: &Arc<C>,
        won: Won,
        scope: TaskScope,
    ) -> Launched {
        let now = Instant::now();
        let guard = state.begin_requested_run(index);
        let slot = &state.slots[index];
        let claim = won.claim;
        let fleet = slot.fleet.as_ref().map(|f| Arc::clone(&f.name));
        let cancel = CancellationToken::new();
        let run = RunContext {
            task: Arc::clone(&slot.name),
            fleet: fleet.clone(),
            token: Some(claim.token),
            slot: Some(claim.slot),
            row: Some(claim.row),
            cancel: cancel.clone(),
        };
        let holding = Holding {
            won,
            cancel,
            fleet: fleet.unwrap_or_else(|| Arc::from(scope.as_str())),
            scope,
        };
        let call = self.call_of(state, index, ctx, run);
        let slot = &state.slots[index];
        Launched {
            of: RunOf {
                index,
                name: Arc::clone(&slot.name),
                full_name: Arc::clone(&slot.full_name),
                due: now,
                fleet: true,
            },
            call,
            guard,
            holding: Some(holding),
            timeout: slot.timeout(),
        }
    }

    /// Task `index`'s call for `run`; a call that panics while it is built fails like a
    /// run that panics.
    fn call_of(
        &self,
        state: &State<M, C>,
        index: usize,
        ctx: &Arc<C>,
        run: RunContext,
    ) -> TaskCall {
        let slot = &state.slots[index];
        std::panic::catch_unwind(AssertUnwindSafe(|| match &slot.func {
            TaskFn::Registered(f) => {
                let ctx_any: Arc<dyn Any + Send + Sync> = ctx.clone();
                f(Arc::clone(&self.manager_any), ctx_any, run)
            }
            TaskFn::Added(f) => f(Arc::clone(&self.manager), Arc::clone(ctx), run),
        }))
        .unwrap_or_else(|payload| {
            let failure = TaskFailure::from_panic(&*payload);
            TaskCall::Async(Box::pin(async move { Err(failure) }))
        })
    }

    /// Picks task `index` to run now (see [`State::begin_run`]) and builds its call; a
    /// task whose call panics while it is built fails like one whose run panics.
    pub(super) fn launch(
        &self,
        state: &mut State<M, C>,
        index: usize,
        now: Instant,
        ctx: &Arc<C>,
        won: Option<(Won, Instant)>,
    ) -> Launched {
        let (begun, run, holding) = match won {
            None => (
                state.begin_run(index, now),
                RunContext::plain(Arc::clone(&state.slots[index].name)),
                None,
            ),
            Some((won, next_due)) => {
                let claim = won.claim;
                let begun = state.begin_fleet_run(index, now, next_due, claim.slot, claim.token);
                let slot = &state.slots[index];
                let fleet = slot.fleet.as_ref().expect("a fleet task has a fleet");
                let cancel = CancellationToken::new();
                let run = RunContext {
                    task: Arc::clone(&slot.name),
                    fleet: Some(Arc::clone(&fleet.name)),
                    token: Some(claim.token),
                    slot: Some(claim.slot),
                    row: Some(claim.row),
                    cancel: cancel.clone(),
                };
                let holding = Holding {
                    won,
                    cancel,
                    scope: fleet.scope.clone(),
                    fleet: Arc::clone(&fleet.name),
                };
                (begun, run, Some(holding))
            }
        };
        let call = self.call_of(state, index, ctx, run);
        let slot = &state.slots[index];
        Launched {
            of: RunOf {
                index,
                name: Arc::clone(&slot.name),
                full_name: Arc::clone(&slot.full_name),
                due: begun.due,
                fleet: holding.is_some(),
            },
            call,
            guard: begun.guard,
            holding,
            timeout: slot.timeout(),
        }
    }

    /// The fleet jobs among `indices` (the others are plain tasks).
    fn jobs(&self, indices: &[usize]) -> Vec<Job> {
        let state = self.state();
        indices
            .iter()
            .filter_map(|&index| {
                let fleet = state.slots[index].fleet.as_ref()?;
                Some(Job {
                    index,
                    scope: fleet.scope.clone(),
                    task: Arc::clone(&state.slots[index].name),
                    interval: state.interval(index),
                })
            })
            .collect()
    }

    /// Claims the slot of every fleet task among `indices`: the winners with their claim
    /// and next due time; the others are moved to their next slot.
    pub(super) async fn claim(&self, indices: &[usize]) -> HashMap<usize, (Won, Instant)> {
        let jobs = self.jobs(indices);
        let mut won = HashMap::new();
        let Some(fleet) = &self.fleet else {
            return won;
        };
        if jobs.is_empty() {
            return won;
        }
        let answers = fleet.claim(jobs).await;
        let mut state = self.state();
        for answer in answers {
            let interval = state.interval(answer.index);
            let next_due = answer.next_boundary + state.slot_jitter(interval);
            match answer.won {
                Some(claim) => {
                    won.insert(answer.index, (claim, next_due));
                }
                None => state.set_due(answer.index, next_due),
            }
        }
        won
    }

    /// Where the ledger says the tasks stand, read once before the first pass: a fleet
    /// task waits for the next slot boundary unless it is `run_immediately` or its last
    /// slot was missed; a plain task resumes from its last recorded start.
    async fn resume(&self) {
        let Some(fleet) = &self.fleet else {
            return;
        };
        // Every task's row (plain ones too, so that an operator can pause a task that
        // has not run yet), and the fleets' scopes to read.
        let tasks: Vec<(TaskScope, Arc<str>)> = {
            let state = self.state();
            (0..state.slots.len())
                .filter_map(|index| {
                    Some((
                        self.scope_of(&state, index)?,
                        Arc::clone(&state.slots[index].name),
                    ))
                })
                .collect()
        };
        let mut scopes: Vec<TaskScope> = tasks
            .iter()
            .filter(|(scope, _)| scope.fleet_name().is_some())
            .map(|(scope, _)| scope.clone())
            .collect();
        scopes.sort();
        scopes.dedup();
        let Some(resume) = fleet.resume(scopes).await else {
            return;
        };
        fleet.prepare(&resume, &tasks).await;
        let mut state = self.state();
        for index in 0..state.slots.len() {
            let interval = state.interval(index);
            let run_immediately = state.run_immediately(index);
            let slot = &state.slots[index];
            if let Some(of) = &slot.fleet {
                let (due, now) =
                    resume.fleet_start(&of.scope, &slot.name, interval, run_immediately);
                let due = if now {
                    due
                } else {
                    due + state.slot_jitter(interval)
                };
                state.set_due(index, due);
            } else if !run_immediately
                && let Some(scope) = fleet.service_scope()
                && let Some((last, due)) = resume.plain_start(scope, &slot.name, interval)
            {
                state.set_last_run(index, last);
                state.set_due(index, due);
            }
        }
    }

    /// Accounts for a finished run: counters, log lines, the observers. Returns the error
    /// to propagate, if the policy says so.
    pub(super) fn finish(&self, of: RunOf, ran: Ran, policy: ErrorPolicy) -> Option<Error> {
        let RunOf {
            index,
            name,
            full_name,
            due,
            fleet,
        } = of;
        let outcome = outcome_of(&ran.result);
        let duration = ran.ended.saturating_duration_since(ran.started);
        {
            let mut state = self.state();
            state.record(
                index,
                outcome != RunOutcome::Succeeded,
                duration,
                ran.started.saturating_duration_since(due),
            );
            state.skip_missed(index, ran.ended);
        }
        if !fleet && let Some(runtime) = &self.fleet {
            let spacing = self.state().interval(index);
            runtime.record_plain(
                Arc::clone(&name),
                outcome,
                duration,
                ran.started.saturating_duration_since(due),
                ran.ended,
                spacing,
            );
        }
        if !self.options.observers.is_empty() {
            let run = TaskRun {
                name,
                full_name: Arc::clone(&full_name),
                due,
                started: ran.started,
                duration,
                outcome,
                overran: ran.overran,
            };
            for observer in &self.options.observers {
                observer(&run);
            }
        }
        let Err(failure) = ran.result else {
            return None;
        };
        let full = &full_name;
        match policy {
            ErrorPolicy::Log => {
                tracing::error!(
                    task = %full,
                    elapsed = ?duration,
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
                    TaskFailure::Message(_) | TaskFailure::Panic(_) | TaskFailure::TimedOut(_) => {
                        err
                    }
                })
            }
        }
    }

    async fn sequential_pass(&self, ctx: &Arc<C>, policy: ErrorPolicy) -> Result<Duration> {
        let oslo = self.options.idle_policy == IdlePolicy::Oslo;
        let mut now = Instant::now();
        let mut idle = DEFAULT_INTERVAL;
        let mut start = 0;
        if oslo && let Some(min) = self.state().min_interval {
            idle = idle.min(min);
        }
        loop {
            let launched = {
                let mut state = self.state();
                let now_ns = state.ns(now);
                let mut next = state.due.first_at_most(start, now_ns);
                // Skip paused tasks, and tasks whose previous run is still in progress.
                while let Some(j) = next {
                    if self.skip_if_paused(&mut state, j, now) {
                        start = j + 1;
                        next = state.due.first_at_most(start, now_ns);
                        continue;
                    }
                    if !state.in_flight(j) {
                        break;
                    }
                    skip_in_flight(&state.slots[j].full_name);
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
                    Some(j) => j,
                    None => break,
                }
            };
            start = launched + 1;
            let won = if self.state().slots[launched].fleet.is_some() {
                match self.claim(&[launched]).await.remove(&launched) {
                    Some(won) => Some(won),
                    None => continue,
                }
            } else {
                None
            };
            let launched = self.launch(&mut self.state(), launched, now, ctx, won);
            let Launched {
                of,
                call,
                guard,
                holding,
                timeout,
            } = launched;
            tracing::debug!(task = %of.full_name, "Running periodic task {}", of.full_name);
            let ran = run_launched(
                self.fleet.clone(),
                call,
                guard,
                holding,
                &of.name,
                of.due,
                timeout,
            )
            .await;
            now = ran.ended;
            if let Some(err) = self.finish(of, ran, policy) {
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
        let oslo = self.options.idle_policy == IdlePolicy::Oslo;
        let now = Instant::now();
        let mut idle = DEFAULT_INTERVAL;
        let mut launched = Vec::new();
        let mut due = Vec::new();
        {
            let mut state = self.state();
            if let Some(min) = state.min_interval {
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
                if self.skip_if_paused(&mut state, j, now) {
                    continue;
                }
                if state.in_flight(j) {
                    skip_in_flight(&state.slots[j].full_name);
                    continue;
                }
                due.push(j);
            }
        }
        let mut won = self.claim(&due).await;
        {
            let mut state = self.state();
            for j in due {
                if state.slots[j].fleet.is_none() {
                    launched.push(self.launch(&mut state, j, now, ctx, None));
                } else if let Some(won) = won.remove(&j) {
                    launched.push(self.launch(&mut state, j, now, ctx, Some(won)));
                }
            }
        }
        let mut set = tokio::task::JoinSet::new();
        let mut waiting: HashMap<tokio::task::Id, RunOf> = HashMap::new();
        for Launched {
            of,
            call,
            guard,
            holding,
            timeout,
        } in launched
        {
            tracing::debug!(task = %of.full_name, "Running periodic task {}", of.full_name);
            let fleet = self.fleet.clone();
            let (name, due) = (Arc::clone(&of.name), of.due);
            let handle = set.spawn(async move {
                run_launched(fleet, call, guard, holding, &name, due, timeout).await
            });
            waiting.insert(handle.id(), of);
        }
        let mut first_error = None;
        while let Some(joined) = set.join_next_with_id().await {
            let (id, ran) = match joined {
                Ok((id, ran)) => (id, ran),
                // `run_timed` catches the run's panics: only a runtime shutting down
                // cancels it.
                Err(err) => {
                    let at = Instant::now();
                    let id = err.id();
                    let failure = if err.is_panic() {
                        TaskFailure::from_panic(&*err.into_panic())
                    } else {
                        TaskFailure::Panic("the run was cancelled".to_owned())
                    };
                    (
                        id,
                        Ran {
                            started: at,
                            ended: at,
                            result: Err(failure),
                            overran: false,
                        },
                    )
                }
            };
            let Some(of) = waiting.remove(&id) else {
                continue;
            };
            if let Some(err) = self.finish(of, ran, policy) {
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

    /// [`IdlePolicy::Precise`]: from now to the earliest next due run, at most the default
    /// interval.
    fn precise_idle(&self) -> Duration {
        let state = self.state();
        let now_ns = state.ns(Instant::now());
        remaining(state.due.min(0, state.due.len()), now_ns).min(DEFAULT_INTERVAL)
    }
}

/// oslo's warning for a task whose previous run has not ended.
pub(super) fn skip_in_flight(full_name: &str) {
    tracing::warn!(
        task = %full_name,
        "Skipping periodic task {full_name} because its previous run is still in progress"
    );
}

/// Time from `now_ns` until `due_ns` for a task that is not due (`due_ns > now_ns`), or the
/// default interval for an empty segment.
pub(super) fn remaining(due_ns: u64, now_ns: u64) -> Duration {
    if due_ns == NEVER {
        DEFAULT_INTERVAL
    } else {
        Duration::from_nanos(due_ns.saturating_sub(now_ns))
    }
}
