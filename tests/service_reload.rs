//! SIGHUP re-reads a service's configuration file ([`ConfigFile`]): the
//! `[periodic_task_spacing]` table applies at once, the other changed options are named as
//! needing a restart, an invalid file keeps the old configuration.
//!
//! 1. In-process, paused time: [`RunningService::reload`] after rewriting the file.
//! 2. A real process: this test binary run again with `PERIODIC_RELOAD_CHILD` naming a
//!    configuration file; the parent rewrites the file, sends SIGHUP and watches the log
//!    and the store.
//!
//! A new spacing takes effect from the timer's next pass. The service here is on
//! `memory://`, whose task ledger the runner watches for the operator's controls, so the
//! timer wakes at least every 500 ms and a shorter spacing applies at once (without a
//! ledger the timer keeps the sleep it started before the reload: until the next task
//! due by the old spacings, at most `periodic_interval_max`).
//!
//! ```text
//! work = 30   run 0    run 30 | reload: work = 5   35  40  45  50  55  60  65  70  75  80
//!               |────────|─────|────────────────────|───|───|───|───|───|───|───|───|───|
//! ```

#![cfg(unix)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use periodic::{
    Config, ConfigFile, DownReason, ErrorKind, Jitter, Manager, Service, ServiceGroup,
    ServiceGroupConfig, Spacing, periodic_tasks,
};
use support::servers::TempDb;

const CHILD: &str = "PERIODIC_RELOAD_CHILD";

#[derive(Default)]
struct Worker {
    work_runs: AtomicU64,
}

impl Manager for Worker {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl Worker {
    #[periodic_task(spacing = 10, run_immediately)]
    async fn work(&self) {
        self.work_runs.fetch_add(1, Ordering::SeqCst);
    }

