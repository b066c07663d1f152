//! The `periodic` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod api;
mod bench_detect;
mod bench_fleet;
mod bench_heartbeat;
mod bench_lanes;
mod bench_looping;
mod bench_memory;
mod error;
mod scenario;
mod service;
mod simulate;
mod store_args;
mod table;
mod task_list;
mod timeline;

/// jemalloc, with its background purging thread, instead of the system allocator: glibc
/// keeps what a burst of allocations freed in its per-thread arenas (`periodic api serve`
/// stayed ~90 MiB above idle after floods of unfinished requests), jemalloc hands freed
/// pages back to the system within seconds. BENCHMARKS.md compares glibc, mimalloc and
/// jemalloc on the same floods. A program that embeds the library picks its own allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// oslo.service-style periodic tasks and service heartbeats: tools.
#[derive(Debug, Parser)]
#[command(name = "periodic", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Preview a schedule: run a scenario's synthetic tasks in paused time and print what
    /// runs when, as JSON lines.
    Simulate(SimulateArgs),
    /// Benchmarks (real time).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Services in the services table: list (as `openstack compute service list`),
    /// enable, disable, force-down, delete; and a running service's periodic tasks.
    Service(service::ServiceArgs),
    /// The HTTP API: nova's os-services, /healthz and /metrics.
    #[command(subcommand)]
    Api(api::ApiCommand),
    /// The task ledger: every task's last run and every fleet task's claim, read from the
    /// store without reaching any running service.
    Task(task_list::TaskArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Lateness of a FixedInterval looping call against its ideal grid, as JSON.
    Looping(BenchLoopingArgs),
    /// Resident memory per running looping call and per registered task, as JSON.
    Memory(BenchMemoryArgs),
    /// One slow task beside fast ones in each runner `Concurrency` and in a raw tokio
    /// loop, one after another: one JSON line per mode with the fast tasks' runs and
    /// lateness.
    Lanes(bench_lanes::Args),
    /// N services heartbeating against a service-group store, as JSON.
    Heartbeat(bench_heartbeat::Args),
    /// How long after a kill -9 a service shows down, per liveness driver: prints
    /// {"driver", "services", "kills", "detect_p50_s", "detect_max_s", "false_down", ...}.
    Detect(bench_detect::Args),
    /// One replica of `bench detect` (started by it).
    #[command(hide = true)]
    DetectReplica(bench_detect::ReplicaArgs),
    /// R replicas (processes) running T fleet tasks against one task ledger: slots, runs,
    /// double runs, missed slots, claim latency and handoff after a kill, as JSON.
    Fleet(bench_fleet::Args),
    /// One replica of `bench fleet` (run by it).
    #[command(hide = true)]
    FleetReplica(bench_fleet::ReplicaArgs),
}

#[derive(Debug, clap::Args)]
struct BenchMemoryArgs {
    /// How many looping calls, then how many tasks.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,
}

