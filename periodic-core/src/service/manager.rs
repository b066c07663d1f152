//! The `Manager` trait: what a service runs (nova's `manager.Manager`).

use std::future::Future;

use crate::error::BoxError;
use crate::servicegroup::ServiceRecord;

/// What a [`Service`](crate::Service) runs: the hooks nova calls around a service's start
/// and stop, the context its periodic tasks get, and its health check. The periodic tasks
/// themselves are the manager type's `#[periodic_task]` methods.
///
/// Every hook has a default that does nothing, so a manager without hooks is:
///
/// ```
/// use periodic::{Manager, periodic_tasks};
///
/// struct Scheduler;
///
/// impl Manager for Scheduler {
///     type Context = ();
///     fn context(&self) {}
/// }
///
/// #[periodic_tasks]
/// impl Scheduler {
///     #[periodic_task(spacing = 60)]
///     async fn refresh_host_state(&self) {}
/// }
/// ```
///
/// The hooks run in nova's order at [`Service::start`](crate::Service::start):
/// [`init_host`](Self::init_host), the service record is loaded or created,
/// [`pre_start_hook`](Self::pre_start_hook), [`post_start_hook`](Self::post_start_hook),
/// then the heartbeat and the periodic tasks start. [`cleanup_host`](Self::cleanup_host)
/// runs at the end of a stop.
pub trait Manager: Send + Sync + 'static {
    /// The context handed to the periodic tasks: nova's `RequestContext`. Use `()` for
    /// none.
    type Context: Send + Sync + 'static;

    /// A fresh context for one pass over the periodic tasks (nova's
    /// `context.get_admin_context()`).
    fn context(&self) -> Self::Context;

    /// Prepares the host before anything else starts (nova's `init_host`). An error aborts
    /// the start.
    fn init_host(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }

    /// Runs once the service record exists and before the service is announced (nova's
    /// `pre_start_hook`, which gets the record). An error aborts the start.
    fn pre_start_hook(
        &self,
        service: &ServiceRecord,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        let _ = service;
        async { Ok(()) }
    }

    /// Runs after the service is set up, just before it joins the service group (nova's
    /// `post_start_hook`). An error aborts the start.
    fn post_start_hook(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }

    /// Whether the manager is healthy (cinder's `is_working`): asked before every
    /// heartbeat; while it says `false` the service stops heartbeating and shows down on
    /// purpose. It runs on the heartbeat's thread, so it must be quick and must not block.
    fn is_working(&self) -> bool {
        true
    }

    /// Runs at the end of a stop, after the periodic tasks finished (nova's
    /// `cleanup_host`).
    fn cleanup_host(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}
