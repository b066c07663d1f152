//! `periodic task list`: the task ledger as the store holds it (every task's last run, on
//! the store's clock, and every fleet task's current claim), read without reaching any
//! running service; and `periodic task run|pause|resume`: the operator's controls,
//! written to the ledger, which the running services read within a second.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use periodic::{Config, LedgerEntry, ServiceGroup, TaskControl, TaskScope, ledger_json};

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
    /// --format json prints an array of the objects `GET /task-ledger` answers: the keys
    /// scope, task, fleet, spacing, next_due, slot, token, holder, lease_until, started,
    /// finished, outcome, duration, lateness, runs, failures, running, paused,
    /// paused_reason and run_requested (times RFC 3339 UTC or null, durations in
    /// seconds or null).
    List(ListArgs),
    /// Run a task once, at once: the running service (or one replica of the fleet) picks
    /// the request up within a second and runs it with a new fencing token; its regular
    /// schedule is unchanged. A paused task runs once too, and stays paused.
    Run(ControlArgs),
    /// Pause a task: it does not run (on every replica of a fleet, and after restarts)
    /// until `periodic task resume`. A run in progress is not cancelled.
    Pause(PauseArgs),
    /// Resume a paused task: it runs on its regular schedule again.
    Resume(ControlArgs),
}

/// Which task a control names.
#[derive(Debug, clap::Args)]
#[group(id = "owner", required = true, multiple = false, args = ["service", "fleet"])]
struct ControlArgs {
    /// The task's name (as `periodic task list` shows it).
    name: String,
    /// A plain task of the service with this id (`periodic service list`).
    #[arg(long, value_name = "ID")]
    service: Option<i64>,
    /// A fleet task of this fleet.
    #[arg(long, value_name = "NAME")]
    fleet: Option<String>,
}

/// `periodic task pause`.
#[derive(Debug, clap::Args)]
struct PauseArgs {
    #[command(flatten)]
    task: ControlArgs,
    /// Why, shown in `periodic task list` (at most 255 characters).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
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
    let name = match &args.command {
        TaskCommand::List(_) => "list",
        TaskCommand::Run(_) => "run",
        TaskCommand::Pause(_) => "pause",
        TaskCommand::Resume(_) => "resume",
    };
    let result = args
        .store
        .configuration()
        .map_err(Error::from)
        .and_then(|config| {
            let output = block_on(command(args, config))??;
            print(&output)
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("periodic task {name}: {}", err.report());
            ExitCode::FAILURE
        }
    }
}

/// The services table's store and the task ledger (the group's, or `--fleet-store`).
async fn open(
    fleet_store: Option<String>,
    config: &Config,
) -> Result<(ServiceGroup, std::sync::Arc<dyn periodic::TaskLedger>), Error> {
    let group =
        ServiceGroup::open_existing(config.database_url(), config.servicegroup_config()).await?;
    let fleet_store = fleet_store.or_else(|| config.fleet_store.clone());
    let ledger = match &fleet_store {
        Some(url) => ServiceGroup::open_ledger(url, group.config()).await?,
        None => group.ledger().ok_or_else(|| {
            Error::Usage(format!(
                "the store `{}` keeps no task ledger; name one with --fleet-store",
                group.url()
            ))
        })?,
    };
    Ok((group, ledger))
}

/// The scope of `--service ID` (through the services table) or `--fleet NAME`.
async fn scope_of(
    group: &ServiceGroup,
    service: Option<i64>,
    fleet: Option<&str>,
) -> Result<Option<TaskScope>, Error> {
    Ok(match (service, fleet) {
        (Some(id), _) => {
            let service = group.get(id).await?;
            Some(TaskScope::service(&service.host, &service.binary))
        }
        (None, Some(name)) => Some(TaskScope::fleet(name)?),
        (None, None) => None,
    })
}

async fn command(args: TaskArgs, config: Config) -> Result<String, Error> {
    let (group, ledger) = open(args.fleet_store, &config).await?;
    let (task, control) = match args.command {
        TaskCommand::List(list) => {
            let scope = scope_of(&group, list.service, list.fleet.as_deref()).await?;
            let entries = ledger.entries(scope.as_ref()).await?;
            return Ok(match list.format {
                Format::Table => table(&entries),
                Format::Json => json(&entries),
            });
        }
        TaskCommand::Run(task) => (task, TaskControl::RunNow),
        TaskCommand::Resume(task) => (task, TaskControl::Resume),
        TaskCommand::Pause(pause) => {
            let control = TaskControl::pause(pause.reason.as_deref())?;
            (pause.task, control)
        }
    };
    let scope = scope_of(&group, task.service, task.fleet.as_deref())
        .await?
        .expect("clap requires --service or --fleet");
    let entry = ledger.control(&scope, &task.name, &control).await?;
    Ok(match &control {
        TaskControl::Pause {
            reason: Some(reason),
        } => format!(
            "{} {} {} (reason: {reason})\n",
            control.verb(),
            entry.scope,
            entry.task
        ),
        _ => format!("{} {} {}\n", control.verb(), entry.scope, entry.task),
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
        "Paused",
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
            match (&e.paused, &e.paused_reason) {
                (false, _) => "no".to_owned(),
                (true, None) => "yes".to_owned(),
                (true, Some(reason)) => format!("yes ({reason})"),
            },
        ]);
    }
    table.render()
}

fn json(entries: &[LedgerEntry]) -> String {
    let rows: Vec<serde_json::Value> = entries.iter().map(|e| ledger_json(e, None)).collect();
    let mut text = serde_json::to_string_pretty(&rows).unwrap_or_default();
    text.push('\n');
    text
}
