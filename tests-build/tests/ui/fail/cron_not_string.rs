use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(cron = 5)]
    async fn purge(&self) {}
}

fn main() {}
