//! Services: a manager's periodic tasks on a timer, a heartbeat in a service group, hooks,
//! graceful shutdown on SIGTERM/SIGINT (oslo.service's `Service` and nova's
//! `service.Service`).
//!
//! Signals, once [`RunningService::run_until_signal`] runs (none of them ends the
//! process with its record `up`):
//!
//! | signal | effect |
//! |--------|--------|
//! | SIGTERM, SIGINT, SIGQUIT | graceful stop; a second one ends the stop at once |
//! | SIGHUP | re-reads the configuration file ([`RunningService::reload`]): new task spacings apply from the next pass, other changed options are named as needing a restart, an invalid file keeps the old configuration |
//! | SIGUSR1 | a state dump in the log: heartbeat counters, one line per periodic task |

mod builder;
mod instance;
mod manager;
mod options;
mod reload;
mod running;

pub use builder::{Service, ServiceBuilder};
pub use manager::Manager;
pub use options::{DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT, DEFAULT_PERIODIC_FUZZY_DELAY, default_host};
pub use reload::{Reload, ReloadReport, Reloaded};
pub use running::{RunningService, Stopped};
