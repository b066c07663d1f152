//! `Concurrency::Lanes`: every task in a lane of its own, in paused tokio time. Times are
//! seconds since the runner was built; passes are driven as a service drives them (sleep
//! what each pass returns), for a bounded time.

#![allow(clippy::float_cmp)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    BoxError, Concurrency, ErrorKind, ErrorPolicy, Jitter, PeriodicRunner, PeriodicTask, RunOutcome,
};
use tokio::time::Instant;

/// Records which task started when, and how many runs of each are in progress.
struct Recorder {
    t0: Instant,
    starts: Mutex<Vec<(String, f64)>>,
    running: Mutex<std::collections::HashMap<String, usize>>,
    /// The most runs of one task ever in progress at once.
    most_at_once: AtomicUsize,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Recorder {
            t0: Instant::now(),
            starts: Mutex::new(Vec::new()),
            running: Mutex::new(std::collections::HashMap::new()),
            most_at_once: AtomicUsize::new(0),
        })
    }

    fn start(&self, name: &str) {
        let t = (Instant::now() - self.t0).as_secs_f64();
        self.starts.lock().unwrap().push((name.to_owned(), t));
        let mut running = self.running.lock().unwrap();
        let n = running.entry(name.to_owned()).or_default();
        *n += 1;
        self.most_at_once.fetch_max(*n, Ordering::Relaxed);
    }

    fn end(&self, name: &str) {
        *self.running.lock().unwrap().get_mut(name).unwrap() -= 1;
    }

    fn starts_of(&self, name: &str) -> Vec<f64> {
        self.starts_before(name, f64::INFINITY)
    }

    fn starts_before(&self, name: &str, horizon: f64) -> Vec<f64> {
        self.starts
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, t)| n == name && *t < horizon)
            .map(|(_, t)| *t)
            .collect()
    }
}

/// A task every `spacing` seconds, first run at once, taking `durations[k % len]` seconds
/// on its k-th run.
fn task(name: &'static str, spacing: f64, durations: &[f64]) -> PeriodicTask<Recorder> {
    let durations: Arc<[f64]> = durations.into();
    let k = Arc::new(AtomicUsize::new(0));
    PeriodicTask::new(name, move |m: Arc<Recorder>, _ctx: Arc<()>| {
        let d = durations[k.fetch_add(1, Ordering::Relaxed) % durations.len()];
        async move {
            m.start(name);
            tokio::time::sleep(Duration::from_secs_f64(d)).await;
            m.end(name);
        }
    })
    .spacing(Duration::from_secs_f64(spacing))
    .run_immediately(true)
}

fn runner(rec: &Arc<Recorder>, concurrency: Concurrency) -> PeriodicRunner<Recorder> {
    PeriodicRunner::builder(Arc::clone(rec))
        .concurrency(concurrency)
        .jitter(Jitter::None)
        .build()
        .unwrap()
}

/// Drives passes as a service does until `horizon` seconds after t0 (at most 10,000
/// passes), then returns.
async fn drive(runner: &PeriodicRunner<Recorder>, rec: &Recorder, horizon: f64) {
    let end = rec.t0 + Duration::from_secs_f64(horizon);
    for _ in 0..10_000 {
        if Instant::now() >= end {
            return;
        }
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        tokio::time::sleep(idle.min(end - Instant::now())).await;
    }
    panic!("more than 10,000 passes in {horizon} s");
}

const FAST: [&str; 10] = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"];

/// The scenario: ten fast tasks every 1 s beside one of 2.5 s every 1 s, 15 s.
/// Returns the recorder.
async fn slow_beside_fast(concurrency: Concurrency) -> Arc<Recorder> {
    let rec = Recorder::new();
    let runner = runner(&rec, concurrency);
    runner.add_periodic_task(task("slow", 1.0, &[2.5])).unwrap();
    for name in FAST {
        runner.add_periodic_task(task(name, 1.0, &[0.0])).unwrap();
    }
    drive(&runner, &rec, 15.0).await;
    runner.abort_lanes();
    rec
}

