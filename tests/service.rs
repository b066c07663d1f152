//! The service runtime on the `memory://` store, in paused tokio time: nova's start order,
//! the heartbeat and the periodic tasks together, graceful stop and its timeout,
//! `is_working`, `periodic_enable`, spacing overrides, failing hooks.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    BoxError, Concurrency, DownReason, ErrorKind, Jitter, Manager, RunOutcome, RunnerOptions,
    Service, ServiceFilter, ServiceGroup, ServiceGroupConfig, ServiceRecord, Spacing, Stopped,
    periodic_tasks,
};
use tokio::time::{Instant, sleep};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A manager that records its hooks and task runs (seconds since `t0`).
struct Recording {
    t0: Instant,
    events: Mutex<Vec<String>>,
    working: AtomicBool,
    sync_runs: AtomicU32,
    fail_hook: Option<&'static str>,
    slow_task: Duration,
}

impl Recording {
    fn new() -> Self {
        Recording {
            t0: Instant::now(),
            events: Mutex::new(Vec::new()),
            working: AtomicBool::new(true),
            sync_runs: AtomicU32::new(0),
            fail_hook: None,
            slow_task: Duration::ZERO,
        }
    }
    fn log(&self, event: impl Into<String>) {
        self.events.lock().unwrap().push(event.into());
    }
    fn at(&self) -> u64 {
        (Instant::now() - self.t0).as_secs()
    }
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
    fn hook(&self, name: &'static str) -> Result<(), BoxError> {
        self.log(name);
        if self.fail_hook == Some(name) {
            return Err(format!("{name} exploded").into());
        }
        Ok(())
    }
}

struct Ctx(&'static str);

impl Manager for Recording {
    type Context = Ctx;

    fn context(&self) -> Ctx {
        Ctx("admin")
    }

    async fn init_host(&self) -> Result<(), BoxError> {
        self.hook("init_host")
    }

    async fn pre_start_hook(&self, service: &ServiceRecord) -> Result<(), BoxError> {
        self.log(format!("record {} {}", service.host, service.binary));
        self.hook("pre_start_hook")
    }

    async fn post_start_hook(&self) -> Result<(), BoxError> {
        self.hook("post_start_hook")
    }

    fn is_working(&self) -> bool {
        self.working.load(Ordering::SeqCst)
    }

    async fn cleanup_host(&self) {
        self.log("cleanup_host");
    }
}

#[periodic_tasks]
impl Recording {
    #[periodic_task(spacing = 30, run_immediately)]
    async fn update_available_resource(&self, ctx: &Ctx) {
        self.log(format!(
            "update_available_resource {} at {}",
            ctx.0,
            self.at()
        ));
        if !self.slow_task.is_zero() {
            sleep(self.slow_task).await;
            self.log(format!("update_available_resource done at {}", self.at()));
        }
    }

    #[periodic_task(spacing = 45)]
    fn sync_power_states(&self, _ctx: &Ctx) {
        self.sync_runs.fetch_add(1, Ordering::SeqCst);
    }
}

async fn group() -> ServiceGroup {
    ServiceGroup::open(
        "memory://",
        ServiceGroupConfig::default()
            .report_interval(secs(10))
            .service_down_time(secs(60)),
    )
    .await
    .unwrap()
}

fn service(manager: Recording, group: &ServiceGroup) -> periodic::ServiceBuilder<Recording> {
    Service::builder(manager, "periodic-compute", "compute")
        .host("node1")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .jitter(Jitter::None)
}

fn task_runs(events: &[String]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.starts_with("update_available_resource admin at"))
        .cloned()
        .collect()
}

