use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 0.0000000001)]
    async fn tick(&self) {}
}

fn main() {}
