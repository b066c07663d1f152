//! The task ledger: the contract a store keeps so that a fleet task runs once per slot
//! across replicas ([`TaskLedger`]), and the values it takes and returns.
//!
//! The runner only knows this trait; the service-group stores implement it (`memory://`,
//! SQLite, PostgreSQL, MySQL) and the service hands the runner its group's ledger, so the
//! runner never imports a store.

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

use super::info::RunOutcome;
use crate::error::{Error, ErrorKind};

/// The longest fleet name [`TaskScope::fleet`] accepts, in characters.
pub const MAX_FLEET_NAME: usize = 200;

/// Whose tasks a ledger row belongs to: one service (`service/<host>/<binary>`, for plain
/// tasks) or one fleet (`fleet/<name>`, for fleet tasks, shared by every replica).
///
/// ```
/// use periodic::TaskScope;
///
/// assert_eq!(TaskScope::service("n1", "nova-scheduler").as_str(), "service/n1/nova-scheduler");
/// assert_eq!(TaskScope::fleet("nova-scheduler")?.as_str(), "fleet/nova-scheduler");
/// assert!(TaskScope::fleet("").is_err());
/// # Ok::<(), periodic::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskScope(String);

impl TaskScope {
    /// The scope of one service's plain tasks.
    pub fn service(host: &str, binary: &str) -> TaskScope {
        TaskScope(format!("service/{host}/{binary}"))
    }

    /// The scope of a fleet's tasks.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for an empty name or one longer than [`MAX_FLEET_NAME`]
    /// characters.
    pub fn fleet(name: &str) -> Result<TaskScope, Error> {
        if name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "a fleet name cannot be empty; use `fleet` for the service's binary or \
                 `fleet = \"name\"`",
            ));
        }
        let chars = name.chars().count();
        if chars > MAX_FLEET_NAME {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "the fleet name `{name}` has {chars} characters; at most {MAX_FLEET_NAME} fit in the ledger"
                ),
            ));
        }
        Ok(TaskScope(format!("fleet/{name}")))
    }

    /// A scope as stored (`service/...` or `fleet/...`), for readers of the ledger such as
    /// `periodic task list`.
    pub fn from_stored(stored: impl Into<String>) -> TaskScope {
        TaskScope(stored.into())
    }

    /// The scope as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fleet's name, if this is a fleet scope.
    pub fn fleet_name(&self) -> Option<&str> {
        self.0.strip_prefix("fleet/")
    }
}

impl fmt::Display for TaskScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A claim of the current slot for several tasks of one scope and spacing, in one call
/// (a store may split it into statements of at most 500 tasks).
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    /// The fleet.
    pub scope: &'a TaskScope,
    /// The tasks, each claimed on its own row.
    pub tasks: Vec<&'a str>,
    /// The tasks' spacing: slot = floor(store now / spacing).
    pub spacing: Duration,
    /// How long the claim holds without renewal.
    pub lease: Duration,
    /// Who claims (`host:pid:service_id`), shown in the ledger.
    pub holder: &'a str,
}

/// A won claim: the ledger row, the slot, the fencing token and the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The ledger row of the task.
    pub row: i64,
    /// The slot won (store time / spacing).
    pub slot: i64,
    /// The fencing token: strictly greater than any token issued before for the task.
    pub token: u64,
    /// When the lease ends unless renewed, on the store's clock (milliseconds).
    pub lease_until: i64,
    /// The store's clock when the claim was judged (milliseconds).
    pub store_now: i64,
}

impl Claim {
    /// A won claim (for implementations outside the crate).
    pub fn new(row: i64, slot: i64, token: u64, lease_until: i64, store_now: i64) -> Claim {
        Claim {
            row,
            slot,
            token,
            lease_until,
            store_now,
        }
    }

    /// The fence a task puts on its own writes.
    pub fn fence(&self) -> Fence {
        Fence {
            row: self.row,
            token: self.token,
        }
    }
}

/// The answer to a claim, per task, in the order of [`ClaimRequest::tasks`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claimed {
    /// This caller runs the slot.
    Won(Claim),
    /// The slot was already claimed (by anyone): nobody runs it again.
    Taken {
        /// The current slot on the store's clock.
        slot: i64,
        /// The store's clock (milliseconds).
        store_now: i64,
    },
    /// An earlier slot's holder still holds its lease: this slot is skipped.
    Busy {
        /// Who holds it.
        holder: String,
        /// Until when, on the store's clock (milliseconds).
        lease_until: i64,
        /// The store's clock (milliseconds).
        store_now: i64,
    },
}

