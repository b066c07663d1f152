//! Stopping and aborting a looping call: the signals of one run ([`RunTokens`]), the
//! state a call shares with its loop and its handles ([`Control`]), and [`StopHandle`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The signals of one run: `stop` ends the loop at its next sleep (a running callee
/// finishes first); an abort also drops a running callee, see [`Control::abort`].
pub(crate) struct RunTokens {
    pub(crate) stop: CancellationToken,
    /// For a timer of a group (see [`TimerHost`](super::host::TimerHost)): the group's
    /// abort token (a clone, not a child: no allocation per timer).
    pub(crate) group_abort: Option<CancellationToken>,
}

impl RunTokens {
    /// The signals of a call that no group owns: a stop token of its own.
    pub(crate) fn standalone() -> Self {
        RunTokens {
            stop: CancellationToken::new(),
            group_abort: None,
        }
    }
}

/// Shared by a [`LoopingCall`](super::LoopingCall), its [`StopHandle`]s and its running
/// loop.
///
/// An abort is a flag plus a notification rather than a second token, which saves an
/// allocation per running call (the budget is 1 KiB per call).
#[derive(Default)]
pub(crate) struct Control {
    /// The stop token of the current run.
    stop: Mutex<Option<CancellationToken>>,
    /// Set by `abort()`, cleared by `start()`.
    aborted: AtomicBool,
    /// Wakes a loop whose callee is running when `abort()` is called.
    abort: Notify,
}

impl Control {
    /// A new run starts with `stop` as its stop token; an earlier abort is forgotten.
    pub(crate) fn begin(&self, stop: CancellationToken) {
        let mut current = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        *current = Some(stop);
        self.aborted.store(false, Ordering::SeqCst);
    }

    pub(crate) fn stop(&self) {
        let current = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stop) = current.as_ref() {
            stop.cancel();
        }
    }

    pub(crate) fn abort(&self) {
        // (Before the first start this sets only the flag, which `begin` clears.)
        self.aborted.store(true, Ordering::SeqCst);
        self.stop();
        self.abort.notify_waiters();
    }

    /// Whether [`abort`](Self::abort) was called since the run began.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Resolves at the next [`abort`](Self::abort) (register it before reading
    /// [`is_aborted`](Self::is_aborted), so that an abort in between is not missed).
    pub(crate) fn aborted(&self) -> tokio::sync::futures::Notified<'_> {
        self.abort.notified()
    }
}

/// Stops or aborts a [`LoopingCall`](super::LoopingCall) from elsewhere; made by
/// [`LoopingCall::stop_handle`](super::LoopingCall::stop_handle). Cheap to clone.
#[derive(Clone)]
pub struct StopHandle {
    control: Arc<Control>,
}

impl StopHandle {
    pub(crate) fn new(control: Arc<Control>) -> Self {
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
