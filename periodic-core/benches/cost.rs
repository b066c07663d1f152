//! What a looping call and a registered task cost, side by side with their baselines, in
//! one run (issue 11, item 3):
//!
//! * **looping**: `--calls` `FixedInterval`s at `--interval-ms`, beside as many raw tokio
//!   loops (`tokio::time::interval` + `tick().await` + the same callee), each kind alone on
//!   a current-thread runtime (or `--threads N` workers) for `--secs`: CPU time of the
//!   process's threads (Linux `/proc/self/task/*/schedstat`, nanoseconds) and resident
//!   memory per running call;
//! * **register**: `--tasks` periodic tasks added to one `PeriodicRunner`, beside as many
//!   jobs added to a `clokwerk::Scheduler`: wall time and resident memory per task.
//!
//! ```text
//! cargo bench -p periodic-core --bench cost -- [--calls 10000] [--interval-ms 1000]
//!     [--secs 30] [--tasks 100000] [--threads 0] [--only looping|register]
//! ```
//!
//! Results are printed as Markdown table rows; BENCHMARKS.md records a run.
//!
//! Resident memory is the growth of the process's resident set (`/proc/self/statm`, 4 KiB
//! pages) while the items are alive: the allocator's and tokio's per-task overheads
//! included, the handles' own `Vec` excluded. Both kinds of an item stay alive until both
//! are measured, so that the second cannot reuse memory the first freed.

#![allow(
    missing_docs,
    clippy::cast_precision_loss,
    reason = "a benchmark program"
)]

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as StdInstant};

use periodic::{FixedInterval, PeriodicRunner, PeriodicTask};

struct Args {
    calls: usize,
    interval: Duration,
    secs: u64,
    tasks: usize,
    /// Worker threads of a multi-thread runtime; 0: a current-thread runtime.
    threads: usize,
    /// The callee awaits once (`tokio::task::yield_now`), as a callee doing I/O does.
    awaits: bool,
    only: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        calls: 10_000,
        interval: Duration::from_secs(1),
        secs: 30,
        tasks: 100_000,
        threads: 0,
        awaits: false,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| fail(&format!("{arg} needs a value")))
        };
        let number = |v: String| -> u64 {
            v.parse()
                .unwrap_or_else(|_| fail(&format!("{arg}: `{v}` is not a whole number")))
        };
        match arg.as_str() {
            "--calls" => args.calls = usize::try_from(number(value())).unwrap_or(usize::MAX),
            "--interval-ms" => args.interval = Duration::from_millis(number(value()).max(1)),
            "--secs" => args.secs = number(value()),
            "--tasks" => args.tasks = usize::try_from(number(value())).unwrap_or(usize::MAX),
            "--threads" => args.threads = usize::try_from(number(value())).unwrap_or(usize::MAX),
            "--callee" => match value().as_str() {
                "ready" => args.awaits = false,
                "yield" => args.awaits = true,
                other => fail(&format!("--callee: `{other}` is not `ready` or `yield`")),
            },
            "--only" => args.only = Some(value()),
            // `cargo bench` passes `--bench`; a filter word may follow.
            _ => {}
        }
    }
    args
}

fn fail(message: &str) -> ! {
    eprintln!("cost: {message}");
    std::process::exit(2)
}

/// CPU time of every thread of the process, in nanoseconds (the runtime's threads, the
/// timer's included; the process is otherwise idle while it is measured).
fn process_cpu_ns() -> u64 {
    let tasks = std::fs::read_dir("/proc/self/task")
        .unwrap_or_else(|err| fail(&format!("cannot list /proc/self/task (Linux only): {err}")));
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or_else(
            || fail("cannot read /proc/self/statm (Linux only)"),
            |pages| pages * 4096,
        )
}

fn per_item(bytes: u64, count: usize) -> f64 {
    (bytes as f64 / count.max(1) as f64).round()
}

