//! Running one task: [`run_timed`], the one place a run is started, timed and has its
//! panics caught, and [`run_launched`], which holds a fleet run's lease around it and
//! records and releases it after the run ended.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fleet::{FleetRuntime, Won};
use super::info::RunOutcome;
use super::ledger::{RunReport, TaskScope};
use super::slots::InFlight;
use super::task::{TaskCall, TaskFailure, TaskResult};

/// A fleet run's claim, held while it runs.
pub(super) struct Holding {
    pub(super) won: Won,
    pub(super) cancel: CancellationToken,
    pub(super) scope: TaskScope,
    pub(super) fleet: Arc<str>,
}

/// What [`run_timed`] reports.
pub(super) struct Ran {
    pub(super) started: Instant,
    pub(super) ended: Instant,
    pub(super) result: TaskResult,
    /// A blocking run went past its timeout (it cannot be cancelled).
    pub(super) overran: bool,
}

/// How a run ended, as counted.
pub(super) fn outcome_of(result: &TaskResult) -> RunOutcome {
    match result {
        Ok(()) => RunOutcome::Succeeded,
        Err(f) if f.is_panic() => RunOutcome::Panicked,
        Err(TaskFailure::TimedOut(_)) => RunOutcome::TimedOut,
        Err(_) => RunOutcome::Failed,
    }
}

/// Runs a launched task: [`run_timed`], and for a fleet task with its lease held while it
/// runs, then its run recorded and its lease released (only after the run ended).
pub(super) async fn run_launched(
    fleet: Option<Arc<FleetRuntime>>,
    call: TaskCall,
    guard: InFlight,
    holding: Option<Holding>,
    name: &str,
    due: Instant,
    timeout: Option<Duration>,
) -> Ran {
    let (Some(holding), Some(fleet)) = (holding, fleet) else {
        return run_timed(call, guard, timeout, name).await;
    };
    let (ran, lost) = fleet
        .hold(
            &holding.won,
            &holding.cancel,
            name,
            &holding.fleet,
            run_timed(call, guard, timeout, name),
        )
        .await;
    let report = RunReport::new(
        outcome_of(&ran.result),
        ran.ended.saturating_duration_since(ran.started),
        ran.started.saturating_duration_since(due),
        ran.ended.elapsed(),
    );
    fleet
        .settle(&holding.scope, name, &holding.won.claim, report, lost)
        .await;
    ran
}

/// Runs one call and times it: an async task is awaited here with its panics caught, a
/// blocking one runs on tokio's blocking pool. `guard` is dropped when the run ends; if
/// this future is dropped first, an async run ends with it, while a blocking run goes on
/// to its end on its thread and keeps the task marked in flight until then. A sequential
/// pass awaits this in place, a concurrent one spawns it.
///
/// With a `timeout`, an async run still going then is dropped and fails with
/// [`TaskFailure::TimedOut`]; a blocking run is warned about (task `name`) and awaited to
/// its end, with [`Ran::overran`] set.
pub(super) async fn run_timed(
    call: TaskCall,
    guard: InFlight,
    timeout: Option<Duration>,
    name: &str,
) -> Ran {
    let started = Instant::now();
    let mut overran = false;
    let result = match call {
        TaskCall::Async(fut) => {
            let caught = async {
                match AssertUnwindSafe(fut).catch_unwind().await {
                    Ok(result) => result,
                    Err(payload) => Err(TaskFailure::from_panic(&*payload)),
                }
            };
            let result = match timeout {
                None => caught.await,
                Some(timeout) => tokio::time::timeout(timeout, caught)
                    .await
                    .unwrap_or(Err(TaskFailure::TimedOut(timeout))),
            };
            drop(guard);
            result
        }
        TaskCall::Blocking(f) => {
            let mut handle = tokio::task::spawn_blocking(move || {
                let result = f();
                drop(guard);
                result
            });
            let joined = match timeout {
                None => handle.await,
                Some(timeout) => {
                    if let Ok(joined) = tokio::time::timeout(timeout, &mut handle).await {
                        joined
                    } else {
                        overran = true;
                        tracing::warn!(
                            task = %name,
                            timeout = ?timeout,
                            "Periodic task {name} is overrunning its timeout of {timeout:?}: \
                             a blocking run cannot be cancelled, it goes on to its end"
                        );
                        handle.await
                    }
                }
            };
            match joined {
                Ok(result) => result,
                Err(err) if err.is_panic() => Err(TaskFailure::from_panic(&*err.into_panic())),
                Err(_) => Err(TaskFailure::Panic("the run was cancelled".to_owned())),
            }
        }
    };
    Ran {
        started,
        ended: Instant::now(),
        result,
        overran,
    }
}
