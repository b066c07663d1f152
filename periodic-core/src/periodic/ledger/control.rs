//! The operator's controls of a task (pause, resume, run now) as the ledger keeps them.

use super::scope::TaskScope;
use crate::error::{Error, ErrorKind};

/// The longest pause reason [`TaskControl::Pause`] accepts, in characters.
pub const MAX_PAUSE_REASON: usize = 255;

/// An operator's control of one task, applied with [`TaskLedger::control`](super::TaskLedger::control).
///
/// The rules every store keeps:
///
/// * **Pause**: the task does not run, on any runner that shares the ledger (every
///   replica of a fleet), until it is resumed; the state is in the store, so it survives
///   restarts. A run in progress is not cancelled. Pausing a paused task replaces its
///   reason.
/// * **Resume**: the task runs on its regular schedule again (a missed slot is not made
///   up); the reason is cleared.
/// * **Run now**: the task runs once, at once (at the runner's next pass or within a
///   second), on one runner only: the request is consumed in one conditional statement
///   that issues a new fencing token ([`TaskLedger::take_run_request`](super::TaskLedger::take_run_request)). The regular
///   schedule is unchanged. A request for a **paused** task runs it once too (an
///   operator who asks for a run gets one); it stays paused. A second request before the
///   first was consumed is the same request.
///
/// ```
/// use periodic::TaskControl;
///
/// let pause = TaskControl::pause(Some("maintenance"))?;
/// assert_eq!(pause.verb(), "paused");
/// assert!(TaskControl::pause(Some("a\0b")).is_err());
/// # Ok::<(), periodic::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskControl {
    /// Stop running the task until [`Resume`](Self::Resume).
    Pause {
        /// Why, shown to other operators (at most [`MAX_PAUSE_REASON`] characters, no
        /// NUL).
        reason: Option<String>,
    },
    /// Run the task on its schedule again.
    Resume,
    /// Run the task once, at once.
    RunNow,
}

impl TaskControl {
    /// A pause with `reason`, checked.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Invalid`] for a reason with a NUL character or longer than
    /// [`MAX_PAUSE_REASON`] characters.
    pub fn pause(reason: Option<&str>) -> Result<TaskControl, Error> {
        let control = TaskControl::Pause {
            reason: reason.map(str::to_owned),
        };
        control.check()?;
        Ok(control)
    }

    /// Checks the control's text (what every store does before writing).
    ///
    /// # Errors
    ///
    /// As [`pause`](Self::pause).
    pub fn check(&self) -> Result<(), Error> {
        if let TaskControl::Pause {
            reason: Some(reason),
        } = self
        {
            if reason.contains('\0') {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    "the pause reason contains a NUL character",
                ));
            }
            let chars = reason.chars().count();
            if chars > MAX_PAUSE_REASON {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!(
                        "the pause reason has {chars} characters; at most {MAX_PAUSE_REASON} are allowed"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The past participle for messages: `paused`, `resumed`, `run requested`.
    pub fn verb(&self) -> &'static str {
        match self {
            TaskControl::Pause { .. } => "paused",
            TaskControl::Resume => "resumed",
            TaskControl::RunNow => "run requested",
        }
    }
}

/// The error of a control or history of a task that has no ledger row.
pub(crate) fn task_not_found(scope: &TaskScope, task: &str) -> Error {
    Error::not_found(format!("Task {task} could not be found in {scope}."))
}

/// The control state of one task, as a runner polls it ([`TaskLedger::controls`](super::TaskLedger::controls)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ControlState {
    /// The task.
    pub task: String,
    /// Whether it is paused.
    pub paused: bool,
    /// When a pending run-now request was made (store milliseconds).
    pub run_requested: Option<i64>,
}

impl ControlState {
    /// The state of `task` (for implementations outside the crate).
    pub fn new(task: impl Into<String>, paused: bool, run_requested: Option<i64>) -> Self {
        ControlState {
            task: task.into(),
            paused,
            run_requested,
        }
    }
}
