use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(cron = "0 0 3 * * *", tz = "Europe/Pariss")]
    async fn purge(&self) {}
}

fn main() {}
