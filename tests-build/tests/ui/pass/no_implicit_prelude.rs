//! The expansion names everything by absolute path: it compiles where the prelude is off.

#![no_implicit_prelude]

extern crate periodic;
extern crate std;

struct Manager;

struct Context;

#[periodic::periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 5, run_immediately)]
    async fn with_context(&self, _ctx: &Context) -> std::result::Result<(), std::io::Error> {
        std::result::Result::Ok(())
    }

    #[periodic_task]
    fn blocking(&self) -> std::result::Result<u8, std::string::String> {
        std::result::Result::Ok(1)
    }
}

fn main() {}
