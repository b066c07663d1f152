//! `PERIODIC_*` environment variables: one per option, `PERIODIC_` + the key in capitals
//! (`[database] connection` is `PERIODIC_DATABASE_URL`, `[cache] memcache_servers` is
//! `PERIODIC_MEMCACHED_SERVERS`, as the example's flags named them first).

use std::time::Duration;

use super::file::{SECONDS_EXPECTED, seconds, split_servers};
use super::options::Config;
use crate::error::{Error, ErrorKind, Result};

/// Sets the option `name` names from `value`; names that are not ours are ignored, and
/// so are empty values.
pub(super) fn apply(config: &mut Config, name: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Config,
            format!("environment variable {name}=`{value}`: {why}"),
        )
    };
    let secs = || -> Result<Duration> {
        let number: f64 = value
            .trim()
            .parse()
            .map_err(|_| bad(&format!("expected {SECONDS_EXPECTED}")))?;
        seconds(number).map_err(|why| bad(&why))
    };
    let flag = || -> Result<bool> {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(bad("expected a boolean (true/false, yes/no, on/off, 1/0)")),
        }
    };
    match name {
        "PERIODIC_HOST" => config.host = Some(value.to_owned()),
        "PERIODIC_REPORT_INTERVAL" => config.report_interval = secs()?,
        "PERIODIC_SERVICE_DOWN_TIME" => config.service_down_time = secs()?,
        "PERIODIC_CLOCK_SKEW_WARNING" => config.clock_skew_warning = secs()?,
        "PERIODIC_PERIODIC_ENABLE" => config.periodic_enable = flag()?,
        "PERIODIC_PERIODIC_FUZZY_DELAY" => config.periodic_fuzzy_delay = secs()?,
        "PERIODIC_PERIODIC_INTERVAL_MAX" => {
            let max = secs()?;
            config.periodic_interval_max = (!max.is_zero()).then_some(max);
        }
        "PERIODIC_RUN_EXTERNAL_PERIODIC_TASKS" => config.run_external_periodic_tasks = flag()?,
        "PERIODIC_GRACEFUL_SHUTDOWN_TIMEOUT" => config.graceful_shutdown_timeout = secs()?,
        "PERIODIC_SERVICEGROUP_DRIVER" => {
            config.servicegroup_driver =
                value.trim().parse().map_err(|e: Error| bad(e.message()))?;
        }
        "PERIODIC_DATABASE_URL" => value.clone_into(&mut config.database.connection),
        "PERIODIC_FLEET_STORE" => config.fleet_store = Some(value.to_owned()),
        "PERIODIC_MEMCACHED_SERVERS" => config.cache.memcache_servers = split_servers(value),
        "PERIODIC_REDIS_URL" => config.cache.redis_url = Some(value.trim().to_owned()),
        "PERIODIC_ZOOKEEPER_SERVERS" => config.zookeeper.address = split_servers(value),
        "PERIODIC_ETCD_ENDPOINTS" => config.etcd.endpoints = split_servers(value),
        "PERIODIC_API_BIND" => {
            config.api.bind = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|_| bad("expected an address and port, e.g. 127.0.0.1:8774"))?,
            );
        }
        "PERIODIC_API_TOKEN" => config.api.auth_token = Some(value.to_owned()),
        _ => {}
    }
    Ok(())
}

