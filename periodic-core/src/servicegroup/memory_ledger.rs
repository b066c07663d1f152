//! The task ledger of the `memory://` store: in this process, on tokio's clock, for
//! paused-time tests of fleet tasks.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::future::{self, BoxFuture};
use tokio::time::Instant;

use crate::error::Error;
use crate::periodic::ledger::{ms, outcome_text, slot_of, spacing_ms, task_not_found};
use crate::periodic::{
    Claim, ClaimRequest, Claimed, ControlState, HISTORY_LEN, LedgerEntry, RunOutcome, RunRecord,
    RunReport, TaskControl, TaskLedger, TaskScope,
};

/// A task ledger in memory, whose clock is tokio's: milliseconds since the ledger was
/// created, so `#[tokio::test(start_paused = true)]` and `tokio::time::advance` control
/// slots and leases exactly. Slot boundaries fall at whole multiples of the spacing after
/// creation.
///
/// The `memory://` service-group store has one
/// ([`ServiceGroup::ledger`](crate::ServiceGroup::ledger)); several runners of one test
/// share it as replicas share an SQL store.
///
/// ```
/// use std::sync::Arc;
/// use periodic::{MemoryLedger, TaskLedger};
///
/// let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
/// # let _ = ledger;
/// ```
#[derive(Debug)]
pub struct MemoryLedger {
    epoch: Instant,
    rows: Mutex<Rows>,
}

#[derive(Debug, Default)]
struct Rows {
    next_id: i64,
    by_key: BTreeMap<(String, String), Row>,
}

#[derive(Debug, Clone, Default)]
struct Row {
    id: i64,
    spacing_ms: Option<i64>,
    slot: Option<i64>,
    token: u64,
    holder: Option<String>,
    lease_until: Option<i64>,
    started: Option<i64>,
    finished: Option<i64>,
    outcome: Option<&'static str>,
    duration_ms: Option<i64>,
    lateness_ms: Option<i64>,
    runs: u64,
    failures: u64,
    paused: bool,
    paused_reason: Option<String>,
    run_requested: Option<i64>,
    /// The newest runs first, at most [`HISTORY_LEN`].
    history: VecDeque<RunRecord>,
}

impl Row {
    /// Records a run that ended at `finished`; `fenced`: the run held the row's claim.
    fn record(&mut self, report: &RunReport, finished: i64, fenced: bool) {
        let started = finished - ms(report.duration);
        self.finished = Some(finished);
        self.started = Some(started);
        self.outcome = Some(outcome_text(report.outcome));
        self.duration_ms = Some(ms(report.duration));
        self.lateness_ms = Some(ms(report.lateness));
        if let Some(spacing) = report.spacing {
            self.spacing_ms = Some(spacing_ms(spacing));
        }
        self.runs += 1;
        if report.outcome != RunOutcome::Succeeded {
            self.failures += 1;
        }
        let mut run = RunRecord::new(
            started,
            finished,
            report.duration,
            report.lateness,
            outcome_text(report.outcome),
        );
        if fenced {
            run.token = Some(self.token);
            run.holder.clone_from(&self.holder);
        }
        self.history.push_front(run);
        self.history.truncate(HISTORY_LEN);
    }

    fn entry(&self, scope: &str, task: &str, now: i64) -> LedgerEntry {
        let millis =
            |v: Option<i64>| v.map(|v| Duration::from_millis(u64::try_from(v).unwrap_or(0)));
        let mut entry = LedgerEntry::new(self.id, TaskScope::from_stored(scope), task, now);
        entry.spacing = millis(self.spacing_ms);
        entry.slot = self.slot;
        entry.token = self.token;
        entry.holder.clone_from(&self.holder);
        entry.lease_until = self.lease_until;
        entry.started = self.started;
        entry.finished = self.finished;
        entry.outcome = self.outcome.map(str::to_owned);
        entry.duration = millis(self.duration_ms);
        entry.lateness = millis(self.lateness_ms);
        entry.paused = self.paused;
        entry.paused_reason.clone_from(&self.paused_reason);
        entry.run_requested = self.run_requested;
        entry.runs = self.runs;
        entry.failures = self.failures;
        entry
    }
}

impl MemoryLedger {
    /// An empty ledger whose clock starts at 0 now.
    pub fn new() -> MemoryLedger {
        MemoryLedger {
            epoch: Instant::now(),
            rows: Mutex::new(Rows::default()),
        }
    }

    fn now_ms(&self) -> i64 {
        ms(Instant::now().saturating_duration_since(self.epoch))
    }

    fn rows(&self) -> MutexGuard<'_, Rows> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, request: &ClaimRequest<'_>) -> Vec<Claimed> {
        let now = self.now_ms();
        let slot = slot_of(now, request.spacing);
        let mut rows = self.rows();
        request
            .tasks
            .iter()
            .map(|task| {
                let row = rows.row(request.scope, task);
                if row.slot.is_some_and(|s| s >= slot) {
                    return Claimed::Taken {
                        slot,
                        store_now: now,
                    };
                }
                if let (Some(holder), Some(until)) = (&row.holder, row.lease_until)
                    && until >= now
                {
                    return Claimed::Busy {
                        holder: holder.clone(),
                        lease_until: until,
                        store_now: now,
                    };
                }
                let lease_until = now + ms(request.lease);
                row.slot = Some(slot);
                row.spacing_ms = Some(spacing_ms(request.spacing));
                row.token += 1;
                row.holder = Some(request.holder.to_owned());
                row.lease_until = Some(lease_until);
                row.started = Some(now);
                Claimed::Won(Claim::new(row.id, slot, row.token, lease_until, now))
            })
            .collect()
    }
}

impl Default for MemoryLedger {
    fn default() -> Self {
        MemoryLedger::new()
    }
}

