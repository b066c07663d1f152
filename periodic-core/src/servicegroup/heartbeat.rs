//! The report loop: the [`Membership`] of the timestamp drivers (`db`, `mc`), nova's
//! `_report_state` and cinder's `report_state` on a [`FixedInterval`], by default on a
//! thread of its own.
//!
//! A driver hands [`start`] a [`ReportLoop`]: how to open its [`Beat`] (the one write
//! it makes per report) on the runtime the loop runs on, and the texts of an outage. The
//! loop owns everything else: the schedule, the health check, the timeout, the counters,
//! the once-each-way outage log and the once-each-way clock-skew warning.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::config::{ServiceGroupConfig, WallClock};
use super::liveness::OutageTexts;
use super::membership::{Heartbeat, HeartbeatMode, HeartbeatStats, JoinOptions, Membership};
use super::record::{NewService, ServiceRecord};
use super::skew::{ClockSkew, SkewAlarm};
use crate::error::{Error, ErrorKind};
use crate::looping::{FixedInterval, OnError};

/// What one accepted report says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Beaten {
    /// The new id when the row was gone and the driver recreated it.
    pub(crate) recreated: Option<i64>,
    /// The service's clock skew against the store at this report, if the driver measured
    /// it.
    pub(crate) skew: Option<ClockSkew>,
}

impl Beaten {
    /// A report that measured `skew`.
    pub(crate) fn skew(skew: Option<ClockSkew>) -> Beaten {
        Beaten {
            recreated: None,
            skew,
        }
    }
}

/// The one write a timestamp driver makes per report.
pub(crate) trait Beat: Send + Sync + 'static {
    /// Reports that service `id` is alive, with the service's own wall-clock time `now`.
    fn beat<'a>(
        &'a self,
        id: i64,
        service: &'a NewService,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Beaten, Error>>;

    /// Closes the connections the beat opened for itself (when the loop ends).
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Opens a driver's [`Beat`] on the runtime that awaits it; `dedicated` is true on the
/// heartbeat's own thread, where the beat must not share the group's connections.
pub(crate) type OpenBeat =
    Box<dyn FnOnce(bool) -> BoxFuture<'static, Result<Box<dyn Beat>, Error>> + Send>;

/// What a driver hands to [`start`].
pub(crate) struct ReportLoop {
    pub(crate) open: OpenBeat,
    pub(crate) service: NewService,
    pub(crate) id: i64,
    pub(crate) options: JoinOptions,
    pub(crate) report_interval: Duration,
    /// The bound on one report, connection included.
    pub(crate) timeout: Duration,
    pub(crate) texts: OutageTexts,
    /// For [`HeartbeatStats::last_report`].
    pub(crate) clock: WallClock,
    /// The store measures ages on the caller's tokio clock: run on the caller's runtime.
    pub(crate) on_tokio_clock: bool,
    /// The `clock_skew_warning` threshold.
    pub(crate) skew_warning: Duration,
}

impl ReportLoop {
    /// The loop of `service` under a group's `config`: the interval, the timeout and the
    /// clock come from there; the driver brings its beat and its outage texts.
    /// `on_tokio_clock` is the services table's
    /// [`on_tokio_clock`](super::records::ServiceRecords::on_tokio_clock).
    pub(crate) fn new(
        config: &ServiceGroupConfig,
        service: &ServiceRecord,
        options: JoinOptions,
        on_tokio_clock: bool,
        texts: OutageTexts,
        open: OpenBeat,
    ) -> ReportLoop {
        ReportLoop {
            open,
            service: NewService::from(service),
            id: service.id,
            options,
            report_interval: config.report_interval,
            timeout: config.effective_heartbeat_timeout(),
            texts,
            clock: config.clock.clone(),
            on_tokio_clock,
            skew_warning: config.clock_skew_warning,
        }
    }
}

/// Starts the loop.
pub(crate) fn start(spec: ReportLoop) -> Result<Heartbeat, Error> {
    let mode = if spec.on_tokio_clock {
        HeartbeatMode::CurrentRuntime
    } else {
        spec.options.heartbeat_mode()
    };
    let shared = Arc::new(Shared::new(spec.id));
    let token = CancellationToken::new();
    let (tx, done) = oneshot::channel();
    let stop_timeout = spec.timeout + Duration::from_secs(1);
    let initial_delay = spec.options.first_report_after();
    let interval = spec.report_interval;
    let reporter = Reporter {
        service: spec.service,
        options: spec.options,
        texts: spec.texts,
        clock: spec.clock,
        shared: Arc::clone(&shared),
        timeout: spec.timeout,
        alarm: Mutex::new(SkewAlarm::new(spec.skew_warning)),
    };
    let run = Run {
        reporter,
        open: spec.open,
        cancel: token.clone(),
        initial_delay,
        interval,
    };
    match mode {
        HeartbeatMode::CurrentRuntime => {
            tokio::spawn(async move {
                run.run(false).await;
                let _ = tx.send(());
            });
        }
        HeartbeatMode::Thread => {
            let name = format!("heartbeat-{}", run.reporter.service.binary);
            std::thread::Builder::new()
                .name(name)
                .spawn(move || run.run_on_own_thread(tx))
                .map_err(|e| {
                    Error::new(ErrorKind::Io, "cannot spawn the heartbeat thread").with_source(e)
                })?;
        }
    }
    Ok(Heartbeat::new(ReportMembership {
        shared,
        token,
        done: Some(done),
        stop_timeout,
    }))
}

