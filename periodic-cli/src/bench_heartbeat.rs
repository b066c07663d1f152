//! `periodic bench heartbeat`: N services heartbeating against one store, as a fleet
//! would.
//!
//! Each service writes its own heartbeat (a real, separate `report_state`: one UPDATE for
//! the `db` driver, one memcached `set` for `mc`) every `report_interval`, at a phase of
//! `i × report_interval / N`, so the writes are spread evenly over the interval as the
//! heartbeats of a fleet started at different times are. One scheduler task hands them
//! out in time order to at most `--concurrency` writes in flight. A lister lists every
//! service every `--list-interval` and records every service it ever saw down.
//!
//! The services are `bench-<i>` on the topic `bench`, with the binary
//! `periodic-bench-<N>`, so runs with
//! different N share a store without seeing each other's rows (the lister filters on the
//! binary). Before the clock starts, every service's row is loaded or created and each one
//! heartbeats once, so rows left by an earlier run with the same N do not count as false
//! downs.
//! `--duration 0` only creates the services and times `list` (five times; `list_ms` is the
//! median), with `false_down` left at 0 since nothing heartbeats.
//!
//! With `--join` (implied by the `zk` and `etcd` drivers) each service instead *joins*
//! the group, as a fleet's processes do: it holds its own heartbeat (`ServiceGroup::join`,
//! on this runtime), so a `zk` service keeps one ZooKeeper session and node and an `etcd`
//! service one lease and key, kept alive every `report_interval`. (A one-off
//! `report_state` of those drivers opens a session or lease of its own, which a fleet
//! never does.) The clock starts once every service is up; the heartbeats' own counters
//! give `heartbeats` and `failed_heartbeats`, and the write latencies, which the
//! heartbeats do not time, are null.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use periodic::{
    Heartbeat, HeartbeatMode, JoinOptions, LivenessDriver, NewService, ServiceFilter, ServiceGroup,
    ServiceGroupConfig, ServiceRecord,
};
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::Error;

/// Arguments of `periodic bench heartbeat`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The store: sqlite://FILE, postgres://..., mysql://... (also the services table of
    /// the `mc` driver).
    #[arg(long)]
    db: String,
    /// How many services.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    services: u64,
    /// Seconds between two heartbeats of a service.
    #[arg(long, default_value_t = 10.0)]
    report_interval: f64,
    /// Seconds after its last heartbeat a service counts as down.
    #[arg(long, default_value_t = 60.0)]
    service_down_time: f64,
    /// Seconds to run; 0 only creates the services and times `list`.
    #[arg(long, default_value_t = 120.0)]
    duration: f64,
    /// The liveness driver (nova's servicegroup_driver).
    #[arg(long, default_value = "db", value_parser = crate::store_args::driver_parser())]
    driver: LivenessDriver,
    /// The memcached server (`host:port`) of the `mc` driver.
    #[arg(long)]
    memcached: Option<String>,
    /// The Redis server (`redis://HOST:PORT`) of the `redis` driver.
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// The ZooKeeper servers (`host:port`, comma-separated) of the `zk` driver.
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT")]
    zookeeper_servers: Vec<String>,
    /// The etcd endpoints (`host:port`, comma-separated) of the `etcd` driver.
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT")]
    etcd_endpoints: Vec<String>,
    /// Seconds between two lists (default: the report interval).
    #[arg(long)]
    list_interval: Option<f64>,
    /// Heartbeat writes in flight at most.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
    /// Connections of the store's pool.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Each service joins the group and holds its own heartbeat (a session, a lease)
    /// instead of one-off writes; always so for the zk and etcd drivers.
    #[arg(long)]
    join: bool,
}

/// The result, printed as one JSON object: the fields the issue asks for first, then
/// the details.
#[derive(Debug, Serialize)]
#[allow(clippy::struct_field_names)] // `report_interval_s` is the option's name plus unit
pub(crate) struct Report {
    services: u64,
    writes_per_s: f64,
    p99_heartbeat_ms: Option<f64>,
    false_down: usize,
    list_ms: f64,
    /// Whether every heartbeat due during the run was written (at least 99 % of
    /// `services / report_interval` writes per second).
    keeps_up: bool,
    driver: &'static str,
    store: String,
    duration_s: f64,
    report_interval_s: f64,
    service_down_time_s: f64,
    heartbeats: u64,
    failed_heartbeats: u64,
    p50_heartbeat_ms: Option<f64>,
    max_heartbeat_ms: Option<f64>,
    max_lateness_ms: Option<f64>,
    lists: usize,
    list_ms_max: f64,
    setup_s: f64,
}

