//! `run_periodic_tasks` against oslo.service's behaviour (oslo-semantics.md 5.1), in paused
//! tokio time. Times are seconds since the runner was built ("t0"). Tasks are added at run
//! time here so each test spells out its own manager; the macro path is covered by
//! `tests/registry.rs`.

// The expected times are exact: whole or binary-exact seconds computed from integer
// nanoseconds, compared with oslo's values.
#![allow(clippy::float_cmp)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    BoxError, Concurrency, ErrorKind, ErrorPolicy, IdlePolicy, Jitter, PeriodicRunner,
    PeriodicTask, RunOutcome, RunnerOptions, Spacing,
};
use tokio::time::{Instant, advance};

/// A manager that records which task ran when (seconds since t0).
struct Recorder {
    t0: Instant,
    runs: Mutex<Vec<(&'static str, f64)>>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Recorder {
            t0: Instant::now(),
            runs: Mutex::new(Vec::new()),
        })
    }
    fn record(&self, name: &'static str) {
        let t = (Instant::now() - self.t0).as_secs_f64();
        self.runs.lock().unwrap().push((name, t));
    }
    fn runs(&self) -> Vec<(&'static str, f64)> {
        self.runs.lock().unwrap().clone()
    }
    fn count(&self, name: &str) -> usize {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| *n == name)
            .count()
    }
    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.runs.lock().unwrap())
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }
}

/// A task that records itself, takes `duration` seconds and optionally fails.
fn task(name: &'static str, spacing: f64, duration: f64, fails: bool) -> PeriodicTask<Recorder> {
    PeriodicTask::new(name, move |m: Arc<Recorder>, _ctx: Arc<()>| async move {
        m.record(name);
        if duration > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(duration)).await;
        }
        if fails {
            Err::<(), BoxError>(format!("{name} failed").into())
        } else {
            Ok(())
        }
    })
    .spacing(Spacing::from_secs_f64(spacing).unwrap())
}

fn oslo(rec: &Arc<Recorder>) -> PeriodicRunner<Recorder> {
    PeriodicRunner::builder(Arc::clone(rec))
        .idle_policy(IdlePolicy::Oslo)
        .jitter(Jitter::None)
        .build()
        .unwrap()
}

fn precise(rec: &Arc<Recorder>) -> PeriodicRunner<Recorder> {
    PeriodicRunner::builder(Arc::clone(rec))
        .idle_policy(IdlePolicy::Precise)
        .jitter(Jitter::None)
        .build()
        .unwrap()
}

/// Advances paused time to `secs` after `t0`.
async fn at(t0: Instant, secs: f64) {
    let target = t0 + Duration::from_secs_f64(secs);
    let now = Instant::now();
    assert!(target >= now, "time only moves forward");
    advance(target - now).await;
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn last_run(runner: &PeriodicRunner<Recorder>, t0: Instant, name: &str) -> Option<f64> {
    runner
        .task(name)
        .unwrap()
        .last_run
        .map(|t| (t - t0).as_secs_f64())
}

// 5.1 case 3, test_periodic_tasks_idle_calculation:
//
//   t0        5         10
//   |---------|---------|----->
//   built     idle 5    runs, idle 10, last = 10
#[tokio::test(start_paused = true)]
async fn oslo_idle_calculation() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false))
        .unwrap();
    let t0 = rec.t0;
    at(t0, 5.0).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 5.0);
    assert_eq!(last_run(&runner, t0, "t"), Some(0.0));
    assert_eq!(rec.count("t"), 0);
    at(t0, 10.0).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(last_run(&runner, t0, "t"), Some(10.0));
    assert_eq!(rec.count("t"), 1);
}

// 5.1 case 4, test_periodic_tasks_immediate_runs_now.
#[tokio::test(start_paused = true)]
async fn oslo_immediate_runs_now() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false).run_immediately(true))
        .unwrap();
    let t0 = rec.t0;
    assert_eq!(last_run(&runner, t0, "t"), None);
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(last_run(&runner, t0, "t"), Some(0.0));
    assert_eq!(rec.count("t"), 1);
    at(t0, 5.0).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 5.0);
    assert_eq!(rec.count("t"), 1);
}

