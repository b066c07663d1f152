//! The `etcd` driver against a real etcd (`PERIODIC_TEST_ETCD`, or the local default
//! 127.0.0.1:2379; skipped with a message when unset and unreachable). The services
//! table lives in an SQLite file per test; each joined service holds a lease with a TTL
//! of `service_down_time` (3 s here) and a key `/periodic/topic/host` on it, so etcd
//! decides who is down: the key goes when the lease expires. Hosts are unique per test
//! and run, so tests sharing the server don't see each other's keys.
//!
//! ```text
//! join   key on a lease   keep-alive every 1 s   heartbeat stopped (as kill -9)   lease expired
//!  0 ─────── 0 ───────────── 1 ── 2 ─────────────── t ─────────────────────────── t+3 s ──►
//!            up                                     still up                      down
//! ```

#![cfg(all(feature = "etcd", feature = "sqlite"))]

mod support;

use std::time::{Duration, Instant};

use periodic::{
    DownReason, ErrorKind, JoinOptions, LivenessDriver, NewService, ServiceFilter, ServiceGroup,
    ServiceGroupConfig,
};
use support::scenarios::{self, DOWN, Via, short};
use support::servers::{Kind, Proxy, TempDb, addr_of, server};
use support::{unique, wait_for};

fn etcd(endpoints: &str) -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .driver(LivenessDriver::ETCD)
        .etcd_endpoints([endpoints])
}

/// Runs the body with the etcd endpoint and an SQLite file, or returns if skipped.
macro_rules! on_etcd {
    (|$server:ident, $url:ident| $body:expr) => {{
        let Some(address) = server(Kind::Etcd).await else {
            return;
        };
        let file = TempDb::new();
        let $server: &str = &address;
        let $url: &str = &file.url();
        $body;
    }};
}

#[tokio::test]
async fn several_up_one_killed_is_down_when_its_lease_expires() {
    on_etcd!(|server, url| scenarios::several_up_one_killed(url, &etcd(server)).await);
}

#[tokio::test]
async fn admin_round_trips() {
    on_etcd!(|server, url| scenarios::admin_round_trips(url, &etcd(server)).await);
}

#[tokio::test]
async fn leave_deletes_the_key_and_is_down_at_once() {
    on_etcd!(|server, url| scenarios::leave_is_down_at_once(url, &etcd(server)).await);
}

#[tokio::test]
async fn skewed_writer_stays_up() {
    on_etcd!(|server, url| scenarios::skewed_writer_stays_up(url, &etcd(server)).await);
}

#[tokio::test]
async fn blocked_runtime_does_not_make_it_look_down() {
    on_etcd!(|server, url| {
        scenarios::blocked_runtime_does_not_make_it_look_down(url, &etcd(server)).await;
    });
}

// The proxy stays closed for longer than the TTL, so etcd expires the service's lease:
// the heartbeat makes a new lease and key, logged once each way.
#[tokio::test]
async fn an_expired_lease_is_replaced_and_logged_once_each_way() {
    on_etcd!(|server, url| {
        let proxy = Proxy::new(addr_of(server, 2379).await).await;
        let through = proxy.addr.to_string();
        scenarios::outage(
            Via(url, &etcd(&through)),
            Via(url, &etcd(server)),
            &proxy,
            "Lost connection to etcd for reporting service status.",
            "Recovered connection to etcd for reporting service status.",
        )
        .await;
    });
}

// A kill: the heartbeat stops without revoking its lease. The key stays until etcd
// expires the lease, then the service is down, within the TTL + 1 s.
#[tokio::test]
async fn a_killed_service_is_down_within_the_lease_ttl() {
    on_etcd!(|server, url| {
        let group = ServiceGroup::open(url, short(&etcd(server))).await.unwrap();
        let svc = group
            .get_or_create(&NewService::new(
                unique("etcd-kill"),
                "nova-compute",
                "compute",
            ))
            .await
            .unwrap();
        let heartbeat = group
            .join(&svc, JoinOptions::default().initial_delay(Duration::ZERO))
            .await
            .unwrap();
        wait_for("the key", Duration::from_secs(10), || async {
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

// Many services are judged with one range read per topic.
#[tokio::test]
async fn list_sees_many_services() {
    on_etcd!(|server, url| {
        let group = ServiceGroup::open(url, short(&etcd(server))).await.unwrap();
        let prefix = unique("etcd-many");
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
    });
}

#[tokio::test]
async fn the_driver_needs_endpoints_and_fails_readably_without_one() {
    let file = TempDb::new();
    let missing = ServiceGroupConfig::default().driver(LivenessDriver::ETCD);
    let err = ServiceGroup::open(&file.url(), missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("etcd_endpoints"), "{err}");

    let config = short(&etcd("127.0.0.1:9")).connect_timeout(Duration::from_millis(500));
    let group = ServiceGroup::open(&file.url(), config).await.unwrap();
    let svc = group
        .get_or_create(&NewService::new(
            unique("etcd-down"),
            "nova-compute",
            "compute",
        ))
        .await
        .unwrap();
    let started = Instant::now();
    let err = group.report_state(&svc).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert!(err.to_string().contains("etcd"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