fn seconds(name: &str, value: f64, zero_ok: bool) -> Result<Duration, Error> {
    let ok = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0));
    if ok {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Usage(format!(
            "--{name} must be a number of seconds greater than 0, not {value}"
        )))
    }
}

/// Runs the benchmark on a runtime of its own.
pub(crate) fn run(args: &Args) -> Result<Report, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    runtime.block_on(bench(args))
}

#[allow(clippy::too_many_lines, clippy::cast_precision_loss)] // one linear script; phases of ≤ 2^52 services
async fn bench(args: &Args) -> Result<Report, Error> {
    let report_interval = seconds("report-interval", args.report_interval, false)?;
    let service_down_time = seconds("service-down-time", args.service_down_time, false)?;
    let duration = seconds("duration", args.duration, true)?;
    let list_interval = seconds(
        "list-interval",
        args.list_interval.unwrap_or(args.report_interval),
        false,
    )?;
    let driver = args.driver;
    let mut config = ServiceGroupConfig::default()
        .report_interval(report_interval)
        .service_down_time(service_down_time)
        .driver(driver)
        .max_connections(args.connections);
    if driver == LivenessDriver::MC {
        let Some(server) = &args.memcached else {
            return Err(Error::Usage(
                "--driver mc needs --memcached HOST:PORT".to_owned(),
            ));
        };
        config = config.memcached_servers([server.as_str()]);
    }
    if driver == LivenessDriver::REDIS {
        let Some(url) = &args.redis_url else {
            return Err(Error::Usage(
                "--driver redis needs --redis-url redis://HOST:PORT".to_owned(),
            ));
        };
        config = config.redis_url(url.as_str());
    }
    if driver == LivenessDriver::ZK {
        if args.zookeeper_servers.is_empty() {
            return Err(Error::Usage(
                "--driver zk needs --zookeeper-servers HOST:PORT".to_owned(),
            ));
        }
        config = config.zookeeper_servers(args.zookeeper_servers.iter().cloned());
    }
    if driver == LivenessDriver::ETCD {
        if args.etcd_endpoints.is_empty() {
            return Err(Error::Usage(
                "--driver etcd needs --etcd-endpoints HOST:PORT".to_owned(),
            ));
        }
        config = config.etcd_endpoints(args.etcd_endpoints.iter().cloned());
    }
    let group = ServiceGroup::open(&args.db, config).await?;
    let n = usize::try_from(args.services).unwrap_or(usize::MAX);
    let concurrency = usize::try_from(args.concurrency).unwrap_or(64);

    // Setup: load or create every service, then one heartbeat each.
    let setup = Instant::now();
    let binary = format!("periodic-bench-{n}");
    let records = create_services(&group, &binary, n, concurrency).await?;
    let join = args.join || [LivenessDriver::ZK, LivenessDriver::ETCD].contains(&driver);
    let mut joined = None;
    if join && !duration.is_zero() {
        joined = Some(join_all(&group, &records, &binary, concurrency).await?);
    } else if !duration.is_zero() {
        heartbeat_all_once(&group, &records, concurrency).await?;
    }
    let setup_s = setup.elapsed().as_secs_f64();

    let stats = Arc::new(Stats::default());
    let lists = Arc::new(Mutex::new(Lists::default()));
    if duration.is_zero() {
        let mut lists = lists.lock().await;
        // Nothing heartbeats in this mode: only the time counts, not who is down.
        for _ in 0..5 {
            lists.record(&group, &binary).await?;
        }
        lists.down.clear();
        return Ok(report(
            args,
            driver,
            &group,
            n,
            Duration::ZERO,
            &stats,
            &lists,
            setup_s,
        ));
    }

    let start = Instant::now();
    let end = start + duration;
    // The joined services' reports before the clock started do not count.
    let reported = |heartbeats: &[Heartbeat]| {
        heartbeats.iter().fold((0, 0), |(ok, failed), h| {
            let counts = h.stats();
            (ok + counts.reports_ok, failed + counts.reports_failed)
        })
    };
    let before = joined.as_deref().map_or((0, 0), reported);
    let lister = {
        let (group, lists, binary) = (group.clone(), Arc::clone(&lists), binary.clone());
        tokio::spawn(async move {
            let mut next = start + list_interval;
            while next < end {
                tokio::time::sleep_until(next).await;
                if let Err(e) = lists.lock().await.record(&group, &binary).await {
                    eprintln!("periodic bench heartbeat: list failed: {}", e.report());
                }
                next += list_interval;
            }
        })
    };

    if let Some(heartbeats) = joined {
        // The services heartbeat by themselves: only the lister works.
        tokio::time::sleep_until(end).await;
        let elapsed = start.elapsed();
        let _ = lister.await;
        let (ok, failed) = reported(&heartbeats);
        stats.ok.store(ok - before.0, Ordering::Relaxed);
        stats.failed.store(failed - before.1, Ordering::Relaxed);
        stats.joined.store(true, Ordering::Relaxed);
        let lists = lists.lock().await;
        let report = report(args, driver, &group, n, elapsed, &stats, &lists, setup_s);
        for heartbeat in heartbeats {
            let _ = heartbeat.stop().await;
        }
        return Ok(report);
    }

    // The fleet: service i heartbeats at start + i·interval/N + k·interval.
    let records = Arc::new(records);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut writes = JoinSet::new();
    let step = report_interval.as_secs_f64() / n as f64;
    'ticks: for tick in 0u32.. {
        for (i, record) in records.iter().enumerate() {
            let due = start + report_interval * tick + Duration::from_secs_f64(step * i as f64);
            // A store that cannot keep up makes the scheduler fall behind; the run still
            // ends on time, and `keeps_up` says it fell behind.
            if due >= end || Instant::now() >= end {
                break 'ticks;
            }
            if due > Instant::now() {
                tokio::time::sleep_until(due).await;
            }
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .map_err(|_| Error::Bench("the write semaphore closed"))?;
            let lateness = Instant::now().saturating_duration_since(due);
            stats.late(lateness);
            let (group, stats, record) = (group.clone(), Arc::clone(&stats), record.clone());
            writes.spawn(async move {
                let began = Instant::now();
                let result = group.report_state(&record).await;
                stats.write(began.elapsed(), result.is_ok());
                drop(permit);
            });
            while writes.try_join_next().is_some() {}
        }
    }
    while writes.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    let _ = lister.await;
    let lists = lists.lock().await;
    Ok(report(
        args, driver, &group, n, elapsed, &stats, &lists, setup_s,
    ))
}

