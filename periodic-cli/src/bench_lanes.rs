//! `periodic bench lanes`: one slow task beside fast ones, in real time, in every runner
//! mode and in a raw tokio loop, one after another in one run: how many of the fast
//! tasks' runs happen and how late they start.
//!
//! The scenario is issue 11's: `--fast` tasks (default 10) doing nothing every
//! `--spacing` (1 s) beside one task that sleeps `--slow` (2.5 s) every `--spacing`, all
//! first due at once, for `--seconds` (15) per mode, jitter off. A mode's fast runs are
//! the ones that started within the window; `expected` is `fast x seconds / spacing`.
//! The raw loop is one tokio task per job with `tokio::time::interval` (missed ticks
//! skipped), what users write when they give up on a shared runner.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use periodic::{Concurrency, Jitter, PeriodicRunner, PeriodicTask};
use serde::Serialize;
use tokio::time::{Instant, MissedTickBehavior};

use crate::error::Error;

/// The command line.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many fast tasks.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    fast: u32,
    /// The spacing of every task, in seconds.
    #[arg(long, default_value_t = 1.0)]
    spacing: f64,
    /// How long each run of the slow task takes, in seconds.
    #[arg(long, default_value_t = 2.5)]
    slow: f64,
    /// How long each mode runs, in seconds.
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
}

/// One mode's result, printed as one JSON line.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// `sequential`, `concurrent`, `lanes` or `tokio-interval`.
    mode: &'static str,
    /// Fast runs that started within the window.
    fast_runs: usize,
    /// The fast runs due within the window.
    expected: usize,
    /// `fast_runs / expected`, in percent.
    percent: f64,
    /// Lateness of the fast runs (start - due), in milliseconds.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Runs of the slow task that started within the window.
    slow_runs: usize,
    /// The most runs of the slow task ever in progress at once.
    slow_at_once: usize,
}

/// The settings of one run, checked.
#[derive(Debug, Clone, Copy)]
struct Setup {
    fast: usize,
    spacing: Duration,
    slow: Duration,
    window: Duration,
}

/// What a mode records: each fast run's lateness, the slow runs, the overlap.
#[derive(Default)]
struct Tally {
    lateness: Mutex<Vec<Duration>>,
    slow_runs: AtomicUsize,
    slow_running: AtomicUsize,
    slow_at_once: AtomicUsize,
}

impl Tally {
    fn fast(&self, lateness: Duration) {
        self.lateness
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(lateness);
    }

    /// A slow run starts; the guard ends it.
    fn slow(self: &Arc<Self>) -> SlowRun {
        self.slow_runs.fetch_add(1, Ordering::Relaxed);
        let now = self.slow_running.fetch_add(1, Ordering::Relaxed) + 1;
        self.slow_at_once.fetch_max(now, Ordering::Relaxed);
        SlowRun(Arc::clone(self))
    }
}

struct SlowRun(Arc<Tally>);

