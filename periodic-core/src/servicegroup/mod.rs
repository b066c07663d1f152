//! Service groups: which services exist and which are up (nova's `servicegroup` API and
//! its `db` and `mc` drivers, with cinder's lessons on failure handling).
//!
//! A service loads or creates its row in the services table
//! ([`ServiceGroup::get_or_create`]), then [joins](ServiceGroup::join) the group: from
//! then on it writes a heartbeat every `report_interval`. Anyone with a handle on the
//! same store can [list](ServiceGroup::list) the services, ask whether one
//! [is up](ServiceGroup::is_up), and [enable](ServiceGroup::enable),
//! [disable](ServiceGroup::disable) or [force down](ServiceGroup::set_forced_down) one.
//!
//! | nova / cinder | here |
//! |---|---|
//! | `servicegroup.API(...)` | [`ServiceGroup::open`] (a service) / [`ServiceGroup::open_existing`] (an operator command) |
//! | `API.join(host, topic, service)` | [`ServiceGroup::join`] → [`Heartbeat`] |
//! | `API.service_is_up(member)` | [`ServiceGroup::is_up`] |
//! | `API.get_updated_time(member)` | [`ServiceGroup::updated_time`] |
//! | `_report_state` / cinder `report_state` | [`Heartbeat`] (the loop), [`ServiceGroup::report_state`] (one report) |
//! | `service-list` | [`ServiceGroup::list`] → [`ServiceStatus`] |
//! | `report_interval`, `service_down_time`, `servicegroup_driver` | [`ServiceGroupConfig`], [`DriverKind`] |
//! | `INITIAL_REPORTING_DELAY` | [`INITIAL_REPORTING_DELAY`] |
//!
//! The liveness rules, the 2.5× rule, failure handling and the differences from nova are
//! documented on [`ServiceGroup`], where rustdoc shows them.

mod config;
mod group;
mod heartbeat;
#[cfg(feature = "memcached")]
mod memcached;
mod memory;
mod record;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sql;
mod store;
mod url;

pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REPORT_INTERVAL, DEFAULT_SERVICE_DOWN_TIME, DriverKind,
    INITIAL_REPORTING_DELAY, ServiceGroupConfig, WallClock,
};
pub use group::ServiceGroup;
pub use heartbeat::{Heartbeat, HeartbeatMode, HeartbeatStats, JoinOptions};
pub use record::{DownReason, NewService, ServiceFilter, ServiceRecord, ServiceStatus};
