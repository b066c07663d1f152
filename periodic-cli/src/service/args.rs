//! The flags of `periodic service ...`.

use clap::{Subcommand, ValueEnum};

use super::render::Format;
use crate::store_args::StoreArgs;

/// `periodic service [OPTIONS] <COMMAND>`: the options shared by every command (they may
/// also be given after the command).
#[derive(Debug, clap::Args)]
pub(crate) struct ServiceArgs {
    /// Where the services table is and how liveness is judged.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: ServiceCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// List the services with their state (`openstack compute service list`).
    ///
    /// State is up when the service is not forced down, has not stopped, and its last
    /// heartbeat is at most service_down_time old by the database's clock.
    ///
    /// --format json prints an array of objects with the keys id, uuid, binary, host,
    /// topic, zone, status (enabled|disabled), state (up|down), updated_at,
    /// disabled_reason, forced_down, stopped, report_count, last_seen_up, created_at
    /// (times RFC 3339 UTC or null), heartbeat_age and service_down_time (seconds),
    /// down_reason (forced_down|stopped|no_heartbeat|never_reported, or null when up),
    /// clock_skew (the service's clock minus the store's at its last report, seconds, or
    /// null) and membership (etcd: lease and revision; zk: session and node version; or
    /// null).
    List(ListArgs),
    /// Enable a service: the scheduler may use it again; clears the disabled reason.
    Enable(ChangeArgs),
    /// Disable a service: the scheduler skips it. Its heartbeat and state are unchanged.
    Disable(DisableArgs),
    /// Force a service down whatever its heartbeat says (nova's forced_down), or with
    /// --unset let its heartbeat decide again.
    ForceDown(ForceDownArgs),
    /// Delete a service's row. A service still running recreates it at its next heartbeat.
    Delete(SelectArgs),
    /// The periodic tasks of a running service, through its HTTP API (GET URL/tasks).
    Tasks(TasksArgs),
    /// Print one line per change of a service's state as it happens: up -> down (with the
    /// reason), down -> up, disabled, enabled, forced down and back, new, deleted.
    ///
    /// The store judges, as for `list`: the services are listed every --interval, and at
    /// once when the zk or etcd driver's watch says a node or key changed, and compared
    /// with the previous list. --format json prints one object per line with the
    /// keys time, id, binary, host, event (up|down|disabled|enabled|forced_down|unforced|
    /// new|deleted), state (up|down, null when deleted), down_reason, disabled_reason and
    /// heartbeat_age (seconds, where the driver knows it). Ends on Ctrl-C, after --count
    /// changes or after --duration seconds.
    Watch(WatchArgs),
}

/// `periodic service watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// Only services on this host.
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Only services of this binary, e.g. periodic-compute.
    #[arg(long)]
    pub(crate) binary: Option<String>,
    /// text (one line per change), or json (one object per line).
    #[arg(long, value_enum, default_value_t = WatchFormat::Text)]
    pub(crate) format: WatchFormat,
    /// Seconds between two polls [default: report_interval / 5, between 0.1 and 2]; with
    /// zk or etcd the watch lists in between, as changes happen.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) interval: Option<f64>,
    /// Exit after this many changes.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
    /// Exit after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
}

/// The output of `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WatchFormat {
    /// `TIME BINARY@HOST (id N): EVENT (details)`.
    Text,
    /// One JSON object per line.
    Json,
}

/// `periodic service list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Only services on this host.
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Only services of this binary, e.g. periodic-compute.
    #[arg(long)]
    pub(crate) binary: Option<String>,
    /// table (openstack), json, or legacy (nova-manage's layout with :-) and XXX).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Also show Disabled Reason, Forced Down, the last heartbeat's age, the down
    /// threshold used, why a service is down, its clock skew against the store at its last
    /// report, and what keeps it a member (etcd: lease and revision; zk: session and node
    /// version).
    #[arg(long)]
    pub(crate) long: bool,
}

/// Which service: by host and binary, or by id.
#[derive(Debug, clap::Args)]
pub(crate) struct SelectArgs {
    /// The service's host (with --binary).
    #[arg(long, requires = "binary", required_unless_present = "id")]
    pub(crate) host: Option<String>,
    /// The service's binary (with --host).
    #[arg(long, requires = "host", required_unless_present = "id")]
    pub(crate) binary: Option<String>,
    /// The service's id (instead of --host and --binary).
    #[arg(long, conflicts_with_all = ["host", "binary"])]
    pub(crate) id: Option<i64>,
}

/// `enable`: which service, and how to print it afterwards.
#[derive(Debug, clap::Args)]
pub(crate) struct ChangeArgs {
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// How to print the service afterwards: table, json or legacy.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

/// `disable`.
#[derive(Debug, clap::Args)]
pub(crate) struct DisableArgs {
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
    /// Why (shown as Disabled Reason).
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// `force-down`.
#[derive(Debug, clap::Args)]
pub(crate) struct ForceDownArgs {
    #[command(flatten)]
    pub(crate) change: ChangeArgs,
    /// Clear forced_down instead of setting it.
    #[arg(long)]
    pub(crate) unset: bool,
}

/// `tasks`.
#[derive(Debug, clap::Args)]
pub(crate) struct TasksArgs {
    /// The running service's HTTP API (its --api-bind address).
    #[arg(long, default_value = "http://127.0.0.1:8774", value_name = "URL")]
    pub(crate) url: String,
    /// A token to send as X-Auth-Token [default: `[api] auth_token` of the configuration,
    /// or $PERIODIC_API_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub(crate) auth_token: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub(crate) timeout: f64,
    /// table, or json (the API's answer as is).
    #[arg(long, value_enum, default_value_t = TasksFormat::Table)]
    pub(crate) format: TasksFormat,
}

/// The output of `tasks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TasksFormat {
    /// A boxed table.
    Table,
    /// The API's JSON.
    Json,
}