impl Drop for SlowRun {
    fn drop(&mut self) {
        self.0.slow_running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs every mode, one after another, and returns their reports in order.
pub(crate) fn run(args: &Args) -> Result<Vec<Report>, Error> {
    let secs = |x: f64, what: &'static str| {
        if x.is_finite() && x > 0.0 && x <= 3600.0 {
            Ok(Duration::from_secs_f64(x))
        } else {
            Err(Error::Usage(format!(
                "--{what} must be a number of seconds above 0 and at most 3600, not {x}"
            )))
        }
    };
    let setup = Setup {
        fast: usize::try_from(args.fast).unwrap_or(usize::MAX),
        spacing: secs(args.spacing, "spacing")?,
        slow: secs(args.slow, "slow")?,
        window: secs(args.seconds, "seconds")?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    runtime.block_on(async move {
        let mut reports = Vec::new();
        for (mode, concurrency) in [
            ("sequential", Concurrency::Sequential),
            ("concurrent", Concurrency::Concurrent),
            ("lanes", Concurrency::Lanes),
        ] {
            let tally = runner_mode(setup, concurrency).await?;
            reports.push(report(mode, setup, &tally));
        }
        let tally = raw_tokio(setup).await?;
        reports.push(report("tokio-interval", setup, &tally));
        Ok(reports)
    })
}

struct Bench;

/// The scenario in a runner with `concurrency`, driven as a service drives it.
async fn runner_mode(setup: Setup, concurrency: Concurrency) -> Result<Arc<Tally>, Error> {
    let tally = Arc::new(Tally::default());
    let origin = Instant::now();
    let end = origin + setup.window;
    let seen = Arc::clone(&tally);
    let runner = PeriodicRunner::<Bench>::builder(Bench)
        .concurrency(concurrency)
        .jitter(Jitter::None)
        .on_task_run(move |run| {
            if &*run.name != "slow" && run.started < end {
                seen.fast(run.lateness());
            }
        })
        .build()?;
    let slow_tally = Arc::clone(&tally);
    let slow = setup.slow;
    runner.add_periodic_task(
        PeriodicTask::new("slow", move |_m: Arc<Bench>, _c: Arc<()>| {
            let run = (Instant::now() < end).then(|| slow_tally.slow());
            async move {
                tokio::time::sleep(slow).await;
                drop(run);
            }
        })
        .spacing(setup.spacing)
        .run_immediately(true),
    )?;
    for i in 0..setup.fast {
        runner.add_periodic_task(
            PeriodicTask::new(format!("fast{i}"), |_m: Arc<Bench>, _c: Arc<()>| async {})
                .spacing(setup.spacing)
                .run_immediately(true),
        )?;
    }
    while Instant::now() < end {
        let idle = runner.run_periodic_tasks(()).await?;
        tokio::time::sleep_until((Instant::now() + idle).min(end)).await;
    }
    runner.abort_lanes();
    Ok(tally)
}

/// The scenario as one tokio task per job, each with its own `tokio::time::interval`.
async fn raw_tokio(setup: Setup) -> Result<Arc<Tally>, Error> {
    let tally = Arc::new(Tally::default());
    let origin = Instant::now();
    let end = origin + setup.window;
    let mut jobs = tokio::task::JoinSet::new();
    for job in 0..=setup.fast {
        let tally = Arc::clone(&tally);
        jobs.spawn(async move {
            let mut interval = tokio::time::interval_at(origin, setup.spacing);
            interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                let tick = interval.tick().await;
                if tick >= end {
                    return;
                }
                if job == 0 {
                    let run = tally.slow();
                    tokio::time::sleep(setup.slow).await;
                    drop(run);
                } else {
                    tally.fast(Instant::now().saturating_duration_since(tick));
                }
            }
        });
    }
    while let Some(joined) = jobs.join_next().await {
        joined.map_err(|source| Error::Join {
            context: "a raw tokio job failed",
            source,
        })?;
    }
    Ok(tally)
}

fn report(mode: &'static str, setup: Setup, tally: &Tally) -> Report {
    let mut lateness: Vec<f64> = tally
        .lateness
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    lateness.sort_by(f64::total_cmp);
    let pct = |percent: usize| {
        if lateness.is_empty() {
            return 0.0;
        }
        // Nearest-rank percentile.
        let rank = (percent * lateness.len()).div_ceil(100).max(1);
        round3(lateness[rank.min(lateness.len()) - 1])
    };
    let per_task = (setup.window.as_secs_f64() / setup.spacing.as_secs_f64()).ceil();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "at most 3600 s / 1 ns, positive"
    )]
    let expected = setup.fast * per_task as usize;
    #[allow(clippy::cast_precision_loss, reason = "run counts are far below 2^52")]
    let percent = round3(100.0 * lateness.len() as f64 / expected.max(1) as f64);
    Report {
        mode,
        fast_runs: lateness.len(),
        expected,
        percent,
        p50_ms: pct(50),
        p99_ms: pct(99),
        max_ms: round3(lateness.last().copied().unwrap_or(0.0)),
        slow_runs: tally.slow_runs.load(Ordering::Relaxed),
        slow_at_once: tally.slow_at_once.load(Ordering::Relaxed),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
