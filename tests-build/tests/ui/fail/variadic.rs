use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    fn tick(&self, _: ...) {}
}

fn main() {}
