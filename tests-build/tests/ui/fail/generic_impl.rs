use periodic::periodic_tasks;

struct Manager<T>(T);

#[periodic_tasks]
impl<T> Manager<T> {
    #[periodic_task]
    async fn tick(&self) {}
}

fn main() {}
