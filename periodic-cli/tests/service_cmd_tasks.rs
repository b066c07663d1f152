//! `periodic service tasks` against a stub HTTP server: one connection, one canned answer
//! (the `GET /tasks` contract with the service's API), and the failures: unreachable, no
//! answer in time, an error status, an answer of the wrong shape, a bad URL.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn periodic() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PERIODIC_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Serves one connection on a loopback port: reads the request head, then answers
/// `status` with `body` (or never answers when `status` is empty). Gives up after 10 s.
/// The handle returns the request head.
fn stub(status: &'static str, body: &'static str) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut conn = loop {
            match listener.accept() {
                Ok((conn, _)) => break conn,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("no connection: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = Vec::new();
        let mut byte = [0_u8; 1];
        while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        if status.is_empty() {
            // Hold the connection open, answer nothing, until the client gives up.
            let _ = conn.read(&mut byte);
        } else {
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(response.as_bytes()).unwrap();
        }
        String::from_utf8(head).unwrap()
    });
    (url, handle)
}

fn tasks(url: &str, extra: &[&str]) -> Output {
    periodic()
        .args(["service", "tasks", "--url", url])
        .args(extra)
        .output()
        .unwrap()
}

/// Exit 1, exactly one line on stderr, nothing on stdout.
fn one_line_failure(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    err.trim_end().to_owned()
}

const ANSWER: &str = r#"{
  "service": {"host": "node-1", "binary": "periodic-compute", "topic": "compute"},
  "tasks": [
    {"name": "update_available_resource", "full_name": "ComputeManager.update_available_resource",
     "spacing": 60.0, "enabled": true, "run_immediately": true, "external_process_ok": false,
     "last_run_ago": 12.34, "next_due_in": 47.66, "runs": 3, "failures": 0,
     "last_duration": 0.0123, "last_lateness": 0.001, "running": false},
    {"name": "_sync_power_states", "full_name": "ComputeManager._sync_power_states",
     "spacing": 600.0, "enabled": true, "run_immediately": false, "external_process_ok": false,
     "last_run_ago": null, "next_due_in": -3.25, "runs": 0, "failures": 0,
     "last_duration": null, "last_lateness": null, "running": false},
    {"name": "_heal_instance_info_cache", "full_name": "ComputeManager._heal_instance_info_cache",
     "spacing": 60.0, "enabled": true, "run_immediately": false, "external_process_ok": false,
     "last_run_ago": 185.0, "next_due_in": 5.0, "runs": 10, "failures": 2,
     "last_duration": 130.0, "last_lateness": 0.5, "running": true, "a_future_key": 1},
    {"name": "_cleanup_running_deleted_instances", "full_name": "ComputeManager._cleanup_running_deleted_instances",
     "spacing": 1800.0, "enabled": false, "run_immediately": false, "external_process_ok": false,
     "last_run_ago": null, "next_due_in": null, "runs": 0, "failures": 0,
     "last_duration": null, "last_lateness": null, "running": false}
  ]
}"#;

