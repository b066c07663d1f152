use periodic::periodic_tasks;

#[periodic_tasks]
struct Manager;

fn main() {}
