//! Fleet tasks across separate OS processes on one SQLite file, PostgreSQL or MariaDB
//! database (scratch databases, as the store suites) or Redis (database 15, a fleet of
//! each test's own; no SQL write there): replicas are this test
//! binary run again with `PERIODIC_FLEET_REPLICA` set (the `replica` test then runs a
//! runner with one fleet task and prints a line per event). Real time, spacing 1 s.
//!
//! ```text
//! 3 replicas        |slot|slot|slot|slot|     one start per slot between them
//! kill -9 of one    ......X                   the others go on; no slot twice
//! SIGSTOP holder    run ─ STOP ······ CONT ─ guarded write: rejected (token is stale)
//!                         B takes the next slot with a greater token
//! ```

#![cfg(all(feature = "sqlite", unix))]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use periodic::{
    Fleet, Jitter, PeriodicRunner, PeriodicTask, RunContext, RunnerOptions, ServiceGroup,
    ServiceGroupConfig,
};
use sqlx::Connection as _;
use support::servers::TempDb;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use support::servers::{Kind, ScratchDb};

const ENV: &str = "PERIODIC_FLEET_REPLICA";

struct Replica;

/// The replica's side: `PERIODIC_FLEET_REPLICA=url,name,seconds,work_ms,fleet`.
#[tokio::test]
async fn replica() {
    let Ok(spec) = std::env::var(ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(',').collect();
    let (url, name) = (parts[0].to_owned(), parts[1].to_owned());
    let seconds: u64 = parts[2].parse().unwrap();
    let work = Duration::from_millis(parts[3].parse().unwrap());
    let fleet = parts[4].to_owned();
    let ledger = ServiceGroup::open_ledger(&url, &ServiceGroupConfig::default())
        .await
        .unwrap();
    let runner = PeriodicRunner::<Replica>::builder(Replica)
        .options(
            RunnerOptions::new()
                .jitter(Jitter::None)
                .task_ledger(ledger)
                .fleet_holder(name.clone())
                .fleet_lease(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    runner
        .add_periodic_task(
            PeriodicTask::with_run_context(
                "purge",
                move |_m: Arc<Replica>, _c: Arc<()>, run: RunContext| {
                    let (url, name) = (url.clone(), name.clone());
                    async move {
                        let token = run.token().unwrap();
                        println!("FLEET start {name} {} {token}", run.slot().unwrap());
                        tokio::time::sleep(work).await;
                        // The guarded write, where the ledger is an SQL database.
                        if !is_redis(&url) {
                            sqlx::any::install_default_drivers();
                            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
                            let sql = format!(
                                "UPDATE fleet_work SET token = {token} WHERE id = 1 AND {}",
                                run.fence().unwrap().sql_condition()
                            );
                            let done = sqlx::query(&sql).execute(&mut conn).await.unwrap();
                            println!("FLEET write {name} {token} {}", done.rows_affected());
                        }
                        // A holder whose lease was lost sees it within a renewal period.
                        let lost = tokio::time::timeout(Duration::from_secs(1), run.cancelled());
                        if lost.await.is_ok() {
                            println!("FLEET lost {name} {token}");
                        }
                    }
                },
            )
            .spacing(Duration::from_secs(1))
            .fleet(Fleet::named(fleet)),
        )
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        let idle = runner.run_periodic_tasks(()).await.unwrap();
        tokio::time::sleep(idle.min(deadline - tokio::time::Instant::now())).await;
    }
}

/// A replica process and the lines it prints, as they come.
struct Process {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    seen: mpsc::Receiver<String>,
}

fn spawn(url: &str, fleet: &str, name: &str, seconds: u64, work_ms: u64) -> Process {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "replica", "--nocapture", "--test-threads", "1"])
        .env(ENV, format!("{url},{name},{seconds},{work_ms},{fleet}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, seen) = mpsc::channel();
    let kept = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print `test replica ... ` before the first line, unterminated.
            if let Some((_, event)) = line.split_once("FLEET ") {
                kept.lock().unwrap().push(event.to_owned());
                let _ = tx.send(event.to_owned());
            }
        }
    });
    Process { child, lines, seen }
}

/// `(name, slot, token)` of every start.
fn starts(processes: &[Process]) -> Vec<(String, i64, u64)> {
    let mut starts: Vec<(String, i64, u64)> = processes
        .iter()
        .flat_map(|p| p.lines.lock().unwrap().clone())
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (f[0] == "start").then(|| {
                (
                    f[1].to_owned(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                )
            })
        })
        .collect();
    starts.sort_by_key(|s| s.1);
    starts
}

fn is_redis(url: &str) -> bool {
    url.starts_with("redis")
}

/// The ledger's table and the table the replicas write to, in the store at `url`.
async fn prepare(url: &str) {
    // Creates the SQLite file and the ledger's table.
    ServiceGroup::open_ledger(url, &ServiceGroupConfig::default())
        .await
        .unwrap();
    if is_redis(url) {
        return;
    }
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("CREATE TABLE fleet_work (id INTEGER PRIMARY KEY, token INTEGER NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO fleet_work (id, token) VALUES (1, 0)")
        .execute(&mut conn)
        .await
        .unwrap();
}

