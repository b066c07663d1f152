//! Helpers of the operator page's browser tests: Debian's chromedriver and chromium
//! driven over WebDriver (fantoccini), `periodic` processes (the API server, services
//! that heartbeat), and scratch stores (a SQLite file, a PostgreSQL database).
//!
//! Every wait is bounded; every process started here is killed when its handle drops
//! (chromedriver with its whole process group, so that chromium goes too).

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use sqlx::Connection as _;

/// One browser at a time: each test drives its own chromium, and the machine's cores are
/// few (the tests of this file would otherwise start two at once).
pub static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `periodic` with none of the caller's `PERIODIC_*` configuration.
pub fn periodic() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PERIODIC_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Polls `probe` every 100 ms until it returns `Some`, for at most `within`; panics
/// naming `what` (and the last thing seen) otherwise.
pub async fn wait_until<T>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The chromedriver of `PERIODIC_TEST_CHROMEDRIVER`: these tests need a real browser and
/// say how to get one rather than skip.
fn chromedriver() -> String {
    const HOW: &str = "install Debian's chromium and chromium-driver (apt-get install chromium \
                       chromium-driver) and set PERIODIC_TEST_CHROMEDRIVER=/usr/bin/chromedriver \
                       (.ci/run does both)";
    match std::env::var("PERIODIC_TEST_CHROMEDRIVER") {
        Ok(path) if !path.is_empty() && Path::new(&path).is_file() => path,
        Ok(path) if !path.is_empty() => {
            panic!("PERIODIC_TEST_CHROMEDRIVER={path} is not a file: {HOW}")
        }
        _ => panic!(
            "PERIODIC_TEST_CHROMEDRIVER is unset: the operator page's tests drive a real browser; \
             {HOW}"
        ),
    }
}

/// A headless chromium driven through its chromedriver on a free loopback port, with a
/// profile directory of its own.
pub struct Browser {
    driver: Child,
    client: Option<Client>,
    profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let profile = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(chromedriver());
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the browser it starts is killed with it.
            .process_group(0);
        let driver = cmd.spawn().expect("chromedriver starts");
        let mut browser = Browser {
            driver,
            client: None,
            profile,
        };
        let addr = format!("127.0.0.1:{port}");
        wait_until(
            "chromedriver listens",
            Duration::from_secs(20),
            async || {
                TcpStream::connect(&addr)
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        )
        .await;
        let chromium = std::env::var("PERIODIC_TEST_CHROMIUM")
            .unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run", "--window-size=1500,1000",
                    format!("--user-data-dir={}", browser.profile.path().display()),
                ],
            }),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            builder.connect(&format!("http://{addr}")),
        )
        .await
        .expect("a browser session within 60 s")
        .expect("chromedriver starts chromium");
        browser.client = Some(client);
        browser
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Opens `url`, bounded.
    pub async fn goto(&self, url: &str) {
        tokio::time::timeout(Duration::from_secs(30), self.client().goto(url))
            .await
            .expect("the page loads within 30 s")
            .expect("the page loads");
    }

    /// Runs `script` in the page (`arguments[i]` are `args`), bounded.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        tokio::time::timeout(Duration::from_secs(10), self.client().execute(script, args))
            .await
            .expect("the script answers within 10 s")
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Saves a screenshot of the page to `target/tmp/NAME.png`, and returns its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = tokio::time::timeout(Duration::from_secs(20), self.client().screenshot())
            .await
            .expect("a screenshot within 20 s")
            .expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Ends the session (chromium exits), then chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group of chromedriver: itself and the chromium it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A child process whose stdout lines arrive on a channel; killed (SIGKILL) when
/// dropped.
pub struct Process {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Process {
    pub fn spawn(mut cmd: Command) -> Process {
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

    pub fn next_line(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `periodic api serve` on a free loopback port over `url`, with the token `token`.
pub fn api_serve(url: &str, down_secs: u64, token: &str) -> (Process, SocketAddr) {
    let mut cmd = periodic();
    cmd.args(["api", "serve", "--bind", "127.0.0.1:0", "--db", url])
        .args(["--service-down-time", &down_secs.to_string()])
        .args(["--auth-token", token])
        // Heartbeats every second: service_down_time is not raised by nova's 2.5× rule.
        .env("PERIODIC_REPORT_INTERVAL", "1");
    let server = Process::spawn(cmd);
    let line = server
        .next_line(Duration::from_secs(30))
        .expect("the API server starts within 30 s");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .parse()
        .unwrap();
    (server, addr)
}

/// A service in a process of its own (`periodic bench detect-replica`) that heartbeats
/// every 500 ms; its service id once it said `ready`.
pub fn service_process(url: &str, down_secs: u64, host: &str) -> (Process, i64) {
    let mut cmd = periodic();
    cmd.args(["bench", "detect-replica", "--db", url])
        .args(["--service-down-time", &down_secs.to_string()])
        .args(["--host", host, "--binary", "periodic-compute"])
        .args(["--report-interval-ms", "500"]);
    let process = Process::spawn(cmd);
    let ready = process
        .next_line(Duration::from_secs(30))
        .expect("the service starts within 30 s");
    let id = ready
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("unexpected first line: {ready}"))
        .parse()
        .unwrap();
    (process, id)
}

/// Where a test's services live.
pub enum Store {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Store {
    /// A scratch SQLite file.
    pub fn sqlite() -> (Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
        (Store::Sqlite(dir), url)
    }

    /// A scratch PostgreSQL database `periodic_ui_<pid>_<n>` on
    /// `PERIODIC_TEST_POSTGRES_URL` (or the local default), or `None` after saying why the
    /// test is skipped (unset and unreachable).
    pub async fn postgres(tag: &str) -> Option<(Store, String)> {
        let (admin_url, required) = match std::env::var("PERIODIC_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => (url, true),
            _ => ("postgres://postgres@127.0.0.1:5432/test".to_owned(), false),
        };
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if required => panic!("PERIODIC_TEST_POSTGRES_URL={admin_url}: {e}"),
            Err(e) => {
                eprintln!("skipped: PERIODIC_TEST_POSTGRES_URL is unset and {admin_url}: {e}");
                return None;
            }
        };
        let name = format!("periodic_ui_{tag}_{}", std::process::id());
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        Some((Store::Postgres { admin_url, name }, url))
    }

    /// Drops a PostgreSQL database (a SQLite file goes with its directory).
    pub async fn drop_store(self) {
        if let Store::Postgres { admin_url, name } = self {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

/// A fleet replica in a process of its own (`periodic bench fleet-replica`): `tasks`
/// fleet tasks named `0`, `1`, ... of fleet `fleet`, every `spacing` seconds, held as
/// `holder`, for `duration` seconds; it prints `run TASK SLOT` for each run.
pub fn fleet_process(url: &str, fleet: &str, holder: &str, spacing: u64) -> Process {
    let mut cmd = periodic();
    cmd.args(["bench", "fleet-replica", "--store", url, "--fleet", fleet])
        .args(["--name", holder, "--tasks", "1", "--duration", "300"])
        .args(["--spacing", &spacing.to_string()]);
    Process::spawn(cmd)
}

/// `periodic task list --fleet FLEET --format json` over `url`.
pub fn task_list(url: &str, fleet: &str) -> Vec<Value> {
    let out = periodic()
        .args([
            "task", "list", "--db", url, "--fleet", fleet, "--format", "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
