use periodic::periodic_tasks;

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(name = "heal")]
    async fn heal_instance_info_cache(&self) {}

    #[periodic_task(spacing = 10, name = "heal")]
    async fn heal_volumes(&self) {}
}

fn main() {}