// t (s)   0    1    2    3    4   ...  14
// slow    ════════════╗════════════╗ ...     0, 2.5, 5, 7.5, 10, 12.5: one at a time
// f0..f9  |    |    |    |    |   ...  |     on time, every second: 15 runs each
#[tokio::test(start_paused = true)]
async fn a_slow_task_delays_only_itself() {
    let rec = slow_beside_fast(Concurrency::Lanes).await;
    for name in FAST {
        let starts = rec.starts_before(name, 15.0);
        let expected: Vec<f64> = (0..15).map(f64::from).collect();
        assert_eq!(starts, expected, "{name} was held back");
    }
    assert_eq!(
        rec.starts_before("slow", 15.0),
        [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]
    );
    assert_eq!(
        rec.most_at_once.load(Ordering::Relaxed),
        1,
        "a task overlapped itself"
    );
}

// The same scenario in the pass modes: the fast tasks lose most of their runs, which is what
// lanes are for (the issue measured 50 and 60 of 140 in real time).
#[tokio::test(start_paused = true)]
async fn passes_hold_the_fast_tasks_back() {
    for concurrency in [Concurrency::Sequential, Concurrency::Concurrent] {
        let rec = slow_beside_fast(concurrency).await;
        let fast: usize = FAST.iter().map(|n| rec.starts_before(n, 15.0).len()).sum();
        assert!(fast < 95, "{concurrency:?}: {fast} of 150 fast runs");
    }
}

// One task alone, spacing 1 s, runs of 2.5 s and 0.2 s in turn. After a long run the next
// starts at once; after a short one the lane sleeps to the next grid point itself (the last
// pass said to come back only in 60 s, as no other task is due).
//
// t (s)   0            2.5 2.7 3            5.5 5.7 6
//         ════════════╗═╗     ════════════╗═╗     ═══
#[tokio::test(start_paused = true)]
async fn a_lane_keeps_its_task_between_passes() {
    let rec = Recorder::new();
    let runner = runner(&rec, Concurrency::Lanes);
    runner
        .add_periodic_task(task("alone", 1.0, &[2.5, 0.2]))
        .unwrap();
    let idle = runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        idle,
        periodic::DEFAULT_INTERVAL,
        "the lane holds the only task"
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(rec.starts_of("alone"), [0.0, 2.5, 3.0, 5.5, 6.0]);
    assert_eq!(rec.most_at_once.load(Ordering::Relaxed), 1);
    runner.abort_lanes();
}

// A pass returns at once whatever its tasks take, and does not wait for the tasks its lanes
// hold: `fast` (due at 1 s) and `slow` (due at 30 s) both come before the next pass, 60 s
// on, so their lanes keep them.
#[tokio::test(start_paused = true)]
async fn a_pass_returns_at_once() {
    let rec = Recorder::new();
    let runner = runner(&rec, Concurrency::Lanes);
    runner
        .add_periodic_task(task("slow", 30.0, &[10.0]))
        .unwrap();
    runner.add_periodic_task(task("fast", 1.0, &[0.5])).unwrap();
    let start = Instant::now();
    let idle = runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(Instant::now(), start);
    assert_eq!(idle, periodic::DEFAULT_INTERVAL);
    assert!(runner.task("slow").unwrap().running);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(rec.starts_of("slow"), [0.0, 30.0]);
    assert_eq!(rec.starts_of("fast").len(), 31);
    runner.abort_lanes();
}

