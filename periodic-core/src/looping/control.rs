//! Stopping and aborting a looping call: the signals of a group that owns it
//! ([`RunTokens`]), the state a call shares with its loop and its handles ([`Control`]), and
//! [`StopHandle`].

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;
use tokio_util::sync::CancellationToken;

/// The signals of a group that owns the call (see
/// [`TimerHost`](super::host::TimerHost)): its stop and abort tokens (clones, not
/// children: no allocation per timer). A call that no group owns has neither, and is
/// stopped through its [`Control`] alone.
#[derive(Default)]
pub(crate) struct RunTokens {
    /// Cancelled when the group stops its timers: the loop ends at its next sleep.
    pub(crate) group_stop: Option<CancellationToken>,
    /// Cancelled when the group aborts its timers: a running callee is dropped too.
    pub(crate) group_abort: Option<CancellationToken>,
}

/// Set by [`Control::stop`] (and by an abort).
const STOPPED: u8 = 1;
/// Set by [`Control::abort`].
const ABORTED: u8 = 2;

/// Shared by a [`LoopingCall`](super::LoopingCall), its [`StopHandle`]s and its running
/// loop.
///
/// Two flags and the loop's waker: the loop reads the flags with one atomic load per run
/// (no lock) and registers its waker only when it is about to wait, and a stop or an abort
/// sets a flag and wakes it. No token and no notification list per call: a running call
/// costs one small allocation for this, and nothing per run.
#[derive(Default)]
pub(crate) struct Control {
    /// `STOPPED` and `ABORTED` of the current run; cleared by `begin`.
    flags: AtomicU8,
    /// The running loop's task, woken by a stop or an abort.
    waker: AtomicWaker,
}

impl Control {
    /// A new run starts: an earlier stop or abort is forgotten.
    pub(crate) fn begin(&self) {
        self.flags.store(0, Ordering::SeqCst);
    }

    pub(crate) fn stop(&self) {
        self.flags.fetch_or(STOPPED, Ordering::SeqCst);
        self.waker.wake();
    }

    pub(crate) fn abort(&self) {
        // (Before the first start this sets only the flags, which `begin` clears.)
        self.flags.fetch_or(STOPPED | ABORTED, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Whether [`stop`](Self::stop) or [`abort`](Self::abort) was called since the run
    /// began.
    pub(crate) fn is_stopped(&self) -> bool {
        self.flags.load(Ordering::SeqCst) & STOPPED != 0
    }

    /// Whether [`abort`](Self::abort) was called since the run began.
    pub(crate) fn is_aborted(&self) -> bool {
        self.flags.load(Ordering::SeqCst) & ABORTED != 0
    }

    /// Arranges for the task polling with `cx` to be woken by the next stop or abort, and
    /// says whether `flag` (`is_stopped` or `is_aborted`) is already set: registered
    /// before the flag is read, so that a stop in between is not missed.
    pub(crate) fn poll_flag(&self, cx: &Context<'_>, flag: fn(&Self) -> bool) -> Poll<()> {
        self.waker.register(cx.waker());
        if flag(self) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Stops or aborts a [`LoopingCall`](super::LoopingCall) from elsewhere; made by
/// [`LoopingCall::stop_handle`](super::LoopingCall::stop_handle). Cheap to clone.
#[derive(Clone)]
pub struct StopHandle {
    control: std::sync::Arc<Control>,
}

impl StopHandle {
    pub(crate) fn new(control: std::sync::Arc<Control>) -> Self {
        StopHandle { control }
    }

    /// Same as [`LoopingCall::stop`](super::LoopingCall::stop).
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Same as [`LoopingCall::abort`](super::LoopingCall::abort).
    pub fn abort(&self) {
        self.control.abort();
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}
