//! Tasks next to everything else an impl block can hold: constants, types of other
//! methods, doc comments, attributes, `#[cfg]`, visibility, raw identifiers.

#![forbid(unsafe_code)]
#![deny(warnings)]

use periodic::periodic_tasks;

/// A manager.
pub struct Manager {
    interval: u64,
}

#[periodic_tasks]
impl Manager {
    /// A constant next to the tasks.
    pub const NAME: &'static str = "compute";

    /// A constructor.
    pub fn new() -> Self {
        Manager { interval: 60 }
    }

    /// A public task with a doc comment.
    #[periodic_task(spacing = 60)]
    #[inline]
    pub async fn documented(&self) {
        self.helper();
    }

    // A private task.
    #[periodic_task]
    fn private(&self) {
        let _ = self.interval;
    }

    #[periodic_task]
    pub(crate) async fn r#type(&self) {}

    #[periodic_task]
    #[deprecated = "use `documented`"]
    async fn old(&self) {}

    /// Compiled on Unix only: so is its registration.
    #[cfg(unix)]
    #[periodic_task]
    fn platform(&self) {}

    /// The same task name under the opposite cfg is not a duplicate.
    #[cfg(not(unix))]
    #[periodic_task]
    fn platform(&self) {}

    /// Never compiled: its registration must not be either.
    #[cfg(any())]
    #[periodic_task]
    fn never(&self, _ctx: &Missing) {}

    #[allow(clippy::unused_self)]
    fn helper(&self) {}
}

impl Default for Manager {
    fn default() -> Self {
        Self::new()
    }
}

/// No tasks at all: allowed, and a no-op.
#[periodic_tasks]
impl Manager {
    /// An ordinary method.
    pub fn interval(&self) -> u64 {
        self.interval
    }
}

/// A cfg on the impl block, below `#[periodic_tasks]`, also applies to the registrations.
#[periodic_tasks]
#[cfg(any())]
impl Manager {
    #[periodic_task]
    fn never(&self, _ctx: &Missing) {}
}

fn main() {
    let manager = Manager::default();
    assert_eq!(manager.interval(), 60);
    assert_eq!(Manager::NAME, "compute");
}
