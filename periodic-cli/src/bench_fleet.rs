//! `periodic bench fleet`: R replicas (separate processes: this program run again as
//! `periodic bench fleet-replica`) with T fleet tasks each, against one task ledger, and
//! one JSON object: slots, runs, double runs, missed slots, claim latency, and with
//! `--kill-every` the longest handoff after a replica was killed with SIGKILL.
//!
//! Each replica prints a line per run start (`run TASK SLOT`) and per claim statement
//! (`claim MILLISECONDS`, timed around the ledger's `claim`). The slots counted are the
//! whole slots between the first and the last one any replica started; a slot is missed
//! when no replica started the task in it, and a run is double when a second replica
//! started the same task in the same slot.

use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead as _, BufReader};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use periodic::{
    Claim, ClaimRequest, Claimed, Concurrency, ControlState, Fleet, Jitter, LedgerEntry,
    PeriodicRunner, PeriodicTask, RunContext, RunRecord, RunReport, RunnerOptions, ServiceGroup,
    ServiceGroupConfig, TaskControl, TaskLedger, TaskScope,
};
use serde::Serialize;

use crate::error::Error;

/// Arguments of `periodic bench fleet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database (sqlite://FILE, postgres://..., mysql://...): the ledger's store unless
    /// --fleet-store names another.
    #[arg(long)]
    db: String,
    /// The store of the ledger (an SQL URL or redis://...).
    #[arg(long)]
    fleet_store: Option<String>,
    /// Replicas (processes).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    replicas: u64,
    /// Fleet tasks per replica (the same tasks in every replica).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tasks: u64,
    /// Seconds between slots.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    spacing: u64,
    /// Seconds to run.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Kill a replica with SIGKILL every this many seconds and start a new one.
    #[arg(long)]
    kill_every: Option<u64>,
}

/// Arguments of the hidden `periodic bench fleet-replica`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplicaArgs {
    #[arg(long)]
    store: String,
    #[arg(long)]
    fleet: String,
    #[arg(long)]
    name: String,
    #[arg(long)]
    tasks: u64,
    #[arg(long)]
    spacing: u64,
    #[arg(long)]
    duration: u64,
}

/// What `periodic bench fleet` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    replicas: u64,
    tasks: u64,
    slots: u64,
    runs: u64,
    double_runs: u64,
    missed_slots: u64,
    claim_p50_ms: f64,
    claim_p99_ms: f64,
    handoff_max_s: Option<f64>,
}

/// A replica process and what it printed, with the time each line arrived.
struct Replica {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

fn spawn(
    args: &Args,
    store: &str,
    fleet: &str,
    name: &str,
    seconds: u64,
) -> Result<Replica, Error> {
    let mut child =
        Command::new(std::env::current_exe().map_err(Error::io("cannot find this program"))?)
            .args([
                "bench",
                "fleet-replica",
                "--store",
                store,
                "--fleet",
                fleet,
                "--name",
                name,
            ])
            .args([
                "--tasks",
                &args.tasks.to_string(),
                "--spacing",
                &args.spacing.to_string(),
            ])
            .args(["--duration", &seconds.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(Error::io("cannot start a replica"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Usage("no stdout".into()))?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            kept.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((Instant::now(), line));
        }
    });
    Ok(Replica { child, lines })
}

/// Runs the benchmark: the replicas, then the counts.
pub(crate) fn run(args: &Args) -> Result<Report, Error> {
    let store = args.fleet_store.clone().unwrap_or_else(|| args.db.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    // Creates or migrates the ledger's store once, before the replicas race to.
    runtime.block_on(ServiceGroup::open_ledger(
        &store,
        &ServiceGroupConfig::default(),
    ))?;
    let fleet = format!("bench-{}-{}", std::process::id(), args.replicas);
    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration);
    let mut replicas = Vec::new();
    for i in 0..args.replicas {
        replicas.push(spawn(
            args,
            &store,
            &fleet,
            &format!("r{i}"),
            args.duration,
        )?);
    }
    let mut kills: Vec<Instant> = Vec::new();
    // The oldest live replica is killed first.
    let mut live: std::collections::VecDeque<usize> = (0..replicas.len()).collect();
    if let Some(every) = args.kill_every.filter(|k| *k > 0) {
        let mut at = started + Duration::from_secs(every);
        while at + Duration::from_secs(args.spacing) < end {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            if let Some(victim) = live.pop_front() {
                let _ = replicas[victim].child.kill();
                kills.push(Instant::now());
            }
            let left = end
                .saturating_duration_since(Instant::now())
                .as_secs()
                .max(1);
            let name = format!("k{}", kills.len());
            replicas.push(spawn(args, &store, &fleet, &name, left)?);
            live.push_back(replicas.len() - 1);
            at += Duration::from_secs(every);
        }
    }
    for replica in &mut replicas {
        let _ = replica.child.wait();
    }
    std::thread::sleep(Duration::from_millis(200));
    Ok(count(args, &replicas, &kills))
}

#[allow(clippy::cast_precision_loss)] // counts and milliseconds far below 2^52
fn count(args: &Args, replicas: &[Replica], kills: &[Instant]) -> Report {
    let mut starts: HashMap<(u64, i64), u64> = HashMap::new();
    let mut runs_at: Vec<(Instant, u64)> = Vec::new();
    let mut claims: Vec<f64> = Vec::new();
    for replica in replicas {
        for (at, line) in replica
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["run", task, slot, ..] => {
                    if let (Ok(task), Ok(slot)) = (task.parse(), slot.parse()) {
                        *starts.entry((task, slot)).or_default() += 1;
                        runs_at.push((*at, task));
                    }
                }
                ["claim", ms] => claims.extend(ms.parse::<f64>().ok()),
                _ => {}
            }
        }
    }
    let first = starts.keys().map(|k| k.1).min().unwrap_or(0);
    let last = starts.keys().map(|k| k.1).max().unwrap_or(0);
    // Whole slots only: the first and the last may have been entered part-way.
    let range: Vec<i64> = ((first + 1)..last).collect();
    let mut missed = 0;
    let mut doubles = 0;
    for task in 0..args.tasks {
        for slot in &range {
            match starts.get(&(task, *slot)) {
                None => missed += 1,
                Some(n) if *n > 1 => doubles += n - 1,
                Some(_) => {}
            }
        }
    }
    // Outside the counted range too: a double run is one wherever it is.
    doubles += starts
        .iter()
        .filter(|((_, slot), _)| !range.contains(slot))
        .map(|(_, n)| n.saturating_sub(1))
        .sum::<u64>();
    claims.sort_by(f64::total_cmp);
    // The nearest rank below: index (n - 1) * percent / 100.
    let quantile = |percent: usize| {
        if claims.is_empty() {
            0.0
        } else {
            claims[(claims.len() - 1) * percent / 100]
        }
    };
    // Handoff: from a kill to the first run started after it (by any replica).
    let handoff = kills
        .iter()
        .filter_map(|kill| {
            runs_at
                .iter()
                .filter(|(at, _)| at > kill)
                .map(|(at, _)| at.duration_since(*kill).as_secs_f64())
                .reduce(f64::min)
        })
        .reduce(f64::max);
    Report {
        replicas: args.replicas,
        tasks: args.tasks,
        slots: args.tasks * range.len() as u64,
        runs: starts.values().sum(),
        double_runs: doubles,
        missed_slots: missed,
        claim_p50_ms: quantile(50),
        claim_p99_ms: quantile(99),
        handoff_max_s: handoff,
    }
}

