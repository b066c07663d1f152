//! The two kinds of task: `async fn` (awaited) and plain `fn` (run on the blocking pool),
//! with and without a context.

use std::io;

use periodic::periodic_tasks;

struct Context;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60, run_immediately)]
    async fn update_available_resource(&self, _ctx: &Context) -> Result<(), io::Error> {
        Ok(())
    }

    #[periodic_task]
    async fn heal_instance_info_cache(&self) {}

    #[periodic_task]
    fn sync_power_states(&self, _ctx: &Context) {}

    #[periodic_task(spacing = 10)]
    fn reclaim_queued_deletes(&self) -> Result<(), io::Error> {
        Ok(())
    }
}

fn main() {}
