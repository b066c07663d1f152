//! `#[periodic_tasks(crate = path)]` in a crate that knows `periodic` only as `periodic2`:
//! every path of the expansion must start with the given path (`::periodic` does not
//! resolve here), and the tasks are registered and run as usual.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use periodic2::{PeriodicRunner, periodic_tasks};

/// The context of a pass.
struct Context;

/// A `Display`-only error, the one error kind that goes through `ViaDisplay`.
#[derive(Debug)]
struct Oops;

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops")
    }
}

#[derive(Default)]
struct Conductor {
    runs: AtomicU32,
}

#[periodic_tasks(crate = periodic2)]
impl Conductor {
    /// Async, with a context and an error that converts into a `BoxError`.
    #[periodic_task(spacing = 60, run_immediately)]
    async fn check_nodes(&self, _ctx: &Context) -> Result<(), std::io::Error> {
        if self.runs.fetch_add(1, Ordering::SeqCst) > 100 {
            return Err(std::io::Error::other("too many runs"));
        }
        Ok(())
    }

    /// Blocking, with a `Display`-only error.
    #[periodic_task(run_immediately, name = "sync")]
    fn sync_power_states(&self) -> Result<u32, Oops> {
        match self.runs.fetch_add(1, Ordering::SeqCst) {
            n if n > 100 => Err(Oops),
            n => Ok(n),
        }
    }

    /// Returns nothing; never runs.
    #[periodic2::periodic_task(enabled = false)]
    async fn disabled(&self) {}
}

/// The crate reached through a module of the user's crate, by a `crate::` path.
mod deps {
    pub(crate) use periodic2 as scheduler;
}

struct ViaModule;

#[periodic_tasks(crate = crate::deps::scheduler)]
impl ViaModule {
    #[periodic_task]
    async fn tick(&self) {}
}

#[test]
fn tasks_are_registered() {
    let mut names: Vec<_> = periodic2::registered_tasks()
        .into_iter()
        .map(|task| (task.owner, task.name))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            ("Conductor", "check_nodes"),
            ("Conductor", "disabled"),
            ("Conductor", "sync"),
            ("ViaModule", "tick"),
        ]
    );
    let _ = ViaModule;
}

#[tokio::test(start_paused = true)]
async fn tasks_run() {
    let manager = Arc::new(Conductor::default());
    let runner = PeriodicRunner::<Conductor, Context>::new(Arc::clone(&manager)).unwrap();
    runner.run_periodic_tasks(Context).await.unwrap();
    assert_eq!(
        manager.runs.load(Ordering::SeqCst),
        2,
        "the two run_immediately tasks ran, the disabled one did not"
    );
}
