//! `Config`: every option of a service and of the operator tools, with oslo's names and
//! defaults, and how they apply to a `ServiceGroupConfig` and a `ServiceBuilder`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::periodic::{DEFAULT_INTERVAL, RunnerOptions, Spacing};
use crate::service::{
    DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT, DEFAULT_PERIODIC_FUZZY_DELAY, Manager, ServiceBuilder,
};
use crate::servicegroup::{
    DEFAULT_CLOCK_SKEW_WARNING, DEFAULT_REPORT_INTERVAL, DEFAULT_SERVICE_DOWN_TIME, LivenessDriver,
    ServiceGroupConfig,
};

/// The database a service and the operator tools use when nothing says otherwise: an
/// SQLite file `periodic.db` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://periodic.db";

/// Every option of a service and of the `periodic service ...` commands, with oslo's and
/// nova's names and defaults: what one configuration file holds (see the
/// [sections below](#the-file) for the file's layout and the environment
/// variables).
///
/// Build it in layers, each overriding the one before: [`Config::default`], then
/// [`update_from_file`](Self::update_from_file), then
/// [`update_from_env`](Self::update_from_env), then the fields the command line sets.
/// [`Config::load`] does the first three. Then hand it to a service group
/// ([`servicegroup_config`](Self::servicegroup_config), [`database`](Self::database)), a
/// service ([`apply_to_service`](Self::apply_to_service)) or a runner alone
/// ([`runner_options`](Self::runner_options)).
///
/// | field | file key | default |
/// |---|---|---|
/// | [`host`](Self::host) | `[DEFAULT] host` | this machine's hostname |
/// | [`report_interval`](Self::report_interval) | `[DEFAULT] report_interval` | 10 s (0: no heartbeat) |
/// | [`service_down_time`](Self::service_down_time) | `[DEFAULT] service_down_time` | 60 s |
/// | [`clock_skew_warning`](Self::clock_skew_warning) | `[DEFAULT] clock_skew_warning` | 5 s (0: never warn) |
/// | [`periodic_enable`](Self::periodic_enable) | `[DEFAULT] periodic_enable` | `true` |
/// | [`periodic_fuzzy_delay`](Self::periodic_fuzzy_delay) | `[DEFAULT] periodic_fuzzy_delay` | 60 s |
/// | [`periodic_interval_max`](Self::periodic_interval_max) | `[DEFAULT] periodic_interval_max` | 60 s (0 in the file: no cap) |
/// | [`run_external_periodic_tasks`](Self::run_external_periodic_tasks) | `[DEFAULT] run_external_periodic_tasks` | `true` |
/// | [`graceful_shutdown_timeout`](Self::graceful_shutdown_timeout) | `[DEFAULT] graceful_shutdown_timeout` | 60 s (0: for ever) |
/// | [`servicegroup_driver`](Self::servicegroup_driver) | `[DEFAULT] servicegroup_driver` | `db` |
/// | [`fleet_store`](Self::fleet_store) | `[DEFAULT] fleet_store` | unset (the group's store) |
/// | [`database.connection`](DatabaseOptions::connection) | `[database] connection` | [`DEFAULT_DATABASE_URL`] |
/// | [`cache.memcache_servers`](CacheOptions::memcache_servers) | `[cache] memcache_servers` | none |
/// | [`cache.redis_url`](CacheOptions::redis_url) | `[cache] redis_url` | none |
/// | [`zookeeper.address`](ZookeeperOptions::address) | `[zookeeper] address` | none |
/// | [`etcd.endpoints`](EtcdOptions::endpoints) | `[etcd] endpoints` | none |
/// | [`periodic_task_spacing`](Self::periodic_task_spacing) | `[periodic_task_spacing] NAME` | none (the declared spacings) |
/// | [`api.bind`](ApiOptions::bind) | `[api] bind` | unset (the program's default) |
/// | [`api.auth_token`](ApiOptions::auth_token) | `[api] auth_token` | unset |
///
/// # The file
///
/// The layout is oslo.config's: general options in `[DEFAULT]`, the database in
/// `[database]` (oslo.db's `connection`), memcached in `[cache]` (oslo.cache's
/// `memcache_servers`). Durations are seconds (an integer, or a fraction), at most 10^9 (about
/// 31 years; a spacing may also be 0 or negative). Every key is
/// optional; `periodic.example.toml` at the root of the repository lists them all with
/// their defaults.
///
/// ```toml
/// [DEFAULT]
/// host = "node-1"
/// report_interval = 10                 # seconds between heartbeats; 0: none
/// service_down_time = 60               # down after this long without a heartbeat
/// clock_skew_warning = 5               # warn when this host's clock is off the store's by more
/// periodic_enable = true
/// periodic_fuzzy_delay = 60            # first pass after a random 0..=60 s
/// periodic_interval_max = 60           # longest sleep between passes; 0: no cap
/// run_external_periodic_tasks = true
/// graceful_shutdown_timeout = 60       # 0: wait for ever
/// servicegroup_driver = "db"           # or "mc"
///
/// [database]
/// connection = "sqlite://periodic.db"
///
/// [cache]
/// memcache_servers = ["127.0.0.1:11211"]
/// redis_url = "redis://127.0.0.1:6379"  # the `redis` servicegroup driver
///
/// [zookeeper]                          # the `zk` servicegroup driver (nova's section)
/// address = ["127.0.0.1:2181"]
///
/// [etcd]                               # the `etcd` servicegroup driver
/// endpoints = ["127.0.0.1:2379"]
///
/// [periodic_task_spacing]              # per task, as nova's *_interval options
/// _sync_power_states = 300             # 0: the default interval; negative: disabled
///
/// [api]
/// bind = "127.0.0.1:8774"
/// auth_token = "secret"
/// ```
///
/// An unknown key, a key in the wrong section, or a value of the wrong type is an error
/// that names the file, the section and the key:
///
/// ```text
/// periodic.toml: unknown key `report_intervall` in [DEFAULT] (line 2, column 1); expected one of `host`, `report_interval`, ...
/// periodic.toml: wrong value for `service_down_time` in [DEFAULT] (line 3, column 21): invalid type: string "60", expected a number of seconds, 0 or more
/// ```
///
/// # The environment
///
/// | variable | key |
/// |---|---|
/// | `PERIODIC_HOST` | `[DEFAULT] host` |
/// | `PERIODIC_REPORT_INTERVAL` | `[DEFAULT] report_interval` |
/// | `PERIODIC_SERVICE_DOWN_TIME` | `[DEFAULT] service_down_time` |
/// | `PERIODIC_CLOCK_SKEW_WARNING` | `[DEFAULT] clock_skew_warning` |
/// | `PERIODIC_PERIODIC_ENABLE` | `[DEFAULT] periodic_enable` |
/// | `PERIODIC_PERIODIC_FUZZY_DELAY` | `[DEFAULT] periodic_fuzzy_delay` |
/// | `PERIODIC_PERIODIC_INTERVAL_MAX` | `[DEFAULT] periodic_interval_max` |
/// | `PERIODIC_RUN_EXTERNAL_PERIODIC_TASKS` | `[DEFAULT] run_external_periodic_tasks` |
/// | `PERIODIC_GRACEFUL_SHUTDOWN_TIMEOUT` | `[DEFAULT] graceful_shutdown_timeout` |
/// | `PERIODIC_SERVICEGROUP_DRIVER` | `[DEFAULT] servicegroup_driver` |
/// | `PERIODIC_FLEET_STORE` | `[DEFAULT] fleet_store` |
/// | `PERIODIC_DATABASE_URL` | `[database] connection` |
/// | `PERIODIC_MEMCACHED_SERVERS` | `[cache] memcache_servers` (comma-separated) |
/// | `PERIODIC_REDIS_URL` | `[cache] redis_url` |
/// | `PERIODIC_ZOOKEEPER_SERVERS` | `[zookeeper] address` (comma-separated) |
/// | `PERIODIC_ETCD_ENDPOINTS` | `[etcd] endpoints` (comma-separated) |
/// | `PERIODIC_API_BIND` | `[api] bind` |
/// | `PERIODIC_API_TOKEN` | `[api] auth_token` |
///
/// An empty variable counts as unset. Booleans accept oslo.config's spellings (`true`,
/// `false`, `yes`, `no`, `on`, `off`, `1`, `0`, any case). Per-task spacings have no
/// variables. `PERIODIC_CONFIG` is read by the programs (not by this module) as the
/// default of their `--config` flag.
///
/// # Differences from oslo.config
///
/// * TOML instead of INI, so types are checked when the file is read, and an unknown key
///   is an error (oslo.config ignores unknown options in a file).
/// * Per-task spacings live in one table, `[periodic_task_spacing]`, keyed by task name,
///   instead of one option per task (`sync_power_state_interval`, ...).
/// * `periodic_interval_max` is an option here (nova passes it to `Service.create`); `0`
///   means no cap.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use periodic::{Config, LivenessDriver};
///
/// # fn main() -> periodic::Result<()> {
/// let mut config = Config::from_toml(
///     "[DEFAULT]\nreport_interval = 5\nservicegroup_driver = \"mc\"\n\
///      [cache]\nmemcache_servers = \"127.0.0.1:11211\"\n",
///     "periodic.toml",
/// )?;
/// config.update_from_env_vars([("PERIODIC_SERVICE_DOWN_TIME", "30")])?;
/// config.report_interval = Duration::from_secs(3); // a flag wins over both
///
/// assert_eq!(config.servicegroup_driver, LivenessDriver::MC);
/// let group_config = config.servicegroup_config();
/// assert_eq!(group_config.effective_service_down_time(), Duration::from_secs(30));
/// # Ok(()) }
/// ```
#[doc(alias = "CONF")]
#[doc(alias = "oslo.config")]
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// nova's `host`: the name a service registers as. `None`: this machine's hostname.
    pub host: Option<String>,
    /// `report_interval`: how often a service heartbeats; zero: never.
    pub report_interval: Duration,
    /// `service_down_time`: how long after its last heartbeat a service still counts as
    /// up (nova's 2.5× rule applies when the group is opened).
    pub service_down_time: Duration,
    /// `clock_skew_warning`: a joined service whose clock is off its store's by more than
    /// this logs one warning (and one line when it is back within it); zero: never. See
    /// [`ServiceGroupConfig::clock_skew_warning`].
    pub clock_skew_warning: Duration,
    /// nova's `periodic_enable`: whether a service runs its periodic tasks at all.
    pub periodic_enable: bool,
    /// `periodic_fuzzy_delay`: the first pass over the periodic tasks starts a random
    /// whole number of seconds in `[0, periodic_fuzzy_delay]` after the service.
    pub periodic_fuzzy_delay: Duration,
    /// The longest sleep between two passes (nova's `Service.create(periodic_interval_max
    /// = ...)`); `None`: no cap (written `0` in the file and the environment).
    pub periodic_interval_max: Option<Duration>,
    /// oslo's `run_external_periodic_tasks`: whether tasks marked `external_process_ok`
    /// run in this process.
    pub run_external_periodic_tasks: bool,
    /// oslo's `graceful_shutdown_timeout`: how long a stop waits for a running pass; zero
    /// waits for ever.
    pub graceful_shutdown_timeout: Duration,
    /// nova's `servicegroup_driver`: `db` or `mc`.
    pub servicegroup_driver: LivenessDriver,
    /// `fleet_store`: the store where fleet tasks claim their slots and tasks record their
    /// runs, when not the services table's (`[database] connection`); see
    /// [`ServiceBuilder::fleet_store`](crate::ServiceBuilder::fleet_store).
    pub fleet_store: Option<String>,
    /// The `[database]` section.
    pub database: DatabaseOptions,
    /// The `[cache]` section.
    pub cache: CacheOptions,
    /// The `[zookeeper]` section.
    pub zookeeper: ZookeeperOptions,
    /// The `[etcd]` section.
    pub etcd: EtcdOptions,
    /// The `[periodic_task_spacing]` section: spacings by task name, replacing the
    /// declared ones. The file writes them in seconds with oslo's meaning, read with
    /// [`Spacing::from_secs_f64`]: `0` is [`Spacing::Default`], a negative number
    /// [`Spacing::Disabled`]. A name that is not a task of the service makes
    /// [`Service::start`](crate::Service::start) fail.
    pub periodic_task_spacing: BTreeMap<String, Spacing>,
    /// The `[api]` section.
    pub api: ApiOptions,
}

