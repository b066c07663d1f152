//! The rows of the services table and what `list` says about them.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::skew::ClockSkew;

/// A row of the services table (nova's `Service` object), as the store returned it.
///
/// Timestamps are the store's: SQL stores write `created_at`, `updated_at` and
/// `last_seen_up` with their own clock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceRecord {
    /// The row id (nova's integer `id`).
    pub id: i64,
    /// A random UUID given at creation (nova's `uuid`, used by API microversion 2.53+).
    pub uuid: String,
    /// The host the service runs on.
    pub host: String,
    /// The program, e.g. `nova-compute`.
    pub binary: String,
    /// The RPC topic, e.g. `compute`; the memcached driver's key is `topic:host`.
    pub topic: String,
    /// Heartbeats written so far by the `db` driver.
    pub report_count: i64,
    /// Whether an operator disabled the service (the scheduler skips it); not the same as
    /// down.
    pub disabled: bool,
    /// Why it was disabled, if the operator said.
    pub disabled_reason: Option<String>,
    /// The availability zone.
    pub availability_zone: Option<String>,
    /// Set by an operator or an external monitor: the service is down whatever its
    /// heartbeat says (nova's `forced_down`, API 2.11).
    pub forced_down: bool,
    /// Set when the service stopped gracefully ([`ServiceGroup::mark_stopped`]); cleared
    /// when a service joins again. A stopped service is down at once.
    ///
    /// [`ServiceGroup::mark_stopped`]: crate::ServiceGroup::mark_stopped
    pub stopped: bool,
    /// The store's time of the last heartbeat written to the store (`None`: never, or the
    /// `mc` driver, which keeps heartbeats in memcached). Admin changes never touch it.
    pub last_seen_up: Option<SystemTime>,
    /// When the row was created.
    pub created_at: SystemTime,
    /// When the row last changed, by a heartbeat or an admin change.
    pub updated_at: Option<SystemTime>,
    /// The service's clock skew at its last `db` heartbeat: its own time, which the
    /// heartbeat carries, minus the store's time of the same write (`None`: never
    /// reported, or reported by a version that did not send its time).
    pub clock_skew: Option<ClockSkew>,
}

impl ServiceRecord {
    /// A row as a store creates it: `report_count` 0, enabled, not forced down, never
    /// reported, no UUID yet (set [`uuid`](Self::uuid)). For
    /// [`ServiceRecords`](crate::ServiceRecords) implementations outside this crate; set
    /// the other fields as the store has them.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use periodic::ServiceRecord;
    ///
    /// let mut row = ServiceRecord::new(7, "n1", "nova-compute", "compute", SystemTime::now());
    /// row.uuid = "0c3f4a0e-9a51-4b43-9a0a-5b8a3f0d2c11".into();
    /// row.report_count = 3;
    /// assert_eq!((row.id, row.zone()), (7, "nova"));
    /// ```
    pub fn new(
        id: i64,
        host: impl Into<String>,
        binary: impl Into<String>,
        topic: impl Into<String>,
        created_at: SystemTime,
    ) -> Self {
        ServiceRecord {
            id,
            uuid: String::new(),
            host: host.into(),
            binary: binary.into(),
            topic: topic.into(),
            report_count: 0,
            disabled: false,
            disabled_reason: None,
            availability_zone: None,
            forced_down: false,
            stopped: false,
            last_seen_up: None,
            created_at,
            updated_at: None,
            clock_skew: None,
        }
    }

    /// The zone to show: the availability zone, or without one nova's defaults
    /// (`default_availability_zone` = `nova` for `compute` services,
    /// `internal_service_availability_zone` = `internal` for every other one). What
    /// `/os-services` and `periodic service list` show.
    ///
    /// ```
    /// # use periodic::{NewService, ServiceGroup, ServiceGroupConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
    /// let compute = group.get_or_create(&NewService::new("n1", "nova-compute", "compute")).await?;
    /// let conductor = group.get_or_create(&NewService::new("n1", "nova-conductor", "conductor")).await?;
    /// assert_eq!((compute.zone(), conductor.zone()), ("nova", "internal"));
    /// # Ok(()) }
    /// ```
    pub fn zone(&self) -> &str {
        match &self.availability_zone {
            Some(zone) => zone,
            None if self.topic == "compute" => "nova",
            None => "internal",
        }
    }
}

/// What [`ServiceGroup::get_or_create`](crate::ServiceGroup::get_or_create) needs to
/// load or create a service's row.
///
/// ```
/// use periodic::NewService;
///
/// let compute = NewService::new("node-1", "nova-compute", "compute").availability_zone("az1");
/// assert_eq!(compute.host, "node-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewService {
    /// The host.
    pub host: String,
    /// The binary (program name).
    pub binary: String,
    /// The topic.
    pub topic: String,
    /// The availability zone (none by default).
    pub availability_zone: Option<String>,
}

impl NewService {
    /// A service `binary` on `host`, listening on `topic`.
    pub fn new(
        host: impl Into<String>,
        binary: impl Into<String>,
        topic: impl Into<String>,
    ) -> Self {
        NewService {
            host: host.into(),
            binary: binary.into(),
            topic: topic.into(),
            availability_zone: None,
        }
    }

    /// Sets the availability zone.
    #[must_use]
    pub fn availability_zone(mut self, zone: impl Into<String>) -> Self {
        self.availability_zone = Some(zone.into());
        self
    }
}

impl From<&ServiceRecord> for NewService {
    fn from(record: &ServiceRecord) -> Self {
        NewService {
            host: record.host.clone(),
            binary: record.binary.clone(),
            topic: record.topic.clone(),
            availability_zone: record.availability_zone.clone(),
        }
    }
}

