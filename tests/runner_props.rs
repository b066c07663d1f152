//! Property tests of the schedule maths and of both idle policies, in paused tokio time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{IdlePolicy, Jitter, PeriodicRunner, PeriodicTask, jitter_for, nearest_boundary};
use proptest::prelude::*;
use tokio::time::Instant;

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

proptest! {
    // nearest_boundary returns the latest grid point last + k*spacing not after now, plus
    // the jitter.
    #[test]
    fn nearest_boundary_is_the_latest_grid_point(
        last_ms in 0u64..10_000_000,
        spacing_ms in 1u64..5_000_000,
        after_ms in 0u64..50_000_000,
        u in 0.0f64..1.0,
    ) {
        let t0 = Instant::now();
        let last = t0 + Duration::from_millis(last_ms);
        let now = last + Duration::from_millis(after_ms);
        let spacing = Duration::from_millis(spacing_ms);
        let jitter = jitter_for(spacing, u);
        let got = nearest_boundary(Some(last), spacing, now, jitter);
        let grid = got - jitter;
        prop_assert!(grid <= now);
        prop_assert!(now - grid < spacing);
        prop_assert_eq!((grid - last).as_nanos() % spacing.as_nanos(), 0);
        // oslo's jitter: whole seconds, strictly below 5 % of the spacing.
        prop_assert_eq!(jitter.subsec_nanos(), 0);
        prop_assert!(jitter.as_secs_f64() < spacing.as_secs_f64() / 20.0 || jitter.is_zero());
        prop_assert_eq!(nearest_boundary(None, spacing, now, jitter), now);
    }
}

#[derive(Debug, Clone)]
struct Spec {
    spacing_ms: u64,
    immediate: bool,
    duration_ms: u64,
}

fn specs(max_duration_ms: u64) -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(
        (50u64..4_000, any::<bool>(), 0..=max_duration_ms).prop_map(
            |(spacing_ms, immediate, duration_ms)| Spec {
                spacing_ms,
                immediate,
                duration_ms,
            },
        ),
        1..6,
    )
}

#[derive(Debug)]
struct Run {
    task: usize,
    due: Instant,
    started: Instant,
}

/// Drives a runner as a service does (pass, sleep the returned idle) for `horizon` and
/// returns every run with its due time.
fn drive(policy: IdlePolicy, tasks: &[Spec], horizon: Duration) -> (Instant, Vec<Run>) {
    paused_runtime().block_on(async {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&runs);
        let runner = PeriodicRunner::<()>::builder(())
            .idle_policy(policy)
            .jitter(Jitter::None)
            .on_task_run(move |run| {
                let task = run.name.trim_start_matches('t').parse().unwrap();
                seen.lock().unwrap().push(Run {
                    task,
                    due: run.due,
                    started: run.started,
                });
            })
            .build()
            .unwrap();
        for (i, spec) in tasks.iter().enumerate() {
            let duration = Duration::from_millis(spec.duration_ms);
            runner
                .add_periodic_task(
                    PeriodicTask::new(
                        format!("t{i}"),
                        move |_m: Arc<()>, _c: Arc<()>| async move {
                            tokio::time::sleep(duration).await;
                        },
                    )
                    .spacing(Duration::from_millis(spec.spacing_ms))
                    .run_immediately(spec.immediate),
                )
                .unwrap();
        }
        let t0 = Instant::now();
        while Instant::now() - t0 <= horizon {
            let idle = runner.run_periodic_tasks(()).await.unwrap();
            tokio::time::sleep(idle).await;
        }
        let runs = std::mem::take(&mut *runs.lock().unwrap());
        (t0, runs)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    // Under either policy no task ever runs before it is due, and every task runs.
    #[test]
    fn never_before_due(tasks in specs(300), oslo in any::<bool>()) {
        let policy = if oslo { IdlePolicy::Oslo } else { IdlePolicy::Precise };
        let (_t0, runs) = drive(policy, &tasks, Duration::from_secs(20));
        for run in &runs {
            prop_assert!(run.started >= run.due, "task {} started before due", run.task);
        }
        for i in 0..tasks.len() {
            prop_assert!(runs.iter().any(|r| r.task == i), "task {i} never ran");
        }
    }

    // With the Precise policy and instant tasks every run starts exactly at its grid point
    // (never later), and each task runs exactly once per spacing: run k of task i starts
    // at anchor + k*spacing.
    #[test]
    fn precise_instant_tasks_run_on_their_grid(tasks in specs(0)) {
        let horizon = Duration::from_secs(20);
        let (t0, runs) = drive(IdlePolicy::Precise, &tasks, horizon);
        for run in &runs {
            prop_assert_eq!(run.started, run.due, "task {} was late", run.task);
        }
        for (i, spec) in tasks.iter().enumerate() {
            let spacing = Duration::from_millis(spec.spacing_ms);
            let starts: Vec<Duration> = runs.iter().filter(|r| r.task == i).map(|r| r.started - t0).collect();
            let first = if spec.immediate { Duration::ZERO } else { spacing };
            let mut expected = Vec::new();
            let mut at = first;
            while at <= horizon {
                expected.push(at);
                at += spacing;
            }
            prop_assert_eq!(starts, expected, "task {}", i);
        }
    }

    // With the Oslo policy a run can be late, but never by a spacing or more when tasks are
    // instant: a pass is at most min(spacing) apart.
    #[test]
    fn oslo_instant_tasks_late_by_less_than_a_spacing(tasks in specs(0)) {
        let (_t0, runs) = drive(IdlePolicy::Oslo, &tasks, Duration::from_secs(20));
        for run in &runs {
            let spacing = Duration::from_millis(tasks[run.task].spacing_ms);
            prop_assert!(run.started - run.due < spacing, "task {} late by {:?}", run.task, run.started - run.due);
        }
    }
}
