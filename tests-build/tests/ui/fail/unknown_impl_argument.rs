use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks(krate = periodic)]
impl Manager {
    #[periodic_task]
    async fn tick(&self) {}
}

fn main() {}
