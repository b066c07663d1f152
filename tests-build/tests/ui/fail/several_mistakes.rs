use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = "60", foo)]
    async fn tick(&mut self) {}

    #[periodic_task(enabled = 0)]
    fn tock<T>(&self) {}
}

fn main() {}
