//! The HTTP API embedded in a running service, over real HTTP: `/tasks` and `/metrics`
//! after real task runs, `/healthz` ok and 503 (stale heartbeat, manager not working),
//! and the listener closing with the service.
//!
//! These run in real time (a few seconds each): paused time cannot be used with a real
//! socket, because tokio would auto-advance the clock while the client waits for the
//! server. Heartbeat ages are judged on the group's wall clock, which the stale tests
//! move forward instead of waiting.
#![cfg(feature = "http")]

mod http_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http_support::{Api, samples};
use periodic::{
    ApiAuth, ApiServerOptions, ErrorKind, Manager, RunnerOptions, RunningService, Service,
    ServiceGroup, ServiceGroupConfig, WallClock, periodic_tasks,
};
use serde_json::Value;

struct Compute {
    working: Arc<AtomicBool>,
    init_host_ran: AtomicBool,
}

impl Manager for Compute {
    type Context = ();
    fn context(&self) {}
    async fn init_host(&self) -> Result<(), periodic::BoxError> {
        self.init_host_ran.store(true, Ordering::SeqCst);
        Ok(())
    }
    fn is_working(&self) -> bool {
        self.working.load(Ordering::SeqCst)
    }
}

#[periodic_tasks]
impl Compute {
    #[periodic_task(spacing = 1, run_immediately)]
    async fn update_available_resource(&self) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[periodic_task(spacing = 3600, run_immediately)]
    async fn sync_power_states(&self) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("hypervisor unreachable"))
    }

    #[periodic_task(spacing = 600, enabled = false)]
    async fn cleanup_running_deleted_instances(&self) {}
}

/// A wall clock the test can move forward.
#[derive(Clone, Default)]
struct Skew(Arc<AtomicU64>);

impl Skew {
    fn clock(&self) -> WallClock {
        let offset = Arc::clone(&self.0);
        WallClock::from_fn(move || {
            SystemTime::now() + Duration::from_secs(offset.load(Ordering::SeqCst))
        })
    }
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

struct Setup {
    report_interval: Duration,
    working: bool,
    periodic_enable: bool,
    runner: RunnerOptions,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            report_interval: Duration::from_secs(1),
            working: true,
            periodic_enable: true,
            runner: RunnerOptions::new(),
        }
    }
}

async fn start(setup: Setup, skew: &Skew) -> (RunningService<Compute>, Api, Arc<AtomicBool>) {
    let config = ServiceGroupConfig::default()
        .report_interval(setup.report_interval)
        .service_down_time(Duration::from_secs(60))
        .clock(skew.clock());
    let group = ServiceGroup::open("memory://", config).await.unwrap();
    let working = Arc::new(AtomicBool::new(setup.working));
    let manager = Compute {
        working: Arc::clone(&working),
        init_host_ran: AtomicBool::new(false),
    };
    let running = Service::builder(manager, "nova-compute", "compute")
        .host("node-1")
        .servicegroup(group)
        .periodic_fuzzy_delay(Duration::ZERO)
        .initial_reporting_delay(Duration::ZERO)
        .periodic_enable(setup.periodic_enable)
        .runner_options(setup.runner)
        .api(ApiServerOptions::new("127.0.0.1:0".parse().unwrap()).auth(ApiAuth::ReadOnly))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let api = Api::new(running.api_addr().expect("the API is served"));
    (running, api, working)
}

