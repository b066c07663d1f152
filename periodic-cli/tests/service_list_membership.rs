//! `periodic service list --long` on the lease and session drivers, against the real
//! servers (`PERIODIC_TEST_ETCD`, `PERIODIC_TEST_ZOOKEEPER`; each test prints `skipped:`
//! without its server): a service that reports with a clock 30 s slow is up, its Clock
//! Skew column says about -30 s, and its Membership column names what keeps it a member
//! (etcd: the lease and the key's revision; zk: the session and the node's version), as
//! `--format json` does.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use periodic::{
    JoinOptions, LivenessDriver, NewService, ServiceGroup, ServiceGroupConfig, WallClock,
};

/// Runs `periodic service list` with `args`; its stdout.
fn list(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_periodic"))
        .args(["service", "list"])
        .args(args)
        .env_remove("PERIODIC_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A service on `driver` whose clock is 30 s slow joins and reports; the list shows it up
/// with its skew and a membership detail for which `detail_ok` holds.
async fn slow_service_is_listed(
    driver: LivenessDriver,
    config: ServiceGroupConfig,
    flags: &[&str],
    detail_ok: fn(&str) -> bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let slow = WallClock::from_fn(|| SystemTime::now() - Duration::from_secs(30));
    let config = config
        .driver(driver)
        .report_interval(Duration::from_secs(1))
        .service_down_time(Duration::from_secs(10))
        .clock(slow);
    let group = ServiceGroup::open(&url, config).await.unwrap();
    let host = format!("cli-skew-{}-{}", driver, std::process::id());
    let svc = group
        .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
        .await
        .unwrap();
    let heartbeat = group
        .join(&svc, JoinOptions::default().initial_delay(Duration::ZERO))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while heartbeat.stats().reports_ok < 2 {
        assert!(Instant::now() < deadline, "no report: {heartbeat:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut args = vec!["--db", url.as_str(), "--host", host.as_str()];
    args.extend_from_slice(flags);
    let table = list(&[&args[..], &["--long"]].concat());
    let lines: Vec<&str> = table.lines().collect();
    let headers: Vec<&str> = lines[1]
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let cells: Vec<&str> = lines[3]
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let cell = |name: &str| cells[headers.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("State"), "up", "{table}");
    let skew: f64 = cell("Clock Skew")
        .strip_suffix('s')
        .unwrap()
        .parse()
        .unwrap();
    assert!((skew + 30.0).abs() <= 1.5, "{table}");
    assert!(detail_ok(cell("Membership")), "{table}");

    let json = list(&[&args[..], &["--format", "json"]].concat());
    let services: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let skew = services[0]["clock_skew"].as_f64().unwrap();
    assert!((skew + 30.0).abs() <= 1.5, "{json}");
    assert!(
        detail_ok(services[0]["membership"].as_str().unwrap()),
        "{json}"
    );

    group.leave(heartbeat).await.unwrap();
    group.close().await;
}

/// `<word> <id> <word> <number>`, the id matching `id_ok`.
fn detail(text: &str, first: &str, second: &str, id_ok: fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = text.split(' ').collect();
    parts.len() == 4
        && parts[0] == first
        && id_ok(parts[1])
        && parts[2] == second
        && parts[3].parse::<i64>().is_ok_and(|n| n >= 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_shows_the_lease_the_revision_and_the_skew() {
    let Ok(endpoint) = std::env::var("PERIODIC_TEST_ETCD") else {
        eprintln!("skipped: PERIODIC_TEST_ETCD is not set");
        return;
    };
    let config = ServiceGroupConfig::default().etcd_endpoints([endpoint.clone()]);
    let flags = ["--driver", "etcd", "--etcd-endpoints", endpoint.as_str()];
    slow_service_is_listed(LivenessDriver::ETCD, config, &flags, |d| {
        detail(d, "lease", "rev", |id| {
            u64::from_str_radix(id, 16).is_ok_and(|lease| lease > 0)
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zk_shows_the_session_the_version_and_the_skew() {
    let Ok(servers) = std::env::var("PERIODIC_TEST_ZOOKEEPER") else {
        eprintln!("skipped: PERIODIC_TEST_ZOOKEEPER is not set");
        return;
    };
    let config = ServiceGroupConfig::default().zookeeper_servers([servers.clone()]);
    let flags = ["--driver", "zk", "--zookeeper-servers", servers.as_str()];
    slow_service_is_listed(LivenessDriver::ZK, config, &flags, |d| {
        detail(d, "session", "version", |id| {
            id.strip_prefix("0x")
                .is_some_and(|hex| u64::from_str_radix(hex, 16).is_ok_and(|s| s != 0))
        })
    })
    .await;
}
