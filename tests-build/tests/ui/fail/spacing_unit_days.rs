use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 2d)]
    async fn tick(&self) {}
}

fn main() {}