#[allow(
    clippy::too_many_arguments,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // a percentile's index, from a non-negative fraction of the count
fn report(
    args: &Args,
    driver: LivenessDriver,
    group: &ServiceGroup,
    n: usize,
    elapsed: Duration,
    stats: &Stats,
    lists: &Lists,
    setup_s: f64,
) -> Report {
    let mut latencies = stats
        .latencies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    latencies.sort_unstable();
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let joined = stats.joined.load(Ordering::Relaxed);
    let pick = |q: f64| {
        if joined {
            None
        } else if latencies.is_empty() {
            Some(0.0)
        } else {
            let i = ((latencies.len() - 1) as f64 * q).round() as usize;
            Some(ms(latencies[i]))
        }
    };
    let heartbeats = stats.ok.load(Ordering::Relaxed);
    let mut list_times = lists.times.clone();
    list_times.sort_unstable();
    let needed = n as f64 / args.report_interval;
    let rate = if elapsed.is_zero() {
        0.0
    } else {
        heartbeats as f64 / elapsed.as_secs_f64()
    };
    Report {
        services: n as u64,
        writes_per_s: (rate * 10.0).round() / 10.0,
        p99_heartbeat_ms: pick(0.99),
        false_down: lists.down.len(),
        list_ms: list_times
            .get(list_times.len() / 2)
            .copied()
            .map_or(0.0, ms),
        keeps_up: elapsed.is_zero() || rate >= 0.99 * needed,
        driver: driver.as_str(),
        store: group.url(),
        duration_s: (elapsed.as_secs_f64() * 10.0).round() / 10.0,
        report_interval_s: args.report_interval,
        service_down_time_s: group.service_down_time().as_secs_f64(),
        heartbeats,
        failed_heartbeats: stats.failed.load(Ordering::Relaxed),
        p50_heartbeat_ms: pick(0.5),
        max_heartbeat_ms: pick(1.0),
        max_lateness_ms: (!joined).then(|| {
            ms(Duration::from_micros(
                stats.max_late_us.load(Ordering::Relaxed),
            ))
        }),
        lists: list_times.len(),
        list_ms_max: list_times.last().copied().map_or(0.0, ms),
        setup_s: (setup_s * 10.0).round() / 10.0,
    }
}