// nova's order: init_host, the record, pre_start_hook, post_start_hook, then the heartbeat
// (first report after 5 s, then every 10 s) and the periodic tasks (immediately with no
// fuzzy delay; spacing 30 on its grid; the context is the manager's).
//
//   0 run   5 hb   15 hb   25 hb   30 run   35 hb   45 hb+sync   55 hb   60 run
#[tokio::test(start_paused = true)]
async fn start_order_heartbeat_and_periodic_tasks() {
    let group = group().await;
    let running = service(Recording::new(), &group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    sleep(Duration::from_millis(1)).await; // let the first pass run
    assert_eq!(
        manager.events()[..5],
        [
            "init_host",
            "record node1 periodic-compute",
            "pre_start_hook",
            "post_start_hook",
            "update_available_resource admin at 0",
        ]
    );
    let id = running.record().id;
    assert_eq!(running.record().topic, "compute");
    assert_eq!(group.get(id).await.unwrap().report_count, 0);

    sleep(secs(5)).await;
    assert_eq!(
        group.get(id).await.unwrap().report_count,
        1,
        "first report after 5 s"
    );
    sleep(secs(55)).await;
    sleep(Duration::from_millis(1)).await;
    // Reports at 5, 15, ..., 55: six.
    assert_eq!(group.get(id).await.unwrap().report_count, 6);
    assert_eq!(running.heartbeat_stats().reports_ok, 6);
    assert_eq!(
        task_runs(&manager.events()),
        [
            "update_available_resource admin at 0",
            "update_available_resource admin at 30",
            "update_available_resource admin at 60",
        ]
    );
    assert_eq!(
        manager.sync_runs.load(Ordering::SeqCst),
        1,
        "sync_power_states at 45"
    );
    let status = group.status(id).await.unwrap();
    assert!(status.is_up());
    let tasks = running.runner().tasks();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].full_name, "Recording.update_available_resource");
    assert_eq!(tasks[0].runs, 3);
    assert!(running.periodic_tasks_running());

    assert_eq!(running.stop().await.unwrap(), Stopped::Graceful);
    assert_eq!(manager.events().last().unwrap(), "cleanup_host");
}

// The fuzzy delay (nova's periodic_fuzzy_delay, random in [0, value] whole seconds) holds
// back the first pass but not the heartbeat.
#[tokio::test(start_paused = true)]
async fn fuzzy_delay_holds_back_the_first_pass() {
    let group = group().await;
    let running = Service::builder(Recording::new(), "periodic-compute", "compute")
        .host("node1")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(secs(60))
        .jitter(Jitter::None)
        .seed(11)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    sleep(secs(61)).await;
    sleep(Duration::from_millis(1)).await;
    let runs = task_runs(&manager.events());
    let first: u64 = runs[0].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(first > 0 && first <= 60, "first pass at {first}");
    assert!(!runs.is_empty());
    let status = group.list(&ServiceFilter::all()).await.unwrap();
    assert!(
        status[0].record.report_count >= 5,
        "the heartbeat does not wait for the fuzzy delay"
    );
    // The same seed gives the same delay.
    let group2 = group.clone();
    let again = Service::builder(Recording::new(), "periodic-compute", "compute")
        .host("node2")
        .servicegroup(group2)
        .periodic_fuzzy_delay(secs(60))
        .jitter(Jitter::None)
        .seed(11)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let m2 = Arc::clone(again.manager());
    sleep(secs(61)).await;
    sleep(Duration::from_millis(1)).await;
    let runs2 = task_runs(&m2.events());
    let first2: u64 = runs2[0].rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(first2, first, "seeded fuzzy delay is reproducible");
    running.stop().await.unwrap();
    again.stop().await.unwrap();
}

// A graceful stop lets the running pass finish (the heartbeat keeps the service up while
// it does), then marks the service stopped: down at once, not after service_down_time.
//
//   0 pass starts (takes 40 s)   10 stop requested ... 40 pass done -> stopped
#[tokio::test(start_paused = true)]
async fn graceful_stop_waits_for_the_running_pass_then_marks_stopped() {
    let group = group().await;
    let mut manager = Recording::new();
    manager.slow_task = secs(40);
    let running = service(manager, &group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    let id = running.record().id;
    sleep(secs(10)).await;
    let stop = tokio::spawn(running.stop());
    sleep(secs(20)).await;
    assert!(
        group.is_up(id).await.unwrap(),
        "up while its last pass finishes"
    );
    assert!(!stop.is_finished());
    let t = Instant::now();
    assert_eq!(stop.await.unwrap().unwrap(), Stopped::Graceful);
    assert_eq!(
        Instant::now() - t,
        secs(10),
        "stopped when the pass ended, at 40"
    );
    let events = manager.events();
    assert!(events.contains(&"update_available_resource done at 40".to_owned()));
    assert_eq!(events.last().unwrap(), "cleanup_host");
    let status = group.status(id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::Stopped));
    let listed = group.list(&ServiceFilter::all()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].is_up());
}

