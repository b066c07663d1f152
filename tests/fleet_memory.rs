//! Fleet tasks on the in-memory task ledger, in paused time: one run per slot across
//! replicas, growing tokens, the lease renewed while a run goes on and lost when the
//! store stops answering, the release after the run, resuming from the ledger, and the
//! errors of a bad fleet.
//!
//! The ledger's clock is tokio's, starting at 0 when it is created, so slot `k` of a
//! spacing of 10 s begins exactly `k * 10 s` after the test starts.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use periodic::{
    ClaimRequest, Claimed, Concurrency, Error, ErrorKind, Fleet, Jitter, LedgerEntry, MemoryLedger,
    PeriodicRunner, PeriodicTask, RunContext, RunReport, RunnerOptions, TaskLedger, TaskScope,
};
use support::Logs;
use tokio::time::Instant;

/// One run as a task saw it.
#[derive(Debug, Clone)]
struct Seen {
    holder: &'static str,
    at: Duration,
    slot: i64,
    token: u64,
}

struct Replica;

type Runs = Arc<Mutex<Vec<Seen>>>;

fn options(ledger: &Arc<dyn TaskLedger>, holder: &str) -> RunnerOptions {
    RunnerOptions::new()
        .jitter(Jitter::None)
        .task_ledger(Arc::clone(ledger))
        .fleet_holder(holder)
}

/// A replica's runner with one fleet task `task` of `spacing` that records its runs and
/// then sleeps `work`.
fn replica(
    ledger: &Arc<dyn TaskLedger>,
    holder: &'static str,
    task: &'static str,
    spacing: Duration,
    work: Duration,
    runs: &Runs,
    start: Instant,
) -> PeriodicRunner<Replica> {
    replica_with(
        options(ledger, holder),
        holder,
        task,
        spacing,
        work,
        runs,
        start,
    )
}

/// [`replica`] with its runner's `options`.
fn replica_with(
    options: RunnerOptions,
    holder: &'static str,
    task: &'static str,
    spacing: Duration,
    work: Duration,
    runs: &Runs,
    start: Instant,
) -> PeriodicRunner<Replica> {
    let runner = PeriodicRunner::<Replica>::builder(Replica)
        .options(options)
        .build()
        .unwrap();
    let runs = Arc::clone(runs);
    runner
        .add_periodic_task(
            PeriodicTask::with_run_context(
                task,
                move |_m: Arc<Replica>, _c: Arc<()>, run: RunContext| {
                    let runs = Arc::clone(&runs);
                    async move {
                        runs.lock().unwrap().push(Seen {
                            holder,
                            at: start.elapsed(),
                            slot: run.slot().unwrap(),
                            token: run.token().unwrap(),
                        });
                        tokio::time::sleep(work).await;
                    }
                },
            )
            .spacing(spacing)
            .fleet(Fleet::named("scheduler")),
        )
        .unwrap();
    runner
}

/// Drives `runner` as a service does: a pass, then the idle time it returns.
fn drive<M: Send + Sync + 'static>(runner: PeriodicRunner<M>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let idle = runner.run_periodic_tasks(()).await.unwrap();
            tokio::time::sleep(idle).await;
        }
    })
}

async fn entry(ledger: &Arc<dyn TaskLedger>, task: &str) -> LedgerEntry {
    let scope = TaskScope::fleet("scheduler").unwrap();
    ledger
        .entries(Some(&scope))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.task == task)
        .unwrap()
}

/// ```text
/// store    0    3    7   10   20   30  ...  100
/// A        built ────────  run       run?      (whoever claims first)
/// B             built ──── taken      ...
/// ```
/// Two replicas built at different times wake at the same slot boundaries and run each
/// slot exactly once between them, on the boundary, with a token that grows by one.
#[tokio::test(start_paused = true)]
async fn two_replicas_run_each_slot_once_on_its_boundary() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs: Runs = Arc::default();
    let spacing = Duration::from_secs(10);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = drive(replica(
        &ledger,
        "a",
        "audit",
        spacing,
        Duration::from_secs(1),
        &runs,
        start,
    ));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let b = drive(replica(
        &ledger,
        "b",
        "audit",
        spacing,
        Duration::from_secs(1),
        &runs,
        start,
    ));
    tokio::time::sleep(Duration::from_secs(98)).await;
    a.abort();
    b.abort();

    let runs = runs.lock().unwrap().clone();
    let slots: Vec<i64> = runs.iter().map(|r| r.slot).collect();
    assert_eq!(slots, (1..=10).collect::<Vec<_>>(), "{runs:#?}");
    for run in &runs {
        assert_eq!(
            run.at,
            spacing * u32::try_from(run.slot).unwrap(),
            "{run:?}"
        );
    }
    let tokens: Vec<u64> = runs.iter().map(|r| r.token).collect();
    assert_eq!(tokens, (1..=10).collect::<Vec<_>>());
    // Both replicas took part (the claim is a race, not a fixed leader), and B's first
    // claim at 10 s came after A's in the same instant.
    assert_eq!(runs[0].holder, "a");
    let entry = entry(&ledger, "audit").await;
    assert_eq!(
        (entry.token, entry.slot, entry.holder),
        (10, Some(10), None)
    );
}

