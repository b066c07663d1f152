//! Running `periodic service ...`: the configuration, the store, the command.

use std::future::Future;
use std::io::Write as _;
use std::process::ExitCode;

use periodic::{Config, ServiceFilter, ServiceGroup, ServiceStatus};

use crate::error::Error;

use super::args::{ChangeArgs, SelectArgs, ServiceArgs, ServiceCommand};
use super::render::{self, Format};

/// Runs the command; prints one line on stderr and exits 1 on any error.
pub(crate) fn run(args: ServiceArgs) -> ExitCode {
    let name = match &args.command {
        ServiceCommand::List(_) => "list",
        ServiceCommand::Enable(_) => "enable",
        ServiceCommand::Disable(_) => "disable",
        ServiceCommand::ForceDown(_) => "force-down",
        ServiceCommand::Delete(_) => "delete",
        ServiceCommand::Tasks(_) => "tasks",
        ServiceCommand::Watch(_) => "watch",
    };
    let result = configuration(&args).and_then(|config| {
        if let ServiceCommand::Watch(watch) = &args.command {
            // Prints as it goes, rather than once at the end.
            return block_on(super::watch::run(watch, &config))?;
        }
        let output = block_on(execute(args.command, config))??;
        print(&output)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("periodic service {name}: {}", err.report());
            ExitCode::FAILURE
        }
    }
}

/// Defaults < `--config` file < `PERIODIC_*` < flags.
fn configuration(args: &ServiceArgs) -> Result<Config, Error> {
    Ok(args.store.configuration()?)
}

pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    Ok(runtime.block_on(future))
}

pub(crate) fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write the output")(e))
        }
        _ => Ok(()),
    }
}

async fn open(config: &Config) -> Result<ServiceGroup, periodic::Error> {
    ServiceGroup::open_existing(config.database_url(), config.servicegroup_config()).await
}

async fn execute(command: ServiceCommand, config: Config) -> Result<String, Error> {
    match command {
        ServiceCommand::List(args) => {
            let group = open(&config).await?;
            let mut filter = ServiceFilter::all();
            if let Some(host) = args.host {
                filter = filter.host(host);
            }
            if let Some(binary) = args.binary {
                filter = filter.binary(binary);
            }
            let services = group.list(&filter).await?;
            group.close().await;
            Ok(match args.format {
                Format::Table => render::table(&services, args.long),
                Format::Json => render::json_list(&services),
                Format::Legacy => render::legacy(&services),
            })
        }
        ServiceCommand::Enable(args) => {
            change(&config, &args, |group, id| async move {
                group.enable(id).await.map(drop)
            })
            .await
        }
        ServiceCommand::Disable(args) => {
            let reason = args.reason;
            change(&config, &args.change, |group, id| async move {
                group.disable(id, reason.as_deref()).await.map(drop)
            })
            .await
        }
        ServiceCommand::ForceDown(args) => {
            let forced = !args.unset;
            change(&config, &args.change, |group, id| async move {
                group.set_forced_down(id, forced).await.map(drop)
            })
            .await
        }
        ServiceCommand::Delete(select) => {
            let group = open(&config).await?;
            let id = resolve(&group, &select).await?;
            group.delete(id).await?;
            group.close().await;
            Ok(String::new())
        }
        ServiceCommand::Tasks(args) => {
            let token = args.auth_token.clone().or(config.api.auth_token);
            super::tasks::run(&args, token.as_deref()).await
        }
        ServiceCommand::Watch(args) => super::watch::run(&args, &config)
            .await
            .map(|()| String::new()),
    }
}

/// Finds the service, applies `apply`, and renders the service as it is afterwards.
async fn change<F, Fut>(config: &Config, args: &ChangeArgs, apply: F) -> Result<String, Error>
where
    F: FnOnce(ServiceGroup, i64) -> Fut,
    Fut: Future<Output = Result<(), periodic::Error>>,
{
    let group = open(config).await?;
    let id = resolve(&group, &args.select).await?;
    apply(group.clone(), id).await?;
    let status = group.status(id).await?;
    group.close().await;
    Ok(one(&status, args.format))
}

async fn resolve(group: &ServiceGroup, select: &SelectArgs) -> Result<i64, Error> {
    match (select.id, &select.host, &select.binary) {
        (Some(id), _, _) => Ok(group.get(id).await?.id),
        (None, Some(host), Some(binary)) => Ok(group.find(host, binary).await?.id),
        // clap requires --id or both --host and --binary.
        _ => Err(Error::Usage(
            "name the service with --host and --binary, or with --id".to_owned(),
        )),
    }
}

fn one(status: &ServiceStatus, format: Format) -> String {
    let services = std::slice::from_ref(status);
    match format {
        Format::Table => render::table(services, true),
        Format::Json => render::json_one(status),
        Format::Legacy => render::legacy(services),
    }
}
