//! `GET /tasks`: the running service's periodic tasks.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Access;
use super::fault::{Fault, json_body};
use super::seconds::secs;
use super::state::{AppState, Embedded};
use crate::periodic::DEFAULT_INTERVAL;

/// `GET /tasks`: `{"service": {...}, "tasks": [...]}`; 404 on a standalone server.
pub(crate) async fn tasks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(fault) = state.auth().check(&headers, Access::Read) {
        return fault.into_response();
    }
    match state.service() {
        Some(service) => (StatusCode::OK, json_body(&tasks_view(service))).into_response(),
        None => Fault::not_found(
            "No periodic tasks here: this API server is not part of a running service (`periodic \
             api serve` serves /os-services, /healthz and /metrics of the store). Ask the \
             service's own API, started with its --api-bind address.",
        )
        .into_response(),
    }
}

/// `later - earlier` in seconds, negative when `later` is before `earlier`.
fn signed_secs(later: Instant, earlier: Instant) -> f64 {
    if later >= earlier {
        secs(later - earlier)
    } else {
        -secs(earlier - later)
    }
}

pub(crate) fn tasks_view(service: &Embedded) -> Value {
    let now = Instant::now();
    let tasks: Vec<Value> = (service.tasks)()
        .into_iter()
        .map(|t| {
            let last_start = (t.runs > 0)
                .then(|| service.metrics.last_started(&t.name).or(t.last_run))
                .flatten();
            json!({
                "name": t.name,
                "full_name": t.full_name,
                // The API's contract, older than `Spacing`: a disabled task shows the
                // default interval, and `enabled` says whether the task runs here.
                "spacing": secs(t.interval.unwrap_or(DEFAULT_INTERVAL)),
                "enabled": t.runnable,
                "run_immediately": t.run_immediately,
                "external_process_ok": t.external_process_ok,
                "last_run_ago": last_start.map(|s| signed_secs(now, s)),
                "next_due_in": t.next_due.map(|due| signed_secs(due, now)),
                "runs": t.runs,
                "failures": t.failures,
                "last_duration": t.last_duration.map(secs),
                "last_lateness": t.last_lateness.map(secs),
                "running": t.running,
                // Fleet tasks: the fleet, and the slot and fencing token this replica
                // last won (null for plain tasks, or before a won claim).
                "fleet": t.fleet,
                "fleet_slot": t.fleet_slot,
                "fleet_token": t.fleet_token,
                // Paused in the task ledger (`periodic task pause`): it does not run.
                "paused": t.paused,
            })
        })
        .collect();
    json!({
        "service": {
            "host": service.host,
            "binary": service.binary,
            "topic": service.topic,
        },
        "tasks": tasks,
    })
}