// 5.1 case 5, test_called_thrice, with the derived idle values and last runs (rand = 0).
// Clock 340 is the runner's t0.
#[tokio::test(start_paused = true)]
async fn oslo_called_thrice() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    for t in [
        task("doit", 0.0, 0.0, false),
        task("crashit", 60.0, 0.0, true),
        task("ticks", 70.0, 0.0, false).run_immediately(true),
        task("tocks", 70.0, 0.0, false),
        task("ext1", 60.0, 0.0, false),
        task("ext2", 70.0, 0.0, false),
    ] {
        assert!(runner.add_periodic_task(t).unwrap());
    }
    let t0 = rec.t0;
    let names = ["doit", "crashit", "ticks", "tocks", "ext1", "ext2"];
    let counts = |rec: &Recorder| names.map(|n| rec.count(n));
    let base = 340.0;
    let lasts = |runner: &PeriodicRunner<Recorder>| {
        names.map(|n| last_run(runner, t0, n).map(|t| t + base))
    };

    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 60.0);
    assert_eq!(counts(&rec), [0, 0, 1, 0, 0, 0]);

    at(t0, 400.0 - base).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(counts(&rec), [1, 1, 1, 0, 1, 0]);
    let l = lasts(&runner);
    assert_eq!((l[0], l[1], l[4]), (Some(400.0), Some(400.0), Some(400.0)));

    at(t0, 430.0 - base).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 30.0);
    assert_eq!(counts(&rec), [1, 1, 2, 1, 1, 1]);
    let l = lasts(&runner);
    assert_eq!((l[2], l[3], l[5]), (Some(410.0), Some(410.0), Some(410.0)));

    at(t0, 490.0 - base).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 60.0);
    assert_eq!(counts(&rec), [2, 2, 3, 2, 2, 2]);
    assert_eq!(
        lasts(&runner),
        [460.0, 460.0, 480.0, 480.0, 460.0, 480.0].map(Some)
    );
    // crashit's failures were logged, counted, and did not stop the tasks after it.
    assert_eq!(runner.task("crashit").unwrap().failures, 2);
    assert_eq!(runner.task("doit").unwrap().failures, 0);
}

// 5.1 case 6, test_called_correct: one call per second for 200 s, spacing 9.
#[tokio::test(start_paused = true)]
async fn oslo_called_correct() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 9.0, 0.0, false))
        .unwrap();
    for i in 0..=200u32 {
        at(rec.t0, f64::from(i)).await;
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        assert_eq!(rec.count("t"), (i / 9) as usize, "runs after second {i}");
        let expect = if i % 9 == 0 { 9 } else { 9 - i % 9 };
        assert_eq!(
            idle,
            Duration::from_secs(u64::from(expect)),
            "idle at second {i}"
        );
    }
}

// 5.1 cases 7 and 8: raise_on_error stops the pass; the raising task's last run has
// already advanced and the tasks after it did not run.
#[tokio::test(start_paused = true)]
async fn oslo_raise_on_error_ordering() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("first", 10.0, 0.0, true).run_immediately(true))
        .unwrap();
    runner
        .add_periodic_task(task("second", 10.0, 0.0, false).run_immediately(true))
        .unwrap();
    let t0 = rec.t0;
    let err = runner
        .run_periodic_tasks_with((), ErrorPolicy::Propagate)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.to_string(), "Error during Recorder.first: first failed");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "first failed"
    );
    assert_eq!(last_run(&runner, t0, "first"), Some(0.0));
    assert_eq!(last_run(&runner, t0, "second"), None);
    assert_eq!(rec.take(), ["first"]);

    // Same instance, logging policy, same time: first is not due, second runs.
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(rec.take(), ["second"]);
    at(t0, 10.0).await;
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(rec.take(), ["first", "second"]);
}

fn system_exit() {
    panic!("SystemExit")
}

