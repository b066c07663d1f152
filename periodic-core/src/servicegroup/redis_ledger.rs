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
use crate::periodic::ledger::{ms, outcome_text, spacing_ms, task_not_found};
use crate::periodic::{
    Claim, ClaimRequest, Claimed, ControlState, HISTORY_LEN, LedgerEntry, RunOutcome, RunRecord,
    RunReport, TaskControl, TaskLedger, TaskScope,
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

/// Records a run on row `key` (id `id`): ARGV[first..first+4] = outcome, duration ms,
/// lateness ms, age ms, failed (0/1); `fenced`: append the row's token and holder to the
/// history entry. The history is a list of JSON objects, newest first, trimmed to
/// `HISTORY_LEN`.
const RECORD_ON: &str = r"
local function record_on(key, id, first, fenced)
  local outcome, duration, lateness = ARGV[first], tonumber(ARGV[first + 1]), tonumber(ARGV[first + 2])
  local finished = now - tonumber(ARGV[first + 3])
  local started = finished - duration
  redis.call('HSET', key, 'finished', finished, 'started', started,
    'outcome', outcome, 'duration_ms', duration, 'lateness_ms', lateness, 'updated', now)
  redis.call('HINCRBY', key, 'runs', 1)
  redis.call('HINCRBY', key, 'failures', tonumber(ARGV[first + 4]))
  local run = {started = started, finished = finished, duration = duration,
    lateness = lateness, outcome = outcome}
  if fenced then
    local f = redis.call('HMGET', key, 'token', 'holder')
    run.token = tonumber(f[1])
    if f[2] then run.holder = f[2] end
  end
  local runs = 'periodic:ledger:runs:' .. id
  redis.call('LPUSH', runs, cjson.encode(run))
  redis.call('LTRIM', runs, 0, HISTORY_LEN - 1)
end
";

/// ARGV: scope, task, outcome, duration ms, lateness ms, age ms, failed (0/1), spacing ms
/// or ''.
const RECORD: &str = r"
local key, id = row(ARGV[1], ARGV[2])
record_on(key, id, 3, false)
if ARGV[8] ~= '' then redis.call('HSET', key, 'spacing_ms', ARGV[8]) end
return 1
";

/// ARGV: row id, token, outcome, duration ms, lateness ms, age ms, failed (0/1). Records
/// (with the token and holder) and releases, if the token is still the row's: 1, else 0.
const SETTLE: &str = r"
local key = 'periodic:ledger:row:' .. ARGV[1]
if tonumber(redis.call('HGET', key, 'token')) ~= tonumber(ARGV[2]) then return 0 end
record_on(key, ARGV[1], 3, true)
redis.call('HDEL', key, 'holder', 'lease_until')
return 1
";

/// ARGV: scope, task, op (pause/resume/run), reason or '', has reason (0/1). The row's id,
/// or nil for a task without a row. Rows with a control are kept in the set
/// `periodic:ledger:controlled`, which runners poll.
const CONTROL: &str = r"
local id = redis.call('HGET', 'periodic:ledger:index', ARGV[1] .. '\n' .. ARGV[2])
if not id then return nil end
local key = 'periodic:ledger:row:' .. id
if ARGV[3] == 'pause' then
  redis.call('HSET', key, 'paused', 1, 'updated', now)
  if ARGV[5] == '1' then redis.call('HSET', key, 'paused_reason', ARGV[4])
  else redis.call('HDEL', key, 'paused_reason') end
  redis.call('SADD', 'periodic:ledger:controlled', id)
elseif ARGV[3] == 'resume' then
  redis.call('HDEL', key, 'paused', 'paused_reason')
  redis.call('HSET', key, 'updated', now)
  if not redis.call('HGET', key, 'run_requested') then
    redis.call('SREM', 'periodic:ledger:controlled', id)
  end
else
  if not redis.call('HGET', key, 'run_requested') then
    redis.call('HSET', key, 'run_requested', now)
  end
  redis.call('HSET', key, 'updated', now)
  redis.call('SADD', 'periodic:ledger:controlled', id)
end
return tonumber(id)
";

/// ARGV: scope. {task, paused (0/1), run_requested or -1, ...} of the controlled rows.
const CONTROLS: &str = r"
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', 'periodic:ledger:controlled')) do
  local f = redis.call('HMGET', 'periodic:ledger:row:' .. id, 'scope', 'task', 'paused', 'run_requested')
  if f[1] == ARGV[1] then
    out[#out + 1] = {f[2], f[3] and 1 or 0, tonumber(f[4]) or -1}
  end
end
return out
";

/// ARGV: scope, task, holder, lease ms. Consumes a run-now request when no lease is held:
/// {id, slot, token, lease_until, now}, else nil.
const TAKE: &str = r"
local id = redis.call('HGET', 'periodic:ledger:index', ARGV[1] .. '\n' .. ARGV[2])
if not id then return nil end
local key = 'periodic:ledger:row:' .. id
local f = redis.call('HMGET', key, 'run_requested', 'holder', 'lease_until', 'slot', 'paused')
local lease_until = tonumber(f[3])
if not f[1] or (f[2] and lease_until and lease_until >= now) then return nil end
local token = redis.call('HINCRBY', key, 'token', 1)
redis.call('HDEL', key, 'run_requested')
redis.call('HSET', key, 'holder', ARGV[3], 'lease_until', now + tonumber(ARGV[4]),
  'started', now, 'updated', now)
if not f[5] then redis.call('SREM', 'periodic:ledger:controlled', id) end
return {tonumber(id), tonumber(f[4]) or 0, token, now + tonumber(ARGV[4]), now}
";

/// ARGV: scope, task... Creates the rows that do not exist yet.
const PREPARE: &str = r"
for i = 2, #ARGV do row(ARGV[1], ARGV[i]) end
return 1
";

/// ARGV: scope, task, limit. The newest runs, as JSON texts.
const HISTORY: &str = r"
local id = redis.call('HGET', 'periodic:ledger:index', ARGV[1] .. '\n' .. ARGV[2])
if not id then return {} end
return redis.call('LRANGE', 'periodic:ledger:runs:' .. id, 0, tonumber(ARGV[3]) - 1)
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
    settle: redis::Script,
    control: redis::Script,
    controls: redis::Script,
    take: redis::Script,
    prepare: redis::Script,
    history: redis::Script,
    entries: redis::Script,
    now: redis::Script,
}

impl Scripts {
    fn new() -> Scripts {
        let script = |body: &str| {
            redis::Script::new(&format!(
                "local HISTORY_LEN = {HISTORY_LEN}\n{ROW}{RECORD_ON}{body}"
            ))
        };
        Scripts {
            claim: script(CLAIM),
            renew: script(RENEW),
            release: script(RELEASE),
            record: script(RECORD),
            settle: script(SETTLE),
            control: script(CONTROL),
            controls: script(CONTROLS),
            take: script(TAKE),
            prepare: script(PREPARE),
            history: script(HISTORY),
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
            .arg(i64::from(report.outcome != RunOutcome::Succeeded))
            .arg(
                report
                    .spacing
                    .map_or_else(String::new, |s| spacing_ms(s).to_string()),
            );
        self.invoke("recording a run", invocation).await.map(drop)
    }

    async fn settle_run(&self, claim: &Claim, report: Option<&RunReport>) -> Result<bool, Error> {
        let Some(report) = report else {
            return self.release_lease(claim.row, claim.token).await;
        };
        let mut invocation = self.scripts.settle.prepare_invoke();
        invocation
            .arg(claim.row)
            .arg(claim.token)
            .arg(outcome_text(report.outcome))
            .arg(ms(report.duration))
            .arg(ms(report.lateness))
            .arg(ms(report.age))
            .arg(i64::from(report.outcome != RunOutcome::Succeeded));
        Ok(int(&self.invoke("recording a run", invocation).await?) == Some(1))
    }

    async fn apply_control(
        &self,
        scope: &TaskScope,
        task: &str,
        control: &TaskControl,
    ) -> Result<LedgerEntry, Error> {
        control.check()?;
        let (op, reason) = match control {
            TaskControl::Pause { reason } => ("pause", reason.as_deref()),
            TaskControl::Resume => ("resume", None),
            TaskControl::RunNow => ("run", None),
        };
        let mut invocation = self.scripts.control.prepare_invoke();
        invocation
            .arg(scope.as_str())
            .arg(task)
            .arg(op)
            .arg(reason.unwrap_or_default())
            .arg(i64::from(reason.is_some()));
        if int(&self.invoke("applying a task control", invocation).await?).is_none() {
            return Err(task_not_found(scope, task));
        }
        self.read_entries(Some(scope))
            .await?
            .into_iter()
            .find(|entry| entry.task == task)
            .ok_or_else(|| task_not_found(scope, task))
    }

    async fn read_controls(&self, scope: &TaskScope) -> Result<Vec<ControlState>, Error> {
        let mut invocation = self.scripts.controls.prepare_invoke();
        invocation.arg(scope.as_str());
        let Value::Array(rows) = self.invoke("reading the task controls", invocation).await? else {
            return Err(self.malformed("controls"));
        };
        rows.iter()
            .map(|row| {
                let Value::Array(f) = row else {
                    return Err(self.malformed("controls"));
                };
                let task = f.first().and_then(text).unwrap_or_default();
                let paused = f.get(1).and_then(int) == Some(1);
                let requested = f.get(2).and_then(int).filter(|r| *r >= 0);
                Ok(ControlState::new(task, paused, requested))
            })
            .collect()
    }

    async fn take_request(
        &self,
        scope: &TaskScope,
        task: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<Claim>, Error> {
        let mut invocation = self.scripts.take.prepare_invoke();
        invocation
            .arg(scope.as_str())
            .arg(task)
            .arg(holder)
            .arg(ms(lease));
        match self.invoke("taking a run-now request", invocation).await? {
            Value::Array(a) => {
                let n = |i: usize| {
                    a.get(i)
                        .and_then(int)
                        .ok_or_else(|| self.malformed("a run-now request"))
                };
                Ok(Some(Claim::new(
                    n(0)?,
                    n(1)?,
                    u64::try_from(n(2)?).unwrap_or(0),
                    n(3)?,
                    n(4)?,
                )))
            }
            _ => Ok(None),
        }
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
        let mut invocation = self.scripts.history.prepare_invoke();
        invocation.arg(scope.as_str()).arg(task).arg(limit);
        let Value::Array(values) = self.invoke("reading the run history", invocation).await? else {
            return Err(self.malformed("history"));
        };
        values
            .iter()
            .map(|value| {
                let json: serde_json::Value = text(value)
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .ok_or_else(|| self.malformed("history"))?;
                let n = |name: &str| json.get(name).and_then(serde_json::Value::as_i64);
                let millis = |v: Option<i64>| {
                    Duration::from_millis(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
                };
                let mut run = RunRecord::new(
                    n("started").unwrap_or(0),
                    n("finished").unwrap_or(0),
                    millis(n("duration")),
                    millis(n("lateness")),
                    json.get("outcome")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default(),
                );
                run.token = n("token").map(|t| u64::try_from(t).unwrap_or(0));
                run.holder = json
                    .get("holder")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned);
                Ok(run)
            })
            .collect()
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
                lateness: millis(num("lateness_ms")),
                paused: num("paused") == Some(1),
                paused_reason: fields.get("paused_reason").and_then(|v| text(v)),
                run_requested: num("run_requested"),
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

    fn prepare<'a>(
        &'a self,
        scope: &'a TaskScope,
        tasks: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if tasks.is_empty() {
                return Ok(());
            }
            let mut invocation = self.scripts.prepare.prepare_invoke();
            invocation.arg(scope.as_str());
            for task in tasks {
                invocation.arg(*task);
            }
            self.invoke("creating ledger rows", invocation)
                .await
                .map(drop)
        })
    }

    fn settle<'a>(
        &'a self,
        _scope: &'a TaskScope,
        _task: &'a str,
        claim: &'a Claim,
        report: Option<&'a RunReport>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.settle_run(claim, report))
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
}
