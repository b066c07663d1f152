//! A small nova-compute: the main job of this repository.
//!
//! It runs a `ComputeManager` as a service: the service registers itself in the services
//! table, heartbeats every `report_interval`, and runs its periodic tasks, the first of
//! which reads this host's CPUs, memory, disk and load and upserts a `compute_nodes` row,
//! as nova's `update_available_resource` does. Stop it with Ctrl-C (or SIGTERM); a second
//! signal exits at once.
//!
//! ```text
//! cargo run --example compute_manager                     # SQLite file ./periodic.db
//! cargo run --example compute_manager -- --help
//! cargo run --example compute_manager -- --config periodic.toml   # see periodic.example.toml
//! cargo run --example compute_manager --features postgres -- --db postgres://postgres@127.0.0.1/test
//! RUST_LOG=debug cargo run --example compute_manager      # heartbeats too
//! ```
//!
//! Meanwhile, `cargo run -p periodic-cli -- service list` shows it up.
//!
//! Every option can also come from a TOML file (`--config FILE` or `PERIODIC_CONFIG`,
//! oslo's names: `[DEFAULT] report_interval`, `[database] connection`,
//! `[periodic_task_spacing] _sync_power_states`, ...) and from `PERIODIC_*` environment
//! variables; flags override the environment, which overrides the file (see
//! `periodic::Config`). `periodic service ... --config FILE` reads the same file.
//!
//! With the `http` feature it can serve the HTTP API (nova's `/os-services` of its
//! database, and its own `/healthz`, `/tasks` and `/metrics`); off by default:
//!
//! ```text
//! cargo run --example compute_manager --features http -- --api-bind 127.0.0.1:8775
//! curl http://127.0.0.1:8775/healthz
//! cargo run -p periodic-cli -- service tasks --url http://127.0.0.1:8775
//! PERIODIC_API_TOKEN=s3cret cargo run --example compute_manager --features http -- --api-bind 127.0.0.1:8775
//! ```
//!
//! The tasks show every argument of `#[periodic_task]`:
//!
//! | task | arguments |
//! |---|---|
//! | `update_available_resource` | `spacing = 60, run_immediately` |
//! | `_sync_power_states` | `name = "..."`, spacing from `--sync-power-state-interval` (a configured spacing) |
//! | `_heal_instance_info_cache` | default spacing (0 → 60 s), a blocking `fn` |
//! | `_run_image_cache_manager_pass` | `external_process_ok` (skipped with `--no-external-tasks`) |
//! | `_cleanup_running_deleted_instances` | `enabled = false` |

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use periodic::{
    BoxError, Config, ConfigFile, LivenessDriver, Manager, Service, ServiceGroup, ServiceRecord,
    default_host, periodic_tasks,
};
use sysinfo::{Disks, System};