impl Rows {
    fn by_id(&mut self, id: i64) -> Option<&mut Row> {
        self.by_key.values_mut().find(|row| row.id == id)
    }

    fn row(&mut self, scope: &TaskScope, task: &str) -> &mut Row {
        let key = (scope.as_str().to_owned(), task.to_owned());
        if !self.by_key.contains_key(&key) {
            self.next_id += 1;
            let row = Row {
                id: self.next_id,
                ..Row::default()
            };
            self.by_key.insert(key.clone(), row);
        }
        self.by_key.get_mut(&key).expect("inserted above")
    }
}

impl TaskLedger for MemoryLedger {
    fn now(&self) -> BoxFuture<'_, Result<i64, Error>> {
        Box::pin(future::ready(Ok(self.now_ms())))
    }

    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        Box::pin(future::ready(Ok(self.claim_now(request))))
    }

    fn renew(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<i64>, Error>> {
        let now = self.now_ms();
        let mut rows = self.rows();
        let renewed = rows.by_id(row).and_then(|row| {
            let held = row.token == token
                && row.holder.is_some()
                && row.lease_until.is_some_and(|until| until >= now);
            held.then(|| {
                let until = now + ms(lease);
                row.lease_until = Some(until);
                until
            })
        });
        Box::pin(future::ready(Ok(renewed)))
    }

    fn release(&self, row: i64, token: u64) -> BoxFuture<'_, Result<bool, Error>> {
        let mut rows = self.rows();
        let released = rows
            .by_id(row)
            .filter(|row| row.token == token)
            .map(|row| {
                row.holder = None;
                row.lease_until = None;
            })
            .is_some();
        Box::pin(future::ready(Ok(released)))
    }

    fn record<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        report: &'a RunReport,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let finished = self.now_ms() - ms(report.age);
        self.rows().row(scope, task).record(report, finished, false);
        Box::pin(future::ready(Ok(())))
    }

    fn prepare<'a>(
        &'a self,
        scope: &'a TaskScope,
        tasks: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut rows = self.rows();
        for task in tasks {
            rows.row(scope, task);
        }
        Box::pin(future::ready(Ok(())))
    }

    fn settle<'a>(
        &'a self,
        _scope: &'a TaskScope,
        _task: &'a str,
        claim: &'a Claim,
        report: Option<&'a RunReport>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let now = self.now_ms();
        let mut rows = self.rows();
        let settled = rows
            .by_id(claim.row)
            .filter(|row| row.token == claim.token)
            .map(|row| {
                if let Some(report) = report {
                    row.record(report, now - ms(report.age), true);
                }
                row.holder = None;
                row.lease_until = None;
            })
            .is_some();
        Box::pin(future::ready(Ok(settled)))
    }

    fn control<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        control: &'a TaskControl,
    ) -> BoxFuture<'a, Result<LedgerEntry, Error>> {
        let result = control.check().and_then(|()| {
            let now = self.now_ms();
            let mut rows = self.rows();
            let key = (scope.as_str().to_owned(), task.to_owned());
            let row = rows
                .by_key
                .get_mut(&key)
                .ok_or_else(|| task_not_found(scope, task))?;
            match control {
                TaskControl::Pause { reason } => {
                    row.paused = true;
                    row.paused_reason.clone_from(reason);
                }
                TaskControl::Resume => {
                    row.paused = false;
                    row.paused_reason = None;
                }
                TaskControl::RunNow => {
                    row.run_requested.get_or_insert(now);
                }
            }
            Ok(row.entry(scope.as_str(), task, now))
        });
        Box::pin(future::ready(result))
    }

    fn history<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, Error>> {
        let rows = self.rows();
        let key = (scope.as_str().to_owned(), task.to_owned());
        let runs = rows.by_key.get(&key).map_or_else(Vec::new, |row| {
            row.history
                .iter()
                .take(limit.min(HISTORY_LEN))
                .cloned()
                .collect()
        });
        Box::pin(future::ready(Ok(runs)))
    }

    fn controls<'a>(
        &'a self,
        scope: &'a TaskScope,
    ) -> BoxFuture<'a, Result<Vec<ControlState>, Error>> {
        let rows = self.rows();
        let states = rows
            .by_key
            .iter()
            .filter(|((s, _), row)| {
                s == scope.as_str() && (row.paused || row.run_requested.is_some())
            })
            .map(|((_, task), row)| ControlState::new(task.clone(), row.paused, row.run_requested))
            .collect();
        Box::pin(future::ready(Ok(states)))
    }

    fn take_run_request<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        holder: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Claim>, Error>> {
        let now = self.now_ms();
        let mut rows = self.rows();
        let key = (scope.as_str().to_owned(), task.to_owned());
        let taken = rows.by_key.get_mut(&key).and_then(|row| {
            let free = row.holder.is_none() || row.lease_until.is_none_or(|until| until < now);
            if row.run_requested.is_none() || !free {
                return None;
            }
            let lease_until = now + ms(lease);
            row.run_requested = None;
            row.token += 1;
            row.holder = Some(holder.to_owned());
            row.lease_until = Some(lease_until);
            row.started = Some(now);
            Some(Claim::new(
                row.id,
                row.slot.unwrap_or(0),
                row.token,
                lease_until,
                now,
            ))
        });
        Box::pin(future::ready(Ok(taken)))
    }

    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, Error>> {
        let now = self.now_ms();
        let rows = self.rows();
        let entries = rows
            .by_key
            .iter()
            .filter(|((s, _), _)| scope.is_none_or(|scope| scope.as_str() == s))
            .map(|((s, task), row)| row.entry(s, task, now))
            .collect();
        Box::pin(future::ready(Ok(entries)))
    }
}