impl Claimed {
    /// The store's clock when the claim was judged.
    pub fn store_now(&self) -> i64 {
        match self {
            Claimed::Won(claim) => claim.store_now,
            Claimed::Taken { store_now, .. } | Claimed::Busy { store_now, .. } => *store_now,
        }
    }
}

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

/// The longest pause reason [`TaskControl::Pause`] accepts, in characters.
pub const MAX_PAUSE_REASON: usize = 255;

/// An operator's control of one task, applied with [`TaskLedger::control`].
///
/// The rules every store keeps:
///
/// * **Pause**: the task does not run, on any runner that shares the ledger (every
///   replica of a fleet), until it is resumed; the state is in the store, so it survives
///   restarts. A run in progress is not cancelled. Pausing a paused task replaces its
///   reason.
/// * **Resume**: the task runs on its regular schedule again (a missed slot is not made
///   up); the reason is cleared.
/// * **Run now**: the task runs once, at once (at the runner's next pass or within a
///   second), on one runner only: the request is consumed in one conditional statement
///   that issues a new fencing token ([`TaskLedger::take_run_request`]). The regular
///   schedule is unchanged. A request for a **paused** task runs it once too (an
///   operator who asks for a run gets one); it stays paused. A second request before the
///   first was consumed is the same request.
///
/// ```
/// use periodic::TaskControl;
///
/// let pause = TaskControl::pause(Some("maintenance"))?;
/// assert_eq!(pause.verb(), "paused");
/// assert!(TaskControl::pause(Some("a\0b")).is_err());
/// # Ok::<(), periodic::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskControl {
    /// Stop running the task until [`Resume`](Self::Resume).
    Pause {
        /// Why, shown to other operators (at most [`MAX_PAUSE_REASON`] characters, no
        /// NUL).
        reason: Option<String>,
    },
    /// Run the task on its schedule again.
    Resume,
    /// Run the task once, at once.
    RunNow,
}

impl TaskControl {
    /// A pause with `reason`, checked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Invalid`] for a reason with a NUL character or longer than
    /// [`MAX_PAUSE_REASON`] characters.
    pub fn pause(reason: Option<&str>) -> Result<TaskControl, Error> {
        let control = TaskControl::Pause {
            reason: reason.map(str::to_owned),
        };
        control.check()?;
        Ok(control)
    }

    /// Checks the control's text (what every store does before writing).
    ///
    /// # Errors
    ///
    /// As [`pause`](Self::pause).
    pub fn check(&self) -> Result<(), Error> {
        if let TaskControl::Pause {
            reason: Some(reason),
        } = self
        {
            if reason.contains('\0') {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    "the pause reason contains a NUL character",
                ));
            }
            let chars = reason.chars().count();
            if chars > MAX_PAUSE_REASON {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!(
                        "the pause reason has {chars} characters; at most {MAX_PAUSE_REASON} are allowed"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The past participle for messages: `paused`, `resumed`, `run requested`.
    pub fn verb(&self) -> &'static str {
        match self {
            TaskControl::Pause { .. } => "paused",
            TaskControl::Resume => "resumed",
            TaskControl::RunNow => "run requested",
        }
    }
}

/// The error of a control or history of a task that has no ledger row.
pub(crate) fn task_not_found(scope: &TaskScope, task: &str) -> Error {
    Error::not_found(format!("Task {task} could not be found in {scope}."))
}

/// One recorded run of a task, from the run history ([`TaskLedger::history`]); times are
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

/// The control state of one task, as a runner polls it ([`TaskLedger::controls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ControlState {
    /// The task.
    pub task: String,
    /// Whether it is paused.
    pub paused: bool,
    /// When a pending run-now request was made (store milliseconds).
    pub run_requested: Option<i64>,
}