/// A small nova-compute on the `periodic` framework.
#[derive(Debug, Clone, Parser)]
#[command(name = "compute_manager", about)]
struct Args {
    /// A configuration file (TOML, oslo's option names; see periodic.example.toml).
    /// PERIODIC_* environment variables override it, and these flags override both.
    #[arg(long, env = "PERIODIC_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The host name this service registers as [default: [DEFAULT] host, or this
    /// machine's hostname].
    #[arg(long)]
    host: Option<String>,
    /// The database with the services and compute_nodes tables [default: [database]
    /// connection, $PERIODIC_DATABASE_URL, or sqlite://periodic.db].
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// The liveness driver (nova's servicegroup_driver): heartbeats in the database (db),
    /// in memcached (mc), in Redis (redis), as ZooKeeper sessions (zk) or etcd leases
    /// (etcd) [default: [DEFAULT] servicegroup_driver, or db].
    #[arg(long, value_parser = PossibleValuesParser::new(LivenessDriver::names())
        .try_map(|name| name.parse::<LivenessDriver>()))]
    driver: Option<LivenessDriver>,
    /// memcached servers for the mc driver (host:port, comma-separated) [default: [cache]
    /// memcache_servers, or $PERIODIC_MEMCACHED_SERVERS].
    #[arg(long, value_delimiter = ',')]
    memcached_servers: Vec<String>,
    /// The Redis server of the redis driver (redis://HOST:PORT) [default: [cache]
    /// redis_url, or $PERIODIC_REDIS_URL].
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// ZooKeeper servers for the zk driver (host:port, comma-separated) [default:
    /// [zookeeper] address, or $PERIODIC_ZOOKEEPER_SERVERS].
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT")]
    zookeeper_servers: Vec<String>,
    /// etcd endpoints for the etcd driver (host:port, comma-separated) [default: [etcd]
    /// endpoints, or $PERIODIC_ETCD_ENDPOINTS].
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT")]
    etcd_endpoints: Vec<String>,
    /// Seconds between heartbeats (nova's report_interval) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    report_interval: Option<u64>,
    /// Seconds without a heartbeat after which the service counts as down [default: 60].
    #[arg(long, value_name = "SECONDS")]
    service_down_time: Option<u64>,
    /// Seconds this host's clock may be off the store's before the service logs a warning
    /// (once, and once when back within it); 0 never warns [default: 5].
    #[arg(long, value_name = "SECONDS")]
    clock_skew_warning: Option<u64>,
    /// Random delay before the first pass over the periodic tasks, up to this many seconds
    /// (nova's periodic_fuzzy_delay) [default: 5 here; nova's is 60].
    #[arg(long, value_name = "SECONDS")]
    periodic_fuzzy_delay: Option<u64>,
    /// Spacing of _sync_power_states in seconds; negative disables it (nova's
    /// sync_power_state_interval) [default: [periodic_task_spacing] _sync_power_states,
    /// or the declared 600].
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
    sync_power_state_interval: Option<f64>,
    /// Do not run the tasks marked external_process_ok here.
    #[arg(long)]
    no_external_tasks: bool,
    /// The availability zone recorded for this service.
    #[arg(long, default_value = "nova")]
    availability_zone: String,
    /// Serve the HTTP API (os-services, /healthz, /tasks, /metrics, the task ledger, and
    /// the operator's page at / for a browser) on this address, e.g. 127.0.0.1:8775
    /// [default: [api] bind, or off].
    #[cfg(feature = "http")]
    #[arg(long, value_name = "ADDR")]
    api_bind: Option<std::net::SocketAddr>,
    /// The token that writes through the API need (X-Auth-Token or Authorization:
    /// Bearer); without one the API is read-only.
    #[cfg(feature = "http")]
    #[arg(
        long,
        env = "PERIODIC_API_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    api_auth_token: Option<String>,
    /// Let anyone write through the API, and allow a non-loopback --api-bind, without a
    /// token.
    #[cfg(feature = "http")]
    #[arg(long, conflicts_with = "api_auth_token")]
    insecure_no_auth: bool,
}

/// nova's `RequestContext`, one per pass.
#[derive(Debug)]
struct RequestContext {
    request_id: String,
}

struct ComputeManager {
    host: String,
    db: sqlx::AnyPool,
    postgres: bool,
    system: Mutex<System>,
    requests: AtomicU64,
}

impl Manager for ComputeManager {
    type Context = RequestContext;

    fn context(&self) -> RequestContext {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        RequestContext {
            request_id: format!("req-{n:08}"),
        }
    }

    async fn init_host(&self) -> Result<(), BoxError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS compute_nodes (
                 host VARCHAR(255) NOT NULL PRIMARY KEY,
                 vcpus BIGINT NOT NULL,
                 memory_mb BIGINT NOT NULL,
                 memory_mb_used BIGINT NOT NULL,
                 local_gb BIGINT NOT NULL,
                 local_gb_used BIGINT NOT NULL,
                 cpu_load DOUBLE PRECISION NOT NULL,
                 running_processes BIGINT NOT NULL,
                 updated_at BIGINT NOT NULL
             )",
        )
        .execute(&self.db)
        .await?;
        tracing::info!(host = %self.host, "init_host: compute_nodes table ready");
        Ok(())
    }

    async fn pre_start_hook(&self, service: &ServiceRecord) -> Result<(), BoxError> {
        tracing::info!(
            id = service.id,
            host = %service.host,
            report_count = service.report_count,
            "pre_start_hook: service record {} loaded",
            service.uuid
        );
        Ok(())
    }
}

/// What `update_available_resource` reads off the host.
#[derive(Debug)]
struct Resources {
    vcpus: i64,
    memory_mb: i64,
    memory_mb_used: i64,
    local_gb: i64,
    local_gb_used: i64,
    cpu_load: f64,
    running_processes: i64,
}