/// The `[database]` section of a [`Config`] (oslo.db's names).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseOptions {
    /// oslo.db's `connection`: the URL of the store that holds the services table
    /// (`sqlite://FILE`, `postgres://...`, `mysql://...`); see
    /// [`ServiceGroup`](crate::ServiceGroup) for the schemes.
    pub connection: String,
}

/// The `[cache]` section of a [`Config`] (oslo.cache's names), used by the `mc` and
/// `redis` servicegroup drivers.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheOptions {
    /// oslo.cache's `memcache_servers`: `host:port` of each memcached server.
    #[doc(alias = "memcached_servers")]
    pub memcache_servers: Vec<String>,
    /// The Redis server of the `redis` driver (`redis://[:password@]host:port[/db]`).
    /// `Debug` hides its password.
    pub redis_url: Option<String>,
}

/// The `[zookeeper]` section of a [`Config`] (nova's names), used by the `zk`
/// servicegroup driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZookeeperOptions {
    /// nova's `[zookeeper] address`: `host:port` of each server of the ensemble.
    #[doc(alias = "zookeeper_servers")]
    pub address: Vec<String>,
}

/// The `[etcd]` section of a [`Config`], used by the `etcd` servicegroup driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EtcdOptions {
    /// `host:port` (or `http://host:port`) of each etcd endpoint.
    #[doc(alias = "etcd_endpoints")]
    pub endpoints: Vec<String>,
}

