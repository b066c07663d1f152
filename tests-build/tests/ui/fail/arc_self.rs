use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(self: std::sync::Arc<Self>) {}
}

fn main() {}
