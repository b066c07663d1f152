//! The `redis` driver against a real Redis (`PERIODIC_TEST_REDIS_URL`, or the local
//! default; skipped with a message when unset and unreachable). The services table lives
//! in an SQLite file per test; heartbeats are keys `periodic:topic:host` with a TTL of
//! `service_down_time` (`SET ... PX`), so Redis's expiry decides who is down and its
//! `PTTL` how old the last heartbeat is. Hosts are unique per test and run, so tests
//! sharing the server don't see each other's keys.

#![cfg(all(feature = "redis", feature = "sqlite"))]

mod support;

use std::time::Duration;

use periodic::{
    DownReason, ErrorKind, JoinOptions, LivenessDriver, NewService, ServiceFilter, ServiceGroup,
    ServiceGroupConfig,
};
use support::scenarios::{self, Via, short};
use support::servers::{Kind, Proxy, TempDb, addr_of, server};
use support::{unique, wait_for};

fn redis(url: &str) -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .driver(LivenessDriver::REDIS)
        .redis_url(url)
}

/// Runs the body with the Redis URL and an SQLite file, or returns if skipped.
macro_rules! on_redis {
    (|$server:ident, $url:ident| $body:expr) => {{
        let Some(address) = server(Kind::Redis).await else {
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
    on_redis!(|server, url| scenarios::several_up_one_killed(url, &redis(server)).await);
}

#[tokio::test]
async fn admin_round_trips() {
    on_redis!(|server, url| scenarios::admin_round_trips(url, &redis(server)).await);
}

#[tokio::test]
async fn leave_deletes_the_key_and_is_down_at_once() {
    on_redis!(|server, url| scenarios::leave_is_down_at_once(url, &redis(server)).await);
}

#[tokio::test]
async fn skewed_writer_stays_up() {
    on_redis!(|server, url| scenarios::skewed_writer_stays_up(url, &redis(server)).await);
}

#[tokio::test]
async fn blocked_runtime_does_not_make_it_look_down() {
    on_redis!(|server, url| {
        scenarios::blocked_runtime_does_not_make_it_look_down(url, &redis(server)).await;
    });
}

#[tokio::test]
async fn redis_going_away_is_logged_once_each_way() {
    on_redis!(|server, url| {
        let proxy = Proxy::new(addr_of(server, 6379).await).await;
        let through = format!("redis://{}", proxy.addr);
        scenarios::outage(
            Via(url, &redis(&through)),
            Via(url, &redis(server)),
            &proxy,
            "Lost connection to redis server for reporting service status.",
            "Recovered connection to redis server for reporting service status.",
        )
        .await;
    });
}

// Redis knows how long a key has left, so the heartbeat's age is measured by Redis's
// clock (unlike `mc`, which only knows that the key exists), and it grows between
// reports.
#[tokio::test]
async fn heartbeat_age_comes_from_the_keys_ttl() {
    on_redis!(|server, url| {
        let group = ServiceGroup::open(url, short(&redis(server)))
            .await
            .unwrap();
        let host = unique("redis-age");
        let svc = group
            .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
            .await
            .unwrap();
        let before = group.status(svc.id).await.unwrap();
        assert_eq!(before.down_reason, Some(DownReason::NoHeartbeat));
        assert_eq!(before.heartbeat_age, None);
        group.report_state(&svc).await.unwrap();
        let fresh = group.status(svc.id).await.unwrap();
        assert!(fresh.is_up(), "{fresh:?}");
        let fresh_age = fresh.heartbeat_age.expect("an age from PTTL");
        assert!(fresh_age < Duration::from_millis(500), "{fresh_age:?}");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let older = group.status(svc.id).await.unwrap().heartbeat_age.unwrap();
        assert!(
            older >= fresh_age + Duration::from_millis(500),
            "{older:?} after {fresh_age:?}"
        );
        // The redis driver does not write heartbeats to the table.
        assert_eq!(fresh.record.report_count, 0);
    });
}

// `list` asks for the TTLs of many services in pipelined round trips.
#[tokio::test]
async fn list_sees_many_services() {
    on_redis!(|server, url| {
        let group = ServiceGroup::open(url, short(&redis(server)))
            .await
            .unwrap();
        let prefix = unique("redis-many");
        for i in 0..1_200 {
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
        let up = listed.iter().filter(|s| s.is_up()).count();
        assert_eq!(listed.len(), 1_200);
        assert_eq!(up, 600);
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
    on_redis!(|server, url| {
        let group = ServiceGroup::open(url, short(&redis(server)))
            .await
            .unwrap();
        let host = unique("redis-ttl");
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

#[tokio::test]
async fn the_driver_needs_a_url_and_a_valid_one() {
    let file = TempDb::new();
    let missing = ServiceGroupConfig::default().driver(LivenessDriver::REDIS);
    let err = ServiceGroup::open(&file.url(), missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("redis_url"), "{err}");
    let bad = redis("http://:secret@127.0.0.1:6379");
    let err = ServiceGroup::open(&file.url(), bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

// A server that does not answer: the report fails within the heartbeat timeout with the
// store's error, not a hang and not a panic.
#[tokio::test]
async fn an_unreachable_server_is_a_store_error() {
    let file = TempDb::new();
    let config = short(&redis("redis://127.0.0.1:9")).connect_timeout(Duration::from_millis(300));
    let group = ServiceGroup::open(&file.url(), config).await.unwrap();
    let svc = group
        .get_or_create(&NewService::new(
            unique("redis-down"),
            "nova-compute",
            "compute",
        ))
        .await
        .unwrap();
    let err = group.report_state(&svc).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert!(err.to_string().contains("redis"), "{err}");
}