/// Polls `/tasks` until `done` holds (real time, at most 10 s).
async fn tasks_until(api: &Api, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = api.get("/tasks").await.json();
        if done(&tasks) {
            return tasks;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {tasks}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (real time, at most 10 s) until the store accepted a heartbeat.
async fn wait_for_heartbeat(running: &RunningService<Compute>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while running.heartbeat_stats().reports_ok == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no heartbeat");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn task<'a>(tasks: &'a Value, name: &str) -> &'a Value {
    tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name} in {tasks}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_lists_the_schedule_and_counters() {
    let skew = Skew::default();
    let (running, api, _) = start(Setup::default(), &skew).await;

    let tasks = tasks_until(&api, |t| {
        task(t, "update_available_resource")["runs"].as_u64() >= Some(2)
            && task(t, "sync_power_states")["failures"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(tasks["service"]["host"], "node-1");
    assert_eq!(tasks["service"]["binary"], "nova-compute");
    assert_eq!(tasks["service"]["topic"], "compute");
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 3);

    let update = task(&tasks, "update_available_resource");
    let keys: BTreeSet<&str> = update
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "name",
            "full_name",
            "spacing",
            "enabled",
            "run_immediately",
            "external_process_ok",
            "last_run_ago",
            "next_due_in",
            "runs",
            "failures",
            "last_duration",
            "last_lateness",
            "running",
            "fleet",
            "fleet_slot",
            "fleet_token",
            "paused",
            "cron",
            "tz",
            "timeout",
            "overrun"
        ])
    );
    // A task with a spacing has no cron schedule; no timeout, oslo's overrun policy.
    assert!(update["cron"].is_null() && update["tz"].is_null());
    assert!(update["timeout"].is_null());
    assert_eq!(update["overrun"], "run_once");
    assert!(update["fleet"].is_null() && update["fleet_token"].is_null());
    assert_eq!(update["paused"], false);
    assert_eq!(update["full_name"], "Compute.update_available_resource");
    assert_eq!(update["spacing"], 1.0);
    assert_eq!(update["enabled"], true);
    assert_eq!(update["run_immediately"], true);
    assert_eq!(update["external_process_ok"], false);
    assert_eq!(update["failures"], 0);
    let ago = update["last_run_ago"].as_f64().unwrap();
    assert!((0.0..2.0).contains(&ago), "{update}");
    let due = update["next_due_in"].as_f64().unwrap();
    assert!((-1.0..=1.1).contains(&due), "{update}");
    let duration = update["last_duration"].as_f64().unwrap();
    assert!(
        (0.015..1.0).contains(&duration),
        "the task sleeps 20 ms: {update}"
    );
    assert!(update["last_lateness"].as_f64().unwrap() >= 0.0);
    assert!(update["running"].is_boolean());

    let sync = task(&tasks, "sync_power_states");
    assert_eq!(sync["runs"], 1);
    assert_eq!(sync["failures"], 1);
    assert_eq!(sync["spacing"], 3600.0);
    let due = sync["next_due_in"].as_f64().unwrap();
    assert!(due > 3000.0 && due <= 3600.0, "{sync}");

    let disabled = task(&tasks, "cleanup_running_deleted_instances");
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["runs"], 0);
    assert_eq!(disabled["next_due_in"], Value::Null);
    assert_eq!(disabled["last_run_ago"], Value::Null);
    assert_eq!(disabled["last_duration"], Value::Null);

    running.stop().await.unwrap();
}

