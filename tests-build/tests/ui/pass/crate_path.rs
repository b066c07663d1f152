//! `#[periodic_tasks(crate = path)]` with the paths a user may write. (That the path is
//! really used, with `::periodic` out of reach, is tested in `tests-renamed`.)

use periodic::periodic_tasks;

mod deps {
    pub(crate) use ::periodic as scheduler;
}

struct Plain;

#[periodic_tasks(crate = periodic)]
impl Plain {
    #[periodic_task(spacing = 10)]
    async fn tick(&self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

struct Absolute;

#[periodic_tasks(crate = ::periodic,)]
impl Absolute {
    #[periodic_task]
    fn blocking(&self) -> Result<u8, String> {
        Ok(1)
    }
}

struct ThroughAModule;

#[periodic::periodic_tasks(crate = crate::deps::scheduler)]
impl ThroughAModule {
    #[periodic_task]
    async fn with_context(&self, _ctx: &Self) {}
}

fn main() {
    let _ = (Plain, Absolute, ThroughAModule);
}
