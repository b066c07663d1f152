//! `periodic simulate`: a scenario's schedule, computed in paused tokio time by the real
//! runner driven by a real `DynamicInterval`, exactly as a service drives its manager.

use std::io::Write;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    BoxError, Concurrency, DynamicInterval, IdlePolicy, Jitter, PeriodicRunner, PeriodicTask,
    RunOutcome, Spacing, WallClock,
};
use tokio::time::Instant;

use crate::error::Error;
use crate::scenario::Scenario;

/// One line of the trace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// A task started at `t`; it was due at `due`, ran for `duration` seconds and
    /// `failed` (returned an error or panicked) or not. Only `t` and `task` are in the
    /// JSON line; the rest is for `--format table` and `--timeline`.
    Task {
        t: f64,
        task: Arc<str>,
        due: f64,
        duration: f64,
        failed: bool,
    },
    /// A pass ended at `t` and the loop sleeps `idle`.
    Idle { t: f64, idle: f64 },
}

/// Seconds rounded to the microsecond, as `oslo_trace.py` rounds them.
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl Event {
    /// The JSON line, formatted as Python's `json.dumps` formats it.
    pub(crate) fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            Event::Task { t, task, .. } => {
                let name = serde_json::to_string(&**task).unwrap_or_default();
                writeln!(out, "{{\"t\": {}, \"task\": {name}}}", num(*t))
            }
            Event::Idle { t, idle } => {
                writeln!(out, "{{\"t\": {}, \"idle\": {}}}", num(*t), num(*idle))
            }
        }
    }
}

fn num(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".to_owned())
}

/// The manager of a simulation: its tasks are the scenario's, added at run time.
#[derive(Debug)]
struct Simulated;

/// Options from the command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) idle_policy: IdlePolicy,
    /// Sequential (oslo's pass, the default), concurrent, or lanes.
    pub(crate) concurrency: Concurrency,
    pub(crate) seed: Option<u64>,
    /// The most events handed to the sink (`--max-events`): the simulation stops at the
    /// end of the pass that reaches it.
    pub(crate) max_events: u64,
}

/// How a simulation ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    /// It reached the scenario's horizon.
    Horizon,
    /// It handed [`Options::max_events`] events to the sink and stopped, `at` seconds
    /// into the simulation; later events were dropped.
    EventLimit { at: f64 },
}

/// Runs the scenario and hands every event to `sink` in order, at most
/// [`Options::max_events`] of them. Builds its own paused current-thread runtime, so
/// simulated hours take milliseconds. Keeps nothing per event: memory does not grow with
/// the horizon.
pub(crate) fn run(
    scenario: &Scenario,
    options: Options,
    sink: impl FnMut(Event) + Send + 'static,
) -> Result<Outcome, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(Error::io("cannot start the tokio runtime"))?;
    runtime.block_on(simulate(scenario.clone(), options, sink))
}

/// The sink behind the event limit: counts, and drops what comes after the limit.
struct Limited<F> {
    sink: F,
    left: u64,
    /// Set when the limit is reached; the loop stops at its next pass.
    full: Arc<AtomicBool>,
    /// When the limit was reached (seconds into the simulation).
    at: f64,
}

impl<F: FnMut(Event)> Limited<F> {
    fn push(&mut self, event: Event) {
        if self.left == 0 {
            return;
        }
        self.left -= 1;
        if self.left == 0 {
            self.full.store(true, Ordering::Relaxed);
            self.at = match &event {
                Event::Task { t, .. } | Event::Idle { t, .. } => *t,
            };
        }
        (self.sink)(event);
    }
}

