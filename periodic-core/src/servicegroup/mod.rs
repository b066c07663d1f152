//! Service groups: which services exist and which are up (nova's `servicegroup` API and
//! its `db`, `mc` and `zk` drivers, with cinder's lessons on failure handling, and
//! `redis` and `etcd` drivers).
//!
//! A service loads or creates its row in the services table
//! ([`ServiceGroup::get_or_create`]), then [joins](ServiceGroup::join) the group: from
//! then on its liveness driver keeps it up (a heartbeat every `report_interval` for `db`,
//! `mc` and `redis`; a ZooKeeper session for `zk`, a lease for `etcd`). Anyone with a handle on the same store can [list](ServiceGroup::list) the
//! services, ask whether one [is up](ServiceGroup::is_up), and
//! [enable](ServiceGroup::enable), [disable](ServiceGroup::disable) or [force
//! down](ServiceGroup::set_forced_down) one.
//!
//! | nova / cinder | here |
//! |---|---|
//! | `servicegroup.API(...)` | [`ServiceGroup::open`] (a service) / [`ServiceGroup::open_existing`] (an operator command) |
//! | `API.join(host, topic, service)` | [`ServiceGroup::join`] → [`Heartbeat`] |
//! | `API.service_is_up(member)` | [`ServiceGroup::is_up`] |
//! | `API.get_updated_time(member)` | [`ServiceGroup::updated_time`] |
//! | `_report_state` / cinder `report_state` | [`Heartbeat`] (the loop), [`ServiceGroup::report_state`] (one report) |
//! | `service-list` | [`ServiceGroup::list`] → [`ServiceStatus`] |
//! | `report_interval`, `service_down_time`, `servicegroup_driver` | [`ServiceGroupConfig`], [`LivenessDriver`] |
//! | `INITIAL_REPORTING_DELAY` | [`INITIAL_REPORTING_DELAY`] |
//! | a servicegroup driver (`nova.servicegroup.drivers.base.Driver`) | [`Liveness`] over [`ServiceRecords`] |
//!
//! The liveness rules, the 2.5× rule, failure handling and the differences from nova are
//! documented on [`ServiceGroup`], where rustdoc shows them.
//!
//! # Inside: two contracts and a registry
//!
//! A group is a [`ServiceRecords`] store (the services table: `memory://`, or SQLite,
//! PostgreSQL, MySQL) and a [`Liveness`] driver (`db`, `mc`, `redis`, `zk`, `etcd`), each a small object-safe
//! trait. `registry.rs` maps a URL scheme and a driver name to their implementations;
//! [`ServiceGroup::with_backends`] takes implementations from outside the crate.
//!
//! A third capability, the runner's [`TaskLedger`](crate::TaskLedger) (fleet claims with
//! fencing tokens, and every task's last run), is kept by the same stores
//! ([`ServiceRecords::ledger`]: `memory_ledger.rs`, `sql/ledger.rs`) or by a store that
//! keeps only a ledger (`redis_ledger.rs`, feature `redis`, in the registry's `LEDGERS`).
//! The stores implement the runner's trait; the runner never imports them, the service
//! hands its runner the group's ledger. The files import downwards only:
//!
//! ```text
//! group ─► registry ─► memory, sql/ (ServiceRecords)   db, memcached, redis, zookeeper, etcd (Liveness)
//!                                  │                         │  ├─► heartbeat (the report loop)
//!                                  │                         │  ├─► zookeeper_watch, etcd_watch (Liveness::watch)
//!                                  │                         │  └─► etcd_clock (etcd's HTTP Date, for etcd)
//!                                  ▼                         ▼
//!                  records, liveness, membership (the contracts and the Heartbeat handle)
//!                                  ▼
//!                  shared (Fetched, OpenMode, uuids, common errors), record, config, url
//!                                  ▼
//!                  skew (ClockSkew and the once-each-way warning)
//! ```
//!
//! `text.rs` checks the text a row stores (NUL, 255 characters) in `group`, before any
//! store sees it, so that every store refuses the same input with the same error.

mod config;
mod db;
mod etcd;
mod etcd_clock;
mod etcd_watch;
mod group;
mod heartbeat;
mod liveness;
mod membership;
mod memcached;
mod memory;
mod memory_ledger;
mod record;
mod records;
mod redis;
mod redis_ledger;
mod registry;
mod shared;
mod skew;
mod sql;
mod text;
pub(crate) mod url;
mod zookeeper;
mod zookeeper_watch;

pub use config::{
    DEFAULT_CLOCK_SKEW_WARNING, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REPORT_INTERVAL,
    DEFAULT_SERVICE_DOWN_TIME, INITIAL_REPORTING_DELAY, LivenessDriver, ServiceGroupConfig,
    WallClock,
};
pub use group::ServiceGroup;
pub use liveness::{Liveness, OutageTexts};
pub use membership::{Heartbeat, HeartbeatMode, HeartbeatStats, JoinOptions, Membership};
pub use memory_ledger::MemoryLedger;
pub use record::{DownReason, NewService, ServiceFilter, ServiceRecord, ServiceStatus};
pub use records::ServiceRecords;
pub use shared::Fetched;
pub use skew::ClockSkew;
