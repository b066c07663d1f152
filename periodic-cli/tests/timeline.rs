//! `periodic simulate --timeline FILE.svg` and `--format table`: the picture is
//! well-formed SVG with one row per task and one mark per run of the JSON-lines trace;
//! the table's numbers match a trace worked out by hand; neither changes the JSON lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn periodic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_periodic"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn simulate(args: &[&str]) -> Output {
    let out = periodic().arg("simulate").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs per task in a JSON-lines trace, and the number of sleeps that last, but the
/// loop's final one: it starts where the picture ends (the horizon, or the end of the
/// last run), so there is nothing of it to draw.
fn count(jsonl: &[u8]) -> (HashMap<String, usize>, usize) {
    let mut runs = HashMap::new();
    let mut idles = 0;
    let text = String::from_utf8(jsonl.to_vec()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.pop().unwrap().contains("\"idle\""),
        "the trace ends with a sleep"
    );
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(task) = v["task"].as_str() {
            *runs.entry(task.to_owned()).or_insert(0) += 1;
        } else {
            // A pass that returns no idle time draws no gap.
            if v["idle"].as_f64().unwrap() > 0.0 {
                idles += 1;
            }
        }
    }
    (runs, idles)
}

fn has_class(node: &roxmltree::Node<'_, '_>, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

#[test]
fn one_row_per_task_and_one_mark_per_run() {
    let dir = tempfile::tempdir().unwrap();
    for policy in ["precise", "oslo"] {
        let scenario = data("mixed.json");
        let scenario = scenario.to_str().unwrap();
        let svg_path = dir.path().join(format!("{policy}.svg"));
        let plain = simulate(&[scenario, "--idle-policy", policy]);
        let drawn = simulate(&[
            scenario,
            "--idle-policy",
            policy,
            "--timeline",
            svg_path.to_str().unwrap(),
        ]);
        assert_eq!(
            plain.stdout, drawn.stdout,
            "--timeline changed the JSON lines"
        );
        let (runs, idles) = count(&plain.stdout);

        let text = std::fs::read_to_string(&svg_path).unwrap();
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(!text.contains("<script"), "plain SVG, no script");

        let rows: Vec<roxmltree::Node<'_, '_>> = doc
            .descendants()
            .filter(|n| n.has_tag_name("g") && has_class(n, "row"))
            .collect();
        let names: Vec<&str> = rows
            .iter()
            .map(|r| r.attribute("data-task").unwrap())
            .collect();
        assert_eq!(
            names,
            ["a", "b", "c", "d"],
            "one row per task, in scenario order"
        );
        for row in &rows {
            let name = row.attribute("data-task").unwrap();
            let marks: Vec<roxmltree::Node<'_, '_>> = row
                .children()
                .filter(|n| n.has_tag_name("rect") && has_class(n, "run"))
                .collect();
            assert_eq!(marks.len(), runs[name], "{policy}: marks of {name}");
            // The row's label is its name.
            assert!(
                row.children()
                    .any(|n| n.has_tag_name("text") && n.text() == Some(name))
            );
            // c fails every time (the scenario says so); the others never.
            let failed = marks.iter().filter(|m| has_class(m, "failed")).count();
            assert_eq!(failed, if name == "c" { runs[name] } else { 0 }, "{name}");
            // Every mark is at least visible, and as wide as its run lasts: b takes 1.25 s,
            // d 3 s, so d's marks are 2.4 times as wide.
            for m in &marks {
                let width: f64 = m.attribute("width").unwrap().parse().unwrap();
                assert!(width >= 1.5, "{name}: {width}");
                assert!(m.children().any(|n| n.has_tag_name("title")));
            }
        }
        let width_of = |task: &str| -> f64 {
            rows.iter()
                .find(|r| r.attribute("data-task") == Some(task))
                .unwrap()
                .children()
                .find(|n| has_class(n, "run"))
                .unwrap()
                .attribute("width")
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!((width_of("d") / width_of("b") - 2.4).abs() < 0.01);

        // The idle gaps: one per sleep of the loop.
        let gaps = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && has_class(n, "idle-gap"))
            .count();
        assert_eq!(gaps, idles, "{policy}: idle gaps");
        // An axis with tick labels, and a legend.
        let axis_labels: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("g") && has_class(n, "axis"))
            .flat_map(|g| g.children().filter(|n| n.has_tag_name("text")))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(axis_labels, ["0", "100", "200", "300", "400", "time (s)"]);
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name("g") && has_class(&n, "legend"))
        );
    }
}

