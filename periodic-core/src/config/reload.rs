//! A configuration file that a service re-reads on SIGHUP, with the same overrides on top.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::options::Config;
use crate::error::Result;
use crate::service::{Manager, Reload, Reloaded, ServiceBuilder};

/// The program's own changes on top of the file and the environment (its flags).
type Overrides = Arc<dyn Fn(&mut Config) -> Result<()> + Send + Sync>;

/// A configuration file and how a program reads it: its defaults, the file, the
/// `PERIODIC_*` environment, then its flags. It remembers all four, so a service
/// started from it re-reads the file on SIGHUP and re-applies the same environment and
/// flags: only the file's changes take effect.
///
/// ```text
/// base  <  FILE  <  PERIODIC_* environment  <  overrides (flags)      at start and on SIGHUP
/// ```
///
/// On SIGHUP ([`RunningService::reload`](crate::RunningService::reload)) the
/// `[periodic_task_spacing]` table is applied to the runner at once and takes effect from
/// its next pass (a removed entry returns its task to its declared spacing), and so is
/// `run_external_periodic_tasks` (the tasks marked `external_process_ok` stop or start
/// again); every other option that differs from the configuration the service started
/// with is named in one log line, `Configuration changed but needs a
/// restart: report_interval, [database] connection`. A file that cannot be read or
/// parsed keeps the old configuration, with the same error text as at start. Log levels
/// are not a configuration option here (`RUST_LOG` is read once by the program's
/// subscriber).
///
/// # Differences from oslo.service
///
/// oslo.config reloads the options declared `mutable=True` and names the others
/// ("Ignoring change to immutable option"); here the mutable ones are the per-task
/// spacings and `run_external_periodic_tasks`: `periodic_interval_max`,
/// `periodic_fuzzy_delay`, `graceful_shutdown_timeout` and `clock_skew_warning` need a
/// restart. oslo re-reads log levels (`debug`); this port has no such option.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use periodic::{ConfigFile, Manager, Service, ServiceGroup};
///
/// struct Compute;
/// impl Manager for Compute {
///     type Context = ();
///     fn context(&self) {}
/// }
///
/// # #[tokio::main]
/// # async fn main() -> periodic::Result<()> {
/// let report_interval = Some(Duration::from_secs(5)); // say, from a flag
/// let file = ConfigFile::new("/etc/periodic/periodic.toml").overrides(move |config| {
///     if let Some(interval) = report_interval {
///         config.report_interval = interval;
///     }
///     Ok(())
/// });
/// let config = file.load()?;
/// let group = ServiceGroup::open(config.database_url(), config.servicegroup_config()).await?;
/// let stopped = file
///     .apply_to_service(&config, Service::builder(Compute, "periodic-compute", "compute"))
///     .servicegroup(group)
///     .build()?
///     .run_until_signal() // SIGHUP re-reads /etc/periodic/periodic.toml
///     .await?;
/// std::process::exit(stopped.exit_code());
/// # }
/// ```
#[derive(Clone)]
pub struct ConfigFile {
    path: PathBuf,
    base: Config,
    overrides: Option<Overrides>,
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("base", &self.base)
            .field("overrides", &self.overrides.is_some())
            .finish()
    }
}

