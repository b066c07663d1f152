use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 5min)]
    async fn tick(&self) {}
}

fn main() {}
