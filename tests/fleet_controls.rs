//! The operator's controls as runners see them, on the in-memory task ledger in paused
//! time: a paused task does not run (plain or fleet) and runs on its schedule again once
//! resumed; a run-now request runs the task once within a second, with a new fencing
//! token, its schedule unchanged; of two replicas of a fleet only one runs a request.
//!
//! ```text
//! t (s)        0    10    20   25   30 ... 50   55   60    70
//! audit/purge       run   run  pause                 resume run  run
//! runs seen         1     2    │ no runs ........... │     3    4
//! ```
//!
//! The ledger's clock is tokio's, starting at 0 when it is created.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    Fleet, Jitter, MemoryLedger, PeriodicRunner, PeriodicTask, RunContext, RunnerOptions,
    TaskControl, TaskLedger, TaskScope,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

struct Replica;

/// One run: who, which task, when (since the start), with which token.
type Runs = Arc<Mutex<Vec<(&'static str, String, Duration, Option<u64>)>>>;

const SPACING: Duration = Duration::from_secs(10);

fn service() -> TaskScope {
    TaskScope::service("n1", "nova-compute")
}

fn cells() -> TaskScope {
    TaskScope::fleet("cells").unwrap()
}

/// A replica's runner: plain `audit` and fleet `purge` (fleet `cells`), both every
/// `spacing`, driven by a loop of its own until aborted.
fn replica(
    ledger: &Arc<dyn TaskLedger>,
    holder: &'static str,
    spacing: Duration,
    runs: &Runs,
    start: Instant,
) -> (PeriodicRunner<Replica>, JoinHandle<()>) {
    let runner = PeriodicRunner::<Replica>::builder(Replica)
        .options(
            RunnerOptions::new()
                .jitter(Jitter::None)
                .task_ledger(Arc::clone(ledger))
                .ledger_scope(service())
                .fleet_holder(holder),
        )
        .build()
        .unwrap();
    for (name, fleet) in [("audit", false), ("purge", true)] {
        let runs = Arc::clone(runs);
        let mut task = PeriodicTask::with_run_context(
            name,
            move |_m: Arc<Replica>, _c: Arc<()>, run: RunContext| {
                let runs = Arc::clone(&runs);
                async move {
                    let at = start.elapsed();
                    runs.lock()
                        .unwrap()
                        .push((holder, run.task().to_owned(), at, run.token()));
                }
            },
        )
        .spacing(spacing);
        if fleet {
            task = task.fleet(Fleet::named("cells"));
        }
        runner.add_periodic_task(task).unwrap();
    }
    let driven = runner.clone();
    let handle = tokio::spawn(async move {
        loop {
            let idle = driven.run_periodic_tasks(()).await.unwrap();
            assert!(
                idle <= Duration::from_millis(500),
                "a runner with a ledger passes within the controls' poll"
            );
            tokio::time::sleep(idle).await;
        }
    });
    (runner, handle)
}

fn count(runs: &Runs, task: &str) -> usize {
    runs.lock().unwrap().iter().filter(|r| r.1 == task).count()
}

async fn until(start: Instant, at: Duration) {
    tokio::time::sleep_until(start + at).await;
}

#[tokio::test(start_paused = true)]
async fn a_paused_task_does_not_run_until_resumed() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs = Runs::default();
    let (runner, handle) = replica(&ledger, "a", SPACING, &runs, start);

    until(start, Duration::from_millis(25_000)).await;
    assert_eq!((count(&runs, "audit"), count(&runs, "purge")), (2, 2));
    let pause = TaskControl::pause(Some("maintenance")).unwrap();
    ledger.control(&service(), "audit", &pause).await.unwrap();
    ledger.control(&cells(), "purge", &pause).await.unwrap();

    until(start, Duration::from_millis(55_000)).await;
    assert_eq!(
        (count(&runs, "audit"), count(&runs, "purge")),
        (2, 2),
        "paused tasks ran: {:?}",
        runs.lock().unwrap()
    );
    assert!(runner.task("audit").unwrap().paused && runner.task("purge").unwrap().paused);

    ledger
        .control(&service(), "audit", &TaskControl::Resume)
        .await
        .unwrap();
    ledger
        .control(&cells(), "purge", &TaskControl::Resume)
        .await
        .unwrap();
    until(start, Duration::from_millis(75_500)).await;
    assert!(!runner.task("audit").unwrap().paused);
    // Resumed on their schedule: purge at the 60 s and 70 s boundaries, audit within a
    // spacing of its last skip.
    assert_eq!(count(&runs, "purge"), 4, "{:?}", runs.lock().unwrap());
    assert!(count(&runs, "audit") >= 3, "{:?}", runs.lock().unwrap());
    handle.abort();
}

#[tokio::test(start_paused = true)]
async fn run_now_runs_once_within_a_second_with_a_new_token() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs = Runs::default();
    let hour = Duration::from_secs(3600);
    let (runner, handle) = replica(&ledger, "a", hour, &runs, start);

    until(start, Duration::from_secs(5)).await;
    assert!(runs.lock().unwrap().is_empty());
    let audit_due = runner.task("audit").unwrap().next_due;
    let purge_due = runner.task("purge").unwrap().next_due;
    let asked = Instant::now();
    ledger
        .control(&service(), "audit", &TaskControl::RunNow)
        .await
        .unwrap();
    ledger
        .control(&cells(), "purge", &TaskControl::RunNow)
        .await
        .unwrap();

    until(start, Duration::from_secs(7)).await;
    let seen = runs.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (_, task, at, token) in &seen {
        let after = (start + *at).saturating_duration_since(asked);
        assert!(
            after <= Duration::from_secs(1),
            "{task} ran {after:?} after the request"
        );
        assert_eq!(*token, Some(1), "{task}: the first token of its row");
    }
    // The regular schedule is unchanged, and the requests are consumed.
    assert_eq!(runner.task("audit").unwrap().next_due, audit_due);
    assert_eq!(runner.task("purge").unwrap().next_due, purge_due);
    until(start, Duration::from_secs(20)).await;
    assert_eq!(runs.lock().unwrap().len(), 2);
    let entries = ledger.entries(None).await.unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e.run_requested.is_none() && e.runs == 1),
        "{entries:?}"
    );
    let history = ledger.history(&cells(), "purge", 10).await.unwrap();
    assert_eq!((history.len(), history[0].token), (1, Some(1)));
    assert_eq!(history[0].holder.as_deref(), Some("a"));
    handle.abort();
}

#[tokio::test(start_paused = true)]
async fn two_replicas_run_a_request_once_even_while_paused() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs = Runs::default();
    let hour = Duration::from_secs(3600);
    let (_a, ha) = replica(&ledger, "a", hour, &runs, start);
    let (_b, hb) = replica(&ledger, "b", hour, &runs, start);

    until(start, Duration::from_secs(5)).await;
    let pause = TaskControl::pause(None).unwrap();
    ledger.control(&cells(), "purge", &pause).await.unwrap();
    ledger
        .control(&cells(), "purge", &TaskControl::RunNow)
        .await
        .unwrap();
    until(start, Duration::from_secs(30)).await;
    let purges: Vec<_> = runs
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.1 == "purge")
        .cloned()
        .collect();
    assert_eq!(purges.len(), 1, "one run across the replicas: {purges:?}");
    let entry = ledger
        .entries(Some(&cells()))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.task == "purge")
        .unwrap();
    assert!(entry.paused, "run-now leaves the task paused");
    ha.abort();
    hb.abort();
}
