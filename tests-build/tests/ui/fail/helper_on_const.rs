use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    const SPACING: u64 = 60;
}

fn main() {}