fn main() {
    let args = args();
    let runtime = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(args.threads);
        builder
    }
    .enable_time()
    .build()
    .unwrap_or_else(|err| fail(&format!("cannot start the tokio runtime: {err}")));
    match args.only.as_deref() {
        Some("looping") => runtime.block_on(looping(&args)),
        Some("register") => register(&args),
        Some(other) => fail(&format!("--only: `{other}` is not `looping` or `register`")),
        // Each part in a process of its own: resident memory does not shrink when memory
        // is freed, and a part measured after another would reuse the memory it freed.
        None => {
            let exe = std::env::current_exe()
                .unwrap_or_else(|err| fail(&format!("cannot find this program: {err}")));
            for part in ["looping", "register"] {
                let status = std::process::Command::new(&exe)
                    .args(std::env::args().skip(1))
                    .args(["--only", part])
                    .status()
                    .unwrap_or_else(|err| fail(&format!("cannot run {}: {err}", exe.display())));
                if !status.success() {
                    fail(&format!("the `{part}` part failed: {status}"));
                }
            }
        }
    }
}

/// The callee both kinds run: one atomic increment (and, with `--callee yield`, one
/// `yield_now`), so that the loop's own cost dominates.
fn callee(
    runs: &Arc<AtomicU64>,
    awaits: bool,
) -> impl FnMut() -> Pin<Box<dyn Future<Output = ControlFlow<()>> + Send>> + Send + 'static {
    let runs = Arc::clone(runs);
    move || {
        runs.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            if awaits {
                tokio::task::yield_now().await;
            }
            ControlFlow::Continue(())
        })
    }
}

fn spawn_raw(
    interval: Duration,
    awaits: bool,
    runs: &Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let mut f = callee(runs, awaits);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            if f().await.is_break() {
                break;
            }
        }
    })
}

fn spawn_fixed(
    interval: Duration,
    awaits: bool,
    runs: &Arc<AtomicU64>,
) -> periodic::LoopingCall<(), std::convert::Infallible> {
    FixedInterval::new(interval, callee(runs, awaits))
        .name("bench")
        .start()
}

async fn settle() {
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}

async fn looping(args: &Args) {
    let n = args.calls;
    let runs = Arc::new(AtomicU64::new(0));
    // Warm the allocator and the timer wheel up, so that their fixed costs are not counted.
    let warm: Vec<_> = (0..1000)
        .map(|_| spawn_raw(args.interval, args.awaits, &runs))
        .collect();
    let warm2: Vec<_> = (0..1000)
        .map(|_| spawn_fixed(args.interval, args.awaits, &runs))
        .collect();
    settle().await;
    warm.iter().for_each(tokio::task::JoinHandle::abort);
    warm2.iter().for_each(periodic::LoopingCall::abort);
    drop((warm, warm2));
    settle().await;

    // Memory: both kinds alive at once, each measured as it starts.
    let before = resident_bytes();
    let mut raw = Vec::with_capacity(n);
    let raw_vec = std::mem::size_of_val(raw.spare_capacity_mut()) as u64;
    raw.extend((0..n).map(|_| spawn_raw(args.interval, args.awaits, &runs)));
    settle().await;
    let raw_bytes = per_item(resident_bytes().saturating_sub(before + raw_vec), n);
    let before = resident_bytes();
    let mut fixed = Vec::with_capacity(n);
    let fixed_vec = std::mem::size_of_val(fixed.spare_capacity_mut()) as u64;
    fixed.extend((0..n).map(|_| spawn_fixed(args.interval, args.awaits, &runs)));
    settle().await;
    let fixed_bytes = per_item(resident_bytes().saturating_sub(before + fixed_vec), n);
    raw.iter().for_each(tokio::task::JoinHandle::abort);
    for call in &fixed {
        call.stop();
    }
    for mut call in fixed {
        let _ = call.wait().await;
    }
    drop(raw);
    settle().await;

    // CPU: each kind alone for `secs`.
    let window = Duration::from_secs(args.secs);
    let raw_cpu = cpu_of(n, window, &runs, |runs| {
        let handles: Vec<_> = (0..n)
            .map(|_| spawn_raw(args.interval, args.awaits, runs))
            .collect();
        move || handles.iter().for_each(tokio::task::JoinHandle::abort)
    })
    .await;
    let fixed_cpu = cpu_of(n, window, &runs, |runs| {
        let calls: Vec<_> = (0..n)
            .map(|_| spawn_fixed(args.interval, args.awaits, runs))
            .collect();
        move || calls.iter().for_each(periodic::LoopingCall::stop)
    })
    .await;

    let mut flavor = match args.threads {
        0 => "current-thread runtime".to_owned(),
        n => format!("{n} worker threads"),
    };
    if args.awaits {
        flavor.push_str(", callee awaits once");
    }
    println!(
        "| {n} loops every {} ms, {} s, {flavor} | raw `tokio::time::interval` | `FixedInterval` | ratio |",
        args.interval.as_millis(),
        args.secs
    );
    println!("|---|---|---|---|");
    println!(
        "| CPU (all threads) | {:.0} ms ({} runs) | {:.0} ms ({} runs) | {:.2}x |",
        raw_cpu.0 as f64 / 1e6,
        raw_cpu.1,
        fixed_cpu.0 as f64 / 1e6,
        fixed_cpu.1,
        fixed_cpu.0 as f64 / raw_cpu.0.max(1) as f64
    );
    println!(
        "| resident memory per running call | {raw_bytes} B | {fixed_bytes} B | {:.2}x |",
        fixed_bytes / raw_bytes.max(1.0)
    );
    println!();
}