/// ```text
/// a: spacing 10, run_immediately, takes 3 s; b: spacing 5, instant; horizon 21 s
///
/// precise   0    3  5        10   13 15        20   23
///           a========         a=====           a=====
///                   b         due  b  b        due  b
///                   |late 0   10 → 13 (3) 15 (0)    20 → 23 (3)
///
/// a: 3 runs, never late, 3 s each. b: 4 runs, late 0, 3, 0, 3 → mean 1.5, max 3.
///
/// oslo: after the late run at 13 oslo sleeps a whole spacing (5 s), so b runs at 18
/// (due 15) and 23 (due 20): late 0, 3, 3, 3 → mean 2.25, max 3.
/// ```
#[test]
fn the_table_matches_a_trace_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hand.json");
    std::fs::write(
        &path,
        r#"{"tasks": [{"name": "a", "spacing": 10, "run_immediately": true, "duration": 3},
                      {"name": "b", "spacing": 5},
                      {"name": "off", "spacing": -1}],
            "horizon": 21}"#,
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let table = |policy: &str| {
        String::from_utf8(simulate(&[path, "--format", "table", "--idle-policy", policy]).stdout)
            .unwrap()
    };
    assert_eq!(
        table("precise"),
        "\
+------+------+----------+-------------------+------------------+-------------------+
| Task | Runs | Failures | Mean Lateness (s) | Max Lateness (s) | Mean Duration (s) |
+------+------+----------+-------------------+------------------+-------------------+
| a    |    3 |        0 |             0.000 |            0.000 |             3.000 |
| b    |    4 |        0 |             1.500 |            3.000 |             0.000 |
| off  |    0 |        0 |                 - |                - |                 - |
+------+------+----------+-------------------+------------------+-------------------+
"
    );
    assert_eq!(
        table("oslo"),
        "\
+------+------+----------+-------------------+------------------+-------------------+
| Task | Runs | Failures | Mean Lateness (s) | Max Lateness (s) | Mean Duration (s) |
+------+------+----------+-------------------+------------------+-------------------+
| a    |    3 |        0 |             0.000 |            0.000 |             3.000 |
| b    |    4 |        0 |             2.250 |            3.000 |             0.000 |
| off  |    0 |        0 |                 - |                - |                 - |
+------+------+----------+-------------------+------------------+-------------------+
"
    );
    // The runs behind the table, as JSON lines.
    let starts: Vec<(String, f64)> = String::from_utf8(simulate(&[path]).stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Some((v["task"].as_str()?.to_owned(), v["t"].as_f64()?))
        })
        .collect();
    let s = |t: &str, x: f64| (t.to_owned(), x);
    assert_eq!(
        starts,
        [
            s("a", 0.0),
            s("b", 5.0),
            s("a", 10.0),
            s("b", 13.0),
            s("b", 15.0),
            s("a", 20.0),
            s("b", 23.0)
        ]
    );
}

#[test]
fn the_table_counts_failures() {
    let out = simulate(&[data("mixed.json").to_str().unwrap(), "--format", "table"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let c = text.lines().find(|l| l.starts_with("| c ")).unwrap();
    let cells: Vec<&str> = c.split('|').map(str::trim).collect();
    assert_eq!((cells[2], cells[3]), ("7", "7"), "{c}");
    assert!(!text.contains("{\""), "no JSON lines with --format table");
}

#[test]
fn the_json_lines_stay_the_default() {
    let plain = simulate(&[data("example.json").to_str().unwrap()]);
    let explicit = simulate(&[data("example.json").to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(plain.stdout, explicit.stdout);
    assert!(
        String::from_utf8(plain.stdout)
            .unwrap()
            .starts_with("{\"t\": ")
    );
}

#[test]
fn an_unwritable_timeline_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-dir").join("t.svg");
    let out = periodic()
        .args([
            "simulate",
            data("example.json").to_str().unwrap(),
            "--format",
            "table",
            "--timeline",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "periodic simulate: cannot write the timeline `{}`: ",
            target.display()
        )),
        "{err}"
    );
}

#[test]
fn names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("odd.json");
    std::fs::write(
        &scenario,
        r#"{"tasks": [{"name": "a<b>&\"c'", "spacing": 1, "run_immediately": true}], "horizon": 3}"#,
    )
    .unwrap();
    let svg = dir.path().join("odd.svg");
    simulate(&[
        scenario.to_str().unwrap(),
        "--timeline",
        svg.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let row = doc.descendants().find(|n| has_class(n, "row")).unwrap();
    assert_eq!(row.attribute("data-task"), Some("a<b>&\"c'"));
    assert_eq!(
        row.children().filter(|n| has_class(n, "run")).count(),
        4,
        "runs at 0, 1, 2, 3"
    );
}

/// `docs/timeline.svg` (the README's picture) is what the command draws today:
/// `periodic simulate periodic-cli/tests/data/mixed.json --timeline docs/timeline.svg`.
#[test]
fn the_documented_picture_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("timeline.svg");
    // Run from the repository root so the title names the file as the docs do.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = periodic()
        .current_dir(root)
        .args([
            "simulate",
            "periodic-cli/tests/data/mixed.json",
            "--timeline",
            fresh.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&fresh).unwrap(),
        std::fs::read_to_string(root.join("docs/timeline.svg")).unwrap(),
        "docs/timeline.svg is stale: regenerate it with `cargo run -p periodic-cli -- simulate \
         periodic-cli/tests/data/mixed.json --timeline docs/timeline.svg > /dev/null` (and \
         docs/timeline.png with `rsvg-convert -w 1400 docs/timeline.svg -o docs/timeline.png`)"
    );
}
