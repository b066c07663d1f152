use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(enabled = 1)]
    async fn tick(&self) {}
}

fn main() {}
