use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(&self, _ctx: &impl std::fmt::Debug) {}
}

fn main() {}
