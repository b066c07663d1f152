use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 600, fleet = "")]
    async fn clean_up(&self) {}
}

fn main() {}