async fn create_services(
    group: &ServiceGroup,
    binary: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<ServiceRecord>, Error> {
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(n) {
        let (group, next, binary) = (group.clone(), Arc::clone(&next), binary.to_owned());
        workers.spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n as u64 {
                    return Ok::<_, periodic::Error>(made);
                }
                // One topic, as nova's computes share `compute`: the `etcd` driver
                // judges with one range read per topic.
                let service = NewService::new(format!("bench-{i:06}"), &binary, "bench");
                made.push((i, group.get_or_create(&service).await?));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(done) = workers.join_next().await {
        let made = done.map_err(|source| Error::Join {
            context: "a setup task failed",
            source,
        })??;
        all.extend(made);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, record)| record).collect())
}

/// Every service joins (its own heartbeat on this runtime, first report at once), at
/// most `concurrency` joins at a time; returns once every one is up (bounded: 10 s plus
/// 10 ms a service).
#[allow(clippy::cast_possible_truncation)] // a bound of at most a few hours
async fn join_all(
    group: &ServiceGroup,
    records: &[ServiceRecord],
    binary: &str,
    concurrency: usize,
) -> Result<Vec<Heartbeat>, Error> {
    let mut heartbeats = Vec::with_capacity(records.len());
    for chunk in records.chunks(concurrency) {
        let joins = chunk.iter().map(|record| {
            let options = JoinOptions::default()
                .initial_delay(Duration::ZERO)
                .mode(HeartbeatMode::CurrentRuntime);
            group.join(record, options)
        });
        heartbeats.extend(futures::future::try_join_all(joins).await?);
    }
    let bound = Duration::from_secs(10) + Duration::from_millis(10) * records.len() as u32;
    let give_up = Instant::now() + bound;
    loop {
        let listed = group.list(&ServiceFilter::all().binary(binary)).await?;
        let down = listed.iter().filter(|s| !s.is_up()).count();
        if down == 0 && listed.len() == records.len() {
            return Ok(heartbeats);
        }
        if Instant::now() > give_up {
            return Err(Error::Usage(format!(
                "{down} of {} joined services were not up after {:.0} s",
                records.len(),
                bound.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn heartbeat_all_once(
    group: &ServiceGroup,
    records: &[ServiceRecord],
    concurrency: usize,
) -> Result<(), Error> {
    let records = Arc::new(records.to_vec());
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(records.len()) {
        let (group, next, records) = (group.clone(), Arc::clone(&next), Arc::clone(&records));
        workers.spawn(async move {
            loop {
                let i = usize::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap_or(usize::MAX);
                let Some(record) = records.get(i) else {
                    return Ok::<_, periodic::Error>(());
                };
                group.report_state(record).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.map_err(|source| Error::Join {
            context: "a setup task failed",
            source,
        })??;
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Stats {
    ok: AtomicU64,
    failed: AtomicU64,
    max_late_us: AtomicU64,
    /// The services held their own heartbeats (`--join`): no write was timed.
    joined: std::sync::atomic::AtomicBool,
    latencies: std::sync::Mutex<Vec<Duration>>,
}

impl Stats {
    fn write(&self, took: Duration, ok: bool) {
        if ok {
            self.ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(took);
    }

    fn late(&self, lateness: Duration) {
        let us = u64::try_from(lateness.as_micros()).unwrap_or(u64::MAX);
        self.max_late_us.fetch_max(us, Ordering::Relaxed);
    }
}

/// What the lister saw: how long each list took, and every service it saw down.
#[derive(Debug, Default)]
struct Lists {
    times: Vec<Duration>,
    down: HashSet<i64>,
}

impl Lists {
    async fn record(&mut self, group: &ServiceGroup, binary: &str) -> Result<(), periodic::Error> {
        let began = Instant::now();
        let services = group.list(&ServiceFilter::all().binary(binary)).await?;
        self.times.push(began.elapsed());
        self.down
            .extend(services.iter().filter(|s| !s.is_up()).map(|s| s.record.id));
        Ok(())
    }
}
