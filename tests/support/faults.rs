//! The fault tests' service process and what the parent does with it.
//!
//! The service is the test binary run again with `PERIODIC_FAULT_CHILD` set: its test
//! `child` (each `tests/faults_*.rs` has one, calling [`child_main`]) runs a real
//! [`Service`] with one periodic task (every second, printing `RUN`) on the driver and
//! server named there, the services table in an SQLite file, and its log on stdout. The
//! parent ([`FaultChild`]) reads the lines as they come, sends signals, and judges the
//! service through a group of its own on the same store.
//!
//! ```text
//! parent ── spawn ──► child: Service (heartbeat: session / lease / key) + task "RUN" every 1 s
//!   │                   stdout: RUN, RUN, WARN Lost connection ..., INFO Recovered ...
//!   └── ServiceGroup (same store) ── is_up? ── up / down as the server says
//! ```

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use periodic::{
    LivenessDriver, Manager, Service, ServiceGroup, ServiceGroupConfig, periodic_tasks,
};

const ENV: &str = "PERIODIC_FAULT_CHILD";
/// The binary of every fault-test service.
pub const BINARY: &str = "periodic-fault";
/// `service_down_time`: the session timeout, the lease TTL, the key TTL.
pub const DOWN: Duration = Duration::from_secs(3);

/// The group configuration of the child and the parent.
pub fn config(driver: LivenessDriver, server: &str) -> ServiceGroupConfig {
    let config = ServiceGroupConfig::default()
        .driver(driver)
        .report_interval(Duration::from_millis(500))
        .service_down_time(DOWN);
    match driver {
        LivenessDriver::ZK => config.zookeeper_servers([server]),
        LivenessDriver::ETCD => config.etcd_endpoints([server]),
        LivenessDriver::REDIS => config.redis_url(server),
        other => panic!("no fault tests for {other:?}"),
    }
}

struct Worker;

impl Manager for Worker {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl Worker {
    #[periodic_task(spacing = 1, run_immediately)]
    async fn work(&self) {
        println!("RUN");
    }
}

/// The child's side: a service until killed. Does nothing in a normal test run.
pub fn child_main() {
    let Ok(spec) = std::env::var(ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.splitn(4, ',').collect();
    let driver: LivenessDriver = parts[0].parse().unwrap();
    let (url, server, host) = (parts[1], parts[2], parts[3]);
    tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let group = ServiceGroup::open(url, config(driver, server))
            .await
            .unwrap();
        Service::<Worker>::builder(Arc::new(Worker), BINARY, "fault")
            .host(host)
            .servicegroup(group)
            .periodic_fuzzy_delay(Duration::ZERO)
            .initial_reporting_delay(Duration::ZERO)
            .build()
            .unwrap()
            .run_until_signal()
            .await
            .unwrap();
    });
    std::process::exit(0);
}

