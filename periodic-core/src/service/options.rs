//! A service's options, with oslo's and nova's names and defaults.

use std::time::Duration;

use crate::periodic::{DEFAULT_INTERVAL, RunnerOptions};
use crate::servicegroup::{HeartbeatMode, INITIAL_REPORTING_DELAY};

/// nova's `periodic_fuzzy_delay` default: the first pass over the periodic tasks starts a
/// random 0 to 60 s after the service, so that a fleet restarted at once does not
/// stampede.
pub const DEFAULT_PERIODIC_FUZZY_DELAY: Duration = Duration::from_secs(60);

/// oslo's `graceful_shutdown_timeout` default.
pub const DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// The options of a [`Service`](crate::Service) besides the service group's
/// (`report_interval` and `service_down_time` belong to the
/// [`ServiceGroupConfig`](crate::ServiceGroupConfig) the group was opened with).
#[derive(Debug, Clone)]
pub(crate) struct ServiceOptions {
    pub(crate) host: String,
    pub(crate) binary: String,
    pub(crate) topic: String,
    pub(crate) availability_zone: Option<String>,
    pub(crate) periodic_enable: bool,
    pub(crate) periodic_fuzzy_delay: Duration,
    pub(crate) periodic_interval_max: Option<Duration>,
    pub(crate) graceful_shutdown_timeout: Duration,
    /// The runner's options, handed to it as they are; their seed also seeds
    /// `periodic_fuzzy_delay`.
    pub(crate) runner: RunnerOptions,
    pub(crate) heartbeat_mode: HeartbeatMode,
    pub(crate) initial_reporting_delay: Duration,
    pub(crate) allow_second_instance: bool,
    /// The HTTP API to serve while the service runs.
    #[cfg(feature = "http")]
    pub(crate) api: Option<crate::http::ApiServerOptions>,
    /// Where fleet tasks claim their slots when not in the group's store.
    pub(crate) fleet_store: Option<StoreUrl>,
    /// What SIGHUP re-reads.
    pub(crate) reload: Option<ReloadSource>,
}

/// A [`Reload`](super::reload::Reload) shared by clones of the options.
#[derive(Clone)]
pub(crate) struct ReloadSource(pub(crate) std::sync::Arc<dyn super::reload::Reload>);

impl std::fmt::Debug for ReloadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.origin())
    }
}

/// A store URL whose `Debug` hides the password.
#[derive(Clone)]
pub(crate) struct StoreUrl(pub(crate) String);

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::servicegroup::url::redact(&self.0))
    }
}

impl ServiceOptions {
    pub(crate) fn new(binary: String, topic: String) -> Self {
        ServiceOptions {
            host: default_host(),
            binary,
            topic,
            availability_zone: None,
            periodic_enable: true,
            periodic_fuzzy_delay: DEFAULT_PERIODIC_FUZZY_DELAY,
            periodic_interval_max: Some(DEFAULT_INTERVAL),
            graceful_shutdown_timeout: DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
            runner: RunnerOptions::default(),
            heartbeat_mode: HeartbeatMode::default(),
            initial_reporting_delay: INITIAL_REPORTING_DELAY,
            allow_second_instance: false,
            #[cfg(feature = "http")]
            api: None,
            fleet_store: None,
            reload: None,
        }
    }
}

/// The machine's hostname (nova's `CONF.host` default), or `localhost` if it cannot be
/// read.
pub fn default_host() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
