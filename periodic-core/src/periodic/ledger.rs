//! The task ledger: the contract a store keeps so that a fleet task runs once per slot
//! across replicas ([`TaskLedger`]), and the values it takes and returns.
//!
//! The runner only knows this trait; the service-group stores implement it (`memory://`,
//! SQLite, PostgreSQL, MySQL) and the service hands the runner its group's ledger, so the
//! runner never imports a store.

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::{Error, ErrorKind};

mod claim;
mod control;
mod entry;
mod scope;
mod units;

pub use claim::{Claim, ClaimRequest, Claimed, Fence};
pub(crate) use control::task_not_found;
pub use control::{ControlState, MAX_PAUSE_REASON, TaskControl};
pub use entry::{HISTORY_LEN, LedgerEntry, RunRecord, RunReport};
pub use scope::{MAX_FLEET_NAME, TaskScope};
pub(crate) use units::{ms, outcome_text, slot_of, spacing_ms};

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
