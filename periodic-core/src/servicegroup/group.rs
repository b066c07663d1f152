//! `ServiceGroup`: nova's `servicegroup.API` over the services table and a liveness
//! driver, each opened through the registry.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::config::{LivenessDriver, ServiceGroupConfig};
use super::liveness::Liveness;
use super::membership::{Heartbeat, JoinOptions};
use super::record::{NewService, ServiceFilter, ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::registry;
use super::shared::{Fetched, OpenMode, not_found};
use super::text::check_text;
use super::url::redact;
use crate::error::{Error, ErrorKind};

/// Below this `report_interval`, [`ServiceGroup::join`] warns: every report is a write to
/// the store (0.0001 s made 770 writes a second), and nothing is gained by reporting
/// much more often than `service_down_time` can tell.
const REPORT_INTERVAL_FLOOR: Duration = Duration::from_secs(1);

/// A handle on a service group: the services table in a store, and the liveness driver
/// that says which services are up. nova's `servicegroup.API` and its drivers.
///
/// Open it from a URL with [`open`](Self::open) (what a service does: an SQLite file is
/// created and the schema migrated) or [`open_existing`](Self::open_existing) (what an
/// operator command does: nothing is created). Clones are cheap and share the store's
/// connections.
///
/// | URL | store |
/// |---|---|
/// | `sqlite://periodic.db` | an SQLite file (feature `sqlite`, on by default) |
/// | `postgres://user@host:5432/db` | PostgreSQL (feature `postgres`) |
/// | `mysql://user@host:3306/db`, `mariadb://...` | MySQL or MariaDB (feature `mysql`) |
/// | `memory://`, `memory://name` | this process only, on tokio's clock (tests) |
///
/// The liveness driver is [`ServiceGroupConfig::driver`]: `db` (heartbeats are row
/// updates judged by the store's clock) or `mc` (memcached keys that expire).
///
/// # Liveness: who judges expiry
///
/// A service is up when it is not forced down, has not [stopped](ServiceGroup::mark_stopped)
/// and its last heartbeat is at most `service_down_time` old, **inclusive** (as nova):
///
/// ```text
/// service_down_time 60 s; last heartbeat at 0
///
///   0                        60    60.001
///   |========== up ==========|      down ...
///                            ^ still up at exactly 60 s
/// ```
///
/// Only one clock ever judges the age, and it is never a service's own:
///
/// * **SQL stores** (`db` driver): a heartbeat is one statement, `report_count =
///   report_count + 1, last_seen_up = <the database's current time>`; the time the
///   service sends only enters its clock skew (below). Listing computes `<the database's current time> - last_seen_up` (or
///   `- created_at` for a service that never reported) in the same query, and that age is
///   compared with `service_down_time`. A service whose clock is ten minutes off stays up.
///   (For SQLite the database's clock is the clock of the host that holds the file.)
/// * **memcached** (`mc` driver): a heartbeat sets the key `topic:host` with a TTL of
///   `service_down_time`; the service is up while the key exists, and memcached's own
///   expiry decides. The services table still lives in the SQL store.
/// * **`memory://`**: ages are measured on tokio's clock, so tests in paused time see the
///   exact boundaries.
///
/// Admin changes (enable, disable, force-down) bump `updated_at` but never
/// `last_seen_up`, so they cannot make a dead service look alive (nova LP#1420848).
///
/// # Clock skew
///
/// Each report carries the service's own wall-clock time
/// ([`ServiceGroupConfig::clock`](ServiceGroupConfig::clock)), and the driver compares it
/// with the store's clock at the same write: the [`ClockSkew`](crate::ClockSkew) (the
/// table there says where each driver reads the store's time). `list` shows it
/// ([`ServiceStatus::clock_skew`](crate::ServiceStatus::clock_skew)), the service knows
/// its own ([`HeartbeatStats::clock_skew`](crate::HeartbeatStats::clock_skew)), and a
/// service whose skew goes past
/// [`clock_skew_warning`](ServiceGroupConfig::clock_skew_warning) (5 s) logs one WARN,
/// then one INFO when it is back within it:
///
/// ```text
/// The clock of nova-compute on node-7 is +600.0s off the servicegroup store's clock, more than clock_skew_warning (5 s); liveness is judged by the store's clock, but this host's timestamps are wrong
/// ```
///
/// Liveness never uses it.
///
/// # The 2.5× rule
///
/// With `service_down_time <= report_interval` a healthy service would look down between
/// two heartbeats (LP#1255685). As nova does, opening a group then logs
///
/// ```text
/// Report interval must be less than service down time. Current config: <service_down_time: 10, report_interval: 10>. Setting service_down_time to: 25
/// ```
///
/// and uses `int(2.5 × report_interval)`; see
/// [`ServiceGroupConfig::effective_service_down_time`].
///
/// # Failure handling
///
/// A heartbeat that fails is counted ([`HeartbeatStats`](crate::HeartbeatStats)) and
/// the loop goes on; the loss is logged once and the recovery once, with nova's and
/// cinder's texts (see [`Heartbeat`]). A heartbeat never retries and has its own
/// timeout, so a store that comes back is seen at the next `report_interval` (cinder
/// LP#2018595). A row deleted under a running service is recreated by its next heartbeat
/// (cinder). A manager whose [`is_working`](JoinOptions::is_working) check fails stops
/// heartbeating, so it shows down on purpose (cinder LP#1446750).
///
/// By default the heartbeat runs on a thread of its own with its own runtime and store
/// connection ([`HeartbeatMode::Thread`](crate::HeartbeatMode::Thread)), so a periodic
/// task that blocks its thread for minutes cannot make the service look down: the
/// eventlet problem nova and cinder document, where one blocking call starves every
/// greenthread, heartbeat included.
///
/// Bad input is one readable error ([`ErrorKind`](crate::ErrorKind) `Invalid`, `Config`,
/// `NotFound` or `Store`), never a panic: an unknown driver name, a malformed URL, an
/// unsupported scheme, an unreachable server (after
/// [`connect_timeout`](ServiceGroupConfig::connect_timeout)), or a missing SQLite file
/// for [`open_existing`](ServiceGroup::open_existing).
///
/// # Differences from nova
///
/// * nova's `db` driver compares `last_seen_up`, written with the conductor's clock, with
///   the API host's `utcnow()`, and takes `abs()` of the difference so that a timestamp
///   from the future (clock skew) also reads as down. Here the database computes the age
///   with its own clock against timestamps it wrote itself, so there is no skew to guard
///   against and no `abs()`.
/// * A graceful stop is visible at once ([`ServiceGroup::mark_stopped`],
///   [`DownReason::Stopped`](crate::DownReason::Stopped)); nova shows a stopped service
///   as up until `service_down_time` has passed.
/// * `list` says *why* a service is down ([`DownReason`](crate::DownReason)), the
///   heartbeat's age and the threshold used, and each service's clock skew, which nova
///   does not show (with its `db` driver a compute whose clock is off by more than
///   `service_down_time` just shows down).
/// * The heartbeat runs on its own thread by default (see above), and fails fast instead
///   of going through a conductor RPC or oslo.db's retry loop.
/// * A deleted row is recreated by the running service as cinder does; nova only logs
///   that the record is gone.
/// * Recovery from a store outage is logged at INFO (cinder logs `Recovered model server
///   connection!` at ERROR).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use periodic::{JoinOptions, NewService, ServiceFilter, ServiceGroup, ServiceGroupConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> periodic::Result<()> {
/// let config = ServiceGroupConfig::default()
///     .report_interval(Duration::from_secs(10))
///     .service_down_time(Duration::from_secs(60));
/// let group = ServiceGroup::open("memory://", config).await?;
///
/// let me = group.get_or_create(&NewService::new("node-1", "nova-compute", "compute")).await?;
/// let heartbeat = group.join(&me, JoinOptions::default()).await?;
///
/// tokio::time::sleep(Duration::from_secs(30)).await; // heartbeats at 5, 15, 25
/// let services = group.list(&ServiceFilter::all()).await?;
/// assert!(services[0].is_up());
/// assert_eq!(services[0].record.report_count, 3);
///
/// group.leave(heartbeat).await?; // graceful stop: down at once
/// assert!(!group.is_up(me.id).await?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ServiceGroup {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    config: ServiceGroupConfig,
    records: Arc<dyn ServiceRecords>,
    liveness: Arc<dyn Liveness>,
}

