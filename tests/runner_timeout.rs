//! A task's `timeout`, in paused tokio time: an async run past it is cancelled and counted
//! as `RunOutcome::TimedOut`; a blocking run cannot be cancelled and is reported as
//! overrunning. Times are seconds since the runner was built.

// The expected times are exact: whole or binary-exact seconds of paused time.
#![allow(clippy::float_cmp)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use periodic::{
    Concurrency, ErrorKind, Jitter, PeriodicRunner, PeriodicTask, RunOutcome, periodic_tasks,
    registered_tasks,
};
use tokio::time::Instant;

struct Manager;

/// Sets its flag when dropped: tells whether a run's future was dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

type Seen = Arc<Mutex<Vec<(f64, f64, RunOutcome, bool)>>>;

/// A runner whose observer records (start, duration, outcome, overran) of every run.
fn runner(concurrency: Concurrency) -> (PeriodicRunner<Manager>, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let t0 = Instant::now();
    let runner = PeriodicRunner::builder(Manager)
        .jitter(Jitter::None)
        .concurrency(concurrency)
        .on_task_run(move |run| {
            record.lock().unwrap().push((
                (run.started - t0).as_secs_f64(),
                run.duration.as_secs_f64(),
                run.outcome,
                run.overran,
            ));
        })
        .build()
        .unwrap();
    (runner, seen)
}

// spacing 5 s, timeout 2 s, runs that would take 10 s:
//
// t (s)   0     2     5     7
//         |════x|     |════x|     cancelled at 2 and 7: TimedOut, failed, future dropped
#[tokio::test(start_paused = true)]
async fn an_async_run_past_its_timeout_is_cancelled() {
    for concurrency in [
        Concurrency::Sequential,
        Concurrency::Concurrent,
        Concurrency::Lanes,
    ] {
        let (runner, seen) = runner(concurrency);
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&dropped);
        runner
            .add_periodic_task(
                PeriodicTask::new("audit", move |_m: Arc<Manager>, _c: Arc<()>| {
                    let guard = Dropped(Arc::clone(&flag));
                    async move {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        drop(guard);
                    }
                })
                .spacing(Duration::from_secs(5))
                .run_immediately(true)
                .timeout(Duration::from_secs(2)),
            )
            .unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            let idle = runner.run_periodic_tasks(()).await.unwrap();
            tokio::time::sleep_until((Instant::now() + idle).min(t0 + Duration::from_secs(8)))
                .await;
        }
        runner.abort_lanes();
        assert!(dropped.load(Ordering::SeqCst), "{concurrency:?}");
        let runs = seen.lock().unwrap().clone();
        assert_eq!(
            runs,
            [
                (0.0, 2.0, RunOutcome::TimedOut, false),
                (5.0, 2.0, RunOutcome::TimedOut, false)
            ],
            "{concurrency:?}"
        );
        let info = runner.task("audit").unwrap();
        assert_eq!((info.runs, info.failures), (2, 2), "{concurrency:?}");
        assert_eq!(info.timeout, Some(Duration::from_secs(2)));
    }
}

// A blocking run cannot be cancelled: at its timeout (1 s) it is warned about, it goes on
// until it returns (here when the test lets it, at 3 s), and it is reported with its own
// outcome and `overran`.
//
// t (s)   0     1           3
//         |═════!═══════════|     overran, Succeeded
#[tokio::test(start_paused = true)]
async fn a_blocking_run_past_its_timeout_overruns() {
    let (runner, seen) = runner(Concurrency::Sequential);
    let (release, wait) = mpsc::channel::<()>();
    let wait = Arc::new(Mutex::new(wait));
    runner
        .add_periodic_task(
            PeriodicTask::blocking("scan", move |_m: Arc<Manager>, _c: Arc<()>| {
                wait.lock().unwrap().recv().unwrap();
            })
            .spacing(Duration::from_secs(60))
            .run_immediately(true)
            .timeout(Duration::from_secs(1)),
        )
        .unwrap();
    let pass = tokio::spawn({
        let runner = runner.clone();
        async move { runner.run_periodic_tasks(()).await }
    });
    tokio::task::yield_now().await; // the pass starts its run at 0
    tokio::time::advance(Duration::from_secs(3)).await;
    assert!(!pass.is_finished(), "the blocking run was not waited for");
    release.send(()).unwrap();
    pass.await.unwrap().unwrap();
    let runs = seen.lock().unwrap().clone();
    assert_eq!(runs.len(), 1);
    let (start, duration, outcome, overran) = runs[0];
    assert_eq!(start, 0.0);
    assert!(duration >= 3.0, "{duration}");
    assert_eq!(outcome, RunOutcome::Succeeded);
    assert!(overran);
    assert_eq!(runner.task("scan").unwrap().failures, 0);
}

// Runs within their timeout are untouched: no timeout, no overrun.
#[tokio::test(start_paused = true)]
async fn a_run_within_its_timeout_is_untouched() {
    let (runner, seen) = runner(Concurrency::Sequential);
    runner
        .add_periodic_task(
            PeriodicTask::new("quick", |_m: Arc<Manager>, _c: Arc<()>| async {
                tokio::time::sleep(Duration::from_millis(1999)).await;
            })
            .run_immediately(true)
            .timeout(Duration::from_secs(2)),
        )
        .unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().clone(),
        [(0.0, 1.999, RunOutcome::Succeeded, false)]
    );
}

#[test]
fn a_zero_timeout_is_refused() {
    let runner = PeriodicRunner::<Manager>::new(Manager).unwrap();
    let err = runner
        .add_periodic_task(
            PeriodicTask::new("audit", |_m: Arc<Manager>, _c: Arc<()>| async {})
                .timeout(Duration::ZERO),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "periodic task Manager.audit: a timeout must be above zero"
    );
}

struct Declared;

#[periodic_tasks]
impl Declared {
    #[periodic_task(spacing = 10, run_immediately, timeout = 1.5)]
    async fn hangs(&self) {
        std::future::pending::<()>().await;
    }
}

// The macro's `timeout = 1.5` is the builder's `timeout(1.5 s)`.
#[tokio::test(start_paused = true)]
async fn the_macro_declares_a_timeout() {
    let declared = registered_tasks()
        .into_iter()
        .find(|t| t.owner == "Declared")
        .unwrap();
    assert_eq!(declared.timeout, Some(Duration::from_millis(1500)));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&outcomes);
    let runner = PeriodicRunner::builder(Declared)
        .on_task_run(move |run| {
            seen.lock().unwrap().push((run.duration, run.outcome));
        })
        .build()
        .unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        outcomes.lock().unwrap().clone(),
        [(Duration::from_millis(1500), RunOutcome::TimedOut)]
    );
}