/// The same with `Concurrency::Lanes`: each slot runs exactly once, on its boundary, the
/// claims made by the lanes between passes.
///
/// ```text
/// store    0   10      20      30  ...  100
/// A, B     P   claim   claim   claim     one of them wins each slot, runs 4 s
/// ```
#[tokio::test(start_paused = true)]
async fn lanes_replicas_run_each_slot_once() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs: Runs = Arc::default();
    let spacing = Duration::from_secs(10);
    let lanes = |holder| options(&ledger, holder).concurrency(Concurrency::Lanes);
    let a = replica_with(
        lanes("a"),
        "a",
        "audit",
        spacing,
        Duration::from_secs(4),
        &runs,
        start,
    );
    let b = replica_with(
        lanes("b"),
        "b",
        "audit",
        spacing,
        Duration::from_secs(4),
        &runs,
        start,
    );
    let (da, db) = (drive(a.clone()), drive(b.clone()));
    tokio::time::sleep(Duration::from_secs(105)).await;
    da.abort();
    db.abort();
    a.abort_lanes();
    b.abort_lanes();

    let runs = runs.lock().unwrap().clone();
    let slots: Vec<i64> = runs.iter().map(|r| r.slot).collect();
    assert_eq!(slots, (1..=10).collect::<Vec<_>>(), "{runs:#?}");
    for run in &runs {
        assert_eq!(
            run.at,
            spacing * u32::try_from(run.slot).unwrap(),
            "{run:?}"
        );
    }
    let tokens: Vec<u64> = runs.iter().map(|r| r.token).collect();
    assert_eq!(tokens, (1..=10).collect::<Vec<_>>());
}

/// ```text
/// store    10 ── A runs slot 1 for 15 s (lease 3 s, renewed every 1 s) ── 25
///          20: B claims slot 2: busy (A still holds its lease) -> B skips it
///          25: A's next pass claims slot 2, still unclaimed: runs it late, until 40
///          30: B claims slot 3: busy again
/// ```
/// Without renewal A's lease would end at 13 and B would run slot 2 at 20, while A runs.
#[tokio::test(start_paused = true)]
async fn renewal_keeps_the_lease_while_the_run_goes_on() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs: Runs = Arc::default();
    let spacing = Duration::from_secs(10);
    let long = Duration::from_secs(15);
    let build = |holder| {
        let runner = PeriodicRunner::<Replica>::builder(Replica)
            .options(options(&ledger, holder).fleet_lease(Duration::from_secs(3)))
            .build()
            .unwrap();
        let runs = Arc::clone(&runs);
        runner
            .add_periodic_task(
                PeriodicTask::with_run_context(
                    "sweep",
                    move |_m: Arc<Replica>, _c: Arc<()>, run: RunContext| {
                        let runs = Arc::clone(&runs);
                        async move {
                            runs.lock().unwrap().push(Seen {
                                holder,
                                at: start.elapsed(),
                                slot: run.slot().unwrap(),
                                token: run.token().unwrap(),
                            });
                            tokio::time::sleep(long).await;
                            assert!(!run.is_cancelled(), "the lease was renewed");
                        }
                    },
                )
                .spacing(spacing)
                .fleet(Fleet::named("scheduler")),
            )
            .unwrap();
        runner
    };
    let a = drive(build("a"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = drive(build("b"));
    tokio::time::sleep(Duration::from_secs(17)).await; // 17.5 s: A is running slot 1
    let held = entry(&ledger, "sweep").await;
    assert!(held.is_running(), "{held:?}");
    assert_eq!(held.holder.as_deref(), Some("a"));
    assert!(held.lease_until.unwrap() > held.read_at, "{held:?}");
    tokio::time::sleep(Duration::from_secs(15)).await; // 32.5 s
    a.abort();
    b.abort();
    let runs = runs.lock().unwrap().clone();
    let slots: Vec<(i64, Duration, &str)> = runs.iter().map(|r| (r.slot, r.at, r.holder)).collect();
    assert_eq!(
        slots,
        [
            (1, Duration::from_secs(10), "a"),
            (2, Duration::from_secs(25), "a")
        ],
        "B never runs while A holds its lease: {runs:#?}"
    );
}

/// A ledger that stops answering while `down` is set.
#[derive(Debug)]
struct Flaky {
    inner: MemoryLedger,
    down: AtomicBool,
    releases: AtomicU64,
}

impl Flaky {
    fn check(&self) -> Result<(), Error> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::store("connection refused"))
        } else {
            Ok(())
        }
    }
}

