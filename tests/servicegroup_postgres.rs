//! The `db` driver on PostgreSQL, against a real server (`PERIODIC_TEST_POSTGRES_URL`, or
//! the local default; skipped with a message when unset and unreachable). Each test gets
//! a scratch database of its own; the suite is `tests/support/sql_suite.rs`.

#![cfg(feature = "postgres")]

mod support;

support::sql_suite::sql_store_suite!(kind: Kind::Postgres, port: 5432, scheme: "postgres");
