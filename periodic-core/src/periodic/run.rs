//! What a task may know about the run in progress ([`RunContext`]) and which fleet a task
//! belongs to ([`Fleet`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::ledger::Fence;

/// Which fleet a fleet task belongs to: the replicas that share its runs, one run per slot
/// among them.
///
/// ```
/// use periodic::Fleet;
///
/// let default = Fleet::Default;           // the service's binary
/// let named = Fleet::named("cleanup");    // every service that names this fleet
/// assert_eq!(named.name(), Some("cleanup"));
/// assert_eq!(default.name(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fleet {
    /// The runner's default fleet: a service's binary (see
    /// [`RunnerOptions::default_fleet`](crate::RunnerOptions::default_fleet)).
    Default,
    /// A fleet of this name.
    Named(Cow<'static, str>),
}

impl Fleet {
    /// A fleet of this name.
    pub fn named(name: impl Into<Cow<'static, str>>) -> Fleet {
        Fleet::Named(name.into())
    }

    /// The name, if it is not the default fleet.
    pub fn name(&self) -> Option<&str> {
        match self {
            Fleet::Default => None,
            Fleet::Named(name) => Some(name),
        }
    }
}

/// The run in progress, as a task sees it: its name, and for a fleet task its fleet, the
/// slot it won, its fencing token and the signal that its lease was lost.
///
/// A `#[periodic_task]` method receives it when its last parameter is
/// `run: &periodic::RunContext`; a run-time task made with
/// [`PeriodicTask::with_run_context`](crate::PeriodicTask::with_run_context) gets it by
/// value.
///
/// ```
/// use periodic::{RunContext, periodic_tasks};
///
/// struct Scheduler;
///
/// #[periodic_tasks]
/// impl Scheduler {
///     #[periodic_task(spacing = 600, fleet)]
///     async fn clean_up(&self, run: &RunContext) {
///         for batch in 0..10 {
///             if run.is_cancelled() {
///                 return; // the lease was lost: another replica may take over
///             }
///             let _ = (batch, run.token());
///         }
///     }
/// }
/// ```
#[derive(Clone)]
pub struct RunContext {
    pub(crate) task: Arc<str>,
    pub(crate) fleet: Option<Arc<str>>,
    pub(crate) token: Option<u64>,
    pub(crate) slot: Option<i64>,
    pub(crate) row: Option<i64>,
    pub(crate) cancel: CancellationToken,
}

impl RunContext {
    /// The context of a plain task's run.
    pub(crate) fn plain(task: Arc<str>) -> RunContext {
        RunContext {
            task,
            fleet: None,
            token: None,
            slot: None,
            row: None,
            cancel: CancellationToken::new(),
        }
    }

    /// The task's name.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The fleet's name, for a fleet task.
    pub fn fleet(&self) -> Option<&str> {
        self.fleet.as_deref()
    }

    /// The fencing token of this run, for a fleet task: strictly greater than the token of
    /// every earlier run of the task in the fleet.
    pub fn token(&self) -> Option<u64> {
        self.token
    }

    /// The slot this run won (store time / spacing), for a fleet task.
    pub fn slot(&self) -> Option<i64> {
        self.slot
    }

    /// The fence to put on the task's own SQL writes (see [`Fence::sql_condition`]), for a
    /// fleet task whose ledger is an SQL store.
    pub fn fence(&self) -> Option<Fence> {
        Some(Fence::new(self.row?, self.token?))
    }

    /// Whether the lease was lost: the task should stop, another replica may run the next
    /// slot.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the lease is lost; never for a plain task.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("task", &self.task)
            .field("fleet", &self.fleet)
            .field("token", &self.token)
            .field("slot", &self.slot)
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}
