//! The `zk` driver against a real ZooKeeper (`PERIODIC_TEST_ZOOKEEPER`, or the local
//! default 127.0.0.1:2181; skipped with a message when unset and unreachable). The
//! services table lives in an SQLite file per test; each joined service holds a session
//! and an ephemeral node `/periodic/topic/host`, so the ZooKeeper server decides who is
//! down: the node goes when the session times out (`service_down_time`, 3 s here).
//! Hosts are unique per test and run, so tests sharing the server don't see each
//! other's nodes.
//!
//! ```text
//! join   node created      heartbeat stopped (no close: as kill -9)   session timeout
//!  0 ─────── 0 ───── 1 ─── 2 ─────────── t ──────────────────────────── t+3 s ──►
//!            up                           still up                     down
//! ```

#![cfg(all(feature = "zookeeper", feature = "sqlite"))]

mod support;

use std::time::{Duration, Instant};

use periodic::{
    DownReason, ErrorKind, JoinOptions, LivenessDriver, NewService, ServiceFilter, ServiceGroup,
    ServiceGroupConfig,
};
use support::scenarios::{self, DOWN, Via, short};
use support::servers::{Kind, Proxy, TempDb, addr_of, server};
use support::{unique, wait_for};

fn zk(servers: &str) -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .driver(LivenessDriver::ZK)
        .zookeeper_servers([servers])
}

/// Runs the body with the ZooKeeper address and an SQLite file, or returns if skipped.
macro_rules! on_zookeeper {
    (|$server:ident, $url:ident| $body:expr) => {{
        let Some(address) = server(Kind::ZooKeeper).await else {
            return;
        };
        let file = TempDb::new();
        let $server: &str = &address;
        let $url: &str = &file.url();
        $body;
    }};
}

#[tokio::test]
async fn several_up_one_killed_is_down_when_its_session_times_out() {
    on_zookeeper!(|server, url| scenarios::several_up_one_killed(url, &zk(server)).await);
}

#[tokio::test]
async fn admin_round_trips() {
    on_zookeeper!(|server, url| scenarios::admin_round_trips(url, &zk(server)).await);
}

#[tokio::test]
async fn leave_deletes_the_node_and_is_down_at_once() {
    on_zookeeper!(|server, url| scenarios::leave_is_down_at_once(url, &zk(server)).await);
}

#[tokio::test]
async fn skewed_writer_stays_up() {
    on_zookeeper!(|server, url| scenarios::skewed_writer_stays_up(url, &zk(server)).await);
}

#[tokio::test]
async fn blocked_runtime_does_not_make_it_look_down() {
    on_zookeeper!(|server, url| {
        scenarios::blocked_runtime_does_not_make_it_look_down(url, &zk(server)).await;
    });
}

// The proxy stays closed for longer than the session timeout, so the server expires the
// service's session: the heartbeat opens a new session and node, logged once each way.
#[tokio::test]
async fn an_expired_session_is_replaced_and_logged_once_each_way() {
    on_zookeeper!(|server, url| {
        let proxy = Proxy::new(addr_of(server, 2181).await).await;
        let through = proxy.addr.to_string();
        scenarios::outage(
            Via(url, &zk(&through)),
            Via(url, &zk(server)),
            &proxy,
            "Lost connection to ZooKeeper for reporting service status.",
            "Recovered connection to ZooKeeper for reporting service status.",
        )
        .await;
    });
}

// A kill: the heartbeat stops without closing its session. The node stays until the
// server times the session out, then the service is down, within the timeout + 1 s.
#[tokio::test]
async fn a_killed_service_is_down_within_the_session_timeout() {
    on_zookeeper!(|server, url| {
        let group = ServiceGroup::open(url, short(&zk(server))).await.unwrap();
        let svc = group
            .get_or_create(&NewService::new(
                unique("zk-kill"),
                "nova-compute",
                "compute",
            ))
            .await
            .unwrap();
        let heartbeat = group
            .join(&svc, JoinOptions::default().initial_delay(Duration::ZERO))
            .await
            .unwrap();
        wait_for("the node", Duration::from_secs(10), || async {
            group.is_up(svc.id).await.unwrap().then_some(())
        })
        .await;
        heartbeat.stop().await.unwrap();
        let killed = Instant::now();
        assert!(
            group.is_up(svc.id).await.unwrap(),
            "down before the timeout"
        );
        let status = wait_for("down", Duration::from_secs(10), || async {
            let status = group.status(svc.id).await.unwrap();
            (!status.is_up()).then_some(status)
        })
        .await;
        let after = killed.elapsed();
        assert_eq!(status.down_reason, Some(DownReason::NoHeartbeat));
        assert!(
            after <= DOWN + Duration::from_secs(1),
            "down after {after:?}"
        );
        assert!(after >= DOWN / 2, "down after only {after:?}");
    });
}

// Many services are judged in one pipelined round trip of `exists` requests.
#[tokio::test]
async fn list_sees_many_services() {
    on_zookeeper!(|server, url| {
        let group = ServiceGroup::open(url, short(&zk(server))).await.unwrap();
        let prefix = unique("zk-many");
        for i in 0..400 {
            let svc = group
                .get_or_create(&NewService::new(
                    format!("{prefix}-{i}"),
                    "nova-compute",
                    "compute",
                ))
                .await
                .unwrap();
            if i % 2 == 0 {
                group.report_state(&svc).await.unwrap();
            }
        }
        let listed = group.list(&ServiceFilter::all()).await.unwrap();
        let up: Vec<_> = listed.iter().filter(|s| s.is_up()).collect();
        assert_eq!(listed.len(), 400);
        assert_eq!(up.len(), 200);
        // The node's mtime, stamped by the ZooKeeper server, is the time shown.
        assert!(up.iter().all(|s| s.updated_time.is_some()));
    });
}

#[tokio::test]
async fn the_driver_needs_servers_and_fails_readably_without_one() {
    let file = TempDb::new();
    let missing = ServiceGroupConfig::default().driver(LivenessDriver::ZK);
    let err = ServiceGroup::open(&file.url(), missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("zookeeper_servers"), "{err}");

    let config = short(&zk("127.0.0.1:9")).connect_timeout(Duration::from_millis(500));
    let group = ServiceGroup::open(&file.url(), config).await.unwrap();
    let svc = group
        .get_or_create(&NewService::new(
            unique("zk-down"),
            "nova-compute",
            "compute",
        ))
        .await
        .unwrap();
    let started = Instant::now();
    let err = group.report_state(&svc).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert!(err.to_string().contains("ZooKeeper"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