impl ServiceGroup {
    /// Opens the store at `url` as a service does: a missing SQLite file is created, and
    /// the schema of an SQL store is created or migrated (embedded migrations, safe to run
    /// from several processes at once). Applies the 2.5× rule to `config` (logging nova's
    /// warning when it changes `service_down_time`).
    ///
    /// The URL's scheme and the liveness driver are checked first, then the driver is
    /// opened, then the store is connected to within
    /// [`connect_timeout`](ServiceGroupConfig::connect_timeout).
    ///
    /// # Errors
    ///
    /// * [`ErrorKind::Invalid`]: a malformed URL or an unsupported scheme, e.g.
    ///   ``unsupported servicegroup URL scheme `redis` in `redis://h`; expected sqlite,
    ///   postgres (or postgresql), mysql (or mariadb) or memory``;
    /// * [`ErrorKind::Config`]: a scheme or driver this build has no feature for, or the
    ///   `mc` driver without memcached servers;
    /// * [`ErrorKind::Store`]: the store is unreachable or refused the migrations.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops the half-opened connections; a migration that had started runs
    /// to completion or is rolled back by the database.
    pub async fn open(url: &str, config: ServiceGroupConfig) -> Result<Self, Error> {
        Self::open_with(url, config, OpenMode::Create).await
    }