fn fail_or<'a, T: Send + 'a>(
    check: Result<(), Error>,
    then: BoxFuture<'a, Result<T, Error>>,
) -> BoxFuture<'a, Result<T, Error>> {
    match check {
        Ok(()) => then,
        Err(e) => Box::pin(async move { Err(e) }),
    }
}

impl TaskLedger for Flaky {
    fn now(&self) -> BoxFuture<'_, Result<i64, Error>> {
        fail_or(self.check(), self.inner.now())
    }
    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        fail_or(self.check(), self.inner.claim(request))
    }
    fn renew(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<i64>, Error>> {
        fail_or(self.check(), self.inner.renew(row, token, lease))
    }
    fn release(&self, row: i64, token: u64) -> BoxFuture<'_, Result<bool, Error>> {
        self.releases.fetch_add(1, Ordering::SeqCst);
        fail_or(self.check(), self.inner.release(row, token))
    }
    fn record<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        report: &'a RunReport,
    ) -> BoxFuture<'a, Result<(), Error>> {
        fail_or(self.check(), self.inner.record(scope, task, report))
    }
    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, Error>> {
        fail_or(self.check(), self.inner.entries(scope))
    }
}

fn flaky() -> Arc<Flaky> {
    Arc::new(Flaky {
        inner: MemoryLedger::new(),
        down: AtomicBool::new(false),
        releases: AtomicU64::new(0),
    })
}

/// ```text
/// store    10 claim (lease 3 s) ── 11 store down: renewals fail ── 13 lease over:
///          RunContext cancelled, "Lost the lease" logged once ── the task stops
/// ```
#[tokio::test(start_paused = true)]
async fn a_lost_lease_cancels_the_run_and_is_logged_once() {
    let logs = Logs::capture();
    let start = Instant::now();
    let store = flaky();
    let ledger: Arc<dyn TaskLedger> = store.clone();
    let cancelled_at: Arc<Mutex<Option<Duration>>> = Arc::default();
    let runner = PeriodicRunner::<Replica>::builder(Replica)
        .options(options(&ledger, "a").fleet_lease(Duration::from_secs(3)))
        .build()
        .unwrap();
    let seen = Arc::clone(&cancelled_at);
    runner
        .add_periodic_task(
            PeriodicTask::with_run_context(
                "lose_lease",
                move |_m: Arc<Replica>, _c: Arc<()>, run: RunContext| {
                    let seen = Arc::clone(&seen);
                    async move {
                        tokio::select! {
                            () = run.cancelled() => *seen.lock().unwrap() = Some(start.elapsed()),
                            () = tokio::time::sleep(Duration::from_secs(60)) => {}
                        }
                    }
                },
            )
            .spacing(Duration::from_secs(10))
            .fleet(Fleet::named("scheduler")),
        )
        .unwrap();
    let driven = drive(runner.clone());
    tokio::time::sleep(Duration::from_secs(11)).await;
    store.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(4500)).await; // 15.5 s
    store.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    driven.abort();

    let at = cancelled_at.lock().unwrap().expect("the run was cancelled");
    assert!(
        at >= Duration::from_secs(13) && at <= Duration::from_secs(14),
        "{at:?}"
    );
    let lost: Vec<_> = logs
        .containing("Lost the lease of fleet task lose_lease")
        .into_iter()
        .collect();
    assert_eq!(lost.len(), 1, "{lost:#?}");
    assert_eq!(lost[0].level, tracing::Level::WARN);
    assert_eq!(lost[0].fields["task"], "lose_lease");
    assert_eq!(lost[0].fields["fleet"], "scheduler");
    assert_eq!(lost[0].fields["token"], "1");
    // Released after the run ended (once, with the store back).
    assert_eq!(store.releases.load(Ordering::SeqCst), 1);
    assert_eq!(runner.task("lose_lease").unwrap().fleet_token, Some(1));
}

