//! `periodic bench fleet`: replicas as processes on a scratch SQLite file, one JSON object
//! whose counts say that every slot ran once.

use std::process::Command;

#[test]
fn two_replicas_run_every_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_periodic"))
        .args([
            "bench",
            "fleet",
            "--db",
            &url,
            "--replicas",
            "2",
            "--tasks",
            "5",
        ])
        .args(["--spacing", "1", "--duration", "5"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["replicas"], 2, "{report}");
    assert_eq!(report["double_runs"], 0, "{report}");
    assert_eq!(report["missed_slots"], 0, "{report}");
    assert!(report["slots"].as_u64().unwrap() >= 10, "{report}");
    assert!(report["claim_p99_ms"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["handoff_max_s"].is_null(), "{report}");
}
