//! Every supported return type: `()`, and `Result<T, E>` whose error converts into a
//! `BoxError` or only implements `Display`, including a borrowed `&'static str`.

use std::error::Error;
use std::fmt;
use std::io;

use periodic::periodic_tasks;

struct Manager;

#[derive(Debug)]
struct DisplayOnly;

impl fmt::Display for DisplayOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("display only")
    }
}

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn implicit_unit(&self) {}

    #[periodic_task]
    #[allow(clippy::unused_unit)]
    fn explicit_unit(&self) -> () {}

    #[periodic_task]
    async fn io_error(&self) -> Result<(), io::Error> {
        Ok(())
    }

    #[periodic_task]
    fn string_error(&self) -> Result<(), String> {
        Err("failed".to_owned())
    }

    #[periodic_task]
    async fn static_str_error(&self) -> Result<(), &'static str> {
        Err("failed")
    }

    #[periodic_task]
    fn boxed_error(&self) -> Result<(), Box<dyn Error + Send + Sync>> {
        Ok(())
    }

    #[periodic_task]
    async fn display_error(&self) -> Result<(), DisplayOnly> {
        Err(DisplayOnly)
    }

    #[periodic_task]
    fn value_is_dropped(&self) -> Result<u64, io::Error> {
        Ok(42)
    }

    #[periodic_task]
    async fn infallible(&self) -> Result<(), std::convert::Infallible> {
        Ok(())
    }
}

fn main() {}
