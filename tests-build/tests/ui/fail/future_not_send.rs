use periodic::periodic_tasks;

use std::rc::Rc;
struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(&self) {
        let counter = Rc::new(1);
        tokio::task::yield_now().await;
        drop(counter);
    }
}

fn main() {}
