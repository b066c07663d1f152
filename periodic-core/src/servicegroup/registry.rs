//! The one place that says which backends exist: a URL scheme names the store of the
//! services table ([`ServiceRecords`]), a driver name the [`Liveness`] driver.
//!
//! Each backend is a file of its own whose first line, `#![cfg(feature = "...")]`, keeps
//! it out of builds without its feature; here it gets one line in its table. A name whose
//! feature this build lacks is still known, so that the error says which feature to turn
//! on instead of "unknown".

use std::str::FromStr;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::config::{LivenessDriver, ServiceGroupConfig};
use super::liveness::Liveness;
use super::records::ServiceRecords;
use super::shared::OpenMode;
use super::url::{redact, scheme};
use super::{db, memory};
use crate::error::{Error, ErrorKind};

#[cfg(feature = "etcd")]
use super::etcd;
#[cfg(feature = "memcached")]
use super::memcached;
#[cfg(feature = "redis")]
use super::redis;
#[cfg(feature = "redis")]
use super::redis_ledger;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
use super::sql;
#[cfg(feature = "zookeeper")]
use super::zookeeper;

/// Opens the services table at a URL.
pub(crate) type OpenRecords = for<'a> fn(
    &'a str,
    &'a ServiceGroupConfig,
    OpenMode,
) -> BoxFuture<'a, Result<Arc<dyn ServiceRecords>, Error>>;

/// Opens a liveness driver for a group's configuration.
pub(crate) type OpenLiveness =
    fn(&ServiceGroupConfig) -> BoxFuture<'static, Result<Arc<dyn Liveness>, Error>>;

/// One backend: the names it answers to (the first is the one shown), the cargo feature
/// it needs, and its opener if this build has it.
struct Backend<F: 'static> {
    names: &'static [&'static str],
    feature: Option<&'static str>,
    open: Option<F>,
}

/// `Some(open)` if this build has `feature`, else `None`.
macro_rules! built {
    ($feature:literal, $open:path) => {{
        #[cfg(feature = $feature)]
        let open = Some($open as _);
        #[cfg(not(feature = $feature))]
        let open = None;
        open
    }};
}

/// The stores of the services table, by URL scheme.
#[rustfmt::skip]
const STORES: &[Backend<OpenRecords>] = &[
    Backend { names: &["sqlite"], feature: Some("sqlite"), open: built!("sqlite", sql::open) },
    Backend { names: &["postgres", "postgresql"], feature: Some("postgres"), open: built!("postgres", sql::open) },
    Backend { names: &["mysql", "mariadb"], feature: Some("mysql"), open: built!("mysql", sql::open) },
    Backend { names: &["memory"], feature: None, open: Some(memory::open) },
];

/// Opens a task ledger kept apart from any services table.
pub(crate) type OpenLedger =
    for<'a> fn(&'a str) -> BoxFuture<'a, Result<Arc<dyn crate::periodic::TaskLedger>, Error>>;

/// The stores that keep only a task ledger (`fleet_store`), by URL scheme; every store of
/// [`STORES`] keeps one too.
#[rustfmt::skip]
const LEDGERS: &[Backend<OpenLedger>] = &[
    Backend { names: &["redis", "rediss"], feature: Some("redis"), open: built!("redis", redis_ledger::open) },
];

/// The opener of a ledger-only store for `url`'s scheme, or `None` when the scheme is not
/// one (the caller then opens the services table's store and takes its ledger).
///
/// # Errors
///
/// [`ErrorKind::Invalid`] for a malformed URL; [`ErrorKind::Config`] for a scheme this
/// build lacks the feature of.
pub(crate) fn ledger_for(url: &str) -> Result<Option<OpenLedger>, Error> {
    let scheme = scheme(url)?;
    let Some(store) = LEDGERS.iter().find(|b| b.names.contains(&scheme.as_str())) else {
        return Ok(None);
    };
    store.open.map(Some).ok_or_else(|| {
        let (name, feature) = (store.names[0], store.feature.unwrap_or_default());
        Error::new(
            ErrorKind::Config,
            format!(
                "fleet store URL scheme `{name}` needs the `{feature}` feature of the \
                 `periodic` crate, which this build does not have"
            ),
        )
    })
}

/// The liveness drivers, by nova's `servicegroup_driver` names.
#[rustfmt::skip]
const LIVENESS: &[Backend<OpenLiveness>] = &[
    Backend { names: &["db"], feature: None, open: Some(db::open) },
    Backend { names: &["mc"], feature: Some("memcached"), open: built!("memcached", memcached::open) },
    Backend { names: &["redis"], feature: Some("redis"), open: built!("redis", redis::open) },
    Backend { names: &["zk"], feature: Some("zookeeper"), open: built!("zookeeper", zookeeper::open) },
    Backend { names: &["etcd"], feature: Some("etcd"), open: built!("etcd", etcd::open) },
];

