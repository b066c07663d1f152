//! `periodic service watch` end to end: the real binary watches an SQLite file while this
//! test changes services through the library, and each change arrives as one line.
//!
//! ```text
//! watch starts ── new (sync) ── disable A ── A's heartbeat stops ── delete B ── force down A
//!                   "new"        "disabled"    "down" (no_heartbeat,   "deleted"   "forced_down"
//!                                              after service_down_time)
//! ```

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use periodic::{HeartbeatMode, JoinOptions, NewService, ServiceGroup, ServiceGroupConfig};
use serde_json::Value;

const DOWN_SECS: u64 = 2;

/// The watch as a child process; its stdout lines arrive on a channel.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(url: &str, format: &str) -> Watch {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PERIODIC_") {
                cmd.env_remove(name);
            }
        }
        // The services' report_interval, so that nova's 2.5× rule keeps the 2 s
        // service_down_time (with the default 10 s it would judge by 25 s).
        cmd.env("PERIODIC_REPORT_INTERVAL", "0.2");
        let mut child = cmd
            .args(["service", "watch", "--db", url, "--interval", "0.1"])
            .args(["--service-down-time", &DOWN_SECS.to_string()])
            .args(["--format", format, "--duration", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The next line within `within`.
    fn next(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// The next JSON event for `host`, which must be `event`. Lines about other hosts
    /// are skipped only if they are the services added to sync, going down because
    /// they never report.
    fn expect(&self, event: &str, host: &str, within: Duration) -> Value {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = self
                .next(left)
                .unwrap_or_else(|| panic!("no `{event}` line for {host} within {within:?}"));
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if v["host"] != host {
                assert_eq!(v["event"], "down", "{line}");
                assert_eq!(v["down_reason"], "never_reported", "{line}");
                continue;
            }
            assert_eq!(v["event"], event, "{line}");
            return v;
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config() -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .report_interval(Duration::from_millis(200))
        .service_down_time(Duration::from_secs(DOWN_SECS))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_one_line_as_it_happens() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let group = ServiceGroup::open(&url, config()).await.unwrap();
    let a = group
        .get_or_create(&NewService::new("node-a", "periodic-compute", "compute"))
        .await
        .unwrap();
    let heartbeat = group
        .join(
            &a,
            JoinOptions::default()
                .initial_delay(Duration::ZERO)
                .mode(HeartbeatMode::CurrentRuntime),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !group.is_up(a.id).await.unwrap() {
        assert!(Instant::now() < deadline, "A never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let watch = Watch::start(&url, "json");
    // Sync with the watch's first list: add services until one is reported as new
    // (the ones added before its first list are part of what it starts from).
    let mut synced = None;
    for i in 0..50 {
        let host = format!("node-b{i}");
        group
            .get_or_create(&NewService::new(&host, "periodic-compute", "compute"))
            .await
            .unwrap();
        if let Some(line) = watch.next(Duration::from_millis(300)) {
            synced = Some(line);
            break;
        }
    }
    let first: Value = serde_json::from_str(&synced.expect("no `new` line at all")).unwrap();
    assert_eq!(first["event"], "new");
    // A row younger than service_down_time counts as up until then (nova's rule).
    assert_eq!(first["state"], "up");
    assert_eq!(first["down_reason"], Value::Null);
    let b_host = first["host"].as_str().unwrap().to_owned();
    let b = group.find(&b_host, "periodic-compute").await.unwrap();
    // Services added after the one seen may still show up as new: let them pass.
    while let Some(line) = watch.next(Duration::from_millis(300)) {
        assert!(line.contains("\"event\":\"new\""), "{line}");
    }

    let short = Duration::from_secs(5);
    group.disable(a.id, Some("maintenance")).await.unwrap();
    let disabled = watch.expect("disabled", "node-a", short);
    assert_eq!(disabled["state"], "up");
    assert_eq!(disabled["disabled_reason"], "maintenance");

    heartbeat.stop().await.unwrap();
    let stopped = Instant::now();
    let down = watch.expect("down", "node-a", Duration::from_secs(DOWN_SECS + 5));
    assert_eq!(down["down_reason"], "no_heartbeat");
    let after = stopped.elapsed();
    assert!(
        after >= Duration::from_millis(DOWN_SECS * 1000 - 500),
        "{after:?}"
    );

    group.delete(b.id).await.unwrap();
    let deleted = watch.expect("deleted", &b_host, short);
    assert_eq!(deleted["state"], Value::Null);

    group.set_forced_down(a.id, true).await.unwrap();
    watch.expect("forced_down", "node-a", short);
    // Nothing else changed, so nothing else is printed (the sync services are down
    // since long before: they said so once).
    assert_eq!(watch.next(Duration::from_millis(500)), None);
    group.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_name_the_service_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let group = ServiceGroup::open(&url, config()).await.unwrap();
    let a = group
        .get_or_create(&NewService::new(
            "node-t",
            "periodic-scheduler",
            "scheduler",
        ))
        .await
        .unwrap();
    let watch = Watch::start(&url, "text");
    // Sync as above: toggle forced_down until the first line arrives.
    let mut line = None;
    for i in 0..50 {
        group.set_forced_down(a.id, i % 2 == 0).await.unwrap();
        if let Some(l) = watch.next(Duration::from_millis(300)) {
            line = Some(l);
            break;
        }
    }
    let line = line.expect("no line");
    assert!(
        line.contains(&format!("periodic-scheduler@node-t (id {}): ", a.id)),
        "{line}"
    );
    assert!(
        line.ends_with(": forced_down (down, forced_down)") || line.ends_with(": unforced (up)"),
        "{line}"
    );
    group.close().await;
}

#[test]
fn a_missing_database_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("missing.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_periodic"))
        .args(["service", "watch", "--db", &url, "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("periodic service watch: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
