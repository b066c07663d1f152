//! `periodic service ...` end to end: the real binary against a real SQLite file prepared
//! through the library, with the row timestamps pinned by SQL so the output is exact.
//!
//! The prepared services (ids in creation order):
//!
//! ```text
//! id  binary              host    zone  state  why
//!  1  periodic-compute    node-1  az1   up     heartbeat just now
//!  2  periodic-compute    node-2  az1   down   disabled ("maintenance") and forced down
//!  3  periodic-scheduler  node-1  (internal)  down   never reported, row 10 minutes old
//!  4  periodic-compute    node-3  az2   down   last heartbeat 10 minutes ago
//!  5  periodic-scheduler  node-3  (internal)  down   stopped gracefully
//! ```

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::SystemTime;

use periodic::{NewService, ServiceGroup, ServiceGroupConfig, WallClock};

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

fn run(args: &[&str]) -> Output {
    periodic().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Success, and the output.
fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "periodic {args:?} failed: {}",
        stderr(&out)
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    stdout(&out)
}

/// Exit 1 with exactly one line on stderr, and nothing on stdout; returns the line.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(1), "periodic {args:?}: {out:?}");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err.trim_end().to_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
    url: String,
}

/// The five services above, with `updated_at` pinned to 2026-01-02 03:04:0N.
fn prepare() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("periodic.db");
    let url = format!("sqlite://{}", path.display());
    runtime().block_on(async {
        let group = ServiceGroup::open(&url, ServiceGroupConfig::default())
            .await
            .unwrap();
        // node-1's compute reports with a clock 30 s slow, node-3's with one 10 minutes
        // fast: the database's clock judges them, the list shows the skew.
        let skewed = |ahead: bool, by: u64| {
            let clock = WallClock::from_fn(move || {
                let by = std::time::Duration::from_secs(by);
                if ahead {
                    SystemTime::now() + by
                } else {
                    SystemTime::now() - by
                }
            });
            ServiceGroup::open(&url, ServiceGroupConfig::default().clock(clock))
        };
        let slow = skewed(false, 30).await.unwrap();
        let fast = skewed(true, 600).await.unwrap();
        let new = |host: &str, binary: &str, topic: &str| NewService::new(host, binary, topic);
        let s1 = group
            .get_or_create(&new("node-1", "periodic-compute", "compute").availability_zone("az1"))
            .await
            .unwrap();
        slow.report_state(&s1).await.unwrap();
        let s2 = group
            .get_or_create(&new("node-2", "periodic-compute", "compute").availability_zone("az1"))
            .await
            .unwrap();
        group.report_state(&s2).await.unwrap();
        group.disable(s2.id, Some("maintenance")).await.unwrap();
        group.set_forced_down(s2.id, true).await.unwrap();
        group
            .get_or_create(&new("node-1", "periodic-scheduler", "scheduler"))
            .await
            .unwrap();
        let s4 = group
            .get_or_create(&new("node-3", "periodic-compute", "compute").availability_zone("az2"))
            .await
            .unwrap();
        fast.report_state(&s4).await.unwrap();
        let s5 = group
            .get_or_create(&new("node-3", "periodic-scheduler", "scheduler"))
            .await
            .unwrap();
        group.report_state(&s5).await.unwrap();
        group.mark_stopped(s5.id).await.unwrap();
        group.close().await;
        slow.close().await;
        fast.close().await;
    });
    sql(
        &url,
        &[
            "UPDATE services SET created_at = datetime('now', '-10 minutes') WHERE id = 3",
            "UPDATE services SET last_seen_up = datetime('now', '-10 minutes') WHERE id = 4",
            "UPDATE services SET updated_at = '2026-01-02 03:04:01.678' WHERE id = 1",
            "UPDATE services SET updated_at = '2026-01-02 03:04:02' WHERE id = 2",
            "UPDATE services SET updated_at = NULL WHERE id = 3",
            "UPDATE services SET updated_at = '2026-01-02 03:04:04.5' WHERE id = 4",
            "UPDATE services SET updated_at = '2026-01-02 03:04:05.001' WHERE id = 5",
        ],
    );
    Db {
        _dir: dir,
        path,
        url,
    }
}

fn sql(url: &str, statements: &[&str]) {
    runtime().block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    });
}

