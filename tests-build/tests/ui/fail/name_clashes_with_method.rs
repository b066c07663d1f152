use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn sync_power_states(&self) {}

    #[periodic_task(name = "sync_power_states")]
    async fn sync_power_states_fast(&self) {}
}

fn main() {}
