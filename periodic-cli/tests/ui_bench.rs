//! The operator page's benchmark (ignored; run by hand, figures in BENCHMARKS.md): a
//! store with 10,000 services, the real `periodic api serve`, a real headless chromium.
//!
//! ```text
//! cargo test -p periodic-cli --test ui_bench -- --ignored --nocapture
//! ```
//!
//! It measures `GET /ui/services?limit=50` (20 requests, wall time at the client) and,
//! in the browser, the time from navigation start to the first page of rows rendered
//! (the page's `periodic-first-rows` performance mark), over 5 loads; each must be under
//! 1 s. One JSON line per store.

mod ui_support;

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use periodic::{NewService, ServiceGroup, ServiceGroupConfig};
use serde_json::json;
use ui_support::{Browser, ONE_BROWSER, Store, api_serve, wait_until};

const SERVICES: usize = 10_000;

fn median_and_max(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

async fn ten_thousand(store: Store, url: String, kind: &str, concurrency: usize) {
    let _one = ONE_BROWSER.lock().await;
    let group = ServiceGroup::open(&url, ServiceGroupConfig::default())
        .await
        .unwrap();
    let started = Instant::now();
    futures::stream::iter(0..SERVICES)
        .for_each_concurrent(concurrency, |i| {
            let group = group.clone();
            async move {
                let binary = ["nova-compute", "nova-scheduler", "nova-conductor"][i % 3];
                let record = group
                    .get_or_create(&NewService::new(format!("node-{i:05}"), binary, "compute"))
                    .await
                    .unwrap();
                // Two in three report (up), the others never did (down after 60 s).
                if i % 3 != 0 {
                    group.report_state(&record).await.unwrap();
                }
            }
        })
        .await;
    let populate = started.elapsed();
    group.close().await;

    let (server, addr) = api_serve(&url, 60, "bench-token");
    let client = reqwest::Client::new();
    let mut api_ms = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let answer = client
            .get(format!("http://{addr}/ui/services?limit=50"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
        api_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(body["totals"]["services"], SERVICES);
        assert_eq!(body["services"].as_array().unwrap().len(), 50);
    }

    let browser = Browser::start().await;
    let mut page_ms = Vec::new();
    for _ in 0..5 {
        browser.goto(&format!("http://{addr}/")).await;
        let ms = wait_until("the first rows", Duration::from_secs(30), async || {
            let mark = browser
                .js(
                    "const m = performance.getEntriesByName('periodic-first-rows');
                     return m.length ? { at: m[0].startTime,
                                         rows: document.getElementById('service-rows').rows.length }
                                     : null;",
                    vec![],
                )
                .await;
            mark["at"]
                .as_f64()
                .map(|at| (at, mark["rows"].clone()))
                .ok_or(mark.to_string())
        })
        .await;
        assert_eq!(ms.1, 50);
        page_ms.push(ms.0);
    }
    browser.close().await;
    drop(server);
    store.drop_store().await;

    let (api_p50, api_max) = median_and_max(api_ms);
    let (page_p50, page_max) = median_and_max(page_ms);
    println!(
        "{}",
        json!({
            "store": kind, "services": SERVICES,
            "populate_s": (populate.as_secs_f64() * 10.0).round() / 10.0,
            "ui_services_ms_p50": (api_p50 * 10.0).round() / 10.0,
            "ui_services_ms_max": (api_max * 10.0).round() / 10.0,
            "first_rows_ms_p50": (page_p50 * 10.0).round() / 10.0,
            "first_rows_ms_max": (page_max * 10.0).round() / 10.0,
        })
    );
    assert!(page_max < 1000.0, "a load took {page_max} ms");
    assert!(api_max < 1000.0, "/ui/services took {api_max} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: 10,000 services and a browser; run with --ignored"]
async fn ten_thousand_services_on_sqlite() {
    let (store, url) = Store::sqlite();
    ten_thousand(store, url, "sqlite", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: 10,000 services and a browser; run with --ignored"]
async fn ten_thousand_services_on_postgres() {
    let Some((store, url)) = Store::postgres("bench").await else {
        return;
    };
    ten_thousand(store, url, "postgres", 16).await;
}