// 5.1 case 9 (BaseException): the Rust analogue is a panic. It is logged as a failure, the
// next task runs, the pass returns normally.
#[tokio::test(start_paused = true)]
async fn oslo_panic_is_contained() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(
            PeriodicTask::new("boom", |_m: Arc<Recorder>, _c: Arc<()>| async {
                system_exit();
            })
            .spacing(Duration::from_secs(10))
            .run_immediately(true),
        )
        .unwrap();
    runner
        .add_periodic_task(task("after", 10.0, 0.0, false).run_immediately(true))
        .unwrap();
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(rec.take(), ["after"]);
    let boom = runner.task("boom").unwrap();
    assert_eq!((boom.runs, boom.failures), (1, 1));

    // With Propagate, the panic is returned as a task error naming it.
    at(rec.t0, 10.0).await;
    let err = runner
        .run_periodic_tasks_with((), ErrorPolicy::Propagate)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(
        err.to_string(),
        "Error during Recorder.boom: panicked: SystemExit"
    );
}

// A blocking task that panics is contained the same way.
#[tokio::test(start_paused = true)]
async fn blocking_task_panic_is_contained() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(
            PeriodicTask::blocking(
                "sync_boom",
                |_m: Arc<Recorder>, _c: Arc<()>| -> Result<(), BoxError> { panic!("sync panic") },
            )
            .run_immediately(true),
        )
        .unwrap();
    runner
        .add_periodic_task(task("after", 60.0, 0.0, false).run_immediately(true))
        .unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(rec.take(), ["after"]);
    assert_eq!(runner.task("sync_boom").unwrap().failures, 1);
    assert!(!runner.task("sync_boom").unwrap().running);
}

// 5.1 cases 11, 13, 14: spacing 0 is 60 s, a negative spacing or `enabled = false` keeps the
// task out of the schedule (listed, not enabled), and with nothing to run the idle is 60 s.
#[tokio::test(start_paused = true)]
async fn oslo_defaults_and_disabled() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    assert!(
        runner
            .add_periodic_task(task("foo", 0.0, 0.0, false))
            .unwrap()
    );
    assert!(
        runner
            .add_periodic_task(task("bar", 4.0, 0.0, false))
            .unwrap()
    );
    assert!(
        !runner
            .add_periodic_task(task("baz", 10.0, 0.0, false).enabled(false))
            .unwrap()
    );
    assert!(
        !runner
            .add_periodic_task(task("neg", -1.0, 0.0, false).run_immediately(true))
            .unwrap()
    );
    let by_name = |n: &str| runner.task(n).unwrap();
    assert_eq!(by_name("foo").spacing, Spacing::Default);
    assert_eq!(by_name("foo").interval, Some(Duration::from_secs(60)));
    assert_eq!(by_name("bar").interval, Some(Duration::from_secs(4)));
    assert!(by_name("foo").runnable && by_name("bar").runnable);
    assert!(!by_name("baz").runnable && !by_name("neg").runnable);
    // Why each one does not run: its own switch, or its spacing.
    assert!(!by_name("baz").enabled);
    assert!(by_name("neg").enabled);
    assert_eq!(by_name("neg").spacing, Spacing::Disabled);
    assert_eq!(by_name("neg").interval, None);
    assert_eq!(by_name("baz").next_due, None);
    assert_eq!(runner.tasks().len(), 4);
    for t in 0..=120 {
        at(rec.t0, f64::from(t)).await;
        runner.run_periodic_tasks(()).await.unwrap();
    }
    assert_eq!((rec.count("baz"), rec.count("neg")), (0, 0));
    assert_eq!((rec.count("foo"), rec.count("bar")), (2, 30));

    let only_disabled = Recorder::new();
    let r2 = oslo(&only_disabled);
    r2.add_periodic_task(task("neg", -1.0, 0.0, false)).unwrap();
    assert_eq!(secs(r2.run_periodic_tasks(()).await.unwrap()), 60.0);
}

// 5.1 cases 12 and 13: a single long-spacing task, and spacing 0, return 60.
#[tokio::test(start_paused = true)]
async fn oslo_idle_is_capped_at_default_interval() {
    for spacing in [200.0, 0.0] {
        let rec = Recorder::new();
        let runner = oslo(&rec);
        runner
            .add_periodic_task(task("t", spacing, 0.0, false))
            .unwrap();
        assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 60.0);
    }
}

