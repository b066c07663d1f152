use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(run_immediately = True)]
    async fn tick(&self) {}
}

fn main() {}
