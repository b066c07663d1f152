struct Manager;

impl Manager {
    #[periodic::periodic_task(spacing = 60)]
    async fn tick(&self) {}
}

fn main() {
    // The method is still emitted: calling it is not a second error.
    drop(Manager.tick());
}
