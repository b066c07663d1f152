//! Fleet tasks: `fleet` alone and `fleet = "name"`, and methods that take the run's
//! `&RunContext` last (by any path), with and without a context, async and blocking.

use periodic::{Fleet, PeriodicRunner, RunContext, periodic_tasks, registered_tasks};

struct Scheduler;

struct RequestContext;

#[periodic_tasks]
impl Scheduler {
    #[periodic_task(spacing = 600, fleet)]
    async fn clean_up(&self, run: &RunContext) {
        let _ = (run.token(), run.slot(), run.fence(), run.is_cancelled());
    }

    #[periodic_task(spacing = 60, fleet = "cells")]
    async fn heal(&self, _ctx: &RequestContext, run: &periodic::RunContext) {
        run.cancelled().await;
    }

    #[periodic_task(fleet)]
    fn blocking(&self, run: &::periodic::RunContext) {
        let _ = run.task();
    }

    #[periodic_task]
    async fn plain(&self, _run: &RunContext) {}
}

fn main() {
    let fleets: Vec<Option<Fleet>> = registered_tasks()
        .into_iter()
        .filter(|t| t.owner == "Scheduler")
        .map(|t| t.fleet)
        .collect();
    assert_eq!(
        fleets,
        [
            Some(Fleet::Default),
            Some(Fleet::named("cells")),
            Some(Fleet::Default),
            None
        ]
    );
    // A fleet task needs a ledger.
    let err = PeriodicRunner::<Scheduler, RequestContext>::new(Scheduler).unwrap_err();
    assert!(err.to_string().contains("has no task ledger"), "{err}");
}
