use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60)]
    #[periodic_task(run_immediately)]
    async fn tick(&self) {}
}

fn main() {}
