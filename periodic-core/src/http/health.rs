//! `GET /healthz`: the liveness of the running service (heartbeat recent, periodic-task
//! loop alive), or of the store for a standalone server.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Access;
use super::fault::json_body;
use super::seconds::secs;
use super::state::{AppState, Embedded, bounded};
use crate::servicegroup::{ServiceFilter, ServiceGroup};

/// `GET /healthz`: 200 `{"status": "ok", ...}` or 503 `{"status": "unhealthy", "reason":
/// ..., ...}`.
pub(crate) async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(fault) = state.auth().check(&headers, Access::Probe) {
        return fault.into_response();
    }
    let (healthy, body) = match state.service() {
        Some(service) => service_health(state.group(), service),
        None => store_health(&state).await,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, json_body(&body)).into_response()
}

/// The service's own liveness:
///
/// * the heartbeat: its loop runs and the last accepted report is at most
///   `service_down_time` old; before the first report the clock starts when the first
///   report was due (join + initial delay), so a service is healthy while it starts;
/// * the periodic tasks: their timer runs (or `periodic_enable` is off).
pub(crate) fn service_health(group: &ServiceGroup, service: &Embedded) -> (bool, Value) {
    let live = (service.liveness)();
    let now = group.config().clock.now();
    let down_time = group.service_down_time();
    let report_interval = group.report_interval();
    let mut reasons: Vec<String> = Vec::new();
    let heartbeat_enabled = !report_interval.is_zero();
    let mut last_report_age = None;
    if heartbeat_enabled {
        match &live.heartbeat {
            None => reasons.push("the service is stopping".to_owned()),
            Some(stats) => {
                if !live.heartbeat_running {
                    reasons.push("the heartbeat loop is not running".to_owned());
                }
                let reference = stats
                    .last_report
                    .unwrap_or(service.joined_at + service.initial_reporting_delay);
                let age = now.duration_since(reference).unwrap_or(Duration::ZERO);
                if let Some(last) = stats.last_report {
                    last_report_age = Some(now.duration_since(last).unwrap_or(Duration::ZERO));
                }
                if age > down_time {
                    reasons.push(match stats.last_report {
                        Some(_) => format!(
                            "the last successful heartbeat was {:.1} s ago, more than \
                             service_down_time ({} s)",
                            age.as_secs_f64(),
                            secs(down_time)
                        ),
                        None => format!(
                            "no successful heartbeat yet, {:.1} s after the first was due \
                             (service_down_time {} s)",
                            age.as_secs_f64(),
                            secs(down_time)
                        ),
                    });
                }
            }
        }
    }
    if service.periodic_enable && !live.periodic_running {
        reasons.push("the periodic task loop is not running".to_owned());
    }
    let healthy = reasons.is_empty();
    let stats = live.heartbeat.unwrap_or_default();
    let mut body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "service": {
            "host": service.host,
            "binary": service.binary,
            "topic": service.topic,
        },
        "heartbeat": {
            "enabled": heartbeat_enabled,
            "running": live.heartbeat_running,
            "last_report_age": last_report_age.map(secs),
            "report_interval": secs(report_interval),
            "service_down_time": secs(down_time),
            "reports_ok": stats.reports_ok,
            "reports_failed": stats.reports_failed,
            "reports_skipped": stats.reports_skipped,
            "connected": stats.connected,
            "clock_skew": stats.clock_skew.map(crate::ClockSkew::as_secs_f64),
        },
        "periodic_tasks": {
            "enabled": service.periodic_enable,
            "running": live.periodic_running,
        },
    });
    if !healthy {
        body["reason"] = json!(reasons.join("; "));
    }
    (healthy, body)
}

/// A standalone server is healthy when its store answers a list within the scrape
/// timeout.
async fn store_health(state: &AppState) -> (bool, Value) {
    let group = state.group();
    let store = json!({ "url": group.url(), "driver": group.driver().as_str() });
    match bounded(state.scrape_timeout(), group.list(&ServiceFilter::all())).await {
        Ok(services) => (
            true,
            json!({ "status": "ok", "store": store, "services": services.len() }),
        ),
        Err(err) => (
            false,
            json!({ "status": "unhealthy", "store": store, "reason": err.report() }),
        ),
    }
}
