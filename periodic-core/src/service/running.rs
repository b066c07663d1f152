//! A started service: introspection, graceful stop, signals.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::manager::Manager;
use super::options::ServiceOptions;
use super::reload::{ReloadReport, Reloader};
use crate::error::{Error, ErrorKind, Result};
use crate::looping::LoopingCall;
use crate::periodic::PeriodicRunner;
use crate::servicegroup::{Heartbeat, HeartbeatStats, ServiceGroup, ServiceRecord};
use crate::task_group::{Shutdown, TaskGroup};

/// How long leaving the service group (stopping the heartbeat, marking the service
/// stopped) may take at the end of a stop.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a service stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stopped {
    /// Every running task finished within `graceful_shutdown_timeout`.
    Graceful,
    /// `graceful_shutdown_timeout` passed first; async work was cancelled, blocking work
    /// may still be running (oslo: "Graceful shutdown timeout exceeded, instantaneous
    /// exiting").
    TimedOut,
    /// A second signal arrived during the graceful stop.
    Interrupted,
}

impl Stopped {
    /// The process exit code oslo uses: 0 after a graceful stop, 1 otherwise. Exit with
    /// [`std::process::exit`] so that blocking work still running cannot hold the process.
    pub fn exit_code(self) -> i32 {
        match self {
            Stopped::Graceful => 0,
            Stopped::TimedOut | Stopped::Interrupted => 1,
        }
    }
}

/// A started [`Service`](crate::Service): its record, heartbeat and periodic tasks.
pub struct RunningService<M: Manager> {
    manager: Arc<M>,
    record: ServiceRecord,
    group: ServiceGroup,
    live: Arc<Live>,
    runner: PeriodicRunner<M, M::Context>,
    tasks: TaskGroup,
    options: ServiceOptions,
    reloader: Option<Reloader>,
    #[cfg(feature = "http")]
    api: Option<crate::http::ApiServer>,
}

/// The moving parts that a stop takes over and that the HTTP API reads meanwhile.
struct Live {
    heartbeat: Mutex<Option<Heartbeat>>,
    periodic: Mutex<Option<LoopingCall<(), Error>>>,
}

impl Live {
    fn heartbeat(&self) -> MutexGuard<'_, Option<Heartbeat>> {
        self.heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn periodic_running(&self) -> bool {
        self.periodic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(LoopingCall::is_running)
    }
}

impl<M: Manager> fmt::Debug for RunningService<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningService")
            .field("record", &self.record)
            .field("heartbeat", &*self.live.heartbeat())
            .finish_non_exhaustive()
    }
}