impl ControlState {
    /// The state of `task` (for implementations outside the crate).
    pub fn new(task: impl Into<String>, paused: bool, run_requested: Option<i64>) -> Self {
        ControlState {
            task: task.into(),
            paused,
            run_requested,
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
    /// Whether the task is paused ([`TaskControl::Pause`]).
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

/// What a fleet task puts on its own writes: they apply only while no newer token has
/// been issued for the task, so a holder paused past its lease (GC, SIGSTOP, VM
/// migration) cannot overwrite the work of the replica that took over.
///
/// ```
/// use periodic::Fence;
///
/// let fence = Fence::new(42, 7);
/// let sql = format!("UPDATE instances SET state = 'cleaned' WHERE id = $1 AND {}", fence.sql_condition());
/// assert!(sql.ends_with("EXISTS (SELECT 1 FROM periodic_task_ledger WHERE id = 42 AND token = 7)"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fence {
    /// The ledger row of the task.
    pub row: i64,
    /// The token of the run.
    pub token: u64,
}

impl Fence {
    /// The fence of `token` on ledger row `row`.
    pub fn new(row: i64, token: u64) -> Fence {
        Fence { row, token }
    }

    /// A condition to add to an UPDATE or DELETE in the same database as the ledger: true
    /// only while `token` is still the task's latest.
    pub fn sql_condition(&self) -> String {
        format!(
            "EXISTS (SELECT 1 FROM periodic_task_ledger WHERE id = {} AND token = {})",
            self.row, self.token
        )
    }
}

/// A store of the task ledger: the claims of fleet tasks (one run per slot across
/// replicas, judged by the store's clock, with fencing tokens and leases) and the record
/// of every task's last run.
///
/// The rules every implementation keeps:
///
/// * every time is the **store's** clock in milliseconds, never the caller's;
/// * [`claim`](Self::claim) is judged in one statement or transaction per batch: with
///   slot = floor(store now / spacing), a task is won iff its stored slot is below that
///   slot and no unexpired lease is held; winning sets the slot, the holder, the lease,
///   the start and `token + 1`; a slot once claimed is never claimed again;
/// * rows are created on first use;
/// * a failing store is an [`ErrorKind::Store`] error, never a panic.
///
/// The trait is object safe: every method returns a boxed future. The runner calls it; a
/// program calls it directly to read the ledger ([`entries`](Self::entries)) or to test a
/// store of its own.
///
/// # Cancel safety
///
/// A dropped future leaves the store consistent: each claim is one statement, script or
/// transaction, which the store applies whole or not at all. A claim cancelled after the
/// store applied it holds its lease until the lease ends, and its slot is not run again.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use periodic::{ClaimRequest, Claimed, MemoryLedger, TaskLedger, TaskScope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> periodic::Result<()> {
/// let ledger = MemoryLedger::new();
/// let fleet = TaskScope::fleet("nova-scheduler")?;
/// let request = |holder| ClaimRequest {
///     scope: &fleet,
///     tasks: vec!["clean_up"],
///     spacing: Duration::from_secs(600),
///     lease: Duration::from_secs(60),
///     holder,
/// };
/// let Claimed::Won(claim) = ledger.claim(&request("n1:7:1")).await?.remove(0) else {
///     unreachable!("the first claim of a slot wins");
/// };
/// assert_eq!(claim.token, 1);
/// // Another replica, same slot: taken.
/// assert!(matches!(ledger.claim(&request("n2:9:2")).await?[0], Claimed::Taken { .. }));
/// assert!(ledger.renew(claim.row, claim.token, Duration::from_secs(60)).await?.is_some());
/// assert!(ledger.release(claim.row, claim.token).await?);
/// # Ok(()) }
/// ```
pub trait TaskLedger: fmt::Debug + Send + Sync {
    /// The store's clock, in milliseconds.
    fn now(&self) -> BoxFuture<'_, Result<i64, Error>>;

    /// Claims the current slot for each task of `request`; one answer per task, in order.
    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>>;

    /// Extends the lease of `token` on `row` to store now + `lease`. `None` when the lease
    /// is lost: a newer token was issued, or it had expired.
    fn renew(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<i64>, Error>>;

    /// Ends the lease of `token` on `row` (after the run ended). `false` if the token is no
    /// longer the row's.
    fn release(&self, row: i64, token: u64) -> BoxFuture<'_, Result<bool, Error>>;

    /// Records a finished run of `task` in `scope` (runs and failures counted).
    fn record<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        report: &'a RunReport,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Creates the rows of `tasks` in `scope` that do not exist yet, so that the first
    /// claim at a slot boundary has less to do: a runner calls it once, before its first
    /// pass. Optional: the default does nothing (a claim creates what it needs).
    fn prepare<'a>(
        &'a self,
        scope: &'a TaskScope,
        tasks: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (scope, tasks);
        Box::pin(async { Ok(()) })
    }

    /// After a fleet run ended: records it (when `report` is given; `None` when its lease
    /// was lost) and ends the lease of `claim`. `false` if `claim`'s token is no longer the
    /// row's. The default is [`record`](Self::record) then [`release`](Self::release) (the
    /// lease is released even when recording failed; the first error is returned); a
    /// store that can do both in one statement should, and may then record nothing for a
    /// token that is no longer the row's.
    fn settle<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        claim: &'a Claim,
        report: Option<&'a RunReport>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let recorded = match report {
                Some(report) => self.record(scope, task, report).await,
                None => Ok(()),
            };
            let released = self.release(claim.row, claim.token).await;
            recorded.and(released)
        })
    }

    /// The rows of `scope`, or every row, ordered by scope and task.
    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, Error>>;

    /// Applies an operator's control to `task` of `scope` (see [`TaskControl`] for the
    /// rules) and returns the row as it is then. Only a task that has a row can be
    /// controlled (a runner creates its rows when it starts or first records a run).
    ///
    /// The default refuses: a ledger that keeps no controls.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] (`Task T could not be found in SCOPE.`) for a task without
    /// a row; [`ErrorKind::Invalid`] for a bad pause reason; [`ErrorKind::Store`].
    fn control<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        control: &'a TaskControl,
    ) -> BoxFuture<'a, Result<LedgerEntry, Error>> {
        let _ = (scope, task, control);
        Box::pin(async {
            Err(Error::new(
                ErrorKind::Config,
                "this task ledger keeps no operator controls",
            ))
        })
    }

    /// The newest `limit` recorded runs of `task` in `scope` (at most [`HISTORY_LEN`]),
    /// newest first. Every recorded run, plain or fleet, is appended; the store keeps
    /// the newest [`HISTORY_LEN`]. The default keeps no history (empty).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`].
    fn history<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, Error>> {
        let _ = (scope, task, limit);
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The tasks of `scope` that are paused or have a pending run-now request (the
    /// others are neither): what a runner polls. The default: none.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`].
    fn controls<'a>(
        &'a self,
        scope: &'a TaskScope,
    ) -> BoxFuture<'a, Result<Vec<ControlState>, Error>> {
        let _ = scope;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Consumes the pending run-now request of `task` in one conditional statement: won
    /// iff a request is pending and no unexpired lease is held; winning clears the
    /// request and sets `token + 1`, `holder`, the lease and the start, as a claim does
    /// (the slot is unchanged, so the regular schedule is too). `None` when there is no
    /// request or another runner took it. The caller runs the task and then
    /// [`settle`](Self::settle)s the claim. The default: never a request.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`].
    fn take_run_request<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        holder: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Claim>, Error>> {
        let _ = (scope, task, holder, lease);
        Box::pin(async { Ok(None) })
    }

    /// A stream that yields whenever a control was applied somewhere (PostgreSQL's
    /// `LISTEN/NOTIFY`), so that a runner wakes at once instead of at its next poll; `None`
    /// when the store has no such signal (the runner polls [`controls`](Self::controls)).
    fn control_signals(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        None
    }
}