// 5.1 cases 15 and 16: external_process_ok tasks.
#[tokio::test(start_paused = true)]
async fn oslo_external_tasks() {
    for (run_external, expect_runs, expect_idle) in
        [(false, vec!["loc"], 50.0), (true, vec!["ext", "loc"], 3.0)]
    {
        let rec = Recorder::new();
        let runner = PeriodicRunner::builder(Arc::clone(&rec))
            .idle_policy(IdlePolicy::Oslo)
            .run_external_periodic_tasks(run_external)
            .build()
            .unwrap();
        runner
            .add_periodic_task(
                task("ext", 3.0, 0.0, false)
                    .external_process_ok(true)
                    .run_immediately(true),
            )
            .unwrap();
        runner
            .add_periodic_task(task("loc", 50.0, 0.0, false).run_immediately(true))
            .unwrap();
        assert_eq!(runner.tasks().len(), 2, "both are registered");
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        assert_eq!(rec.take(), expect_runs);
        assert_eq!(secs(idle), expect_idle);
        let ext = runner.task("ext").unwrap();
        assert_eq!(ext.runnable, run_external);
        assert!(ext.enabled, "skipped as external, not disabled");
    }
}

// 5.1 case 17: two tasks, spacing 5 and 7, from t = 0, called at the given times.
#[tokio::test(start_paused = true)]
async fn oslo_two_tasks_table() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("a", 5.0, 0.0, false))
        .unwrap();
    runner
        .add_periodic_task(task("b", 7.0, 0.0, false))
        .unwrap();
    let table: &[(f64, &[&str], f64)] = &[
        (0.0, &[], 5.0),
        (3.0, &[], 2.0),
        (5.0, &["a"], 2.0),
        (6.0, &[], 1.0),
        (7.0, &["b"], 3.0),
        (10.0, &["a"], 4.0),
        (12.0, &[], 2.0),
        (14.0, &["b"], 1.0),
        (14.5, &[], 0.5),
        (15.0, &["a"], 5.0),
        (21.0, &["a", "b"], 5.0),
    ];
    for &(t, runs, idle) in table {
        at(rec.t0, t).await;
        let got = runner.run_periodic_tasks(()).await.unwrap();
        assert_eq!(rec.take(), runs, "runs at t={t}");
        assert_eq!(secs(got), idle, "idle at t={t}");
    }
    assert_eq!(last_run(&runner, rec.t0, "a"), Some(20.0));
    assert_eq!(last_run(&runner, rec.t0, "b"), Some(21.0));
}

/// Drives `runner` as a service's dynamic timer does: pass, sleep the returned idle, until
/// `horizon`. Returns the pass start times.
async fn drive(
    runner: &PeriodicRunner<Recorder>,
    t0: Instant,
    first: f64,
    horizon: f64,
) -> Vec<f64> {
    at(t0, first).await;
    let mut passes = Vec::new();
    while (Instant::now() - t0).as_secs_f64() <= horizon {
        passes.push((Instant::now() - t0).as_secs_f64());
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        tokio::time::sleep(idle).await;
    }
    passes
}

// 5.1 case 18, overdue task. oslo's idle keeps a late task late for ever:
//
//   grid   30    40    50    60
//   runs     35    45    55    65      (Oslo)
#[tokio::test(start_paused = true)]
async fn oslo_overdue_task_stays_late() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false))
        .unwrap();
    at(rec.t0, 35.0).await;
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(last_run(&runner, rec.t0, "t"), Some(30.0));
    at(rec.t0, 39.9).await;
    assert!((secs(runner.run_periodic_tasks(()).await.unwrap()) - 0.1).abs() < 1e-9);
    at(rec.t0, 40.0).await;
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(last_run(&runner, rec.t0, "t"), Some(40.0));

    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false))
        .unwrap();
    drive(&runner, rec.t0, 35.0, 65.0).await;
    assert_eq!(
        rec.runs(),
        [("t", 35.0), ("t", 45.0), ("t", 55.0), ("t", 65.0)]
    );
}

// Difference from oslo (5.1 case 18): the Precise policy brings the late task back on its
// grid after one run.
//
//   grid   30    40    50    60
//   runs     35 40    50    60         (Precise)
#[tokio::test(start_paused = true)]
async fn difference_precise_overdue_task_returns_to_grid() {
    let rec = Recorder::new();
    let runner = precise(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false))
        .unwrap();
    drive(&runner, rec.t0, 35.0, 65.0).await;
    assert_eq!(
        rec.runs(),
        [("t", 35.0), ("t", 40.0), ("t", 50.0), ("t", 60.0)]
    );
}

