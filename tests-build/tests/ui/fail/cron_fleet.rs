use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(cron = "@hourly", fleet)]
    async fn purge(&self) {}
}

fn main() {}
