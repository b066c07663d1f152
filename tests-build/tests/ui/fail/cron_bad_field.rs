use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(cron = "0 0 25 * * *")]
    async fn purge(&self) {}
}

fn main() {}