const TABLE: &str = "\
+----+--------------------+--------+----------+----------+-------+----------------------------+
| ID | Binary             | Host   | Zone     | Status   | State | Updated At                 |
+----+--------------------+--------+----------+----------+-------+----------------------------+
|  1 | periodic-compute   | node-1 | az1      | enabled  | up    | 2026-01-02T03:04:01.678000 |
|  2 | periodic-compute   | node-2 | az1      | disabled | down  | 2026-01-02T03:04:02.000000 |
|  3 | periodic-scheduler | node-1 | internal | enabled  | down  | None                       |
|  4 | periodic-compute   | node-3 | az2      | enabled  | down  | 2026-01-02T03:04:04.500000 |
|  5 | periodic-scheduler | node-3 | internal | enabled  | down  | 2026-01-02T03:04:05.001000 |
+----+--------------------+--------+----------+----------+-------+----------------------------+
";

#[test]
fn list_as_openstackclient_shows_it() {
    let db = prepare();
    assert_eq!(ok(&["service", "list", "--db", &db.url]), TABLE);
    // The options may also come before the command.
    assert_eq!(ok(&["service", "--db", &db.url, "list"]), TABLE);
}

/// No service: the header, not an empty output that reads like a failure.
#[test]
fn an_empty_list_prints_the_header() {
    let db = prepare();
    assert_eq!(
        ok(&["service", "list", "--db", &db.url, "--host", "nowhere"]),
        "\
+----+--------+------+------+--------+-------+------------+
| ID | Binary | Host | Zone | Status | State | Updated At |
+----+--------+------+------+--------+-------+------------+
"
    );
    assert_eq!(
        ok(&[
            "service", "list", "--db", &db.url, "--host", "nowhere", "--format", "json"
        ]),
        "[]\n"
    );
}

