//! Every argument, in every accepted form.

use periodic::periodic_tasks;

struct Manager;

macro_rules! every {
    ($seconds:expr) => {
        #[periodic_tasks]
        impl Manager {
            #[periodic_task(spacing = $seconds)]
            async fn from_macro_rules(&self) {}
        }
    };
}

every!(5);

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 0.5)]
    async fn fractional(&self) {}

    #[periodic_task(spacing = -1)]
    async fn negative(&self) {}

    #[periodic_task(spacing = -2.5)]
    async fn negative_float(&self) {}

    #[periodic_task(spacing = 1_800)]
    async fn underscores(&self) {}

    #[periodic_task(spacing = 60u64)]
    async fn suffixed(&self) {}

    #[periodic_task(run_immediately = false)]
    async fn run_later(&self) {}

    #[periodic_task(spacing = 60, timeout = 30)]
    async fn with_timeout(&self) {}

    #[periodic_task(spacing = 60, timeout = 0.25)]
    fn blocking_with_timeout(&self) {}

    #[periodic_task(spacing = 60, overrun = skip)]
    async fn overrun_skip(&self) {}

    #[periodic_task(spacing = 60, overrun = run_once)]
    async fn overrun_run_once(&self) {}

    #[periodic_task(spacing = 60, overrun = catch_up(3))]
    async fn overrun_catch_up(&self) {}

    #[periodic_task(run_immediately = true, external_process_ok)]
    async fn flags(&self) {}

    #[periodic_task(enabled = false, external_process_ok = false)]
    async fn disabled(&self) {}

    #[periodic_task(name = "renamed")]
    async fn with_name(&self) {}

    #[periodic_task(
        spacing = 30,
        run_immediately,
        name = "everything",
        enabled = true,
        external_process_ok = true,
    )]
    async fn all_of_them(&self) {}

    #[periodic_task()]
    async fn empty_parentheses(&self) {}
}

fn main() {}
