//! The heartbeat loop: nova's `_report_state` and cinder's `report_state` on a
//! [`FixedInterval`], by default on a thread of its own.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::config::{DriverKind, INITIAL_REPORTING_DELAY};
use super::group::ServiceGroup;
use super::record::NewService;
use crate::error::{Error, ErrorKind};
use crate::looping::{FixedInterval, OnError};

/// Where a [`Heartbeat`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HeartbeatMode {
    /// On an OS thread of its own, with its own single-threaded tokio runtime and its own
    /// store connection (the default for SQL stores and memcached). Work that blocks the
    /// threads of the caller's runtime (a `std::thread::sleep`, a CPU loop, a blocking
    /// client) cannot delay the heartbeat, so it cannot make the service look down.
    #[default]
    Thread,
    /// As a task on the caller's tokio runtime, sharing the handle's connections: what
    /// paused-time tests need. The `memory://` store always runs its heartbeat this way,
    /// because its clock is the runtime's.
    CurrentRuntime,
}

/// How [`ServiceGroup::join`] runs a heartbeat.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
/// use periodic::{HeartbeatMode, JoinOptions};
///
/// let working = Arc::new(AtomicBool::new(true));
/// let probe = Arc::clone(&working);
/// let options = JoinOptions::default()
///     .is_working(move || probe.load(Ordering::Relaxed))
///     .initial_delay(Duration::from_secs(1))
///     .mode(HeartbeatMode::Thread);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct JoinOptions {
    is_working: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    mode: HeartbeatMode,
    initial_delay: Duration,
}

impl Default for JoinOptions {
    fn default() -> Self {
        JoinOptions {
            is_working: None,
            mode: HeartbeatMode::Thread,
            initial_delay: INITIAL_REPORTING_DELAY,
        }
    }
}

impl JoinOptions {
    /// The defaults: always working, [`HeartbeatMode::Thread`], first report after
    /// [`INITIAL_REPORTING_DELAY`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The manager's health check (cinder's `manager.is_working()`, LP#1446750), asked
    /// before every report: while it returns `false` no heartbeat is written, so the
    /// service shows down on purpose, and each skipped report logs cinder's ERROR
    /// `Manager for service <binary> <host> is reporting problems, not sending heartbeat.
    /// Service will appear "down".`
    ///
    /// It is called on the heartbeat's thread: it must be quick and must not block.
    #[must_use]
    pub fn is_working(mut self, is_working: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.is_working = Some(Arc::new(is_working));
        self
    }

    /// Where the heartbeat runs (default [`HeartbeatMode::Thread`]; the `memory://` store
    /// always uses [`HeartbeatMode::CurrentRuntime`]).
    #[must_use]
    pub fn mode(mut self, mode: HeartbeatMode) -> Self {
        self.mode = mode;
        self
    }

    /// The wait before the first report (default [`INITIAL_REPORTING_DELAY`], 5 s, as
    /// nova; cinder waits a whole `report_interval`).
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }
}

impl fmt::Debug for JoinOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinOptions")
            .field(
                "is_working",
                &self.is_working.as_ref().map(|_| "Fn() -> bool"),
            )
            .field("mode", &self.mode)
            .field("initial_delay", &self.initial_delay)
            .finish()
    }
}

/// Counters of a [`Heartbeat`], for health checks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HeartbeatStats {
    /// Heartbeats the store accepted.
    pub reports_ok: u64,
    /// Heartbeats that failed (store unreachable, timed out, ...).
    pub reports_failed: u64,
    /// Heartbeats not sent because the manager was not working.
    pub reports_skipped: u64,
    /// When the last accepted heartbeat completed, by this process's
    /// [`WallClock`](crate::WallClock).
    pub last_report: Option<SystemTime>,
    /// `false` from a failed heartbeat until the next accepted one (nova's
    /// `model_disconnected`, inverted).
    pub connected: bool,
}

/// A running heartbeat: what [`ServiceGroup::join`] returns.
///
/// Every `report_interval` (the first time after the [initial
/// delay](JoinOptions::initial_delay)) it writes one heartbeat, as nova's `_report_state`
/// and cinder's `report_state`:
///
/// ```text
/// join        5 s           15 s          25 s        (report_interval 10 s)
///  |-----------|=============|=============|====> ...
///              report        report        report
/// ```
///
/// * A report that fails is counted and logged, and the loop goes on: the first failure
///   logs one ERROR `model server went away` with the error (`mc`: WARN `Lost connection
///   to memcache server for reporting service status.`), the first success after it one
///   INFO `Recovered model server connection!` (`mc`: `Recovered connection to memcache
///   server for reporting service status.`). Nothing is logged in between.
/// * A report never retries and is bounded by the
///   [`heartbeat_timeout`](crate::ServiceGroupConfig::heartbeat_timeout), so the next
///   one is never delayed (cinder LP#2018595).
/// * If the row was deleted (`db` driver), the report recreates it (cinder) with a new id
///   ([`service_id`](Self::service_id)), logging `The service database object
///   disappeared, recreating it.` at WARN.
/// * While the manager is not [working](JoinOptions::is_working) nothing is written.
///
/// Dropping the handle stops the heartbeat without waiting; [`stop`](Self::stop) waits.
pub struct Heartbeat {
    shared: Arc<Shared>,
    token: Option<CancellationToken>,
    done: Option<oneshot::Receiver<()>>,
    stop_timeout: Duration,
}