// 5.1 case 19, a slow task (3 s, spacing 10, immediate) under oslo's idle: starts at
// 0, 13, 26, 39, 52 with last runs 0, 10, 20, 30, 50 (the 40 boundary is skipped).
#[tokio::test(start_paused = true)]
async fn oslo_slow_task() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("slow", 10.0, 3.0, false).run_immediately(true))
        .unwrap();
    let mut lasts = Vec::new();
    let t0 = rec.t0;
    while (Instant::now() - t0).as_secs_f64() <= 52.0 {
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        lasts.push(last_run(&runner, t0, "slow").unwrap());
        tokio::time::sleep(idle).await;
    }
    let starts: Vec<f64> = rec.runs().into_iter().map(|(_, t)| t).collect();
    assert_eq!(starts, [0.0, 13.0, 26.0, 39.0, 52.0]);
    assert_eq!(lasts, [0.0, 10.0, 20.0, 30.0, 50.0]);
    let info = runner.task("slow").unwrap();
    assert_eq!(info.last_duration, Some(Duration::from_secs(3)));
    assert_eq!(info.runs, 5);
}

// Difference from oslo (case 19): with Precise, the slow task starts on its grid.
#[tokio::test(start_paused = true)]
async fn difference_precise_slow_task_on_grid() {
    let rec = Recorder::new();
    let runner = precise(&rec);
    runner
        .add_periodic_task(task("slow", 10.0, 3.0, false).run_immediately(true))
        .unwrap();
    drive(&runner, rec.t0, 0.0, 40.0).await;
    let starts: Vec<f64> = rec.runs().into_iter().map(|(_, t)| t).collect();
    assert_eq!(starts, [0.0, 10.0, 20.0, 30.0, 40.0]);
}

// 5.1 case 20: jitter pushes the last run ahead of the grid (spacing 100, rand 1.0 → 5 s).
#[tokio::test(start_paused = true)]
async fn oslo_jitter_moves_last_run_ahead() {
    let rec = Recorder::new();
    let runner = PeriodicRunner::builder(Arc::clone(&rec))
        .idle_policy(IdlePolicy::Oslo)
        .jitter(Jitter::Oslo)
        .jitter_source(|| 1.0)
        .build()
        .unwrap();
    runner
        .add_periodic_task(task("t", 100.0, 0.0, false))
        .unwrap();
    let t0 = rec.t0;
    let steps: &[(f64, f64, usize)] = &[
        (100.0, 60.0, 1),
        (199.0, 6.0, 1),
        (204.0, 1.0, 1),
        (205.0, 60.0, 2),
        (305.0, 5.0, 2),
    ];
    for &(t, idle, runs) in steps {
        at(t0, t).await;
        assert_eq!(
            secs(runner.run_periodic_tasks(()).await.unwrap()),
            idle,
            "at {t}"
        );
        assert_eq!(rec.count("t"), runs, "at {t}");
    }
    assert_eq!(last_run(&runner, t0, "t"), Some(210.0));
}

// A seeded jitter is reproducible, stays within 0-5 % in whole seconds, and is never drawn
// for spacings of 20 s or less.
#[tokio::test(start_paused = true)]
async fn seeded_jitter_is_reproducible_and_bounded() {
    async fn lasts(seed: u64) -> Vec<f64> {
        let rec = Recorder::new();
        let runner = PeriodicRunner::builder(Arc::clone(&rec))
            .jitter(Jitter::Oslo)
            .seed(seed)
            .build()
            .unwrap();
        runner
            .add_periodic_task(task("t", 200.0, 0.0, false))
            .unwrap();
        let mut out = Vec::new();
        let mut prev = 0.0;
        for _ in 0..30 {
            let idle = runner.run_periodic_tasks(()).await.unwrap();
            tokio::time::sleep(idle).await;
            if let Some(last) = last_run(&runner, rec.t0, "t")
                && last != prev
            {
                // One run per due time: the new last run is the grid point one spacing
                // after the previous one, plus whole seconds of jitter below 5 %.
                let offset = last - prev - 200.0;
                assert!(
                    prev == 0.0 || (offset.fract() == 0.0 && (0.0..10.0).contains(&offset)),
                    "jitter {offset}"
                );
                out.push(last);
                prev = last;
            }
        }
        out
    }
    let a = lasts(7).await;
    assert_eq!(a, lasts(7).await);
    assert!(a.len() >= 3);
}

