use periodic::periodic_tasks;

#[derive(Debug)]
struct NotDisplay;
struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn tick(&self) -> Result<(), NotDisplay> {
        Err(NotDisplay)
    }
}

fn main() {}