impl ConfigFile {
    /// The file at `path`, on top of [`Config::default`], without overrides.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigFile {
            path: path.into(),
            base: Config::default(),
            overrides: None,
        }
    }

    /// The configuration the file is read on top of (a program's own defaults).
    #[must_use]
    pub fn base(mut self, base: Config) -> Self {
        self.base = base;
        self
    }

    /// The program's changes after the file and the environment (its flags), applied
    /// again at every reload.
    #[must_use]
    pub fn overrides(
        mut self,
        overrides: impl Fn(&mut Config) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.overrides = Some(Arc::new(overrides));
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The base, then the file, then the environment, then the overrides.
    ///
    /// # Errors
    ///
    /// As [`Config::update_from_file`] and [`Config::update_from_env`], and the
    /// overrides' errors.
    pub fn load(&self) -> Result<Config> {
        let mut config = self.base.clone();
        config.update_from_file(&self.path)?;
        config.update_from_env()?;
        if let Some(overrides) = &self.overrides {
            overrides(&mut config)?;
        }
        Ok(config)
    }

    /// `config` (read from this file) applied to `builder` as
    /// [`Config::apply_to_service`] does, and this file as what the service re-reads on
    /// SIGHUP ([`ServiceBuilder::reload`]): what needs a restart is judged against
    /// `config`.
    pub fn apply_to_service<M: Manager>(
        &self,
        config: &Config,
        builder: ServiceBuilder<M>,
    ) -> ServiceBuilder<M> {
        config
            .apply_to_service(builder)
            .reload(self.reloader(config.clone()))
    }

    /// The [`Reload`] of a service started with `started`.
    pub fn reloader(&self, started: Config) -> impl Reload + use<> {
        FileReload {
            file: self.clone(),
            started,
        }
    }
}

/// A [`ConfigFile`] and the configuration the service started with.
struct FileReload {
    file: ConfigFile,
    started: Config,
}

impl Reload for FileReload {
    fn origin(&self) -> String {
        self.file.path.display().to_string()
    }

    fn reload(&self) -> Result<Reloaded> {
        let next = self.file.load()?;
        Ok(Reloaded::new(next.periodic_task_spacing.clone())
            .run_external_periodic_tasks(next.run_external_periodic_tasks)
            .needs_restart(self.started.needs_restart(&next)))
    }
}

impl Config {
    /// The options that differ between `self` and `next` and only take effect at a
    /// restart: every option but `[periodic_task_spacing]` and
    /// `run_external_periodic_tasks`, by its name in the file
    /// (`report_interval`, `[database] connection`, ...). Secrets are named, never shown.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::Config;
    ///
    /// let started = Config::default();
    /// let mut next = started.clone();
    /// next.report_interval = Duration::from_secs(3);
    /// next.database.connection = "postgres://db/nova".to_owned();
    /// assert_eq!(started.needs_restart(&next), ["report_interval", "[database] connection"]);
    /// ```
    pub fn needs_restart(&self, next: &Config) -> Vec<&'static str> {
        let a = self;
        let b = next;
        let fields = [
            ("host", a.host != b.host),
            ("report_interval", a.report_interval != b.report_interval),
            (
                "service_down_time",
                a.service_down_time != b.service_down_time,
            ),
            (
                "clock_skew_warning",
                a.clock_skew_warning != b.clock_skew_warning,
            ),
            ("periodic_enable", a.periodic_enable != b.periodic_enable),
            (
                "periodic_fuzzy_delay",
                a.periodic_fuzzy_delay != b.periodic_fuzzy_delay,
            ),
            (
                "periodic_interval_max",
                a.periodic_interval_max != b.periodic_interval_max,
            ),
            (
                "graceful_shutdown_timeout",
                a.graceful_shutdown_timeout != b.graceful_shutdown_timeout,
            ),
            (
                "servicegroup_driver",
                a.servicegroup_driver != b.servicegroup_driver,
            ),
            ("fleet_store", a.fleet_store != b.fleet_store),
            (
                "[database] connection",
                a.database.connection != b.database.connection,
            ),
            (
                "[cache] memcache_servers",
                a.cache.memcache_servers != b.cache.memcache_servers,
            ),
            ("[cache] redis_url", a.cache.redis_url != b.cache.redis_url),
            (
                "[zookeeper] address",
                a.zookeeper.address != b.zookeeper.address,
            ),
            ("[etcd] endpoints", a.etcd.endpoints != b.etcd.endpoints),
            ("[api] bind", a.api.bind != b.api.bind),
            ("[api] auth_token", a.api.auth_token != b.api.auth_token),
        ];
        fields
            .into_iter()
            .filter(|(_, changed)| *changed)
            .map(|(name, _)| name)
            .collect()
    }
}
