//! SIGTERM/SIGINT handling of a running service, in-process: the test sends real signals
//! to its own process with `kill`. One test function, because signals are process-wide.
//!
//! 1. SIGTERM stops the service gracefully: exit code 0, the service is marked stopped
//!    (down at once in `service list`), the manager's cleanup ran.
//! 2. SIGINT with a pass still running starts a graceful stop that waits for it; a second
//!    signal ends the wait at once with exit code 1, and the service is still marked
//!    stopped.
//! 3. SIGINT while the store is locked: the graceful stop waits for the store to mark
//!    the service stopped (up to 5 s); a second signal ends that wait too, within 100 ms.
//!
//! ```text
//! SIGINT          SIGTERM   returned
//!   |── leaving ────|──────────|          the store holds the write (BEGIN EXCLUSIVE)
//!                   ≤ 100 ms                  (before: the 5 s leave timeout ran out)
//! ```

#![cfg(unix)]

mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use periodic::{
    DownReason, Manager, Service, ServiceGroup, ServiceGroupConfig, Stopped, periodic_tasks,
};
use support::Logs;
use support::servers::TempDb;
use tokio::time::Instant;

struct Worker {
    long_pass: AtomicBool,
    cleaned_up: AtomicBool,
}

impl Manager for Worker {
    type Context = ();
    fn context(&self) {}
    async fn cleanup_host(&self) {
        self.cleaned_up.store(true, Ordering::SeqCst);
    }
}

#[periodic_tasks]
impl Worker {
    #[periodic_task(spacing = 1, run_immediately)]
    async fn work(&self) {
        if self.long_pass.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
}

fn kill(signal: &str) {
    let status = Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .expect("the kill command runs");
    assert!(status.success());
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn signals_stop_the_service() {
    let logs = Logs::capture();
    // Keep the default action (terminate the process) away for the whole test, also
    // before the service installs its handlers.
    let _guard = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    let _guard2 =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).unwrap();
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();

    // 1. SIGTERM: graceful.
    let worker = Arc::new(Worker {
        long_pass: AtomicBool::new(false),
        cleaned_up: AtomicBool::new(false),
    });
    let running = Service::<Worker>::builder(Arc::clone(&worker), "periodic-worker", "worker")
        .host("signals-1")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let id = running.record().id;
    let task = tokio::spawn(running.run_until_signal());
    wait_for("the handlers", || {
        logs.count("signals-1", "Running until SIGTERM or SIGINT") == 1
    })
    .await;
    kill("-TERM");
    let stopped = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(stopped, Stopped::Graceful);
    assert_eq!(stopped.exit_code(), 0);
    assert!(worker.cleaned_up.load(Ordering::SeqCst));
    assert_eq!(
        group.status(id).await.unwrap().down_reason,
        Some(DownReason::Stopped)
    );
    assert_eq!(logs.containing("Caught SIGTERM, exiting").len(), 1);

    // 2. SIGINT while a pass runs, then a second signal.
    let worker = Arc::new(Worker {
        long_pass: AtomicBool::new(true),
        cleaned_up: AtomicBool::new(false),
    });
    let running = Service::<Worker>::builder(Arc::clone(&worker), "periodic-worker", "worker")
        .host("signals-2")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .graceful_shutdown_timeout(Duration::from_secs(600))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let id = running.record().id;
    let task = tokio::spawn(running.run_until_signal());
    wait_for("the handlers", || {
        logs.count("signals-2", "Running until SIGTERM or SIGINT") == 1
    })
    .await;
    kill("-INT");
    wait_for("the first signal", || {
        logs.containing("Caught SIGINT, exiting").len() == 1
    })
    .await;
    // The graceful stop is waiting for the hour-long pass.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!task.is_finished());
    let t = Instant::now();
    kill("-TERM");
    let stopped = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(stopped, Stopped::Interrupted);
    assert_eq!(stopped.exit_code(), 1);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the second signal ends the stop at once"
    );
    assert!(!worker.cleaned_up.load(Ordering::SeqCst));
    assert_eq!(
        group.status(id).await.unwrap().down_reason,
        Some(DownReason::Stopped)
    );
    assert_eq!(
        logs.containing("Caught SIGTERM again, exiting at once")
            .len(),
        1
    );

    interrupted_while_the_store_is_locked(&logs).await;
}

/// Part 3: SIGINT while another connection holds the SQLite database, so leaving waits
/// for the lock (up to 5 s); a second signal returns within 100 ms.
async fn interrupted_while_the_store_is_locked(logs: &Logs) {
    let file = TempDb::new();
    let sqlite = ServiceGroup::open(&file.url(), ServiceGroupConfig::default())
        .await
        .unwrap();
    let worker = Arc::new(Worker {
        long_pass: AtomicBool::new(false),
        cleaned_up: AtomicBool::new(false),
    });
    let running = Service::<Worker>::builder(Arc::clone(&worker), "periodic-worker", "worker")
        .host("signals-3")
        .servicegroup(sqlite.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let task = tokio::spawn(running.run_until_signal());
    wait_for("the handlers", || {
        logs.count("signals-3", "Running until SIGTERM or SIGINT") == 1
    })
    .await;
    let mut lock = {
        use sqlx::Connection as _;
        sqlx::SqliteConnection::connect(&file.url()).await.unwrap()
    };
    sqlx::Executor::execute(&mut lock, "BEGIN EXCLUSIVE")
        .await
        .unwrap();
    kill("-INT");
    wait_for("the first signal", || {
        logs.containing("Caught SIGINT, exiting").len() == 2
    })
    .await;
    // The graceful stop is now waiting for the store.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!task.is_finished());
    let t = Instant::now();
    kill("-INT");
    let stopped = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let elapsed = t.elapsed();
    assert_eq!(stopped, Stopped::Interrupted);
    assert!(
        elapsed < Duration::from_millis(100),
        "the second signal returns within 100 ms, not after the leave timeout: {elapsed:?}"
    );
    sqlx::Executor::execute(&mut lock, "COMMIT").await.unwrap();
}
