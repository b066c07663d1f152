use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(ticks_between_runs = 5)]
    async fn tick(&self) {}
}

fn main() {}
