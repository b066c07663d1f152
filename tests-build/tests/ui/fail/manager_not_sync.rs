use std::cell::Cell;

use periodic::periodic_tasks;

struct Manager {
    runs: Cell<u64>,
}

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    fn tick(&self) {
        self.runs.set(self.runs.get() + 1);
    }
}

fn main() {}
