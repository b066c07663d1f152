use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 600, cron = "0 */10 * * * *")]
    async fn purge(&self) {}
}

fn main() {}
