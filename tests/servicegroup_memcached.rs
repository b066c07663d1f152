//! The `mc` driver against a real memcached (`PERIODIC_TEST_MEMCACHED`, or the local
//! default; skipped with a message when unset and unreachable). The services table lives
//! in an SQLite file per test; heartbeats are keys `topic:host` with a TTL of
//! `service_down_time`, so memcached's expiry decides who is down. Hosts are unique per
//! test and run, so tests sharing the server don't see each other's keys.

#![cfg(all(feature = "memcached", feature = "sqlite"))]

mod support;

use std::time::{Duration, SystemTime};

use periodic::{
    DownReason, JoinOptions, LivenessDriver, NewService, ServiceGroup, ServiceGroupConfig,
    WallClock,
};
use support::scenarios::{self, Via, short};
use support::servers::{Kind, Proxy, TempDb, addr_of, server};
use support::{unique, wait_for};

fn mc(server: &str) -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .driver(LivenessDriver::MC)
        .memcached_servers([server])
}

/// Runs the body with the memcached address and an SQLite file, or returns if skipped.
macro_rules! on_memcached {
    (|$server:ident, $url:ident| $body:expr) => {{
        let Some(address) = server(Kind::Memcached).await else {
            return;
        };
        let file = TempDb::new();
        let $server: &str = &address;
        let $url: &str = &file.url();
        $body;
    }};
}

#[tokio::test]
async fn several_up_one_killed_expires_by_ttl() {
    on_memcached!(|server, url| scenarios::several_up_one_killed(url, &mc(server)).await);
}

#[tokio::test]
async fn admin_round_trips() {
    on_memcached!(|server, url| scenarios::admin_round_trips(url, &mc(server)).await);
}

#[tokio::test]
async fn text_is_checked_before_the_store() {
    on_memcached!(|server, url| {
        scenarios::text_is_checked_before_the_store(url, &mc(server)).await;
    });
}

#[tokio::test]
async fn leave_deletes_the_key_and_is_down_at_once() {
    on_memcached!(|server, url| scenarios::leave_is_down_at_once(url, &mc(server)).await);
}

#[tokio::test]
async fn skewed_writer_stays_up() {
    on_memcached!(|server, url| scenarios::skewed_writer_stays_up(url, &mc(server)).await);
}

#[tokio::test]
async fn blocked_runtime_does_not_make_it_look_down() {
    on_memcached!(|server, url| {
        scenarios::blocked_runtime_does_not_make_it_look_down(url, &mc(server)).await;
    });
}

#[tokio::test]
async fn memcached_going_away_is_logged_once_each_way() {
    on_memcached!(|server, url| {
        let proxy = Proxy::new(addr_of(server, 11211).await).await;
        let through = proxy.addr.to_string();
        scenarios::outage(
            Via(url, &mc(&through)),
            Via(url, &mc(server)),
            &proxy,
            "Lost connection to memcache server for reporting service status.",
            "Recovered connection to memcache server for reporting service status.",
        )
        .await;
    });
}

// Case 66 (nova mc): the key is `topic:host`; `updated_time` is the newer of the value
// in memcached and the row's `updated_at` (LP#1647269). A writer 10 minutes ahead makes
// the memcached value the newer one; 10 minutes behind, the row's `updated_at`.
#[tokio::test]
async fn updated_time_is_the_newer_of_memcached_and_the_row() {
    on_memcached!(|server, url| {
        let observer = ServiceGroup::open(url, short(&mc(server))).await.unwrap();
        for ahead in [true, false] {
            let skew = Duration::from_secs(600);
            let clock = WallClock::from_fn(move || {
                if ahead {
                    SystemTime::now() + skew
                } else {
                    SystemTime::now() - skew
                }
            });
            let writer = ServiceGroup::open(url, short(&mc(server)).clock(clock))
                .await
                .unwrap();
            let host = unique("mc-updated");
            let svc = writer
                .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
                .await
                .unwrap();
            let before = observer.get(svc.id).await.unwrap();
            assert_eq!(before.updated_at, None);
            writer.report_state(&svc).await.unwrap();
            observer.disable(svc.id, None).await.unwrap(); // sets the row's updated_at
            let row = observer.get(svc.id).await.unwrap().updated_at.unwrap();
            let status = observer.status(svc.id).await.unwrap();
            assert!(status.is_up());
            assert_eq!(status.heartbeat_age, None);
            let shown = status.updated_time.unwrap();
            if ahead {
                assert!(
                    shown > row + Duration::from_secs(500),
                    "{shown:?} vs {row:?}"
                );
            } else {
                assert_eq!(shown, row);
            }
            // The mc driver does not write heartbeats to the table.
            assert_eq!(status.record.report_count, 0);
        }
    });
}

// `list` fetches the keys of many services with multi-gets.
#[tokio::test]
async fn list_sees_many_services() {
    on_memcached!(|server, url| {
        let group = ServiceGroup::open(url, short(&mc(server))).await.unwrap();
        let prefix = unique("mc-many");
        let mut ids = Vec::new();
        for i in 0..250 {
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
            ids.push(svc.id);
        }
        let listed = group.list(&periodic::ServiceFilter::all()).await.unwrap();
        let up = listed.iter().filter(|s| s.is_up()).count();
        assert_eq!(listed.len(), 250);
        assert_eq!(up, 125);
        assert!(
            listed
                .iter()
                .filter(|s| !s.is_up())
                .all(|s| s.down_reason == Some(DownReason::NoHeartbeat))
        );
    });
}

#[tokio::test]
async fn join_sets_the_key_and_it_expires_after_the_ttl() {
    on_memcached!(|server, url| {
        let group = ServiceGroup::open(url, short(&mc(server))).await.unwrap();
        let host = unique("mc-ttl");
        let svc = group
            .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
            .await
            .unwrap();
        assert!(!group.is_up(svc.id).await.unwrap(), "no key yet");
        let heartbeat = group
            .join(&svc, JoinOptions::default().initial_delay(Duration::ZERO))
            .await
            .unwrap();
        wait_for("the key", Duration::from_secs(10), || async {
            group.is_up(svc.id).await.unwrap().then_some(())
        })
        .await;
        heartbeat.stop().await.unwrap();
        wait_for("the key to expire", Duration::from_secs(10), || async {
            (!group.is_up(svc.id).await.unwrap()).then_some(())
        })
        .await;
    });
}
