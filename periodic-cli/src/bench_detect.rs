//! `periodic bench detect`: how long after a `kill -9` a service shows down, per
//! liveness driver.
//!
//! It starts `--services` services: `--kills` of them each in a process of its own
//! (`periodic bench detect-replica`, hidden), the others in this process. When all are
//! up and have reported for two intervals, it kills the replicas with SIGKILL at one
//! known instant and lists the services every 50 ms, as `service list` would (the store
//! judges), until each killed one shows down. A service of this process seen down at any
//! list is a false down.
//!
//! Replicas end by themselves when this process goes away (their stdin closes), so a
//! failed run leaves nothing behind.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use periodic::{
    Heartbeat, HeartbeatMode, JoinOptions, NewService, ServiceFilter, ServiceGroup,
    ServiceGroupConfig, ServiceStatus,
};
use serde::Serialize;
use tokio::time::Instant;

use crate::error::Error;
use crate::store_args::StoreArgs;

/// Arguments of `periodic bench detect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The store, the driver and its servers (as for `periodic service`).
    #[command(flatten)]
    store: StoreArgs,
    /// How many services in all.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    services: u64,
    /// How many of them run in processes of their own, killed with SIGKILL.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=200))]
    kills: u64,
    /// Seconds between two heartbeats [default: service_down_time / 5].
    #[arg(long, value_name = "SECONDS")]
    report_interval: Option<f64>,
}

/// Arguments of the hidden `periodic bench detect-replica`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplicaArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The replica's host name.
    #[arg(long)]
    host: String,
    /// The services' binary.
    #[arg(long)]
    binary: String,
    /// Milliseconds between two heartbeats.
    #[arg(long)]
    report_interval_ms: u64,
}

/// What `bench detect` prints, one JSON object.
#[derive(Debug, Serialize)]
#[allow(clippy::struct_field_names)] // the JSON keys: `_s` names the unit, seconds
pub(crate) struct Report {
    driver: &'static str,
    services: u64,
    kills: u64,
    detect_p50_s: f64,
    detect_max_s: f64,
    false_down: u64,
    detect_min_s: f64,
    service_down_time_s: f64,
    report_interval_s: f64,
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))
}

/// The group's configuration: the flags, with `report_interval` set.
fn group_config(
    store: &StoreArgs,
    report_interval: Option<Duration>,
) -> Result<(String, ServiceGroupConfig, Duration), Error> {
    let mut config = store.configuration()?;
    if store.service_down_time.is_none() {
        config.service_down_time = Duration::from_secs(10);
    }
    let interval = report_interval.unwrap_or(config.service_down_time / 5);
    config.report_interval = interval;
    Ok((
        config.database_url().to_owned(),
        config.servicegroup_config(),
        interval,
    ))
}

/// The replica: joins, says `ready`, and heartbeats until killed or until its parent
/// goes away.
pub(crate) fn replica(args: &ReplicaArgs) -> Result<(), Error> {
    let interval = Duration::from_millis(args.report_interval_ms.max(1));
    let (url, config, _) = group_config(&args.store, Some(interval))?;
    runtime()?.block_on(async {
        let group = ServiceGroup::open(&url, config).await?;
        let record = group
            .get_or_create(&NewService::new(&args.host, &args.binary, "detect"))
            .await?;
        let _heartbeat = group
            .join(
                &record,
                JoinOptions::default().initial_delay(Duration::ZERO),
            )
            .await?;
        println!("ready {}", record.id);
        let _ = std::io::stdout().flush();
        // Until the parent closes our stdin (it exited) or kills us.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        })
        .await
        .ok();
        Ok(())
    })
}

/// Kills the replicas that are still running when dropped.
struct Replicas(Vec<Child>);

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the benchmark.
pub(crate) fn run(args: &Args) -> Result<Report, Error> {
    if args.kills > args.services {
        return Err(Error::Usage(format!(
            "--kills ({}) cannot exceed --services ({})",
            args.kills, args.services
        )));
    }
    let report_interval = match args.report_interval {
        None => None,
        Some(s) if s.is_finite() && (0.01..=3600.0).contains(&s) => {
            Some(Duration::from_secs_f64(s))
        }
        Some(s) => {
            return Err(Error::Usage(format!(
                "--report-interval must be between 0.01 and 3600 seconds, not {s}"
            )));
        }
    };
    let (url, config, interval) = group_config(&args.store, report_interval)?;
    runtime()?.block_on(bench(args, &url, config, interval))
}

