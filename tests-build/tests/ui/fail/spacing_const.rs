use periodic::periodic_tasks;

const TICK_SECONDS: u64 = 60;
struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = TICK_SECONDS)]
    async fn tick(&self) {}
}

fn main() {}