    #[periodic_task(spacing = 60)]
    async fn audit(&self) {}
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A scratch directory for one test's configuration file.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "periodic-reload-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

// spacing work = 30 (file) over its declared 10; reload with work = 5 and audit = 120:
// the runner, woken every 500 ms by the ledger's poll, runs work every 5 s from 35;
// reload without `work`: back to the declared 10 s.
//
//   0 run   30 run | reload (work 5)   35 run ... 80 run | reload (no work)   90 run
#[tokio::test(start_paused = true)]
async fn a_reload_applies_the_spacings_and_names_what_needs_a_restart() {
    let dir = TempDir::new();
    let path = dir.0.join("periodic.toml");
    write(
        &path,
        "[DEFAULT]\nreport_interval = 10\n[periodic_task_spacing]\nwork = 30\n",
    );
    let file = ConfigFile::new(&path).overrides(|config| {
        // A flag: wins over the file at start and at every reload.
        config.service_down_time = secs(90);
        Ok(())
    });
    let config = file.load().unwrap();
    assert_eq!(config.service_down_time, secs(90));
    let group = ServiceGroup::open("memory://", config.servicegroup_config())
        .await
        .unwrap();
    let running = file
        .apply_to_service(
            &config,
            Service::builder(Worker::default(), "periodic-worker", "worker"),
        )
        .host("node1")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .jitter(Jitter::None)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    let runs = || manager.work_runs.load(Ordering::SeqCst);
    let spacing = |name: &str| running.runner().task(name).unwrap().spacing;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(spacing("work"), Spacing::Every(secs(30)));
    assert_eq!(runs(), 1, "run at 0");
    tokio::time::sleep(secs(30)).await;
    assert_eq!(runs(), 2, "run at 30");

    // The spacings change; report_interval and the database need a restart; the flag's
    // service_down_time is applied again, so it does not count as a change.
    write(
        &path,
        "[DEFAULT]\nreport_interval = 3\nservice_down_time = 20\n\
         [database]\nconnection = \"sqlite:///tmp/other.db\"\n\
         [periodic_task_spacing]\nwork = 5\naudit = 120\n",
    );
    let report = running.reload().unwrap().expect("a file to re-read");
    assert_eq!(
        report.spacing,
        [
            (
                "audit".to_owned(),
                Spacing::Every(secs(60)),
                Spacing::Every(secs(120))
            ),
            (
                "work".to_owned(),
                Spacing::Every(secs(30)),
                Spacing::Every(secs(5))
            ),
        ]
    );
    assert_eq!(
        report.needs_restart,
        ["report_interval", "[database] connection"]
    );
    assert_eq!(spacing("work"), Spacing::Every(secs(5)));
    assert_eq!(
        running.runner().task("work").unwrap().interval,
        Some(secs(5))
    );
    let before = running.heartbeat_stats().reports_ok;
    tokio::time::sleep(secs(30)).await;
    // Woken by the ledger poll at once: every 5 s from 35 on.
    assert_eq!(runs(), 8, "runs at 35, 40, 45, 50, 55, 60");
    tokio::time::sleep(secs(20)).await;
    assert_eq!(runs(), 12, "runs at 65, 70, 75 and 80");
    assert!(
        running.heartbeat_stats().reports_ok >= before + 2,
        "the heartbeat goes on"
    );
    assert!(running.periodic_tasks_running());

    refused_reloads_change_nothing(&running, &file);

    // Without `work`: back to its declared 10 s; audit keeps its 120 s.
    write(&path, "[periodic_task_spacing]\naudit = 120\n");
    let report = running.reload().unwrap().unwrap();
    assert_eq!(
        report.spacing,
        [(
            "work".to_owned(),
            Spacing::Every(secs(5)),
            Spacing::Every(secs(10))
        )]
    );
    assert!(report.needs_restart.is_empty(), "{report:?}");
    assert_eq!(spacing("work"), Spacing::Every(secs(10)));
    assert_eq!(spacing("audit"), Spacing::Every(secs(120)));
    tokio::time::sleep(secs(10)).await;
    assert_eq!(runs(), 13, "run at 90, 10 s after the last");

    let id = running.record().id;
    assert!(group.status(id).await.unwrap().is_up());
    running.stop().await.unwrap();
}

/// An invalid file and a spacing for no task: the reload is refused, the spacing of
/// `work` stays 5 s.
fn refused_reloads_change_nothing(running: &periodic::RunningService<Worker>, file: &ConfigFile) {
    let path = file.path();
    let spacing = |name: &str| running.runner().task(name).unwrap().spacing;
    // An invalid file: the same error as at start, nothing changes.
    write(path, "[periodic_task_spacing]\nwork = \"often\"\n");
    let err = running.reload().unwrap_err();
    let at_start = file.load().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.report(), at_start.report());
    assert!(err.to_string().contains("`work`"), "{err}");
    assert_eq!(spacing("work"), Spacing::Every(secs(5)));

