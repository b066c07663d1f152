//! The task ledger in Redis (`fleet_store = "redis://..."`), against a real server
//! (`PERIODIC_TEST_REDIS_URL`, or database 15 of `redis://127.0.0.1:6379`; skipped with a
//! message when unset and unreachable): the ledger scenarios of the SQL stores, on Redis's
//! clock. Each test uses scopes of its own, in a database apart from the server's default.

#![cfg(feature = "redis")]

mod support;

use periodic::{ErrorKind, ServiceGroup, ServiceGroupConfig};
use support::scenarios;

async fn server() -> Option<String> {
    let url = std::env::var("PERIODIC_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/15".to_owned());
    match ServiceGroup::open_ledger(&url, &ServiceGroupConfig::default()).await {
        Ok(ledger) if ledger.now().await.is_ok() => Some(url),
        Ok(_) | Err(_) if std::env::var("PERIODIC_TEST_REDIS_URL").is_ok() => {
            panic!("PERIODIC_TEST_REDIS_URL={url} is unreachable")
        }
        _ => {
            eprintln!(
                "skipped: redis tests: PERIODIC_TEST_REDIS_URL is unset and {url} is unreachable"
            );
            None
        }
    }
}

#[tokio::test]
async fn ledger_claims() {
    let Some(url) = server().await else { return };
    scenarios::ledger_claims(&url, &ServiceGroupConfig::default()).await;
}

#[tokio::test]
async fn ledger_batch_claims() {
    let Some(url) = server().await else { return };
    scenarios::ledger_batch_claims(&url, &ServiceGroupConfig::default()).await;
}

#[tokio::test]
async fn ledger_controls() {
    let Some(url) = server().await else { return };
    scenarios::ledger_controls(&url, &ServiceGroupConfig::default()).await;
}

#[tokio::test]
async fn ledger_history() {
    let Some(url) = server().await else { return };
    scenarios::ledger_history(&url, &ServiceGroupConfig::default()).await;
}

#[tokio::test]
async fn ledger_records_runs() {
    let Some(url) = server().await else { return };
    scenarios::ledger_records_runs(&url, &ServiceGroupConfig::default()).await;
}

#[tokio::test]
async fn fleet_runners_run_each_slot_once() {
    let Some(url) = server().await else { return };
    scenarios::fleet_runners_run_each_slot_once(&url, &ServiceGroupConfig::default()).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_store_error() {
    let err = ServiceGroup::open_ledger("redis://127.0.0.1:1", &ServiceGroupConfig::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(
        err.to_string()
            .contains("cannot connect to the fleet store `redis://127.0.0.1:1"),
        "{err}"
    );
}
