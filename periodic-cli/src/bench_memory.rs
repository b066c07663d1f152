//! `periodic bench memory`: resident memory per running looping call and per registered
//! periodic task, measured as the growth of the process's resident set (Linux
//! `/proc/self/statm`) while `count` of each are alive.

use std::sync::Arc;
use std::time::Duration;

use periodic::{FixedInterval, PeriodicRunner, PeriodicTask};
use serde::Serialize;

use crate::error::Error;

/// The result, printed as one JSON object.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    count: usize,
    bytes_per_looping_call: f64,
    bytes_per_task: f64,
}

fn resident_bytes() -> Result<u64, Error> {
    let statm = std::fs::read_to_string("/proc/self/statm")
        .map_err(Error::io("cannot read /proc/self/statm"))?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(Error::Bench("unexpected /proc/self/statm format"))?;
    // Every Linux machine this runs on uses 4 KiB pages; a wrong guess would show as an
    // absurd result rather than pass silently.
    Ok(pages * 4096)
}

#[derive(Debug)]
struct Manager;

/// Bytes per item; both numbers are far below f64's 52-bit mantissa.
#[allow(
    clippy::cast_precision_loss,
    reason = "byte counts and item counts far below 2^52"
)]
fn per_item(bytes: u64, count: usize) -> f64 {
    bytes as f64 / count.max(1) as f64
}

pub(crate) fn run(count: usize) -> Result<Report, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    runtime.block_on(async move {
        // Warm up the allocator and the timer wheel so their fixed costs are not counted.
        let warm: Vec<_> = (0..1000)
            .map(|_| FixedInterval::new(Duration::from_secs(3600), || async {}).start())
            .collect();
        tokio::task::yield_now().await;
        drop(warm);

        // Tasks first, then looping calls; both stay alive so that freed memory is not
        // reused and hidden from the second measurement.
        let before = resident_bytes()?;
        let runner = PeriodicRunner::<Manager>::new(Arc::new(Manager))?;
        for i in 0..count {
            runner.add_periodic_task(
                PeriodicTask::new(format!("task{i}"), |_m: Arc<Manager>, _c: Arc<()>| async {})
                    .spacing(Duration::from_secs(60 + (i as u64 % 3540))),
            )?;
        }
        let after = resident_bytes()?;
        let per_task = per_item(after.saturating_sub(before), count);

        let before = resident_bytes()?;
        let mut calls = Vec::with_capacity(count);
        let handles = std::mem::size_of_val(calls.spare_capacity_mut()) as u64;
        for _ in 0..count {
            calls.push(FixedInterval::new(Duration::from_secs(3600), || async {}).start());
        }
        // Let every loop run once and park on its timer.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        let after = resident_bytes()?;
        // The handles' Vec is the caller's state, not the calls'.
        let per_call = per_item(after.saturating_sub(before).saturating_sub(handles), count);
        for call in &calls {
            call.stop();
        }
        for mut call in calls {
            let _ = call.wait().await;
        }
        drop(runner);
        Ok(Report {
            count,
            bytes_per_looping_call: per_call.round(),
            bytes_per_task: per_task.round(),
        })
    })
}
