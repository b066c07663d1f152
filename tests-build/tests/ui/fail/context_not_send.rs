use std::rc::Rc;

use periodic::periodic_tasks;

struct Manager;

struct Context {
    shared: Rc<String>,
}

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(&self, ctx: &Context) {
        let _ = ctx.shared.len();
    }
}

fn main() {}