/// Starts `n` loops with `start`, lets them run for one interval's warm-up, then measures
/// the thread's CPU time and the runs over `window`; stops them with what `start` returned.
async fn cpu_of<S, Stop>(n: usize, window: Duration, runs: &Arc<AtomicU64>, start: S) -> (u64, u64)
where
    S: FnOnce(&Arc<AtomicU64>) -> Stop,
    Stop: FnOnce(),
{
    let _ = n;
    let stop = start(runs);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (cpu0, runs0) = (process_cpu_ns(), runs.load(Ordering::Relaxed));
    tokio::time::sleep(window).await;
    let (cpu1, runs1) = (process_cpu_ns(), runs.load(Ordering::Relaxed));
    stop();
    settle().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    (cpu1 - cpu0, runs1 - runs0)
}

#[derive(Debug)]
struct Manager;

fn register(args: &Args) {
    let n = args.tasks;
    let spacing = |i: usize| 60 + (i as u64 % 3540);

    let before = resident_bytes();
    let clock = StdInstant::now();
    let runner = PeriodicRunner::<Manager>::new(Arc::new(Manager))
        .unwrap_or_else(|err| fail(&format!("cannot build the runner: {err}")));
    for i in 0..n {
        runner
            .add_periodic_task(
                PeriodicTask::new(format!("task{i}"), |_m: Arc<Manager>, _c: Arc<()>| async {})
                    .spacing(Duration::from_secs(spacing(i))),
            )
            .unwrap_or_else(|err| fail(&format!("cannot add a task: {err}")));
    }
    let ours_time = clock.elapsed();
    let ours_bytes = per_item(resident_bytes().saturating_sub(before), n);

    let before = resident_bytes();
    let clock = StdInstant::now();
    let mut scheduler = clokwerk::Scheduler::new();
    for i in 0..n {
        #[allow(clippy::cast_possible_truncation, reason = "spacing <= 3600")]
        let secs = spacing(i) as u32;
        scheduler
            .every(clokwerk::Interval::Seconds(secs))
            .run(|| {});
    }
    let theirs_time = clock.elapsed();
    let theirs_bytes = per_item(resident_bytes().saturating_sub(before), n);

    println!("| {n} tasks registered | `PeriodicRunner` | `clokwerk::Scheduler` | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| time | {:.0} ms | {:.0} ms | {:.2}x |",
        ours_time.as_secs_f64() * 1e3,
        theirs_time.as_secs_f64() * 1e3,
        ours_time.as_secs_f64() / theirs_time.as_secs_f64().max(1e-9)
    );
    println!(
        "| resident memory per task | {ours_bytes} B | {theirs_bytes} B | {:.2}x |",
        ours_bytes / theirs_bytes.max(1.0)
    );
    drop((runner, scheduler));
}
