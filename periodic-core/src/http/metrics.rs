//! `/metrics`: Prometheus metrics of the periodic tasks (the service's
//! [`TaskMetrics`](super::TaskMetrics), `task_metrics.rs`), the heartbeat and the
//! services of the store.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::auth::Access;
use super::state::{AppState, Embedded, bounded};
use crate::servicegroup::{ServiceFilter, ServiceStatus};

/// The content type of the OpenMetrics text exposition, which Prometheus reads.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    binary: String,
    host: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FleetLabels {
    task: String,
    fleet: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    binary: String,
    state: String,
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(fault) = state.auth().check(&headers, Access::Read) {
        return fault.into_response();
    }
    let scrape = scrape(&state).await;
    let mut text = String::new();
    let encoded = (|| {
        if let Some(service) = state.service() {
            encode_registry(&mut text, &service.metrics.registry)?;
        }
        encode_registry(&mut text, &scrape)?;
        encode_eof(&mut text)
    })();
    if encoded.is_err() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics\n",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        text,
    )
        .into_response()
}

/// `periodic_fleet_token`: per fleet task, the token of the last slot this replica won;
/// `periodic_fleet_holding`: 1 while this replica holds the task's lease (its run of the
/// slot is in progress), else 0. Summed over a fleet's replicas, the latter is at most 1
/// per task; who holds it fleet-wide is in the ledger (`periodic task list --fleet`).
fn register_fleet_tokens(registry: &mut Registry, service: &Embedded) {
    let tokens = Family::<FleetLabels, Gauge>::default();
    let holding = Family::<FleetLabels, Gauge>::default();
    let mut fleet_tasks = false;
    for task in (service.tasks)() {
        let Some(fleet) = task.fleet else { continue };
        fleet_tasks = true;
        let labels = FleetLabels {
            task: task.name,
            fleet,
        };
        holding
            .get_or_create(&labels)
            .set(i64::from(task.running && task.fleet_token.is_some()));
        if let Some(token) = task.fleet_token {
            tokens
                .get_or_create(&labels)
                .set(i64::try_from(token).unwrap_or(i64::MAX));
        }
    }
    if fleet_tasks {
        registry.register(
            "periodic_fleet_token",
            "The fencing token of the last slot this replica won, per fleet task",
            tokens,
        );
        registry.register(
            "periodic_fleet_holding",
            "1 while this replica holds the fleet task's lease (its run is in progress), else 0",
            holding,
        );
    }
}

/// `periodic_clock_skew_seconds{host, binary}`: each listed service's clock skew at its
/// last report, for the services that have a figure (none: no metric).
fn register_clock_skews(registry: &mut Registry, services: &[ServiceStatus]) {
    let skews = Family::<ServiceLabels, Gauge<f64, AtomicU64>>::default();
    let mut any = false;
    for s in services {
        if let Some(skew) = s.clock_skew {
            any = true;
            skews
                .get_or_create(&ServiceLabels {
                    binary: s.record.binary.clone(),
                    host: s.record.host.clone(),
                })
                .set(skew.as_secs_f64());
        }
    }
    if any {
        registry.register_with_unit(
            "periodic_clock_skew",
            "Each service's clock minus the store's at its last report (positive: ahead); \
             liveness never depends on it",
            Unit::Seconds,
            skews,
        );
    }
}

/// The metrics computed at scrape time: the heartbeat's, and the services of the store
/// (one `list`, bounded by the scrape timeout so that a slow store cannot hang a scrape).
async fn scrape(state: &AppState) -> Registry {
    let mut registry = Registry::default();
    if let Some(service) = state.service() {
        let labels = ServiceLabels {
            binary: service.binary.clone(),
            host: service.host.clone(),
        };
        register_fleet_tokens(&mut registry, service);
        let live = (service.liveness)();
        if let Some(stats) = live.heartbeat {
            let reports = Family::<ServiceLabels, Counter>::default();
            reports.get_or_create(&labels).inc_by(stats.reports_ok);
            registry.register(
                "periodic_heartbeat_reports",
                "Heartbeats the store accepted",
                reports,
            );
            let failures = Family::<ServiceLabels, Counter>::default();
            failures.get_or_create(&labels).inc_by(stats.reports_failed);
            registry.register(
                "periodic_heartbeat_failures",
                "Heartbeats that failed (store unreachable, timed out, ...)",
                failures,
            );
            if let Some(last) = stats.last_report {
                let now = state.group().config().clock.now();
                let age = now.duration_since(last).unwrap_or_default();
                let gauge = Family::<ServiceLabels, Gauge<f64, AtomicU64>>::default();
                gauge.get_or_create(&labels).set(age.as_secs_f64());
                registry.register_with_unit(
                    "periodic_heartbeat_age",
                    "Time since the last heartbeat the store accepted",
                    Unit::Seconds,
                    gauge,
                );
            }
        }
    }
    let listed = bounded(
        state.scrape_timeout(),
        state.group().list(&ServiceFilter::all()),
    )
    .await;
    let store_up = Gauge::<i64>::default();
    match listed {
        Ok(services) => {
            store_up.set(1);
            let mut counts: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
            for s in &services {
                let entry = counts.entry(s.record.binary.as_str()).or_default();
                if s.is_up() {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                }
            }
            let family = Family::<StateLabels, Gauge>::default();
            for (binary, (up, down)) in counts {
                for (state, n) in [("up", up), ("down", down)] {
                    family
                        .get_or_create(&StateLabels {
                            binary: binary.to_owned(),
                            state: state.to_owned(),
                        })
                        .set(n);
                }
            }
            registry.register(
                "periodic_services",
                "Services in the store by binary and state (up or down, as service list shows)",
                family,
            );
            register_clock_skews(&mut registry, &services);
        }
        Err(err) => {
            tracing::warn!(error = %err.report(), "metrics: cannot list the services");
        }
    }
    registry.register(
        "periodic_store_up",
        "Whether the service store answered the list of services within the scrape timeout",
        store_up,
    );
    registry
}
