//! SIGHUP, SIGUSR1 and SIGQUIT sent to a real service process: none of them kills it with
//! its record `up` (before: each one ended the process on the spot, and `service list`
//! showed it `up` for `service_down_time`).
//!
//! The child is this test binary run again with `PERIODIC_SIGNALS_CHILD` naming a SQLite
//! store: it runs a service there until a signal stops it. The parent watches the store.
//!
//! ```text
//! child up   SIGHUP         SIGUSR1        SIGQUIT     exit 0
//!    |─ beats ─|── beats ─────|── beats ──────|── stop ───|   record: stopped
//!              "no config     "State dump:"
//!               to re-read"
//! ```

#![cfg(unix)]

mod support;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use periodic::{DownReason, Manager, Service, ServiceGroup, ServiceGroupConfig, periodic_tasks};
use support::servers::TempDb;

const CHILD: &str = "PERIODIC_SIGNALS_CHILD";

struct Worker;

impl Manager for Worker {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl Worker {
    #[periodic_task(spacing = 1, run_immediately)]
    async fn work(&self) {}
}

fn config() -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .report_interval(Duration::from_millis(200))
        .service_down_time(Duration::from_secs(60))
}

/// The child: a service on the store named by `PERIODIC_SIGNALS_CHILD`, until a signal
/// stops it. Does nothing in a normal test run.
#[test]
fn child() {
    let Ok(url) = std::env::var(CHILD) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let code = runtime.block_on(async {
        let group = ServiceGroup::open(&url, config()).await.unwrap();
        let stopped = Service::<Worker>::builder(Arc::new(Worker), "periodic-worker", "worker")
            .host("signals-child")
            .servicegroup(group)
            .periodic_fuzzy_delay(Duration::ZERO)
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

#[tokio::test]
async fn hup_and_usr1_keep_it_running_and_quit_stops_it() {
    let db = TempDb::new();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, db.url())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut group = None;
    // The row, once it has reported twice (the handlers are installed by then).
    let (id, count) = loop {
        assert!(Instant::now() < deadline, "the child never reported");
        assert!(child.try_wait().unwrap().is_none(), "the child exited");
        if group.is_none() {
            group = ServiceGroup::open_existing(&db.url(), config()).await.ok();
        }
        if let Some(g) = &group
            && let Ok(s) = g.find("signals-child", "periodic-worker").await
            && s.report_count >= 2
        {
            break (s.id, s.report_count);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let group = group.unwrap();
    let reports = || async {
        let s = group.status(id).await.unwrap();
        (s.record.report_count, s.down_reason)
    };

    kill("-HUP", pid);
    kill("-USR1", pid);
    // Still running and still reporting, well past a few report intervals.
    let after = loop {
        assert!(
            Instant::now() < deadline,
            "no heartbeat after SIGHUP/SIGUSR1"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "SIGHUP or SIGUSR1 ended the service"
        );
        let (n, down) = reports().await;
        assert_eq!(down, None, "the service is up");
        if n >= count + 5 {
            break n;
        }
    };
    assert!(after >= count + 5);

    kill("-QUIT", pid);
    let status = loop {
        assert!(
            Instant::now() < deadline,
            "SIGQUIT did not stop the service"
        );
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "a graceful stop: {status:?}");
    assert_eq!(reports().await.1, Some(DownReason::Stopped));
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("Caught SIGHUP: no configuration file to re-read"),
        "{log}"
    );
    assert!(log.contains("State dump: task work"), "{log}");
    assert!(log.contains("Caught SIGQUIT, exiting"), "{log}");
}
