//! Cron schedules (`cron = "..."`, `PeriodicTask::cron`), in paused tokio time with a wall
//! clock that advances with it: runs fall on the wall clock's occurrences in every
//! concurrency mode and idle policy, in a named time zone across daylight-saving changes,
//! beside spacing tasks, and after a long run as the overrun policy says.
//!
//! ```text
//! */5 * * * * *, the runner built at :02.5 (1 s = 2 columns)
//! wall (s)   :02.5    :05       :10       :15       :20
//! runs                 R         R         R         R
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use periodic::{
    Concurrency, ErrorKind, Fleet, IdlePolicy, Jitter, MemoryLedger, Overrun, PeriodicRunner,
    PeriodicTask, RunnerOptions, Spacing, WallClock, periodic_tasks,
};
use tokio::time::Instant;

/// Unix seconds of 2026-01-01T00:00:00Z.
const JAN_1: f64 = 1_767_225_600.0;

fn wall(secs: f64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs)
}

/// A wall clock at `start` now, advancing with tokio's (paused) clock.
fn clock_from(start: SystemTime) -> WallClock {
    let t0 = Instant::now();
    WallClock::from_fn(move || start + t0.elapsed())
}

/// Unix seconds of `t`, to the millisecond.
fn unix(t: SystemTime) -> f64 {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    (secs * 1000.0).round() / 1000.0
}

/// Drives `runner` as a service does until `for_` has passed; a bounded loop.
async fn drive<M: Send + Sync + 'static>(runner: &PeriodicRunner<M>, for_: Duration) {
    let end = Instant::now() + for_;
    for _ in 0..20_000 {
        if Instant::now() >= end {
            break;
        }
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        tokio::time::sleep_until((Instant::now() + idle).min(end)).await;
    }
    runner.stop_lanes().await;
}

struct Manager;

/// A task that records the wall time of each start and runs for `took(n)` seconds on its
/// n-th run.
fn recording(
    name: &str,
    clock: &WallClock,
    took: fn(usize) -> f64,
) -> (PeriodicTask<Manager>, Arc<Mutex<Vec<f64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let clock = clock.clone();
    let task = PeriodicTask::new(name, move |_m: Arc<Manager>, _c: Arc<()>| {
        let mut seen = record.lock().unwrap();
        let d = took(seen.len());
        seen.push(unix(clock.now()));
        async move {
            if d > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(d)).await;
            }
        }
    });
    (task, seen)
}

#[tokio::test(start_paused = true)]
async fn every_five_seconds_on_the_wall_clocks_boundaries() {
    let start = JAN_1 + 2.5;
    for concurrency in [
        Concurrency::Sequential,
        Concurrency::Concurrent,
        Concurrency::Lanes,
    ] {
        for idle in [IdlePolicy::Precise, IdlePolicy::Oslo] {
            let clock = clock_from(wall(start));
            let runner = PeriodicRunner::builder(Manager)
                .concurrency(concurrency)
                .idle_policy(idle)
                .wall_clock(clock.clone())
                .build()
                .unwrap();
            let (task, seen) = recording("five", &clock, |_| 0.0);
            runner
                .add_periodic_task(task.cron("*/5 * * * * *").unwrap())
                .unwrap();
            drive(&runner, Duration::from_millis(20_000)).await;
            let offsets: Vec<f64> = seen.lock().unwrap().iter().map(|t| t - start).collect();
            assert_eq!(offsets, [2.5, 7.5, 12.5, 17.5], "{concurrency:?} {idle:?}");
        }
    }
}

/// `0 0 3 * * *` in Paris over the nights clocks go forward and back: 03:00 local each
/// day, 23 and 25 hours apart around the changes.
///
/// ```text
/// 2026-03-28 03:00 CET  = 02:00Z    2026-10-24 03:00 CEST = 01:00Z
/// 2026-03-29 03:00 CEST = 01:00Z    2026-10-25 03:00 CET  = 02:00Z
/// 2026-03-30 03:00 CEST = 01:00Z    2026-10-26 03:00 CET  = 02:00Z
/// ```
#[tokio::test(start_paused = true)]
async fn nightly_in_paris_across_daylight_saving_changes() {
    let hour = 3600.0;
    let day = 24.0 * hour;
    for (start, expected) in [
        // 2026-03-27T12:00Z
        (
            1_774_612_800.0,
            [1_774_663_200.0, 1_774_746_000.0, 1_774_832_400.0],
        ),
        // 2026-10-23T12:00Z
        (
            1_792_756_800.0,
            [1_792_803_600.0, 1_792_893_600.0, 1_792_980_000.0],
        ),
    ] {
        let clock = clock_from(wall(start));
        let runner = PeriodicRunner::builder(Manager)
            .wall_clock(clock.clone())
            .build()
            .unwrap();
        let (task, seen) = recording("nightly", &clock, |_| 60.0);
        runner
            .add_periodic_task(
                task.cron("0 0 3 * * *")
                    .unwrap()
                    .cron_tz("Europe/Paris")
                    .unwrap(),
            )
            .unwrap();
        let info = runner.task("nightly").unwrap();
        assert_eq!(info.cron.as_deref(), Some("0 0 3 * * *"));
        assert_eq!(info.time_zone.as_deref(), Some("Europe/Paris"));
        assert_eq!(info.interval, None);
        drive(&runner, Duration::from_secs_f64(3.5 * day)).await;
        assert_eq!(*seen.lock().unwrap(), expected, "from {start}");
        let gaps: Vec<f64> = expected.windows(2).map(|w| (w[1] - w[0]) / hour).collect();
        assert!(gaps.contains(&23.0) || gaps.contains(&25.0), "{gaps:?}");
    }
}

