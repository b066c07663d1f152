use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(name = "")]
    async fn tick(&self) {}
}

fn main() {}