impl fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("memcache_servers", &self.memcache_servers)
            .field("redis_url", &self.redis_url.as_deref().map(redact_password))
            .finish()
    }
}

/// The `[api]` section of a [`Config`]: the HTTP API of `periodic api serve` and of a
/// service that embeds it. Unset values leave the program's own defaults.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiOptions {
    /// The address to listen on.
    pub bind: Option<SocketAddr>,
    /// The token that write requests must carry. Never printed by `Debug`.
    pub auth_token: Option<String>,
}

impl Default for Config {
    /// oslo's and nova's defaults (see the table on [`Config`]).
    fn default() -> Self {
        Config {
            host: None,
            report_interval: DEFAULT_REPORT_INTERVAL,
            service_down_time: DEFAULT_SERVICE_DOWN_TIME,
            clock_skew_warning: DEFAULT_CLOCK_SKEW_WARNING,
            periodic_enable: true,
            periodic_fuzzy_delay: DEFAULT_PERIODIC_FUZZY_DELAY,
            periodic_interval_max: Some(DEFAULT_INTERVAL),
            run_external_periodic_tasks: true,
            graceful_shutdown_timeout: DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
            servicegroup_driver: LivenessDriver::DB,
            fleet_store: None,
            database: DatabaseOptions::default(),
            cache: CacheOptions::default(),
            zookeeper: ZookeeperOptions::default(),
            etcd: EtcdOptions::default(),
            periodic_task_spacing: BTreeMap::new(),
            api: ApiOptions::default(),
        }
    }
}