#[derive(Debug)]
struct Shared {
    ok: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    last_report: Mutex<Option<SystemTime>>,
    disconnected: AtomicBool,
    service_id: AtomicI64,
    running: AtomicBool,
}

/// What `join` hands to [`Heartbeat::start`].
pub(crate) struct HeartbeatSpec {
    pub(crate) group: ServiceGroup,
    pub(crate) service: NewService,
    pub(crate) id: i64,
    pub(crate) options: JoinOptions,
}

impl Heartbeat {
    /// The handle for a service that does not heartbeat (`report_interval` 0).
    pub(crate) fn inert(id: i64) -> Heartbeat {
        Heartbeat {
            shared: Arc::new(Shared::new(id, false)),
            token: None,
            done: None,
            stop_timeout: Duration::ZERO,
        }
    }

    pub(crate) fn start(spec: HeartbeatSpec) -> Result<Heartbeat, Error> {
        let config = spec.group.config();
        let interval = config.report_interval;
        let timeout = config.effective_heartbeat_timeout();
        let mode = if spec.group.store().is_memory() {
            HeartbeatMode::CurrentRuntime
        } else {
            spec.options.mode
        };
        let shared = Arc::new(Shared::new(spec.id, true));
        let token = CancellationToken::new();
        let (tx, done) = oneshot::channel();
        let reporter = Reporter {
            driver: config.driver,
            group: spec.group,
            service: spec.service,
            is_working: spec.options.is_working,
            shared: Arc::clone(&shared),
            timeout,
        };
        let initial_delay = spec.options.initial_delay;
        let cancel = token.clone();
        match mode {
            HeartbeatMode::CurrentRuntime => {
                tokio::spawn(async move {
                    run(reporter, cancel, initial_delay, interval).await;
                    let _ = tx.send(());
                });
            }
            HeartbeatMode::Thread => {
                let name = format!("heartbeat-{}", reporter.service.binary);
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || run_on_own_thread(reporter, cancel, initial_delay, interval, tx))
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, "cannot spawn the heartbeat thread")
                            .with_source(e)
                    })?;
            }
        }
        Ok(Heartbeat {
            shared,
            token: Some(token),
            done: Some(done),
            stop_timeout: timeout + Duration::from_secs(1),
        })
    }

    /// The id of the service's row. It changes if the row was deleted and the heartbeat
    /// recreated it.
    pub fn service_id(&self) -> i64 {
        self.shared.service_id.load(Ordering::Acquire)
    }

    /// Whether the loop is running (`false` once stopped, and for a service with a zero
    /// `report_interval`).
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// The counters so far.
    pub fn stats(&self) -> HeartbeatStats {
        let s = &self.shared;
        HeartbeatStats {
            reports_ok: s.ok.load(Ordering::Relaxed),
            reports_failed: s.failed.load(Ordering::Relaxed),
            reports_skipped: s.skipped.load(Ordering::Relaxed),
            last_report: *s.last_report.lock().unwrap_or_else(PoisonError::into_inner),
            connected: !s.disconnected.load(Ordering::Relaxed),
        }
    }

    /// Stops the loop: no report starts after this call, and a report in flight is
    /// waited for, at most the heartbeat timeout plus one second.
    ///
    /// It does not mark the service stopped; [`ServiceGroup::leave`] does both.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`] if the loop did not end in time (it still ends by itself
    /// once the report in flight returns).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the loop was told to stop before the first `.await`.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(token) = &self.token {
            token.cancel();
        }
        let Some(done) = self.done.take() else {
            return Ok(());
        };
        match tokio::time::timeout(self.stop_timeout, done).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::new(
                ErrorKind::TimedOut,
                format!(
                    "the heartbeat did not stop within {:.1} s",
                    self.stop_timeout.as_secs_f64()
                ),
            )),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Heartbeat")
            .field("service_id", &self.service_id())
            .field("running", &self.is_running())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Shared {
    fn new(id: i64, running: bool) -> Shared {
        Shared {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            last_report: Mutex::new(None),
            disconnected: AtomicBool::new(false),
            service_id: AtomicI64::new(id),
            running: AtomicBool::new(running),
        }
    }
}

