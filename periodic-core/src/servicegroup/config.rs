//! `ServiceGroupConfig`: nova's `report_interval`, `service_down_time` and
//! `servicegroup_driver` options, the 2.5× rule, and the wall clock of this process.

use std::fmt;
use std::time::Duration;

pub use crate::clock::WallClock;

/// How long after [`join`](crate::ServiceGroup::join) the first heartbeat is sent: nova's
/// `INITIAL_REPORTING_DELAY` (LP#1226370: before it, the first report waited a whole
/// `report_interval`).
pub const INITIAL_REPORTING_DELAY: Duration = Duration::from_secs(5);

/// nova's default `report_interval`: a heartbeat every 10 seconds.
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// nova's default `service_down_time`: a service is down 60 seconds after its last
/// heartbeat.
pub const DEFAULT_SERVICE_DOWN_TIME: Duration = Duration::from_mins(1);

/// The default [`clock_skew_warning`](ServiceGroupConfig::clock_skew_warning): a service
/// whose clock is more than 5 seconds off its store's logs a warning.
pub const DEFAULT_CLOCK_SKEW_WARNING: Duration = Duration::from_secs(5);

/// The default time allowed to open a connection to a store before it counts as
/// unreachable.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which liveness driver says whether a service is up: nova's `servicegroup_driver` option.
///
/// The services table always lives in the store the group's URL names; the liveness
/// driver decides how a joined service shows it is alive and how its state is judged:
///
/// | name | how a service stays up | feature |
/// |---|---|---|
/// | `db` (default) | a heartbeat row update every `report_interval`, judged by the store's clock | — |
/// | `mc` | a memcached key `topic:host` with a TTL of `service_down_time` | `memcached` |
///
/// Parse it from nova's names with [`str::parse`]; an unknown name is an
/// [`ErrorKind::Config`](crate::ErrorKind::Config) error that lists the known ones. A name whose cargo feature this
/// build lacks parses, and [`ServiceGroup::open`](crate::ServiceGroup::open) then says
/// which feature it needs.
///
/// ```
/// use periodic::LivenessDriver;
///
/// assert_eq!("mc".parse::<LivenessDriver>().unwrap(), LivenessDriver::MC);
/// assert_eq!(LivenessDriver::default().as_str(), "db");
/// let err = "nope".parse::<LivenessDriver>().unwrap_err();
/// assert!(err.to_string().starts_with("unknown servicegroup driver `nope`; expected `db`"));
/// ```
#[doc(alias = "servicegroup_driver", alias = "DriverKind")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LivenessDriver(pub(super) &'static str);

impl LivenessDriver {
    /// nova's name of the driver: `db`, `mc`, ...
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl Default for LivenessDriver {
    /// `db`, nova's default.
    fn default() -> Self {
        LivenessDriver::DB
    }
}

impl fmt::Debug for LivenessDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LivenessDriver").field(&self.0).finish()
    }
}

