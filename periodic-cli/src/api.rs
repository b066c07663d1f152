//! `periodic api serve`: nova's `/os-services` API over the services table, with
//! `/healthz`, `/metrics`, the task ledger and the operator's page, until SIGTERM or
//! Ctrl-C.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::store_args::StoreArgs;
use clap::Subcommand;
use periodic::{ApiAuth, ApiServer, ApiServerOptions, Config, DEFAULT_API_BIND, ServiceGroup};

use crate::error::Error;

/// `periodic api ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ApiCommand {
    /// Serve nova's os-services API (GET/PUT/DELETE /os-services), the task ledger
    /// (GET /task-ledger, POST /task-ledger/{run,pause,resume}), /healthz and /metrics
    /// over the services table, until SIGTERM or Ctrl-C. Prints `listening on
    /// http://ADDR` on stdout once it accepts connections. Open http://ADDR/ in a browser
    /// for the operator's page: services up and down, their tasks, and buttons to
    /// disable, force down, run a task now, pause and resume (with the token typed into
    /// the page); writes from another site's page are refused.
    Serve(ServeArgs),
}

/// `periodic api serve` flags. Defaults < `--config` file < `PERIODIC_*` < flags, as for
/// `periodic service`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Where the services table is (`--config`, `--db`, `--service-down-time`,
    /// `--driver`, `--memcached-servers`); the configuration file may also give `[api]
    /// bind` and `auth_token`.
    #[command(flatten)]
    store: StoreArgs,
    /// The address to listen on, IP:PORT; a non-loopback address needs a token or
    /// --insecure-no-auth [default: [api] bind, $PERIODIC_API_BIND, or 127.0.0.1:8774].
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// The token that writes (PUT, DELETE) must carry, as `X-Auth-Token: TOKEN` or
    /// `Authorization: Bearer TOKEN`; without one, writes are refused (403) [default:
    /// [api] auth_token, or $PERIODIC_API_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    auth_token: Option<String>,
    /// Allow writes without a token, and any bind address: for tests and networks that
    /// are protected otherwise.
    #[arg(long)]
    insecure_no_auth: bool,
    /// The store of the task ledger `/task-ledger` serves when it is not the services
    /// table's [default: `fleet_store` of the configuration, $PERIODIC_FLEET_STORE, or
    /// --db].
    #[arg(long, value_name = "URL")]
    fleet_store: Option<String>,
}

/// Runs `periodic api ...`; one line on stderr and exit 1 on any error.
pub(crate) fn run(command: &ApiCommand) -> ExitCode {
    let ApiCommand::Serve(args) = command;
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))
        .and_then(|runtime| runtime.block_on(serve(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("periodic api serve: {}", err.report());
            ExitCode::FAILURE
        }
    }
}

/// Defaults < `--config` file < `PERIODIC_*` < flags.
fn configuration(args: &ServeArgs) -> Result<Config, Error> {
    let mut config = args.store.configuration()?;
    if let Some(bind) = args.bind {
        config.api.bind = Some(bind);
    }
    if let Some(token) = &args.auth_token {
        config.api.auth_token = Some(token.clone());
    }
    Ok(config)
}

fn auth(config: &Config, insecure_no_auth: bool) -> Result<ApiAuth, Error> {
    match (&config.api.auth_token, insecure_no_auth) {
        (Some(_), true) => Err(Error::Usage(
            "an auth token is set (--auth-token, PERIODIC_API_TOKEN or [api] auth_token) and \
             --insecure-no-auth was given; give one or the other"
                .to_owned(),
        )),
        (Some(token), false) => Ok(ApiAuth::Token(token.clone())),
        (None, true) => Ok(ApiAuth::InsecureNoAuth),
        (None, false) => Ok(ApiAuth::ReadOnly),
    }
}

async fn serve(args: &ServeArgs) -> Result<(), Error> {
    let config = configuration(args)?;
    let options = ApiServerOptions::new(config.api.bind.unwrap_or(DEFAULT_API_BIND))
        .auth(auth(&config, args.insecure_no_auth)?);
    let group =
        ServiceGroup::open_existing(config.database_url(), config.servicegroup_config()).await?;
    let url = group.url();
    let server = match args.fleet_store.as_ref().or(config.fleet_store.as_ref()) {
        Some(store) => {
            let ledger = ServiceGroup::open_ledger(store, group.config()).await?;
            ApiServer::start_with_ledger(group, ledger, options).await?
        }
        None => ApiServer::start(group, options).await?,
    };
    let addr = server.local_addr();
    tracing::info!(%addr, db = %url, "periodic api serve: listening");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
    drop(stdout);
    let signal = wait_for_signal().await?;
    tracing::info!(signal, "periodic api serve: stopping");
    Ok(server.shutdown().await?)
}

async fn wait_for_signal() -> Result<&'static str, Error> {
    let io = Error::io("cannot install the signal handlers");
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(io)?;
        let mut int = signal(SignalKind::interrupt()).map_err(io)?;
        Ok(tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        })
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(io)?;
        Ok("Ctrl-C")
    }
}
