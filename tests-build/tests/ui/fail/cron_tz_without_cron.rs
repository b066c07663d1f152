use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 60, tz = "Europe/Paris")]
    async fn purge(&self) {}
}

fn main() {}
