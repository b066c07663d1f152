//! What the handlers share: the store, the auth model and, inside a running service, the
//! service itself.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::auth::Auth;
use super::fault::Fault;
use super::task_metrics::TaskMetrics;
use crate::error::{Error, ErrorKind};
use crate::periodic::{TaskInfo, TaskLedger};
use crate::servicegroup::{HeartbeatStats, ServiceGroup};

/// The handlers' state; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    group: ServiceGroup,
    auth: Auth,
    store_timeout: Duration,
    scrape_timeout: Duration,
    service: Option<Embedded>,
    /// The task ledger `/task-ledger` reads and controls.
    ledger: Option<Arc<dyn TaskLedger>>,
}

/// A snapshot of a running service's moving parts, for `/healthz` and `/metrics`.
#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    /// The heartbeat's counters, `None` once it was handed over to a stop.
    pub(crate) heartbeat: Option<HeartbeatStats>,
    /// Whether the heartbeat loop runs (`false` for `report_interval` 0 too).
    pub(crate) heartbeat_running: bool,
    /// Whether the periodic-task timer runs.
    pub(crate) periodic_running: bool,
}

/// The running service an embedded API reports on; built by the service's start.
pub(crate) struct Embedded {
    pub(crate) host: String,
    pub(crate) binary: String,
    pub(crate) topic: String,
    /// nova's `periodic_enable`.
    pub(crate) periodic_enable: bool,
    /// When the service joined its group, on the group's wall clock.
    pub(crate) joined_at: SystemTime,
    /// The wait before the first heartbeat.
    pub(crate) initial_reporting_delay: Duration,
    /// The runner's task snapshot ([`PeriodicRunner::tasks`](crate::PeriodicRunner::tasks)).
    pub(crate) tasks: Box<dyn Fn() -> Vec<TaskInfo> + Send + Sync>,
    /// The heartbeat's and the timer's state now.
    pub(crate) liveness: Box<dyn Fn() -> Liveness + Send + Sync>,
    /// The runner's observer's counters.
    pub(crate) metrics: Arc<TaskMetrics>,
}

impl AppState {
    pub(crate) fn new(
        group: ServiceGroup,
        auth: Auth,
        store_timeout: Duration,
        scrape_timeout: Duration,
        service: Option<Embedded>,
        ledger: Option<Arc<dyn TaskLedger>>,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                group,
                auth,
                store_timeout,
                scrape_timeout,
                service,
                ledger,
            }),
        }
    }

    pub(crate) fn group(&self) -> &ServiceGroup {
        &self.inner.group
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    pub(crate) fn scrape_timeout(&self) -> Duration {
        self.inner.scrape_timeout
    }

    /// The task ledger of `/task-ledger`, if the store keeps one.
    pub(crate) fn ledger(&self) -> Option<&Arc<dyn TaskLedger>> {
        self.inner.ledger.as_ref()
    }

    pub(crate) fn service(&self) -> Option<&Embedded> {
        self.inner.service.as_ref()
    }

    /// A store call bounded by the store timeout; errors as nova faults.
    pub(crate) async fn store<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Fault> {
        bounded(self.inner.store_timeout, call)
            .await
            .map_err(|e| Fault::from_store(&e))
    }
}

/// `call`, or an [`ErrorKind::TimedOut`] error after `timeout`.
pub(crate) async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::TimedOut,
            format!(
                "the service store did not answer within {:.1} s",
                timeout.as_secs_f64()
            ),
        )),
    }
}