    // A spacing for no task of the service: refused, nothing changes.
    write(
        path,
        "[periodic_task_spacing]\nwork = 7\nno_such_task = 5\n",
    );
    let err = running.reload().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`no_such_task`"), "{err}");
    assert_eq!(spacing("work"), Spacing::Every(secs(5)));
}

#[tokio::test(start_paused = true)]
async fn without_a_file_there_is_nothing_to_reload() {
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    let running = Service::builder(Worker::default(), "periodic-worker", "worker")
        .host("node1")
        .servicegroup(group)
        .spacing_override("work", secs(30))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    assert_eq!(running.reload().unwrap(), None);
    assert_eq!(
        running.runner().task("work").unwrap().spacing,
        Spacing::Every(secs(30))
    );
    running.stop().await.unwrap();
}

#[test]
fn needs_restart_names_every_option_but_the_spacings_and_run_external() {
    let started = Config::default();
    let mut next = started.clone();
    next.periodic_task_spacing
        .insert("work".to_owned(), Spacing::Disabled);
    assert!(started.needs_restart(&next).is_empty());
    next.run_external_periodic_tasks = false;
    next.cache.redis_url = Some("redis://:secret@127.0.0.1:6379".to_owned());
    next.api.auth_token = Some("secret".to_owned());
    assert_eq!(
        started.needs_restart(&next),
        ["[cache] redis_url", "[api] auth_token"]
    );
}

/// `run_external_periodic_tasks` is applied by a reload: the tasks marked
/// `external_process_ok` stop at once when it turns off and run again when it turns on.
///
/// ```text
/// sync (external_process_ok, every 10 s)   run 0  10 | reload: false   ...   | reload: true  run 35 (at once: overdue)  45
/// ```
#[tokio::test(start_paused = true)]
async fn a_reload_stops_and_restarts_external_tasks() {
    let dir = TempDir::new();
    let path = dir.0.join("periodic.toml");
    write(&path, "[DEFAULT]\nrun_external_periodic_tasks = true\n");
    let file = ConfigFile::new(&path);
    let config = file.load().unwrap();
    let group = ServiceGroup::open("memory://", config.servicegroup_config())
        .await
        .unwrap();
    let running = file
        .apply_to_service(
            &config,
            Service::builder(External::default(), "periodic-external", "external"),
        )
        .host("node1")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .jitter(Jitter::None)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let manager = Arc::clone(running.manager());
    let runs = || manager.sync_runs.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    assert_eq!(runs(), 2, "runs at 0 and 10");

    write(&path, "[DEFAULT]\nrun_external_periodic_tasks = false\n");
    let report = running.reload().unwrap().unwrap();
    assert_eq!(report.run_external_periodic_tasks, Some((true, false)));
    assert!(report.needs_restart.is_empty(), "{report:?}");
    assert_eq!(
        report.to_string(),
        "run_external_periodic_tasks: true -> false"
    );
    assert!(!running.runner().task("sync").unwrap().runnable);
    tokio::time::sleep(secs(24)).await; // to 34.5: 20 and 30 are not run
    assert_eq!(runs(), 2, "stopped by the reload");

    write(&path, "[DEFAULT]\nrun_external_periodic_tasks = true\n");
    let report = running.reload().unwrap().unwrap();
    assert_eq!(report.run_external_periodic_tasks, Some((false, true)));
    tokio::time::sleep(secs(1)).await;
    assert_eq!(runs(), 3, "overdue since 20: runs at once");
    tokio::time::sleep(secs(10)).await;
    assert_eq!(runs(), 4, "then every 10 s");
    running.stop().await.unwrap();
}

#[derive(Default)]
struct External {
    sync_runs: AtomicU64,
}

impl Manager for External {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl External {
    #[periodic_task(spacing = 10, run_immediately, external_process_ok)]
    async fn sync(&self) {
        self.sync_runs.fetch_add(1, Ordering::SeqCst);
    }
}

/// The child: a service started from the file named by `PERIODIC_RELOAD_CHILD`, until a
/// signal stops it. Does nothing in a normal test run.
#[test]
fn child() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let code = runtime.block_on(async {
        let file = ConfigFile::new(path);
        let config = file.load().unwrap();
        let group = ServiceGroup::open(config.database_url(), config.servicegroup_config())
            .await
            .unwrap();
        let stopped = file
            .apply_to_service(
                &config,
                Service::builder(Worker::default(), "periodic-worker", "worker"),
            )
            .host("reload-child")
            .initial_reporting_delay(Duration::from_millis(200))
            .servicegroup(group)
            .build()
            .unwrap()
            .run_until_signal()
            .await
            .unwrap();
        stopped.exit_code()
    });
    std::process::exit(code);
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("the kill command runs");
    assert!(status.success());
}

/// The child's stderr, read on a thread into a shared string.
fn collect(stderr: std::process::ChildStderr) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

fn lines_with(log: &Mutex<String>, text: &str) -> Vec<String> {
    log.lock()
        .unwrap()
        .lines()
        .filter(|l| l.contains(text))
        .map(str::to_owned)
        .collect()
}

/// The child on the file at `path`, once it has reported twice (its signal handlers
/// are installed by then): the child, its log, the group and its row's id.
async fn start_child(
    path: &Path,
    db: &TempDb,
    deadline: std::time::Instant,
) -> (Reaped, Arc<Mutex<String>>, ServiceGroup, i64) {
    let mut child = Reaped(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(CHILD, path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let log = collect(child.0.stderr.take().unwrap());
    let group_config = ServiceGroupConfig::default()
        .report_interval(Duration::from_millis(200))
        .service_down_time(secs(60));
    let mut group = None;
    let id = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never reported"
        );
        assert!(child.0.try_wait().unwrap().is_none(), "the child exited");
        if group.is_none() {
            group = ServiceGroup::open_existing(&db.url(), group_config.clone())
                .await
                .ok();
        }
        if let Some(g) = &group
            && let Ok(s) = g.find("reload-child", "periodic-worker").await
            && s.report_count >= 2
        {
            break s.id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (child, log, group.unwrap(), id)
}

/// The child, killed if a failed assertion leaves it running.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn sighup_reloads_a_real_process_and_keeps_it_up() {
    let db = TempDb::new();
    let dir = TempDir::new();
    let path = dir.0.join("periodic.toml");
    let valid = |spacing: u64, report_interval: f64| {
        format!(
            "[DEFAULT]\nreport_interval = {report_interval}\nservice_down_time = 60\n\
             periodic_fuzzy_delay = 0\n[database]\nconnection = \"{}\"\n\
             [periodic_task_spacing]\nwork = {spacing}\n",
            db.url()
        )
    };
    write(&path, &valid(1, 0.2));
    let deadline = std::time::Instant::now() + secs(60);
    let (mut child, log, group, id) = start_child(&path, &db, deadline).await;
    let pid = child.0.id();
    // Waits (bounded) for `n` lines containing `text`; the child must keep running and
    // reporting meanwhile.
    let wait_for_lines = |text: &'static str, n: usize| {
        let log = Arc::clone(&log);
        async move {
            loop {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no `{text}` in the log:\n{}",
                    log.lock().unwrap()
                );
                if lines_with(&log, text).len() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let still_up = |child: &mut Reaped| {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "SIGHUP ended the service"
        );
    };

    // A new spacing and a new report_interval: the spacing applies, report_interval is
    // named as needing a restart.
    write(&path, &valid(7, 0.3));
    kill("-HUP", pid);
    wait_for_lines("Caught SIGHUP: reloaded", 1).await;
    let applied = lines_with(&log, "Caught SIGHUP: reloaded");
    assert!(
        applied[0].contains("spacing of work: every 1s -> every 7s"),
        "{applied:?}"
    );
    wait_for_lines("needs a restart: report_interval", 1).await;
    still_up(&mut child);
    kill("-USR1", pid);
    wait_for_lines("State dump: task work", 1).await;
    let dump = lines_with(&log, "State dump: task work");
    assert!(dump[0].contains("spacing=Every(7s)"), "{dump:?}");

    // An invalid file: one error line with the text loading gives; the child goes on.
    write(&path, "[DEFAULT]\nreport_interval = \"ten\"\n");
    let expected = ConfigFile::new(&path).load().unwrap_err().report();
    kill("-HUP", pid);
    wait_for_lines("keeping the old configuration", 1).await;
    let refused = lines_with(&log, "keeping the old configuration");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains(&expected), "{refused:?} vs {expected}");

    // Still heartbeating, still up.
    let count = group.status(id).await.unwrap().record.report_count;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no heartbeat after SIGHUP"
        );
        still_up(&mut child);
        let status = group.status(id).await.unwrap();
        assert_eq!(status.down_reason, None, "the service is up");
        if status.record.report_count >= count + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    kill("-TERM", pid);
    let status = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGTERM did not stop it"
        );
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "a graceful stop: {status:?}");
    assert_eq!(
        group.status(id).await.unwrap().down_reason,
        Some(DownReason::Stopped)
    );
}
