//! The membership side of the liveness contract: how a service joins ([`JoinOptions`],
//! [`HeartbeatMode`]) and the handle that keeps it a member ([`Heartbeat`] over a
//! [`Membership`]), with its counters ([`HeartbeatStats`]).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use super::config::INITIAL_REPORTING_DELAY;
use super::skew::ClockSkew;
use crate::error::Error;

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

/// How [`ServiceGroup::join`](crate::ServiceGroup::join) runs a heartbeat.
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
/// assert!(options.working());
/// working.store(false, Ordering::Relaxed);
/// assert!(!options.working());
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

    /// Asks the [health check](Self::is_working): `true` without one. A check that
    /// panics counts as not working: it must not end the heartbeat (nova LP#1517926: an
    /// escaping error left a "zombie" service). What a [`Membership`] asks before each
    /// report.
    pub fn working(&self) -> bool {
        self.is_working.as_ref().is_none_or(|check| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check())).unwrap_or(false)
        })
    }

    /// The [mode](Self::mode) asked for.
    pub fn heartbeat_mode(&self) -> HeartbeatMode {
        self.mode
    }

    /// The [initial delay](Self::initial_delay) asked for.
    pub fn first_report_after(&self) -> Duration {
        self.initial_delay
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
    /// This service's [clock skew](ClockSkew) against the store at the last accepted
    /// heartbeat that measured it.
    pub clock_skew: Option<ClockSkew>,
}

/// What keeps a joined service a member of its group: the contract a
/// [`Liveness`](crate::Liveness) driver's [`join`](crate::Liveness::join) fulfils, seen
/// by the service through [`Heartbeat`].
///
/// A timestamp driver (`db`, `mc`) writes a report every `report_interval` on a
/// [`FixedInterval`](crate::FixedInterval); a session or lease driver keeps its session
/// or lease alive instead. Either way the counters say how it is going, and:
///
/// * dropping the value must stop keeping the service alive, without waiting;
/// * [`stop`](Self::stop) stops it and waits (bounded) for a report in flight.
pub trait Membership: fmt::Debug + Send + Sync + 'static {
    /// The id of the service's row (it changes if the row was deleted and the driver
    /// recreated it).
    fn service_id(&self) -> i64;

    /// Whether it is still keeping the service alive.
    fn is_running(&self) -> bool;

    /// The counters so far.
    fn stats(&self) -> HeartbeatStats;

    /// Stops keeping the service alive: no report starts after the call, and one in
    /// flight is waited for, within a bound the driver documents.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) if the work in flight did not
    /// end in time.
    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<(), Error>>;
}

/// A running heartbeat: what [`ServiceGroup::join`](crate::ServiceGroup::join) returns,
/// whatever the liveness driver.
///
/// With the `db` and `mc` drivers it writes one heartbeat every `report_interval` (the
/// first time after the [initial delay](JoinOptions::initial_delay)), as nova's
/// `_report_state` and cinder's `report_state`:
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
///   server for reporting service status.`). Nothing is logged in between (see
///   [`OutageTexts`](crate::OutageTexts)).
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
    membership: Box<dyn Membership>,
}

impl Heartbeat {
    /// The handle on a driver's membership (what a [`Liveness`](crate::Liveness)
    /// implementation returns from `join`).
    pub fn new(membership: impl Membership) -> Self {
        Heartbeat {
            membership: Box::new(membership),
        }
    }

    /// The handle for a service that does not heartbeat (`report_interval` 0).
    pub(crate) fn inert(id: i64) -> Heartbeat {
        Heartbeat::new(Inert(id))
    }

    /// The id of the service's row. It changes if the row was deleted and the heartbeat
    /// recreated it.
    pub fn service_id(&self) -> i64 {
        self.membership.service_id()
    }

    /// Whether the loop is running (`false` once stopped, and for a service with a zero
    /// `report_interval`).
    pub fn is_running(&self) -> bool {
        self.membership.is_running()
    }

    /// The counters so far.
    pub fn stats(&self) -> HeartbeatStats {
        self.membership.stats()
    }

    /// Stops the loop: no report starts after this call, and a report in flight is
    /// waited for, at most the heartbeat timeout plus one second.
    ///
    /// It does not mark the service stopped;
    /// [`ServiceGroup::leave`](crate::ServiceGroup::leave) does both.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) if the loop did not end in
    /// time (it still ends by itself once the report in flight returns).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the loop was told to stop before the first `.await`.
    pub async fn stop(self) -> Result<(), Error> {
        self.membership.stop().await
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

/// The membership of a service that does not heartbeat.
#[derive(Debug)]
struct Inert(i64);

impl Membership for Inert {
    fn service_id(&self) -> i64 {
        self.0
    }

    fn is_running(&self) -> bool {
        false
    }

    fn stats(&self) -> HeartbeatStats {
        HeartbeatStats {
            connected: true,
            ..HeartbeatStats::default()
        }
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
}
