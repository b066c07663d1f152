//! One manager's tasks spread over impl blocks in different modules.

use periodic::periodic_tasks;

pub struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn first(&self) {}
}

mod power {
    use super::Manager;

    #[periodic::periodic_tasks]
    impl Manager {
        #[periodic_task]
        async fn sync_power_states(&self) {}
    }
}

mod volumes {
    #[periodic::periodic_tasks]
    impl super::Manager {
        #[periodic::periodic_task(spacing = 600)]
        fn heal_volumes(&self) {}
    }
}

fn main() {
    let local = {
        struct Local;

        #[periodic_tasks]
        impl Local {
            #[periodic_task]
            async fn inside_a_function(&self) {}
        }

        Local
    };
    let _ = local;
}
