use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60, timeout = 500us)]
    async fn audit(&self) {}
}

fn main() {}
