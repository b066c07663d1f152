use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    fn tick(&self) -> impl std::future::Future<Output = ()> {
        async {}
    }
}

fn main() {}
