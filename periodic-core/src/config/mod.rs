//! One configuration file for a service and the operator tools: oslo's option names in
//! TOML, overridden by environment variables, then by command-line flags.
//!
//! A [`Config`] starts from oslo's and nova's defaults ([`Config::default`]), takes the
//! values of a TOML file ([`Config::update_from_file`]), then those of the environment
//! ([`Config::update_from_env`]); a program then sets the fields its flags name. The
//! result configures a [`ServiceGroup`](crate::ServiceGroup)
//! ([`Config::servicegroup_config`], [`Config::database`]) and a
//! [`Service`](crate::Service) ([`Config::apply_to_service`]), so a service and the
//! `periodic service ...` commands read the same file the same way.
//!
//! ```text
//! defaults  <  --config FILE  <  PERIODIC_* environment  <  command-line flags
//! ```
//!
//! The file's layout, the environment variables and the differences from oslo.config are
//! documented on [`Config`].

mod env;
mod file;
mod options;
mod reload;

pub use options::{
    ApiOptions, CacheOptions, Config, DEFAULT_DATABASE_URL, DatabaseOptions, EtcdOptions,
    ZookeeperOptions,
};
pub use reload::ConfigFile;