struct Declared {
    seen: Mutex<Vec<(&'static str, f64)>>,
    clock: WallClock,
}

impl Declared {
    fn note(&self, task: &'static str) {
        let t = unix(self.clock.now()) - JAN_1;
        self.seen.lock().unwrap().push((task, t));
    }
}

#[periodic_tasks]
impl Declared {
    #[periodic_task(spacing = 2, run_immediately)]
    async fn every_two(&self) {
        self.note("every_two");
    }

    #[periodic_task(cron = "*/5 * * * * *")]
    async fn on_fives(&self) {
        self.note("on_fives");
    }
}

/// A cron task and a spacing task in one runner, both declared with the macro; the wall
/// clock starts at 00:00:00.5.
///
/// ```text
/// wall (s)    0.5  2.5  4.5 5  6.5  8.5 10 10.5
/// every_two    R    R    R      R    R      R
/// on_fives                  R            R
/// ```
#[tokio::test(start_paused = true)]
async fn a_cron_task_beside_a_spacing_task() {
    let clock = clock_from(wall(JAN_1 + 0.5));
    let manager = Declared {
        seen: Mutex::new(Vec::new()),
        clock: clock.clone(),
    };
    let runner = PeriodicRunner::builder(manager)
        .jitter(Jitter::None)
        .wall_clock(clock)
        .build()
        .unwrap();
    assert_eq!(
        runner.task("on_fives").unwrap().cron.as_deref(),
        Some("*/5 * * * * *")
    );
    assert_eq!(runner.task("every_two").unwrap().cron, None);
    drive(&runner, Duration::from_millis(10_100)).await;
    let seen = runner.manager().seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("every_two", 0.5),
            ("every_two", 2.5),
            ("every_two", 4.5),
            ("on_fives", 5.0),
            ("every_two", 6.5),
            ("every_two", 8.5),
            ("on_fives", 10.0),
            ("every_two", 10.5),
        ]
    );
}

/// `*/10 * * * * *`, `run_immediately` at :00, a first run of 25 s, the others instant.
///
/// ```text
/// wall (s)     0         10        20        30        40
/// RunOnce      R═════════════════════════╗R   R         R    25, 30, 40
/// Skip         R═════════════════════════╗    R         R    30, 40
/// CatchUp(2)   R═════════════════════════╗RR  R         R    25 (for 10), 25 (for 20), 30, 40
/// ```
#[tokio::test(start_paused = true)]
async fn a_long_run_follows_the_overrun_policy() {
    for concurrency in [Concurrency::Sequential, Concurrency::Lanes] {
        for (overrun, expected) in [
            (Overrun::RunOnce, &[0.0, 25.0, 30.0, 40.0][..]),
            (Overrun::Skip, &[0.0, 30.0, 40.0][..]),
            (Overrun::CatchUp(2), &[0.0, 25.0, 25.0, 30.0, 40.0][..]),
        ] {
            let clock = clock_from(wall(JAN_1));
            let runner = PeriodicRunner::builder(Manager)
                .concurrency(concurrency)
                .wall_clock(clock.clone())
                .build()
                .unwrap();
            let (task, seen) = recording("long", &clock, |n| if n == 0 { 25.0 } else { 0.0 });
            runner
                .add_periodic_task(
                    task.cron("*/10 * * * * *")
                        .unwrap()
                        .run_immediately(true)
                        .overrun(overrun),
                )
                .unwrap();
            drive(&runner, Duration::from_secs(45)).await;
            let offsets: Vec<f64> = seen.lock().unwrap().iter().map(|t| t - JAN_1).collect();
            assert_eq!(offsets, expected, "{concurrency:?} {overrun:?}");
        }
    }
}

