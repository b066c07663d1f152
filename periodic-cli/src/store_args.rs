//! The flags shared by `periodic service ...` and `periodic api serve`: where the services
//! table is and how liveness is judged.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use periodic::{Config, Error, LivenessDriver};

/// nova's `servicegroup_driver` values: every liveness driver the library knows.
pub(crate) fn driver_parser() -> impl clap::builder::TypedValueParser<Value = LivenessDriver> {
    PossibleValuesParser::new(LivenessDriver::names())
        .try_map(|name| name.parse::<LivenessDriver>())
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
    /// The liveness driver the services use (nova's servicegroup_driver): db (heartbeats
    /// in the database), mc (memcached keys), redis (Redis keys), zk (ZooKeeper
    /// sessions) or etcd (etcd leases) [default: from the configuration, or db].
    #[arg(long, global = true, value_parser = driver_parser())]
    pub(crate) driver: Option<LivenessDriver>,
    /// memcached servers for the mc driver (host:port, comma-separated).
    #[arg(long, global = true, value_delimiter = ',', value_name = "HOST:PORT")]
    pub(crate) memcached_servers: Vec<String>,
    /// The Redis server for the redis driver (redis://HOST:PORT).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) redis_url: Option<String>,
    /// ZooKeeper servers for the zk driver (host:port, comma-separated).
    #[arg(long, global = true, value_delimiter = ',', value_name = "HOST:PORT")]
    pub(crate) zookeeper_servers: Vec<String>,
    /// etcd endpoints for the etcd driver (host:port, comma-separated).
    #[arg(long, global = true, value_delimiter = ',', value_name = "HOST:PORT")]
    pub(crate) etcd_endpoints: Vec<String>,
}

impl StoreArgs {
    /// These flags as command-line arguments, for a child process of the same binary
    /// (which inherits the environment, so `PERIODIC_*` and the file apply there too).
    pub(crate) fn to_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut push = |name: &str, value: String| {
            flags.push(format!("--{name}"));
            flags.push(value);
        };
        if let Some(config) = &self.config {
            push("config", config.display().to_string());
        }
        if let Some(db) = &self.db {
            push("db", db.clone());
        }
        if let Some(secs) = self.service_down_time {
            push("service-down-time", secs.to_string());
        }
        if let Some(driver) = self.driver {
            push("driver", driver.as_str().to_owned());
        }
        if !self.memcached_servers.is_empty() {
            push("memcached-servers", self.memcached_servers.join(","));
        }
        if let Some(url) = &self.redis_url {
            push("redis-url", url.clone());
        }
        if !self.zookeeper_servers.is_empty() {
            push("zookeeper-servers", self.zookeeper_servers.join(","));
        }
        if !self.etcd_endpoints.is_empty() {
            push("etcd-endpoints", self.etcd_endpoints.join(","));
        }
        flags
    }

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
            config.servicegroup_driver = driver;
        }
        if !self.memcached_servers.is_empty() {
            config
                .cache
                .memcache_servers
                .clone_from(&self.memcached_servers);
        }
        if let Some(url) = &self.redis_url {
            config.cache.redis_url = Some(url.clone());
        }
        if !self.zookeeper_servers.is_empty() {
            config.zookeeper.address.clone_from(&self.zookeeper_servers);
        }
        if !self.etcd_endpoints.is_empty() {
            config.etcd.endpoints.clone_from(&self.etcd_endpoints);
        }
        Ok(config)
    }
}