impl fmt::Display for LivenessDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Options of a [`ServiceGroup`](crate::ServiceGroup): nova's and cinder's service
/// options with their defaults, plus the timeouts of this port.
///
/// | field | nova option | default |
/// |---|---|---|
/// | [`report_interval`](Self::report_interval) | `report_interval` | 10 s (0 = no heartbeat) |
/// | [`service_down_time`](Self::service_down_time) | `service_down_time` | 60 s |
/// | [`driver`](Self::driver) | `servicegroup_driver` | `db` |
/// | [`memcached_servers`](Self::memcached_servers) | `[cache] memcache_servers` | none |
/// | [`redis_url`](Self::redis_url) | — | none |
/// | [`zookeeper_servers`](Self::zookeeper_servers) | `[zookeeper] address` | none |
/// | [`etcd_endpoints`](Self::etcd_endpoints) | — | none |
/// | [`connect_timeout`](Self::connect_timeout) | — | 5 s |
/// | [`heartbeat_timeout`](Self::heartbeat_timeout) | — | `report_interval` |
/// | [`clock_skew_warning`](Self::clock_skew_warning) | — | 5 s (0 = never warn) |
///
/// [`ServiceGroup::open`](crate::ServiceGroup::open) applies the 2.5× rule (see
/// [`effective_service_down_time`](Self::effective_service_down_time)).
///
/// ```
/// use std::time::Duration;
/// use periodic::{LivenessDriver, ServiceGroupConfig};
///
/// let config = ServiceGroupConfig::default()
///     .report_interval(Duration::from_secs(1))
///     .service_down_time(Duration::from_secs(3));
/// # let _ = LivenessDriver::DB;
/// assert_eq!(config.effective_service_down_time(), Duration::from_secs(3));
/// ```
#[derive(Debug, Clone)]
pub struct ServiceGroupConfig {
    pub(crate) report_interval: Duration,
    pub(crate) service_down_time: Duration,
    pub(crate) driver: LivenessDriver,
    pub(crate) memcached_servers: Vec<String>,
    pub(crate) redis_url: Option<String>,
    pub(crate) zookeeper_servers: Vec<String>,
    pub(crate) etcd_endpoints: Vec<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) heartbeat_timeout: Option<Duration>,
    pub(crate) max_connections: u32,
    pub(crate) clock_skew_warning: Duration,
    pub(crate) clock: WallClock,
}

impl Default for ServiceGroupConfig {
    fn default() -> Self {
        ServiceGroupConfig {
            report_interval: DEFAULT_REPORT_INTERVAL,
            service_down_time: DEFAULT_SERVICE_DOWN_TIME,
            driver: LivenessDriver::DB,
            memcached_servers: Vec::new(),
            redis_url: None,
            zookeeper_servers: Vec::new(),
            etcd_endpoints: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            heartbeat_timeout: None,
            max_connections: 8,
            clock_skew_warning: DEFAULT_CLOCK_SKEW_WARNING,
            clock: WallClock::system(),
        }
    }
}

impl ServiceGroupConfig {
    /// nova's defaults (the same as [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// How often a joined service reports that it is alive. Zero disables the heartbeat
    /// (and the 2.5× rule), as in nova.
    #[must_use]
    pub fn report_interval(mut self, report_interval: Duration) -> Self {
        self.report_interval = report_interval;
        self
    }

    /// How long after its last heartbeat a service still counts as up (inclusive: a
    /// heartbeat exactly `service_down_time` old is up).
    #[must_use]
    pub fn service_down_time(mut self, service_down_time: Duration) -> Self {
        self.service_down_time = service_down_time;
        self
    }

    /// The liveness driver, nova's `servicegroup_driver` (default [`LivenessDriver::DB`]).
    #[must_use]
    pub fn driver(mut self, driver: LivenessDriver) -> Self {
        self.driver = driver;
        self
    }

    /// The memcached servers (`host:port`) of the `mc` driver; keys are spread over them
    /// by a hash of the key.
    #[doc(alias = "memcache_servers")]
    #[must_use]
    pub fn memcached_servers<I, S>(mut self, servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.memcached_servers = servers.into_iter().map(Into::into).collect();
        self
    }

    /// The Redis server of the `redis` driver (`redis://[:password@]host:port[/db]`,
    /// `rediss://` for TLS where the client supports it).
    #[must_use]
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// The ZooKeeper servers (`host:port`) of the `zk` driver: one ensemble, tried in
    /// turn (nova's `[zookeeper] address`).
    #[doc(alias = "address")]
    #[must_use]
    pub fn zookeeper_servers<I, S>(mut self, servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.zookeeper_servers = servers.into_iter().map(Into::into).collect();
        self
    }

    /// The etcd endpoints (`host:port`, or `http://host:port`) of the `etcd` driver.
    #[must_use]
    pub fn etcd_endpoints<I, S>(mut self, endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.etcd_endpoints = endpoints.into_iter().map(Into::into).collect();
        self
    }