// stop_lanes: no run starts after it, and it returns when the runs in progress have ended
// (at 2.5 s); a later pass starts the lanes again.
#[tokio::test(start_paused = true)]
async fn stop_lanes_waits_for_the_runs_in_progress() {
    let rec = Recorder::new();
    let runner = runner(&rec, Concurrency::Lanes);
    runner.add_periodic_task(task("slow", 1.0, &[2.5])).unwrap();
    runner.add_periodic_task(task("fast", 1.0, &[0.0])).unwrap();
    let _ = runner.run_periodic_tasks(()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    runner.stop_lanes().await;
    assert_eq!(rec.t0.elapsed(), Duration::from_millis(2500));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(rec.starts_of("slow"), [0.0]);
    assert_eq!(rec.starts_of("fast"), [0.0, 1.0]);
    assert_eq!(runner.task("slow").unwrap().runs, 1);
    // Handed back: the next pass starts both again.
    let _ = runner.run_periodic_tasks(()).await.unwrap();
    tokio::task::yield_now().await;
    assert_eq!(rec.starts_of("slow"), [0.0, 7.5]);
    assert_eq!(rec.starts_of("fast"), [0.0, 1.0, 7.5]);
    runner.abort_lanes();
}

// abort_lanes drops the async run in progress: it never ends, and is not counted.
#[tokio::test(start_paused = true)]
async fn abort_lanes_drops_the_runs_in_progress() {
    let rec = Recorder::new();
    let runner = runner(&rec, Concurrency::Lanes);
    runner.add_periodic_task(task("slow", 1.0, &[2.5])).unwrap();
    let _ = runner.run_periodic_tasks(()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runner.abort_lanes();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(rec.starts_of("slow"), [0.0]);
    assert_eq!(runner.task("slow").unwrap().runs, 0);
    assert!(!runner.task("slow").unwrap().running);
}

/// A blocking task that always panics.
fn explode(_m: Arc<Recorder>, _c: Arc<()>) {
    panic!("bad state");
}

// A failing or panicking task in a lane is logged and counted and takes no other lane
// down; under ErrorPolicy::Propagate the next pass returns the first failure.
#[tokio::test(start_paused = true)]
async fn failures_stay_in_their_lane() {
    let rec = Recorder::new();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&outcomes);
    let runner = PeriodicRunner::builder(Arc::clone(&rec))
        .concurrency(Concurrency::Lanes)
        .jitter(Jitter::None)
        .error_policy(ErrorPolicy::Propagate)
        .on_task_run(move |run| {
            seen.lock()
                .unwrap()
                .push((run.name.to_string(), run.outcome));
        })
        .build()
        .unwrap();
    runner
        .add_periodic_task(
            PeriodicTask::new("fails", |_m: Arc<Recorder>, _c: Arc<()>| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err::<(), BoxError>("disk full".into())
            })
            .spacing(Duration::from_secs(1))
            .run_immediately(true),
        )
        .unwrap();
    runner
        .add_periodic_task(
            PeriodicTask::blocking("panics", explode)
                .spacing(Duration::from_secs(1))
                .run_immediately(true),
        )
        .unwrap();
    runner.add_periodic_task(task("fine", 1.0, &[0.0])).unwrap();
    // The first pass starts the three and returns before any has failed.
    let _ = runner.run_periodic_tasks(()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let err = runner.run_periodic_tasks(()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert!(
        err.to_string().starts_with("Error during Recorder."),
        "{err}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    runner.abort_lanes();
    assert_eq!(rec.starts_of("fine"), [0.0, 1.0, 2.0, 3.0]);
    let outcomes = outcomes.lock().unwrap();
    let of = |name: &str| {
        outcomes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, o)| *o)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("fails"), [RunOutcome::Failed; 4]);
    assert!(
        of("panics").len() >= 3 && of("panics").iter().all(|o| *o == RunOutcome::Panicked),
        "{:?}",
        of("panics")
    );
    assert_eq!(runner.task("fails").unwrap().failures, 4);
}

// set_spacing on a task its lane is running shows it to the passes again; a pass that
// finds it due but running leaves it to its lane and does not spin (idle 0) waiting for it.
//
// t (s)   0          1.5          2.2         2.5
//         slow runs  spacing 2 s  pass: slow  lane runs slow again (due 2 passed),
//                    (due 2)      running     on the new 2 s grid: 2.5, 5, 7.5
#[tokio::test(start_paused = true)]
async fn set_spacing_while_its_lane_runs() {
    let rec = Recorder::new();
    let runner = runner(&rec, Concurrency::Lanes);
    runner.add_periodic_task(task("slow", 1.0, &[2.5])).unwrap();
    let _ = runner.run_periodic_tasks(()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    runner.set_spacing("slow", Duration::from_secs(2)).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let idle = runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        idle,
        periodic::DEFAULT_INTERVAL,
        "the pass waits for a running task"
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    runner.abort_lanes();
    assert_eq!(rec.starts_of("slow"), [0.0, 2.5, 5.0, 7.5]);
    assert_eq!(rec.most_at_once.load(Ordering::Relaxed), 1);
}