/// ```text
/// store    10 run ── 15 store down ── 20, 30 no run (fails closed) ── 35 back ── 40 run
/// ```
/// A plain task of the same runner goes on every 5 s whatever the store does.
#[tokio::test(start_paused = true)]
async fn an_unreachable_store_stops_fleet_tasks_only_and_is_logged_once_each_way() {
    let logs = Logs::capture();
    let start = Instant::now();
    let store = flaky();
    let ledger: Arc<dyn TaskLedger> = store.clone();
    let runs: Runs = Arc::default();
    let runner = replica(
        &ledger,
        "a",
        "closed",
        Duration::from_secs(10),
        Duration::ZERO,
        &runs,
        start,
    );
    let plain = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&plain);
    runner
        .add_periodic_task(
            PeriodicTask::new("plain_tick", move |_m: Arc<Replica>, _c: Arc<()>| {
                count.fetch_add(1, Ordering::SeqCst);
                async {}
            })
            .spacing(Duration::from_secs(5)),
        )
        .unwrap();
    let driven = drive(runner);
    tokio::time::sleep(Duration::from_secs(15)).await;
    store.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(20)).await; // 35 s
    store.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(7)).await; // 42 s
    driven.abort();

    let slots: Vec<i64> = runs.lock().unwrap().iter().map(|r| r.slot).collect();
    assert_eq!(slots, [1, 4]);
    assert_eq!(plain.load(Ordering::SeqCst), 8, "every 5 s: 5, 10, ..., 40");
    assert_eq!(logs.containing("The task ledger is unreachable").len(), 1);
    assert_eq!(
        logs.containing("The task ledger is reachable again").len(),
        1
    );
}

/// The lease is held for the whole run and released when it ends, not before.
#[tokio::test(start_paused = true)]
async fn the_lease_is_released_after_the_run_ends() {
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runner = PeriodicRunner::<Replica>::builder(Replica)
        .options(options(&ledger, "a"))
        .build()
        .unwrap();
    let held_at_end = Arc::new(AtomicBool::new(false));
    let (seen, l) = (Arc::clone(&held_at_end), Arc::clone(&ledger));
    runner
        .add_periodic_task(
            PeriodicTask::new("release_late", move |_m: Arc<Replica>, _c: Arc<()>| {
                let (seen, ledger) = (Arc::clone(&seen), Arc::clone(&l));
                async move {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let e = entry(&ledger, "release_late").await;
                    seen.store(
                        e.is_running() && e.holder.as_deref() == Some("a"),
                        Ordering::SeqCst,
                    );
                }
            })
            .spacing(Duration::from_secs(10))
            .run_immediately(true)
            .fleet(Fleet::named("scheduler")),
        )
        .unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    assert!(
        held_at_end.load(Ordering::SeqCst),
        "held until the run's last moment"
    );
    let after = entry(&ledger, "release_late").await;
    assert!(!after.is_running() && after.holder.is_none(), "{after:?}");
    assert_eq!(
        (after.runs, after.outcome.as_deref()),
        (1, Some("succeeded"))
    );
    assert_eq!(after.duration, Some(Duration::from_secs(2)));
}

struct Daily;

fn daily_runner(
    ledger: &Arc<dyn TaskLedger>,
    run_immediately: bool,
    runs: &Arc<AtomicU64>,
) -> PeriodicRunner<Daily> {
    let runner = PeriodicRunner::<Daily>::builder(Daily)
        .options(
            RunnerOptions::new()
                .jitter(Jitter::None)
                .task_ledger(Arc::clone(ledger))
                .ledger_scope(TaskScope::service("n1", "nova-scheduler")),
        )
        .build()
        .unwrap();
    let runs = Arc::clone(runs);
    runner
        .add_periodic_task(
            PeriodicTask::new("daily", move |_m: Arc<Daily>, _c: Arc<()>| {
                runs.fetch_add(1, Ordering::SeqCst);
                async {}
            })
            .spacing(Duration::from_secs(24 * 3600))
            .run_immediately(run_immediately),
        )
        .unwrap();
    runner
}