    /// How long opening a connection may take before the store counts as unreachable
    /// (default 5 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time allowed for one heartbeat write, connection included, before it counts as
    /// failed (default: `report_interval`, at least 100 ms). A heartbeat never retries:
    /// the next one is due a `report_interval` later (cinder LP#2018595).
    #[must_use]
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat_timeout = Some(timeout);
        self
    }

    /// The most connections the handle's pool opens to an SQL store (default 8). The
    /// heartbeat of a joined service uses a connection of its own besides.
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How far a joined service's clock may be off its store's before the service logs a
    /// warning (default [`DEFAULT_CLOCK_SKEW_WARNING`], 5 s; zero never warns). The
    /// service logs one WARN when its [skew](crate::ClockSkew) at a report first goes past
    /// it and one INFO when it comes back within it. Liveness does not depend on it: it
    /// is judged by the store's clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::ServiceGroupConfig;
    ///
    /// let config = ServiceGroupConfig::default().clock_skew_warning(Duration::from_secs(2));
    /// assert_eq!(config.clock_skew_warning_threshold(), Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn clock_skew_warning(mut self, threshold: Duration) -> Self {
        self.clock_skew_warning = threshold;
        self
    }

    /// The [`clock_skew_warning`](Self::clock_skew_warning) threshold.
    pub fn clock_skew_warning_threshold(&self) -> Duration {
        self.clock_skew_warning
    }

    /// The wall clock of this process (default: the system clock); see [`WallClock`].
    #[must_use]
    pub fn clock(mut self, clock: WallClock) -> Self {
        self.clock = clock;
        self
    }

    /// The heartbeat timeout in force: the configured one, or `report_interval` (at least
    /// 100 ms) by default.
    pub(crate) fn effective_heartbeat_timeout(&self) -> Duration {
        self.heartbeat_timeout
            .unwrap_or(self.report_interval)
            .max(Duration::from_millis(100))
    }

    /// The `service_down_time` in force after nova's 2.5× rule: when `service_down_time
    /// <= report_interval` (and the heartbeat is on), a service would routinely look down
    /// between two heartbeats (LP#1255685), so nova uses `int(2.5 × report_interval)`
    /// instead: (10 s, 10 s) → 25 s, (60 s, 60 s) → 150 s, (3 s, 3 s) → 7 s. A
    /// `report_interval` of zero means no heartbeat and no override.
    ///
    /// Whole seconds are truncated as nova's `int()` does; a result under one second
    /// (sub-second intervals, which nova cannot express) is kept to the millisecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::ServiceGroupConfig;
    ///
    /// let s = Duration::from_secs;
    /// let rule = |down, report| {
    ///     ServiceGroupConfig::default()
    ///         .service_down_time(s(down))
    ///         .report_interval(s(report))
    ///         .effective_service_down_time()
    /// };
    /// assert_eq!(rule(60, 10), s(60));
    /// assert_eq!(rule(10, 10), s(25));
    /// assert_eq!(rule(60, 60), s(150));
    /// assert_eq!(rule(3, 3), s(7));
    /// assert_eq!(rule(60, 0), s(60));
    /// ```
    pub fn effective_service_down_time(&self) -> Duration {
        if self.report_interval.is_zero() || self.service_down_time > self.report_interval {
            return self.service_down_time;
        }
        let raised = self.report_interval.saturating_mul(5) / 2;
        if raised >= Duration::from_secs(1) {
            Duration::from_secs(raised.as_secs())
        } else {
            Duration::from_millis(u64::try_from(raised.as_millis()).unwrap_or(u64::MAX))
        }
    }

    /// Applies the 2.5× rule, logging nova's WARNING when it changes the value.
    pub(crate) fn checked(mut self) -> Self {
        let effective = self.effective_service_down_time();
        if effective != self.service_down_time {
            let (down, report, new) = (
                seconds(self.service_down_time),
                seconds(self.report_interval),
                seconds(effective),
            );
            tracing::warn!(
                service_down_time = %down,
                report_interval = %report,
                new_service_down_time = %new,
                "Report interval must be less than service down time. Current config: \
                 <service_down_time: {down}, report_interval: {report}>. Setting \
                 service_down_time to: {new}"
            );
            self.service_down_time = effective;
        }
        self
    }
}

/// A duration as nova prints its integer options: `10`, or `2.5` when not whole.
pub(crate) fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{}", d.as_secs_f64())
    }
}