fn wait(mut processes: Vec<Process>) -> Vec<Process> {
    for p in &mut processes {
        let _ = p.child.wait();
    }
    // Let the reader threads drain the pipes.
    std::thread::sleep(Duration::from_millis(200));
    processes
}

async fn three_processes_and_a_kill_9(url: &str) {
    prepare(url).await;
    let fleet = support::unique("processes");
    let url = url.to_owned();
    let mut processes: Vec<Process> = ["a", "b", "c"]
        .iter()
        .map(|name| spawn(&url, &fleet, name, 6, 50))
        .collect();
    // Kill the replica that ran the second slot, with SIGKILL.
    let started = Instant::now();
    while starts(&processes).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(8), "runs started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let holder = starts(&processes)[1].0.clone();
    let victim = ["a", "b", "c"].iter().position(|n| *n == holder).unwrap();
    processes[victim].child.kill().unwrap();
    let killed_at = starts(&processes).len();
    let processes = wait(processes);

    let all = starts(&processes);
    assert!(all.len() >= killed_at + 2, "the others go on: {all:?}");
    for pair in all.windows(2) {
        assert!(pair[1].1 > pair[0].1, "a slot ran twice: {all:?}");
        assert!(pair[1].2 > pair[0].2, "tokens grow: {all:?}");
    }
}

async fn a_stopped_holder(url: &str) {
    prepare(url).await;
    let fleet = support::unique("processes");
    let url = url.to_owned();
    // A works 1.5 s per run; B only 50 ms.
    let a = spawn(&url, &fleet, "a", 8, 1500);
    let first = a
        .seen
        .recv_timeout(Duration::from_secs(10))
        .expect("a starts");
    assert!(first.starts_with("start a"), "{first}");
    let b = spawn(&url, &fleet, "b", 6, 50);
    let pid = a.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // A's lease (300 ms) ends; B takes a later slot with a greater token and writes.
    let b_wrote = b.seen.recv_timeout(Duration::from_secs(6)).expect("b runs");
    assert!(b_wrote.starts_with("start b"), "{b_wrote}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let processes = wait(vec![a, b]);

    let a_lines = processes[0].lines.lock().unwrap().clone();
    let a_token: u64 = first.split(' ').nth(3).unwrap().parse().unwrap();
    if !is_redis(&url) {
        let stale_write = a_lines
            .iter()
            .find(|l| l.starts_with(&format!("write a {a_token} ")))
            .unwrap_or_else(|| panic!("a wrote after SIGCONT: {a_lines:?}"));
        assert!(
            stale_write.ends_with(" 0"),
            "the stale token's write changed nothing: {a_lines:?}"
        );
    }
    assert!(
        a_lines.contains(&format!("lost a {a_token}")),
        "a saw its lease lost: {a_lines:?}"
    );
    let all = starts(&processes);
    let b_token = all.iter().find(|s| s.0 == "b").unwrap().2;
    assert!(b_token > a_token, "{all:?}");
    for pair in all.windows(2) {
        assert!(pair[1].1 > pair[0].1, "a slot ran twice: {all:?}");
    }
}

#[tokio::test]
async fn sqlite_three_processes_run_each_slot_once_and_survive_a_kill_9() {
    let file = TempDb::new();
    three_processes_and_a_kill_9(&file.url()).await;
}

#[tokio::test]
async fn sqlite_a_stopped_holder_s_guarded_write_is_rejected_after_sigcont() {
    let file = TempDb::new();
    a_stopped_holder(&file.url()).await;
}

/// Runs `scenario` on a scratch database of `kind`, or returns if its server is skipped.
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! on_scratch {
    ($kind:expr, $scenario:ident) => {{
        let Some(scratch) = ScratchDb::create($kind).await else {
            return;
        };
        $scenario(&scratch.url).await;
        scratch.drop_db().await;
    }};
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_three_processes_run_each_slot_once_and_survive_a_kill_9() {
    on_scratch!(Kind::Postgres, three_processes_and_a_kill_9);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_a_stopped_holder_s_guarded_write_is_rejected_after_sigcont() {
    on_scratch!(Kind::Postgres, a_stopped_holder);
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn mysql_three_processes_run_each_slot_once_and_survive_a_kill_9() {
    on_scratch!(Kind::MySql, three_processes_and_a_kill_9);
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn mysql_a_stopped_holder_s_guarded_write_is_rejected_after_sigcont() {
    on_scratch!(Kind::MySql, a_stopped_holder);
}

/// The local Redis server (database 15), or `PERIODIC_TEST_REDIS_URL`; `None` (skipped)
/// when unset and unreachable.
#[cfg(feature = "redis")]
async fn redis() -> Option<String> {
    let url = std::env::var("PERIODIC_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/15".to_owned());
    match ServiceGroup::open_ledger(&url, &ServiceGroupConfig::default()).await {
        Ok(ledger) if ledger.now().await.is_ok() => Some(url),
        _ => {
            eprintln!("skipped: redis process tests: {url} is unreachable");
            None
        }
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_three_processes_run_each_slot_once_and_survive_a_kill_9() {
    let Some(url) = redis().await else { return };
    three_processes_and_a_kill_9(&url).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_a_stopped_holder_loses_its_lease_to_a_greater_token() {
    let Some(url) = redis().await else { return };
    a_stopped_holder(&url).await;
}
