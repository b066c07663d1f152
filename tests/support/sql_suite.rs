//! The test suite every SQL server runs (`tests/servicegroup_postgres.rs`,
//! `tests/servicegroup_mysql.rs`): the shared scenarios on a scratch database of their
//! own, the store outage through a TCP proxy, and the errors of a missing table and an
//! unreachable server. Real time, `report_interval` 1 s, `service_down_time` 3 s.

#![allow(unused_macros, unused_imports)] // files that are not SQL suites include it too

/// Expands to the suite's `#[tokio::test]` functions for one server: its [`Kind`], its
/// default port and its URL scheme.
///
/// [`Kind`]: crate::support::servers::Kind
macro_rules! sql_store_suite {
    (kind: $kind:expr, port: $port:expr, scheme: $scheme:literal) => {
        use std::time::{Duration, Instant};

        use periodic::{ErrorKind, JoinOptions, NewService, ServiceGroup, ServiceGroupConfig};
        use $crate::support::scenarios::{self, Via};
        use $crate::support::servers::{Kind, Proxy, ScratchDb, addr_of, kill_sessions, with_addr};

        const KIND: Kind = $kind;
        const PORT: u16 = $port;

        fn db() -> ServiceGroupConfig {
            ServiceGroupConfig::default()
        }

        /// Runs `scenario` on a scratch database, or returns if the server's tests are
        /// skipped.
        macro_rules! on_scratch {
            (|$url:ident| $body:expr) => {{
                let Some(scratch) = ScratchDb::create(KIND).await else {
                    return;
                };
                {
                    let $url: &str = &scratch.url;
                    $body;
                }
                scratch.drop_db().await;
            }};
        }

        #[tokio::test]
        async fn several_up_one_killed() {
            on_scratch!(|url| scenarios::several_up_one_killed(url, &db()).await);
        }

        #[tokio::test]
        async fn admin_round_trips() {
            on_scratch!(|url| scenarios::admin_round_trips(url, &db()).await);
        }

        #[tokio::test]
        async fn text_is_checked_before_the_store() {
            on_scratch!(|url| scenarios::text_is_checked_before_the_store(url, &db()).await);
        }

        #[tokio::test]
        async fn leave_is_down_at_once() {
            on_scratch!(|url| scenarios::leave_is_down_at_once(url, &db()).await);
        }

        #[tokio::test]
        async fn race_safe_create() {
            on_scratch!(|url| scenarios::race_safe_create(url, &db()).await);
        }

        #[tokio::test]
        async fn skewed_writer_stays_up() {
            on_scratch!(|url| scenarios::skewed_writer_stays_up(url, &db()).await);
        }

        #[tokio::test]
        async fn deleted_record_is_recreated() {
            on_scratch!(|url| scenarios::deleted_record_is_recreated(url, &db()).await);
        }

        #[tokio::test]
        async fn blocked_runtime_does_not_make_it_look_down() {
            on_scratch!(|url| {
                scenarios::blocked_runtime_does_not_make_it_look_down(url, &db()).await
            });
        }

        #[tokio::test]
        async fn the_server_going_away_is_logged_once_each_way() {
            on_scratch!(|url| {
                let proxy = Proxy::new(addr_of(url, PORT).await).await;
                let through = with_addr(url, proxy.addr);
                scenarios::outage(
                    Via(&through, &db()),
                    Via(url, &db()),
                    &proxy,
                    "model server went away",
                    "Recovered model server connection!",
                )
                .await;
            });
        }

        /// After a server restart every pooled connection is dead while idle: the next
        /// admin write, the next heartbeat and a graceful leave still succeed, on a fresh
        /// connection (a leave used to fail with "terminating connection due to
        /// administrator command" and the service stayed up).
        #[tokio::test]
        async fn dead_idle_connections_do_not_fail_the_next_write() {
            on_scratch!(|url| {
                let group = ServiceGroup::open(url, scenarios::short(&db()))
                    .await
                    .unwrap();
                let svc = group
                    .get_or_create(&NewService::new("restarted", "nova-compute", "compute"))
                    .await
                    .unwrap();
                // Several idle connections in the pool.
                futures::future::join_all((0..4).map(|_| group.get(svc.id))).await;
                kill_sessions(KIND, url).await;
                group
                    .disable(svc.id, Some("after a restart"))
                    .await
                    .unwrap();
                kill_sessions(KIND, url).await;
                group.enable(svc.id).await.unwrap();

                let heartbeat = group
                    .join(&svc, JoinOptions::new().initial_delay(Duration::ZERO))
                    .await
                    .unwrap();
                let reports = |n: u64| {
                    let heartbeat = &heartbeat;
                    async move {
                        let deadline = Instant::now() + Duration::from_secs(20);
                        while heartbeat.stats().reports_ok < n {
                            assert!(Instant::now() < deadline, "{:?}", heartbeat.stats());
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                };
                reports(1).await;
                kill_sessions(KIND, url).await;
                reports(3).await;
                assert_eq!(
                    heartbeat.stats().reports_failed,
                    0,
                    "{:?}",
                    heartbeat.stats()
                );

                kill_sessions(KIND, url).await;
                group.leave(heartbeat).await.unwrap();
                assert!(group.get(svc.id).await.unwrap().stopped);
            });
        }

        /// A read-only operator (a role with `SELECT` only) lists the services; opening
        /// writes nothing. A write is refused by the server, as a store error.
        #[tokio::test]
        async fn a_read_only_role_can_list() {
            let Some(scratch) = ScratchDb::create(KIND).await else {
                return;
            };
            let group = ServiceGroup::open(&scratch.url, db()).await.unwrap();
            let svc = group
                .get_or_create(&NewService::new("ro-1", "periodic-compute", "compute"))
                .await
                .unwrap();
            group.report_state(&svc).await.unwrap();
            let reader_url = scratch.read_only_user().await;
            let reader = ServiceGroup::open_existing(&reader_url, db())
                .await
                .unwrap();
            let listed = reader
                .list(&periodic::ServiceFilter::default())
                .await
                .unwrap();
            assert_eq!(listed.len(), 1);
            assert!(listed[0].is_up());
            let err = reader.disable(svc.id, Some("no")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Store, "{err}");
            reader.close().await;
            group.close().await;
            scratch.drop_db().await;
        }

        #[tokio::test]
        async fn ledger_claims() {
            on_scratch!(|url| scenarios::ledger_claims(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_batch_claims() {
            on_scratch!(|url| scenarios::ledger_batch_claims(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_held_and_deleted_rows() {
            on_scratch!(|url| scenarios::ledger_held_and_deleted_rows(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_settles_fleet_runs() {
            on_scratch!(|url| scenarios::ledger_settles_fleet_runs(url, &db()).await);
        }

        #[tokio::test]
        async fn fleet_runner_prepares_its_rows() {
            on_scratch!(|url| scenarios::fleet_runner_prepares_its_rows(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_controls() {
            on_scratch!(|url| scenarios::ledger_controls(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_history() {
            on_scratch!(|url| scenarios::ledger_history(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_records_runs() {
            on_scratch!(|url| scenarios::ledger_records_runs(url, &db()).await);
        }

        #[tokio::test]
        async fn fleet_runners_run_each_slot_once() {
            on_scratch!(|url| scenarios::fleet_runners_run_each_slot_once(url, &db()).await);
        }

        #[tokio::test]
        async fn ledger_fenced_write() {
            on_scratch!(|url| scenarios::ledger_fenced_write(url, &db()).await);
        }

        #[tokio::test]
        async fn a_fleet_run_through_a_store_outage() {
            on_scratch!(|url| {
                let proxy = Proxy::new(addr_of(url, PORT).await).await;
                let through = with_addr(url, proxy.addr);
                scenarios::fleet_run_through_an_outage(&through, url, &proxy, &db()).await;
            });
        }

        #[tokio::test]
        async fn open_existing_needs_the_table() {
            on_scratch!(|url| {
                let err = ServiceGroup::open_existing(url, db()).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound);
                assert!(err.to_string().contains("has no services table"), "{err}");
                ServiceGroup::open(url, db()).await.unwrap();
                ServiceGroup::open_existing(url, db()).await.unwrap();
            });
        }

        #[tokio::test]
        async fn an_unreachable_server_is_one_line_within_the_connect_timeout() {
            let config = db().connect_timeout(Duration::from_secs(1));
            let started = Instant::now();
            let url = concat!($scheme, "://periodic:secret@127.0.0.1:1/test");
            let err = ServiceGroup::open(url, config).await.unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(5));
            assert_eq!(err.kind(), ErrorKind::Store);
            let line = err.report();
            let expected = concat!(
                "cannot connect to the servicegroup store `",
                $scheme,
                "://periodic:***@127.0.0.1:1/test`"
            );
            assert!(line.starts_with(expected), "{line}");
            // The cause, not just "pool timed out".
            assert!(line.contains("Connection refused"), "{line}");
            assert!(!line.contains("secret") && !line.contains('\n'), "{line}");
        }
    };
}

pub(crate) use sql_store_suite;
