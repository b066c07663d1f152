use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60, run_immediately, spacing = 30)]
    async fn tick(&self) {}
}

fn main() {}
