//! `periodic task pause|run|resume` against two replica processes (`periodic bench
//! fleet-replica`, one fleet task `0` every second) on an SQLite file and on a scratch
//! PostgreSQL database (`LISTEN/NOTIFY`): a pause stops the task on both, a run-now
//! request runs it exactly once across them within about a second, a resume starts it
//! again. Real time.
//!
//! ```text
//! t (s)      0 ─ runs ─ pause ·········· run ─ 1 run ─······ resume ─ runs
//! replicas   a, b: one start per slot   none    exactly one         again
//! ```

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use periodic::{ServiceGroup, ServiceGroupConfig};
use sqlx::Connection as _;

fn periodic() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PERIODIC_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// `(replica, slot, token, when)` of every run.
type Runs = Arc<Mutex<Vec<(String, i64, u64, Instant)>>>;

fn replica(url: &str, fleet: &str, name: &str, runs: &Runs) -> Child {
    let mut child = periodic()
        .args([
            "bench",
            "fleet-replica",
            "--store",
            url,
            "--fleet",
            fleet,
            "--name",
            name,
            "--tasks",
            "1",
            "--spacing",
            "1",
            "--duration",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (runs, name) = (Arc::clone(runs), name.to_owned());
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let f: Vec<&str> = line.split(' ').collect();
            if let ["run", "0", slot, token] = f.as_slice() {
                let at = Instant::now();
                let run = (
                    name.clone(),
                    slot.parse().unwrap(),
                    token.parse().unwrap(),
                    at,
                );
                runs.lock().unwrap().push(run);
            }
        }
    });
    child
}

fn since(runs: &Runs, t: Instant) -> Vec<(String, i64, u64, Instant)> {
    runs.lock()
        .unwrap()
        .iter()
        .filter(|r| r.3 > t)
        .cloned()
        .collect()
}

/// Runs `periodic task VERB 0 --fleet FLEET`; returns when it was started.
fn control(url: &str, fleet: &str, verb: &str) -> Instant {
    let started = Instant::now();
    let out = periodic()
        .args(["task", verb, "0", "--fleet", fleet, "--db", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "periodic task {verb}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started
}

fn scenario(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The services table and the ledger, created before the replicas race to.
    runtime.block_on(async {
        ServiceGroup::open(url, ServiceGroupConfig::default())
            .await
            .unwrap()
            .close()
            .await;
    });
    let fleet = format!("controls-{}", std::process::id());
    let runs = Runs::default();
    let mut children = [
        replica(url, &fleet, "a", &runs),
        replica(url, &fleet, "b", &runs),
    ];
    let began = Instant::now();
    while runs.lock().unwrap().len() < 3 {
        assert!(
            began.elapsed() < Duration::from_secs(15),
            "the replicas run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let paused = control(url, &fleet, "pause");
    std::thread::sleep(Duration::from_millis(3500));
    let late = since(&runs, paused + Duration::from_millis(1200));
    assert!(late.is_empty(), "runs after the pause: {late:?}");

    let asked = control(url, &fleet, "run");
    std::thread::sleep(Duration::from_millis(3000));
    let ran = since(&runs, asked);
    assert_eq!(ran.len(), 1, "one run across the replicas: {ran:?}");
    let after = ran[0].3.saturating_duration_since(asked);
    eprintln!("run-now ran {after:?} after `periodic task run` started");
    assert!(
        after < Duration::from_millis(1500),
        "ran {after:?} after the request"
    );
    let before = since(&runs, began);
    let highest = before.iter().map(|r| r.2).max().unwrap();
    assert_eq!(
        ran[0].2, highest,
        "the run-now run has the newest token: {before:?}"
    );

    let resumed = control(url, &fleet, "resume");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!since(&runs, resumed).is_empty(), "runs again after resume");
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let all = runs.lock().unwrap().clone();
    let mut tokens: Vec<u64> = all.iter().map(|r| r.2).collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), all.len(), "no token twice: {all:?}");
}

#[test]
fn sqlite_pause_and_run_now_reach_both_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    scenario(&url);
}

#[test]
fn postgres_pause_and_run_now_reach_both_replicas() {
    let admin = std::env::var("PERIODIC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = format!("periodic_test_controls_{}", std::process::id());
    let connected = runtime.block_on(sqlx::PgConnection::connect(&admin));
    let mut conn = match connected {
        Ok(conn) => conn,
        Err(e) if std::env::var("PERIODIC_TEST_POSTGRES_URL").is_ok() => {
            panic!("PERIODIC_TEST_POSTGRES_URL={admin} is unreachable: {e}")
        }
        Err(_) => {
            eprintln!("skipped: PERIODIC_TEST_POSTGRES_URL is unset and {admin} is unreachable");
            return;
        }
    };
    runtime
        .block_on(sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    scenario(&format!("{base}/{name}"));
    runtime
        .block_on(sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn))
        .unwrap();
}
