//! The task ledger in the SQL store (`periodic_task_ledger`, created by the store's
//! migrations): fleet claims judged by the database's clock, fencing tokens, leases, and
//! the record of every task's last run.
//!
//! A claim of up to [`BATCH`] tasks is one transaction: the missing rows are created first
//! (`INSERT ... ON CONFLICT DO NOTHING`, `INSERT IGNORE`, `INSERT OR IGNORE`, outside the
//! transaction, once per row and ledger), then `BEGIN` (SQLite: `BEGIN IMMEDIATE`, the
//! write lock up front), the database's clock, the rows locked in id order, the winners
//! updated by id, `COMMIT`.
//!
//! On PostgreSQL and MySQL the rows are locked with `SELECT ... FOR UPDATE SKIP LOCKED`
//! (MySQL 8.0, MariaDB 10.6 and later): when ten replicas claim the same tasks at the same
//! boundary, each locks the rows nobody else holds and skips the others, instead of all of
//! them queueing behind the first (measured: the p99 of a claim of 1,000 tasks by ten
//! replicas, see BENCHMARKS.md). A skipped row is claimed again in a second transaction
//! right after the first commits; by then its holder has usually committed (the answer is
//! `Taken`), and if it rolled back the slot can still be won. A row held through both
//! rounds is answered `Busy`: someone is claiming or releasing it at this very moment.
//! Nothing waits on a row lock, so there is no lock order to keep and no deadlock.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::Row as _;

use super::dialect::Dialect;
use super::{Arg, Pool};
use crate::error::{Error, ErrorKind};
use crate::periodic::ledger::{ms, outcome_text, spacing_ms, task_not_found};
use crate::periodic::{
    Claim, ClaimRequest, Claimed, ControlState, HISTORY_LEN, LedgerEntry, RunOutcome, RunRecord,
    RunReport, TaskControl, TaskLedger, TaskScope,
};

/// The most tasks one claim statement names.
pub(crate) const BATCH: usize = 500;

/// The task ledger of an SQL store (shares the store's pool).
#[derive(Debug, Clone)]
pub(crate) struct SqlLedger {
    pub(crate) pool: Pool,
    pub(crate) dialect: Dialect,
    pub(crate) url: std::sync::Arc<str>,
    /// The `(scope, task)` rows this ledger has created or seen, so that a claim does not
    /// send the `INSERT` of its rows again at every slot.
    pub(crate) known: std::sync::Arc<Mutex<HashMap<String, HashSet<String>>>>,
}

/// A locked row of a claim: `(id, task, slot, token, holder, lease_until_ms)`.
type Locked = (i64, String, Option<i64>, i64, Option<String>, Option<i64>);

/// The holder a `Busy` answer names for a row another transaction held during both
/// rounds of a claim.
const CLAIM_IN_PROGRESS: &str = "(a claim or release in progress elsewhere)";

/// The holder a `Busy` answer names for a row deleted (by hand) since this ledger saw it.
const ROW_DELETED: &str = "(the ledger row was deleted; created again at the next claim)";

/// How often a statement the database aborted as a deadlock victim is tried again.
const DEADLOCK_RETRIES: u32 = 4;

/// Whether the database aborted the statement or transaction to break a deadlock (or, at
/// `SERIALIZABLE`, a conflict): SQLSTATE `40001` (MySQL's 1213 and PostgreSQL's
/// serialization failure) or `40P01` (PostgreSQL's deadlock). Nothing of it was applied,
/// so it is safe to run again.
fn deadlocked(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

/// A pause of 2-4, 4-8, 8-16 ... ms before the next attempt, random so that the two
/// victims of a deadlock do not meet again.
async fn deadlock_pause(attempt: u32) {
    let base = 1u64 << attempt.min(8);
    let ms = base + rand::random_range(0..=base);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Evaluates `$body` (an `async` expression giving a `Result<_, sqlx::Error>`) again when
/// the database chose it as a deadlock victim, at most [`DEADLOCK_RETRIES`] times. InnoDB
/// picks victims among concurrent claims, run records and row creations of the same rows
/// (next-key and secondary-index locks); PostgreSQL does too, more rarely.
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0u32;
        loop {
            match $body {
                Err(e) if deadlocked(&e) && attempt < DEADLOCK_RETRIES => {
                    attempt += 1;
                    deadlock_pause(attempt).await;
                }
                other => break other,
            }
        }
    }};
}

/// One claim transaction: the database's clock, the slot, the rows it locked, the ids it won.
#[derive(Debug)]
struct Round {
    now: i64,
    slot: i64,
    lease: i64,
    locked: Vec<Locked>,
    winners: Vec<i64>,
}

