//! `periodic simulate` with cron tasks: `"cron"` and `"tz"` instead of `"spacing"`, on
//! the scenario's wall clock from `"start"`; the checked trace, the table and the
//! timeline, and the errors (exit 2, one line naming the field).

use std::path::PathBuf;
use std::process::Command;

fn periodic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_periodic"))
}

fn scenario(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("periodic-simulate-cron-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(path: &PathBuf, extra: &[&str]) -> String {
    let out = periodic()
        .arg("simulate")
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A cron task beside a spacing task; the wall clock starts at 00:00:02, so `*/5` falls at
/// t = 3, 8 (wall :05, :10) and 13 (past the horizon).
///
/// ```text
/// t (s)    0     3     6  8  9    12
/// fives          R        R
/// every3   R     R     R     R     R
/// ```
#[test]
fn a_cron_task_follows_the_scenarios_wall_clock() {
    let path = scenario(
        "fives.json",
        r#"{"start": "2026-01-01T00:00:02Z", "horizon": 12,
            "tasks": [{"name": "fives", "cron": "*/5 * * * * *"},
                      {"name": "every3", "spacing": 3, "run_immediately": true}]}"#,
    );
    let trace = run(&path, &[]);
    assert_eq!(
        trace,
        r#"{"t": 0.0, "task": "every3"}
{"t": 0.0, "idle": 3.0}
{"t": 3.0, "task": "fives"}
{"t": 3.0, "task": "every3"}
{"t": 3.0, "idle": 3.0}
{"t": 6.0, "task": "every3"}
{"t": 6.0, "idle": 2.0}
{"t": 8.0, "task": "fives"}
{"t": 8.0, "idle": 1.0}
{"t": 9.0, "task": "every3"}
{"t": 9.0, "idle": 3.0}
{"t": 12.0, "task": "every3"}
{"t": 12.0, "idle": 1.0}
"#
    );
    // The same runs under lanes, and in the table (runs per task).
    let lanes = run(&path, &["--concurrency", "lanes"]);
    let starts: Vec<&str> = lanes.lines().filter(|l| l.contains("fives")).collect();
    assert_eq!(
        starts,
        [
            r#"{"t": 3.0, "task": "fives"}"#,
            r#"{"t": 8.0, "task": "fives"}"#
        ]
    );
    let table = run(&path, &["--format", "table"]);
    let row = table.lines().find(|l| l.contains("fives")).unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "2", "{table}");
}

/// 03:00 in Paris from 2026-03-28T00:00Z: 02:00Z (CET), then 01:00Z the morning clocks go
/// forward (CEST): t = 7200 and 7200 + 23 h.
#[test]
fn a_time_zone_and_a_daylight_saving_change() {
    let path = scenario(
        "paris.json",
        r#"{"start": "2026-03-28T00:00:00Z", "horizon": 172800,
            "tasks": [{"name": "nightly", "cron": "0 0 3 * * *", "tz": "Europe/Paris"}]}"#,
    );
    let trace = run(&path, &[]);
    let starts: Vec<&str> = trace.lines().filter(|l| l.contains("task")).collect();
    assert_eq!(
        starts,
        [
            r#"{"t": 7200.0, "task": "nightly"}"#,
            r#"{"t": 90000.0, "task": "nightly"}"#
        ]
    );
    // The timeline draws it too.
    let svg = scenario("paris.svg", "");
    run(&path, &["--timeline", svg.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(&svg).unwrap().contains("nightly"),
        "the timeline names the task"
    );
}

/// A bad scenario: exit code 2 and one line naming the field.
fn bad(name: &str, text: &str) -> String {
    let path = scenario(name, text);
    let out = periodic().arg("simulate").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "exit code for {text}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn cron_mistakes_name_the_field() {
    let err = bad(
        "both.json",
        r#"{"horizon": 1, "tasks": [{"name": "a", "spacing": 5, "cron": "@hourly"}]}"#,
    );
    assert!(
        err.contains("invalid scenario field `tasks[0].cron`: cannot be given with `spacing`"),
        "{err}"
    );
    let err = bad(
        "invalid.json",
        r#"{"horizon": 1, "tasks": [{"name": "a", "cron": "0 */10 * *"}]}"#,
    );
    assert!(
        err.contains(
            "invalid scenario field `tasks[0].cron`: invalid cron expression \"0 */10 * *\": "
        ),
        "{err}"
    );
    let err = bad(
        "zone.json",
        r#"{"horizon": 1, "tasks": [{"name": "a", "cron": "@daily", "tz": "Mars/Olympus"}]}"#,
    );
    assert!(
        err.contains("invalid scenario field `tasks[0].tz`: unknown time zone \"Mars/Olympus\""),
        "{err}"
    );
    let err = bad(
        "tz_alone.json",
        r#"{"horizon": 1, "tasks": [{"name": "a", "spacing": 1, "tz": "UTC"}]}"#,
    );
    assert!(
        err.contains(
            "invalid scenario field `tasks[0].tz`: is the time zone of a `cron` expression"
        ),
        "{err}"
    );
    let err = bad(
        "start.json",
        r#"{"horizon": 1, "tasks": [], "start": "yesterday"}"#,
    );
    assert!(err.contains("invalid scenario field `start`: "), "{err}");
    assert!(err.contains("2026-01-01T00:00:00Z"), "{err}");
}
