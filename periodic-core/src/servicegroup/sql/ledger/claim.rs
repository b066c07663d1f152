//! Claims of fleet tasks in the SQL ledger: rows created once, then locked (`SKIP LOCKED`
//! where the database has it) and won in one transaction per batch, in two rounds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::PoisonError;

use sqlx::Row as _;

use super::super::dialect::Dialect;
use super::super::{Arg, Pool};
use super::{BATCH, SqlLedger};
use crate::error::Error;
use crate::periodic::ledger::{ms, spacing_ms};
use crate::periodic::{Claim, ClaimRequest, Claimed};

/// A locked row of a claim: `(id, task, slot, token, holder, lease_until_ms)`.
type Locked = (i64, String, Option<i64>, i64, Option<String>, Option<i64>);

/// The holder a `Busy` answer names for a row another transaction held during both
/// rounds of a claim.
const CLAIM_IN_PROGRESS: &str = "(a claim or release in progress elsewhere)";

/// The holder a `Busy` answer names for a row deleted (by hand) since this ledger saw it.
const ROW_DELETED: &str = "(the ledger row was deleted; created again at the next claim)";

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
    fn insert_missing(&self, rows: usize) -> String {
        InsertText(self.dialect).insert_missing(rows)
    }

    pub(super) async fn ensure_rows(&self, scope: &str, tasks: &[&str]) -> Result<(), Error> {
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

    pub(super) async fn claim_all(
        &self,
        request: &ClaimRequest<'_>,
    ) -> Result<Vec<Claimed>, Error> {
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
