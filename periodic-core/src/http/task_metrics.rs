//! The per-task metrics of a running service, fed by the runner's
//! [`on_task_run`](crate::PeriodicRunnerBuilder::on_task_run) observer: runs, failures,
//! timeouts, overruns, durations and lateness. `/metrics` (`metrics.rs`) encodes them
//! beside what it computes at scrape time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::time::Instant;

use crate::periodic::{RunOutcome, TaskRun};

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

type HistogramFamily = Family<TaskLabels, Histogram, fn() -> Histogram>;

/// Per-task counters and histograms of one service, fed by the runner's observer.
pub(crate) struct TaskMetrics {
    binary: String,
    host: String,
    pub(super) registry: Registry,
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