/// Reading the configuration from its environment source: here, beside the parser it
/// calls, so that `options.rs` (the type) does not import its readers.
impl Config {
    /// Overrides the options that `PERIODIC_*` environment variables set (see the table
    /// in the [`Config` docs](Config#the-environment)); empty variables count as
    /// unset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the variable when its value
    /// cannot be used, e.g. ``environment variable PERIODIC_REPORT_INTERVAL=`ten`:
    /// expected a number of seconds, 0 or more``. Nothing changes on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::Config;
    ///
    /// let mut config = Config::default();
    /// config.update_from_env()?;
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn update_from_env(&mut self) -> Result<()> {
        self.update_from_env_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// As [`update_from_env`](Self::update_from_env), from the given `(name, value)`
    /// pairs instead of the process's environment (for tests and embedding). Names other
    /// than the documented ones are ignored.
    ///
    /// # Errors
    ///
    /// As [`update_from_env`](Self::update_from_env).
    ///
    /// # Examples
    ///
    /// ```
    /// use periodic::Config;
    ///
    /// let mut config = Config::default();
    /// config.update_from_env_vars([("PERIODIC_DATABASE_URL", "sqlite:///var/lib/periodic.db")])?;
    /// assert_eq!(config.database.connection, "sqlite:///var/lib/periodic.db");
    ///
    /// let err = config.update_from_env_vars([("PERIODIC_PERIODIC_ENABLE", "maybe")]).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "environment variable PERIODIC_PERIODIC_ENABLE=`maybe`: expected a boolean (true/false, yes/no, on/off, 1/0)"
    /// );
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn update_from_env_vars<I, K, V>(&mut self, vars: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut next = self.clone();
        for (name, value) in vars {
            apply(&mut next, name.as_ref(), value.as_ref())?;
        }
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config> {
        let mut config = Config::default();
        config.update_from_env_vars(vars.iter().copied())?;
        Ok(config)
    }

    #[test]
    fn every_variable_is_read() {
        let config = with(&[
            ("PERIODIC_HOST", "node-3"),
            ("PERIODIC_REPORT_INTERVAL", "4"),
            ("PERIODIC_SERVICE_DOWN_TIME", "12.5"),
            ("PERIODIC_CLOCK_SKEW_WARNING", "0"),
            ("PERIODIC_PERIODIC_ENABLE", "No"),
            ("PERIODIC_PERIODIC_FUZZY_DELAY", "0"),
            ("PERIODIC_PERIODIC_INTERVAL_MAX", "30"),
            ("PERIODIC_RUN_EXTERNAL_PERIODIC_TASKS", "off"),
            ("PERIODIC_GRACEFUL_SHUTDOWN_TIMEOUT", "0"),
            ("PERIODIC_SERVICEGROUP_DRIVER", "mc"),
            ("PERIODIC_DATABASE_URL", "sqlite:///tmp/x.db"),
            ("PERIODIC_MEMCACHED_SERVERS", "a:1,b:2"),
            ("PERIODIC_REDIS_URL", "redis://127.0.0.1:6380/2"),
            ("PERIODIC_ZOOKEEPER_SERVERS", "z:2181, y:2182"),
            ("PERIODIC_ETCD_ENDPOINTS", "e:2379"),
            ("PERIODIC_API_BIND", "[::1]:8774"),
            ("PERIODIC_API_TOKEN", "tok"),
            ("PERIODIC_UNRELATED", "whatever"),
        ])
        .unwrap();
        assert_eq!(config.host.as_deref(), Some("node-3"));
        assert_eq!(config.report_interval, Duration::from_secs(4));
        assert_eq!(config.service_down_time, Duration::from_millis(12_500));
        assert_eq!(config.clock_skew_warning, Duration::ZERO);
        assert!(!config.periodic_enable);
        assert_eq!(config.periodic_fuzzy_delay, Duration::ZERO);
        assert_eq!(config.periodic_interval_max, Some(Duration::from_secs(30)));
        assert!(!config.run_external_periodic_tasks);
        assert_eq!(config.graceful_shutdown_timeout, Duration::ZERO);
        assert_eq!(
            config.servicegroup_driver,
            crate::servicegroup::LivenessDriver::MC
        );
        assert_eq!(config.database.connection, "sqlite:///tmp/x.db");
        assert_eq!(config.cache.memcache_servers, ["a:1", "b:2"]);
        assert_eq!(
            config.cache.redis_url.as_deref(),
            Some("redis://127.0.0.1:6380/2")
        );
        assert_eq!(config.zookeeper.address, ["z:2181", "y:2182"]);
        assert_eq!(config.etcd.endpoints, ["e:2379"]);
        assert_eq!(config.api.bind, Some("[::1]:8774".parse().unwrap()));
        assert_eq!(config.api.auth_token.as_deref(), Some("tok"));
    }

    #[test]
    fn empty_means_unset_and_zero_max_means_no_cap() {
        let config = with(&[
            ("PERIODIC_DATABASE_URL", ""),
            ("PERIODIC_PERIODIC_INTERVAL_MAX", "0"),
        ])
        .unwrap();
        assert_eq!(config.database.connection, "sqlite://periodic.db");
        assert_eq!(config.periodic_interval_max, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = |name: &str, value: &str| with(&[(name, value)]).unwrap_err().to_string();
        assert_eq!(
            e("PERIODIC_REPORT_INTERVAL", "ten"),
            "environment variable PERIODIC_REPORT_INTERVAL=`ten`: expected a number of seconds, 0 or more"
        );
        assert_eq!(
            e("PERIODIC_SERVICE_DOWN_TIME", "-3"),
            "environment variable PERIODIC_SERVICE_DOWN_TIME=`-3`: expected a number of seconds, 0 or more, got -3"
        );
        assert_eq!(
            e("PERIODIC_SERVICEGROUP_DRIVER", "zookeeper"),
            "environment variable PERIODIC_SERVICEGROUP_DRIVER=`zookeeper`: unknown servicegroup driver `zookeeper`; expected `db`, `mc`, `redis`, `zk` or `etcd`"
        );
        assert_eq!(
            e("PERIODIC_API_BIND", "localhost"),
            "environment variable PERIODIC_API_BIND=`localhost`: expected an address and port, e.g. 127.0.0.1:8774"
        );
        assert!(e("PERIODIC_REPORT_INTERVAL", "inf").contains("got inf"));
    }
}