/// A service process and the lines it printed so far. Killed when dropped.
pub struct FaultChild {
    pub child: Child,
    pub host: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl FaultChild {
    /// Starts the service `host` on `driver` at `server`, its table in `url`.
    pub fn spawn(driver: LivenessDriver, url: &str, server: &str, host: &str) -> FaultChild {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
            .env(ENV, format!("{},{url},{server},{host}", driver.as_str()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        FaultChild {
            child,
            host: host.to_owned(),
            lines,
        }
    }

    /// How many times the periodic task ran.
    pub fn runs(&self) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.ends_with("RUN"))
            .count()
    }

    /// How many log lines contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }

    /// How many log lines contain `text` among those printed after the first `mark`
    /// lines (a [`mark`](Self::mark) taken before the fault: a server that came up
    /// slowly may have cost a report before it).
    pub fn count_since(&self, mark: usize, text: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .skip(mark)
            .filter(|l| l.contains(text))
            .count()
    }

    /// The number of lines printed so far.
    pub fn mark(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Everything it printed, for failure messages.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Sends `signal` (`-STOP`, `-CONT`, `-KILL`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    /// Asserts the process still runs and nothing panicked.
    pub fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the service process ended:\n{}",
            self.log()
        );
        assert_eq!(self.count("panicked"), 0, "{}", self.log());
    }
}

impl Drop for FaultChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The parent's view: whether the service `host` is up, or `None` when the store does
/// not answer (or the row is not there yet).
pub async fn is_up(group: &ServiceGroup, host: &str) -> Option<bool> {
    let record = group.find(host, BINARY).await.ok()?;
    let status = tokio::time::timeout(Duration::from_secs(2), group.status(record.id))
        .await
        .ok()?
        .ok()?;
    Some(status.is_up())
}

/// Polls every 100 ms until the service shows `up` (or down), within `within`; the time
/// it took.
pub async fn wait_state(group: &ServiceGroup, host: &str, up: bool, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if is_up(group, host).await == Some(up) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{host} not {} within {within:?}",
            if up { "up" } else { "down" }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The driver's log texts the scenarios count in the child's log.
pub struct Texts {
    /// The heartbeat lost its store (`OutageTexts` lost).
    pub lost: &'static str,
    /// It got it back.
    pub recovered: &'static str,
    /// The session or lease was found expired.
    pub expired: &'static str,
    /// A new session or lease holds the node or key.
    pub renewed: &'static str,
}

/// A fresh SQLite file for the services table, and the parent's group on it.
async fn parent(
    driver: LivenessDriver,
    server: &str,
    file: &super::servers::TempDb,
) -> ServiceGroup {
    ServiceGroup::open(&file.url(), config(driver, server))
        .await
        .unwrap()
}

/// kill -9 of the service process: down within the session / lease timeout + 1 s.
///
/// ```text
/// up ── kill -9 ── (the server waits for pings) ── timeout ── down   (≤ DOWN + 1 s)
/// ```
pub async fn kill_9(driver: LivenessDriver, server: &str) {
    let file = super::servers::TempDb::new();
    let group = parent(driver, server, &file).await;
    let host = super::unique("fault-kill");
    let mut child = FaultChild::spawn(driver, &file.url(), server, &host);
    wait_state(&group, &host, true, Duration::from_secs(30)).await;
    child.child.kill().unwrap();
    let killed = Instant::now();
    let _ = child.child.wait();
    wait_state(&group, &host, false, DOWN + Duration::from_secs(5)).await;
    let after = killed.elapsed();
    assert!(
        after <= DOWN + Duration::from_secs(1),
        "down after {after:?}"
    );
    group.close().await;
}

/// SIGSTOP past the timeout: down; SIGCONT: up again with a new session or lease, the
/// expiry said once and the renewal once in the child's log.
///
/// ```text
/// up ── STOP ── timeout ── down ── +1 s ── CONT ── expired (WARN), new one ── renewed (INFO) ── up
/// ```
pub async fn sigstop(driver: LivenessDriver, server: &str, texts: &Texts) {
    let file = super::servers::TempDb::new();
    let group = parent(driver, server, &file).await;
    let host = super::unique("fault-stop");
    let mut child = FaultChild::spawn(driver, &file.url(), server, &host);
    wait_state(&group, &host, true, Duration::from_secs(30)).await;
    let mark = child.mark();
    child.signal("-STOP");
    let down = wait_state(&group, &host, false, DOWN + Duration::from_secs(5)).await;
    assert!(down >= DOWN / 2, "down after only {down:?}");
    // Well past the timeout, while it cannot know.
    tokio::time::sleep(Duration::from_secs(1)).await;
    child.signal("-CONT");
    wait_state(&group, &host, true, Duration::from_secs(10)).await;
    // Reports go on; it stays up and says nothing more.
    let runs = child.runs();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert_eq!(is_up(&group, &host).await, Some(true), "{}", child.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(child.runs() > runs, "the task runs again:\n{}", child.log());
    child.assert_alive();
    let count = |text| child.count_since(mark, text);
    assert_eq!(count(texts.expired), 1, "{}", child.log());
    assert_eq!(count(texts.renewed), 1, "{}", child.log());
    // A report may also have failed on the old connection first: then once each way.
    assert_eq!(count(texts.lost), count(texts.recovered), "{}", child.log());
    assert!(count(texts.lost) <= 1, "{}", child.log());
    group.close().await;
}

/// The private server killed and restarted 20 s later: the service process goes on (its
/// task runs through the outage), its heartbeat says the loss once and the recovery
/// once, and it is up again soon after the server is back, for good. The parent's
/// [watch](periodic::ServiceGroup::watch), armed before the outage, is armed again
/// after it: the service killed at the end is seen down on its notification.
///
/// ```text
/// up ── server killed ───── 20 s ───── restarted ── up (≤ DOWN + 3 s) ── stays up ── kill -9
///        WARN lost (once)   RUN ... RUN            INFO recovered (once)     watch: down
/// ```
pub async fn server_restart(
    driver: LivenessDriver,
    server: &mut super::private::PrivateServer,
    texts: &Texts,
) {
    let addr = server.addr();
    let file = super::servers::TempDb::new();
    let group = parent(driver, &addr, &file).await;
    let host = super::unique("fault-restart");
    let mut child = FaultChild::spawn(driver, &file.url(), &addr, &host);
    wait_state(&group, &host, true, Duration::from_secs(30)).await;
    let notes = notifications(&group);
    notes
        .recv_timeout(Duration::from_secs(10))
        .expect("the watch is armed");
    let runs_before = child.runs();
    let mark = child.mark();
    server.stop();
    let outage = Duration::from_secs(20);
    let back = Instant::now() + outage;
    while Instant::now() < back {
        child.assert_alive();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let runs_during = child.runs() - runs_before;
    server.restart();
    // The task kept its one-second spacing through the outage.
    assert!(
        runs_during >= 15,
        "{runs_during} runs in 20 s:\n{}",
        child.log()
    );
    assert_eq!(child.count_since(mark, texts.lost), 1, "{}", child.log());
    let up = wait_state(&group, &host, true, DOWN + Duration::from_secs(10)).await;
    // Back within a session / lease timeout (and a few reports) of the restart.
    assert!(
        up <= DOWN + Duration::from_secs(3),
        "up {up:?} after the restart"
    );
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert_eq!(is_up(&group, &host).await, Some(true), "{}", child.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.assert_alive();
    let count = |text| child.count_since(mark, text);
    assert_eq!(count(texts.lost), 1, "{}", child.log());
    assert_eq!(count(texts.recovered), 1, "{}", child.log());
    // A session / lease the restarted server expired is replaced once, said once.
    assert!(count(texts.expired) <= 1, "{}", child.log());
    assert_eq!(
        count(texts.expired),
        count(texts.renewed),
        "{}",
        child.log()
    );

    // The watch was armed again: a kill is seen on its notification.
    while notes.try_recv().is_ok() {}
    child.child.kill().unwrap();
    let killed = Instant::now();
    let limit = DOWN + Duration::from_secs(2);
    loop {
        let left = limit.saturating_sub(killed.elapsed());
        notes
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no notification of the kill within {limit:?}"));
        if is_up(&group, &host).await == Some(false) {
            break;
        }
    }
    group.close().await;
}

/// The group's watch notifications, as they come (on a task of their own).
fn notifications(group: &ServiceGroup) -> std::sync::mpsc::Receiver<()> {
    use futures::StreamExt as _;
    let mut changes = group.watch().expect("the driver watches");
    let (tx, rx) = std::sync::mpsc::channel();
    tokio::spawn(async move {
        while changes.next().await.is_some() {
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    rx
}

/// A Redis that stops answering (`CLIENT PAUSE` for 8 s, on a private server): the
/// service's task goes on, its heartbeat says the loss once and the recovery once, it
/// is up again after, and the process never panics.
///
/// ```text
/// up ── CLIENT PAUSE 8 s ──────────────────────────── pause ends ── up
///        reports time out: WARN lost (once)   task: RUN ... RUN     INFO recovered (once)
/// ```
pub async fn redis_paused(redis: &super::private::PrivateServer, lost: &str, recovered: &str) {
    let url = redis.redis_url();
    let file = super::servers::TempDb::new();
    let group = parent(LivenessDriver::REDIS, &url, &file).await;
    let host = super::unique("fault-pause");
    let mut child = FaultChild::spawn(LivenessDriver::REDIS, &file.url(), &url, &host);
    wait_state(&group, &host, true, Duration::from_secs(30)).await;
    let runs_before = child.runs();
    let mark = child.mark();
    let pause = Duration::from_secs(8);
    redis.redis_pause(u64::try_from(pause.as_millis()).unwrap());
    let over = Instant::now() + pause;
    while Instant::now() < over {
        child.assert_alive();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let runs_during = child.runs() - runs_before;
    assert!(
        runs_during >= 6,
        "{runs_during} runs in 8 s:\n{}",
        child.log()
    );
    assert_eq!(child.count_since(mark, lost), 1, "{}", child.log());
    wait_state(&group, &host, true, Duration::from_secs(10)).await;
    // The next reports go through.
    let recovered_by = Instant::now() + Duration::from_secs(5);
    while child.count_since(mark, recovered) == 0 {
        assert!(Instant::now() < recovered_by, "{}", child.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.assert_alive();
    assert_eq!(child.count_since(mark, lost), 1, "{}", child.log());
    assert_eq!(child.count_since(mark, recovered), 1, "{}", child.log());
    group.close().await;
}