fn mib(bytes: u64) -> i64 {
    i64::try_from(bytes / (1024 * 1024)).unwrap_or(i64::MAX)
}

fn gib(bytes: u64) -> i64 {
    i64::try_from(bytes / (1024 * 1024 * 1024)).unwrap_or(i64::MAX)
}

impl ComputeManager {
    fn read_resources(&self) -> Resources {
        let mut system = self
            .system
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        system.refresh_memory();
        system.refresh_cpu_usage();
        system.refresh_processes(sysinfo::ProcessesToUpdate::All, true);
        let disks = Disks::new_with_refreshed_list();
        // The root file system, as nova's local_gb is the instances' disk.
        let (total, available) = disks
            .iter()
            .find(|d| d.mount_point() == std::path::Path::new("/"))
            .or_else(|| disks.iter().next())
            .map_or((0, 0), |d| (d.total_space(), d.available_space()));
        Resources {
            vcpus: i64::try_from(system.cpus().len()).unwrap_or(i64::MAX),
            memory_mb: mib(system.total_memory()),
            memory_mb_used: mib(system.used_memory()),
            local_gb: gib(total),
            local_gb_used: gib(total.saturating_sub(available)),
            cpu_load: System::load_average().one,
            running_processes: i64::try_from(system.processes().len()).unwrap_or(i64::MAX),
        }
    }

    /// `?` placeholders, or `$1, $2, ...` for PostgreSQL.
    fn sql(&self, text: &str) -> String {
        if !self.postgres {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len() + 8);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    async fn upsert(&self, r: &Resources) -> Result<(), sqlx::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let update = self.sql(
            "UPDATE compute_nodes SET vcpus = ?, memory_mb = ?, memory_mb_used = ?, local_gb = ?, \
             local_gb_used = ?, cpu_load = ?, running_processes = ?, updated_at = ? WHERE host = ?",
        );
        let updated = sqlx::query(&update)
            .bind(r.vcpus)
            .bind(r.memory_mb)
            .bind(r.memory_mb_used)
            .bind(r.local_gb)
            .bind(r.local_gb_used)
            .bind(r.cpu_load)
            .bind(r.running_processes)
            .bind(now)
            .bind(&self.host)
            .execute(&self.db)
            .await?;
        if updated.rows_affected() == 0 {
            let insert = self.sql(
                "INSERT INTO compute_nodes (host, vcpus, memory_mb, memory_mb_used, local_gb, \
                 local_gb_used, cpu_load, running_processes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            );
            sqlx::query(&insert)
                .bind(&self.host)
                .bind(r.vcpus)
                .bind(r.memory_mb)
                .bind(r.memory_mb_used)
                .bind(r.local_gb)
                .bind(r.local_gb_used)
                .bind(r.cpu_load)
                .bind(r.running_processes)
                .bind(now)
                .execute(&self.db)
                .await?;
        }
        Ok(())
    }
}

#[periodic_tasks]
impl ComputeManager {
    /// nova: `@periodic_task.periodic_task(spacing=CONF.update_resources_interval,
    /// run_immediately=True)`.
    #[periodic_task(spacing = 60, run_immediately)]
    async fn update_available_resource(&self, ctx: &RequestContext) -> Result<(), sqlx::Error> {
        let r = self.read_resources();
        self.upsert(&r).await?;
        tracing::info!(
            request_id = %ctx.request_id,
            vcpus = r.vcpus,
            memory_mb = r.memory_mb,
            memory_mb_used = r.memory_mb_used,
            local_gb = r.local_gb,
            local_gb_used = r.local_gb_used,
            cpu_load = r.cpu_load,
            "update_available_resource: {} vCPUs, {}/{} MiB RAM used, {}/{} GiB disk used, load {:.2}",
            r.vcpus,
            r.memory_mb_used,
            r.memory_mb,
            r.local_gb_used,
            r.local_gb,
            r.cpu_load
        );
        Ok(())
    }

    /// nova: `@periodic_task.periodic_task(spacing=CONF.sync_power_state_interval)`; the
    /// spacing here comes from `--sync-power-state-interval` (a spacing override).
    #[periodic_task(spacing = 600, name = "_sync_power_states")]
    async fn sync_power_states(&self, ctx: &RequestContext) {
        let processes = self.read_resources().running_processes;
        tracing::info!(
            request_id = %ctx.request_id,
            "_sync_power_states: {processes} processes running on this host"
        );
    }