// Difference from oslo (5.1 case 21): a task that is not run_immediately counts its first
// spacing from the runner's creation, not from import time.
#[tokio::test(start_paused = true)]
async fn difference_first_spacing_counts_from_runner_start() {
    advance(Duration::from_secs(4000)).await; // "import" long before the runner exists
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false))
        .unwrap();
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert_eq!(rec.count("t"), 0);
    at(rec.t0, 10.0).await;
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(rec.count("t"), 1);
}

// Difference from oslo (5.1 case 23): two tasks with one name are an error, not a silent
// collision where only the first runs.
#[tokio::test(start_paused = true)]
async fn difference_duplicate_names_rejected() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("same", 10.0, 0.0, false))
        .unwrap();
    let err = runner
        .add_periodic_task(task("same", 3.0, 0.0, false))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateTask);
    assert!(err.to_string().contains("`same`"), "{err}");
    assert_eq!(runner.tasks().len(), 1);
}

// Difference from oslo (5.1 case 24): a task added at run time belongs to one runner; other
// runners of the same manager type neither see it nor break.
#[tokio::test(start_paused = true)]
async fn difference_runtime_add_is_per_runner() {
    let rec = Recorder::new();
    let j1 = oslo(&rec);
    let j2 = oslo(&rec);
    j1.add_periodic_task(task("dyn", 10.0, 0.0, false).run_immediately(true))
        .unwrap();
    assert_eq!(j2.tasks().len(), 0);
    assert_eq!(secs(j2.run_periodic_tasks(()).await.unwrap()), 60.0);
    j1.run_periodic_tasks(()).await.unwrap();
    assert_eq!(rec.take(), ["dyn"]);
}

// 5.1 case 26: the context object reaches the task untouched.
#[tokio::test(start_paused = true)]
async fn context_is_passed_through() {
    struct Ctx {
        id: u32,
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let runner =
        PeriodicRunner::<Mutex<Vec<u32>>, Ctx>::new(Arc::new(Mutex::new(Vec::new()))).unwrap();
    let seen2 = Arc::clone(&seen);
    runner
        .add_periodic_task(
            PeriodicTask::new("t", move |_m, ctx: Arc<Ctx>| {
                let seen = Arc::clone(&seen2);
                async move {
                    seen.lock().unwrap().push(Arc::as_ptr(&ctx) as usize);
                    Ok::<_, BoxError>(ctx.id)
                }
            })
            .run_immediately(true),
        )
        .unwrap();
    let ctx = Arc::new(Ctx { id: 7 });
    runner.run_periodic_tasks(Arc::clone(&ctx)).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [Arc::as_ptr(&ctx) as usize]);
    assert_eq!(ctx.id, 7);
}

// Tasks run in list order within a pass, and a task that became due while an earlier task
// ran still runs in the same pass when it comes later in the list (oslo checks each task as
// the loop reaches it).
//
//   a (spacing 10, immediate, takes 4 s) runs 0..4; b (spacing 3) is due at 3 and runs at 4
#[tokio::test(start_paused = true)]
async fn due_is_checked_when_the_pass_reaches_the_task() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("a", 10.0, 4.0, false).run_immediately(true))
        .unwrap();
    runner
        .add_periodic_task(task("b", 3.0, 0.0, false))
        .unwrap();
    // oslo: idle = min(60, 10, 3) = 3 (b ran, counts its spacing)
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 3.0);
    assert_eq!(rec.runs(), [("a", 0.0), ("b", 4.0)]);
    assert_eq!(last_run(&runner, rec.t0, "b"), Some(3.0));
    assert_eq!(
        runner.task("b").unwrap().last_lateness,
        Some(Duration::from_secs(1))
    );
}