impl Round {
    /// Those of `tasks` whose rows this round did not lock.
    fn missing<'t>(&self, tasks: &[&'t str]) -> Vec<&'t str> {
        tasks
            .iter()
            .copied()
            .filter(|task| !self.locked.iter().any(|row| row.1 == *task))
            .collect()
    }
}

impl SqlLedger {
    /// The database's clock in epoch milliseconds, as an SQL expression.
    fn now_sql(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Dialect::Postgres => {
                "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)"
            }
            Dialect::MySql => {
                "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS SIGNED)"
            }
        }
    }

    fn insert_missing(&self, rows: usize) -> String {
        InsertText(self.dialect).insert_missing(rows)
    }
}

/// The channel a control `NOTIFY`s on PostgreSQL (the payload is the scope).
pub(crate) const CONTROL_CHANNEL: &str = "periodic_task_controls";

/// The statements of the run history: append, the id below which runs are trimmed (the
/// [`HISTORY_LEN`]th newest), trim.
struct HistoryText {
    insert: String,
    cut: String,
    trim: String,
}

impl HistoryText {
    fn new(dialect: Dialect) -> HistoryText {
        HistoryText {
            insert: dialect.params(
                "INSERT INTO periodic_task_runs (scope, task, started_ms, finished_ms, \
                 duration_ms, lateness_ms, outcome, token, holder) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            ),
            cut: dialect.params(&format!(
                "SELECT id FROM periodic_task_runs WHERE scope = $1 AND task = $2 \
                 ORDER BY id DESC LIMIT 1 OFFSET {}",
                HISTORY_LEN - 1
            )),
            trim: dialect.params(
                "DELETE FROM periodic_task_runs WHERE scope = $1 AND task = $2 AND id < $3",
            ),
        }
    }
}

/// The statement that creates missing rows, per dialect.
struct InsertText(Dialect);

impl InsertText {
    fn insert_missing(&self, rows: usize) -> String {
        let mut sql = match self.0 {
            Dialect::Sqlite => "INSERT OR IGNORE INTO periodic_task_ledger (scope, task) VALUES ",
            Dialect::Postgres => "INSERT INTO periodic_task_ledger (scope, task) VALUES ",
            Dialect::MySql => "INSERT IGNORE INTO periodic_task_ledger (scope, task) VALUES ",
        }
        .to_owned();
        for i in 0..rows {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}(${}, ${})", 2 * i + 1, 2 * i + 2);
        }
        if self.0 == Dialect::Postgres {
            sql.push_str(" ON CONFLICT DO NOTHING");
        }
        self.0.params(&sql)
    }
}

