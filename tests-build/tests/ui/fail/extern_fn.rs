use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    extern "C" fn tick(&self) {}
}

fn main() {}