impl<M: Manager> RunningService<M> {
    #[allow(
        clippy::too_many_arguments,
        reason = "internal constructor of the parts"
    )]
    pub(crate) fn new(
        manager: Arc<M>,
        record: ServiceRecord,
        group: ServiceGroup,
        heartbeat: Heartbeat,
        runner: PeriodicRunner<M, M::Context>,
        tasks: TaskGroup,
        periodic: Option<LoopingCall<(), Error>>,
        options: ServiceOptions,
        reloader: Option<Reloader>,
    ) -> Self {
        RunningService {
            manager,
            record,
            group,
            live: Arc::new(Live {
                heartbeat: Mutex::new(Some(heartbeat)),
                periodic: Mutex::new(periodic),
            }),
            runner,
            tasks,
            options,
            reloader,
            #[cfg(feature = "http")]
            api: None,
        }
    }

    /// Serves the HTTP API on `bound` for this service: `/os-services` of its group, and
    /// its own `/healthz`, `/tasks` and `/metrics`.
    #[cfg(feature = "http")]
    pub(crate) fn serve_api(
        mut self,
        bound: crate::http::Bound,
        metrics: Arc<crate::http::TaskMetrics>,
        joined_at: std::time::SystemTime,
    ) -> Self {
        let live = Arc::clone(&self.live);
        let runner = self.runner.clone();
        let embedded = crate::http::Embedded {
            host: self.record.host.clone(),
            binary: self.record.binary.clone(),
            topic: self.record.topic.clone(),
            periodic_enable: self.options.periodic_enable,
            joined_at,
            initial_reporting_delay: self.options.initial_reporting_delay,
            tasks: Box::new(move || runner.tasks()),
            liveness: Box::new(move || {
                let heartbeat = live.heartbeat();
                crate::http::Liveness {
                    heartbeat: heartbeat.as_ref().map(Heartbeat::stats),
                    heartbeat_running: heartbeat.as_ref().is_some_and(Heartbeat::is_running),
                    periodic_running: live.periodic_running(),
                }
            }),
            metrics,
        };
        let ledger = self.runner.task_ledger();
        self.api = Some(bound.serve(self.group.clone(), Some(embedded), ledger));
        self
    }

    /// The address of the HTTP API the service serves
    /// ([`ServiceBuilder::api`](crate::ServiceBuilder::api)), with the real port when it
    /// was bound to port 0; `None` without one.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.api.as_ref().map(crate::http::ApiServer::local_addr)
    }

    /// The manager.
    pub fn manager(&self) -> &Arc<M> {
        &self.manager
    }

    /// The service's row as it was loaded or created at start.
    pub fn record(&self) -> &ServiceRecord {
        &self.record
    }

    /// The service group.
    pub fn group(&self) -> &ServiceGroup {
        &self.group
    }

    /// The periodic-task runner, for introspection ([`PeriodicRunner::tasks`]).
    pub fn runner(&self) -> &PeriodicRunner<M, M::Context> {
        &self.runner
    }

    /// The task group the periodic timer runs in; the manager may add its own timers and
    /// tasks, which a stop then stops too.
    pub fn task_group(&self) -> &TaskGroup {
        &self.tasks
    }

    /// The heartbeat's counters.
    pub fn heartbeat_stats(&self) -> HeartbeatStats {
        self.live
            .heartbeat()
            .as_ref()
            .map(Heartbeat::stats)
            .unwrap_or_default()
    }

    /// Whether the periodic tasks are still being driven (false with `periodic_enable`
    /// off, and after a stop).
    pub fn periodic_tasks_running(&self) -> bool {
        self.live.periodic_running()
    }

    /// Stops the service gracefully: its HTTP API, if any, closes its listener and lets
    /// requests in flight finish; the periodic timer and the manager's timers stop (a
    /// sleep is interrupted, a pass in progress finishes), then the service waits up to
    /// `graceful_shutdown_timeout` for running work; then it leaves the service group (the
    /// heartbeat stops and the record is marked stopped, so `service list` shows it down
    /// at once) and runs [`Manager::cleanup_host`]. The heartbeat keeps the service up
    /// while its work finishes.
    ///
    /// # Errors
    ///
    /// None so far: a store that cannot be reached while leaving is logged, and the
    /// service then goes down after `service_down_time` like a crashed one.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: cancelled midway, some parts are stopped and others not.
    pub async fn stop(self) -> Result<Stopped> {
        self.stop_until(std::future::pending()).await
    }

    /// The graceful stop of [`stop`](Self::stop), cut short with [`Stopped::Interrupted`]
    /// when `interrupt` completes first: whatever part of the stop is under way (the API's
    /// requests in flight, running tasks, leaving the group, `cleanup_host`) is dropped,
    /// and the service is marked stopped if the store answers within
    /// [`INTERRUPTED_LEAVE_TIMEOUT`]; the whole takes well under 100 ms.
    async fn stop_until(self, interrupt: impl Future<Output = ()>) -> Result<Stopped> {
        let RunningService {
            manager,
            record,
            group,
            live,
            tasks,
            options,
            runner,
            #[cfg(feature = "http")]
            api,
            ..
        } = self;
        let graceful = stop_gracefully(
            manager,
            &record,
            &group,
            &live,
            Work {
                tasks: &tasks,
                runner: &runner,
            },
            &options,
            #[cfg(feature = "http")]
            api,
        );
        let finished = tokio::select! {
            outcome = graceful => Some(outcome),
            () = interrupt => None,
        };
        let outcome = if let Some(outcome) = finished {
            outcome
        } else {
            tracing::warn!("Stop interrupted, exiting without waiting for running tasks");
            // Cancel what is async; blocking work cannot be cancelled and is left to the
            // process exit.
            drop(tasks.stop(Shutdown::Immediate));
            runner.abort_lanes();
            leave_at_once(&record, &group, &live).await;
            Stopped::Interrupted
        };
        tracing::info!(
            host = %record.host,
            binary = %record.binary,
            outcome = ?outcome,
            "Service {} on {} stopped",
            record.binary,
            record.host
        );
        Ok(outcome)
    }

    /// Runs until SIGTERM, SIGINT (Ctrl-C) or SIGQUIT, then stops gracefully (see
    /// [`stop`](Self::stop)); a second signal during the stop ends it at once with
    /// [`Stopped::Interrupted`], whatever part of the stop is under way (requests in
    /// flight, running tasks, a store that does not answer while the service leaves
    /// its group): within 100 ms, marking the service stopped only if the store answers
    /// within 50 ms. Exit the process with [`Stopped::exit_code`].
    ///
    /// ```text
    /// SIGINT        SIGINT/SIGTERM   returns Interrupted
    ///   |── stopping ──|──────────────|
    ///                   ≤ 50 ms leave, then return (before: up to 5 s more)
    /// ```
    ///
    /// The other signals an operator sends never end the service with its record `up`:
    ///
    /// | signal  | what the service does |
    /// |---------|-----------------------|
    /// | SIGTERM, SIGINT, SIGQUIT | graceful stop as above (the record shows `stopped`) |
    /// | SIGHUP  | re-reads the configuration ([`reload`](Self::reload)): one line for what was applied, one naming what needs a restart, or one error line keeping the old configuration; keeps running |
    /// | SIGUSR1 | logs a state dump: the heartbeat's counters, one line per periodic task |
    ///
    /// # Differences from oslo.service
    ///
    /// oslo.service reloads its mutable options on SIGHUP (and restarts the service's
    /// workers under a `ProcessLauncher`); here only the periodic task spacings are
    /// mutable, applied without a restart, and the other changed options are named in
    /// one line (see `ConfigFile`, feature `config`). A service without a configuration
    /// source logs that there is nothing to re-read. Log levels are not a configuration
    /// option (oslo's `debug` is); `RUST_LOG` is read once. oslo leaves SIGQUIT and SIGUSR1 at their default (the process dies
    /// at once, or dumps core, and its record stays `up` for `service_down_time`); here
    /// SIGQUIT stops gracefully and SIGUSR1 logs the state, as oslo's Guru Meditation
    /// Report does on SIGUSR2.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the signal handlers cannot be installed.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe once a signal arrived (see [`stop`](Self::stop)).
    pub async fn run_until_signal(self) -> Result<Stopped> {
        let mut signals = Signals::new()?;
        tracing::debug!(
            host = %self.record.host,
            binary = %self.record.binary,
            "Running until SIGTERM or SIGINT"
        );
        let name = loop {
            match signals.next().await {
                Asked::Stop(name) => break name,
                Asked::Reload => self.on_sighup(),
                Asked::Dump => self.dump_state(),
            }
        };
        tracing::info!(signal = name, "Caught {name}, exiting");
        self.stop_until(async move {
            let again = loop {
                match signals.next().await {
                    Asked::Stop(name) => break name,
                    Asked::Reload => tracing::info!(
                        signal = "SIGHUP",
                        "Caught SIGHUP while stopping: not reloading"
                    ),
                    Asked::Dump => tracing::info!(signal = "SIGUSR1", "Caught SIGUSR1: stopping"),
                }
            };
            tracing::warn!(signal = again, "Caught {again} again, exiting at once");
        })
        .await
    }

    /// Re-reads the configuration set with
    /// [`ServiceBuilder::reload`](crate::ServiceBuilder::reload) (a
    /// `ConfigFile` for a service started from a file) and applies what can change at
    /// run time: the spacing overrides. A task whose spacing changed is next due one new
    /// spacing after its last run (see [`PeriodicRunner::set_spacing`]); a task whose
    /// override was removed returns to its declared spacing. The heartbeat, the timer
    /// and running tasks are not touched. Options that changed but need a restart are
    /// named in the report, not applied. SIGHUP calls this under
    /// [`run_until_signal`](Self::run_until_signal).
    ///
    /// A shorter spacing takes effect at the timer's next wake-up. A runner with a task
    /// ledger (every SQL store, `memory://`, a `fleet_store`) wakes at least every 500 ms
    /// to follow the operator's controls, so there it applies at once; without one the
    /// timer keeps the sleep it started before the reload (until the next task due by the
    /// old spacings, at most `periodic_interval_max` later).
    ///
    /// ```text
    /// with a ledger:  spacing 30 s   run 0   run 30 | reload: 5 s   35  40  45  50  55  60
    /// without one:    spacing 30 s   run 0   run 30 | reload: 5 s   run 60 (the planned
    ///                                                                wake-up)  65  70
    /// ```
    ///
    /// Returns `Ok(None)` when the service has nothing to re-read.
    ///
    /// # Errors
    ///
    /// The source's error (a file that cannot be read or parsed, a bad value: the same
    /// text as at start), or [`ErrorKind::Config`] when a spacing names no task of the
    /// service. Nothing changed then: the service keeps the configuration it had.
    pub fn reload(&self) -> Result<Option<ReloadReport>> {
        match &self.reloader {
            Some(reloader) => reloader.reload(&self.runner).map(Some),
            None => Ok(None),
        }
    }

    /// SIGHUP: [`reload`](Self::reload), with one line for what was applied, one for
    /// what needs a restart, or one for why nothing was; never die of it.
    fn on_sighup(&self) {
        let origin = self.reloader.as_ref().map(Reloader::origin);
        match (self.reload(), origin) {
            (Ok(None), _) | (_, None) => tracing::info!(
                signal = "SIGHUP",
                "Caught SIGHUP: no configuration file to re-read, keeping the configuration"
            ),
            (Ok(Some(report)), Some(origin)) => {
                tracing::info!(
                    signal = "SIGHUP",
                    origin = %origin,
                    "Caught SIGHUP: reloaded {origin}: {report}"
                );
                if !report.needs_restart.is_empty() {
                    tracing::warn!(
                        signal = "SIGHUP",
                        origin = %origin,
                        "Configuration changed but needs a restart: {}",
                        report.needs_restart.join(", ")
                    );
                }
            }
            (Err(err), Some(origin)) => tracing::error!(
                signal = "SIGHUP",
                origin = %origin,
                "Caught SIGHUP: keeping the old configuration: {}",
                err.report()
            ),
        }
    }

    /// SIGUSR1: the heartbeat's counters and each periodic task's state, in the log.
    fn dump_state(&self) {
        let stats = self.heartbeat_stats();
        tracing::info!(
            signal = "SIGUSR1",
            host = %self.record.host,
            binary = %self.record.binary,
            reports_ok = stats.reports_ok,
            reports_failed = stats.reports_failed,
            reports_skipped = stats.reports_skipped,
            connected = stats.connected,
            periodic_running = self.periodic_tasks_running(),
            "State dump: service {} on {}",
            self.record.binary,
            self.record.host
        );
        for task in self.runner.tasks() {
            tracing::info!(
                signal = "SIGUSR1",
                task = %task.name,
                spacing = ?task.spacing,
                enabled = task.enabled,
                runnable = task.runnable,
                running = task.running,
                runs = task.runs,
                failures = task.failures,
                last_duration = ?task.last_duration,
                next_due_in = ?task
                    .next_due
                    .map(|due| due.saturating_duration_since(tokio::time::Instant::now())),
                "State dump: task {}",
                task.name
            );
        }
    }
}