impl SqlLedger {
    fn failed(&self, what: &str, e: sqlx::Error) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("task ledger in `{}`: {what} failed", self.url),
        )
        .with_source(e)
    }

    async fn store_now(&self) -> Result<i64, Error> {
        let sql = format!("SELECT {}", self.now_sql());
        let result: Result<i64, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query(&sql)
                .fetch_one(p)
                .await
                .and_then(|row| row.try_get_unchecked(0))
        });
        result.map_err(|e| self.failed("reading the clock", e))
    }

    async fn ensure_rows(&self, scope: &str, tasks: &[&str]) -> Result<(), Error> {
        let unknown: Vec<&str> = tasks
            .iter()
            .copied()
            .filter(|task| !self.is_known(scope, task))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let sql = self.insert_missing(unknown.len());
        let args: Vec<Arg<'_>> = unknown
            .iter()
            .flat_map(|task| [Arg::Str(scope), Arg::Str(task)])
            .collect();
        let args = &args[..];
        let result = retrying!(on_pool!(&self.pool, |p| bound_query!(&sql, args)
            .execute(p)
            .await
            .map(drop)));
        result.map_err(|e| self.failed("creating ledger rows", e))?;
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .entry(scope.to_owned())
            .or_default()
            .extend(unknown.iter().map(|task| (*task).to_owned()));
        Ok(())
    }

    fn is_known(&self, scope: &str, task: &str) -> bool {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(scope).is_some_and(|tasks| tasks.contains(task))
    }

    /// Forgets rows found deleted (by hand): the next claim creates them again.
    fn forget_rows(&self, scope: &str, tasks: &[&str]) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = known.get_mut(scope) {
            for task in tasks {
                known.remove(*task);
            }
        }
    }

    /// One claim transaction over `tasks` (sorted, distinct). On PostgreSQL and MySQL the
    /// rows are locked with `SKIP LOCKED`: a row another transaction holds right now (a
    /// concurrent claimant's, or its holder's release) is left out of `locked` instead of
    /// being waited for, so claimants of the same tasks never queue behind each other.
    async fn claim_round(
        &self,
        request: &ClaimRequest<'_>,
        tasks: &[&str],
    ) -> Result<Round, Error> {
        let scope = request.scope.as_str();
        let placeholders = (0..tasks.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let lock = if self.dialect == Dialect::Sqlite {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let select = self.dialect.params(&format!(
            "SELECT id, task, slot, token, holder, lease_until_ms FROM periodic_task_ledger \
             WHERE scope = $1 AND task IN ({placeholders}) ORDER BY id{lock}"
        ));
        let now_sql = format!("SELECT {}", self.now_sql());
        let begin = if self.dialect == Dialect::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        };
        let mut select_args = vec![Arg::Str(scope)];
        select_args.extend(tasks.iter().map(|t| Arg::Str(t)));
        let select_args = &select_args[..];
        let spacing = spacing_ms(request.spacing);
        let lease = ms(request.lease);
        let holder = request.holder;
        let dialect = self.dialect;

        // One transaction: the clock, the rows locked, the winners decided and updated.
        let result: Result<Round, sqlx::Error> = retrying!(on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin_with(begin).await?;
                let now: i64 = sqlx::query(&now_sql)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get_unchecked(0)?;
                let slot = now.div_euclid(spacing);
                let rows = bound_query!(&select, select_args)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut locked: Vec<Locked> = Vec::with_capacity(rows.len());
                for row in &rows {
                    locked.push((
                        row.try_get_unchecked(0)?,
                        row.try_get_unchecked(1)?,
                        row.try_get_unchecked(2)?,
                        row.try_get_unchecked(3)?,
                        row.try_get_unchecked(4)?,
                        row.try_get_unchecked(5)?,
                    ));
                }
                let winners: Vec<i64> = locked
                    .iter()
                    .filter(|(_, _, stored, _, held, until)| {
                        stored.is_none_or(|s| s < slot)
                            && (held.is_none() || until.is_none_or(|u| u < now))
                    })
                    .map(|row| row.0)
                    .collect();
                if !winners.is_empty() {
                    let ids = winners
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    let update = dialect.params(&format!(
                        "UPDATE periodic_task_ledger SET slot = $1, spacing_ms = $2, \
                         token = token + 1, holder = $3, lease_until_ms = $4, \
                         started_ms = $5, updated_ms = $6 WHERE id IN ({ids})"
                    ));
                    let args = [
                        Arg::I64(slot),
                        Arg::I64(spacing),
                        Arg::Str(holder),
                        Arg::I64(now + lease),
                        Arg::I64(now),
                        Arg::I64(now),
                    ];
                    bound_query!(&update, &args[..]).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(Round {
                    now,
                    slot,
                    lease,
                    locked,
                    winners,
                })
            }
            .await
        }));
        result.map_err(|e| self.failed("claim", e))
    }

    /// Claims up to [`BATCH`] tasks: one round, then one more round for the rows the
    /// first skipped because another transaction held them (by then it has usually
    /// committed, so they answer `Taken`; if it rolled back, they can still be won). A row
    /// still held after the second round is answered `Busy`: someone is claiming or
    /// releasing it at this very moment, and this replica does not run it.
    async fn claim_batch(
        &self,
        request: &ClaimRequest<'_>,
        tasks: &[&str],
    ) -> Result<Vec<Claimed>, Error> {
        let mut sorted: Vec<&str> = tasks.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let scope = request.scope.as_str();
        self.ensure_rows(scope, &sorted).await?;
        let mut rounds = vec![self.claim_round(request, &sorted).await?];
        // From here on the first round's wins are committed: an error may not lose them
        // (nobody else runs those slots), so the skipped rows then answer `Busy`.
        let skipped = rounds[0].missing(&sorted);
        if !skipped.is_empty() {
            match self.claim_round(request, &skipped).await {
                Ok(round) => {
                    let held = round.missing(&skipped);
                    rounds.push(round);
                    if !held.is_empty() {
                        self.forget_deleted(scope, &held).await;
                    }
                }
                Err(error) => tracing::debug!(
                    error = %error.report(),
                    "Second claim round failed; its {} tasks are skipped this slot",
                    skipped.len()
                ),
            }
        }
        Ok(self.answers(scope, tasks, &rounds))
    }

    /// Of rows that two locking reads skipped, forgets those that no longer exist (deleted
    /// by hand), so that the next claim creates them again. A row absent from a locking
    /// read is either held or gone: a plain read, which never waits on a row lock, tells
    /// which.
    async fn forget_deleted(&self, scope: &str, held: &[&str]) {
        match self.present(scope, held).await {
            Ok(present) => {
                let gone: Vec<&str> = held
                    .iter()
                    .copied()
                    .filter(|task| !present.iter().any(|p| p == task))
                    .collect();
                if !gone.is_empty() {
                    self.forget_rows(scope, &gone);
                }
            }
            Err(error) => {
                tracing::debug!(error = %error.report(), "Cannot tell held rows from deleted ones");
            }
        }
    }

    /// Which of `tasks` have a row, read without locking.
    async fn present(&self, scope: &str, tasks: &[&str]) -> Result<Vec<String>, Error> {
        let placeholders = (0..tasks.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = self.dialect.params(&format!(
            "SELECT task FROM periodic_task_ledger WHERE scope = $1 AND task IN ({placeholders})"
        ));
        let mut args = vec![Arg::Str(scope)];
        args.extend(tasks.iter().map(|t| Arg::Str(t)));
        let args = &args[..];
        let result: Result<Vec<String>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let rows = bound_query!(&sql, args).fetch_all(p).await?;
                rows.iter().map(|row| row.try_get_unchecked(0)).collect()
            }
            .await
        });
        result.map_err(|e| self.failed("reading ledger rows", e))
    }

    /// The answer of each task of a claim, from the round that locked its row.
    fn answers(&self, scope: &str, tasks: &[&str], rounds: &[Round]) -> Vec<Claimed> {
        let mut by_task: HashMap<&str, (&Round, &Locked)> = HashMap::new();
        for round in rounds {
            for row in &round.locked {
                by_task.entry(row.1.as_str()).or_insert((round, row));
            }
        }
        let last = rounds.last().expect("a claim has a first round");
        tasks
            .iter()
            .map(|task| {
                let Some(&(round, &(id, _, stored, token, ref held, until))) = by_task.get(task)
                else {
                    // Held by another transaction through both rounds, or deleted by hand
                    // (then created again at the next claim): not run here this slot.
                    // Never an error: the claim's other answers may be committed wins.
                    let holder = if self.is_known(scope, task) {
                        CLAIM_IN_PROGRESS
                    } else {
                        tracing::warn!(task, scope, "The ledger row of task {task} was deleted; it is created again at the next claim");
                        ROW_DELETED
                    };
                    return Claimed::Busy {
                        holder: holder.to_owned(),
                        lease_until: last.now,
                        store_now: last.now,
                    };
                };
                let (now, slot) = (round.now, round.slot);
                if round.winners.contains(&id) {
                    let token = u64::try_from(token).unwrap_or(0) + 1;
                    Claimed::Won(Claim::new(id, slot, token, now + round.lease, now))
                } else if stored.is_some_and(|s| s >= slot) {
                    Claimed::Taken {
                        slot,
                        store_now: now,
                    }
                } else {
                    Claimed::Busy {
                        holder: held.clone().unwrap_or_default(),
                        lease_until: until.unwrap_or(now),
                        store_now: now,
                    }
                }
            })
            .collect()
    }

    async fn claim_all(&self, request: &ClaimRequest<'_>) -> Result<Vec<Claimed>, Error> {
        let mut out = Vec::with_capacity(request.tasks.len());
        for chunk in request.tasks.chunks(BATCH) {
            match self.claim_batch(request, chunk).await {
                Ok(answers) => out.extend(answers),
                Err(error) if out.is_empty() => return Err(error),
                Err(error) => {
                    // Earlier batches are committed and may hold wins: keep them; the
                    // tasks of this batch are not run here this slot.
                    tracing::warn!(error = %error.report(), "A claim of {} fleet tasks failed; they are skipped this slot", chunk.len());
                    let store_now = out.last().map_or(0, Claimed::store_now);
                    out.extend(chunk.iter().map(|_| Claimed::Busy {
                        holder: String::new(),
                        lease_until: store_now,
                        store_now,
                    }));
                }
            }
        }
        Ok(out)
    }

    async fn execute(&self, what: &str, sql: &str, args: &[Arg<'_>]) -> Result<u64, Error> {
        let sql = self.dialect.params(sql);
        let result = retrying!(on_pool!(&self.pool, |p| bound_query!(&sql, args)
            .execute(p)
            .await
            .map(|done| done.rows_affected())));
        result.map_err(|e| self.failed(what, e))
    }

    async fn renew_lease(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> Result<Option<i64>, Error> {
        let now = self.store_now().await?;
        let until = now + ms(lease);
        let token = i64::try_from(token).unwrap_or(i64::MAX);
        let sql = "UPDATE periodic_task_ledger SET lease_until_ms = $1, updated_ms = $2 \
                   WHERE id = $3 AND token = $4 AND holder IS NOT NULL AND lease_until_ms >= $5";
        let args = [
            Arg::I64(until),
            Arg::I64(now),
            Arg::I64(row),
            Arg::I64(token),
            Arg::I64(now),
        ];
        let n = self.execute("renewing a lease", sql, &args).await?;
        Ok((n > 0).then_some(until))
    }

    async fn release_lease(&self, row: i64, token: u64) -> Result<bool, Error> {
        let now = self.store_now().await?;
        let token = i64::try_from(token).unwrap_or(i64::MAX);
        let sql = "UPDATE periodic_task_ledger SET holder = NULL, lease_until_ms = NULL, \
                   updated_ms = $1 WHERE id = $2 AND token = $3";
        let args = [Arg::I64(now), Arg::I64(row), Arg::I64(token)];
        Ok(self.execute("releasing a lease", sql, &args).await? > 0)
    }

    fn begin_sql(&self) -> &'static str {
        if self.dialect == Dialect::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        }
    }

    /// Records a plain run, appends it to the history and trims the history, in one
    /// transaction on the database's clock.
    async fn record_run(
        &self,
        scope: &TaskScope,
        task: &str,
        report: &RunReport,
    ) -> Result<(), Error> {
        self.ensure_rows(scope.as_str(), &[task]).await?;
        let now_sql = format!("SELECT {}", self.now_sql());
        let update = self.dialect.params(
            "UPDATE periodic_task_ledger SET started_ms = $1, finished_ms = $2, \
             outcome = $3, duration_ms = $4, lateness_ms = $5, runs = runs + 1, \
             failures = failures + $6, updated_ms = $7, spacing_ms = COALESCE($8, spacing_ms) \
             WHERE scope = $9 AND task = $10",
        );
        let history = HistoryText::new(self.dialect);
        let begin = self.begin_sql();
        let (scope, outcome) = (scope.as_str(), outcome_text(report.outcome));
        let (duration, lateness, age) = (ms(report.duration), ms(report.lateness), ms(report.age));
        let failed = i64::from(report.outcome != RunOutcome::Succeeded);
        let spacing = report.spacing.map(spacing_ms);
        let result: Result<(), sqlx::Error> = retrying!(on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin_with(begin).await?;
                let now: i64 = sqlx::query(&now_sql)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get_unchecked(0)?;
                let finished = now - age;
                let started = finished - duration;
                let args = [
                    Arg::I64(started),
                    Arg::I64(finished),
                    Arg::Str(outcome),
                    Arg::I64(duration),
                    Arg::I64(lateness),
                    Arg::I64(failed),
                    Arg::I64(now),
                    Arg::OptI64(spacing),
                    Arg::Str(scope),
                    Arg::Str(task),
                ];
                bound_query!(&update, &args[..]).execute(&mut *tx).await?;
                let run = [
                    Arg::Str(scope),
                    Arg::Str(task),
                    Arg::I64(started),
                    Arg::I64(finished),
                    Arg::I64(duration),
                    Arg::I64(lateness),
                    Arg::Str(outcome),
                    Arg::OptI64(None),
                    Arg::OptStr(None),
                ];
                bound_query!(&history.insert, &run[..])
                    .execute(&mut *tx)
                    .await?;
                let keys = [Arg::Str(scope), Arg::Str(task)];
                let cut: Option<i64> = match bound_query!(&history.cut, &keys[..])
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(row) => Some(row.try_get_unchecked(0)?),
                    None => None,
                };
                if let Some(cut) = cut {
                    let trim = [Arg::Str(scope), Arg::Str(task), Arg::I64(cut)];
                    bound_query!(&history.trim, &trim[..])
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await
        }));
        result.map_err(|e| self.failed("recording a run", e))
    }

    /// Records a fleet (or run-now) run and releases its lease in one transaction on the
    /// database's clock, guarded by the token: the run is appended to the history with
    /// its token and holder. A stale token records and releases nothing (`false`).
    async fn settle_run(
        &self,
        scope: &TaskScope,
        task: &str,
        claim: &Claim,
        report: Option<&RunReport>,
    ) -> Result<bool, Error> {
        let Some(report) = report else {
            return self.release_lease(claim.row, claim.token).await;
        };
        let lock = if self.dialect == Dialect::Sqlite {
            ""
        } else {
            " FOR UPDATE"
        };
        let now_sql = format!("SELECT {}", self.now_sql());
        let holder_sql = self.dialect.params(&format!(
            "SELECT holder FROM periodic_task_ledger WHERE id = $1 AND token = $2{lock}"
        ));
        let update = self.dialect.params(
            "UPDATE periodic_task_ledger SET started_ms = $1, finished_ms = $2, \
             outcome = $3, duration_ms = $4, lateness_ms = $5, runs = runs + 1, \
             failures = failures + $6, updated_ms = $7, holder = NULL, lease_until_ms = NULL \
             WHERE id = $8 AND token = $9",
        );
        let history = HistoryText::new(self.dialect);
        let begin = self.begin_sql();
        let (scope, outcome) = (scope.as_str(), outcome_text(report.outcome));
        let (duration, lateness, age) = (ms(report.duration), ms(report.lateness), ms(report.age));
        let failed = i64::from(report.outcome != RunOutcome::Succeeded);
        let token = i64::try_from(claim.token).unwrap_or(i64::MAX);
        let row_id = claim.row;
        let result: Result<bool, sqlx::Error> = retrying!(on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin_with(begin).await?;
                let now: i64 = sqlx::query(&now_sql)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get_unchecked(0)?;
                let ids = [Arg::I64(row_id), Arg::I64(token)];
                let Some(found) = bound_query!(&holder_sql, &ids[..])
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    tx.rollback().await?;
                    return Ok(false);
                };
                let holder: Option<String> = found.try_get_unchecked(0)?;
                let finished = now - age;
                let started = finished - duration;
                let args = [
                    Arg::I64(started),
                    Arg::I64(finished),
                    Arg::Str(outcome),
                    Arg::I64(duration),
                    Arg::I64(lateness),
                    Arg::I64(failed),
                    Arg::I64(now),
                    Arg::I64(row_id),
                    Arg::I64(token),
                ];
                bound_query!(&update, &args[..]).execute(&mut *tx).await?;
                let run = [
                    Arg::Str(scope),
                    Arg::Str(task),
                    Arg::I64(started),
                    Arg::I64(finished),
                    Arg::I64(duration),
                    Arg::I64(lateness),
                    Arg::Str(outcome),
                    Arg::OptI64(Some(token)),
                    Arg::OptStr(holder.as_deref()),
                ];
                bound_query!(&history.insert, &run[..])
                    .execute(&mut *tx)
                    .await?;
                let keys = [Arg::Str(scope), Arg::Str(task)];
                let cut: Option<i64> = match bound_query!(&history.cut, &keys[..])
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(row) => Some(row.try_get_unchecked(0)?),
                    None => None,
                };
                if let Some(cut) = cut {
                    let trim = [Arg::Str(scope), Arg::Str(task), Arg::I64(cut)];
                    bound_query!(&history.trim, &trim[..])
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        }));
        result.map_err(|e| self.failed("recording a run", e))
    }

    /// Applies `control` to `task` of `scope`; on PostgreSQL, `NOTIFY`s the runners.
    async fn apply_control(
        &self,
        scope: &TaskScope,
        task: &str,
        control: &TaskControl,
    ) -> Result<LedgerEntry, Error> {
        control.check()?;
        let now = self.store_now().await?;
        let (scope_arg, task_arg) = (Arg::Str(scope.as_str()), Arg::Str(task));
        let (sql, args) = match control {
            TaskControl::Pause { reason } => (
                "UPDATE periodic_task_ledger SET paused = 1, paused_reason = $1, \
                 updated_ms = $2 WHERE scope = $3 AND task = $4",
                vec![
                    Arg::OptStr(reason.as_deref()),
                    Arg::I64(now),
                    scope_arg,
                    task_arg,
                ],
            ),
            TaskControl::Resume => (
                "UPDATE periodic_task_ledger SET paused = 0, paused_reason = NULL, \
                 updated_ms = $1 WHERE scope = $2 AND task = $3",
                vec![Arg::I64(now), scope_arg, task_arg],
            ),
            TaskControl::RunNow => (
                "UPDATE periodic_task_ledger SET \
                 run_requested_ms = COALESCE(run_requested_ms, $1), updated_ms = $2 \
                 WHERE scope = $3 AND task = $4",
                vec![Arg::I64(now), Arg::I64(now), scope_arg, task_arg],
            ),
        };
        self.execute("applying a task control", sql, &args).await?;
        if self.dialect == Dialect::Postgres {
            let args = [Arg::Str(scope.as_str())];
            self.execute(
                "notifying the runners",
                &format!("SELECT pg_notify('{CONTROL_CHANNEL}', $1)"),
                &args,
            )
            .await?;
        }
        self.read_entries(Some(scope), Some(task))
            .await?
            .pop()
            .ok_or_else(|| task_not_found(scope, task))
    }

    async fn read_history(
        &self,
        scope: &TaskScope,
        task: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, Error> {
        let limit = limit.min(HISTORY_LEN);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = self.dialect.params(&format!(
            "SELECT started_ms, finished_ms, duration_ms, lateness_ms, outcome, token, holder \
             FROM periodic_task_runs WHERE scope = $1 AND task = $2 ORDER BY id DESC LIMIT {limit}"
        ));
        let args = [Arg::Str(scope.as_str()), Arg::Str(task)];
        let args = &args[..];
        let result: Result<Vec<RunRecord>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let rows = bound_query!(&sql, args).fetch_all(p).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let millis = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
                    let mut run = RunRecord::new(
                        row.try_get_unchecked(0)?,
                        row.try_get_unchecked(1)?,
                        millis(row.try_get_unchecked(2)?),
                        millis(row.try_get_unchecked(3)?),
                        row.try_get_unchecked::<String, _>(4)?,
                    );
                    run.token = row
                        .try_get_unchecked::<Option<i64>, _>(5)?
                        .map(|t| u64::try_from(t).unwrap_or(0));
                    run.holder = row.try_get_unchecked(6)?;
                    out.push(run);
                }
                Ok(out)
            }
            .await
        });
        result.map_err(|e| self.failed("reading the run history", e))
    }

    async fn read_controls(&self, scope: &TaskScope) -> Result<Vec<ControlState>, Error> {
        let sql = self.dialect.params(&format!(
            "SELECT task, {}, run_requested_ms FROM periodic_task_ledger \
             WHERE scope = $1 AND (paused <> 0 OR run_requested_ms IS NOT NULL)",
            self.dialect.int64("paused")
        ));
        let args = [Arg::Str(scope.as_str())];
        let args = &args[..];
        let result: Result<Vec<ControlState>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let rows = bound_query!(&sql, args).fetch_all(p).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push(ControlState::new(
                        row.try_get_unchecked::<String, _>(0)?,
                        row.try_get_unchecked::<i64, _>(1)? != 0,
                        row.try_get_unchecked(2)?,
                    ));
                }
                Ok(out)
            }
            .await
        });
        result.map_err(|e| self.failed("reading the task controls", e))
    }

    /// Consumes a run-now request: one conditional `UPDATE` (a request pending, no lease
    /// held) that issues the next token, then the row's id, slot and token read in the
    /// same transaction.
    async fn take_request(
        &self,
        scope: &TaskScope,
        task: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<Claim>, Error> {
        let now_sql = format!("SELECT {}", self.now_sql());
        let update = self.dialect.params(
            "UPDATE periodic_task_ledger SET run_requested_ms = NULL, token = token + 1, \
             holder = $1, lease_until_ms = $2, started_ms = $3, updated_ms = $4 \
             WHERE scope = $5 AND task = $6 AND run_requested_ms IS NOT NULL \
             AND (holder IS NULL OR lease_until_ms IS NULL OR lease_until_ms < $7)",
        );
        let select = self.dialect.params(
            "SELECT id, slot, token FROM periodic_task_ledger WHERE scope = $1 AND task = $2",
        );
        let begin = self.begin_sql();
        let lease = ms(lease);
        let scope = scope.as_str();
        let result: Result<Option<Claim>, sqlx::Error> = retrying!(on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin_with(begin).await?;
                let now: i64 = sqlx::query(&now_sql)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get_unchecked(0)?;
                let args = [
                    Arg::Str(holder),
                    Arg::I64(now + lease),
                    Arg::I64(now),
                    Arg::I64(now),
                    Arg::Str(scope),
                    Arg::Str(task),
                    Arg::I64(now),
                ];
                let done = bound_query!(&update, &args[..]).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let keys = [Arg::Str(scope), Arg::Str(task)];
                let row = bound_query!(&select, &keys[..]).fetch_one(&mut *tx).await?;
                let id: i64 = row.try_get_unchecked(0)?;
                let slot: Option<i64> = row.try_get_unchecked(1)?;
                let token: i64 = row.try_get_unchecked(2)?;
                tx.commit().await?;
                Ok(Some(Claim::new(
                    id,
                    slot.unwrap_or(0),
                    u64::try_from(token).unwrap_or(0),
                    now + lease,
                    now,
                )))
            }
            .await
        }));
        result.map_err(|e| self.failed("taking a run-now request", e))
    }

    async fn read_entries(
        &self,
        scope: Option<&TaskScope>,
        task: Option<&str>,
    ) -> Result<Vec<LedgerEntry>, Error> {
        let mut sql = format!(
            "SELECT id, scope, task, spacing_ms, slot, token, holder, lease_until_ms, \
             started_ms, finished_ms, outcome, duration_ms, runs, failures, {}, \
             lateness_ms, {}, paused_reason, run_requested_ms \
             FROM periodic_task_ledger",
            self.now_sql(),
            self.dialect.int64("paused"),
        );
        let mut args = Vec::new();
        if let Some(scope) = scope {
            sql.push_str(" WHERE scope = $1");
            args.push(Arg::Str(scope.as_str()));
            if let Some(task) = task {
                sql.push_str(" AND task = $2");
                args.push(Arg::Str(task));
            }
        }
        sql.push_str(" ORDER BY scope, task");
        let sql = self.dialect.params(&sql);
        let args = &args[..];
        let result: Result<Vec<LedgerEntry>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let rows = bound_query!(&sql, args).fetch_all(p).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let millis = |v: Option<i64>| {
                        v.map(|v| Duration::from_millis(u64::try_from(v).unwrap_or(0)))
                    };
                    let count = |v: i64| u64::try_from(v).unwrap_or(0);
                    out.push(LedgerEntry {
                        row: row.try_get_unchecked(0)?,
                        scope: TaskScope::from_stored(row.try_get_unchecked::<String, _>(1)?),
                        task: row.try_get_unchecked(2)?,
                        spacing: millis(row.try_get_unchecked(3)?),
                        slot: row.try_get_unchecked(4)?,
                        token: count(row.try_get_unchecked(5)?),
                        holder: row.try_get_unchecked(6)?,
                        lease_until: row.try_get_unchecked(7)?,
                        started: row.try_get_unchecked(8)?,
                        finished: row.try_get_unchecked(9)?,
                        outcome: row.try_get_unchecked(10)?,
                        duration: millis(row.try_get_unchecked(11)?),
                        runs: count(row.try_get_unchecked(12)?),
                        failures: count(row.try_get_unchecked(13)?),
                        read_at: row.try_get_unchecked(14)?,
                        lateness: millis(row.try_get_unchecked(15)?),
                        paused: row.try_get_unchecked::<i64, _>(16)? != 0,
                        paused_reason: row.try_get_unchecked(17)?,
                        run_requested: row.try_get_unchecked(18)?,
                    });
                }
                Ok(out)
            }
            .await
        });
        result.map_err(|e| self.failed("reading the ledger", e))
    }
}

