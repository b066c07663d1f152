use periodic::periodic_tasks;

struct Context;
struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(&self, _ctx: Context) {}
}

fn main() {}
