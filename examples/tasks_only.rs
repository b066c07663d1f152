//! Periodic tasks only: no service, no store, the smallest build of `periodic`.
//!
//! A program that only needs oslo's `@periodic_task` and `run_periodic_tasks` depends on
//! `periodic` without the default features:
//!
//! ```toml
//! [dependencies]
//! periodic = { version = "0.1", default-features = false, features = ["macros"] }
//! tokio = { version = "1", features = ["rt-multi-thread", "macros", "time"] }
//! ```
//!
//! and drives the runner itself: each `run_periodic_tasks` call runs the due tasks and
//! returns how long to sleep. Ends by itself after 2 seconds:
//!
//! ```text
//! cargo run --example tasks_only
//! cargo run --example tasks_only --no-default-features --features macros   # as that user builds it
//! ```
//!
//! `cargo test` runs it too (`test = true, harness = false` in `Cargo.toml`): it exits
//! with an error if a task did not run as often as its spacing says.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use periodic::{PeriodicRunner, periodic_tasks};
use tokio::time::Instant;

#[derive(Default)]
struct Poller {
    polls: AtomicU32,
    rotations: AtomicU32,
}

#[periodic_tasks]
impl Poller {
    /// Every half second, the first run at once.
    #[periodic_task(spacing = 0.5, run_immediately)]
    async fn poll_queue(&self) {
        self.polls.fetch_add(1, Ordering::Relaxed);
    }

    /// Every second, the first run one spacing after the runner started; a plain `fn`
    /// runs on tokio's blocking pool.
    #[periodic_task(spacing = 1)]
    fn rotate_logs(&self) {
        let n = self.rotations.fetch_add(1, Ordering::Relaxed) + 1;
        println!("rotate_logs: rotation {n}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runner = PeriodicRunner::<Poller>::new(Poller::default())?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        let idle = runner.run_periodic_tasks(()).await?;
        println!(
            "pass at {:>4} ms: {} polls so far, next pass in {} ms",
            start.elapsed().as_millis(),
            runner.manager().polls.load(Ordering::Relaxed),
            idle.as_millis()
        );
        tokio::time::sleep(idle).await;
    }
    for task in runner.tasks() {
        println!("{}: runs {}", task.name, task.runs);
    }
    // Due at 0, 0.5, 1, 1.5 s (and 2 s if that pass came before the loop's end); a
    // loaded machine may wake late, hence 3 at least.
    let polls = runner.manager().polls.load(Ordering::Relaxed);
    if !(3..=5).contains(&polls) {
        return Err(format!("poll_queue ran {polls} times in 2 s, expected 4").into());
    }
    Ok(())
}