impl TaskLedger for SqlLedger {
    fn now(&self) -> BoxFuture<'_, Result<i64, Error>> {
        Box::pin(self.store_now())
    }

    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        Box::pin(self.claim_all(request))
    }

    fn renew(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<i64>, Error>> {
        Box::pin(self.renew_lease(row, token, lease))
    }

    fn release(&self, row: i64, token: u64) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.release_lease(row, token))
    }

    fn record<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        report: &'a RunReport,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.record_run(scope, task, report))
    }

    fn prepare<'a>(
        &'a self,
        scope: &'a TaskScope,
        tasks: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            for chunk in tasks.chunks(BATCH) {
                self.ensure_rows(scope.as_str(), chunk).await?;
            }
            Ok(())
        })
    }

    fn settle<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        claim: &'a Claim,
        report: Option<&'a RunReport>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.settle_run(scope, task, claim, report))
    }

    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, Error>> {
        Box::pin(self.read_entries(scope, None))
    }

    fn control<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        control: &'a TaskControl,
    ) -> BoxFuture<'a, Result<LedgerEntry, Error>> {
        Box::pin(self.apply_control(scope, task, control))
    }

    fn history<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, Error>> {
        Box::pin(self.read_history(scope, task, limit))
    }

    fn controls<'a>(
        &'a self,
        scope: &'a TaskScope,
    ) -> BoxFuture<'a, Result<Vec<ControlState>, Error>> {
        Box::pin(self.read_controls(scope))
    }

    fn take_run_request<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        holder: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Claim>, Error>> {
        Box::pin(self.take_request(scope, task, holder, lease))
    }

    fn control_signals(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        self.listen()
    }
}