/// The thread body of [`HeartbeatMode::Thread`]: a runtime and store connections of its
/// own.
fn run_on_own_thread(
    mut reporter: Reporter,
    cancel: CancellationToken,
    initial_delay: Duration,
    interval: Duration,
    done: oneshot::Sender<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(async move {
            match reporter.group.reopen_for_heartbeat().await {
                Ok(group) => {
                    reporter.group = group.clone();
                    run(reporter, cancel, initial_delay, interval).await;
                    group.close().await;
                }
                Err(e) => {
                    reporter.shared.running.store(false, Ordering::Release);
                    tracing::error!(
                        host = %reporter.service.host,
                        binary = %reporter.service.binary,
                        error = %e.report(),
                        "cannot start the heartbeat"
                    );
                }
            }
        }),
        Err(e) => {
            reporter.shared.running.store(false, Ordering::Release);
            tracing::error!(error = %e, "cannot start the heartbeat's runtime");
        }
    }
    let _ = done.send(());
}

async fn run(
    reporter: Reporter,
    cancel: CancellationToken,
    initial_delay: Duration,
    interval: Duration,
) {
    let shared = Arc::clone(&reporter.shared);
    let reporter = Arc::new(reporter);
    let mut call = FixedInterval::new(interval, move || {
        let reporter = Arc::clone(&reporter);
        async move { reporter.report().await }
    })
    .initial_delay(initial_delay)
    .on_error(OnError::Log)
    .name("report_state")
    .start();
    cancel.cancelled().await;
    call.stop();
    let _ = call.wait().await;
    shared.running.store(false, Ordering::Release);
}

/// One service's reporting state.
struct Reporter {
    driver: DriverKind,
    group: ServiceGroup,
    service: NewService,
    is_working: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    shared: Arc<Shared>,
    timeout: Duration,
}

impl Reporter {
    /// One report; never fails: failures are counted and logged once.
    async fn report(&self) {
        let (host, binary) = (&self.service.host, &self.service.binary);
        // A panicking health check counts as "not working": it must not end the
        // heartbeat (nova LP#1517926: an escaping error left a "zombie" service).
        let working = |f: &Arc<dyn Fn() -> bool + Send + Sync>| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f())).unwrap_or(false)
        };
        if let Some(is_working) = &self.is_working
            && !working(is_working)
        {
            self.shared.skipped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                %host,
                %binary,
                "Manager for service {binary} {host} is reporting problems, not sending \
                 heartbeat. Service will appear \"down\"."
            );
            return;
        }
        let result = tokio::time::timeout(self.timeout, self.write())
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the heartbeat timed out after {:.1} s",
                        self.timeout.as_secs_f64()
                    ),
                ))
            });
        let shared = &self.shared;
        match result {
            Ok(()) => {
                shared.ok.fetch_add(1, Ordering::Relaxed);
                *shared
                    .last_report
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) =
                    Some(self.group.config().clock.now());
                tracing::debug!(%host, %binary, "heartbeat sent");
                if shared.disconnected.swap(false, Ordering::AcqRel) {
                    match self.driver {
                        DriverKind::Memcached => tracing::info!(
                            %host,
                            %binary,
                            "Recovered connection to memcache server for reporting service status."
                        ),
                        DriverKind::Db => {
                            tracing::info!(%host, %binary, "Recovered model server connection!");
                        }
                    }
                }
            }
            Err(e) => {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                if !shared.disconnected.swap(true, Ordering::AcqRel) {
                    let error = e.report();
                    match self.driver {
                        DriverKind::Memcached => tracing::warn!(
                            %host,
                            %binary,
                            %error,
                            "Lost connection to memcache server for reporting service status."
                        ),
                        DriverKind::Db => {
                            tracing::error!(%host, %binary, %error, "model server went away");
                        }
                    }
                }
            }
        }
    }

    async fn write(&self) -> Result<(), Error> {
        let id = self.shared.service_id.load(Ordering::Acquire);
        let service = &self.service;
        match self
            .group
            .report_id(id, &service.topic, &service.host)
            .await
        {
            Err(e) if e.kind() == ErrorKind::NotFound && self.driver == DriverKind::Db => {
                tracing::warn!(
                    host = %service.host,
                    binary = %service.binary,
                    "The service database object disappeared, recreating it."
                );
                let record = self.group.get_or_create(service).await?;
                self.shared.service_id.store(record.id, Ordering::Release);
                self.group
                    .report_id(record.id, &record.topic, &record.host)
                    .await
            }
            other => other,
        }
    }
}
