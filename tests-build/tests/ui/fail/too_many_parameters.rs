use periodic::periodic_tasks;

struct Context;
struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(&self, _ctx: &Context, _retries: u32, _verbose: bool) {}
}

fn main() {}
