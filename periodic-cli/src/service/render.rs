//! How `periodic service` prints services: OpenStackClient's table, nova-manage's
//! fixed-width layout, or JSON.

use periodic::{DownReason, ServiceStatus};
use serde::Serialize;

use super::time::{Utc, json_seconds, seconds};
use crate::table::Table;

/// The output format of `list` and of the commands that change a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A boxed table, as `openstack compute service list`.
    Table,
    /// JSON with every field (keys documented in `periodic service list --help`).
    Json,
    /// nova-manage's `service list`: fixed-width columns, `:-)` up and `XXX` down.
    Legacy,
}

const COLUMNS: [&str; 7] = [
    "ID",
    "Binary",
    "Host",
    "Zone",
    "Status",
    "State",
    "Updated At",
];
const LONG_COLUMNS: [&str; 7] = [
    "Disabled Reason",
    "Forced Down",
    "Last Heartbeat",
    "Down Threshold",
    "Down Reason",
    "Clock Skew",
    "Membership",
];

/// OpenStackClient's table, its header alone when there is no service; `long` adds Disabled Reason and Forced Down (as `--long`
/// does) and the evidence for the state: the heartbeat's age, the `service_down_time`
/// used, why the service is down, the service's clock skew against the store at its
/// last report (`+600.0s`: its clock is ahead) and what keeps it a member, in the
/// driver's words (`etcd`: the lease and the key's revision; `zk`: the session and the
/// node's version). `-` where there is no figure.
pub(crate) fn table(services: &[ServiceStatus], long: bool) -> String {
    let headers: Vec<&str> = if long {
        COLUMNS.iter().chain(LONG_COLUMNS.iter()).copied().collect()
    } else {
        COLUMNS.to_vec()
    };
    let mut table = Table::new(&headers).right(&["ID"]);
    for s in services {
        let r = &s.record;
        let mut row = vec![
            r.id.to_string(),
            r.binary.clone(),
            r.host.clone(),
            r.zone().to_owned(),
            s.status().to_owned(),
            s.state().to_owned(),
            s.updated_time
                .map_or_else(|| "None".to_owned(), |t| Utc::from_system(t).nova()),
        ];
        if long {
            row.extend([
                r.disabled_reason
                    .clone()
                    .unwrap_or_else(|| "None".to_owned()),
                python_bool(r.forced_down).to_owned(),
                s.heartbeat_age.map_or_else(
                    || "-".to_owned(),
                    |age| format!("{:.1}s ago", age.as_secs_f64()),
                ),
                seconds(s.service_down_time),
                s.down_reason
                    .map_or_else(|| "None".to_owned(), |d| d.as_str().to_owned()),
                s.clock_skew
                    .map_or_else(|| "-".to_owned(), |skew| skew.to_string()),
                s.membership.clone().unwrap_or_else(|| "-".to_owned()),
            ]);
        }
        table.push(row);
    }
    // The header even without a service, as the legacy format prints it: an empty
    // output read like a failure (cliff prints nothing without `--print-empty`).
    table.render_with_header()
}

fn python_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// nova-manage's `service list` (removed in Newton): `"%-16s %-36s %-16s %-10s %-5s
/// %-10s"` with a header line, State `:-)` or `XXX`, Updated_At as Python prints a
/// datetime (`None` when never updated). Lines keep the format's trailing padding.
pub(crate) fn legacy(services: &[ServiceStatus]) -> String {
    let line = |cells: [&str; 6]| {
        format!(
            "{:<16} {:<36} {:<16} {:<10} {:<5} {:<10}\n",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
        )
    };
    let mut out = line(["Binary", "Host", "Zone", "Status", "State", "Updated_At"]);
    for s in services {
        let r = &s.record;
        let updated = s
            .updated_time
            .map_or_else(|| "None".to_owned(), |t| Utc::from_system(t).python());
        out.push_str(&line([
            &r.binary,
            &r.host,
            r.zone(),
            s.status(),
            if s.is_up() { ":-)" } else { "XXX" },
            &updated,
        ]));
    }
    out
}