impl LivenessDriver {
    /// `db`: heartbeats are writes to the services table and the store's own clock judges
    /// their age (the default).
    pub const DB: LivenessDriver = LivenessDriver("db");
    /// `mc`: heartbeats are memcached keys `topic:host` that expire after
    /// `service_down_time`; the services table still lives in the group's store. Needs the
    /// `memcached` feature and
    /// [`ServiceGroupConfig::memcached_servers`](crate::ServiceGroupConfig::memcached_servers).
    pub const MC: LivenessDriver = LivenessDriver("mc");
    /// `redis`: heartbeats are Redis keys `periodic:topic:host` that expire after
    /// `service_down_time` (`SET ... PX`), judged by Redis's expiry and, for the age, its
    /// `PTTL`; the services table still lives in the group's store. Needs the `redis`
    /// feature and [`ServiceGroupConfig::redis_url`](crate::ServiceGroupConfig::redis_url).
    pub const REDIS: LivenessDriver = LivenessDriver("redis");
    /// `zk`: nova's ZooKeeper driver. Each joined service holds a session and an
    /// ephemeral znode `/periodic/topic/host`; it is up while the node exists, and the
    /// server deletes the node when the session times out (`service_down_time`). The
    /// services table still lives in the group's store. Needs the `zookeeper` feature and
    /// [`ServiceGroupConfig::zookeeper_servers`](crate::ServiceGroupConfig::zookeeper_servers).
    pub const ZK: LivenessDriver = LivenessDriver("zk");
    /// `etcd`: each joined service holds an etcd lease (TTL `service_down_time`, kept
    /// alive every `report_interval`) with a key `/periodic/topic/host` on it; it is up
    /// while the key exists, and etcd deletes the key when the lease expires. The
    /// services table still lives in the group's store. Needs the `etcd` feature and
    /// [`ServiceGroupConfig::etcd_endpoints`](crate::ServiceGroupConfig::etcd_endpoints).
    pub const ETCD: LivenessDriver = LivenessDriver("etcd");

    /// Every driver name this crate knows, built into this build or not.
    pub fn names() -> impl Iterator<Item = &'static str> {
        LIVENESS.iter().map(|b| b.names[0])
    }
}

impl FromStr for LivenessDriver {
    type Err = Error;

    /// nova's names (`db`, `mc`, ...); anything else is an [`ErrorKind::Config`] error
    /// that lists them.
    fn from_str(s: &str) -> Result<Self, Error> {
        match LIVENESS.iter().find(|b| b.names.contains(&s)) {
            Some(b) => Ok(LivenessDriver(b.names[0])),
            None => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "unknown servicegroup driver `{s}`; expected {}",
                    one_of(LIVENESS.iter().map(|b| format!("`{}`", b.names[0])))
                ),
            )),
        }
    }
}

/// The opener of the services table named by `url`'s scheme.
///
/// # Errors
///
/// [`ErrorKind::Invalid`] for a malformed URL or an unknown scheme;
/// [`ErrorKind::Config`] for a scheme this build lacks the feature of.
pub(crate) fn records_for(url: &str) -> Result<OpenRecords, Error> {
    let scheme = scheme(url)?;
    let Some(store) = STORES.iter().find(|b| b.names.contains(&scheme.as_str())) else {
        let expected = one_of(STORES.iter().map(|b| match b.names {
            [name] => (*name).to_owned(),
            [name, aliases @ ..] => format!("{name} (or {})", aliases.join(", ")),
            [] => String::new(),
        }));
        return Err(Error::new(
            ErrorKind::Invalid,
            format!(
                "unsupported servicegroup URL scheme `{scheme}` in `{}`; expected {expected}",
                redact(url)
            ),
        ));
    };
    store.open.ok_or_else(|| {
        let (name, feature) = (store.names[0], store.feature.unwrap_or_default());
        Error::new(
            ErrorKind::Config,
            format!(
                "servicegroup URL scheme `{name}` needs the `{feature}` feature of the \
                 `periodic` crate, which this build does not have"
            ),
        )
    })
}

/// The opener of the liveness driver `driver`.
///
/// # Errors
///
/// [`ErrorKind::Config`] for a driver this build lacks the feature of.
pub(crate) fn liveness_for(driver: LivenessDriver) -> Result<OpenLiveness, Error> {
    let name = driver.as_str();
    let known = LIVENESS.iter().find(|b| b.names.contains(&name));
    match known {
        Some(Backend {
            open: Some(open), ..
        }) => Ok(*open),
        Some(Backend { feature, .. }) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "the `{name}` servicegroup driver needs the `{}` feature of the `periodic` \
                 crate, which this build does not have",
                feature.unwrap_or_default()
            ),
        )),
        None => Err(Error::new(
            ErrorKind::Config,
            format!("the servicegroup driver `{name}` is not built in"),
        )),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_names() {
        assert_eq!("db".parse::<LivenessDriver>().unwrap(), LivenessDriver::DB);
        assert_eq!("mc".parse::<LivenessDriver>().unwrap(), LivenessDriver::MC);
        let err = "zz".parse::<LivenessDriver>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.to_string()
                .starts_with("unknown servicegroup driver `zz`; expected `db`"),
            "{err}"
        );
        assert!(LivenessDriver::names().any(|n| n == "mc"));
        assert_eq!(one_of(["a".to_owned()].into_iter()), "a");
        assert_eq!(
            one_of(["a", "b", "c"].map(String::from).into_iter()),
            "a, b or c"
        );
    }

    #[test]
    fn stores_by_scheme() {
        assert!(records_for("memory://").is_ok());
        assert!(records_for("MEMORY://x").is_ok());
        let err = records_for("redis://x").err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            "unsupported servicegroup URL scheme `redis` in `redis://x`; expected sqlite, \
             postgres (or postgresql), mysql (or mariadb) or memory"
        );
        let built = cfg!(feature = "postgres");
        assert_eq!(records_for("postgresql://h/db").is_ok(), built);
    }
}
