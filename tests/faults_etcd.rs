//! Faults of the `etcd` driver with real processes against real etcd servers: a
//! service process killed with SIGKILL, stopped with SIGSTOP past its lease TTL,
//! and its server killed and restarted 20 s later (a private server of this test, on a
//! port and data directory of its own: the shared one is never touched), during which
//! the service's periodic task goes on. The scenarios and their timelines are in
//! `tests/support/faults.rs`; the shared server is `PERIODIC_TEST_ETCD` (skipped
//! with a `skipped:` line when unset and unreachable, or without `etcd` for the
//! restart).

#![cfg(all(feature = "etcd", feature = "sqlite", unix))]

mod support;

use periodic::LivenessDriver;
use support::faults::{self, Texts};
use support::private::{Private, PrivateServer};
use support::servers::{Kind, server};

const TEXTS: Texts = Texts {
    lost: "Lost connection to etcd for reporting service status.",
    recovered: "Recovered connection to etcd for reporting service status.",
    expired: "The etcd lease of this service expired",
    renewed: "A new etcd lease holds this service's key",
};

#[test]
fn child() {
    faults::child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_process_is_down_within_the_lease_ttl() {
    let Some(address) = server(Kind::Etcd).await else {
        return;
    };
    faults::kill_9(LivenessDriver::ETCD, &address).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_process_is_down_then_up_with_a_new_lease_after_sigcont() {
    let Some(address) = server(Kind::Etcd).await else {
        return;
    };
    faults::sigstop(LivenessDriver::ETCD, &address, &TEXTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restarted_after_20_s_the_service_runs_on_and_is_back_up() {
    let Some(mut etcd) = PrivateServer::start(Private::Etcd) else {
        return;
    };
    faults::server_restart(LivenessDriver::ETCD, &mut etcd, &TEXTS).await;
}
