//! `periodic service watch` with the `zk` and `etcd` drivers reacts to the store's watch,
//! not to its poll: a service process killed with SIGKILL shows down as soon as the
//! server expires its session or lease, while the poll interval is a minute.
//!
//! Real processes, real servers (`PERIODIC_TEST_ZOOKEEPER`, `PERIODIC_TEST_ETCD`, or the
//! local defaults; skipped with a `skipped:` line when unset and unreachable):
//!
//! ```text
//! replica A (process) joins ── watch starts (--interval 60) ── sync: B joins here, "new"
//!   kill -9 A ── session / lease timeout (3 s) ── server deletes A's node/key ── "down"
//!   |<────────────────── ≤ 3 s + 1 s ─────────────────────────────────────>|  (a poll: 60 s)
//! ```

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use periodic::{
    Heartbeat, HeartbeatMode, JoinOptions, LivenessDriver, NewService, ServiceGroup,
    ServiceGroupConfig,
};
use serde_json::Value;

/// `service_down_time`: the session timeout and the lease TTL.
const DOWN_SECS: u64 = 3;

/// The server's address, or `None` after saying why the test is skipped.
fn server(env: &str, default: &str) -> Option<String> {
    let (addr, required) = match std::env::var(env) {
        Ok(addr) if !addr.is_empty() => (addr, true),
        _ => (default.to_owned(), false),
    };
    match TcpStream::connect(&addr) {
        Ok(_) => Some(addr),
        Err(e) if required => panic!("{env} is set but {addr} is unreachable: {e}"),
        Err(e) => {
            eprintln!("skipped: {env} is unset and {addr} is unreachable ({e})");
            None
        }
    }
}

/// The store flags of every process of one test.
fn flags(url: &str, driver: LivenessDriver, server: &str) -> Vec<String> {
    let servers = if driver == LivenessDriver::ZK {
        "--zookeeper-servers"
    } else {
        "--etcd-endpoints"
    };
    [
        "--db",
        url,
        "--driver",
        driver.as_str(),
        servers,
        server,
        "--service-down-time",
        &DOWN_SECS.to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn periodic() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PERIODIC_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A child process whose stdout lines arrive on a channel; killed when dropped.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Process {
    fn spawn(mut cmd: Command) -> Process {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process { child, lines }
    }

    fn next(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service in a process of its own (`periodic bench detect-replica`), up once it said
/// `ready`.
fn replica(flags: &[String], host: &str) -> Process {
    let mut cmd = periodic();
    cmd.args(["bench", "detect-replica"])
        .args(flags)
        .args(["--host", host, "--binary", "periodic-compute"])
        .args(["--report-interval-ms", "500"]);
    let process = Process::spawn(cmd);
    let ready = process
        .next(Duration::from_secs(30))
        .expect("the replica starts");
    assert!(ready.starts_with("ready "), "{ready}");
    process
}

/// The next JSON line of the watch for `host` (lines of other hosts are skipped).
fn line_for(watch: &Process, host: &str, until: Instant) -> Option<Value> {
    loop {
        let line = watch.next(until.saturating_duration_since(Instant::now()))?;
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["host"] == host {
            return Some(v);
        }
    }
}

async fn killed_service_is_seen_down_by_the_watch(driver: LivenessDriver, server: &str) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let flags = flags(&url, driver, server);
    // Hosts of this run only: the servers are shared.
    let run = format!("{}-{}", driver.as_str(), std::process::id());
    let victim = format!("watch-kill-{run}");
    let mut a = replica(&flags, &victim);

    let mut watch = periodic();
    watch
        .env("PERIODIC_REPORT_INTERVAL", "0.5")
        .args(["service", "watch"])
        .args(&flags)
        .args(["--interval", "60", "--format", "json", "--duration", "60"]);
    let watch = Process::spawn(watch);

    // Sync: services joined here until one is reported up (`new`, or `up` after a `new`
    // down or after the first list saw its row before its node or key). With a 60 s poll
    // only the watch can report it, so from then on the watch is armed and has listed.
    let mut config = ServiceGroupConfig::default()
        .driver(driver)
        .report_interval(Duration::from_millis(500))
        .service_down_time(Duration::from_secs(DOWN_SECS));
    config = if driver == LivenessDriver::ZK {
        config.zookeeper_servers([server])
    } else {
        config.etcd_endpoints([server])
    };
    let group = ServiceGroup::open(&url, config).await.unwrap();
    let mut beats: Vec<Heartbeat> = Vec::new();
    let mut synced = false;
    for i in 0..15 {
        let host = format!("watch-sync-{run}-{i}");
        let record = group
            .get_or_create(&NewService::new(&host, "periodic-compute", "compute"))
            .await
            .unwrap();
        let options = JoinOptions::default()
            .initial_delay(Duration::ZERO)
            .mode(HeartbeatMode::CurrentRuntime);
        beats.push(group.join(&record, options).await.unwrap());
        let until = Instant::now() + Duration::from_secs(2);
        while let Some(v) = line_for(&watch, &host, until) {
            // A list between the row and its node or key shows it `new` and down
            // (or, if the first list saw the row, no line), then `up` with the node.
            if v["state"] == "down" {
                assert_eq!(v["event"], "new", "{v}");
                continue;
            }
            assert!(v["event"] == "new" || v["event"] == "up", "{v}");
            synced = true;
            break;
        }
        if synced {
            break;
        }
    }
    assert!(synced, "the watch never reported a service that joined");
    // Let the other sync services' lines pass.
    while watch.next(Duration::from_millis(300)).is_some() {}

    a.child.kill().unwrap();
    let killed = Instant::now();
    let _ = a.child.wait();
    let limit = Duration::from_secs(DOWN_SECS + 1);
    let down = line_for(&watch, &victim, killed + limit + Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no line for the killed service within {limit:?} + 5 s"));
    let after = killed.elapsed();
    assert_eq!(down["event"], "down", "{down}");
    assert_eq!(down["down_reason"], "no_heartbeat", "{down}");
    assert!(after <= limit, "down line after {after:?}, limit {limit:?}");
    // Not before the server could know: the session / lease had time left.
    assert!(after >= Duration::from_secs(1), "down line after {after:?}");

    for beat in beats {
        let _ = beat.stop().await;
    }
    group.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zk_watch_prints_a_killed_service_down_within_the_session_timeout() {
    let Some(server) = server("PERIODIC_TEST_ZOOKEEPER", "127.0.0.1:2181") else {
        return;
    };
    killed_service_is_seen_down_by_the_watch(LivenessDriver::ZK, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_watch_prints_a_killed_service_down_within_the_lease_ttl() {
    let Some(server) = server("PERIODIC_TEST_ETCD", "127.0.0.1:2379") else {
        return;
    };
    killed_service_is_seen_down_by_the_watch(LivenessDriver::ETCD, &server).await;
}