#[allow(clippy::cast_precision_loss, clippy::too_many_lines)] // counts far below 2^52; one run, start to report
async fn bench(
    args: &Args,
    url: &str,
    config: ServiceGroupConfig,
    interval: Duration,
) -> Result<Report, Error> {
    let down_time = config.effective_service_down_time();
    let group = ServiceGroup::open(url, config.clone()).await?;
    let driver = group.driver().as_str();
    let binary = format!("periodic-detect-{}", std::process::id());

    // The replicas, in processes of their own.
    let exe = std::env::current_exe().map_err(Error::io("cannot find the periodic binary"))?;
    let mut replicas = Replicas(Vec::new());
    let mut killed_ids = Vec::new();
    for i in 0..args.kills {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "detect-replica"])
            .args(args.store.to_flags())
            .args(["--host", &format!("detect-kill-{i}"), "--binary", &binary])
            .args(["--report-interval-ms", &interval.as_millis().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .map_err(Error::io("cannot start a replica process"))?;
        let stdout = child.stdout.take();
        replicas.0.push(child);
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            line
        });
        let line = tokio::time::timeout(Duration::from_secs(60), line)
            .await
            .map_err(|_| Error::Usage("a replica did not start within 60 s".to_owned()))?
            .unwrap_or_default();
        let id = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|id| id.parse::<i64>().ok())
            .ok_or_else(|| Error::Usage(format!("a replica failed to start: {line:?}")))?;
        killed_ids.push(id);
    }

    // The others, here.
    let mut heartbeats: Vec<Heartbeat> = Vec::new();
    for i in 0..args.services - args.kills {
        let record = group
            .get_or_create(&NewService::new(
                format!("detect-live-{i}"),
                &binary,
                "detect",
            ))
            .await?;
        heartbeats.push(
            group
                .join(
                    &record,
                    JoinOptions::default()
                        .initial_delay(Duration::ZERO)
                        .mode(HeartbeatMode::CurrentRuntime),
                )
                .await?,
        );
    }
    let filter = ServiceFilter::all().binary(binary.clone());
    let start = Instant::now();
    loop {
        let listed = group.list(&filter).await?;
        if listed.len() as u64 == args.services && listed.iter().all(ServiceStatus::is_up) {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(Error::Usage(
                "the services did not all come up within 60 s".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(interval * 2).await;

    // Kill, then watch.
    let killed_at = Instant::now();
    for child in &mut replicas.0 {
        let _ = child.kill();
    }
    let mut detected: Vec<Option<Duration>> = vec![None; killed_ids.len()];
    let mut false_down = 0_u64;
    let give_up = down_time * 3 + Duration::from_secs(10);
    while detected.iter().any(Option::is_none) && killed_at.elapsed() < give_up {
        let listed = group.list(&filter).await?;
        let at = killed_at.elapsed();
        for s in &listed {
            match killed_ids.iter().position(|id| *id == s.record.id) {
                Some(i) if !s.is_up() && detected[i].is_none() => detected[i] = Some(at),
                None if !s.is_up() => false_down += 1,
                Some(_) | None => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for heartbeat in heartbeats {
        let _ = heartbeat.stop().await;
    }
    drop(replicas);
    group.close().await;

    let mut times: Vec<f64> = detected
        .iter()
        .map(|d| d.map_or(f64::INFINITY, |d| d.as_secs_f64()))
        .collect();
    times.sort_by(f64::total_cmp);
    let round = |s: f64| (s * 1000.0).round() / 1000.0;
    Ok(Report {
        driver,
        services: args.services,
        kills: args.kills,
        detect_p50_s: round(times[times.len() / 2]),
        detect_max_s: round(times[times.len() - 1]),
        false_down,
        detect_min_s: round(times[0]),
        service_down_time_s: down_time.as_secs_f64(),
        report_interval_s: interval.as_secs_f64(),
    })
}
