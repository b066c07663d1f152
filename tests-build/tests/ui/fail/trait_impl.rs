use std::fmt;

use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Manager")
    }
}

fn main() {}
