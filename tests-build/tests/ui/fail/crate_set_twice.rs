use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks(crate = periodic, crate = ::periodic)]
impl Manager {
    #[periodic_task]
    async fn tick(&self) {}
}

fn main() {}
