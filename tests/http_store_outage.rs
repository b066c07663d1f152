//! The HTTP API while its store goes away, against a real PostgreSQL server
//! (`PERIODIC_TEST_POSTGRES_URL`, or the local default; skipped with a message when unset
//! and unreachable), reached through a TCP proxy that plays the outage: `/metrics`
//! answers within its scrape timeout with `periodic_store_up 0`, `/healthz` of a
//! standalone server says 503 with the reason, `/os-services` answers nova's 503, and all
//! of them recover when the store comes back.
#![cfg(all(feature = "http", feature = "postgres"))]

mod http_support;
mod support;

use std::time::{Duration, Instant};

use http_support::{Api, samples};
use periodic::{
    ApiAuth, ApiServer, ApiServerOptions, NewService, ServiceGroup, ServiceGroupConfig,
};
use support::servers::{Kind, Proxy, ScratchDb, addr_of, with_addr};
use support::wait_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_is_reported_quickly_and_recovers() {
    let Some(scratch) = ScratchDb::create(Kind::Postgres).await else {
        return;
    };
    {
        let group = ServiceGroup::open(&scratch.url, ServiceGroupConfig::default())
            .await
            .unwrap();
        let me = group
            .get_or_create(&NewService::new("node-1", "nova-compute", "compute"))
            .await
            .unwrap();
        group.report_state(&me).await.unwrap();
        group.close().await;
    }
    let proxy = Proxy::new(addr_of(&scratch.url, 5432).await).await;
    let config = ServiceGroupConfig::default().connect_timeout(Duration::from_secs(5));
    let group = ServiceGroup::open_existing(&with_addr(&scratch.url, proxy.addr), config)
        .await
        .unwrap();
    let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap())
        .auth(ApiAuth::ReadOnly)
        .scrape_timeout(Duration::from_millis(300))
        .store_timeout(Duration::from_millis(500));
    let server = ApiServer::start(group.clone(), options).await.unwrap();
    let api = Api::new(server.local_addr());

    assert_eq!(api.get("/os-services").await.status, 200);
    assert_eq!(api.get("/healthz").await.status, 200);
    let metrics = api.get("/metrics").await.text;
    assert_eq!(samples(&metrics, "periodic_store_up", &[]), vec![1.0]);

    proxy.stop();

    // A scrape is not held up by the store: it answers within the scrape timeout (plus
    // slack), without the services series.
    let started = Instant::now();
    let answer = api.get("/metrics").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer.status, 200);
    assert_eq!(samples(&answer.text, "periodic_store_up", &[]), vec![0.0]);
    assert!(
        samples(&answer.text, "periodic_services", &[]).is_empty(),
        "{}",
        answer.text
    );

    let started = Instant::now();
    let health = api.get("/healthz").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(health.status, 503, "{}", health.text);
    let body = health.json();
    assert_eq!(body["status"], "unhealthy");
    assert!(!body["reason"].as_str().unwrap().is_empty(), "{body}");

    let started = Instant::now();
    let list = api.get("/os-services").await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(list.status, 503, "{}", list.text);
    assert!(!list.fault("serviceUnavailable").is_empty());

    proxy.start().await;
    wait_for("the store is back", Duration::from_secs(15), || {
        let api = api.clone();
        async move { (api.get("/healthz").await.status == 200).then_some(()) }
    })
    .await;
    let list = api.get("/os-services").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json()["services"][0]["host"], "node-1");

    server.shutdown().await.unwrap();
    group.close().await;
    drop(proxy);
    scratch.drop_db().await;
}
