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
//! # Liveness: who judges expiry
//!
//! A service is up when it is not forced down, has not [stopped](ServiceGroup::mark_stopped)
//! and its last heartbeat is at most `service_down_time` old, **inclusive** (as nova):
//!
//! ```text
//! service_down_time 60 s; last heartbeat at 0
//!
//!   0                        60    60.001
//!   |========== up ==========|      down ...
//!                            ^ still up at exactly 60 s
//! ```
//!
//! Only one clock ever judges the age, and it is never a service's own:
//!
//! * **SQL stores** (`db` driver): a heartbeat is one statement, `report_count =
//!   report_count + 1, last_seen_up = <the database's current time>`; the service never
//!   sends a time. Listing computes `<the database's current time> - last_seen_up` (or
//!   `- created_at` for a service that never reported) in the same query, and that age is
//!   compared with `service_down_time`. A service whose clock is ten minutes off stays up.
//!   (For SQLite the database's clock is the clock of the host that holds the file.)
//! * **memcached** (`mc` driver): a heartbeat sets the key `topic:host` with a TTL of
//!   `service_down_time`; the service is up while the key exists, and memcached's own
//!   expiry decides. The services table still lives in the SQL store.
//! * **`memory://`**: ages are measured on tokio's clock, so tests in paused time see the
//!   exact boundaries.
//!
//! Admin changes (enable, disable, force-down) bump `updated_at` but never
//! `last_seen_up`, so they cannot make a dead service look alive (nova LP#1420848).
//!
//! # The 2.5× rule
//!
//! With `service_down_time <= report_interval` a healthy service would look down between
//! two heartbeats (LP#1255685). As nova does, opening a group then logs
//!
//! ```text
//! Report interval must be less than service down time. Current config: <service_down_time: 10, report_interval: 10>. Setting service_down_time to: 25
//! ```
//!
//! and uses `int(2.5 × report_interval)`; see
//! [`ServiceGroupConfig::effective_service_down_time`].
//!
//! # Failure handling
//!
//! A heartbeat that fails is counted ([`HeartbeatStats`]) and the loop goes on; the loss
//! is logged once and the recovery once, with nova's and cinder's texts (see
//! [`Heartbeat`]). A heartbeat never retries and has its own timeout, so a store that
//! comes back is seen at the next `report_interval` (cinder LP#2018595). A row deleted
//! under a running service is recreated by its next heartbeat (cinder). A manager whose
//! [`is_working`](JoinOptions::is_working) check fails stops heartbeating, so it shows down
//! on purpose (cinder LP#1446750).
//!
//! By default the heartbeat runs on a thread of its own with its own runtime and store
//! connection ([`HeartbeatMode::Thread`]), so a periodic task that blocks its thread for
//! minutes cannot make the service look down: the eventlet problem nova and cinder
//! document, where one blocking call starves every greenthread, heartbeat included.
//!
//! Bad input is one readable error ([`ErrorKind`](crate::ErrorKind) `Invalid`, `Config`,
//! `NotFound` or `Store`), never a panic: an unknown driver name, a malformed URL, an
//! unsupported scheme, an unreachable server (after
//! [`connect_timeout`](ServiceGroupConfig::connect_timeout)), or a missing SQLite file
//! for [`open_existing`](ServiceGroup::open_existing).
//!
//! # Differences from nova
//!
//! * nova's `db` driver compares `last_seen_up`, written with the conductor's clock, with
//!   the API host's `utcnow()`, and takes `abs()` of the difference so that a timestamp
//!   from the future (clock skew) also reads as down. Here the database computes the age
//!   with its own clock against timestamps it wrote itself, so there is no skew to guard
//!   against and no `abs()`.
//! * A graceful stop is visible at once ([`ServiceGroup::mark_stopped`],
//!   [`DownReason::Stopped`]); nova shows a stopped service as up until
//!   `service_down_time` has passed.
//! * `list` says *why* a service is down ([`DownReason`]), the heartbeat's age and the
//!   threshold used.
//! * The heartbeat runs on its own thread by default (see above), and fails fast instead
//!   of going through a conductor RPC or oslo.db's retry loop.
//! * A deleted row is recreated by the running service as cinder does; nova only logs
//!   that the record is gone.
//! * Recovery from a store outage is logged at INFO (cinder logs `Recovered model server
//!   connection!` at ERROR).

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