// oslo's graceful_shutdown_timeout: a pass that outlives it is abandoned, the outcome says
// so (exit code 1), and the service is still marked stopped.
#[tokio::test(start_paused = true)]
async fn graceful_shutdown_timeout_is_enforced() {
    let group = group().await;
    let mut manager = Recording::new();
    manager.slow_task = secs(3600);
    let running = service(manager, &group)
        .graceful_shutdown_timeout(secs(60))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let id = running.record().id;
    let manager = Arc::clone(running.manager());
    sleep(secs(1)).await;
    let t = Instant::now();
    let stopped = running.stop().await.unwrap();
    assert_eq!(stopped, Stopped::TimedOut);
    assert_eq!(stopped.exit_code(), 1);
    assert_eq!(Instant::now() - t, secs(60));
    assert_eq!(
        group.status(id).await.unwrap().down_reason,
        Some(DownReason::Stopped)
    );
    assert!(!manager.events().contains(&"cleanup_host".to_owned()));
}

// With Concurrency::Lanes a pass does not wait for its runs: the stop waits for the runs
// the lanes have in progress, within graceful_shutdown_timeout.
//
//   0 lane starts the task (takes 40 s)   10 stop requested ... 40 run done -> stopped
#[tokio::test(start_paused = true)]
async fn graceful_stop_waits_for_the_runs_of_the_lanes() {
    let group = group().await;
    let mut manager = Recording::new();
    manager.slow_task = secs(40);
    let running = service(manager, &group)
        .runner_options(
            RunnerOptions::new()
                .jitter(Jitter::None)
                .concurrency(Concurrency::Lanes),
        )
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    sleep(secs(10)).await;
    let t = Instant::now();
    assert_eq!(running.stop().await.unwrap(), Stopped::Graceful);
    assert_eq!(
        Instant::now() - t,
        secs(30),
        "stopped when the run ended, at 40"
    );
    let events = manager.events();
    assert!(events.contains(&"update_available_resource done at 40".to_owned()));
    assert_eq!(events.last().unwrap(), "cleanup_host");
}

// A lane's run that outlives graceful_shutdown_timeout is cancelled: it never ends.
#[tokio::test(start_paused = true)]
async fn graceful_shutdown_timeout_cancels_the_runs_of_the_lanes() {
    let group = group().await;
    let mut manager = Recording::new();
    manager.slow_task = secs(3600);
    let running = service(manager, &group)
        .runner_options(
            RunnerOptions::new()
                .jitter(Jitter::None)
                .concurrency(Concurrency::Lanes),
        )
        .graceful_shutdown_timeout(secs(60))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    sleep(secs(1)).await;
    let t = Instant::now();
    assert_eq!(running.stop().await.unwrap(), Stopped::TimedOut);
    assert_eq!(Instant::now() - t, secs(60));
    sleep(secs(7200)).await;
    let events = manager.events();
    assert!(
        !events
            .iter()
            .any(|e| e.starts_with("update_available_resource done")),
        "{events:?}"
    );
    assert_eq!(task_runs(&events).len(), 1, "{events:?}");
}

