//! `periodic bench looping`: how closely a `FixedInterval` keeps its grid in real time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::FixedInterval;
use serde::Serialize;
use tokio::time::Instant;

/// The result, printed as one JSON object.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    ticks: usize,
    interval_ms: f64,
    work_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    final_drift_ms: f64,
}

/// Runs `ticks` calls every `interval`, each spinning the CPU for `work`, and measures each
/// call's lateness against the ideal grid `start + k * interval`.
pub(crate) fn run(interval: Duration, ticks: usize, work: Duration) -> Result<Report, periodic::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| periodic::Error::new(periodic::ErrorKind::Io, "cannot start the tokio runtime").with_source(e))?;
    let calls = runtime.block_on(async move {
        let starts = Arc::new(Mutex::new(Vec::with_capacity(ticks)));
        let seen = Arc::clone(&starts);
        let mut call = FixedInterval::new(interval, move || {
            let now = Instant::now();
            let mut v = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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
        .start();
        let _ = call.wait().await;
        let v = starts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        v.clone()
    });
    Ok(report(&calls, interval, work))
}

fn report(calls: &[Instant], interval: Duration, work: Duration) -> Report {
    let Some(&start) = calls.first() else {
        return Report {
            ticks: 0,
            interval_ms: ms(interval),
            work_ms: ms(work),
            p50_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            final_drift_ms: 0.0,
        };
    };
    let mut lateness: Vec<f64> = calls
        .iter()
        .zip(0u32..)
        .map(|(t, k)| ms(t.saturating_duration_since(start + interval * k)))
        .collect();
    let final_drift_ms = lateness.last().copied().unwrap_or(0.0);
    lateness.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        // Nearest-rank percentile.
        let rank = ((p / 100.0) * lateness.len() as f64).ceil().max(1.0) as usize;
        lateness[rank.min(lateness.len()) - 1]
    };
    Report {
        ticks: calls.len(),
        interval_ms: ms(interval),
        work_ms: ms(work),
        p50_ms: round3(pct(50.0)),
        p99_ms: round3(pct(99.0)),
        max_ms: round3(lateness.last().copied().unwrap_or(0.0)),
        final_drift_ms: round3(final_drift_ms),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