/// Which services [`ServiceGroup::list`](crate::ServiceGroup::list) returns: exact
/// matches on host and binary, as nova's `GET /os-services?host=&binary=`.
///
/// ```
/// use periodic::ServiceFilter;
///
/// let computes = ServiceFilter::all().binary("nova-compute");
/// # let _ = computes;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceFilter {
    /// Only this host.
    pub host: Option<String>,
    /// Only this binary.
    pub binary: Option<String>,
}

impl ServiceFilter {
    /// Every service.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only services on `host`.
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Only services running `binary`.
    #[must_use]
    pub fn binary(mut self, binary: impl Into<String>) -> Self {
        self.binary = Some(binary.into());
        self
    }
}

/// Why a service is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DownReason {
    /// `forced_down` is set: down whatever the heartbeat says (nova checks this first,
    /// without asking the driver).
    ForcedDown,
    /// The service stopped gracefully and said so.
    Stopped,
    /// No heartbeat within `service_down_time` (for the `mc` driver: the key expired or
    /// was never written).
    NoHeartbeat,
    /// The service never reported and its row is older than `service_down_time`.
    NeverReported,
}

impl DownReason {
    /// The reasons the row itself gives, which every liveness driver checks before its
    /// own evidence, in nova's order: [`ForcedDown`](Self::ForcedDown) (nova checks it
    /// without asking the driver), then [`Stopped`](Self::Stopped).
    pub fn from_record(record: &ServiceRecord) -> Option<DownReason> {
        if record.forced_down {
            Some(DownReason::ForcedDown)
        } else if record.stopped {
            Some(DownReason::Stopped)
        } else {
            None
        }
    }

    /// A short description: `forced down`, `stopped`, `no heartbeat within
    /// service_down_time`, `never reported`.
    pub fn as_str(self) -> &'static str {
        match self {
            DownReason::ForcedDown => "forced down",
            DownReason::Stopped => "stopped",
            DownReason::NoHeartbeat => "no heartbeat within service_down_time",
            DownReason::NeverReported => "never reported",
        }
    }
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One service as [`ServiceGroup::list`](crate::ServiceGroup::list) and
/// [`ServiceGroup::status`](crate::ServiceGroup::status) see it: the row, up or down and
/// why, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// The row.
    pub record: ServiceRecord,
    /// `None` when up; otherwise why it is down.
    pub down_reason: Option<DownReason>,
    /// The age of the last heartbeat (of `created_at` when it never reported) measured by
    /// the store's clock at the time of the query; `None` for the `mc` driver, whose
    /// store only knows whether the key still exists.
    pub heartbeat_age: Option<Duration>,
    /// The `service_down_time` the judgement used (after the 2.5× rule).
    pub service_down_time: Duration,
    /// What nova shows as `updated_at`: the row's `updated_at` for the `db` driver, the
    /// newer of the memcached value and `updated_at` for `mc` (LP#1647269).
    pub updated_time: Option<SystemTime>,
    /// How far the service's clock was off the store's at its last report (see
    /// [`ClockSkew`]); `None` when there is no figure (the service never reported, or,
    /// for the key, session and lease drivers, its key or node is gone). Liveness never
    /// depends on it.
    pub clock_skew: Option<ClockSkew>,
    /// What keeps the service a member, in the driver's words, for `service list
    /// --long`: e.g. `lease 7587869727011011077 rev 42` (`etcd`), `session
    /// 0x1000a2b3c4d0005 version 12` (`zk`); `None` for drivers with nothing more to say.
    pub membership: Option<String>,
}

impl ServiceStatus {
    /// A judgement: what a [`Liveness`](crate::Liveness) driver returns for each row.
    pub fn new(
        record: ServiceRecord,
        down_reason: Option<DownReason>,
        heartbeat_age: Option<Duration>,
        service_down_time: Duration,
        updated_time: Option<SystemTime>,
    ) -> Self {
        ServiceStatus {
            record,
            down_reason,
            heartbeat_age,
            service_down_time,
            updated_time,
            clock_skew: None,
            membership: None,
        }
    }

    /// With the service's [clock skew](Self::clock_skew).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use periodic::{ClockSkew, ServiceRecord, ServiceStatus};
    ///
    /// let row = ServiceRecord::new(1, "n1", "nova-compute", "compute", SystemTime::UNIX_EPOCH);
    /// let status = ServiceStatus::new(row, None, None, Duration::from_secs(60), None)
    ///     .with_clock_skew(Some(ClockSkew::from_micros(-30_000_000)))
    ///     .with_membership(Some("lease 42 rev 7".to_owned()));
    /// assert_eq!(status.clock_skew.unwrap().to_string(), "-30.0s");
    /// assert!(status.is_up());
    /// ```
    #[must_use]
    pub fn with_clock_skew(mut self, skew: Option<ClockSkew>) -> Self {
        self.clock_skew = skew;
        self
    }

    /// With the driver's [membership detail](Self::membership).
    #[must_use]
    pub fn with_membership(mut self, detail: Option<String>) -> Self {
        self.membership = detail;
        self
    }

    /// Whether the service is up: not forced down, not stopped, and a heartbeat within
    /// `service_down_time`.
    pub fn is_up(&self) -> bool {
        self.down_reason.is_none()
    }

    /// nova's `state` column: `up` or `down`.
    pub fn state(&self) -> &'static str {
        if self.is_up() { "up" } else { "down" }
    }

    /// nova's `status` column: `enabled` or `disabled`.
    pub fn status(&self) -> &'static str {
        if self.record.disabled {
            "disabled"
        } else {
            "enabled"
        }
    }
}