/// How long an interrupted stop waits for the store to mark the service stopped: short
/// enough that the process exits within 100 ms of the second signal.
const INTERRUPTED_LEAVE_TIMEOUT: Duration = Duration::from_millis(50);

/// The graceful stop: the API, the tasks (bounded by `graceful_shutdown_timeout`), leaving
/// the group (bounded by [`LEAVE_TIMEOUT`]), then `cleanup_host` after a graceful stop.
/// Never [`Stopped::Interrupted`].
/// What a graceful stop waits for: the task group (the periodic timer, the manager's own
/// timers and tasks) and the runs the runner's lanes have in progress.
struct Work<'a, M: Manager> {
    tasks: &'a TaskGroup,
    runner: &'a PeriodicRunner<M, M::Context>,
}

async fn stop_gracefully<M: Manager>(
    manager: Arc<M>,
    record: &ServiceRecord,
    group: &ServiceGroup,
    live: &Live,
    work: Work<'_, M>,
    options: &ServiceOptions,
    #[cfg(feature = "http")] api: Option<crate::http::ApiServer>,
) -> Stopped {
    let Work { tasks, runner } = work;
    #[cfg(feature = "http")]
    if let Some(api) = api
        && let Err(err) = api.shutdown().await
    {
        tracing::warn!(error = %err.report(), "HTTP API did not stop cleanly");
    }
    // The periodic timer first (no pass starts any more), then the runs the runner's
    // lanes have in progress (Concurrency::Lanes).
    let graceful = async {
        tasks.stop(Shutdown::Graceful).await;
        runner.stop_lanes().await;
    };
    let timeout = options.graceful_shutdown_timeout;
    let finished = if timeout.is_zero() {
        graceful.await;
        true
    } else {
        tokio::time::timeout(timeout, graceful).await.is_ok()
    };
    let outcome = if finished {
        Stopped::Graceful
    } else {
        tracing::error!(
            timeout = ?timeout,
            "Graceful shutdown timeout exceeded, instantaneous exiting"
        );
        // Cancel what is async; blocking work cannot be cancelled and is left to the
        // process exit.
        drop(tasks.stop(Shutdown::Immediate));
        runner.abort_lanes();
        Stopped::TimedOut
    };
    let heartbeat = live.heartbeat().take();
    let left = match heartbeat {
        Some(heartbeat) => tokio::time::timeout(LEAVE_TIMEOUT, group.leave(heartbeat)).await,
        None => Ok(Ok(())),
    };
    match left {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(
            host = %record.host,
            binary = %record.binary,
            error = %err.report(),
            "Could not mark the service stopped; it shows down after service_down_time"
        ),
        Err(_) => tracing::warn!(
            host = %record.host,
            binary = %record.binary,
            "Could not mark the service stopped in time; it shows down after service_down_time"
        ),
    }
    if outcome == Stopped::Graceful {
        manager.cleanup_host().await;
    }
    outcome
}