    /// nova: `@periodic_task.periodic_task(spacing=CONF.heal_instance_info_cache_interval)`
    /// (60 by default): the default spacing, and a blocking `fn` (run on the blocking pool).
    #[periodic_task(name = "_heal_instance_info_cache")]
    #[allow(clippy::unused_self)] // a task is a method of the manager, used or not
    fn heal_instance_info_cache(&self, ctx: &RequestContext) {
        let uptime = System::uptime();
        tracing::info!(
            request_id = %ctx.request_id,
            "_heal_instance_info_cache: host up for {uptime} s, nothing to heal"
        );
    }

    /// nova: `@periodic_task.periodic_task(spacing=CONF.image_cache.manager_interval,
    /// external_process_ok=True)`.
    #[periodic_task(
        spacing = 2400,
        external_process_ok,
        name = "_run_image_cache_manager_pass"
    )]
    async fn run_image_cache_manager_pass(
        &self,
        ctx: &RequestContext,
    ) -> Result<(), std::io::Error> {
        let tmp = std::env::temp_dir();
        let entries = std::fs::read_dir(&tmp)?.count();
        tracing::info!(
            request_id = %ctx.request_id,
            "_run_image_cache_manager_pass: {entries} entries in {}",
            tmp.display()
        );
        Ok(())
    }

    /// Disabled: listed by the runner, never run.
    #[periodic_task(
        spacing = 1800,
        enabled = false,
        name = "_cleanup_running_deleted_instances"
    )]
    async fn cleanup_running_deleted_instances(&self, _ctx: &RequestContext) {}
}

/// This example's defaults < the `--config` file < `PERIODIC_*` < flags; with a file,
/// the [`ConfigFile`] that SIGHUP re-reads with the same environment and flags on top.
fn configuration(args: &Args) -> Result<(Config, Option<ConfigFile>), periodic::Error> {
    let mut base = Config::default();
    // A demo: the first pass comes sooner than nova's 60 s.
    base.periodic_fuzzy_delay = Duration::from_secs(5);
    let Some(path) = &args.config else {
        base.update_from_env()?;
        apply_flags(args, &mut base)?;
        return Ok((base, None));
    };
    let flags = args.clone();
    let file = ConfigFile::new(path)
        .base(base)
        .overrides(move |config| apply_flags(&flags, config));
    Ok((file.load()?, Some(file)))
}

/// The flags, over the file and the environment.
fn apply_flags(args: &Args, config: &mut Config) -> Result<(), periodic::Error> {
    if let Some(host) = &args.host {
        config.host = Some(host.clone());
    }
    if let Some(db) = &args.db {
        config.database.connection.clone_from(db);
    }
    if let Some(driver) = args.driver {
        config.servicegroup_driver = driver;
    }
    if !args.memcached_servers.is_empty() {
        config
            .cache
            .memcache_servers
            .clone_from(&args.memcached_servers);
    }
    if let Some(url) = &args.redis_url {
        config.cache.redis_url = Some(url.clone());
    }
    if !args.zookeeper_servers.is_empty() {
        config.zookeeper.address.clone_from(&args.zookeeper_servers);
    }
    if !args.etcd_endpoints.is_empty() {
        config.etcd.endpoints.clone_from(&args.etcd_endpoints);
    }
    if let Some(secs) = args.report_interval {
        config.report_interval = Duration::from_secs(secs);
    }
    if let Some(secs) = args.service_down_time {
        config.service_down_time = Duration::from_secs(secs);
    }
    if let Some(secs) = args.clock_skew_warning {
        config.clock_skew_warning = Duration::from_secs(secs);
    }
    if let Some(secs) = args.periodic_fuzzy_delay {
        config.periodic_fuzzy_delay = Duration::from_secs(secs);
    }
    if let Some(spacing) = args.sync_power_state_interval {
        config.periodic_task_spacing.insert(
            "_sync_power_states".to_owned(),
            periodic::Spacing::from_secs_f64(spacing)?,
        );
    }
    if args.no_external_tasks {
        config.run_external_periodic_tasks = false;
    }
    Ok(())
}

