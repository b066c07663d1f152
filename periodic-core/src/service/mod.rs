//! Services: a manager's periodic tasks on a timer, a heartbeat in a service group, hooks,
//! graceful shutdown on SIGTERM/SIGINT (oslo.service's `Service` and nova's
//! `service.Service`).

mod builder;
mod instance;
mod manager;
mod options;
mod running;

pub use builder::{Service, ServiceBuilder};
pub use manager::Manager;
pub use options::{DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT, DEFAULT_PERIODIC_FUZZY_DELAY, default_host};
pub use running::{RunningService, Stopped};
