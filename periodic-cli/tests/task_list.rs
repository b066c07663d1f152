//! `periodic task list`: the task ledger read from the store (a scratch SQLite file
//! prepared through the library), as a table and as JSON, filtered by service or fleet.

use std::process::{Command, Output};
use std::time::Duration;

use periodic::{
    ClaimRequest, Claimed, NewService, RunOutcome, RunReport, ServiceGroup, ServiceGroupConfig,
    TaskScope,
};

fn periodic() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_periodic"));
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

fn ok(args: &[&str]) -> String {
    let out = run(args);
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(
        out.status.success() && err.is_empty(),
        "periodic {args:?}: {err}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A store with one service (id returned) that ran `audit` twice (one failure) and holds
/// the claim of fleet task `clean_up` in fleet `nova-scheduler`.
fn prepare(url: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let group = ServiceGroup::open(url, ServiceGroupConfig::default())
            .await
            .unwrap();
        let service = group
            .get_or_create(&NewService::new("n1", "nova-scheduler", "scheduler"))
            .await
            .unwrap();
        let ledger = group.ledger().unwrap();
        let scope = TaskScope::service("n1", "nova-scheduler");
        for outcome in [RunOutcome::Succeeded, RunOutcome::Failed] {
            let report = RunReport::new(
                outcome,
                Duration::from_millis(1500),
                Duration::ZERO,
                Duration::ZERO,
            );
            ledger.record(&scope, "audit", &report).await.unwrap();
        }
        let fleet = TaskScope::fleet("nova-scheduler").unwrap();
        let claimed = ledger
            .claim(&ClaimRequest {
                scope: &fleet,
                tasks: vec!["clean_up"],
                spacing: Duration::from_secs(600),
                lease: Duration::from_secs(3600),
                holder: "n1:42:1",
            })
            .await
            .unwrap();
        assert!(matches!(claimed[0], Claimed::Won(_)));
        group.close().await;
        service.id
    })
}

#[test]
fn lists_the_ledger_as_a_table_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let id = prepare(&url);

    let table = ok(&["task", "list", "--db", &url]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(lines[1].starts_with("| Scope "), "{table}");
    let fleet_row = lines.iter().find(|l| l.contains("clean_up")).unwrap();
    assert!(fleet_row.contains("| fleet/nova-scheduler"), "{fleet_row}");
    assert!(
        fleet_row.contains("n1:42:1") && fleet_row.contains("| yes "),
        "{fleet_row}"
    );
    let plain_row = lines.iter().find(|l| l.contains("audit")).unwrap();
    assert!(
        plain_row.contains("service/n1/nova-scheduler"),
        "{plain_row}"
    );
    assert!(
        plain_row.contains("| failed ") && plain_row.contains("1.5s"),
        "{plain_row}"
    );

    let json = ok(&[
        "task",
        "list",
        "--db",
        &url,
        "--fleet",
        "nova-scheduler",
        "--format",
        "json",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{json}");
    let row = &rows[0];
    assert_eq!(row["task"], "clean_up");
    assert_eq!(row["token"], 1);
    assert_eq!(row["holder"], "n1:42:1");
    assert_eq!(row["running"], true);
    assert!(row["lease_until"].as_str().unwrap().ends_with('Z'), "{row}");

    let json = ok(&[
        "task",
        "list",
        "--db",
        &url,
        "--service",
        &id.to_string(),
        "--format",
        "json",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = &rows.as_array().unwrap()[0];
    assert_eq!(
        (row["task"].as_str(), row["runs"].as_u64()),
        (Some("audit"), Some(2))
    );
    assert_eq!(
        (row["failures"].as_u64(), row["duration"].as_f64()),
        (Some(1), Some(1.5))
    );
    assert_eq!(row["running"], false);
    assert!(row["finished"].as_str().unwrap().ends_with('Z'));

    let out = run(&["task", "list", "--db", &url, "--fleet", ""]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("periodic task list: a fleet name cannot be empty"),
        "{err}"
    );
}

/// `periodic task run|pause|resume`: one line on success, visible in `task list`.
#[test]
fn controls_a_task_and_list_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let id = prepare(&url);
    let id = id.to_string();

    let out = ok(&[
        "task",
        "pause",
        "clean_up",
        "--fleet",
        "nova-scheduler",
        "--reason",
        "maintenance",
        "--db",
        &url,
    ]);
    assert_eq!(
        out,
        "paused fleet/nova-scheduler clean_up (reason: maintenance)\n"
    );
    let out = ok(&["task", "run", "audit", "--service", &id, "--db", &url]);
    assert_eq!(out, "run requested service/n1/nova-scheduler audit\n");

    let table = ok(&["task", "list", "--db", &url]);
    assert!(
        table.lines().nth(1).unwrap().contains("| Paused "),
        "{table}"
    );
    let fleet_row = table.lines().find(|l| l.contains("clean_up")).unwrap();
    assert!(fleet_row.contains("| yes (maintenance) "), "{fleet_row}");
    let json = ok(&["task", "list", "--db", &url, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let find = |task: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == task)
            .unwrap()
            .clone()
    };
    let clean_up = find("clean_up");
    assert_eq!(clean_up["paused"], true);
    assert_eq!(clean_up["paused_reason"], "maintenance");
    assert!(clean_up["next_due"].is_null());
    let audit = find("audit");
    assert_eq!(audit["paused"], false);
    assert!(
        audit["run_requested"].as_str().unwrap().ends_with('Z'),
        "{audit}"
    );

    let out = ok(&[
        "task",
        "resume",
        "clean_up",
        "--fleet",
        "nova-scheduler",
        "--db",
        &url,
    ]);
    assert_eq!(out, "resumed fleet/nova-scheduler clean_up\n");
    let json = ok(&[
        "task",
        "list",
        "--db",
        &url,
        "--fleet",
        "nova-scheduler",
        "--format",
        "json",
    ]);
    assert!(json.contains("\"paused\": false"), "{json}");
}

/// A control that fails: one error line and exit 1.
#[test]
fn a_failed_control_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let id = prepare(&url).to_string();
    for (args, expected) in [
        (
            vec!["task", "run", "nope", "--fleet", "nova-scheduler"],
            "periodic task run: Task nope could not be found in fleet/nova-scheduler.",
        ),
        (
            vec!["task", "pause", "audit", "--service", "9999"],
            "periodic task pause: ",
        ),
        (
            vec!["task", "resume", "x", "--fleet", ""],
            "periodic task resume: ",
        ),
    ] {
        let mut args = args;
        args.extend(["--db", &url]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with(expected) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    let long = "x".repeat(256);
    let out = run(&[
        "task",
        "pause",
        "audit",
        "--service",
        &id,
        "--reason",
        &long,
        "--db",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("256 characters"), "{err}");
    // Neither --service nor --fleet: clap's usage error.
    let out = run(&["task", "run", "audit", "--db", &url]);
    assert!(!out.status.success());
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let out = run(&["task", "run", "audit", "--fleet", "f", "--db", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
}