#[test]
fn a_table_of_the_running_service_tasks() {
    let (url, server) = stub("200 OK", ANSWER);
    let out = tasks(&url, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "\
periodic-compute on node-1 (topic compute)
+------------------------------------+---------+---------------------+--------------+------+----------+---------------+
| Task                               | Spacing | Last Run            | Next Due     | Runs | Failures | Last Duration |
+------------------------------------+---------+---------------------+--------------+------+----------+---------------+
| update_available_resource          |     60s | 12.3s ago           | in 47.7s     |    3 |        0 |        0.012s |
| _sync_power_states                 |    600s | never               | overdue 3.2s |    0 |        0 |             - |
| _heal_instance_info_cache          |     60s | 3m05s ago (running) | in 5.0s      |   10 |        2 |         2m10s |
| _cleanup_running_deleted_instances |   1800s | never               | disabled     |    0 |        0 |             - |
+------------------------------------+---------+---------------------+--------------+------+----------+---------------+
"
    );
    let head = server.join().unwrap();
    assert!(head.starts_with("GET /tasks HTTP/1.1\r\n"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("x-auth-token"),
        "{head}"
    );
}

#[test]
fn json_is_the_answer_as_is() {
    let (url, server) = stub("200 OK", ANSWER);
    let out = tasks(&format!("{url}/"), &["--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent: serde_json::Value = serde_json::from_str(ANSWER).unwrap();
    assert_eq!(printed, sent);
    // A trailing slash on --url does not double the slash.
    assert!(
        server
            .join()
            .unwrap()
            .starts_with("GET /tasks HTTP/1.1\r\n")
    );
}

#[test]
fn the_token_comes_from_the_flag_or_the_configuration() {
    let (url, server) = stub("200 OK", ANSWER);
    assert!(tasks(&url, &["--auth-token", "s3cret"]).status.success());
    let head = server.join().unwrap().to_ascii_lowercase();
    assert!(head.contains("\r\nx-auth-token: s3cret\r\n"), "{head}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("periodic.toml");
    std::fs::write(&config, "[api]\nauth_token = \"from-file\"\n").unwrap();
    let (url, server) = stub("200 OK", ANSWER);
    assert!(
        tasks(&url, &["--config", config.to_str().unwrap()])
            .status
            .success()
    );
    let head = server.join().unwrap().to_ascii_lowercase();
    assert!(head.contains("\r\nx-auth-token: from-file\r\n"), "{head}");
}

#[test]
fn no_tasks() {
    let (url, server) = stub(
        "200 OK",
        r#"{"service": {"host": "h", "binary": "b", "topic": "t"}, "tasks": []}"#,
    );
    let out = tasks(&url, &[]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "b on h (topic t)\nno periodic tasks\n"
    );
    server.join().unwrap();
}

#[test]
fn an_unreachable_service_is_one_line() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener); // nothing listens there now
    let err = one_line_failure(&tasks(&url, &[]));
    assert!(
        err.starts_with(&format!(
            "periodic service tasks: cannot reach {url}/tasks: "
        )),
        "{err}"
    );
    assert!(err.to_ascii_lowercase().contains("refused"), "{err}");
}

#[test]
fn a_silent_service_times_out() {
    let (url, server) = stub("", "");
    let started = Instant::now();
    let err = one_line_failure(&tasks(&url, &["--timeout", "0.5"]));
    assert_eq!(
        err,
        format!("periodic service tasks: no answer from {url}/tasks within 0.5s")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    server.join().unwrap();
}

#[test]
fn an_error_status_shows_the_fault_message() {
    let (url, server) = stub(
        "404 Not Found",
        r#"{"itemNotFound": {"code": 404, "message": "No periodic tasks here."}}"#,
    );
    assert_eq!(
        one_line_failure(&tasks(&url, &[])),
        format!(
            "periodic service tasks: {url}/tasks answered 404 Not Found: No periodic tasks here."
        )
    );
    server.join().unwrap();
}

#[test]
fn an_answer_of_the_wrong_shape_names_the_field() {
    let (url, server) = stub(
        "200 OK",
        r#"{"service": {"host": "h", "binary": "b"}, "tasks": [{"name": "a", "spacing": "60"}]}"#,
    );
    let err = one_line_failure(&tasks(&url, &[]));
    assert!(
        err.starts_with(&format!(
            "periodic service tasks: unexpected answer from {url}/tasks: `tasks[0].spacing`: invalid type: string \"60\""
        )),
        "{err}"
    );
    server.join().unwrap();

    let (url, server) = stub("200 OK", "<html>not json</html>");
    let err = one_line_failure(&tasks(&url, &[]));
    assert!(
        err.starts_with(&format!(
            "periodic service tasks: unexpected answer from {url}/tasks: expected value"
        )),
        "{err}"
    );
    server.join().unwrap();
}

#[test]
fn bad_urls_are_one_line() {
    assert_eq!(
        one_line_failure(&tasks("ftp://127.0.0.1:8774", &[])),
        "periodic service tasks: `ftp://127.0.0.1:8774` is not an http://HOST:PORT URL (the \
         service's API serves plain HTTP, by default on loopback: http://127.0.0.1:8774)"
    );
    assert_eq!(
        one_line_failure(&tasks("not a url", &[])),
        "periodic service tasks: invalid URL `not a url`: relative URL without a base"
    );
    assert_eq!(
        one_line_failure(&tasks("http://127.0.0.1:8774", &["--timeout=-1"])),
        "periodic service tasks: --timeout must be a positive number of seconds"
    );
}

/// Cron tasks (`"spacing": null`): the Spacing column shows the expression, and its time
/// zone when it is not UTC.
#[test]
fn cron_tasks_show_their_expression() {
    let (url, server) = stub(
        "200 OK",
        r#"{"service": {"host": "node-1", "binary": "periodic-compute"},
            "tasks": [
              {"name": "audit", "spacing": null, "cron": "*/10 * * * *", "tz": "UTC",
               "enabled": true, "next_due_in": 30.0, "runs": 1},
              {"name": "purge", "spacing": null, "cron": "0 0 3 * * *", "tz": "Europe/Paris",
               "enabled": true, "next_due_in": 7200.0, "runs": 0},
              {"name": "poll", "spacing": 60.0, "cron": null, "tz": null, "enabled": true}
            ]}"#,
    );
    let out = tasks(&url, &[]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    let spacing = |task: &str| {
        let row = table.lines().find(|l| l.contains(task)).unwrap();
        row.split('|').map(str::trim).nth(2).unwrap().to_owned()
    };
    assert_eq!(spacing("audit"), "cron */10 * * * *", "{table}");
    assert_eq!(
        spacing("purge"),
        "cron 0 0 3 * * * (Europe/Paris)",
        "{table}"
    );
    assert_eq!(spacing("poll"), "60s", "{table}");
    server.join().unwrap();
}