// ... but a task earlier in the list that became due meanwhile waits for the next pass, and
// oslo's idle counts its remaining time as measured when the pass passed it.
//
//   b (spacing 3, not immediate) checked at 0: remaining 3; a runs 0..4
#[tokio::test(start_paused = true)]
async fn earlier_task_due_meanwhile_waits_for_next_pass() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("b", 3.0, 0.0, false))
        .unwrap();
    runner
        .add_periodic_task(task("a", 10.0, 4.0, false).run_immediately(true))
        .unwrap();
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 3.0);
    assert_eq!(rec.take(), ["a"]);
    // Precise would have said 0: b has been due since t = 3.
    let rec = Recorder::new();
    let runner = precise(&rec);
    runner
        .add_periodic_task(task("b", 3.0, 0.0, false))
        .unwrap();
    runner
        .add_periodic_task(task("a", 10.0, 4.0, false).run_immediately(true))
        .unwrap();
    assert_eq!(runner.run_periodic_tasks(()).await.unwrap(), Duration::ZERO);
}

// Concurrent passes (oslo's run_periodic_tasks_in_parallel, 5.1 case 27): all tasks due at
// the start run at once; the pass lasts as long as the slowest; nothing due → no work.
#[tokio::test(start_paused = true)]
async fn concurrent_pass_runs_due_tasks_together() {
    let rec = Recorder::new();
    let runner = PeriodicRunner::builder(Arc::clone(&rec))
        .idle_policy(IdlePolicy::Oslo)
        .concurrency(Concurrency::Concurrent)
        .build()
        .unwrap();
    runner
        .add_periodic_task(task("idle", 10.0, 0.0, false))
        .unwrap();
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 10.0);
    assert!(rec.runs().is_empty());

    runner
        .add_periodic_task(task("a", 20.0, 5.0, false).run_immediately(true))
        .unwrap();
    runner
        .add_periodic_task(task("b", 20.0, 5.0, true).run_immediately(true))
        .unwrap();
    runner
        .add_periodic_task(
            PeriodicTask::blocking("c", |m: Arc<Recorder>, _c: Arc<()>| m.record("c"))
                .run_immediately(true),
        )
        .unwrap();
    let start = Instant::now();
    let err = runner
        .run_periodic_tasks_with((), ErrorPolicy::Propagate)
        .await
        .unwrap_err();
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(5),
        "a and b overlapped"
    );
    assert_eq!(err.to_string(), "Error during Recorder.b: b failed");
    let mut names: Vec<_> = rec.take();
    names.sort_unstable();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(runner.task("a").unwrap().runs, 1);
    assert_eq!(runner.task("c").unwrap().runs, 1);
}

// A cancelled pass leaves its blocking run going; the next pass does not start the task
// again while it is in flight (a task never overlaps itself).
#[tokio::test(start_paused = true)]
async fn task_never_overlaps_itself_after_a_cancelled_pass() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let started = Arc::new(AtomicUsize::new(0));
    let started2 = Arc::clone(&started);
    runner
        .add_periodic_task(
            PeriodicTask::blocking("stuck", move |_m: Arc<Recorder>, _c: Arc<()>| {
                started2.fetch_add(1, Ordering::SeqCst);
                release_rx.lock().unwrap().recv().unwrap();
            })
            .spacing(Duration::from_secs(1))
            .run_immediately(true),
        )
        .unwrap();
    // Cancel the first pass while the blocking run is in progress.
    let pass = runner.run_periodic_tasks(());
    tokio::select! {
        _ = pass => panic!("the pass cannot finish while the task is stuck"),
        () = async { while started.load(Ordering::SeqCst) == 0 { tokio::task::yield_now().await } } => {}
    }
    assert!(runner.task("stuck").unwrap().running);
    at(rec.t0, 5.0).await;
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "not started a second time"
    );
    release_tx.send(()).unwrap();
    while runner.task("stuck").unwrap().running {
        tokio::task::yield_now().await;
    }
    release_tx.send(()).unwrap(); // lets the next run finish at once
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(started.load(Ordering::SeqCst), 2);
}

