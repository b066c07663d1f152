//! `periodic task list`: the task ledger as the store holds it (every task's last run, on
//! the store's clock, and every fleet task's current claim), read without reaching any
//! running service.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use periodic::{Config, LedgerEntry, ServiceGroup, TaskScope};
use serde_json::json;

use crate::error::Error;
use crate::service::time::{Utc, seconds};
use crate::service::{block_on, print};
use crate::store_args::StoreArgs;
use crate::table::Table;

/// `periodic task [OPTIONS] <COMMAND>`.
#[derive(Debug, clap::Args)]
pub(crate) struct TaskArgs {
    /// Where the services table is (and, by default, the task ledger).
    #[command(flatten)]
    store: StoreArgs,
    /// The store of the task ledger when it is not the services table's
    /// [default: `fleet_store` of the configuration, $PERIODIC_FLEET_STORE, or --db].
    #[arg(long, global = true, value_name = "URL")]
    fleet_store: Option<String>,
    #[command(subcommand)]
    command: TaskCommand,
}

#[derive(Debug, Subcommand)]
enum TaskCommand {
    /// List the ledger: per service or fleet and task, the last run's start and end (the
    /// store's clock), outcome, duration, runs and failures, and for a fleet task its
    /// holder, fencing token and whether a run is in progress.
    ///
    /// --format json prints an array of objects with the keys scope, task, started,
    /// finished (RFC 3339 UTC or null), outcome, duration (seconds or null), runs,
    /// failures, holder, token, slot, lease_until (RFC 3339 UTC or null) and running.
    List(ListArgs),
}

/// `periodic task list`.
#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only the plain tasks of the service with this id.
    #[arg(long, value_name = "ID", conflicts_with = "fleet")]
    service: Option<i64>,
    /// Only the tasks of this fleet.
    #[arg(long, value_name = "NAME")]
    fleet: Option<String>,
    /// table or json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A boxed table.
    Table,
    /// A JSON array.
    Json,
}

/// Runs the command; prints one line on stderr and exits 1 on any error.
pub(crate) fn run(args: TaskArgs) -> ExitCode {
    let result = args
        .store
        .configuration()
        .map_err(Error::from)
        .and_then(|config| {
            let output = block_on(list(args, config))??;
            print(&output)
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("periodic task list: {}", err.report());
            ExitCode::FAILURE
        }
    }
}

async fn list(args: TaskArgs, config: Config) -> Result<String, Error> {
    let TaskCommand::List(list) = args.command;
    let group =
        ServiceGroup::open_existing(config.database_url(), config.servicegroup_config()).await?;
    let fleet_store = args.fleet_store.or_else(|| config.fleet_store.clone());
    let ledger = match &fleet_store {
        Some(url) => ServiceGroup::open_ledger(url, group.config()).await?,
        None => group.ledger().ok_or_else(|| {
            Error::Usage(format!(
                "the store `{}` keeps no task ledger; name one with --fleet-store",
                group.url()
            ))
        })?,
    };
    let scope = match (list.service, &list.fleet) {
        (Some(id), _) => {
            let service = group.get(id).await?;
            Some(TaskScope::service(&service.host, &service.binary))
        }
        (None, Some(name)) => Some(TaskScope::fleet(name)?),
        (None, None) => None,
    };
    let entries = ledger.entries(scope.as_ref()).await?;
    Ok(match list.format {
        Format::Table => table(&entries),
        Format::Json => json(&entries),
    })
}

/// Store milliseconds as a UTC time.
fn at(ms: Option<i64>) -> Option<Utc> {
    let ms = ms?;
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    Some(Utc::from_system(if ms >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }))
}

fn table(entries: &[LedgerEntry]) -> String {
    let mut table = Table::new(&[
        "Scope",
        "Task",
        "Last Start",
        "Last End",
        "Outcome",
        "Duration",
        "Runs",
        "Failures",
        "Holder",
        "Token",
        "Running",
    ])
    .right(&["Duration", "Runs", "Failures", "Token"]);
    for e in entries {
        let time = |t: Option<i64>| at(t).map(Utc::nova).unwrap_or_default();
        table.push(vec![
            e.scope.to_string(),
            e.task.clone(),
            time(e.started),
            time(e.finished),
            e.outcome.clone().unwrap_or_default(),
            e.duration.map(seconds).unwrap_or_default(),
            e.runs.to_string(),
            e.failures.to_string(),
            e.holder.clone().unwrap_or_default(),
            if e.token == 0 {
                String::new()
            } else {
                e.token.to_string()
            },
            if e.is_running() { "yes" } else { "no" }.to_owned(),
        ]);
    }
    table.render()
}

fn json(entries: &[LedgerEntry]) -> String {
    let time = |t: Option<i64>| at(t).map(Utc::rfc3339);
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            json!({
                "scope": e.scope.as_str(),
                "task": e.task,
                "started": time(e.started),
                "finished": time(e.finished),
                "outcome": e.outcome,
                "duration": e.duration.map(|d| d.as_secs_f64()),
                "runs": e.runs,
                "failures": e.failures,
                "holder": e.holder,
                "token": e.token,
                "slot": e.slot,
                "lease_until": time(e.lease_until),
                "running": e.is_running(),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&rows).unwrap_or_default();
    text.push('\n');
    text
}
