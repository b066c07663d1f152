use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks(spacing = 60)]
impl Manager {
    #[periodic_task]
    async fn tick(&self) {}
}

fn main() {}