/// Seconds in JSON are rounded to the microsecond, like the timestamps: no
/// `4.2620000000000005`.
#[test]
fn json_seconds_have_no_float_noise() {
    let db = prepare();
    let text = ok(&["service", "list", "--db", &db.url, "--format", "json"]);
    let mut checked = 0;
    for line in text.lines() {
        let line = line.trim().trim_end_matches(',');
        for key in ["\"heartbeat_age\": ", "\"service_down_time\": "] {
            if let Some(number) = line.strip_prefix(key)
                && number != "null"
            {
                let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
                assert!(decimals <= 6, "{line}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 10, "{text}");
}

#[test]
fn list_legacy_is_nova_manage_layout() {
    let db = prepare();
    // Python's "%-16s %-36s %-16s %-10s %-5s %-10s" (printed with Python): padding never
    // truncates, so an 18-character binary pushes its line over, as nova-manage did.
    let expected = concat!(
        "Binary           Host                                 Zone             Status     State Updated_At\n",
        "periodic-compute node-1                               az1              enabled    :-)   2026-01-02 03:04:01.678000\n",
        "periodic-compute node-2                               az1              disabled   XXX   2026-01-02 03:04:02\n",
        "periodic-scheduler node-1                               internal         enabled    XXX   None      \n",
        "periodic-compute node-3                               az2              enabled    XXX   2026-01-02 03:04:04.500000\n",
        "periodic-scheduler node-3                               internal         enabled    XXX   2026-01-02 03:04:05.001000\n",
    );
    assert_eq!(
        ok(&["service", "list", "--db", &db.url, "--format", "legacy"]),
        expected
    );
    // No services: the header alone.
    assert_eq!(
        ok(&[
            "service", "list", "--db", &db.url, "--format", "legacy", "--host", "x"
        ]),
        &expected[..=expected.find('\n').unwrap()]
    );
}

#[test]
fn list_json_has_every_field() {
    let db = prepare();
    let text = ok(&["service", "list", "--db", &db.url, "--format", "json"]);
    let services: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(services.len(), 5);
    let mut keys: Vec<&str> = services[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "binary",
            "clock_skew",
            "created_at",
            "disabled_reason",
            "down_reason",
            "forced_down",
            "heartbeat_age",
            "host",
            "id",
            "last_seen_up",
            "membership",
            "report_count",
            "service_down_time",
            "state",
            "status",
            "stopped",
            "topic",
            "updated_at",
            "uuid",
            "zone",
        ]
    );
    let s1 = &services[0];
    assert_eq!(s1["id"], 1);
    assert_eq!(s1["binary"], "periodic-compute");
    assert_eq!(s1["topic"], "compute");
    assert_eq!(s1["zone"], "az1");
    assert_eq!(s1["status"], "enabled");
    assert_eq!(s1["state"], "up");
    assert_eq!(s1["updated_at"], "2026-01-02T03:04:01.678000Z");
    assert_eq!(s1["report_count"], 1);
    assert_eq!(s1["service_down_time"], 60.0);
    assert!(s1["down_reason"].is_null());
    assert!(s1["heartbeat_age"].as_f64().unwrap() < 60.0);
    assert_eq!(s1["uuid"].as_str().unwrap().len(), 36);
    let reasons: Vec<&serde_json::Value> = services.iter().map(|s| &s["down_reason"]).collect();
    assert_eq!(
        reasons,
        [
            &serde_json::Value::Null,
            &"forced_down".into(),
            &"never_reported".into(),
            &"no_heartbeat".into(),
            &"stopped".into()
        ]
    );
    assert_eq!(services[1]["disabled_reason"], "maintenance");
    assert_eq!(services[1]["forced_down"], true);
    assert_eq!(services[4]["stopped"], true);
    assert!(services[2]["last_seen_up"].is_null());
    assert!(services[2]["updated_at"].is_null());
    // The clock skew in seconds: node-1's compute reported 30 s slow, node-3's 600 s
    // fast, node-2's on time; node-1's scheduler never reported. The db driver has no
    // membership detail.
    let skew = |i: usize| services[i]["clock_skew"].as_f64();
    assert!((skew(0).unwrap() + 30.0).abs() < 1.0, "{}", services[0]);
    assert!(skew(1).unwrap().abs() < 1.0, "{}", services[1]);
    assert_eq!(skew(2), None);
    assert!((skew(3).unwrap() - 600.0).abs() < 1.0, "{}", services[3]);
    assert!(services.iter().all(|s| s["membership"].is_null()));
}

#[test]
fn list_filters_by_host_and_binary() {
    let db = prepare();
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["service", "list", "--db", &db.url, "--format", "json"];
        all.extend_from_slice(args);
        let v: Vec<serde_json::Value> = serde_json::from_str(&ok(&all)).unwrap();
        v.iter().map(|s| s["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&["--host", "node-1"]), [1, 3]);
    assert_eq!(ids(&["--binary", "periodic-compute"]), [1, 2, 4]);
    assert_eq!(
        ids(&["--host", "node-3", "--binary", "periodic-scheduler"]),
        [5]
    );
    assert_eq!(ids(&["--host", "nowhere"]), Vec::<i64>::new());
    // An empty table prints its header: `an_empty_list_prints_the_header`.
}

#[test]
fn list_long_says_why_and_by_which_threshold() {
    let db = prepare();
    let text = ok(&["service", "list", "--db", &db.url, "--long"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        "| ID | Binary             | Host   | Zone     | Status   | State | Updated At                 | Disabled Reason | Forced Down | Last Heartbeat | Down Threshold | Down Reason                           | Clock Skew | Membership |"
    );
    let cells = |line: &str| -> Vec<String> {
        line.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let rows: Vec<Vec<String>> = lines[3..8].iter().map(|l| cells(l)).collect();
    // Disabled Reason, Forced Down, Down Threshold, Down Reason.
    let pick = |r: &Vec<String>| (r[7].clone(), r[8].clone(), r[10].clone(), r[11].clone());
    let s = |x: &str| x.to_owned();
    assert_eq!(pick(&rows[0]), (s("None"), s("False"), s("60s"), s("None")));
    assert_eq!(
        pick(&rows[1]),
        (s("maintenance"), s("True"), s("60s"), s("forced down"))
    );
    assert_eq!(
        pick(&rows[2]),
        (s("None"), s("False"), s("60s"), s("never reported"))
    );
    assert_eq!(
        pick(&rows[3]),
        (
            s("None"),
            s("False"),
            s("60s"),
            s("no heartbeat within service_down_time")
        )
    );
    assert_eq!(
        pick(&rows[4]),
        (s("None"), s("False"), s("60s"), s("stopped"))
    );
    // Last Heartbeat: seconds ago by the database's clock; 10 minutes for node-3.
    let age = |cell: &str| -> f64 { cell.strip_suffix("s ago").unwrap().parse().unwrap() };
    assert!(age(&rows[0][9]) < 60.0, "{}", rows[0][9]);
    assert!((age(&rows[3][9]) - 600.0).abs() < 60.0, "{}", rows[3][9]);
    // Clock Skew: node-1's compute reported with a clock 30 s slow and is up all the same;
    // node-3's compute 10 minutes fast (its row is 10 minutes old, so down: by the
    // database's clock, not its own); `-` for the one that never reported.
    let skews: Vec<Option<f64>> = rows
        .iter()
        .map(|r| (r[12] != "-").then(|| r[12].strip_suffix('s').unwrap().parse().unwrap()))
        .collect();
    for (shown, want) in skews
        .iter()
        .zip([Some(-30.0), Some(0.0), None, Some(600.0), Some(0.0)])
    {
        assert_eq!(shown.is_some(), want.is_some(), "{skews:?}");
        if let (Some(shown), Some(want)) = (shown, want) {
            assert!((shown - want).abs() < 1.0, "{skews:?}");
        }
    }
    assert!(
        rows[0][12].starts_with('-') && rows[3][12].starts_with('+'),
        "{rows:?}"
    );
    assert_eq!(rows[0][5], "up");
    assert!(rows.iter().all(|r| r[13] == "-"), "{rows:?}");

    // The threshold comes from --service-down-time: with 900 s, node-3's compute is up.
    let text = ok(&[
        "service",
        "list",
        "--db",
        &db.url,
        "--long",
        "--service-down-time",
        "900",
        "--host",
        "node-3",
    ]);
    let row = cells(text.lines().nth(3).unwrap());
    assert_eq!((row[5].as_str(), row[10].as_str()), ("up", "900s"));
    // ... after nova's 2.5x rule: 5 s is not above report_interval (10 s), so 25 s.
    let text = ok(&[
        "service",
        "list",
        "--db",
        &db.url,
        "--long",
        "--service-down-time",
        "5",
        "--host",
        "node-1",
        "--binary",
        "periodic-compute",
    ]);
    assert_eq!(cells(text.lines().nth(3).unwrap())[10], "25s");
}

#[test]
fn disable_enable_round_trip() {
    let db = prepare();
    let text = ok(&[
        "service",
        "disable",
        "--db",
        &db.url,
        "--host",
        "node-1",
        "--binary",
        "periodic-compute",
        "--reason",
        "kernel upgrade",
    ]);
    // The row as it is now, as a one-row --long table.
    assert_eq!(text.lines().count(), 5, "{text}");
    let row = text.lines().nth(3).unwrap();
    assert!(
        row.starts_with("|  1 | periodic-compute | node-1 | az1  | disabled | up    | "),
        "{row}"
    );
    assert!(row.contains("| kernel upgrade  | False       |"), "{row}");

    let json = |id: i64| -> serde_json::Value {
        let v: Vec<serde_json::Value> = serde_json::from_str(&ok(&[
            "service", "list", "--db", &db.url, "--format", "json",
        ]))
        .unwrap();
        v.into_iter().find(|s| s["id"] == id).unwrap()
    };
    assert_eq!(json(1)["status"], "disabled");
    assert_eq!(json(1)["disabled_reason"], "kernel upgrade");
    assert_eq!(json(1)["state"], "up", "disabled is not down");

    let text = ok(&[
        "service", "enable", "--db", &db.url, "--id", "1", "--format", "json",
    ]);
    let after: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(after["status"], "enabled");
    assert!(after["disabled_reason"].is_null());
    assert_eq!(json(1)["status"], "enabled");
    assert!(json(1)["disabled_reason"].is_null());

    // Disable without a reason.
    ok(&["service", "disable", "--db", &db.url, "--id", "4"]);
    assert_eq!(json(4)["status"], "disabled");
    assert!(json(4)["disabled_reason"].is_null());
}

/// A reason the schema cannot hold is refused the same way on every store (SQLite used to
/// store 300 characters that MariaDB refuses with error 1406), before anything is
/// written. (A NUL cannot reach a command line; the library check covers it.)
#[test]
fn too_long_text_is_exit_1_and_nothing_is_written() {
    let db = prepare();
    let long = "x".repeat(256);
    let err = fails(&[
        "service", "disable", "--db", &db.url, "--id", "1", "--reason", &long,
    ]);
    assert_eq!(
        err,
        "periodic service disable: `disabled_reason` is 256 characters long; at most 255 are \
         stored"
    );
    let err = fails(&[
        "service",
        "enable",
        "--db",
        &db.url,
        "--host",
        &"h".repeat(300),
        "--binary",
        "periodic-compute",
    ]);
    assert!(err.contains("`host` is 300 characters long"), "{err}");
    let v: Vec<serde_json::Value> = serde_json::from_str(&ok(&[
        "service", "list", "--db", &db.url, "--format", "json",
    ]))
    .unwrap();
    assert_eq!(v[0]["status"], "enabled");
}

#[test]
fn force_down_and_unset() {
    let db = prepare();
    let state = |id: i64| -> (String, serde_json::Value) {
        let v: Vec<serde_json::Value> = serde_json::from_str(&ok(&[
            "service", "list", "--db", &db.url, "--format", "json",
        ]))
        .unwrap();
        let s = v.into_iter().find(|s| s["id"] == id).unwrap();
        (
            s["state"].as_str().unwrap().to_owned(),
            s["down_reason"].clone(),
        )
    };
    assert_eq!(state(1), ("up".to_owned(), serde_json::Value::Null));
    let text = ok(&[
        "service",
        "force-down",
        "--db",
        &db.url,
        "--host",
        "node-1",
        "--binary",
        "periodic-compute",
    ]);
    assert!(text.contains("| enabled | down  |"), "{text}");
    assert!(text.contains("| True        |"), "{text}");
    assert_eq!(state(1), ("down".to_owned(), "forced_down".into()));
    ok(&[
        "service",
        "force-down",
        "--db",
        &db.url,
        "--id",
        "1",
        "--unset",
    ]);
    assert_eq!(state(1), ("up".to_owned(), serde_json::Value::Null));
    // node-2 heartbeated at setup: unforced, its heartbeat decides again.
    ok(&[
        "service",
        "force-down",
        "--db",
        &db.url,
        "--id",
        "2",
        "--unset",
    ]);
    assert_eq!(state(2), ("up".to_owned(), serde_json::Value::Null));
}

#[test]
fn delete_by_id_and_by_name() {
    let db = prepare();
    assert_eq!(ok(&["service", "delete", "--db", &db.url, "--id", "3"]), "");
    ok(&[
        "service",
        "delete",
        "--db",
        &db.url,
        "--host",
        "node-3",
        "--binary",
        "periodic-scheduler",
    ]);
    let v: Vec<serde_json::Value> = serde_json::from_str(&ok(&[
        "service", "list", "--db", &db.url, "--format", "json",
    ]))
    .unwrap();
    let ids: Vec<i64> = v.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 4]);
    assert_eq!(
        fails(&["service", "delete", "--db", &db.url, "--id", "3"]),
        "periodic service delete: no service with id 3"
    );
}

#[test]
fn unknown_service_is_exit_1() {
    let db = prepare();
    assert_eq!(
        fails(&[
            "service",
            "enable",
            "--db",
            &db.url,
            "--host",
            "node-9",
            "--binary",
            "periodic-compute"
        ]),
        "periodic service enable: no service `periodic-compute` on host `node-9`"
    );
    assert_eq!(
        fails(&[
            "service", "disable", "--db", &db.url, "--id", "42", "--reason", "x"
        ]),
        "periodic service disable: no service with id 42"
    );
    assert_eq!(
        fails(&["service", "force-down", "--db", &db.url, "--id", "42"]),
        "periodic service force-down: no service with id 42"
    );
    // Naming a service needs --id or both --host and --binary (a usage error, exit 2).
    let out = run(&["service", "enable", "--db", &db.url, "--host", "node-1"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "service", "enable", "--db", &db.url, "--id", "1", "--host", "node-1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_database_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let url = format!("sqlite://{}", missing.display());
    assert_eq!(
        fails(&["service", "list", "--db", &url]),
        format!(
            "periodic service list: database file `{}` does not exist",
            missing.display()
        )
    );
    assert_eq!(
        fails(&["service", "enable", "--db", &url, "--id", "1"]),
        format!(
            "periodic service enable: database file `{}` does not exist",
            missing.display()
        )
    );
    assert!(!missing.exists(), "the database was created");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // The default is ./periodic.db, relative to the working directory.
    let out = periodic()
        .args(["service", "list"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "periodic service list: database file `periodic.db` does not exist\n"
    );
    assert!(!dir.path().join("periodic.db").exists());
}

#[test]
fn bad_database_urls_are_one_line() {
    let err = fails(&["service", "list", "--db", "redis://localhost"]);
    assert!(
        err.starts_with("periodic service list: unsupported servicegroup URL scheme `redis`"),
        "{err}"
    );
    let err = fails(&["service", "list", "--db", "not a url"]);
    assert!(err.starts_with("periodic service list: "), "{err}");
    // An unreachable server: its cause, its password hidden (after the 5 s connect
    // timeout, during which a refused connection is retried).
    let err = fails(&[
        "service",
        "list",
        "--db",
        "postgres://periodic:secret@127.0.0.1:1/test",
    ]);
    assert!(
        err.starts_with(
            "periodic service list: cannot connect to the servicegroup store \
             `postgres://periodic:***@127.0.0.1:1/test` (connect timeout 5.0 s): "
        ) && err.contains("Connection refused")
            && !err.contains("secret"),
        "{err}"
    );
    // An empty database file is not a services table.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let err = fails(&[
        "service",
        "list",
        "--db",
        &format!("sqlite://{}", empty.display()),
    ]);
    assert!(err.contains("has no services table"), "{err}");
}

/// A server that is not the database the URL names: one line saying what answered, at
/// once when it answered something else, within the connect timeout when it stayed silent
/// (before: a 10 s wait and "connect timeout 5.0 s" with no cause).
///
/// ```text
/// garbage server  accept -> "garbage\r\n", then reads and ignores
/// PostgreSQL URL  SSLRequest -> "g..."     : not `S`/`N`  -> exit 1 at once
/// MySQL URL       greeting "garbage\r\n"  : not protocol 10 -> exit 1 at once
/// Redis (6379)    SSLRequest -> (silence)                -> exit 1 at the 5 s timeout
/// ```
#[test]
fn a_server_of_another_kind_is_named() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = stream.write_all(b"garbage\r\n");
                let mut buf = [0_u8; 256];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    for (url, what) in [
        (
            format!("postgres://u:secret@127.0.0.1:{port}/x"),
            "PostgreSQL",
        ),
        (
            format!("mysql://u:secret@127.0.0.1:{port}/x"),
            "MySQL/MariaDB",
        ),
    ] {
        let started = std::time::Instant::now();
        let err = fails(&["service", "list", "--db", &url]);
        let shown = url.replace("secret", "***");
        assert_eq!(
            err,
            format!(
                "periodic service list: cannot connect to the servicegroup store `{shown}`: \
                 127.0.0.1:{port} answered, but not as a {what} server (it sent \"garbage\\r\\n\")"
            )
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{url}: {:?}",
            started.elapsed()
        );
    }
    // The real Redis, when this machine runs one: it waits silently for a line end.
    if std::net::TcpStream::connect("127.0.0.1:6379").is_ok() {
        let started = std::time::Instant::now();
        let err = fails(&["service", "list", "--db", "postgres://u@127.0.0.1:6379/x"]);
        // (Within the 5 s connect timeout, or a second after the pool gave up early.)
        assert!(
            err.starts_with(
                "periodic service list: cannot connect to the servicegroup store \
                 `postgres://u@127.0.0.1:6379/x`: 127.0.0.1:6379 accepted the connection but \
                 did not answer as a PostgreSQL server within "
            ),
            "{err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(7),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn configuration_file_then_environment_then_flags() {
    let db = prepare();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("periodic.toml");
    std::fs::write(
        &config,
        format!(
            "[DEFAULT]\nservice_down_time = 700\n[database]\nconnection = \"{}\"\n",
            db.url
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let threshold = |cmd: &mut Command| -> String {
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
        format!("{} {}", v.len(), v[0]["service_down_time"])
    };
    let list = ["service", "list", "--format", "json"];
    // The file names the database and the threshold.
    assert_eq!(
        threshold(periodic().args(list).args(["--config", config])),
        "5 700.0"
    );
    // PERIODIC_CONFIG names the file when --config is not given.
    assert_eq!(
        threshold(periodic().args(list).env("PERIODIC_CONFIG", config)),
        "5 700.0"
    );
    // The environment overrides the file ...
    assert_eq!(
        threshold(
            periodic()
                .args(list)
                .args(["--config", config])
                .env("PERIODIC_SERVICE_DOWN_TIME", "800")
        ),
        "5 800.0"
    );
    // ... and flags override both.
    assert_eq!(
        threshold(
            periodic()
                .args(list)
                .args(["--config", config, "--service-down-time", "900"])
                .env("PERIODIC_SERVICE_DOWN_TIME", "800")
        ),
        "5 900.0"
    );
    // --db wins over the file's connection and PERIODIC_DATABASE_URL.
    let out = periodic()
        .args(list)
        .args(["--config", config, "--db", "sqlite:///nonexistent/flag.db"])
        .env("PERIODIC_DATABASE_URL", "sqlite:///nonexistent/env.db")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("/nonexistent/flag.db"),
        "{}",
        stderr(&out)
    );
    let out = periodic()
        .args(list)
        .args(["--config", config])
        .env("PERIODIC_DATABASE_URL", "sqlite:///nonexistent/env.db")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("/nonexistent/env.db"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn configuration_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("periodic.toml");
    std::fs::write(&config, "[DEFAULT]\nservice_down_tim = 60\n").unwrap();
    let err = fails(&["service", "list", "--config", config.to_str().unwrap()]);
    assert!(
        err.starts_with(&format!(
            "periodic service list: {}: unknown key `service_down_tim` in [DEFAULT] (line 2, column 1); expected one of",
            config.display()
        )),
        "{err}"
    );
    std::fs::write(&config, "[DEFAULT]\nservicegroup_driver = 1\n").unwrap();
    let err = fails(&["service", "list", "--config", config.to_str().unwrap()]);
    assert_eq!(
        err,
        format!(
            "periodic service list: {}: wrong value for `servicegroup_driver` in [DEFAULT] (line 2, column 23): invalid type: integer `1`, expected a string",
            config.display()
        )
    );
    let err = fails(&[
        "service",
        "list",
        "--config",
        dir.path().join("nope.toml").to_str().unwrap(),
    ]);
    assert!(
        err.starts_with("periodic service list: cannot read config file `"),
        "{err}"
    );
    let out = periodic()
        .args(["service", "list"])
        .env("PERIODIC_SERVICE_DOWN_TIME", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "periodic service list: environment variable PERIODIC_SERVICE_DOWN_TIME=`soon`: expected a number of seconds, 0 or more\n"
    );
}

/// An operator who may only read the database file and its directory lists the services
/// (before: "attempt to write a readonly database"); a write says that it cannot write.
/// Run as `nobody` when the tests run as root, whom file modes do not stop.
#[cfg(unix)]
#[test]
fn a_read_only_database_can_be_listed() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    use std::os::unix::process::CommandExt as _;
    let db = prepare();
    let dir = db.path.parent().unwrap().to_owned();
    // The test's own directory: owned by root when the test runs as root.
    let root = std::fs::metadata(&dir).unwrap().uid() == 0;
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(&db.path, 0o444);
    mode(&dir, 0o555);
    let as_reader = |args: &[&str]| {
        let mut cmd = periodic();
        cmd.args(args);
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd.output().unwrap()
    };
    let out = as_reader(&["service", "list", "--db", &db.url]);
    let listed = (stdout(&out), stderr(&out));
    let out_json = as_reader(&["service", "list", "--db", &db.url, "--format", "json"]);
    let disable = as_reader(&["service", "disable", "--db", &db.url, "--id", "1"]);
    mode(&dir, 0o755);
    mode(&db.path, 0o644);
    assert!(out.status.success(), "{listed:?}");
    assert_eq!(listed, (TABLE.to_owned(), String::new()));
    assert!(out_json.status.success(), "{out_json:?}");
    assert_eq!(disable.status.code(), Some(1), "{disable:?}");
    let err = stderr(&disable);
    assert!(err.contains("readonly database"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing written next to it"
    );
}

#[test]
fn listing_writes_nothing() {
    let db = prepare();
    ok(&["service", "list", "--db", &db.url, "--long"]);
    ok(&["service", "list", "--db", &db.url, "--format", "json"]);
    // The same rows with the same updated_at: no heartbeat, no admin change was written.
    assert_eq!(ok(&["service", "list", "--db", &db.url]), TABLE);
    assert!(db.path.exists());
}
