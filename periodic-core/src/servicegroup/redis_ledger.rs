//! The task ledger in Redis (`fleet_store = "redis://..."`): one Lua script per operation,
//! so that each claim, renewal and release is judged atomically by Redis's own clock
//! (`redis.call('TIME')`).
//!
//! Each (scope, task) is a hash `periodic:ledger:row:<id>`; `periodic:ledger:index` maps
//! `scope\ntask` to its id, `periodic:ledger:next_id` numbers the rows. The fencing token
//! is `HINCRBY token 1` on every won claim; renewal and release check the token first
//! (owner-checked, unlike a bare `SET ... PX` extension). [`Fence::sql_condition`] does
//! not apply here: a Redis fleet task compares [`RunContext::token`] itself.
//!
//! [`Fence::sql_condition`]: crate::Fence::sql_condition
//! [`RunContext::token`]: crate::RunContext::token

#![cfg(feature = "redis")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::Value;

use super::url::redact;
use crate::error::{Error, ErrorKind};
use crate::periodic::ledger::{ms, outcome_text, spacing_ms};
use crate::periodic::{
    Claim, ClaimRequest, Claimed, LedgerEntry, RunOutcome, RunReport, TaskLedger, TaskScope,
};

/// The row of `ARGV[scope_at]` / `ARGV[task_at]`, created on first use; sets `key`, `id`.
const ROW: &str = r"
local function row(scope, task)
  local name = scope .. '\n' .. task
  local id = redis.call('HGET', 'periodic:ledger:index', name)
  if not id then
    id = redis.call('INCR', 'periodic:ledger:next_id')
    redis.call('HSET', 'periodic:ledger:index', name, id)
    redis.call('HSET', 'periodic:ledger:row:' .. id, 'id', id, 'scope', scope, 'task', task,
      'token', 0, 'runs', 0, 'failures', 0)
  end
  return 'periodic:ledger:row:' .. id, tonumber(id)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// ARGV: scope, spacing ms, lease ms, holder, task...