    /// Opens an existing store, as an operator command (`service list`, `service
    /// disable`, ...) does: nothing is created or migrated. A missing SQLite file is an
    /// error (`database file ... does not exist`), never an empty database made by
    /// accident.
    ///
    /// An SQLite file that this process may only read (its mode, or its directory's) is
    /// opened read-only, so that an operator without write access can still list: reads
    /// work, and a write fails with SQLite's "attempt to write a readonly database". On
    /// PostgreSQL and MySQL/MariaDB, opening only reads (the services table is looked
    /// for), so a role with nothing but `SELECT` on it can list too.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), plus [`ErrorKind::NotFound`] when the SQLite file does not
    /// exist or the store has no services table yet.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops the half-opened connections.
    #[doc(alias = "read_only")]
    pub async fn open_existing(url: &str, config: ServiceGroupConfig) -> Result<Self, Error> {
        Self::open_with(url, config, OpenMode::Existing).await
    }

    async fn open_with(
        url: &str,
        config: ServiceGroupConfig,
        mode: OpenMode,
    ) -> Result<Self, Error> {
        let open_records = registry::records_for(url)?;
        let open_liveness = registry::liveness_for(config.driver)?;
        let config = config.checked();
        let liveness = open_liveness(&config).await?;
        let records = open_records(url, &config, mode).await?;
        Ok(ServiceGroup {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                config,
                records,
                liveness,
            }),
        })
    }

    /// A group over backends built outside this crate: a [`ServiceRecords`] store of the
    /// services table and a [`Liveness`] driver. `url` is what [`url`](Self::url) shows
    /// (any password in it is hidden). Applies the 2.5× rule to `config`, whose
    /// [`driver`](ServiceGroupConfig::driver) becomes the liveness driver's name.
    ///
    /// The repository's `tests/servicegroup_external.rs` implements both contracts outside
    /// the crate, with a session-style liveness driver.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use periodic::{Liveness, ServiceGroup, ServiceGroupConfig, ServiceRecords};
    ///
    /// fn cluster_group(records: Arc<dyn ServiceRecords>, liveness: Arc<dyn Liveness>) -> ServiceGroup {
    ///     let config = ServiceGroupConfig::default();
    ///     ServiceGroup::with_backends("mystore://cluster-1", records, liveness, config)
    /// }
    /// # let _ = cluster_group;
    /// ```
    pub fn with_backends(
        url: impl Into<String>,
        records: Arc<dyn ServiceRecords>,
        liveness: Arc<dyn Liveness>,
        config: ServiceGroupConfig,
    ) -> Self {
        let config = config.driver(LivenessDriver(liveness.name())).checked();
        ServiceGroup {
            inner: Arc::new(Inner {
                url: url.into(),
                config,
                records,
                liveness,
            }),
        }
    }

    /// The task ledger kept in the group's store (fleet claims and run records), or `None`
    /// when the store keeps none ([`ServiceRecords::ledger`]). A
    /// [`Service`](crate::Service) hands it to its runner.
    ///
    /// ```
    /// use periodic::{ServiceGroup, ServiceGroupConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
    /// assert!(group.ledger().is_some());
    /// # Ok(()) }
    /// ```
    pub fn ledger(&self) -> Option<Arc<dyn crate::periodic::TaskLedger>> {
        self.inner.records.ledger()
    }

    /// Opens the task ledger of the store at `url`, apart from any group: what a service
    /// configured with a `fleet_store` claims its fleet tasks in, and what `periodic task
    /// list --fleet-store` reads. The schemes are the group's (`sqlite`, `postgres`,
    /// `mysql`, `memory`), whose store is created or migrated as [`open`](Self::open)
    /// does, and `redis://` (feature `redis`: one Lua script per operation, Redis's
    /// clock).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); [`ErrorKind::Config`] for a store that keeps no ledger.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops the half-opened connections.
    ///
    /// ```
    /// use periodic::{ServiceGroup, ServiceGroupConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let ledger = ServiceGroup::open_ledger("memory://", &ServiceGroupConfig::default()).await?;
    /// assert!(ledger.entries(None).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn open_ledger(
        url: &str,
        config: &ServiceGroupConfig,
    ) -> Result<Arc<dyn crate::periodic::TaskLedger>, Error> {
        if let Some(open_ledger) = registry::ledger_for(url)? {
            return open_ledger(url).await;
        }
        let open_records = registry::records_for(url)?;
        let config = config.clone().checked();
        let records = open_records(url, &config, OpenMode::Create).await?;
        records.ledger().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "the store `{}` keeps no task ledger, so fleet tasks cannot be fenced there; \
                     set fleet_store to an SQL URL",
                    redact(url)
                ),
            )
        })
    }

    /// The store's URL, with any password replaced by `***`.
    pub fn url(&self) -> String {
        redact(&self.inner.url)
    }

    /// The liveness driver.
    pub fn driver(&self) -> LivenessDriver {
        self.inner.config.driver
    }

    /// The `report_interval` (zero: services of this group do not heartbeat).
    pub fn report_interval(&self) -> Duration {
        self.inner.config.report_interval
    }

    /// The `service_down_time` in force, after the 2.5× rule.
    pub fn service_down_time(&self) -> Duration {
        self.inner.config.service_down_time
    }

    /// The configuration in force (after the 2.5× rule).
    pub fn config(&self) -> &ServiceGroupConfig {
        &self.inner.config
    }

    /// Loads the row of `service` (same host and binary), or creates it with
    /// `report_count` 0: nova's `Service.start` "load or create the service record".
    ///
    /// Safe against races: processes that start at once all get the same row, through
    /// the unique keys `(host, binary, deleted)` and `(host, topic, deleted)` and an
    /// insert that tolerates the conflict followed by a select.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`] when the store fails; [`ErrorKind::Invalid`] when the host
    /// already runs another binary on the same topic, or for a text field longer than
    /// 255 characters or holding a NUL character (checked before the store is asked,
    /// the same way for every store).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the row is created at most once, and a later call finds it.
    pub async fn get_or_create(&self, service: &NewService) -> Result<ServiceRecord, Error> {
        check_text("host", &service.host)?;
        check_text("binary", &service.binary)?;
        check_text("topic", &service.topic)?;
        if let Some(zone) = &service.availability_zone {
            check_text("availability_zone", zone)?;
        }
        self.inner.records.get_or_create(service).await
    }

    /// The row with this id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if there is none (or it was deleted); [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn get(&self, id: i64) -> Result<ServiceRecord, Error> {
        Ok(self.fetch(id).await?.record)
    }

    /// The row of `binary` on `host`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if there is none; [`ErrorKind::Store`];
    /// [`ErrorKind::Invalid`] for a `host` or `binary` no row can hold (a NUL character,
    /// more than 255 characters).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn find(&self, host: &str, binary: &str) -> Result<ServiceRecord, Error> {
        check_text("host", host)?;
        check_text("binary", binary)?;
        self.inner
            .records
            .find(host, binary)
            .await?
            .map(|f| f.record)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("no service `{binary}` on host `{host}`"),
                )
            })
    }

    async fn fetch(&self, id: i64) -> Result<Fetched, Error> {
        self.inner
            .records
            .get(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Starts the heartbeat of `service`: nova's `servicegroup.API.join`. The first
    /// report is sent [`INITIAL_REPORTING_DELAY`](crate::INITIAL_REPORTING_DELAY) (5 s)
    /// later, then one every `report_interval`; see [`Heartbeat`] and [`JoinOptions`].
    /// Joining clears the row's `stopped` marker.
    ///
    /// With a zero `report_interval` nothing is started and the returned handle is
    /// inert ([`Heartbeat::is_running`] is `false`), as in nova. Below one second it logs
    /// a warning: each report is a write to the store.
    ///
    /// By default the heartbeat runs on its own OS thread with its own single-threaded
    /// tokio runtime and its own store connection, so a manager that blocks the threads
    /// of the caller's runtime cannot delay it ([`HeartbeatMode`](crate::HeartbeatMode)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if the row does not exist; [`ErrorKind::Store`] if the
    /// store fails; [`ErrorKind::Io`] if the heartbeat thread cannot be spawned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the heartbeat starts only when the call completes.
    pub async fn join(
        &self,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> Result<Heartbeat, Error> {
        if self.report_interval().is_zero() {
            return Ok(Heartbeat::inert(service.id));
        }
        if self.report_interval() < REPORT_INTERVAL_FLOOR {
            tracing::warn!(
                host = %service.host,
                binary = %service.binary,
                report_interval = ?self.report_interval(),
                "report_interval is {:?}, below {} s: the service writes to the store {:.0} \
                 times a second; nova's default is 10 s",
                self.report_interval(),
                REPORT_INTERVAL_FLOOR.as_secs(),
                1.0 / self.report_interval().as_secs_f64()
            );
        }
        if !self.inner.records.set_stopped(service.id, false).await? {
            return Err(not_found(service.id));
        }
        let records = Arc::clone(&self.inner.records);
        self.inner.liveness.join(records, service, options).await
    }

    /// Stops `heartbeat` (waiting for a report in flight, bounded) and marks its service
    /// stopped, so that `list` shows it down at once: what a graceful shutdown does.
    ///
    /// # Errors
    ///
    /// As [`Heartbeat::stop`] and [`mark_stopped`](Self::mark_stopped).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: cancelled after the heartbeat stopped, the service is not marked
    /// stopped (it then goes down after `service_down_time`, like a crashed one).
    pub async fn leave(&self, heartbeat: Heartbeat) -> Result<(), Error> {
        let id = heartbeat.service_id();
        let stopped = heartbeat.stop().await;
        self.mark_stopped(id).await?;
        stopped
    }

    /// Writes one heartbeat for `service` now: for the `db` driver `report_count + 1` and
    /// `last_seen_up` = the store's current time, for `mc` the key `topic:host` with a
    /// TTL of `service_down_time`. The heartbeat loop of [`join`](Self::join) calls this
    /// every `report_interval`; benchmarks and tests call it directly.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if the row is gone (`db` driver); [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a cancelled heartbeat was written or not, and the next one counts.
    #[doc(alias = "_report_state")]
    pub async fn report_state(&self, service: &ServiceRecord) -> Result<(), Error> {
        let inner = &self.inner;
        inner.liveness.report(&*inner.records, service).await
    }

    /// Whether the service is up: nova's `service_is_up`. Forced down or stopped → down;
    /// otherwise the driver decides (`db`: the heartbeat's age by the store's clock is at
    /// most `service_down_time`; `mc`: the key exists).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    #[doc(alias = "service_is_up")]
    pub async fn is_up(&self, id: i64) -> Result<bool, Error> {
        Ok(self.status(id).await?.is_up())
    }

    /// What nova shows as `updated_at`: nova's `get_updated_time`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    #[doc(alias = "get_updated_time")]
    pub async fn updated_time(&self, id: i64) -> Result<Option<SystemTime>, Error> {
        Ok(self.status(id).await?.updated_time)
    }

    /// One service with its state and the evidence for it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn status(&self, id: i64) -> Result<ServiceStatus, Error> {
        let fetched = self.fetch(id).await?;
        let mut statuses = self.inner.liveness.judge(vec![fetched]).await?;
        statuses.pop().ok_or_else(|| not_found(id))
    }

    /// The services that match `filter`, ordered by id, each with up/down, the reason,
    /// the heartbeat's age and the threshold used: the data of nova's `service-list`
    /// (formatting is the caller's). One query to the store, plus one multi-get per
    /// batch of keys for `mc`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`]; [`ErrorKind::Invalid`] for a filter no row can match (a NUL
    /// character, more than 255 characters).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn list(&self, filter: &ServiceFilter) -> Result<Vec<ServiceStatus>, Error> {
        if let Some(host) = &filter.host {
            check_text("host", host)?;
        }
        if let Some(binary) = &filter.binary {
            check_text("binary", binary)?;
        }
        let fetched = self.inner.records.list(filter).await?;
        self.inner.liveness.judge(fetched).await
    }

    /// "Something changed, list again": notifications from the liveness driver's store
    /// as they happen, or `None` when the driver has none (`db`, `mc`, `redis`: poll
    /// [`list`](Self::list)). `zk` and `etcd` watch their nodes and keys, so a killed
    /// service's notification comes as soon as the server expires its session or lease.
    /// The stream re-arms itself and yields once after each (re-)arming; see
    /// [`Liveness::watch`]. `periodic service watch` lists on each notification and
    /// still polls, slowly, for what the driver does not watch (the services table).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// use futures::StreamExt as _;
    /// use periodic::{LivenessDriver, ServiceFilter, ServiceGroup, ServiceGroupConfig};
    ///
    /// let config = ServiceGroupConfig::default()
    ///     .driver(LivenessDriver::ZK)
    ///     .zookeeper_servers(["127.0.0.1:2181"]);
    /// let group = ServiceGroup::open_existing("sqlite://periodic.db", config).await?;
    /// let mut changes = group.watch().expect("zk watches");
    /// while changes.next().await.is_some() {
    ///     let down = group.list(&ServiceFilter::all()).await?.iter().filter(|s| !s.is_up()).count();
    ///     println!("{down} down");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        self.inner.liveness.watch()
    }

    /// Enables the service and clears `disabled_reason`. Never touches `last_seen_up`, so
    /// it cannot make a dead service look alive (nova LP#1420848).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the change happened or not; [`get`](Self::get) tells.
    pub async fn enable(&self, id: i64) -> Result<ServiceRecord, Error> {
        self.changed(id, self.inner.records.set_disabled(id, false, None).await?)
            .await
    }

    /// Disables the service (the scheduler skips it), with an optional reason. Never
    /// touches `last_seen_up`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`]; [`ErrorKind::Invalid`] for a reason
    /// longer than 255 characters or holding a NUL character, checked before the store
    /// is asked, the same way for every store.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the change happened or not.
    pub async fn disable(&self, id: i64, reason: Option<&str>) -> Result<ServiceRecord, Error> {
        if let Some(reason) = reason {
            check_text("disabled_reason", reason)?;
        }
        self.changed(id, self.inner.records.set_disabled(id, true, reason).await?)
            .await
    }

    /// Sets or clears `forced_down`: a forced-down service is down whatever its heartbeat
    /// says (nova's mark-host-down, API 2.11). Never touches `last_seen_up`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the change happened or not.
    #[doc(alias = "force_down")]
    pub async fn set_forced_down(
        &self,
        id: i64,
        forced_down: bool,
    ) -> Result<ServiceRecord, Error> {
        self.changed(
            id,
            self.inner.records.set_forced_down(id, forced_down).await?,
        )
        .await
    }

    /// Deletes the row (a soft delete, as nova: `deleted` = `id`). A service still running
    /// recreates its row at its next heartbeat (cinder's behaviour), with a new id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the row was deleted or not.
    pub async fn delete(&self, id: i64) -> Result<(), Error> {
        if self.inner.records.delete(id).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// Marks the service stopped (graceful shutdown): `list` shows it down at once,
    /// without waiting `service_down_time`. The next [`join`](Self::join), or the next
    /// `db` heartbeat, clears the mark. For `mc` the heartbeat key is deleted too.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`]; [`ErrorKind::Store`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the mark was written or not.
    pub async fn mark_stopped(&self, id: i64) -> Result<(), Error> {
        let inner = &self.inner;
        inner.liveness.forget(&*inner.records, id).await?;
        if self.inner.records.set_stopped(id, true).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// Closes the store's connections. Other clones of the handle can no longer use
    /// them. Heartbeats started by [`join`](Self::join) on their own thread have their
    /// own connection and are not affected.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn close(&self) {
        self.inner.records.close().await;
    }

    async fn changed(&self, id: i64, found: bool) -> Result<ServiceRecord, Error> {
        if found {
            self.get(id).await
        } else {
            Err(not_found(id))
        }
    }
}

impl fmt::Debug for ServiceGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceGroup")
            .field("url", &self.url())
            .field("driver", &self.driver())
            .field("report_interval", &self.report_interval())
            .field("service_down_time", &self.service_down_time())
            .finish_non_exhaustive()
    }
}
