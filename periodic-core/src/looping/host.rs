//! [`TimerHost`]: what a looping call needs from a group that owns it (a
//! [`TaskGroup`](crate::TaskGroup) timer), handed down by the group so that this module
//! does not know the group.

use tokio_util::task::TaskTracker;

use super::control::RunTokens;

/// A group that owns looping calls as its timers. The call asks it, on each
/// [`start`](super::LoopingCall::start), for the run's signals and where to spawn the
/// loop, and polls its callee inside [`enter`](Self::enter).
pub(crate) trait TimerHost: Send + Sync + 'static {
    /// The signals of a timer's next run: the group's stop and abort tokens.
    fn run_tokens(&self) -> RunTokens;

    /// Tracks the timers' tasks, so that the group can wait for them.
    fn tracker(&self) -> &TaskTracker;

    /// Calls `poll` (one poll of a timer's callee) so that the group can tell that the
    /// code running is one of its own (a callee that stops its own group must not wait for
    /// itself).
    fn enter(&self, poll: &mut dyn FnMut());
}
