//! The `db` driver on MySQL (or MariaDB), against a real server (`PERIODIC_TEST_MYSQL_URL`,
//! or the local default; skipped with a message when unset and unreachable). Each test
//! gets a scratch database of its own; the suite is `tests/support/sql_suite.rs`.

#![cfg(feature = "mysql")]

mod support;

support::sql_suite::sql_store_suite!(kind: Kind::MySql, port: 3306, scheme: "mysql");
