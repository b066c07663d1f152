//! **oslo.service-style periodic tasks, looping calls and service heartbeats for tokio.**
//!
//! (The tutorial is written in `README.md`; this page grows with it.)

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

pub use periodic_core::*;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use periodic_macros::{periodic_task, periodic_tasks};

#[doc(hidden)]
pub use periodic_core::__private;
