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
//!
//! [`TaskLedger`](crate::TaskLedger) is implemented in `ledger/contract.rs` from the claims
//! (`ledger/claim.rs`), the leases and the run record (`ledger/record.rs`) and the
//! operator's controls with their signals (`ledger/control.rs`); this file holds the
//! store's handle and what they share.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use sqlx::Row as _;

use super::dialect::Dialect;
use super::{Arg, Pool};
use crate::error::{Error, ErrorKind};

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
// Expanded in the child modules (claims and run records), hence the absolute paths.
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0u32;
        loop {
            match $body {
                Err(e)
                    if $crate::servicegroup::sql::ledger::deadlocked(&e)
                        && attempt < $crate::servicegroup::sql::ledger::DEADLOCK_RETRIES =>
                {
                    attempt += 1;
                    $crate::servicegroup::sql::ledger::deadlock_pause(attempt).await;
                }
                other => break other,
            }
        }
    }};
}

mod claim;
mod contract;
mod control;
mod record;

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

    async fn execute(&self, what: &str, sql: &str, args: &[Arg<'_>]) -> Result<u64, Error> {
        let sql = self.dialect.params(sql);
        let result = retrying!(on_pool!(&self.pool, |p| bound_query!(&sql, args)
            .execute(p)
            .await
            .map(|done| done.rows_affected())));
        result.map_err(|e| self.failed(what, e))
    }
}