/// One service in `--format json`. The keys are stable; new keys may be added.
#[derive(Debug, Serialize)]
pub(crate) struct ServiceJson {
    /// The row id.
    id: i64,
    /// The row's UUID (nova API 2.53+).
    uuid: String,
    binary: String,
    host: String,
    topic: String,
    /// The availability zone, or nova's default for the topic (`nova` for compute,
    /// `internal` otherwise), as `/os-services` shows it.
    zone: String,
    /// `enabled` or `disabled`.
    status: &'static str,
    /// `up` or `down`.
    state: &'static str,
    /// What nova shows as `updated_at` (RFC 3339, UTC), or null.
    updated_at: Option<String>,
    disabled_reason: Option<String>,
    forced_down: bool,
    /// Stopped gracefully (down at once).
    stopped: bool,
    /// Heartbeats written to the database.
    report_count: i64,
    /// The database's time of the last heartbeat (RFC 3339), or null.
    last_seen_up: Option<String>,
    created_at: String,
    /// Seconds since the last heartbeat (since `created_at` when it never reported), by
    /// the store's clock, to the microsecond; null for the `mc` driver.
    heartbeat_age: Option<f64>,
    /// The `service_down_time` the judgement used, in seconds (after nova's 2.5× rule).
    service_down_time: f64,
    /// Why it is down: `forced_down`, `stopped`, `no_heartbeat`, `never_reported`;
    /// null when up.
    down_reason: Option<&'static str>,
    /// The service's clock minus the store's at its last report, in seconds (positive:
    /// ahead), to the microsecond; null without a figure.
    clock_skew: Option<f64>,
    /// What keeps it a member, in the driver's words (`lease 694d... rev 42` for etcd,
    /// `session 0x... version 7` for zk); null for the other drivers.
    membership: Option<String>,
}

impl From<&ServiceStatus> for ServiceJson {
    fn from(s: &ServiceStatus) -> Self {
        let r = &s.record;
        let time = |t: std::time::SystemTime| Utc::from_system(t).rfc3339();
        ServiceJson {
            id: r.id,
            uuid: r.uuid.clone(),
            binary: r.binary.clone(),
            host: r.host.clone(),
            topic: r.topic.clone(),
            zone: r.zone().to_owned(),
            status: s.status(),
            state: s.state(),
            updated_at: s.updated_time.map(time),
            disabled_reason: r.disabled_reason.clone(),
            forced_down: r.forced_down,
            stopped: r.stopped,
            report_count: r.report_count,
            last_seen_up: r.last_seen_up.map(time),
            created_at: time(r.created_at),
            heartbeat_age: s.heartbeat_age.map(json_seconds),
            service_down_time: json_seconds(s.service_down_time),
            down_reason: s.down_reason.map(down_reason_key),
            clock_skew: s.clock_skew.map(periodic::ClockSkew::as_secs_f64),
            membership: s.membership.clone(),
        }
    }
}

pub(crate) fn down_reason_key(reason: DownReason) -> &'static str {
    match reason {
        DownReason::ForcedDown => "forced_down",
        DownReason::Stopped => "stopped",
        DownReason::NoHeartbeat => "no_heartbeat",
        DownReason::NeverReported => "never_reported",
        _ => "down",
    }
}

/// A JSON array of [`ServiceJson`], pretty-printed, with a trailing newline.
pub(crate) fn json_list(services: &[ServiceStatus]) -> String {
    let items: Vec<ServiceJson> = services.iter().map(ServiceJson::from).collect();
    let mut out = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    out.push('\n');
    out
}

/// One [`ServiceJson`] object, pretty-printed, with a trailing newline.
pub(crate) fn json_one(service: &ServiceStatus) -> String {
    let mut out =
        serde_json::to_string_pretty(&ServiceJson::from(service)).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}