async fn simulate(
    scenario: Scenario,
    options: Options,
    sink: impl FnMut(Event) + Send + 'static,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let since = move |t: Instant| round6((t - start).as_secs_f64());
    let full = Arc::new(AtomicBool::new(options.max_events == 0));
    let sink = Arc::new(Mutex::new(Limited {
        sink,
        left: options.max_events,
        full: Arc::clone(&full),
        at: 0.0,
    }));

    let task_sink = Arc::clone(&sink);
    // Lanes start runs between passes, also after the last pass before the horizon: those
    // are past the horizon and left out (a pass never starts after it).
    let lanes = options.concurrency == Concurrency::Lanes;
    let horizon_s = scenario.horizon;
    // The scenario's wall clock: `start`, advancing with the paused tokio clock.
    let start_wall = scenario.start_time().map_err(|e| Error::Usage(e.0))?;
    let mut builder = PeriodicRunner::<Simulated>::builder(Simulated)
        .wall_clock(WallClock::from_fn(move || start_wall + start.elapsed()))
        .idle_policy(options.idle_policy)
        .concurrency(options.concurrency)
        .run_external_periodic_tasks(scenario.run_external_periodic_tasks)
        .jitter(if scenario.jitter {
            Jitter::Oslo
        } else {
            Jitter::None
        })
        .on_task_run(move |run| {
            if lanes && since(run.started) > horizon_s {
                return;
            }
            let event = Event::Task {
                t: since(run.started),
                task: Arc::clone(&run.name),
                due: since(run.due),
                duration: round6(run.duration.as_secs_f64()),
                failed: !matches!(run.outcome, RunOutcome::Succeeded),
            };
            task_sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(event);
        });
    if let Some(seed) = options.seed {
        builder = builder.seed(seed);
    }
    let runner = builder.build()?;
    add_tasks(&runner, &scenario)?;

    let horizon = Duration::from_secs_f64(scenario.horizon);
    let cap = scenario.periodic_interval_max.map(Duration::from_secs_f64);
    let pass_runner = runner.clone();
    let pass_sink = Arc::clone(&sink);
    let pass_full = Arc::clone(&full);
    let mut looping = DynamicInterval::new(move || {
        let runner = pass_runner.clone();
        let sink = Arc::clone(&pass_sink);
        let full = Arc::clone(&pass_full);
        async move {
            if Instant::now() - start > horizon || full.load(Ordering::Relaxed) {
                return ControlFlow::Break(());
            }
            // Task failures are logged by the runner (ErrorPolicy::Log), as in a service.
            let Ok(idle) = runner.run_periodic_tasks(()).await else {
                return ControlFlow::Break(());
            };
            let idle = cap.map_or(idle, |cap| idle.min(cap));
            let event = Event::Idle {
                t: since(Instant::now()),
                idle: round6(idle.as_secs_f64()),
            };
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(event);
            ControlFlow::Continue(Some(idle))
        }
    })
    .name("run_periodic_tasks")
    .initial_delay(Duration::from_secs_f64(scenario.initial_delay));
    if let Some(cap) = cap {
        looping = looping.periodic_interval_max(cap);
    }
    let mut call = looping.start();
    let ended = call.wait().await.map_err(Error::Simulation);
    // Lanes' runs in progress end and are reported, as a sequential pass's are.
    runner.stop_lanes().await;
    ended?;
    if full.load(Ordering::Relaxed) {
        let at = sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .at;
        return Ok(Outcome::EventLimit { at });
    }
    Ok(Outcome::Horizon)
}

/// The scenario's synthetic tasks: each sleeps its `duration`, then fails or not.
fn add_tasks(runner: &PeriodicRunner<Simulated>, scenario: &Scenario) -> Result<(), Error> {
    for spec in &scenario.tasks {
        let duration = Duration::from_secs_f64(spec.duration);
        let fails = spec.fails;
        let task = PeriodicTask::new(
            spec.name.clone(),
            move |_m: Arc<Simulated>, _c: Arc<()>| async move {
                if !duration.is_zero() {
                    tokio::time::sleep(duration).await;
                }
                if fails {
                    Err::<(), BoxError>("boom".into())
                } else {
                    Ok(())
                }
            },
        )
        // A scenario writes spacings as oslo does (0: default, negative: disabled).
        .spacing(Spacing::from_secs_f64(spec.spacing())?)
        .run_immediately(spec.run_immediately)
        .enabled(spec.enabled)
        .external_process_ok(spec.external_process_ok)
        .overrun(spec.overrun.into());
        // Checked when the scenario was read.
        let task = match &spec.cron {
            Some(cron) => {
                let task = task.cron(cron)?;
                match &spec.tz {
                    Some(tz) => task.cron_tz(tz)?,
                    None => task,
                }
            }
            None => task,
        };
        let task = match spec.timeout {
            Some(timeout) => task.timeout(Duration::from_secs_f64(timeout)),
            None => task,
        };
        runner.add_periodic_task(task)?;
    }
    Ok(())
}
