use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks(crate = periodic::<u8>)]
impl Manager {
    #[periodic_task]
    async fn tick(&self) {}
}

fn main() {}