#[derive(Debug, clap::Args)]
struct BenchLoopingArgs {
    /// The interval, in milliseconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// How many calls.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    ticks: u64,
    /// CPU work per call, in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    work_ms: f64,
    /// Wait with `Timer::Spin`: tokio's timer until this many milliseconds before each
    /// deadline, then yield until it (0: tokio's timer alone, the default).
    #[arg(long, default_value_t = 0.0)]
    spin_ms: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum IdlePolicyArg {
    /// oslo.service's idle_for, exactly.
    Oslo,
    /// Sleep until the earliest next due run (the default).
    Precise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ConcurrencyArg {
    /// One task after another in each pass, as oslo.service (the default).
    Sequential,
    /// The due tasks of a pass at once; the pass waits for all of them.
    Concurrent,
    /// Each task in a lane of its own: a slow task delays only itself.
    Lanes,
}

#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// The scenario file (JSON).
    scenario: PathBuf,
    /// How long a pass idles: oslo reproduces oslo.service's trace.
    #[arg(long, value_enum)]
    idle_policy: Option<IdlePolicyArg>,
    /// How the due tasks run: one after another (oslo's pass), all at once, or each in a
    /// lane of its own (the runner's `Concurrency`).
    #[arg(long, value_enum, default_value_t = ConcurrencyArg::Sequential)]
    concurrency: ConcurrencyArg,
    /// Seed for the jitter (when the scenario asks for jitter).
    #[arg(long)]
    seed: Option<u64>,
    /// jsonl: one event per line; table: per task its runs, failures, mean and max
    /// lateness (start - due) and mean duration.
    #[arg(long, value_enum, default_value_t = timeline::Format::Jsonl)]
    format: timeline::Format,
    /// Also draw the runs as an SVG timeline into this file (one row per task, a mark per
    /// run, the loop's idle gaps).
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
    /// Stop after this many events (task runs and idle periods) with exit status 2: a
    /// long horizon with short spacings can take hours and, with `--format table` or
    /// `--timeline`, the memory of every event.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EVENTS,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_events: u64,
}

/// `periodic simulate --max-events`'s default: seconds of work in a release build; about
/// 100 MB for a table or a timeline, which keep every event (jsonl keeps none).
const DEFAULT_MAX_EVENTS: u64 = 2_000_000;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PERIODIC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Simulate(args) => simulate_command(&args),
        Command::Service(args) => service::run(args),
        Command::Task(args) => task_list::run(args),
        Command::Api(command) => api::run(&command),
        Command::Bench(BenchCommand::Looping(args)) => bench_looping_command(&args),
        Command::Bench(BenchCommand::Heartbeat(args)) => match bench_heartbeat::run(&args) {
            Ok(report) => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("periodic bench heartbeat: {}", err.report());
                ExitCode::FAILURE
            }
        },
        Command::Bench(BenchCommand::Lanes(args)) => match bench_lanes::run(&args) {
            Ok(reports) => {
                for report in reports {
                    println!("{}", serde_json::to_string(&report).unwrap_or_default());
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("periodic bench lanes: {}", err.report());
                ExitCode::FAILURE
            }
        },
        Command::Bench(BenchCommand::Detect(args)) => match bench_detect::run(&args) {
            Ok(report) => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("periodic bench detect: {}", err.report());
                ExitCode::FAILURE
            }
        },
        Command::Bench(BenchCommand::DetectReplica(args)) => match bench_detect::replica(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("periodic bench detect-replica: {}", err.report());
                ExitCode::FAILURE
            }
        },
        Command::Bench(BenchCommand::Fleet(args)) => match bench_fleet::run(&args) {
            Ok(report) => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("periodic bench fleet: {}", err.report());
                ExitCode::FAILURE
            }
        },
        Command::Bench(BenchCommand::FleetReplica(args)) => match bench_fleet::replica(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("periodic bench fleet-replica: {}", err.report());
                ExitCode::FAILURE
            }
        },
        Command::Bench(BenchCommand::Memory(args)) => {
            match bench_memory::run(usize::try_from(args.count).unwrap_or(usize::MAX)) {
                Ok(report) => {
                    println!("{}", serde_json::to_string(&report).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("periodic bench memory: {}", err.report());
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn simulate_command(args: &SimulateArgs) -> ExitCode {
    let scenario = match scenario::Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("periodic simulate: {err}");
            return ExitCode::from(2);
        }
    };
    let idle_policy = match (args.idle_policy, scenario.idle_policy.as_deref()) {
        (Some(IdlePolicyArg::Oslo), _) | (None, Some("oslo")) => periodic::IdlePolicy::Oslo,
        _ => periodic::IdlePolicy::Precise,
    };
    let options = simulate::Options {
        idle_policy,
        concurrency: match args.concurrency {
            ConcurrencyArg::Sequential => periodic::Concurrency::Sequential,
            ConcurrencyArg::Concurrent => periodic::Concurrency::Concurrent,
            ConcurrencyArg::Lanes => periodic::Concurrency::Lanes,
        },
        seed: args.seed,
        max_events: args.max_events,
    };
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let out = std::sync::Arc::new(std::sync::Mutex::new((out, None::<std::io::Error>)));
    let sink_out = std::sync::Arc::clone(&out);
    let recorder = timeline::Recorder::default();
    let (record, jsonl) = (
        args.format == timeline::Format::Table || args.timeline.is_some(),
        args.format == timeline::Format::Jsonl,
    );
    let sink_recorder = recorder.clone();
    let result = simulate::run(&scenario, options, move |event| {
        if record {
            sink_recorder.push(&event);
        }
        let mut guard = sink_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (w, err) = &mut *guard;
        if jsonl
            && err.is_none()
            && let Err(e) = event.write_json(w)
        {
            *err = Some(e);
        }
    });
    let mut guard = out
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (w, err) = &mut *guard;
    let flushed = std::io::Write::flush(w);
    if let Some(e) = err.take().or(flushed.err())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("periodic simulate: cannot write the trace: {e}");
        return ExitCode::FAILURE;
    }
    let policy = match idle_policy {
        periodic::IdlePolicy::Oslo => "oslo",
        _ => "precise",
    };
    let result = match result {
        Ok(simulate::Outcome::EventLimit { at }) => {
            eprintln!(
                "periodic simulate: stopped after {} events (--max-events), {} s into the \
                 {} s horizon; raise --max-events or shorten the horizon",
                args.max_events,
                simulate::round6(at),
                simulate::round6(scenario.horizon),
            );
            return ExitCode::from(2);
        }
        Ok(simulate::Outcome::Horizon) => Ok(()),
        Err(err) => Err(err),
    };
    let shown = result.map_err(|err| err.report()).and_then(|()| {
        timeline::report(
            &scenario,
            &args.scenario,
            policy,
            &recorder.take(),
            args.format,
            args.timeline.as_deref(),
        )
    });
    match shown {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("periodic simulate: {err}");
            ExitCode::FAILURE
        }
    }
}

fn bench_looping_command(args: &BenchLoopingArgs) -> ExitCode {
    if !args.work_ms.is_finite() || args.work_ms < 0.0 {
        eprintln!("periodic bench looping: --work-ms must be a number of milliseconds, 0 or more");
        return ExitCode::from(2);
    }
    let interval = std::time::Duration::from_millis(args.interval_ms);
    let work = std::time::Duration::from_secs_f64(args.work_ms / 1000.0);
    if !args.spin_ms.is_finite() || args.spin_ms < 0.0 {
        eprintln!("periodic bench looping: --spin-ms must be a number of milliseconds, 0 or more");
        return ExitCode::from(2);
    }
    let timer = if args.spin_ms > 0.0 {
        periodic::Timer::Spin(std::time::Duration::from_secs_f64(args.spin_ms / 1000.0))
    } else {
        periodic::Timer::Tokio
    };
    let ticks = usize::try_from(args.ticks).unwrap_or(usize::MAX);
    match bench_looping::run(interval, ticks, work, timer) {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("periodic bench looping: {}", err.report());
            ExitCode::FAILURE
        }
    }
}