// cinder LP#1446750: a manager that is not working stops heartbeating and shows down on
// purpose once service_down_time has passed; it comes back when it works again.
#[tokio::test(start_paused = true)]
async fn not_working_manager_shows_down() {
    let group = group().await;
    let running = service(Recording::new(), &group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let id = running.record().id;
    sleep(secs(6)).await; // first report at 5
    running.manager().working.store(false, Ordering::SeqCst);
    sleep(secs(59)).await; // 65: last report at 5 is 60 s old
    assert!(group.is_up(id).await.unwrap());
    sleep(secs(1)).await;
    assert_eq!(
        group.status(id).await.unwrap().down_reason,
        Some(DownReason::NoHeartbeat)
    );
    assert!(running.heartbeat_stats().reports_skipped >= 6);
    running.manager().working.store(true, Ordering::SeqCst);
    sleep(secs(10)).await;
    assert!(group.is_up(id).await.unwrap());
    running.stop().await.unwrap();
}

// periodic_enable = false: heartbeats, no periodic tasks.
#[tokio::test(start_paused = true)]
async fn periodic_enable_false_runs_no_tasks() {
    let group = group().await;
    let running = service(Recording::new(), &group)
        .periodic_enable(false)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    sleep(secs(100)).await;
    assert!(task_runs(&running.manager().events()).is_empty());
    assert!(!running.periodic_tasks_running());
    assert!(group.is_up(running.record().id).await.unwrap());
    assert!(group.get(running.record().id).await.unwrap().report_count >= 9);
    running.stop().await.unwrap();
}

// Spacings from configuration (nova's CONF values): an override changes the schedule, a
// negative one disables the task, an unknown task name is an error at start.
#[tokio::test(start_paused = true)]
async fn spacing_overrides_from_configuration() {
    let group = group().await;
    let running = service(Recording::new(), &group)
        .spacing_override("update_available_resource", secs(20))
        .spacing_override("sync_power_states", Spacing::Disabled)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    sleep(secs(61)).await;
    sleep(Duration::from_millis(1)).await;
    assert_eq!(
        task_runs(&running.manager().events()).len(),
        4,
        "0, 20, 40, 60"
    );
    assert_eq!(running.manager().sync_runs.load(Ordering::SeqCst), 0);
    running.stop().await.unwrap();

    // An override naming no task is refused by `build`, before the start: init_host never
    // runs and no row is created (it used to show up for service_down_time).
    let manager = Arc::new(Recording::new());
    let builder =
        Service::<Recording>::builder(Arc::clone(&manager), "periodic-compute", "compute")
            .servicegroup(group.clone())
            .host("node9")
            .spacing_override("no_such_task", secs(5));
    let err = builder.check().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("no_such_task"), "{err}");
    let err = builder.build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(manager.events().is_empty(), "{:?}", manager.events());
    assert!(
        group
            .list(&ServiceFilter::all().host("node9"))
            .await
            .unwrap()
            .is_empty()
    );
}

// The runner's options reach the service's runner as one value: an observer set there sees
// every run, its spacing override applies, and a setter called afterwards adds to it.
//
//   0 run   20 run   40 run      (update_available_resource, spacing 20; sync disabled)
#[tokio::test(start_paused = true)]
async fn runner_options_reach_the_services_runner() {
    let group = group().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let options = RunnerOptions::new()
        .jitter(Jitter::None)
        .spacing_override("update_available_resource", secs(20))
        .on_task_run(move |run| {
            seen2
                .lock()
                .unwrap()
                .push((run.name.to_string(), run.outcome));
        });
    let running = service(Recording::new(), &group)
        .runner_options(options)
        .spacing_override("sync_power_states", Spacing::Disabled)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    sleep(secs(41)).await;
    let update = (
        "update_available_resource".to_owned(),
        RunOutcome::Succeeded,
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [update.clone(), update.clone(), update]
    );
    assert_eq!(running.manager().sync_runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        running.runner().task("sync_power_states").unwrap().spacing,
        Spacing::Disabled
    );
    running.stop().await.unwrap();
}

// A failing hook aborts the start with an error naming the hook; the service never joins
// (no heartbeat: it is never up after service_down_time).
#[tokio::test(start_paused = true)]
async fn failing_hook_aborts_the_start() {
    let group = group().await;
    let mut manager = Recording::new();
    manager.fail_hook = Some("post_start_hook");
    let err = service(manager, &group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Hook);
    assert_eq!(
        err.to_string(),
        "the manager's post_start_hook failed: post_start_hook exploded"
    );
    assert_eq!(
        std::error::Error::source(&err).map(ToString::to_string),
        Some("post_start_hook exploded".to_owned()),
        "the hook's own error is the source"
    );
    let record = group.find("node1", "periodic-compute").await.unwrap();
    sleep(secs(120)).await;
    assert_eq!(group.get(record.id).await.unwrap().report_count, 0);
    assert!(!group.is_up(record.id).await.unwrap());

    let mut manager = Recording::new();
    manager.fail_hook = Some("init_host");
    let err = service(manager, &group)
        .host("node2")
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Hook);
    assert!(
        err.to_string()
            .starts_with("the manager's init_host failed")
    );
    assert_eq!(
        group
            .find("node2", "periodic-compute")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound,
        "init_host runs before the record is created"
    );
}