// The service adds its metrics observer after the observers of its runner options: both
// see every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_observe_runs_after_the_users_observer() {
    let skew = Skew::default();
    let sync_runs = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&sync_runs);
    let setup = Setup {
        runner: RunnerOptions::new().on_task_run(move |run| {
            if &*run.name == "sync_power_states" {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }),
        ..Setup::default()
    };
    let (running, api, _) = start(setup, &skew).await;
    let labels = [
        ("task", "sync_power_states"),
        ("binary", "nova-compute"),
        ("host", "node-1"),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = api.get("/metrics").await.text;
        if samples(&text, "periodic_task_runs_total", &labels) == [1.0] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The user's observer is called first, so it has counted the run too.
    assert_eq!(sync_runs.load(Ordering::SeqCst), 1);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_runs_failures_and_heartbeats() {
    let skew = Skew::default();
    let (running, api, _) = start(Setup::default(), &skew).await;
    tasks_until(&api, |t| {
        task(t, "update_available_resource")["runs"].as_u64() >= Some(2)
            && task(t, "sync_power_states")["failures"].as_u64() >= Some(1)
    })
    .await;
    wait_for_heartbeat(&running).await;

    let answer = api.get("/metrics").await;
    assert_eq!(answer.status, 200);
    let text = &answer.text;
    let who = [("binary", "nova-compute"), ("host", "node-1")];
    let task_labels = |name| [("task", name), who[0], who[1]];

    let runs = samples(
        text,
        "periodic_task_runs_total",
        &task_labels("update_available_resource"),
    );
    assert_eq!(runs.len(), 1, "{text}");
    assert!(runs[0] >= 2.0, "{text}");
    assert_eq!(
        samples(
            text,
            "periodic_task_runs_total",
            &task_labels("sync_power_states")
        ),
        vec![1.0]
    );
    assert_eq!(
        samples(
            text,
            "periodic_task_failures_total",
            &task_labels("sync_power_states")
        ),
        vec![1.0]
    );
    // The histograms: one bucket series per bound, +Inf counting every run.
    let count = samples(
        text,
        "periodic_task_duration_seconds_count",
        &task_labels("update_available_resource"),
    );
    assert_eq!(count, runs, "{text}");
    let sum = samples(
        text,
        "periodic_task_duration_seconds_sum",
        &task_labels("update_available_resource"),
    );
    assert!(sum[0] >= 0.02 * runs[0], "each run sleeps 20 ms: {text}");
    let mut inf = task_labels("update_available_resource").to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        samples(text, "periodic_task_duration_seconds_bucket", &inf),
        runs
    );
    let mut under_10ms = task_labels("update_available_resource").to_vec();
    under_10ms.push(("le", "0.01"));
    assert_eq!(
        samples(text, "periodic_task_duration_seconds_bucket", &under_10ms),
        vec![0.0],
        "no run took under 10 ms"
    );
    assert_eq!(
        samples(
            text,
            "periodic_task_lateness_seconds_count",
            &task_labels("update_available_resource")
        ),
        runs
    );
    assert!(
        text.contains("# TYPE periodic_task_lateness_seconds histogram"),
        "{text}"
    );

    heartbeat_and_services(text);

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_ok_then_503_when_the_heartbeat_is_stale() {
    let skew = Skew::default();
    // One heartbeat at start, the next 30 s later (real time: after the test).
    let setup = Setup {
        report_interval: Duration::from_secs(30),
        ..Setup::default()
    };
    let (running, api, _) = start(setup, &skew).await;
    wait_for_heartbeat(&running).await;

    let ok = api.get("/healthz").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let body = ok.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"]["binary"], "nova-compute");
    assert_eq!(body["heartbeat"]["running"], true);
    assert_eq!(body["heartbeat"]["reports_ok"], 1);
    assert_eq!(body["heartbeat"]["service_down_time"], 60.0);
    assert!(body["heartbeat"]["last_report_age"].as_f64().unwrap() < 5.0);
    // The service's own clock skew at its last report: the store here keeps the same
    // clock.
    let own_skew = body["heartbeat"]["clock_skew"].as_f64().unwrap();
    assert!(own_skew.abs() < 1.0, "{own_skew}");
    assert_eq!(body["periodic_tasks"]["running"], true);
    assert!(body.get("reason").is_none());

    // 61 s later on the wall clock the last heartbeat is older than service_down_time.
    skew.advance(61);
    let stale = api.get("/healthz").await;
    assert_eq!(stale.status, 503, "{}", stale.text);
    let body = stale.json();
    assert_eq!(body["status"], "unhealthy");
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the last successful heartbeat was 61."),
        "{reason}"
    );
    assert!(
        reason.ends_with("more than service_down_time (60 s)"),
        "{reason}"
    );
    assert!(body["heartbeat"]["last_report_age"].as_f64().unwrap() >= 61.0);

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_of_a_manager_that_is_not_working() {
    let skew = Skew::default();
    let setup = Setup {
        working: false,
        periodic_enable: false,
        ..Setup::default()
    };
    let (running, api, _working) = start(setup, &skew).await;
    // No heartbeat is written, but within service_down_time of start it is fine.
    let ok = api.get("/healthz").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let body = ok.json();
    assert_eq!(body["heartbeat"]["last_report_age"], Value::Null);
    assert_eq!(
        body["periodic_tasks"],
        serde_json::json!({"enabled": false, "running": false})
    );

    skew.advance(120);
    let stale = api.get("/healthz").await;
    assert_eq!(stale.status, 503);
    let body = stale.json();
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("no successful heartbeat yet, 120."),
        "{reason}"
    );
    assert!(
        body["heartbeat"]["reports_skipped"].as_u64().unwrap() >= 1,
        "{body}"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_stops_with_the_service() {
    let skew = Skew::default();
    let (running, api, _) = start(Setup::default(), &skew).await;
    let addr = running.api_addr().unwrap();
    // The embedded API serves the store's os-services too.
    let services = api.get("/os-services").await.json();
    assert_eq!(services["services"][0]["host"], "node-1");
    assert_eq!(services["services"][0]["state"], "up");
    // And the operator's page, the same router as `periodic api serve`'s.
    let page = api.call("GET", "/", &[("accept", "text/html")], None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/ui/app.js"), "{}", page.text);
    let rows = api.get("/ui/services").await.json();
    assert_eq!(rows["services"][0]["host"], "node-1");
    assert_eq!(rows["totals"]["up"], 1);
    // Read-only: writes refused.
    let id = services["services"][0]["id"].as_str().unwrap().to_owned();
    let answer = api
        .put(
            &format!("/os-services/{id}"),
            &[],
            r#"{"status": "disabled"}"#,
        )
        .await;
    assert_eq!(answer.status, 403);

    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    running.stop().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_aborts_the_start_before_init_host() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    let manager = Arc::new(Compute {
        working: Arc::new(AtomicBool::new(true)),
        init_host_ran: AtomicBool::new(false),
    });
    let err = Service::<Compute>::builder(Arc::clone(&manager), "nova-compute", "compute")
        .servicegroup(group.clone())
        .api(ApiServerOptions::new(addr))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string()
            .contains(&format!("cannot bind the HTTP API to {addr}")),
        "{err}"
    );
    assert!(!manager.init_host_ran.load(Ordering::SeqCst));
    assert!(
        group
            .list(&periodic::ServiceFilter::all())
            .await
            .unwrap()
            .is_empty(),
        "no row was created"
    );
}

/// The scrape-time series of `/metrics`: the heartbeat's and the store's services.
fn heartbeat_and_services(text: &str) {
    let who = [("binary", "nova-compute"), ("host", "node-1")];
    let reports = samples(text, "periodic_heartbeat_reports_total", &who);
    assert!(reports[0] >= 1.0, "{text}");
    assert_eq!(
        samples(text, "periodic_heartbeat_failures_total", &who),
        vec![0.0]
    );
    let age = samples(text, "periodic_heartbeat_age_seconds", &who);
    assert!(age[0] >= 0.0 && age[0] < 5.0, "{text}");
    assert_eq!(
        samples(
            text,
            "periodic_services",
            &[("binary", "nova-compute"), ("state", "up")]
        ),
        vec![1.0]
    );
    assert_eq!(samples(text, "periodic_store_up", &[]), vec![1.0]);
    // No task that never ran has a series.
    assert!(
        samples(
            text,
            "periodic_task_runs_total",
            &[("task", "cleanup_running_deleted_instances")]
        )
        .is_empty()
    );
}

/// A fleet task shows its fleet and the token it last won in `/tasks` and `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_and_metrics_show_fleet_tokens() {
    let skew = Skew::default();
    let (running, api, _) = start(Setup::default(), &skew).await;
    running
        .runner()
        .add_periodic_task(
            periodic::PeriodicTask::new("sweep", |_m: Arc<Compute>, _c: Arc<()>| async {})
                .spacing(Duration::from_secs(3600))
                .run_immediately(true)
                .fleet(periodic::Fleet::Default),
        )
        .unwrap();
    let tasks = tasks_until(&api, |t| task(t, "sweep")["runs"].as_u64() >= Some(1)).await;
    let sweep = task(&tasks, "sweep");
    assert_eq!(sweep["fleet"], "nova-compute", "{sweep}");
    assert_eq!(sweep["fleet_token"], 1, "{sweep}");
    assert!(sweep["fleet_slot"].is_i64(), "{sweep}");
    assert!(task(&tasks, "update_available_resource")["fleet"].is_null());

    // A second fleet task stays in its run until released: this replica holds its lease.
    let release = Arc::new(tokio::sync::Notify::new());
    let hold = Arc::clone(&release);
    running
        .runner()
        .add_periodic_task(
            periodic::PeriodicTask::new("long_sweep", move |_m: Arc<Compute>, _c: Arc<()>| {
                let hold = Arc::clone(&hold);
                async move { hold.notified().await }
            })
            .spacing(Duration::from_secs(3600))
            .run_immediately(true)
            .fleet(periodic::Fleet::Default),
        )
        .unwrap();
    tasks_until(&api, |t| task(t, "long_sweep")["running"] == true).await;
    let text = api.get("/metrics").await.text;
    assert_eq!(
        samples(
            &text,
            "periodic_fleet_token",
            &[("task", "sweep"), ("fleet", "nova-compute")]
        ),
        vec![1.0],
        "{text}"
    );
    let holding = |name| {
        samples(
            &text,
            "periodic_fleet_holding",
            &[("task", name), ("fleet", "nova-compute")],
        )
    };
    assert_eq!(holding("sweep"), vec![0.0], "{text}");
    assert_eq!(holding("long_sweep"), vec![1.0], "{text}");
    release.notify_one();
    let tasks = tasks_until(&api, |t| task(t, "long_sweep")["runs"].as_u64() >= Some(1)).await;
    assert_eq!(task(&tasks, "long_sweep")["running"], false);
    let text = api.get("/metrics").await.text;
    assert_eq!(
        samples(
            &text,
            "periodic_fleet_holding",
            &[("task", "long_sweep"), ("fleet", "nova-compute")]
        ),
        vec![0.0],
        "{text}"
    );
    running.stop().await.unwrap();
}

/// A service's own API serves `/task-ledger` of its runner's ledger; a pause written to
/// that ledger reaches the running service within a second: `/tasks` shows it, and the
/// task stops running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_serves_its_task_ledger_and_follows_a_pause() {
    let skew = Skew::default();
    let (running, api, _) = start(Setup::default(), &skew).await;
    tasks_until(&api, |t| {
        task(t, "update_available_resource")["runs"].as_u64() >= Some(1)
    })
    .await;
    let ledger = running.runner().task_ledger().expect("the group's ledger");
    let scope = periodic::TaskScope::service("node-1", "nova-compute");
    let listed = api.get("/task-ledger?kind=service&runs=1").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let body = listed.json();
    let entry = body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["task"] == "update_available_resource")
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(entry["scope"], scope.as_str());
    assert_eq!(entry["recent_runs"].as_array().unwrap().len(), 1, "{entry}");

    let pause = periodic::TaskControl::pause(Some("maintenance")).unwrap();
    ledger
        .control(&scope, "update_available_resource", &pause)
        .await
        .unwrap();
    let tasks = tasks_until(&api, |t| {
        task(t, "update_available_resource")["paused"] == true
    })
    .await;
    let runs = task(&tasks, "update_available_resource")["runs"]
        .as_u64()
        .unwrap();
    // The task runs every second; paused, it does not.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = api.get("/tasks").await.json();
    assert!(
        task(&later, "update_available_resource")["runs"]
            .as_u64()
            .unwrap()
            <= runs + 1,
        "a paused task ran on: {later}"
    );
    running.stop().await.unwrap();
}

