//! Compile-time behaviour of `#[periodic_tasks]` / `#[periodic_task]`: what must compile
//! (`tests/ui/pass`) and the exact diagnostics of what must not (`tests/ui/fail`, one
//! mistake per file with its `.stderr`). Refresh the snapshots with `TRYBUILD=overwrite`
//! and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