/// ```text
/// hours    0 run (recorded) ── 1 restart: next run at 24, none now
///          ── 50 restart after missing the runs of 24 and 48: one run now, next at 74
/// ```
#[tokio::test(start_paused = true)]
async fn a_restarted_runner_resumes_from_the_ledger() {
    let hour = Duration::from_secs(3600);
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs = Arc::new(AtomicU64::new(0));
    let first = daily_runner(&ledger, true, &runs);
    first.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    drop(first);
    tokio::time::sleep(hour).await; // the writer records the run meanwhile

    let scope = TaskScope::service("n1", "nova-scheduler");
    let recorded = ledger.entries(Some(&scope)).await.unwrap();
    assert_eq!(
        (recorded.len(), recorded[0].runs, recorded[0].started),
        (1, 1, Some(0))
    );

    let second = daily_runner(&ledger, false, &runs);
    second.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "ran an hour ago: not again at start"
    );
    assert_eq!(
        second.task("daily").unwrap().next_due,
        Some(start + 24 * hour)
    );
    drop(second);

    tokio::time::sleep(49 * hour).await;
    let third = daily_runner(&ledger, false, &runs);
    third.run_periodic_tasks(()).await.unwrap();
    third.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "missed twice: runs once");
    assert_eq!(
        third.task("daily").unwrap().next_due,
        Some(start + 72 * hour)
    );
}

/// ```text
/// store    10 slot 1 run ── replicas down ── 45 restart: slot 3 was missed -> slot 4 runs now
///          50 restart of another fleet whose slot 4 ran: waits for 60
/// ```
#[tokio::test(start_paused = true)]
async fn a_restarted_fleet_task_runs_at_start_only_after_a_missed_slot() {
    let start = Instant::now();
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let runs: Runs = Arc::default();
    let spacing = Duration::from_secs(10);
    let first = drive(replica(
        &ledger,
        "a",
        "resume",
        spacing,
        Duration::ZERO,
        &runs,
        start,
    ));
    tokio::time::sleep(Duration::from_secs(15)).await;
    first.abort();
    tokio::time::sleep(Duration::from_secs(30)).await; // 45 s
    let second = replica(
        &ledger,
        "b",
        "resume",
        spacing,
        Duration::ZERO,
        &runs,
        start,
    );
    second.run_periodic_tasks(()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await; // 50 s
    let third = replica(
        &ledger,
        "c",
        "resume",
        spacing,
        Duration::ZERO,
        &runs,
        start,
    );
    third.run_periodic_tasks(()).await.unwrap();
    let seen: Vec<(i64, Duration, &str)> = runs
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.slot, r.at, r.holder))
        .collect();
    assert_eq!(
        seen,
        [
            (1, Duration::from_secs(10), "a"),
            (4, Duration::from_secs(45), "b")
        ]
    );
    assert_eq!(
        third.task("resume").unwrap().next_due,
        Some(start + Duration::from_secs(60))
    );
}

#[tokio::test(start_paused = true)]
async fn bad_fleets_are_errors_at_build() {
    let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
    let task = || PeriodicTask::<Replica>::new("t", |_m: Arc<Replica>, _c: Arc<()>| async {});
    let runner = PeriodicRunner::<Replica>::builder(Replica)
        .options(options(&ledger, "a"))
        .build()
        .unwrap();
    let err = runner
        .add_periodic_task(task().fleet(Fleet::named("")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("fleet name cannot be empty"),
        "{err}"
    );

    let without_ledger = PeriodicRunner::<Replica>::new(Replica).unwrap();
    let err = without_ledger
        .add_periodic_task(task().fleet(Fleet::Default))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("has no task ledger"), "{err}");
}