const CLAIM: &str = r"
local scope, spacing, lease, holder = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local slot = math.floor(now / spacing)
local out = {}
for i = 5, #ARGV do
  local key, id = row(scope, ARGV[i])
  local f = redis.call('HMGET', key, 'slot', 'holder', 'lease_until')
  local stored, held, lease_until = tonumber(f[1]), f[2], tonumber(f[3])
  if stored and stored >= slot then
    out[#out + 1] = {'taken', slot, now}
  elseif held and lease_until and lease_until >= now then
    out[#out + 1] = {'busy', held, lease_until, now}
  else
    local token = redis.call('HINCRBY', key, 'token', 1)
    redis.call('HSET', key, 'slot', slot, 'spacing_ms', spacing, 'holder', holder,
      'lease_until', now + lease, 'started', now, 'updated', now)
    out[#out + 1] = {'won', id, slot, token, now + lease, now}
  end
end
return out
";

/// ARGV: row id, token, lease ms. The new lease end, or nil when lost.
const RENEW: &str = r"
local key = 'periodic:ledger:row:' .. ARGV[1]
local f = redis.call('HMGET', key, 'token', 'holder', 'lease_until')
local lease_until = tonumber(f[3])
if tonumber(f[1]) == tonumber(ARGV[2]) and f[2] and lease_until and lease_until >= now then
  lease_until = now + tonumber(ARGV[3])
  redis.call('HSET', key, 'lease_until', lease_until, 'updated', now)
  return lease_until
end
return nil
";

/// ARGV: row id, token. 1 if released.
const RELEASE: &str = r"
local key = 'periodic:ledger:row:' .. ARGV[1]
if tonumber(redis.call('HGET', key, 'token')) == tonumber(ARGV[2]) then
  redis.call('HDEL', key, 'holder', 'lease_until')
  redis.call('HSET', key, 'updated', now)
  return 1
end
return 0
";

/// ARGV: scope, task, outcome, duration ms, lateness ms, age ms, failed (0/1).
const RECORD: &str = r"
local key = row(ARGV[1], ARGV[2])
local finished = now - tonumber(ARGV[6])
redis.call('HSET', key, 'finished', finished, 'started', finished - tonumber(ARGV[4]),
  'outcome', ARGV[3], 'duration_ms', ARGV[4], 'lateness_ms', ARGV[5], 'updated', now)
redis.call('HINCRBY', key, 'runs', 1)
redis.call('HINCRBY', key, 'failures', tonumber(ARGV[7]))
return 1
";

/// ARGV: scope or ''. {now, {field, value, ...}, ...}
const ENTRIES: &str = r"
local out = {now}
for _, id in ipairs(redis.call('HVALS', 'periodic:ledger:index')) do
  local fields = redis.call('HGETALL', 'periodic:ledger:row:' .. id)
  local keep = ARGV[1] == ''
  for i = 1, #fields, 2 do
    if fields[i] == 'scope' and fields[i + 1] == ARGV[1] then keep = true end
  end
  if keep then out[#out + 1] = fields end
end
return out
";

/// ARGV: none. The clock.
const NOW: &str = "return now";

/// The scripts, each with the shared prelude.
struct Scripts {
    claim: redis::Script,
    renew: redis::Script,
    release: redis::Script,
    record: redis::Script,
    entries: redis::Script,
    now: redis::Script,
}

impl Scripts {
    fn new() -> Scripts {
        let script = |body: &str| redis::Script::new(&format!("{ROW}{body}"));
        Scripts {
            claim: script(CLAIM),
            renew: script(RENEW),
            release: script(RELEASE),
            record: script(RECORD),
            entries: script(ENTRIES),
            now: script(NOW),
        }
    }
}

/// The task ledger in a Redis server.
pub(crate) struct RedisLedger {
    conn: redis::aio::MultiplexedConnection,
    scripts: Arc<Scripts>,
    url: String,
}

impl std::fmt::Debug for RedisLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLedger")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Connects to the Redis server at `url` (`redis://[:password@]host[:port][/db]`).
pub(crate) fn open(url: &str) -> BoxFuture<'_, Result<Arc<dyn TaskLedger>, Error>> {
    Box::pin(async move {
        let shown = redact(url);
        let client = redis::Client::open(url).map_err(|e| {
            Error::new(
                ErrorKind::Invalid,
                format!("malformed fleet store URL `{shown}`"),
            )
            .with_source(e)
        })?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Store,
                    format!("cannot connect to the fleet store `{shown}`"),
                )
                .with_source(e)
            })?;
        Ok(Arc::new(RedisLedger {
            conn,
            scripts: Arc::new(Scripts::new()),
            url: shown,
        }) as Arc<dyn TaskLedger>)
    })
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn millis(v: Option<i64>) -> Option<Duration> {
    v.map(|v| Duration::from_millis(u64::try_from(v).unwrap_or(0)))
}

impl RedisLedger {
    fn failed(&self, what: &str, e: redis::RedisError) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("task ledger in `{}`: {what} failed", self.url),
        )
        .with_source(e)
    }

    fn malformed(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("task ledger in `{}`: unexpected answer to {what}", self.url),
        )
    }

    async fn invoke(
        &self,
        what: &str,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<Value, Error> {
        let mut conn = self.conn.clone();
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(what, e))
    }

    async fn claim_all(&self, request: &ClaimRequest<'_>) -> Result<Vec<Claimed>, Error> {
        let mut invocation = self.scripts.claim.prepare_invoke();
        invocation
            .arg(request.scope.as_str())
            .arg(spacing_ms(request.spacing))
            .arg(ms(request.lease))
            .arg(request.holder);
        for task in &request.tasks {
            invocation.arg(*task);
        }
        let Value::Array(answers) = self.invoke("claim", invocation).await? else {
            return Err(self.malformed("claim"));
        };
        answers
            .iter()
            .map(|answer| {
                let Value::Array(a) = answer else {
                    return Err(self.malformed("claim"));
                };
                let n = |i: usize| {
                    a.get(i)
                        .and_then(int)
                        .ok_or_else(|| self.malformed("claim"))
                };
                match a.first().and_then(text).as_deref() {
                    Some("won") => Ok(Claimed::Won(Claim::new(
                        n(1)?,
                        n(2)?,
                        u64::try_from(n(3)?).unwrap_or(0),
                        n(4)?,
                        n(5)?,
                    ))),
                    Some("taken") => Ok(Claimed::Taken {
                        slot: n(1)?,
                        store_now: n(2)?,
                    }),
                    Some("busy") => Ok(Claimed::Busy {
                        holder: a.get(1).and_then(text).unwrap_or_default(),
                        lease_until: n(2)?,
                        store_now: n(3)?,
                    }),
                    _ => Err(self.malformed("claim")),
                }
            })
            .collect()
    }

    async fn renew_lease(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> Result<Option<i64>, Error> {
        let mut invocation = self.scripts.renew.prepare_invoke();
        invocation.arg(row).arg(token).arg(ms(lease));
        Ok(int(&self.invoke("renewing a lease", invocation).await?))
    }

    async fn release_lease(&self, row: i64, token: u64) -> Result<bool, Error> {
        let mut invocation = self.scripts.release.prepare_invoke();
        invocation.arg(row).arg(token);
        Ok(int(&self.invoke("releasing a lease", invocation).await?) == Some(1))
    }

    async fn record_run(
        &self,
        scope: &TaskScope,
        task: &str,
        report: &RunReport,
    ) -> Result<(), Error> {
        let mut invocation = self.scripts.record.prepare_invoke();
        invocation
            .arg(scope.as_str())
            .arg(task)
            .arg(outcome_text(report.outcome))
            .arg(ms(report.duration))
            .arg(ms(report.lateness))
            .arg(ms(report.age))
            .arg(i64::from(report.outcome != RunOutcome::Succeeded));
        self.invoke("recording a run", invocation).await.map(drop)
    }

    async fn store_now(&self) -> Result<i64, Error> {
        let invocation = self.scripts.now.prepare_invoke();
        int(&self.invoke("reading the clock", invocation).await?)
            .ok_or_else(|| self.malformed("the clock"))
    }

    async fn read_entries(&self, scope: Option<&TaskScope>) -> Result<Vec<LedgerEntry>, Error> {
        let mut invocation = self.scripts.entries.prepare_invoke();
        invocation.arg(scope.map_or("", TaskScope::as_str));
        let Value::Array(values) = self.invoke("reading the ledger", invocation).await? else {
            return Err(self.malformed("entries"));
        };
        let read_at = values
            .first()
            .and_then(int)
            .ok_or_else(|| self.malformed("entries"))?;
        let mut entries = Vec::new();
        for value in &values[1..] {
            let Value::Array(pairs) = value else {
                return Err(self.malformed("entries"));
            };
            let fields: HashMap<String, &Value> = pairs
                .chunks(2)
                .filter_map(|pair| Some((text(pair.first()?)?, pair.get(1)?)))
                .collect();
            let num = |name: &str| fields.get(name).and_then(|v| int(v));
            let count = |name: &str| u64::try_from(num(name).unwrap_or(0)).unwrap_or(0);
            entries.push(LedgerEntry {
                row: num("id").unwrap_or(0),
                scope: TaskScope::from_stored(
                    fields
                        .get("scope")
                        .and_then(|v| text(v))
                        .unwrap_or_default(),
                ),
                task: fields.get("task").and_then(|v| text(v)).unwrap_or_default(),
                spacing: millis(num("spacing_ms")),
                slot: num("slot"),
                token: count("token"),
                holder: fields.get("holder").and_then(|v| text(v)),
                lease_until: num("lease_until"),
                started: num("started"),
                finished: num("finished"),
                outcome: fields.get("outcome").and_then(|v| text(v)),
                duration: millis(num("duration_ms")),
                runs: count("runs"),
                failures: count("failures"),
                read_at,
            });
        }
        entries.sort_by(|a, b| (&a.scope, &a.task).cmp(&(&b.scope, &b.task)));
        Ok(entries)
    }
}

impl TaskLedger for RedisLedger {
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

    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, Error>> {
        Box::pin(self.read_entries(scope))
    }
}
