use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60, overrun = "skip")]
    async fn audit(&self) {}
}

fn main() {}
