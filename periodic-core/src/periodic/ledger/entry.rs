//! What the ledger records and reads back: a finished run, the run history, a task's row.

use std::time::Duration;

use super::super::info::RunOutcome;
use super::scope::TaskScope;
use super::units::{slot_of, spacing_ms};

/// One finished run, as the ledger records it. The store derives the times from its own
/// clock: finished = store now − `age`, started = finished − `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// How long it took.
    pub duration: Duration,
    /// How late it started against its due time.
    pub lateness: Duration,
    /// How long ago it ended when the report was sent (a report may wait in a queue).
    pub age: Duration,
    /// The task's spacing, stored with a plain task's run so that a reader of the ledger
    /// can show it and the next due time (a fleet claim stores its own).
    pub spacing: Option<Duration>,
}

impl RunReport {
    /// A report of a run that ended `age` ago.
    pub fn new(outcome: RunOutcome, duration: Duration, lateness: Duration, age: Duration) -> Self {
        RunReport {
            outcome,
            duration,
            lateness,
            age,
            spacing: None,
        }
    }

    /// The same report, with the task's spacing to store.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::{RunOutcome, RunReport};
    ///
    /// let report = RunReport::new(RunOutcome::Succeeded, Duration::from_secs(1), Duration::ZERO, Duration::ZERO)
    ///     .with_spacing(Duration::from_secs(60));
    /// assert_eq!(report.spacing, Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn with_spacing(mut self, spacing: Duration) -> Self {
        self.spacing = Some(spacing);
        self
    }
}

/// One recorded run of a task, from the run history ([`TaskLedger::history`](super::TaskLedger::history)); times are
/// the store's milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunRecord {
    /// When it started.
    pub started: i64,
    /// When it ended.
    pub finished: i64,
    /// How long it took.
    pub duration: Duration,
    /// How late it started against its due time.
    pub lateness: Duration,
    /// `succeeded`, `failed`, `panicked` or `timed_out`.
    pub outcome: String,
    /// The fencing token of the run: a fleet run's or a run-now run's; `None` for a plain
    /// task's scheduled run.
    pub token: Option<u64>,
    /// Who ran it, when it held a claim.
    pub holder: Option<String>,
}

impl RunRecord {
    /// A record (for implementations outside the crate).
    pub fn new(
        started: i64,
        finished: i64,
        duration: Duration,
        lateness: Duration,
        outcome: impl Into<String>,
    ) -> RunRecord {
        RunRecord {
            started,
            finished,
            duration,
            lateness,
            outcome: outcome.into(),
            token: None,
            holder: None,
        }
    }
}

/// How many runs the history keeps per (scope, task).
pub const HISTORY_LEN: usize = 50;

/// The ledger's row of one (scope, task): the last run on the store's clock, the counts,
/// and for a fleet task the current claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerEntry {
    /// The row.
    pub row: i64,
    /// The service or fleet.
    pub scope: TaskScope,
    /// The task.
    pub task: String,
    /// The spacing of the last claim, if the task is a fleet task.
    pub spacing: Option<Duration>,
    /// The last slot claimed.
    pub slot: Option<i64>,
    /// The last fencing token issued (0: none yet).
    pub token: u64,
    /// The holder of the current or last claim, `None` once released.
    pub holder: Option<String>,
    /// The end of the current lease (store milliseconds).
    pub lease_until: Option<i64>,
    /// The last run's start (store milliseconds).
    pub started: Option<i64>,
    /// The last run's end (store milliseconds).
    pub finished: Option<i64>,
    /// How the last run ended: `succeeded`, `failed` or `panicked`.
    pub outcome: Option<String>,
    /// How long the last run took.
    pub duration: Option<Duration>,
    /// How late the last run started against its due time.
    pub lateness: Option<Duration>,
    /// Whether the task is paused ([`TaskControl::Pause`](super::TaskControl::Pause)).
    pub paused: bool,
    /// Why, if the operator said.
    pub paused_reason: Option<String>,
    /// When a pending run-now request was made (store milliseconds), until a runner
    /// consumes it.
    pub run_requested: Option<i64>,
    /// Recorded runs.
    pub runs: u64,
    /// Recorded runs that failed or panicked.
    pub failures: u64,
    /// The store's clock when the row was read (milliseconds).
    pub read_at: i64,
}

impl LedgerEntry {
    /// The row `row` of `task` in `scope`, read at store time `read_at`, with nothing
    /// recorded yet: what a ledger outside this crate fills in (the fields are public).
    ///
    /// ```
    /// use periodic::{LedgerEntry, TaskScope};
    ///
    /// let mut entry = LedgerEntry::new(1, TaskScope::fleet("cells")?, "heal", 1_000);
    /// entry.runs = 3;
    /// assert!(!entry.is_running());
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn new(row: i64, scope: TaskScope, task: impl Into<String>, read_at: i64) -> Self {
        LedgerEntry {
            row,
            scope,
            task: task.into(),
            spacing: None,
            slot: None,
            token: 0,
            holder: None,
            lease_until: None,
            started: None,
            finished: None,
            outcome: None,
            duration: None,
            lateness: None,
            paused: false,
            paused_reason: None,
            run_requested: None,
            runs: 0,
            failures: 0,
            read_at,
        }
    }

    /// Whether a holder holds an unexpired lease: a run is in progress somewhere.
    pub fn is_running(&self) -> bool {
        self.holder.is_some() && self.lease_until.is_some_and(|until| until >= self.read_at)
    }

    /// When the task is next due by the ledger (store milliseconds): for a fleet task the
    /// next slot boundary after the last claimed slot, for a plain task its last start
    /// plus its spacing; `None` when paused or when the ledger lacks the figures. A task
    /// already overdue shows its due time, in the past.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::{LedgerEntry, TaskScope};
    ///
    /// let mut entry = LedgerEntry::new(1, TaskScope::fleet("cells")?, "heal", 25_000);
    /// entry.spacing = Some(Duration::from_secs(10));
    /// entry.slot = Some(2);
    /// assert_eq!(entry.next_due(), Some(30_000));
    /// entry.paused = true;
    /// assert_eq!(entry.next_due(), None);
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn next_due(&self) -> Option<i64> {
        if self.paused {
            return None;
        }
        let spacing = spacing_ms(self.spacing?);
        match (self.scope.fleet_name(), self.slot) {
            (Some(_), Some(slot)) => Some((slot + 1) * spacing),
            (Some(_), None) => Some((slot_of(self.read_at, self.spacing?) + 1) * spacing),
            (None, _) => self.started.map(|started| started + spacing),
        }
    }
}