/// The boxed future of [`TaskLedger`]'s methods.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A ledger that prints how long each claim took.
#[derive(Debug)]
struct Timed(Arc<dyn TaskLedger>);

impl TaskLedger for Timed {
    fn now(&self) -> BoxFuture<'_, periodic::Result<i64>> {
        self.0.now()
    }
    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'a>,
    ) -> BoxFuture<'a, periodic::Result<Vec<Claimed>>> {
        Box::pin(async move {
            let started = Instant::now();
            let claimed = self.0.claim(request).await;
            println!("claim {:.3}", started.elapsed().as_secs_f64() * 1000.0);
            claimed
        })
    }
    fn renew(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> BoxFuture<'_, periodic::Result<Option<i64>>> {
        self.0.renew(row, token, lease)
    }
    fn release(&self, row: i64, token: u64) -> BoxFuture<'_, periodic::Result<bool>> {
        self.0.release(row, token)
    }
    fn record<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        report: &'a RunReport,
    ) -> BoxFuture<'a, periodic::Result<()>> {
        self.0.record(scope, task, report)
    }
    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, periodic::Result<Vec<LedgerEntry>>> {
        self.0.entries(scope)
    }
    // The provided methods too: a replica creates its rows before its first pass and
    // honours the operator's controls (pause, run now) as any runner on this ledger does.
    fn prepare<'a>(
        &'a self,
        scope: &'a TaskScope,
        tasks: &'a [&'a str],
    ) -> BoxFuture<'a, periodic::Result<()>> {
        self.0.prepare(scope, tasks)
    }
    fn settle<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        claim: &'a Claim,
        report: Option<&'a RunReport>,
    ) -> BoxFuture<'a, periodic::Result<bool>> {
        self.0.settle(scope, task, claim, report)
    }
    fn control<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        control: &'a TaskControl,
    ) -> BoxFuture<'a, periodic::Result<LedgerEntry>> {
        self.0.control(scope, task, control)
    }
    fn history<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, periodic::Result<Vec<RunRecord>>> {
        self.0.history(scope, task, limit)
    }
    fn controls<'a>(
        &'a self,
        scope: &'a TaskScope,
    ) -> BoxFuture<'a, periodic::Result<Vec<ControlState>>> {
        self.0.controls(scope)
    }
    fn take_run_request<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        holder: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, periodic::Result<Option<Claim>>> {
        self.0.take_run_request(scope, task, holder, lease)
    }
    fn control_signals(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        self.0.control_signals()
    }
}

struct Bench;

/// The replica: T fleet tasks in one concurrent runner (claimed in batches), for
/// `duration` seconds.
pub(crate) fn replica(args: &ReplicaArgs) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    runtime.block_on(async {
        let ledger = ServiceGroup::open_ledger(&args.store, &ServiceGroupConfig::default()).await?;
        let runner = PeriodicRunner::<Bench>::builder(Bench)
            .options(
                RunnerOptions::new()
                    .jitter(Jitter::None)
                    .concurrency(Concurrency::Concurrent)
                    .task_ledger(Arc::new(Timed(ledger)))
                    .fleet_holder(args.name.clone()),
            )
            .build()?;
        for task in 0..args.tasks {
            runner.add_periodic_task(
                PeriodicTask::with_run_context(
                    task.to_string(),
                    move |_m: Arc<Bench>, _c: Arc<()>, run: RunContext| async move {
                        println!(
                            "run {task} {} {}",
                            run.slot().unwrap_or_default(),
                            run.token().unwrap_or_default()
                        );
                    },
                )
                .spacing(Duration::from_secs(args.spacing))
                .fleet(Fleet::named(args.fleet.clone())),
            )?;
        }
        let end = tokio::time::Instant::now() + Duration::from_secs(args.duration);
        while tokio::time::Instant::now() < end {
            let idle = runner.run_periodic_tasks(()).await?;
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(idle.min(left)).await;
        }
        Ok(())
    })
}
