//! Leases and the run record in the SQL ledger: renewal and release of a claim, a finished
//! run recorded (and appended to the capped run history) or settled with its lease, and
//! the rows as read back.

use std::time::Duration;

use sqlx::Row as _;

use super::super::dialect::Dialect;
use super::super::{Arg, Pool};
use super::SqlLedger;
use crate::error::Error;
use crate::periodic::ledger::{ms, outcome_text, spacing_ms};
use crate::periodic::{Claim, HISTORY_LEN, LedgerEntry, RunOutcome, RunReport, TaskScope};

/// Inside a run's transaction `$tx`: appends `$run` (the values of
/// [`HistoryText::insert`]) to the task's run history and trims the history to its
/// newest [`HISTORY_LEN`] runs. A macro, not a function, because the transaction's type
/// differs per pool (`on_pool!`).
macro_rules! append_history {
    ($tx:ident, $history:ident, $run:expr) => {{
        let run = $run;
        let (scope, task) = (run[0], run[1]);
        bound_query!(&$history.insert, &run[..])
            .execute(&mut *$tx)
            .await?;
        let keys = [scope, task];
        let cut: Option<i64> = match bound_query!(&$history.cut, &keys[..])
            .fetch_optional(&mut *$tx)
            .await?
        {
            Some(row) => Some(row.try_get_unchecked(0)?),
            None => None,
        };
        if let Some(cut) = cut {
            let trim = [scope, task, Arg::I64(cut)];
            bound_query!(&$history.trim, &trim[..])
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

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

impl SqlLedger {
    pub(super) async fn renew_lease(
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

    pub(super) async fn release_lease(&self, row: i64, token: u64) -> Result<bool, Error> {
        let now = self.store_now().await?;
        let token = i64::try_from(token).unwrap_or(i64::MAX);
        let sql = "UPDATE periodic_task_ledger SET holder = NULL, lease_until_ms = NULL, \
                   updated_ms = $1 WHERE id = $2 AND token = $3";
        let args = [Arg::I64(now), Arg::I64(row), Arg::I64(token)];
        Ok(self.execute("releasing a lease", sql, &args).await? > 0)
    }

    pub(super) fn begin_sql(&self) -> &'static str {
        if self.dialect == Dialect::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        }
    }

    /// Records a plain run, appends it to the history and trims the history, in one
    /// transaction on the database's clock.
    pub(super) async fn record_run(
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
                append_history!(
                    tx,
                    history,
                    [
                        Arg::Str(scope),
                        Arg::Str(task),
                        Arg::I64(started),
                        Arg::I64(finished),
                        Arg::I64(duration),
                        Arg::I64(lateness),
                        Arg::Str(outcome),
                        Arg::OptI64(None),
                        Arg::OptStr(None),
                    ]
                );
                tx.commit().await
            }
            .await
        }));
        result.map_err(|e| self.failed("recording a run", e))
    }

    /// Records a fleet (or run-now) run and releases its lease in one transaction on the
    /// database's clock, guarded by the token: the run is appended to the history with
    /// its token and holder. A stale token records and releases nothing (`false`).
    pub(super) async fn settle_run(
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
                append_history!(
                    tx,
                    history,
                    [
                        Arg::Str(scope),
                        Arg::Str(task),
                        Arg::I64(started),
                        Arg::I64(finished),
                        Arg::I64(duration),
                        Arg::I64(lateness),
                        Arg::Str(outcome),
                        Arg::OptI64(Some(token)),
                        Arg::OptStr(holder.as_deref()),
                    ]
                );
                tx.commit().await?;
                Ok(true)
            }
            .await
        }));
        result.map_err(|e| self.failed("recording a run", e))
    }

    pub(super) async fn read_entries(
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
