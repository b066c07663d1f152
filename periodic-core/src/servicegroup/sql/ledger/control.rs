//! The operator's controls in the SQL ledger: pause, resume and run-now written to a
//! task's row, the run history read back, the controls polled by runners, a run-now request
//! taken with a new fencing token, and PostgreSQL's `LISTEN/NOTIFY` as their signal.

use std::time::Duration;

use sqlx::Row as _;

use super::super::dialect::Dialect;
use super::super::{Arg, Pool};
use super::SqlLedger;
use crate::error::Error;
use crate::periodic::ledger::{ms, task_not_found};
use crate::periodic::{
    Claim, ControlState, HISTORY_LEN, LedgerEntry, RunRecord, TaskControl, TaskScope,
};

/// The channel a control `NOTIFY`s on PostgreSQL (the payload is the scope).
const CONTROL_CHANNEL: &str = "periodic_task_controls";

impl SqlLedger {
    /// Applies `control` to `task` of `scope`; on PostgreSQL, `NOTIFY`s the runners.
    pub(super) async fn apply_control(
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

    pub(super) async fn read_history(
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

    pub(super) async fn read_controls(
        &self,
        scope: &TaskScope,
    ) -> Result<Vec<ControlState>, Error> {
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
    pub(super) async fn take_request(
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
}

impl SqlLedger {
    /// PostgreSQL: a stream of the `NOTIFY`s of controls; other dialects have none.
    pub(super) fn listen(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
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
