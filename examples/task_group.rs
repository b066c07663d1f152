//! A task group: oslo.service's `ThreadGroup`, stopped gracefully.
//!
//! A `TaskGroup` owns timers (looping calls) and tasks. `stop(Shutdown::Graceful)` stops
//! every timer first (a sleep ends at once, a run in progress finishes), then waits for
//! each task to end by itself; `Shutdown::Immediate` would cancel the tasks instead.
//! Needs no cargo feature; ends by itself in about half a second:
//!
//! ```text
//! cargo run --example task_group
//! ```
//!
//! `cargo test` runs it too (`test = true, harness = false` in `Cargo.toml`): it exits
//! with an error if the group did not stop the way it says.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use periodic::{DynamicInterval, FixedInterval, Shutdown, TaskGroup};
use tokio::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let at = move || start.elapsed().as_millis();
    let tg = TaskGroup::new();

    // A heartbeat-like timer every 100 ms (oslo's `add_timer`).
    let beats = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&beats);
    tg.add_timer(FixedInterval::new(Duration::from_millis(100), move || {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        async move { println!("timer:    beat {n} at {:>3} ms", at()) }
    }));

    // A timer that sleeps what its callee returns (oslo's `add_dynamic_timer`); its
    // one-minute sleep is cut short by the stop.
    tg.add_dynamic_timer(DynamicInterval::new(|| async {
        std::ops::ControlFlow::<(), _>::Continue(Some(Duration::from_secs(60)))
    }));

    // Work that must not be cut off: a graceful stop waits for it (oslo's `add_thread`).
    let upload = tg.add_task(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        println!("task:     image upload finished at {:>3} ms", at());
        "uploaded"
    });
    // Blocking work runs on tokio's blocking pool, in the group too.
    let checksum = tg.add_blocking_task(|| (1..=1000_u64).sum::<u64>());

    println!(
        "group:    {} timers, {} tasks",
        tg.timer_count(),
        tg.task_count()
    );
    tokio::time::sleep(Duration::from_millis(250)).await;

    println!("group:    graceful stop at {:>3} ms", at());
    let beats_at_stop = beats.load(Ordering::Relaxed);
    tg.stop(Shutdown::Graceful).await; // timers stop now, the upload finishes first
    let beats = beats.load(Ordering::Relaxed);
    println!(
        "group:    stopped at {:>3} ms after {beats} beats; {} timers, {} tasks left",
        at(),
        tg.timer_count(),
        tg.task_count()
    );

    let upload = upload.await?; // Some(output): the task ran to its end
    let checksum = checksum.await?;
    println!("results:  upload {upload:?}, checksum {checksum:?}");
    if upload != Some("uploaded") || checksum != Some(500_500) || tg.task_count() != 0 {
        return Err("the graceful stop did not let the work finish".into());
    }
    if beats != beats_at_stop {
        return Err(format!("the timer beat after the stop: {beats_at_stop} -> {beats}").into());
    }
    Ok(())
}
