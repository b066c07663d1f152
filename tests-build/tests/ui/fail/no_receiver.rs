use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick() {}
}

fn main() {}
