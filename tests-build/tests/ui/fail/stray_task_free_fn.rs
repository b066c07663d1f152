use periodic::periodic_task;

#[periodic_task(spacing = 60)]
async fn tick() {}

fn main() {
    // The function is still emitted: using it is not a second error.
    drop(tick());
}
