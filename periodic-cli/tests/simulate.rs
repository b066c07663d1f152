//! `periodic simulate` end to end: traces equal to oslo.service's, errors, exit codes.
//!
//! `tests/data/NAME.json` are scenarios; `NAME.POLICY.expected.jsonl` is what oslo.service's
//! own `run_periodic_tasks` produced for them, recorded with `shared/tools/oslo_trace.py`
//! (oslo.service 4.x, jitter off). When `PERIODIC_OSLO_PYTHON` names a Python that can
//! import oslo.service, `live_random_scenarios_match_oslo` also compares fresh random
//! scenarios against the real package (`.ci/run` sets it up).

use std::path::{Path, PathBuf};
use std::process::Command;

fn periodic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_periodic"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn parse(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Equal event by event; numbers compared as numbers (oslo prints `5` where we print `5.0`).
fn assert_same_trace(ours: &[serde_json::Value], oslo: &[serde_json::Value], what: &str) {
    for (i, (a, b)) in ours.iter().zip(oslo).enumerate() {
        let a_obj = a.as_object().unwrap();
        let b_obj = b.as_object().unwrap();
        let same = a_obj.len() == b_obj.len()
            && a_obj.iter().all(|(k, v)| match (v, b_obj.get(k)) {
                (serde_json::Value::Number(x), Some(serde_json::Value::Number(y))) => {
                    (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9
                }
                (x, Some(y)) => x == y,
                (_, None) => false,
            });
        assert!(same, "{what}: line {} differs: ours {a}, oslo {b}", i + 1);
    }
    assert_eq!(ours.len(), oslo.len(), "{what}: trace lengths differ");
}

fn simulate(scenario: &Path, policy: &str) -> Vec<serde_json::Value> {
    let out = periodic()
        .args([
            "simulate",
            scenario.to_str().unwrap(),
            "--idle-policy",
            policy,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn recorded_oslo_traces_are_reproduced_exactly() {
    let mut checked = 0;
    for entry in std::fs::read_dir(data("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        for policy in ["oslo", "precise"] {
            let expected =
                std::fs::read_to_string(data(&format!("{stem}.{policy}.expected.jsonl"))).unwrap();
            let ours = simulate(&path, policy);
            assert_same_trace(
                &ours,
                &parse(&expected),
                &format!("{stem} --idle-policy {policy}"),
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 14, "every scenario, both policies");
}

#[test]
fn output_format_matches_the_issue() {
    let out = periodic()
        .args([
            "simulate",
            data("example.json").to_str().unwrap(),
            "--idle-policy",
            "oslo",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(r#"{"t": 0.0, "task": "a"}"#));
    assert_eq!(lines.next(), Some(r#"{"t": 0.5, "idle": 7.0}"#));
    assert_eq!(lines.next(), Some(r#"{"t": 7.5, "task": "a"}"#));
}

#[test]
fn default_policy_is_precise() {
    let out = periodic()
        .args(["simulate", data("overdue_grid.json").to_str().unwrap()])
        .output()
        .unwrap();
    let ours = parse(&String::from_utf8(out.stdout).unwrap());
    let expected = std::fs::read_to_string(data("overdue_grid.precise.expected.jsonl")).unwrap();
    assert_same_trace(&ours, &parse(&expected), "default policy");
}

#[test]
fn jitter_is_seeded_and_reproducible() {
    let dir = tempdir();
    let path = dir.join("jitter.json");
    std::fs::write(
        &path,
        r#"{"tasks": [{"name": "a", "spacing": 200}, {"name": "b", "spacing": 120, "run_immediately": true}], "horizon": 5000, "jitter": true}"#,
    )
    .unwrap();
    let run = |seed: &str| {
        let out = periodic()
            .args(["simulate", path.to_str().unwrap(), "--seed", seed])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("3"), run("3"));
    assert_ne!(run("3"), run("4"));
    // Without jitter, a runs exactly on 200 s multiples; with it, some runs are pushed later.
    let starts: Vec<f64> = parse(&run("3"))
        .iter()
        .filter(|e| e["task"] == "a")
        .map(|e| e["t"].as_f64().unwrap())
        .collect();
    assert!(starts.iter().any(|t| t % 200.0 != 0.0), "{starts:?}");
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("periodic-simulate-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A bad scenario: exit code 2 and one line naming the field.
fn bad(scenario: &str) -> String {
    let dir = tempdir();
    let path = dir.join(format!("bad-{}.json", scenario.len()));
    std::fs::write(&path, scenario).unwrap();
    let out = periodic()
        .args(["simulate", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "exit code for {scenario}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn bad_scenarios_name_the_field() {
    assert!(
        bad(r#"{"tasks": [{"name": "a", "spacing": "7"}], "horizon": 10}"#).contains(
            "invalid scenario field `tasks[0].spacing`: invalid type: string \"7\", expected f64"
        )
    );
    assert!(
        bad(r#"{"tasks": [{"name": "a", "duraton": 1}], "horizon": 10}"#)
            .contains("`tasks[0].duraton`: unknown field `duraton`")
    );
    assert!(bad(r#"{"tasks": [{"spacing": 1}], "horizon": 10}"#).contains("missing field `name`"));
    assert!(bad(r#"{"tasks": [], "horizon": -1}"#).contains("`horizon`"));
    assert!(
        bad(r#"{"tasks": [{"name": "a", "duration": -2}], "horizon": 1}"#)
            .contains("`tasks[0].duration`")
    );
    assert!(bad("not json").contains("invalid scenario"));
    let missing = periodic()
        .args(["simulate", "/nonexistent/scenario.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read scenario /nonexistent/scenario.json")
    );
}

#[test]
fn huge_numbers_are_range_errors_not_panics() {
    for (scenario, field) in [
        (
            r#"{"tasks": [{"name": "a"}], "horizon": 1e19}"#,
            "`horizon`",
        ),
        (
            r#"{"tasks": [{"name": "a"}], "horizon": 10, "initial_delay": 1e300}"#,
            "`initial_delay`",
        ),
        (
            r#"{"tasks": [{"name": "a"}], "horizon": 10, "periodic_interval_max": 1e300}"#,
            "`periodic_interval_max`",
        ),
        (
            r#"{"tasks": [{"name": "a", "duration": 1e300}], "horizon": 10}"#,
            "`tasks[0].duration`",
        ),
        (
            r#"{"tasks": [{"name": "a", "spacing": 1e300}], "horizon": 10}"#,
            "`tasks[0].spacing`",
        ),
    ] {
        let err = bad(scenario);
        assert!(err.contains(field), "{scenario}: {err}");
        assert!(!err.contains("0000000000000000000000"), "{err}");
    }
}

/// A horizon of 31 years with a 7 s spacing is 280 million events: `--max-events` stops it
/// with a message and exit status 2, after printing exactly that many.
#[test]
fn max_events_stops_a_long_simulation() {
    let dir = tempdir();
    let path = dir.join("long.json");
    std::fs::write(
        &path,
        r#"{"tasks": [{"name": "a", "spacing": 7}], "horizon": 1e9}"#,
    )
    .unwrap();
    let out = periodic()
        .args(["simulate", path.to_str().unwrap(), "--max-events", "1000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(parse(&String::from_utf8(out.stdout).unwrap()).len(), 1000);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("periodic simulate: stopped after 1000 events (--max-events)"),
        "{err}"
    );
    let table = periodic()
        .args(["simulate", path.to_str().unwrap(), "--format", "table"])
        .args(["--max-events", "10"])
        .output()
        .unwrap();
    assert_eq!(table.status.code(), Some(2));
    assert!(table.stdout.is_empty());
    let zero = periodic()
        .args(["simulate", path.to_str().unwrap(), "--max-events", "0"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2), "clap's usage error");
}

#[test]
fn live_random_scenarios_match_oslo() {
    let Ok(python) = std::env::var("PERIODIC_OSLO_PYTHON") else {
        eprintln!(
            "skipped: PERIODIC_OSLO_PYTHON is not set (a Python with oslo.service installed); \
             the recorded traces above are still checked"
        );
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let trace = root.join("../shared/tools/oslo_trace.py");
    let trace = if trace.exists() {
        trace
    } else {
        root.join("tools/oslo_trace.py")
    };
    let cases = std::env::var("PERIODIC_OSLO_CASES").unwrap_or_else(|_| "40".to_owned());
    let out = Command::new(&python)
        .arg(root.join("tools/compare_oslo.py"))
        .arg(env!("CARGO_BIN_EXE_periodic"))
        .arg(&trace)
        .args(["--cases", &cases, "--seed", "20261123"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
}

/// The runs of each task of `scenario` with `--concurrency concurrency`: (task, start).
fn runs_with(scenario: &Path, concurrency: &str) -> Vec<(String, f64)> {
    let out = periodic()
        .args([
            "simulate",
            scenario.to_str().unwrap(),
            "--concurrency",
            concurrency,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8(out.stdout).unwrap())
        .iter()
        .filter_map(|e| Some((e["task"].as_str()?.to_owned(), e["t"].as_f64()?)))
        .collect()
}

// The issue's scenario: ten tasks every 1 s beside one of 2.5 s every 1 s, 15 s.
//
// sequential  slow 0, 2.5, 5 ...; each fast task after it: 2.5, 5, ... (7 of 16)
// concurrent  every pass waits for slow: all at 0, 2.5, 5, ... (7 of 16)
// lanes       fast tasks at 0, 1, ... 15 (16 of 16); slow at 0, 2.5, 5, ... 15
#[test]
fn concurrency_lanes_keeps_the_fast_tasks_on_time() {
    let mut tasks = vec![serde_json::json!(
        {"name": "slow", "spacing": 1, "duration": 2.5, "run_immediately": true}
    )];
    for i in 0..10 {
        tasks.push(
            serde_json::json!({"name": format!("f{i}"), "spacing": 1, "run_immediately": true}),
        );
    }
    let path = tempdir().join("slow_beside_fast.json");
    std::fs::write(
        &path,
        serde_json::json!({"tasks": tasks, "horizon": 15}).to_string(),
    )
    .unwrap();
    let fast = |runs: &[(String, f64)]| runs.iter().filter(|(n, _)| n != "slow").count();
    let slow = |runs: &[(String, f64)]| {
        let mut starts: Vec<f64> = runs
            .iter()
            .filter(|(n, _)| n == "slow")
            .map(|(_, t)| *t)
            .collect();
        starts.sort_by(f64::total_cmp);
        starts
    };

    let lanes = runs_with(&path, "lanes");
    assert_eq!(fast(&lanes), 160, "{lanes:?}");
    for i in 0..10 {
        let mut starts: Vec<f64> = lanes
            .iter()
            .filter(|(n, _)| *n == format!("f{i}"))
            .map(|(_, t)| *t)
            .collect();
        starts.sort_by(f64::total_cmp);
        assert_eq!(starts, (0..=15).map(f64::from).collect::<Vec<_>>());
    }
    assert_eq!(slow(&lanes), [0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0]);

    let sequential = runs_with(&path, "sequential");
    assert_eq!(fast(&sequential), 70);
    assert_eq!(slow(&sequential)[..3], [0.0, 2.5, 5.0]);
    let concurrent = runs_with(&path, "concurrent");
    assert_eq!(fast(&concurrent), 70);
    assert_eq!(slow(&concurrent)[..3], [0.0, 2.5, 5.0]);
}

// `--concurrency sequential` is the default: the same trace, byte for byte.
#[test]
fn concurrency_sequential_is_the_default() {
    for policy in ["oslo", "precise"] {
        let run = |extra: &[&str]| {
            let mut args = vec![
                "simulate".to_owned(),
                data("mixed.json").to_str().unwrap().to_owned(),
                "--idle-policy".to_owned(),
                policy.to_owned(),
            ];
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            periodic().args(&args).output().unwrap()
        };
        let default = run(&[]);
        let sequential = run(&["--concurrency", "sequential"]);
        assert!(default.status.success() && sequential.status.success());
        assert!(!default.stdout.is_empty());
        assert_eq!(default.stdout, sequential.stdout, "{policy}");
    }
}

// A scenario's tasks take `timeout` and `overrun`: a run of 3.5 s every 1 s, timed out at
// 2 s, then (overrun skip) next at the grid point after it was cancelled.
//
// t (s)   0     2  3     5  6 ...
//         |════x   |════x   |     runs at 0, 3, 6, 9; each fails (timed out)
#[test]
fn scenarios_take_timeout_and_overrun() {
    let path = tempdir().join("timeout_overrun.json");
    std::fs::write(
        &path,
        r#"{"tasks": [{"name": "slow", "spacing": 1, "duration": 3.5, "run_immediately": true,
                       "timeout": 2, "overrun": "skip"}], "horizon": 10}"#,
    )
    .unwrap();
    let runs = runs_with(&path, "sequential");
    let starts: Vec<f64> = runs.iter().map(|(_, t)| *t).collect();
    assert_eq!(starts, [0.0, 3.0, 6.0, 9.0]);
    let out = periodic()
        .args(["simulate", path.to_str().unwrap(), "--format", "table"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let row = table.lines().find(|l| l.contains("slow")).unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!((cells[2], cells[3]), ("4", "4"), "{table}");
}
