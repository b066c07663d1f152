//! A task-ledger row as JSON: the shape `GET /task-ledger` answers and `periodic task list
//! --format json` prints, so that both read the same.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::seconds::secs;
use crate::periodic::{LedgerEntry, RunRecord};

/// Store milliseconds as RFC 3339 in UTC with microseconds and a `Z`:
/// `2026-11-30T16:02:03.456000Z`.
pub(crate) fn store_time(ms: i64) -> String {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    let t = if ms >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH.checked_sub(magnitude).unwrap_or(UNIX_EPOCH)
    };
    rfc3339(t)
}

/// `t` as RFC 3339 in UTC with microseconds and a `Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    format!("{}Z", super::os_services::nova_time(t))
}

/// A ledger row as JSON, with its recent runs (newest first) when given.
///
/// The keys: `scope`, `task`, `fleet` (the fleet's name or `null`), `spacing` (seconds
/// or `null`), `next_due` (RFC 3339 or `null`; `null` while paused), `slot`, `token`,
/// `holder`, `lease_until`, `started`, `finished`, `outcome`, `duration` and `lateness`
/// (seconds), `runs`, `failures`, `running`, `paused`, `paused_reason`, `run_requested`
/// (RFC 3339 or `null`) and, with runs, `recent_runs`: `[{"started", "finished",
/// "duration", "lateness", "outcome", "token", "holder"}]`. Times are RFC 3339 in UTC with
/// a `Z` (`2026-11-30T16:02:03.456000Z`), on the store's clock.
///
/// ```
/// use periodic::{LedgerEntry, TaskScope, ledger_json};
///
/// let mut entry = LedgerEntry::new(1, TaskScope::fleet("nova-scheduler")?, "clean_up", 0);
/// entry.paused = true;
/// let json = ledger_json(&entry, None);
/// assert_eq!(json["fleet"], "nova-scheduler");
/// assert_eq!(json["paused"], true);
/// assert!(json.get("recent_runs").is_none());
/// # Ok::<(), periodic::Error>(())
/// ```
pub fn ledger_json(entry: &LedgerEntry, recent_runs: Option<&[RunRecord]>) -> Value {
    let time = |ms: Option<i64>| ms.map(store_time);
    let mut value = json!({
        "scope": entry.scope.as_str(),
        "task": entry.task,
        "fleet": entry.scope.fleet_name(),
        "spacing": entry.spacing.map(secs),
        "next_due": time(entry.next_due()),
        "slot": entry.slot,
        "token": entry.token,
        "holder": entry.holder,
        "lease_until": time(entry.lease_until),
        "started": time(entry.started),
        "finished": time(entry.finished),
        "outcome": entry.outcome,
        "duration": entry.duration.map(secs),
        "lateness": entry.lateness.map(secs),
        "runs": entry.runs,
        "failures": entry.failures,
        "running": entry.is_running(),
        "paused": entry.paused,
        "paused_reason": entry.paused_reason,
        "run_requested": time(entry.run_requested),
    });
    if let (Some(runs), Value::Object(map)) = (recent_runs, &mut value) {
        let runs: Vec<Value> = runs
            .iter()
            .map(|run| {
                json!({
                    "started": store_time(run.started),
                    "finished": store_time(run.finished),
                    "duration": secs(run.duration),
                    "lateness": secs(run.lateness),
                    "outcome": run.outcome,
                    "token": run.token,
                    "holder": run.holder,
                })
            })
            .collect();
        map.insert("recent_runs".to_owned(), Value::Array(runs));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(store_time(1_767_323_045_678), "2026-01-02T03:04:05.678000Z");
        assert_eq!(store_time(0), "1970-01-01T00:00:00.000000Z");
    }
}