/// Why the compute manager could not run: the library's errors, and its own
/// `compute_nodes` table.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Periodic(#[from] periodic::Error),
    #[error("cannot open {url} for the compute_nodes table")]
    ComputeNodes {
        url: String,
        #[source]
        source: sqlx::Error,
    },
}

impl RunError {
    /// One line: the error and its causes, each once, as `periodic::Error::report` writes
    /// them.
    fn report(&self) -> String {
        let mut line = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(err) = cause {
            let text = err.to_string();
            if !line.ends_with(&text) {
                line = format!("{line}: {text}");
            }
            cause = err.source();
        }
        line
    }
}

async fn run(args: Args) -> Result<periodic::Stopped, RunError> {
    let (config, file) = configuration(&args)?;
    let host = config.host.clone().unwrap_or_else(default_host);
    let db_url = config.database_url();

    // Lazy: nothing is connected before the configuration is checked below.
    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(db_url)
        .map_err(|source| RunError::ComputeNodes {
            url: "the database URL".to_owned(),
            source,
        })?;
    let manager = ComputeManager {
        host: host.clone(),
        postgres: db_url.starts_with("postgres"),
        db: db.clone(),
        system: Mutex::new(System::new()),
        requests: AtomicU64::new(0),
    };
    #[cfg(feature = "http")]
    let api = args.api_bind.or(config.api.bind).map(|addr| {
        let token = args
            .api_auth_token
            .clone()
            .or(config.api.auth_token.clone());
        let auth = match (token, args.insecure_no_auth) {
            (Some(token), _) => periodic::ApiAuth::Token(token),
            (None, true) => periodic::ApiAuth::InsecureNoAuth,
            (None, false) => periodic::ApiAuth::ReadOnly,
        };
        periodic::ApiServerOptions::new(addr).auth(auth)
    });
    // host, periodic_*, run_external_periodic_tasks, graceful_shutdown_timeout and the
    // [periodic_task_spacing] overrides, as `periodic service` reads them too.
    // With --config, SIGHUP re-reads the file (the spacings change from the next pass).
    let builder = Service::builder(manager, "periodic-compute", "compute");
    let builder = match &file {
        Some(file) => file.apply_to_service(&config, builder),
        None => config.apply_to_service(builder),
    };
    let builder = builder
        .host(host.clone())
        .availability_zone(args.availability_zone);
    #[cfg(feature = "http")]
    let builder = match api {
        Some(api) => builder.api(api),
        None => builder,
    };
    // The whole configuration is checked before the store is touched: a spacing
    // override naming no task, the API's bind policy.
    builder.check()?;

    let group = ServiceGroup::open(db_url, config.servicegroup_config()).await?;
    drop(
        db.acquire()
            .await
            .map_err(|source| RunError::ComputeNodes {
                url: group.url(),
                source,
            })?,
    );
    tracing::info!(
        host = %host,
        db = %group.url(),
        driver = group.driver().as_str(),
        "starting periodic-compute"
    );
    let builder = builder.servicegroup(group);
    let running = builder.build()?.start().await?;
    #[cfg(feature = "http")]
    if let Some(addr) = running.api_addr() {
        tracing::info!(%addr, "HTTP API on http://{addr}");
    }
    Ok(running.run_until_signal().await?)
}

/// `RUST_LOG` (default `info`), with sqlx kept quiet unless `RUST_LOG` names it: sqlx
/// logs every statement, over several lines, at debug (`sqlx::query`) and PostgreSQL's
/// notices at info (`sqlx::postgres::notice`: `relation "_sqlx_migrations" already
/// exists, skipping` at every start). Slow statements still show (sqlx warns).
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let wanted = rust_log.map(str::trim).filter(|s| !s.is_empty());
    let directives = match wanted {
        Some(own) if own.contains("sqlx") => own.to_owned(),
        Some(own) => format!("{own},sqlx::query=warn,sqlx::postgres::notice=warn"),
        None => "info,sqlx::query=warn,sqlx::postgres::notice=warn".to_owned(),
    };
    tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    match run(args).await {
        // Exit at once: a blocking task still running must not hold the process.
        Ok(stopped) => std::process::exit(stopped.exit_code()),
        Err(err) => {
            eprintln!("compute_manager: {}", err.report());
            ExitCode::FAILURE
        }
    }
}