// pre_start_hook gets the record, then fails: the same kind, its own name. The record
// stays (as in nova), but the service never heartbeats.
#[tokio::test(start_paused = true)]
async fn failing_pre_start_hook_is_a_hook_error() {
    let group = group().await;
    let mut manager = Recording::new();
    manager.fail_hook = Some("pre_start_hook");
    let err = service(manager, &group)
        .host("node3")
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Hook);
    assert_eq!(
        err.report(),
        "the manager's pre_start_hook failed: pre_start_hook exploded"
    );
    let record = group.find("node3", "periodic-compute").await.unwrap();
    assert_eq!(record.report_count, 0);
}

/// A hook error with a cause of its own.
#[derive(Debug)]
struct NoInventory(std::io::Error);

impl std::fmt::Display for NoInventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot read the host's inventory")
    }
}

impl std::error::Error for NoInventory {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A manager whose `init_host` fails with a two-level error.
struct NoHost;

impl Manager for NoHost {
    type Context = ();
    fn context(&self) {}
    async fn init_host(&self) -> Result<(), BoxError> {
        Err(NoInventory(std::io::Error::other("/dev/kvm is missing")).into())
    }
}

// The message names the hook and shows the hook error's text; its cause stays in the
// source chain, so the one-line report shows every cause exactly once.
#[tokio::test]
async fn hook_error_keeps_its_chain() {
    let err = Service::builder(NoHost, "periodic-compute", "compute")
        .servicegroup(group().await)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Hook);
    assert_eq!(
        err.to_string(),
        "the manager's init_host failed: cannot read the host's inventory"
    );
    let source = std::error::Error::source(&err).expect("the hook's error");
    assert!(source.is::<NoInventory>(), "{source:?}");
    assert_eq!(
        err.report(),
        "the manager's init_host failed: cannot read the host's inventory: /dev/kvm is missing"
    );
    let source = err.into_source().expect("the hook's error");
    assert!(source.downcast::<NoInventory>().is_ok());
}

#[tokio::test]
async fn builder_errors() {
    let err = Service::builder(Recording::new(), "periodic-compute", "compute")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("service group"));
    let err = Service::builder(Recording::new(), "", "compute")
        .servicegroup(group().await)
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "a service's binary must not be empty");
}

// A second instance with the same host and binary is refused while the first heartbeats;
// once the first stopped gracefully, a new one starts at once.
//
//   0 A starts   5 A reports   6 B starts: row up, watched 11 s   15 A reports: B refused
#[tokio::test(start_paused = true)]
async fn a_second_live_instance_is_refused() {
    let group = group().await;
    let first = service(Recording::new(), &group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    sleep(secs(6)).await;

    let started = Instant::now();
    let second = Arc::new(Recording::new());
    let err = Service::<Recording>::builder(Arc::clone(&second), "periodic-compute", "compute")
        .host("node1")
        .servicegroup(group.clone())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .starts_with("another instance of `periodic-compute` on host `node1` is running"),
        "{err}"
    );
    assert!(started.elapsed() <= secs(11), "{:?}", started.elapsed());
    assert!(second.events().is_empty(), "refused before init_host");

    // Those who mean it can have two.
    let both = service(Recording::new(), &group)
        .allow_second_instance(true)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    both.stop().await.unwrap();
    first.stop().await.unwrap();

    // Stopped gracefully: the next one starts without watching.
    let started = Instant::now();
    let third = service(Recording::new(), &group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    assert!(started.elapsed() < secs(1), "{:?}", started.elapsed());
    third.stop().await.unwrap();
}
