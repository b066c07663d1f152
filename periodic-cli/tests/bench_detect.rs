//! `periodic bench detect` end to end on an SQLite file: a replica process is killed
//! with SIGKILL and shows down after about `service_down_time`, the services of the
//! parent never do, and the report is one JSON object with the keys the issue names.

use std::process::Command;

use serde_json::Value;

#[test]
fn a_killed_replica_is_detected_after_service_down_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("detect.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_periodic"))
        .env_remove("PERIODIC_CONFIG")
        .args(["bench", "detect", "--db", &url, "--driver", "db"])
        .args(["--service-down-time", "2", "--report-interval", "0.4"])
        .args(["--services", "4", "--kills", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "driver",
        "services",
        "kills",
        "detect_p50_s",
        "detect_max_s",
        "false_down",
    ] {
        assert!(report.get(key).is_some(), "{key} missing: {report}");
    }
    assert_eq!(report["driver"], "db");
    assert_eq!(report["kills"], 2);
    assert_eq!(report["false_down"], 0, "{report}");
    let max = report["detect_max_s"]
        .as_f64()
        .expect("every kill detected");
    let p50 = report["detect_p50_s"].as_f64().unwrap();
    // Down once the last heartbeat is service_down_time old: at most 2 s after the
    // kill, and no sooner than 2 s minus one report_interval.
    assert!((1.5..=3.0).contains(&p50), "{report}");
    assert!((1.5..=3.0).contains(&max), "{report}");
}

#[test]
fn more_kills_than_services_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_periodic"))
        .args([
            "bench",
            "detect",
            "--db",
            "memory://",
            "--services",
            "2",
            "--kills",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--kills (3) cannot exceed --services (2)"),
        "{stderr}"
    );
}
