//! `GET /task-ledger` and `POST /task-ledger/{run,pause,resume}`: the task ledger of the
//! store (every task's last run, its schedule, its claim and its controls) and the
//! operator's controls, the same on `periodic api serve` and on a service's own API.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::Access;
use super::fault::{Fault, json_body};
use super::ledger_json::{ledger_json, store_time};
use super::state::AppState;
use crate::periodic::{HISTORY_LEN, LedgerEntry, TaskControl, TaskLedger, TaskScope};

/// What `GET /task-ledger` was asked for.
#[derive(Debug, Default)]
struct Query {
    scope: Option<TaskScope>,
    fleet: Option<bool>,
    task: Option<String>,
    runs: Option<usize>,
}

/// The query, or a 400 naming the bad parameter.
fn parse_query(query: Option<&str>) -> Result<Query, Fault> {
    let mut out = Query::default();
    let Some(query) = query else {
        return Ok(out);
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| Fault::bad_request(format!("Invalid query string: {e}")))?;
    for (name, value) in pairs {
        match name.as_str() {
            "scope" if !value.is_empty() => out.scope = Some(TaskScope::from_stored(value)),
            "kind" => {
                out.fleet = match value.as_str() {
                    "fleet" => Some(true),
                    "service" => Some(false),
                    "" => None,
                    other => {
                        return Err(Fault::bad_request(format!(
                            "Invalid input for query parameters kind. Value: {other}. It is not one of ['fleet', 'service']"
                        )));
                    }
                };
            }
            "task" if !value.is_empty() => out.task = Some(value),
            "scope" | "task" => {}
            "runs" => {
                let runs = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=HISTORY_LEN).contains(n))
                    .ok_or_else(|| {
                        Fault::bad_request(format!(
                            "Invalid input for query parameters runs. Value: {value}. It must be an integer from 1 to {HISTORY_LEN}"
                        ))
                    })?;
                out.runs = Some(runs);
            }
            _ => {
                return Err(Fault::bad_request(format!(
                    "Invalid input for query parameters {name}. Value: {value}. Additional \
                     properties are not allowed ('{name}' was unexpected)"
                )));
            }
        }
    }
    Ok(out)
}

/// The ledger this API reads, or a 404 saying there is none.
fn ledger_of(state: &AppState) -> Result<Arc<dyn TaskLedger>, Fault> {
    state.ledger().cloned().ok_or_else(|| {
        Fault::not_found(format!(
            "No task ledger here: the store `{}` keeps none. Start `periodic api serve` with \
             --fleet-store URL (or fleet_store in the configuration).",
            state.group().url()
        ))
    })
}

/// `GET /task-ledger[?scope=S][&kind=fleet|service][&task=T][&runs=N]`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match list_view(&state, &headers, query.as_deref()).await {
        Ok(body) => (StatusCode::OK, json_body(&body)).into_response(),
        Err(fault) => fault.into_response(),
    }
}

async fn list_view(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Value, Fault> {
    state.auth().check(headers, Access::Read)?;
    let query = parse_query(query)?;
    let ledger = ledger_of(state)?;
    let entries = state.store(ledger.entries(query.scope.as_ref())).await?;
    let store_now = match entries.first() {
        Some(entry) => entry.read_at,
        None => state.store(ledger.now()).await?,
    };
    let kept: Vec<LedgerEntry> = entries
        .into_iter()
        .filter(|e| {
            query
                .fleet
                .is_none_or(|fleet| e.scope.fleet_name().is_some() == fleet)
        })
        .filter(|e| query.task.as_deref().is_none_or(|task| e.task == task))
        .collect();
    let mut tasks = Vec::with_capacity(kept.len());
    for entry in &kept {
        let runs = match query.runs {
            Some(n) => Some(
                state
                    .store(ledger.history(&entry.scope, &entry.task, n))
                    .await?,
            ),
            None => None,
        };
        tasks.push(ledger_json(entry, runs.as_deref()));
    }
    Ok(json!({ "store_now": store_time(store_now), "tasks": tasks }))
}

/// Which control a `POST` applies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Run,
    Pause,
    Resume,
}

/// `POST /task-ledger/run`.
pub(crate) async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(control(&state, &headers, body, Verb::Run).await)
}

/// `POST /task-ledger/pause`.
pub(crate) async fn pause(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(control(&state, &headers, body, Verb::Pause).await)
}

/// `POST /task-ledger/resume`.
pub(crate) async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(control(&state, &headers, body, Verb::Resume).await)
}