/// Who ran which slot with which token, in which fleet.
type FleetRuns = Arc<Mutex<Vec<(&'static str, i64, u64, Option<String>)>>>;

/// A scheduler replica: its fleet task records who ran which slot with which token.
struct Scheduler {
    host: &'static str,
    runs: FleetRuns,
}

impl periodic::Manager for Scheduler {
    type Context = ();
    fn context(&self) {}
}

#[periodic::periodic_tasks]
impl Scheduler {
    #[periodic_task(spacing = 10, fleet)]
    async fn clean_up(&self, run: &RunContext) {
        let fleet = run.fleet().map(str::to_owned);
        self.runs.lock().unwrap().push((
            self.host,
            run.slot().unwrap(),
            run.token().unwrap(),
            fleet,
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// ```text
/// store    0 three replicas start ── 10 20 30 40 50: one run each, in the binary's fleet
/// ```
/// Services take the ledger of their group's store, the binary as the default fleet and
/// `host:pid:service_id` as the holder; a replica whose wall clock is 10 minutes ahead
/// changes nothing (slots are the store's).
#[tokio::test(start_paused = true)]
async fn services_share_their_group_s_ledger() {
    use periodic::{Service, ServiceGroup, ServiceGroupConfig};
    let url = format!("memory://{}", support::unique("fleet-services"));
    let runs: FleetRuns = Arc::default();
    let mut running = Vec::new();
    for host in ["n1", "n2", "n3"] {
        // n2's wall clock is 10 minutes ahead: no host clock takes part in slots.
        let mut config = ServiceGroupConfig::default();
        if host == "n2" {
            config = config.clock(periodic::WallClock::from_fn(|| {
                std::time::SystemTime::now() + Duration::from_secs(600)
            }));
        }
        let group = ServiceGroup::open(&url, config).await.unwrap();
        let manager = Scheduler {
            host,
            runs: Arc::clone(&runs),
        };
        let service = Service::builder(manager, "nova-scheduler", "scheduler")
            .host(host)
            .servicegroup(group)
            .periodic_fuzzy_delay(Duration::ZERO)
            .jitter(Jitter::None)
            .build()
            .unwrap()
            .start()
            .await
            .unwrap();
        running.push(service);
    }
    tokio::time::sleep(Duration::from_secs(51)).await;
    let group = running[0].group().clone();
    let ledger = group.ledger().unwrap();
    let scope = TaskScope::fleet("nova-scheduler").unwrap();
    let during = ledger.entries(Some(&scope)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let entries = ledger.entries(Some(&scope)).await.unwrap();
    for service in running {
        service.stop().await.unwrap();
    }
    let runs = runs.lock().unwrap().clone();
    let slots: Vec<(i64, u64)> = runs.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(slots, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)], "{runs:#?}");
    assert!(
        runs.iter()
            .all(|r| r.3.as_deref() == Some("nova-scheduler"))
    );
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].task.as_str(), entries[0].runs), ("clean_up", 5));
    let winner = runs[4].0;
    let id = group.find(winner, "nova-scheduler").await.unwrap().id;
    let holder = format!("{winner}:{}:{id}", std::process::id());
    assert_eq!(during[0].holder.as_deref(), Some(holder.as_str()));
    assert_eq!(entries[0].holder, None, "released after the run");
}

/// `fleet_store`: the service claims and records in that store, not in its group's.
#[tokio::test(start_paused = true)]
async fn a_fleet_store_apart_from_the_group() {
    use periodic::{Service, ServiceGroup, ServiceGroupConfig};
    let (group_url, fleet_url) = (
        format!("memory://{}", support::unique("group")),
        format!("memory://{}", support::unique("fleet-store")),
    );
    let group = ServiceGroup::open(&group_url, ServiceGroupConfig::default())
        .await
        .unwrap();
    // A handle that keeps the named memory store alive, as a database outlives services.
    let fleet_store = ServiceGroup::open(&fleet_url, ServiceGroupConfig::default())
        .await
        .unwrap();
    let manager = Scheduler {
        host: "n1",
        runs: Arc::default(),
    };
    let service = Service::builder(manager, "nova-scheduler", "scheduler")
        .host("n1")
        .servicegroup(group.clone())
        .fleet_store(fleet_url.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .jitter(Jitter::None)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let fleet = ServiceGroup::open_ledger(&fleet_url, &ServiceGroupConfig::default())
        .await
        .unwrap();
    let claimed = fleet.entries(None).await.unwrap();
    assert_eq!(
        claimed,
        fleet_store.ledger().unwrap().entries(None).await.unwrap()
    );
    let own = group.ledger().unwrap().entries(None).await.unwrap();
    service.stop().await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:#?}");
    assert_eq!(claimed[0].scope.as_str(), "fleet/nova-scheduler");
    assert_eq!((claimed[0].token, claimed[0].runs), (1, 1));
    assert!(own.is_empty(), "{own:#?}");
}
