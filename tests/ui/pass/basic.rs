use std::io;

use periodic::periodic_tasks;

struct Context;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60, run_immediately)]
    async fn update(&self, _ctx: &Context) -> Result<(), io::Error> {
        Ok(())
    }

    #[periodic_task]
    fn sync(&self) {}
}

fn main() {}
