//! `periodic bench looping`: how closely a `FixedInterval` keeps its grid in real time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{FixedInterval, Timer};
use serde::Serialize;
use tokio::time::Instant;

use crate::error::Error;

/// The result, printed as one JSON object.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    ticks: usize,
    interval_ms: f64,
    work_ms: f64,
    /// The spin window of `Timer::Spin`, 0 for tokio's timer alone.
    spin_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    final_drift_ms: f64,
    /// Grid points that passed with no call (a call more than one interval late).
    skipped: u64,
}

/// Runs `ticks` calls every `interval`, each spinning the CPU for `work`, and measures each
/// call's lateness against the ideal grid `start + k * interval` (the grid point it serves;
/// grid points passed without a call are counted as `skipped`).
pub(crate) fn run(
    interval: Duration,
    ticks: usize,
    work: Duration,
    timer: Timer,
) -> Result<Report, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    let (origin, calls) = runtime.block_on(async move {
        let starts = Arc::new(Mutex::new(Vec::with_capacity(ticks)));
        let seen = Arc::clone(&starts);
        let looping = FixedInterval::new(interval, move || {
            let now = Instant::now();
            let mut v = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            v.push(now);
            let done = v.len() >= ticks;
            drop(v);
            // The work: CPU time on the loop's own thread.
            while now.elapsed() < work {
                std::hint::spin_loop();
            }
            async move {
                if done {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            }
        })
        .name("bench")
        .timer(timer);
        // The ideal grid starts here: `start()` takes its own start a moment later, so
        // no call can be early against this grid.
        let origin = Instant::now();
        let mut call = looping.start();
        let _ = call.wait().await;
        let v = starts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (origin, v.clone())
    });
    let mut report = report(origin, &calls, interval, work);
    report.spin_ms = match timer {
        Timer::Spin(window) => ms(window),
        _ => 0.0,
    };
    Ok(report)
}

fn report(start: Instant, calls: &[Instant], interval: Duration, work: Duration) -> Report {
    if calls.is_empty() {
        return Report {
            ticks: 0,
            interval_ms: ms(interval),
            work_ms: ms(work),
            spin_ms: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            final_drift_ms: 0.0,
            skipped: 0,
        };
    }
    // Each call serves the latest grid point `start + k * interval` not after it; its
    // lateness is the distance to that point. Grid points no call served are "skipped"
    // (with no skips, call i serves grid point i).
    let interval_ns = interval.as_nanos().max(1);
    let mut next = 0u128;
    let mut skipped = 0u64;
    let mut lateness: Vec<f64> = Vec::with_capacity(calls.len());
    for t in calls {
        let since = t.saturating_duration_since(start).as_nanos();
        let k = since / interval_ns;
        skipped += u64::try_from(k.saturating_sub(next)).unwrap_or(u64::MAX);
        next = k + 1;
        let late_ns = since.saturating_sub(k * interval_ns);
        lateness.push(ns_to_ms(late_ns));
    }
    let final_drift_ms = lateness.last().copied().unwrap_or(0.0);
    lateness.sort_by(f64::total_cmp);
    let pct = |percent: usize| {
        // Nearest-rank percentile.
        let rank = (percent * lateness.len()).div_ceil(100).max(1);
        lateness[rank.min(lateness.len()) - 1]
    };
    Report {
        ticks: calls.len(),
        interval_ms: ms(interval),
        work_ms: ms(work),
        spin_ms: 0.0,
        p50_ms: round3(pct(50)),
        p99_ms: round3(pct(99)),
        max_ms: round3(lateness.last().copied().unwrap_or(0.0)),
        final_drift_ms: round3(final_drift_ms),
        skipped,
    }
}

/// Nanoseconds to milliseconds; lateness fits f64's 52-bit mantissa many times over.
#[allow(clippy::cast_precision_loss, reason = "lateness is far below 2^52 ns")]
fn ns_to_ms(ns: u128) -> f64 {
    ns as f64 / 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