/// The outcome as the ledger stores it.
pub(crate) fn outcome_text(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Succeeded => "succeeded",
        RunOutcome::Failed => "failed",
        RunOutcome::Panicked => "panicked",
        RunOutcome::TimedOut => "timed_out",
    }
}

/// Slot of `now_ms` for `spacing`, as every store computes it.
pub(crate) fn slot_of(now_ms: i64, spacing: Duration) -> i64 {
    now_ms.div_euclid(spacing_ms(spacing))
}

/// `spacing` in whole milliseconds, at least 1.
pub(crate) fn spacing_ms(spacing: Duration) -> i64 {
    i64::try_from(spacing.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// `d` in whole milliseconds.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_names() {
        let err = TaskScope::fleet("").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("cannot be empty"), "{err}");
        assert!(TaskScope::fleet(&"x".repeat(MAX_FLEET_NAME)).is_ok());
        let err = TaskScope::fleet(&"x".repeat(MAX_FLEET_NAME + 1)).unwrap_err();
        assert!(err.to_string().contains("201 characters"), "{err}");
        assert_eq!(TaskScope::fleet("a").unwrap().fleet_name(), Some("a"));
        assert_eq!(TaskScope::service("h", "b").fleet_name(), None);
    }

    #[test]
    fn slots() {
        let ten = Duration::from_secs(10);
        assert_eq!(slot_of(9_999, ten), 0);
        assert_eq!(slot_of(10_000, ten), 1);
        assert_eq!(slot_of(0, Duration::ZERO), 0);
    }
}