impl Default for DatabaseOptions {
    /// [`DEFAULT_DATABASE_URL`].
    fn default() -> Self {
        DatabaseOptions {
            connection: DEFAULT_DATABASE_URL.to_owned(),
        }
    }
}

impl Config {
    /// The defaults, then the file at `path` if there is one, then the environment: what
    /// a program does before it applies its flags.
    ///
    /// # Errors
    ///
    /// As [`update_from_file`](Self::update_from_file) and
    /// [`update_from_env`](Self::update_from_env).
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::Config;
    ///
    /// // No file: the defaults, overridden by any PERIODIC_* variables that are set.
    /// let config = Config::load(None::<&std::path::Path>).unwrap();
    /// # let _ = config;
    /// ```
    pub fn load(path: Option<impl AsRef<Path>>) -> Result<Config> {
        let mut config = Config::default();
        if let Some(path) = path {
            config.update_from_file(path)?;
        }
        config.update_from_env()?;
        Ok(config)
    }

    /// The defaults overridden by the TOML `text`; `origin` (usually the file's name)
    /// starts every error message.
    ///
    /// # Errors
    ///
    /// As [`update_from_toml`](Self::update_from_toml).
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::Config;
    ///
    /// let err = Config::from_toml("[DEFAULT]\nreport_intervall = 5\n", "periodic.toml").unwrap_err();
    /// assert!(err.to_string().starts_with(
    ///     "periodic.toml: unknown key `report_intervall` in [DEFAULT] (line 2, column 1)"
    /// ));
    /// ```
    pub fn from_toml(text: &str, origin: &str) -> Result<Config> {
        let mut config = Config::default();
        config.update_from_toml(text, origin)?;
        Ok(config)
    }

