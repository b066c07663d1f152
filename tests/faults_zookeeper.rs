//! Faults of the `zk` driver with real processes against real ZooKeeper servers: a
//! service process killed with SIGKILL, stopped with SIGSTOP past its session timeout,
//! and its server killed and restarted 20 s later (a private server of this test, on a
//! port and data directory of its own: the shared one is never touched), during which
//! the service's periodic task goes on. The scenarios and their timelines are in
//! `tests/support/faults.rs`; the shared server is `PERIODIC_TEST_ZOOKEEPER` (skipped
//! with a `skipped:` line when unset and unreachable, or without `zkServer.sh` for the
//! restart).

#![cfg(all(feature = "zookeeper", feature = "sqlite", unix))]

mod support;

use periodic::LivenessDriver;
use support::faults::{self, Texts};
use support::private::{Private, PrivateServer};
use support::servers::{Kind, server};

const TEXTS: Texts = Texts {
    lost: "Lost connection to ZooKeeper for reporting service status.",
    recovered: "Recovered connection to ZooKeeper for reporting service status.",
    expired: "The ZooKeeper session of this service expired",
    renewed: "A new ZooKeeper session holds this service's node",
};

#[test]
fn child() {
    faults::child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_process_is_down_within_the_session_timeout() {
    let Some(address) = server(Kind::ZooKeeper).await else {
        return;
    };
    faults::kill_9(LivenessDriver::ZK, &address).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_process_is_down_then_up_with_a_new_session_after_sigcont() {
    let Some(address) = server(Kind::ZooKeeper).await else {
        return;
    };
    faults::sigstop(LivenessDriver::ZK, &address, &TEXTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_restarted_after_20_s_the_service_runs_on_and_is_back_up() {
    let Some(mut zk) = PrivateServer::start(Private::ZooKeeper) else {
        return;
    };
    faults::server_restart(LivenessDriver::ZK, &mut zk, &TEXTS).await;
}
