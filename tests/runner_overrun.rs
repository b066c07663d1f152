//! What follows a run that outlasts its spacing (`Overrun`), in paused tokio time. One task
//! every 1 s whose first run takes 3.5 s and the others 0.1 s; times are seconds since the
//! runner was built.
//!
//! ```text
//! t (s)        0    1    2    3    4    5
//! RunOnce      R═════════════════╗R   R    R     3.5, 4, 5
//! Skip         R═════════════════╗    R    R     4, 5
//! CatchUp(2)   R═════════════════╗R R R    R     3.5 (point 2), 3.6 (point 3), 4, 5
//! ```

#![allow(clippy::float_cmp)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    Concurrency, Jitter, Overrun, PeriodicRunner, PeriodicTask, periodic_tasks, registered_tasks,
};
use tokio::time::Instant;

struct Manager;

/// The starts (seconds, to the millisecond) of a task every 1 s whose first run takes
/// `first` seconds and the others 0.1 s, with `overrun`, driven for 6 s.
async fn starts(overrun: Overrun, first: f64, concurrency: Concurrency) -> Vec<f64> {
    let t0 = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let runs = Arc::new(AtomicUsize::new(0));
    let runner = PeriodicRunner::builder(Manager)
        .jitter(Jitter::None)
        .concurrency(concurrency)
        .build()
        .unwrap();
    runner
        .add_periodic_task(
            PeriodicTask::new("sync", move |_m: Arc<Manager>, _c: Arc<()>| {
                let t = (Instant::now() - t0).as_secs_f64();
                record.lock().unwrap().push((t * 1000.0).round() / 1000.0);
                let d = if runs.fetch_add(1, Ordering::Relaxed) == 0 {
                    first
                } else {
                    0.1
                };
                async move { tokio::time::sleep(Duration::from_secs_f64(d)).await }
            })
            .spacing(Duration::from_secs(1))
            .run_immediately(true)
            .overrun(overrun),
        )
        .unwrap();
    let end = t0 + Duration::from_millis(5500);
    for _ in 0..1000 {
        if Instant::now() >= end {
            break;
        }
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        tokio::time::sleep_until((Instant::now() + idle).min(end)).await;
    }
    runner.abort_lanes();
    seen.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn run_once_is_the_default_and_oslos() {
    for concurrency in [Concurrency::Sequential, Concurrency::Lanes] {
        assert_eq!(
            starts(Overrun::default(), 3.5, concurrency).await,
            [0.0, 3.5, 4.0, 5.0],
            "{concurrency:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn skip_waits_for_the_next_grid_point() {
    for concurrency in [Concurrency::Sequential, Concurrency::Lanes] {
        assert_eq!(
            starts(Overrun::Skip, 3.5, concurrency).await,
            [0.0, 4.0, 5.0],
            "{concurrency:?}"
        );
    }
}

// Points 1, 2, 3 were missed; catch_up(2) runs the two most recent back to back.
#[tokio::test(start_paused = true)]
async fn catch_up_runs_the_missed_points_within_its_bound() {
    for concurrency in [Concurrency::Sequential, Concurrency::Lanes] {
        assert_eq!(
            starts(Overrun::CatchUp(2), 3.5, concurrency).await,
            [0.0, 3.5, 3.6, 4.0, 5.0],
            "{concurrency:?}"
        );
        // A bound above what was missed makes up every point: 1, 2, 3.
        assert_eq!(
            starts(Overrun::CatchUp(10), 3.5, concurrency).await,
            [0.0, 3.5, 3.6, 3.7, 4.0, 5.0],
            "{concurrency:?}"
        );
    }
}

// A run within its spacing is untouched by every policy.
#[tokio::test(start_paused = true)]
async fn no_overrun_no_difference() {
    for overrun in [Overrun::RunOnce, Overrun::Skip, Overrun::CatchUp(3)] {
        assert_eq!(
            starts(overrun, 0.5, Concurrency::Sequential).await,
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "{overrun:?}"
        );
    }
}

struct Declared;

#[periodic_tasks]
impl Declared {
    #[periodic_task(spacing = 10, overrun = skip)]
    async fn skips(&self) {}

    #[periodic_task(spacing = 10, overrun = catch_up(4))]
    async fn catches_up(&self) {}

    #[periodic_task(spacing = 10)]
    async fn default_policy(&self) {}
}

#[test]
fn the_macro_declares_the_policy() {
    let of = |name: &str| {
        registered_tasks()
            .into_iter()
            .find(|t| t.owner == "Declared" && t.name == name)
            .unwrap()
            .overrun
    };
    assert_eq!(of("skips"), Overrun::Skip);
    assert_eq!(of("catches_up"), Overrun::CatchUp(4));
    assert_eq!(of("default_policy"), Overrun::RunOnce);
}
