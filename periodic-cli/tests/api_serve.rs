//! `periodic api serve` end to end: the real binary against a real SQLite file prepared
//! through the library, over real HTTP; the flags, the bind policy, the token from the
//! environment, a missing database, and a graceful stop on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};

use periodic::{NewService, ServiceFilter, ServiceGroup, ServiceGroupConfig};
use serde_json::Value;

fn periodic() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
    // The child sees only the configuration the test gives it.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PERIODIC_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A scratch SQLite database with two services: `periodic-compute` on node-1 (reported)
/// and `periodic-scheduler` on node-2.
struct Db {
    _dir: tempfile::TempDir,
    url: String,
}

async fn prepare() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let group = ServiceGroup::open(&url, ServiceGroupConfig::default())
        .await
        .unwrap();
    let compute = group
        .get_or_create(&NewService::new("node-1", "periodic-compute", "compute"))
        .await
        .unwrap();
    group.report_state(&compute).await.unwrap();
    group
        .get_or_create(&NewService::new(
            "node-2",
            "periodic-scheduler",
            "scheduler",
        ))
        .await
        .unwrap();
    group.close().await;
    Db { _dir: dir, url }
}

/// A running `periodic api serve`, killed if the test ends without stopping it.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Server {
    /// Starts the server with `args` (on 127.0.0.1:0 unless they say `--bind`) and `env`,
    /// and reads the `listening on` line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = periodic();
        cmd.args(["api", "serve"]);
        if !args.contains(&"--bind") {
            cmd.args(["--bind", "127.0.0.1:0"]);
        }
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "no address in {line:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let addr = addr.parse().unwrap();
        Server {
            child: Some(child),
            addr,
        }
    }

    /// SIGTERM, then the exit status and stderr.
    fn terminate(mut self) -> Output {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait_with_output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn call(
    method: reqwest::Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut request = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_database_and_stops_on_sigterm() {
    let db = prepare().await;
    // The token comes from the environment, as documented.
    let server = Server::start(&["--db", &db.url], &[("PERIODIC_API_TOKEN", "s3cret")]);
    let base = format!("http://{}", server.addr);

    let (status, text) = call(
        reqwest::Method::GET,
        format!("{base}/os-services"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let services = json(&text);
    let list = services["services"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let compute = list
        .iter()
        .find(|s| s["binary"] == "periodic-compute")
        .unwrap();
    assert_eq!(compute["host"], "node-1");
    assert_eq!(compute["state"], "up");
    assert_eq!(compute["status"], "enabled");
    assert_eq!(compute["zone"], "nova");
    let uuid = compute["id"].as_str().unwrap().to_owned();

    // Writes: 401 without the token, 200 with it, and the row changed in the file.
    let path = format!("{base}/os-services/{uuid}");
    let body = r#"{"status": "disabled", "disabled_reason": "maintenance"}"#;
    let (status, text) = call(reqwest::Method::PUT, path.clone(), &[], Some(body)).await;
    assert_eq!(status, 401, "{text}");
    let (status, text) = call(
        reqwest::Method::PUT,
        path,
        &[("X-Auth-Token", "s3cret")],
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["service"]["disabled_reason"], "maintenance");
    let group = ServiceGroup::open_existing(&db.url, ServiceGroupConfig::default())
        .await
        .unwrap();
    let rows = group
        .list(&ServiceFilter::all().binary("periodic-compute"))
        .await
        .unwrap();
    assert!(rows[0].record.disabled);
    assert_eq!(
        rows[0].record.disabled_reason.as_deref(),
        Some("maintenance")
    );
    group.close().await;

    // Health of the store, metrics, and no tasks without a service inside.
    let (status, text) = call(reqwest::Method::GET, format!("{base}/healthz"), &[], None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["services"], 2);
    let (status, text) = call(reqwest::Method::GET, format!("{base}/metrics"), &[], None).await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"periodic_services{binary="periodic-compute",state="up"} 1"#),
        "{text}"
    );
    let (status, text) = call(reqwest::Method::GET, format!("{base}/tasks"), &[], None).await;
    assert_eq!(status, 404);
    assert!(
        json(&text)["itemNotFound"]["message"]
            .as_str()
            .unwrap()
            .contains("--api-bind")
    );

    let addr = server.addr;
    let out = server.terminate();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_writes_are_refused_and_insecure_allows_them() {
    let db = prepare().await;
    let server = Server::start(&["--db", &db.url], &[]);
    let base = format!("http://{}", server.addr);
    let (_, text) = call(
        reqwest::Method::GET,
        format!("{base}/os-services"),
        &[],
        None,
    )
    .await;
    let uuid = json(&text)["services"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, text) = call(
        reqwest::Method::DELETE,
        format!("{base}/os-services/{uuid}"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        json(&text)["forbidden"]["message"]
            .as_str()
            .unwrap()
            .contains("--auth-token")
    );
    drop(server);

    let server = Server::start(&["--db", &db.url, "--insecure-no-auth"], &[]);
    let base = format!("http://{}", server.addr);
    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("{base}/os-services/{uuid}"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, text) = call(
        reqwest::Method::GET,
        format!("{base}/os-services"),
        &[],
        None,
    )
    .await;
    assert_eq!(json(&text)["services"].as_array().unwrap().len(), 1);
    assert!(server.terminate().status.success());
}

/// Exit 1 with one line on stderr; returns it.
fn fails(args: &[&str]) -> String {
    let out = periodic().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err.trim_end().to_owned()
}

#[test]
fn a_missing_database_is_an_error_not_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.db");
    let url = format!("sqlite://{}", path.display());
    let err = fails(&["api", "serve", "--bind", "127.0.0.1:0", "--db", &url]);
    assert!(err.starts_with("periodic api serve: "), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!path.exists(), "the file was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bind_policy_and_contradicting_flags() {
    let db = prepare().await;
    let err = fails(&["api", "serve", "--bind", "0.0.0.0:0", "--db", &db.url]);
    assert!(
        err.contains("refusing to serve the HTTP API on 0.0.0.0:0 without an auth token"),
        "{err}"
    );
    assert!(err.contains("--insecure-no-auth"), "{err}");
    let err = fails(&[
        "api",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--db",
        &db.url,
        "--auth-token",
        "t",
        "--insecure-no-auth",
    ]);
    assert!(err.contains("give one or the other"), "{err}");

    // With a token a non-loopback address is allowed, and reads need the token too.
    let server = Server::start(
        &["--db", &db.url, "--bind", "0.0.0.0:0", "--auth-token", "t"],
        &[],
    );
    let base = format!("http://127.0.0.1:{}", server.addr.port());
    let (status, _) = call(
        reqwest::Method::GET,
        format!("{base}/os-services"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        reqwest::Method::GET,
        format!("{base}/os-services"),
        &[("Authorization", "Bearer t")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(server.terminate().status.success());
}