#[test]
fn mistakes_are_config_errors() {
    let task = || PeriodicTask::<Manager>::new("t", |_m: Arc<Manager>, _c: Arc<()>| async {});
    let err = task().cron("0 */10 * *").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .starts_with("invalid cron expression \"0 */10 * *\": "),
        "{err}"
    );
    let err = task().cron_tz("Europe/Paris").unwrap_err();
    assert_eq!(
        err.to_string(),
        "periodic task t: a time zone needs a cron expression first: \
         `.cron(\"0 0 3 * * *\")?.cron_tz(\"Europe/Paris\")?`"
    );
    let err = task()
        .cron("@daily")
        .unwrap()
        .cron_tz("Europe/Pariss")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);

    // A fleet task cannot follow a cron schedule yet.
    let runner = PeriodicRunner::builder(Manager)
        .options(RunnerOptions::new().task_ledger(Arc::new(MemoryLedger::new())))
        .build()
        .unwrap();
    let err = runner
        .add_periodic_task(task().cron("@hourly").unwrap().fleet(Fleet::Default))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "periodic task Manager.t is a fleet task with a cron schedule (\"@hourly\"); fleet \
         tasks take a spacing: cron schedules are not supported for them yet"
    );
}

/// A spacing override (`[periodic_task_spacing]`, `set_spacing`) of a cron task can
/// disable it (negative) and give it back its schedule (0, what a cron task declares, and
/// what a SIGHUP that removes the override returns to); a spacing of its own is refused.
#[tokio::test(start_paused = true)]
async fn a_spacing_override_disables_or_restores_a_cron_task() {
    let clock = clock_from(wall(JAN_1 + 1.0));
    let runner = PeriodicRunner::builder(Manager)
        .wall_clock(clock.clone())
        .build()
        .unwrap();
    let (task, seen) = recording("fives", &clock, |_| 0.0);
    runner
        .add_periodic_task(task.cron("*/5 * * * * *").unwrap())
        .unwrap();
    let err = runner
        .set_spacing("fives", Duration::from_secs(4))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "periodic task Manager.fives follows the cron schedule \"*/5 * * * * *\": a spacing \
         override can disable it (a negative spacing) or keep its schedule (0), not make it \
         run every 4s"
    );
    runner.set_spacing("fives", Spacing::Disabled).unwrap();
    let info = runner.task("fives").unwrap();
    assert!(!info.runnable && info.next_due.is_none());
    assert_eq!(info.cron.as_deref(), Some("*/5 * * * * *"));
    drive(&runner, Duration::from_secs(6)).await; // wall :07, :05 skipped
    assert!(seen.lock().unwrap().is_empty());
    runner.set_spacing("fives", Spacing::Default).unwrap();
    assert!(runner.task("fives").unwrap().runnable);
    drive(&runner, Duration::from_secs(9)).await; // to wall :16
    let offsets: Vec<f64> = seen.lock().unwrap().iter().map(|t| t - JAN_1).collect();
    assert_eq!(offsets, [10.0, 15.0]);
}

/// A cron task paused in the task ledger is passed over at each occurrence, and once
/// resumed runs at its next occurrence, not one interval after it was last passed over.
///
/// ```text
/// */10 * * * * *   wall :00 (ledger and runner start)
/// wall (s)   :10   :15     :20   :30   :33      :40   :50
///            run   pause   skip  skip  resume   run   run
/// ```
#[tokio::test(start_paused = true)]
async fn a_paused_cron_task_resumes_on_its_calendar() {
    let start = Instant::now();
    let clock = clock_from(wall(JAN_1));
    let ledger: Arc<dyn periodic::TaskLedger> = Arc::new(MemoryLedger::new());
    let scope = periodic::TaskScope::service("n1", "nova-compute");
    let runner = PeriodicRunner::builder(Manager)
        .options(
            RunnerOptions::new()
                .jitter(Jitter::None)
                .task_ledger(Arc::clone(&ledger))
                .ledger_scope(scope.clone()),
        )
        .wall_clock(clock.clone())
        .build()
        .unwrap();
    let (task, seen) = recording("tens", &clock, |_| 0.0);
    runner
        .add_periodic_task(task.cron("*/10 * * * * *").unwrap())
        .unwrap();
    let copy = runner.clone();
    let driving = tokio::spawn(async move { drive(&copy, Duration::from_secs(55)).await });

    tokio::time::sleep_until(start + Duration::from_secs(15)).await;
    let pause = periodic::TaskControl::pause(None).unwrap();
    ledger.control(&scope, "tens", &pause).await.unwrap();
    tokio::time::sleep_until(start + Duration::from_secs(33)).await;
    assert!(runner.task("tens").unwrap().paused);
    ledger
        .control(&scope, "tens", &periodic::TaskControl::Resume)
        .await
        .unwrap();
    driving.await.unwrap();
    let offsets: Vec<f64> = seen.lock().unwrap().iter().map(|t| t - JAN_1).collect();
    assert_eq!(offsets, [10.0, 40.0, 50.0]);
}
