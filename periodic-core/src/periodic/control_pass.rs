//! The pass's side of the operator's controls (`controls.rs` keeps what the runner
//! knows of them): which tasks are skipped because they are paused, and the run-now
//! requests a pass takes and runs first, each with its new fencing token and its lease
//! held, its schedule untouched.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fleet::Won;
use super::info::TaskInfo;
use super::ledger::TaskScope;
use super::pass::{Launched, RunOf, Shared};
use super::policy::ErrorPolicy;
use super::run::RunContext;
use super::run_task::{Holding, run_launched};
use super::slots::State;
use crate::error::Error;

impl<M, C> Shared<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// Every ledger scope of the runner's tasks: the service's, and each fleet's.
    pub(super) fn scopes(&self) -> Vec<TaskScope> {
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
        let next = if let Some(occurrence) = state.next_occurrence(index, now) {
            occurrence
        } else if state.slots[index].fleet.is_some() {
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
}