    /// Overrides the options that the TOML file at `path` sets; the others keep their
    /// values.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read;
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) as
    /// [`update_from_toml`](Self::update_from_toml), with the path as the origin.
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::{Config, ErrorKind};
    ///
    /// let mut config = Config::default();
    /// let err = config.update_from_file("/nonexistent/periodic.toml").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Io);
    /// ```
    pub fn update_from_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Io,
                format!("cannot read config file `{}`", path.display()),
            )
            .with_source(e)
        })?;
        self.update_from_toml(&text, &path.display().to_string())
    }

    /// The URL of the store that holds the services table: `[database] connection`.
    pub fn database_url(&self) -> &str {
        &self.database.connection
    }

    /// A [`ServiceGroupConfig`] with this configuration's `report_interval`,
    /// `service_down_time`, `servicegroup_driver` and `memcache_servers`, and the defaults
    /// of [`ServiceGroupConfig`] for the rest. Open the group with it and
    /// [`database_url`](Self::database_url).
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::{Config, ServiceGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let mut config = Config::default();
    /// config.database.connection = "memory://".into();
    /// let group = ServiceGroup::open(config.database_url(), config.servicegroup_config()).await?;
    /// assert_eq!(group.report_interval(), config.report_interval);
    /// # Ok(()) }
    /// ```
    pub fn servicegroup_config(&self) -> ServiceGroupConfig {
        self.apply_to_servicegroup(ServiceGroupConfig::default())
    }

    /// Sets this configuration's `report_interval`, `service_down_time`,
    /// `servicegroup_driver` and (when any are configured) `memcache_servers` on `config`,
    /// keeping its other settings (timeouts, clock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::{Config, ServiceGroupConfig};
    ///
    /// let base = ServiceGroupConfig::default().connect_timeout(Duration::from_secs(1));
    /// let config = Config::default().apply_to_servicegroup(base);
    /// # let _ = config;
    /// ```
    pub fn apply_to_servicegroup(&self, config: ServiceGroupConfig) -> ServiceGroupConfig {
        let config = config
            .report_interval(self.report_interval)
            .service_down_time(self.service_down_time)
            .clock_skew_warning(self.clock_skew_warning)
            .driver(self.servicegroup_driver);
        let config = if self.etcd.endpoints.is_empty() {
            config
        } else {
            config.etcd_endpoints(self.etcd.endpoints.iter().cloned())
        };
        let config = if self.zookeeper.address.is_empty() {
            config
        } else {
            config.zookeeper_servers(self.zookeeper.address.iter().cloned())
        };
        let config = match &self.cache.redis_url {
            Some(url) => config.redis_url(url.clone()),
            None => config,
        };
        if self.cache.memcache_servers.is_empty() {
            config
        } else {
            config.memcached_servers(self.cache.memcache_servers.iter().cloned())
        }
    }

    /// Sets this configuration's service options on `builder`: `host` (when set),
    /// `periodic_enable`, `periodic_fuzzy_delay`, `periodic_interval_max`,
    /// `graceful_shutdown_timeout`, and the runner's options as
    /// [`apply_to_runner`](Self::apply_to_runner) sets them, on top of the runner options
    /// the builder has. The service group is configured separately
    /// ([`servicegroup_config`](Self::servicegroup_config)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use periodic::{Config, Manager, Service, ServiceGroup};
    ///
    /// struct Compute;
    /// impl Manager for Compute {
    ///     type Context = ();
    ///     fn context(&self) {}
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> periodic::Result<()> {
    /// let config = Config::load(Some("periodic.toml"))?;
    /// let group = ServiceGroup::open(config.database_url(), config.servicegroup_config()).await?;
    /// let service = config
    ///     .apply_to_service(Service::builder(Compute, "periodic-compute", "compute"))
    ///     .servicegroup(group)
    ///     .build()?;
    /// # let _ = service;
    /// # Ok(()) }
    /// ```
    pub fn apply_to_service<M: Manager>(&self, builder: ServiceBuilder<M>) -> ServiceBuilder<M> {
        let mut builder = builder
            .periodic_enable(self.periodic_enable)
            .periodic_fuzzy_delay(self.periodic_fuzzy_delay)
            .periodic_interval_max(self.periodic_interval_max)
            .graceful_shutdown_timeout(self.graceful_shutdown_timeout)
            .map_runner_options(|runner| self.apply_to_runner(runner));
        if let Some(host) = &self.host {
            builder = builder.host(host.clone());
        }
        if let Some(url) = &self.fleet_store {
            builder = builder.fleet_store(url.clone());
        }
        builder
    }

    /// The options of a runner as this configuration sets them: [`RunnerOptions`]'
    /// defaults with [`apply_to_runner`](Self::apply_to_runner). For a program that runs
    /// a [`PeriodicRunner`](crate::PeriodicRunner) without a service.
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::{Config, PeriodicRunner, Spacing, periodic_tasks};
    ///
    /// struct Compute;
    ///
    /// #[periodic_tasks]
    /// impl Compute {
    ///     #[periodic_task(spacing = 600)]
    ///     async fn _sync_power_states(&self) {}
    /// }
    ///
    /// # fn main() -> periodic::Result<()> {
    /// let config = Config::from_toml("[periodic_task_spacing]\n_sync_power_states = -1\n", "t.toml")?;
    /// let runner = PeriodicRunner::<Compute>::builder(Compute)
    ///     .options(config.runner_options())
    ///     .build()?;
    /// assert_eq!(runner.task("_sync_power_states").unwrap().spacing, Spacing::Disabled);
    /// # Ok(()) }
    /// ```
    pub fn runner_options(&self) -> RunnerOptions {
        self.apply_to_runner(RunnerOptions::default())
    }

    /// Sets this configuration's runner options on `options`:
    /// [`run_external_periodic_tasks`](RunnerOptions::run_external_periodic_tasks), and one
    /// [`spacing_override`](RunnerOptions::spacing_override) per entry of
    /// [`periodic_task_spacing`](Self::periodic_task_spacing), after the overrides
    /// `options` has (so the file's win). The other options keep their values.
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::{Config, IdlePolicy, RunnerOptions};
    ///
    /// let base = RunnerOptions::new().idle_policy(IdlePolicy::Oslo);
    /// let options = Config::default().apply_to_runner(base);
    /// # let _ = options;
    /// ```
    pub fn apply_to_runner(&self, options: RunnerOptions) -> RunnerOptions {
        let mut options = options.run_external_periodic_tasks(self.run_external_periodic_tasks);
        for (name, spacing) in &self.periodic_task_spacing {
            options = options.spacing_override(name.clone(), *spacing);
        }
        options
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("report_interval", &self.report_interval)
            .field("service_down_time", &self.service_down_time)
            .field("clock_skew_warning", &self.clock_skew_warning)
            .field("periodic_enable", &self.periodic_enable)
            .field("periodic_fuzzy_delay", &self.periodic_fuzzy_delay)
            .field("periodic_interval_max", &self.periodic_interval_max)
            .field(
                "run_external_periodic_tasks",
                &self.run_external_periodic_tasks,
            )
            .field("graceful_shutdown_timeout", &self.graceful_shutdown_timeout)
            .field("servicegroup_driver", &self.servicegroup_driver)
            .field(
                "fleet_store",
                &self.fleet_store.as_deref().map(redact_password),
            )
            .field("database", &self.database)
            .field("cache", &self.cache)
            .field("zookeeper", &self.zookeeper)
            .field("etcd", &self.etcd)
            .field("periodic_task_spacing", &self.periodic_task_spacing)
            .field("api", &self.api)
            .finish()
    }
}

impl fmt::Debug for DatabaseOptions {
    /// The connection URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseOptions")
            .field("connection", &redact_password(&self.connection))
            .finish()
    }
}

impl fmt::Debug for ApiOptions {
    /// The token is shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiOptions")
            .field("bind", &self.bind)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `scheme://user:secret@host/...` → `scheme://user:***@host/...`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens_stay_out_of_debug() {
        let mut config = Config::default();
        config.database.connection = "postgres://nova:s3cret@db:5432/nova".into();
        config.api.auth_token = Some("t0ken".into());
        config.cache.redis_url = Some("redis://:r3dis@cache:6379/0".into());
        let shown = format!("{config:?}");
        assert!(shown.contains("redis://:***@cache:6379/0"), "{shown}");
        assert!(
            shown.contains("postgres://nova:***@db:5432/nova"),
            "{shown}"
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken") && !shown.contains("r3dis"),
            "{shown}"
        );
        assert_eq!(
            redact_password("sqlite://periodic.db"),
            "sqlite://periodic.db"
        );
        assert_eq!(redact_password("mysql://root@h/x"), "mysql://root@h/x");
    }
}
