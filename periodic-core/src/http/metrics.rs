//! `/metrics`: Prometheus metrics of the periodic tasks (fed by the runner's
//! [`on_task_run`](crate::PeriodicRunnerBuilder::on_task_run) observer), the heartbeat and
//! the services of the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::time::Instant;

use super::auth::Access;
use super::state::{AppState, Embedded, bounded};
use crate::periodic::{RunOutcome, TaskRun};
use crate::servicegroup::{ServiceFilter, ServiceStatus};

/// The content type of the OpenMetrics text exposition, which Prometheus reads.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bucket bounds of the run-duration histogram, in seconds: a millisecond to ten minutes.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0, 600.0,
];
/// Bucket bounds of the lateness histogram, in seconds: jitter is up to 5 % of the
/// spacing in whole seconds, so lateness of a few seconds is normal for long spacings.
const LATENESS_BUCKETS: [f64; 13] = [
    0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    task: String,
    binary: String,
    host: String,
}

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

type HistogramFamily = Family<TaskLabels, Histogram, fn() -> Histogram>;

/// Per-task counters and histograms of one service, fed by the runner's observer.
pub(crate) struct TaskMetrics {
    binary: String,
    host: String,
    registry: Registry,
    runs: Family<TaskLabels, Counter>,
    failures: Family<TaskLabels, Counter>,
    timeouts: Family<TaskLabels, Counter>,
    overruns: Family<TaskLabels, Counter>,
    duration: HistogramFamily,
    lateness: HistogramFamily,
    last_started: Mutex<HashMap<Arc<str>, Instant>>,
}

impl std::fmt::Debug for TaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskMetrics")
            .field("binary", &self.binary)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn lateness_histogram() -> Histogram {
    Histogram::new(LATENESS_BUCKETS)
}

impl TaskMetrics {
    pub(crate) fn new(binary: &str, host: &str) -> Arc<TaskMetrics> {
        let runs = Family::<TaskLabels, Counter>::default();
        let failures = Family::<TaskLabels, Counter>::default();
        let timeouts = Family::<TaskLabels, Counter>::default();
        let overruns = Family::<TaskLabels, Counter>::default();
        let duration: HistogramFamily = Family::new_with_constructor(duration_histogram);
        let lateness: HistogramFamily = Family::new_with_constructor(lateness_histogram);
        let mut registry = Registry::default();
        registry.register(
            "periodic_task_runs",
            "Finished runs of a periodic task, successful or not",
            runs.clone(),
        );
        registry.register(
            "periodic_task_failures",
            "Runs of a periodic task that returned an error or panicked",
            failures.clone(),
        );
        registry.register(
            "periodic_task_timeouts",
            "Async runs of a periodic task cancelled at its timeout (also counted as failures)",
            timeouts.clone(),
        );
        registry.register(
            "periodic_task_overruns",
            "Blocking runs of a periodic task that went past its timeout (they cannot be cancelled)",
            overruns.clone(),
        );
        registry.register_with_unit(
            "periodic_task_duration",
            "How long runs of a periodic task took",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register_with_unit(
            "periodic_task_lateness",
            "How late runs of a periodic task started against their due time",
            Unit::Seconds,
            lateness.clone(),
        );
        Arc::new(TaskMetrics {
            binary: binary.to_owned(),
            host: host.to_owned(),
            registry,
            runs,
            failures,
            timeouts,
            overruns,
            duration,
            lateness,
            last_started: Mutex::new(HashMap::new()),
        })
    }

    /// The runner's observer: one finished run.
    pub(crate) fn observe(&self, run: &TaskRun) {
        let labels = TaskLabels {
            task: run.name.to_string(),
            binary: self.binary.clone(),
            host: self.host.clone(),
        };
        self.runs.get_or_create(&labels).inc();
        if run.outcome != RunOutcome::Succeeded {
            self.failures.get_or_create(&labels).inc();
        }
        if run.outcome == RunOutcome::TimedOut {
            self.timeouts.get_or_create(&labels).inc();
        }
        if run.overran {
            self.overruns.get_or_create(&labels).inc();
        }
        self.duration
            .get_or_create(&labels)
            .observe(run.duration.as_secs_f64());
        self.lateness
            .get_or_create(&labels)
            .observe(run.lateness().as_secs_f64());
        self.last_started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Arc::clone(&run.name), run.started);
    }

    /// When the last finished run of `task` started.
    pub(crate) fn last_started(&self, task: &str) -> Option<Instant> {
        self.last_started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(task)
            .copied()
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus_client::encoding::text::encode;
    use tokio::time::Instant;

    use super::TaskMetrics;
    use crate::periodic::{RunOutcome, TaskRun};

    fn run(outcome: RunOutcome, overran: bool) -> TaskRun {
        let now = Instant::now();
        TaskRun {
            name: "sync".into(),
            full_name: "Compute.sync".into(),
            due: now,
            started: now,
            duration: Duration::from_secs(3),
            outcome,
            overran,
        }
    }

    fn sample(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}{{")))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    }

    // A timed-out run counts as a run, a failure and a timeout; an overrunning blocking
    // run that succeeded counts as an overrun only.
    #[test]
    fn timeouts_and_overruns_are_counted() {
        let metrics = TaskMetrics::new("nova-compute", "node-1");
        metrics.observe(&run(RunOutcome::TimedOut, false));
        metrics.observe(&run(RunOutcome::Succeeded, true));
        metrics.observe(&run(RunOutcome::Succeeded, false));
        let mut text = String::new();
        encode(&mut text, &metrics.registry).unwrap();
        assert_eq!(
            sample(&text, "periodic_task_runs_total").as_deref(),
            Some("3"),
            "{text}"
        );
        assert_eq!(
            sample(&text, "periodic_task_failures_total").as_deref(),
            Some("1")
        );
        assert_eq!(
            sample(&text, "periodic_task_timeouts_total").as_deref(),
            Some("1")
        );
        assert_eq!(
            sample(&text, "periodic_task_overruns_total").as_deref(),
            Some("1")
        );
    }
}
