//! Not a library: the home of the compile-time tests of `#[periodic_tasks]` and
//! `#[periodic_task]` (`tests/ui.rs`, cases in `tests/ui/pass` and `tests/ui/fail`), as
//! tokio keeps its own in `tests-build`.
//!
//! trybuild compiles every case as a crate of its own, against this package's
//! dependencies and dev-dependencies, in `target/tests/trybuild`. Kept apart from the
//! `periodic` package, whose tests need SQL drivers, an HTTP client and more, the cases
//! build only `periodic` (feature `macros`) and tokio.
//!
//! ```text
//! cargo test -p periodic-tests-build               # the ui test alone
//! TRYBUILD=overwrite cargo test -p periodic-tests-build   # refresh the .stderr files, then review the diff
//! ```
