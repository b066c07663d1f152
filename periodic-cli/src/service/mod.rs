//! `periodic service ...`: what operators know from `openstack compute service list` and
//! `nova-manage service list`, over the services table of a
//! [`ServiceGroup`](periodic::ServiceGroup), and the periodic tasks of a running service
//! through its HTTP API.
//!
//! | file | what |
//! |---|---|
//! | `args.rs` | the flags (clap) |
//! | `commands.rs` | configuration (file < environment < flags), the store, each command |
//! | `render.rs` | table (OpenStackClient), legacy (nova-manage), JSON |
//! | `tasks.rs` | `tasks`: `GET {url}/tasks` and its table |
//! | `time.rs` | UTC timestamps and short durations |
//! | `watch.rs` | `watch`: one line per change of a service's state |
//!
//! The store is opened with [`ServiceGroup::open_existing`](periodic::ServiceGroup::open_existing):
//! a missing SQLite file is an error, never an empty database made by accident.

mod args;
mod commands;
mod render;
mod tasks;
pub(crate) mod time;
mod watch;

pub(crate) use args::ServiceArgs;
pub(crate) use commands::{block_on, print, run};