// Spacing overrides, as nova takes spacings from configuration.
#[tokio::test(start_paused = true)]
async fn spacing_overrides() {
    let rec = Recorder::new();
    let runner = oslo(&rec);
    runner
        .add_periodic_task(task("t", 10.0, 0.0, false))
        .unwrap();
    runner.set_spacing("t", Duration::from_secs(4)).unwrap();
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 4.0);
    runner.set_spacing("t", Spacing::Disabled).unwrap();
    assert!(!runner.task("t").unwrap().runnable);
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 60.0);
    let err = runner
        .set_spacing("nope", Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "spacing override for `nope`: Recorder has no periodic task of that name (its tasks: t)"
    );
    // A spacing that is not a number is refused where numbers enter: oslo's seconds.
    let err = Spacing::from_secs_f64(f64::NAN).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    // A zero `Every` is refused by the runner (oslo's 0 is `Spacing::Default`).
    let err = runner.set_spacing("t", Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        runner.task("t").unwrap().spacing,
        Spacing::Disabled,
        "unchanged"
    );
    let err = runner
        .add_periodic_task(task("zero", 1.0, 0.0, false).spacing(Duration::ZERO))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(runner.task("zero").is_none());

    let err = PeriodicRunner::<Recorder>::builder(Recorder::new())
        .spacing_override("missing", Duration::from_secs(5))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

// The observer sees every run with its due time, start, duration and outcome.
#[tokio::test(start_paused = true)]
async fn observer_and_introspection() {
    let rec = Recorder::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let runner = PeriodicRunner::builder(Arc::clone(&rec))
        .jitter(Jitter::None)
        .on_task_run(move |run| {
            seen2.lock().unwrap().push((
                run.full_name.to_string(),
                run.lateness(),
                run.duration,
                run.outcome,
            ));
        })
        .build()
        .unwrap();
    runner
        .add_periodic_task(task("ok", 10.0, 2.0, false))
        .unwrap();
    runner
        .add_periodic_task(task("bad", 10.0, 0.0, true))
        .unwrap();
    at(rec.t0, 13.0).await;
    let idle = runner.run_periodic_tasks(()).await.unwrap();
    // Both ran on the 10 s grid point: next due 20, the pass ended at 15.
    assert_eq!(idle, Duration::from_secs(5));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (
                "Recorder.ok".to_owned(),
                Duration::from_secs(3),
                Duration::from_secs(2),
                RunOutcome::Succeeded
            ),
            (
                "Recorder.bad".to_owned(),
                Duration::from_secs(5),
                Duration::ZERO,
                RunOutcome::Failed
            ),
        ]
    );
    let ok = runner.task("ok").unwrap();
    assert_eq!(ok.next_due, Some(rec.t0 + Duration::from_secs(20)));
    assert_eq!((ok.runs, ok.failures), (1, 0));
    assert_eq!(runner.task("bad").unwrap().failures, 1);
    assert_eq!(runner.next_due(), Some(rec.t0 + Duration::from_secs(20)));
}

// The runner's options are one value: the builder takes it whole (`options`), and its own
// setters change the same value afterwards; observers add up and are called in order.
//
// t   0        4        8   10
//     built    a        a   b fails: Propagate (set after `options`) ends the pass
//     a: spacing 4, b: spacing 10 (both wait one spacing)
#[tokio::test(start_paused = true)]
async fn runner_options_are_one_value() {
    let rec = Recorder::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (first, second) = (Arc::clone(&seen), Arc::clone(&seen));
    let options = RunnerOptions::new()
        .idle_policy(IdlePolicy::Oslo)
        .jitter(Jitter::None)
        .error_policy(ErrorPolicy::Log)
        .on_task_run(move |run| first.lock().unwrap().push(format!("first {}", run.name)))
        .on_task_run(move |run| second.lock().unwrap().push(format!("second {}", run.name)));
    let runner = PeriodicRunner::builder(Arc::clone(&rec))
        .options(options)
        .error_policy(ErrorPolicy::Propagate)
        .build()
        .unwrap();
    runner
        .add_periodic_task(task("a", 4.0, 0.0, false))
        .unwrap();
    runner
        .add_periodic_task(task("b", 10.0, 0.0, true))
        .unwrap();

    at(rec.t0, 4.0).await;
    // Oslo's idle: a ran, so its full spacing; b is due in 6.
    assert_eq!(secs(runner.run_periodic_tasks(()).await.unwrap()), 4.0);
    at(rec.t0, 10.0).await;
    let err = runner.run_periodic_tasks(()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.to_string(), "Error during Recorder.b: b failed");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "first a", "second a", "first a", "second a", "first b", "second b"
        ]
    );
}