fn respond(result: Result<Value, Fault>) -> Response {
    match result {
        Ok(body) => (StatusCode::OK, json_body(&body)).into_response(),
        Err(fault) => fault.into_response(),
    }
}

async fn control(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    verb: Verb,
) -> Result<Value, Fault> {
    state.auth().check(headers, Access::Write)?;
    let body = body.map_err(|rejection| {
        Fault::new(
            rejection.status(),
            format!("Malformed request body: {}", rejection.body_text()),
        )
    })?;
    let (scope, task, control) = parse_control(&body, verb)?;
    let ledger = ledger_of(state)?;
    let entry = state.store(ledger.control(&scope, &task, &control)).await?;
    tracing::info!(scope = %scope, task, action = control.verb(), "Task control applied through the API");
    Ok(json!({ "task": ledger_json(&entry, None) }))
}

/// `{"scope", "task"[, "reason"]}`: the scope, the task and the control, or a 400.
fn parse_control(body: &[u8], verb: Verb) -> Result<(TaskScope, String, TaskControl), Fault> {
    let map: Map<String, Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute body. Value: {other}. {other} is not of type 'object'"
            )));
        }
        Err(e) => return Err(Fault::bad_request(format!("Malformed request body: {e}"))),
    };
    let allowed: &[&str] = match verb {
        Verb::Pause => &["scope", "task", "reason"],
        Verb::Run | Verb::Resume => &["scope", "task"],
    };
    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{key}' was unexpected)"
        )));
    }
    let text = |field: &str, required: bool| -> Result<Option<String>, Fault> {
        match map.get(field) {
            None | Some(Value::Null) if !required => Ok(None),
            None => Err(Fault::bad_request(format!(
                "'{field}' is a required property"
            ))),
            Some(Value::String(s)) if required && s.trim().is_empty() => Err(Fault::bad_request(
                format!("Invalid input for field/attribute {field}. Value: . It must not be empty"),
            )),
            Some(Value::String(s)) if s.contains('\0') => Err(Fault::bad_request(format!(
                "Invalid input for field/attribute {field}. It contains a NUL character"
            ))),
            Some(Value::String(s)) if s.chars().count() > 255 => Err(Fault::bad_request(format!(
                "Invalid input for field/attribute {field}. Value: {s}. '{s}' is too long"
            ))),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Fault::bad_request(format!(
                "Invalid input for field/attribute {field}. Value: {other}. {other} is not of type 'string'"
            ))),
        }
    };
    let scope = text("scope", true)?.unwrap_or_default();
    let task = text("task", true)?.unwrap_or_default();
    let control = match verb {
        Verb::Run => TaskControl::RunNow,
        Verb::Resume => TaskControl::Resume,
        Verb::Pause => TaskControl::Pause {
            reason: text("reason", false)?,
        },
    };
    control
        .check()
        .map_err(|e| Fault::bad_request(e.to_string()))?;
    Ok((TaskScope::from_stored(scope), task, control))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = parse_query(Some("scope=fleet%2Fa&kind=fleet&task=t&runs=5")).unwrap();
        assert_eq!(q.scope.unwrap().as_str(), "fleet/a");
        assert_eq!(
            (q.fleet, q.task.as_deref(), q.runs),
            (Some(true), Some("t"), Some(5))
        );
        for bad in ["runs=0", "runs=51", "runs=x", "kind=cell", "host=a"] {
            let fault = parse_query(Some(bad)).unwrap_err();
            assert_eq!(fault.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn bodies() {
        let (scope, task, control) = parse_control(
            br#"{"scope": "fleet/a", "task": "t", "reason": "why"}"#,
            Verb::Pause,
        )
        .unwrap();
        assert_eq!((scope.as_str(), task.as_str()), ("fleet/a", "t"));
        assert_eq!(
            control,
            TaskControl::Pause {
                reason: Some("why".into())
            }
        );
        for (body, verb) in [
            (
                &br#"{"scope": "fleet/a", "task": "t", "reason": "why"}"#[..],
                Verb::Run,
            ),
            (br#"{"scope": "fleet/a"}"#, Verb::Resume),
            (br#"{"scope": "fleet/a", "task": 3}"#, Verb::Run),
            (b"[1]", Verb::Run),
            (b"{", Verb::Run),
            (
                br#"{"scope": "fleet/a", "task": "t", "reason": "a\u0000b"}"#,
                Verb::Pause,
            ),
        ] {
            let fault = parse_control(body, verb).unwrap_err();
            assert_eq!(
                fault.status,
                StatusCode::BAD_REQUEST,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