/// The [`Membership`] of a report loop.
struct ReportMembership {
    shared: Arc<Shared>,
    token: CancellationToken,
    done: Option<oneshot::Receiver<()>>,
    stop_timeout: Duration,
}

impl Membership for ReportMembership {
    fn service_id(&self) -> i64 {
        self.shared.service_id.load(Ordering::Acquire)
    }

    fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    fn stats(&self) -> HeartbeatStats {
        let s = &self.shared;
        HeartbeatStats {
            reports_ok: s.ok.load(Ordering::Relaxed),
            reports_failed: s.failed.load(Ordering::Relaxed),
            reports_skipped: s.skipped.load(Ordering::Relaxed),
            last_report: *s.last_report.lock().unwrap_or_else(PoisonError::into_inner),
            connected: !s.disconnected.load(Ordering::Relaxed),
            clock_skew: *s.clock_skew.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    fn stop(mut self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
        self.token.cancel();
        let done = self.done.take();
        let timeout = self.stop_timeout;
        Box::pin(async move {
            let Some(done) = done else {
                return Ok(());
            };
            match tokio::time::timeout(timeout, done).await {
                Ok(_) => Ok(()),
                Err(_) => Err(Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the heartbeat did not stop within {:.1} s",
                        timeout.as_secs_f64()
                    ),
                )),
            }
        })
    }
}

impl Drop for ReportMembership {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

impl fmt::Debug for ReportMembership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportMembership")
            .field("service_id", &self.service_id())
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Shared {
    ok: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    last_report: Mutex<Option<SystemTime>>,
    clock_skew: Mutex<Option<ClockSkew>>,
    disconnected: AtomicBool,
    service_id: AtomicI64,
    running: AtomicBool,
}

impl Shared {
    fn new(id: i64) -> Shared {
        Shared {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            last_report: Mutex::new(None),
            clock_skew: Mutex::new(None),
            disconnected: AtomicBool::new(false),
            service_id: AtomicI64::new(id),
            running: AtomicBool::new(true),
        }
    }
}

/// The loop, before it runs.
struct Run {
    reporter: Reporter,
    open: OpenBeat,
    cancel: CancellationToken,
    initial_delay: Duration,
    interval: Duration,
}

impl Run {
    /// The thread body of [`HeartbeatMode::Thread`]: a runtime and connections of its
    /// own.
    fn run_on_own_thread(self, done: oneshot::Sender<()>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(self.run(true)),
            Err(e) => {
                self.reporter.shared.running.store(false, Ordering::Release);
                tracing::error!(error = %e, "cannot start the heartbeat's runtime");
            }
        }
        let _ = done.send(());
    }

    async fn run(self, dedicated: bool) {
        let Run {
            reporter,
            open,
            cancel,
            initial_delay,
            interval,
        } = self;
        let shared = Arc::clone(&reporter.shared);
        let beat = match open(dedicated).await {
            Ok(beat) => Arc::<dyn Beat>::from(beat),
            Err(e) => {
                shared.running.store(false, Ordering::Release);
                tracing::error!(
                    host = %reporter.service.host,
                    binary = %reporter.service.binary,
                    error = %e.report(),
                    "cannot start the heartbeat"
                );
                return;
            }
        };
        let reporter = Arc::new(reporter);
        let each = Arc::clone(&beat);
        let mut call = FixedInterval::new(interval, move || {
            let (reporter, beat) = (Arc::clone(&reporter), Arc::clone(&each));
            async move { reporter.report(&*beat).await }
        })
        .initial_delay(initial_delay)
        .on_error(OnError::Log)
        .name("report_state")
        .start();
        cancel.cancelled().await;
        call.stop();
        let _ = call.wait().await;
        if dedicated {
            beat.close().await;
        }
        shared.running.store(false, Ordering::Release);
    }
}

/// One service's reporting state.
struct Reporter {
    service: NewService,
    options: JoinOptions,
    texts: OutageTexts,
    clock: WallClock,
    shared: Arc<Shared>,
    timeout: Duration,
    alarm: Mutex<SkewAlarm>,
}

impl Reporter {
    /// One report; never fails: failures are counted and logged once.
    async fn report(&self, beat: &dyn Beat) {
        let (host, binary) = (&self.service.host, &self.service.binary);
        if !self.options.working() {
            self.shared.skipped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                %host,
                %binary,
                "Manager for service {binary} {host} is reporting problems, not sending \
                 heartbeat. Service will appear \"down\"."
            );
            return;
        }
        let id = self.shared.service_id.load(Ordering::Acquire);
        let now = self.clock.now();
        let result = tokio::time::timeout(self.timeout, beat.beat(id, &self.service, now))
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
            Ok(beaten) => {
                if let Some(id) = beaten.recreated {
                    shared.service_id.store(id, Ordering::Release);
                }
                if let Some(skew) = beaten.skew {
                    *shared
                        .clock_skew
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(skew);
                    self.alarm
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .observe(host, binary, skew);
                }
                shared.ok.fetch_add(1, Ordering::Relaxed);
                *shared
                    .last_report
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(self.clock.now());
                tracing::debug!(%host, %binary, "heartbeat sent");
                if shared.disconnected.swap(false, Ordering::AcqRel) {
                    self.texts.recovered(host, binary);
                }
            }
            Err(e) => {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                if !shared.disconnected.swap(true, Ordering::AcqRel) {
                    self.texts.lost(host, binary, &e.report());
                }
            }
        }
    }
}
