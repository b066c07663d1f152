//! A heartbeat store that refuses work, with a real process against a real Redis: a
//! private `redis-server` of this test (its own port; the shared 6379 is never paused)
//! answers `CLIENT PAUSE` for 8 s, during which the service's periodic task goes on and
//! its heartbeat says the loss once, then the recovery once. The scenario and its
//! timeline are in `tests/support/faults.rs` (skipped with a `skipped:` line without
//! `redis-server`).

#![cfg(all(feature = "redis", feature = "sqlite", unix))]

mod support;

use support::faults;
use support::private::{Private, PrivateServer};

#[test]
fn child() {
    faults::child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_stops_no_task_and_is_said_once_each_way() {
    let Some(redis) = PrivateServer::start(Private::Redis) else {
        return;
    };
    faults::redis_paused(
        &redis,
        "Lost connection to redis server for reporting service status.",
        "Recovered connection to redis server for reporting service status.",
    )
    .await;
}