/// After a second signal: stops the heartbeat and marks the service stopped, if the store
/// answers within [`INTERRUPTED_LEAVE_TIMEOUT`]; otherwise it shows down after
/// `service_down_time`, like a crashed one.
async fn leave_at_once(record: &ServiceRecord, group: &ServiceGroup, live: &Live) {
    // The heartbeat is gone when the graceful stop was already leaving: that leave was
    // dropped with it, so mark the service stopped here.
    let heartbeat = live.heartbeat().take();
    let left = tokio::time::timeout(INTERRUPTED_LEAVE_TIMEOUT, async {
        match heartbeat {
            Some(heartbeat) => group.leave(heartbeat).await,
            None => group.mark_stopped(record.id).await,
        }
    })
    .await;
    match left {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(
            host = %record.host,
            binary = %record.binary,
            error = %err.report(),
            "Could not mark the service stopped; it shows down after service_down_time"
        ),
        Err(_) => tracing::warn!(
            host = %record.host,
            binary = %record.binary,
            "Could not mark the service stopped within {} ms of the second signal; it shows \
             down after service_down_time",
            INTERRUPTED_LEAVE_TIMEOUT.as_millis()
        ),
    }
}

/// What a signal asks of a running service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// SIGTERM, SIGINT, SIGQUIT: stop (gracefully the first time).
    Stop(&'static str),
    /// SIGHUP.
    Reload,
    /// SIGUSR1.
    Dump,
}

/// SIGTERM, SIGINT, SIGQUIT, SIGHUP and SIGUSR1: once installed, none of them ends the
/// process by its default action.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    quit: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    usr1: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let io = |e: std::io::Error| {
                Error::new(ErrorKind::Io, "cannot install the signal handlers").with_source(e)
            };
            Ok(Signals {
                term: signal(SignalKind::terminate()).map_err(io)?,
                int: signal(SignalKind::interrupt()).map_err(io)?,
                quit: signal(SignalKind::quit()).map_err(io)?,
                hup: signal(SignalKind::hangup()).map_err(io)?,
                usr1: signal(SignalKind::user_defined1()).map_err(io)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn next(&mut self) -> Asked {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => Asked::Stop("SIGTERM"),
                _ = self.int.recv() => Asked::Stop("SIGINT"),
                _ = self.quit.recv() => Asked::Stop("SIGQUIT"),
                _ = self.hup.recv() => Asked::Reload,
                _ = self.usr1.recv() => Asked::Dump,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Asked::Stop("Ctrl-C")
        }
    }
}