impl SqlLedger {
    /// PostgreSQL: a stream of the `NOTIFY`s of controls; other dialects have none.
    fn listen(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Some(pg_signals(pool.clone())),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// `LISTEN`s on [`CONTROL_CHANNEL`] on a connection of its own and yields at every
/// notification, and once after each (re)connection (a notification sent while it was
/// away is lost, so the runner reads the controls then). A lost connection is opened
/// again after a second.
#[cfg(feature = "postgres")]
fn pg_signals(pool: sqlx::PgPool) -> futures::stream::BoxStream<'static, ()> {
    use futures::StreamExt as _;
    use sqlx::postgres::PgListener;

    futures::stream::unfold(
        (pool, None::<PgListener>),
        |(pool, mut listener)| async move {
            loop {
                let Some(current) = listener.as_mut() else {
                    let connected = async {
                        let mut l = PgListener::connect_with(&pool).await?;
                        l.listen(CONTROL_CHANNEL).await?;
                        Ok::<_, sqlx::Error>(l)
                    }
                    .await;
                    match connected {
                        Ok(l) => return Some(((), (pool, Some(l)))),
                        Err(error) => {
                            tracing::debug!(%error, "Cannot LISTEN for task controls; retrying in 1 s");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    }
                };
                match current.try_recv().await {
                    Ok(Some(_)) => return Some(((), (pool, listener))),
                    Ok(None) | Err(_) => {
                        // The connection was lost: notifications may be lost with it.
                        listener = None;
                    }
                }
            }
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_insert_names_every_row() {
        let ledger_sql = |dialect| {
            let pool_less = InsertText(dialect);
            pool_less.insert_missing(2)
        };
        assert_eq!(
            ledger_sql(Dialect::Postgres),
            "INSERT INTO periodic_task_ledger (scope, task) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            ledger_sql(Dialect::MySql),
            "INSERT IGNORE INTO periodic_task_ledger (scope, task) VALUES (?, ?), (?, ?)"
        );
    }
}
