//! The macros by import and by path, and the helper written either way inside.

use periodic::periodic_tasks;

struct Imported;

#[periodic_tasks]
impl Imported {
    #[periodic_task]
    async fn short_helper(&self) {}

    #[periodic::periodic_task]
    async fn path_helper(&self) {}
}

struct ByPath;

#[periodic::periodic_tasks]
impl ByPath {
    #[periodic_task(spacing = 1)]
    async fn short_helper(&self) {}

    #[::periodic::periodic_task(spacing = 2)]
    fn absolute_helper(&self) {}
}

mod renamed_crate {
    use ::periodic as p;

    pub struct Manager;

    #[p::periodic_tasks]
    impl Manager {
        #[periodic_task]
        async fn tick(&self) {}
    }
}

fn main() {
    let _ = renamed_crate::Manager;
}
