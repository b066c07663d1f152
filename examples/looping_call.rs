//! Looping calls: oslo.service's `FixedIntervalLoopingCall` and `DynamicLoopingCall`.
//!
//! A `FixedInterval` runs its callee on a fixed grid until the callee returns
//! `ControlFlow::Break(value)` (oslo's `raise LoopingCallDone(value)`); `wait()` then
//! returns `Some(value)`. A `DynamicInterval`'s callee says how long to sleep before its
//! next run, as `run_periodic_tasks` does; here it is stopped from outside with `stop()`.
//! Needs no cargo feature; ends by itself in about a second:
//!
//! ```text
//! cargo run --example looping_call
//! ```
//!
//! `cargo test` runs it too (`test = true, harness = false` in `Cargo.toml`): it exits
//! with an error if a loop did not end the way it says.

use std::ops::ControlFlow;
use std::time::Duration;

use periodic::{DynamicInterval, FixedInterval};
use tokio::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let at = move || start.elapsed().as_millis();

    // Poll every 100 ms until the volume is available; the fifth poll finds it.
    let mut polls = 0;
    let mut wait_for_volume = FixedInterval::new(Duration::from_millis(100), move || {
        polls += 1;
        let step = if polls < 5 {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(polls)
        };
        async move {
            println!("fixed:   poll at {:>3} ms", at());
            step
        }
    })
    .name("wait_for_volume")
    .start();
    // `Some(value)`: the callee broke out of the loop; `None` would mean it was stopped.
    let polls = wait_for_volume.wait().await?;
    println!(
        "fixed:   volume available after {} polls",
        polls.unwrap_or_default()
    );
    if polls != Some(5) {
        return Err(format!("expected Some(5) polls, got {polls:?}").into());
    }

    // Work through a queue quickly, then idle: the callee returns the next delay. A
    // `DynamicInterval` without a `Break` names its break type: `ControlFlow::<(), _>`.
    let start = Instant::now();
    let at = move || start.elapsed().as_millis();
    let mut queue = vec!["resize", "snapshot", "migrate"];
    let mut worker = DynamicInterval::new(move || {
        let delay = if let Some(job) = queue.pop() {
            println!("dynamic: {job} at {:>3} ms, next in 50 ms", at());
            Some(Duration::from_millis(50))
        } else {
            println!("dynamic: queue empty at {:>3} ms, next in 60 s", at());
            Some(Duration::from_secs(60))
        };
        async move { ControlFlow::<(), _>::Continue(delay) }
    })
    .periodic_interval_max(Duration::from_secs(60))
    .start();
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.stop(); // the 60 s sleep ends at once
    let outcome = worker.wait().await?;
    println!("dynamic: stopped at {} ms: {outcome:?}", at());
    if outcome.is_some() {
        return Err("a stopped loop returns None".into());
    }
    Ok(())
}
