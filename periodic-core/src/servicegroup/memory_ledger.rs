//! The task ledger of the `memory://` store: in this process, on tokio's clock, for
//! paused-time tests of fleet tasks.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::future::{self, BoxFuture};
use tokio::time::Instant;

use crate::error::Error;
use crate::periodic::ledger::{ms, outcome_text, slot_of, spacing_ms};
use crate::periodic::{
    Claim, ClaimRequest, Claimed, LedgerEntry, RunOutcome, RunReport, TaskLedger, TaskScope,
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
    runs: u64,
    failures: u64,
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
        let mut rows = self.rows();
        let row = rows.row(scope, task);
        row.finished = Some(finished);
        row.started = Some(finished - ms(report.duration));
        row.outcome = Some(outcome_text(report.outcome));
        row.duration_ms = Some(ms(report.duration));
        row.runs += 1;
        if report.outcome != RunOutcome::Succeeded {
            row.failures += 1;
        }
        Box::pin(future::ready(Ok(())))
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
            .map(|((s, task), row)| LedgerEntry {
                row: row.id,
                scope: TaskScope::from_stored(s.clone()),
                task: task.clone(),
                spacing: row
                    .spacing_ms
                    .map(|s| Duration::from_millis(u64::try_from(s).unwrap_or(0))),
                slot: row.slot,
                token: row.token,
                holder: row.holder.clone(),
                lease_until: row.lease_until,
                started: row.started,
                finished: row.finished,
                outcome: row.outcome.map(str::to_owned),
                duration: row
                    .duration_ms
                    .map(|d| Duration::from_millis(u64::try_from(d).unwrap_or(0))),
                runs: row.runs,
                failures: row.failures,
                read_at: now,
            })
            .collect();
        Box::pin(future::ready(Ok(entries)))
    }
}
