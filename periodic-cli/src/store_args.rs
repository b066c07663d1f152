//! The flags shared by `periodic service ...` and `periodic api serve`: where the services
//! table is and how liveness is judged.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use periodic::{Config, DriverKind, Error};

/// nova's `servicegroup_driver` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Driver {
    /// Heartbeats in the database.
    Db,
    /// Heartbeats in memcached.
    Mc,
}

impl From<Driver> for DriverKind {
    fn from(driver: Driver) -> Self {
        match driver {
            Driver::Db => DriverKind::Db,
            Driver::Mc => DriverKind::Memcached,
        }
    }
}

/// The store flags. Defaults < `--config` file < `PERIODIC_*` < these flags.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StoreArgs {
    /// A configuration file (TOML; see periodic.example.toml). Its values are overridden
    /// by PERIODIC_* environment variables, then by these flags.
    #[arg(long, global = true, env = "PERIODIC_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The database with the services table; it must exist [default: `[database]
    /// connection` of the configuration, $PERIODIC_DATABASE_URL, or sqlite://periodic.db].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) db: Option<String>,
    /// Seconds without a heartbeat after which a service shows down (nova's
    /// service_down_time) [default: from the configuration, or 60].
    #[arg(long, global = true, value_name = "SECONDS")]
    pub(crate) service_down_time: Option<u64>,
    /// The service-group driver the services use: db, or mc (memcached) [default: from
    /// the configuration, or db].
    #[arg(long, global = true, value_enum)]
    pub(crate) driver: Option<Driver>,
    /// memcached servers for the mc driver (host:port, comma-separated).
    #[arg(long, global = true, value_delimiter = ',', value_name = "HOST:PORT")]
    pub(crate) memcached_servers: Vec<String>,
}

impl StoreArgs {
    /// The configuration: the file, then the environment, then these flags.
    pub(crate) fn configuration(&self) -> Result<Config, Error> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(db) = &self.db {
            config.database.connection.clone_from(db);
        }
        if let Some(secs) = self.service_down_time {
            config.service_down_time = Duration::from_secs(secs);
        }
        if let Some(driver) = self.driver {
            config.servicegroup_driver = driver.into();
        }
        if !self.memcached_servers.is_empty() {
            config
                .cache
                .memcache_servers
                .clone_from(&self.memcached_servers);
        }
        Ok(config)
    }
}