/// A cron task in `/tasks`: no spacing, its expression and zone, its timeout and overrun
/// policy.
#[cfg(feature = "cron")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_shows_a_cron_schedule() {
    let skew = Skew::default();
    let (running, api, _) = start(Setup::default(), &skew).await;
    running
        .runner()
        .add_periodic_task(
            periodic::PeriodicTask::new("purge", |_m: Arc<Compute>, _c: Arc<()>| async {})
                .cron("0 0 3 * * *")
                .unwrap()
                .cron_tz("Europe/Paris")
                .unwrap()
                .timeout(Duration::from_secs(30))
                .overrun(periodic::Overrun::CatchUp(3)),
        )
        .unwrap();
    let tasks = api.get("/tasks").await.json();
    let purge = task(&tasks, "purge");
    assert!(purge["spacing"].is_null(), "{purge}");
    assert_eq!(purge["cron"], "0 0 3 * * *");
    assert_eq!(purge["tz"], "Europe/Paris");
    assert_eq!(purge["timeout"], 30.0);
    assert_eq!(purge["overrun"], "catch_up(3)");
    assert_eq!(purge["enabled"], true);
    // The next 03:00 in Paris is at most a day (and an hour, on the night clocks go back)
    // away.
    let next = purge["next_due_in"].as_f64().unwrap();
    assert!(next > 0.0 && next <= 25.0 * 3600.0, "{purge}");
    running.stop().await.unwrap();
}
