//! What the lanes of a [`Concurrency::Lanes`](crate::Concurrency::Lanes) runner share with
//! it: the tracker of running lanes, the tokens that stop them (between runs) or abort them
//! (in a run), and the first failure a lane saw for
//! [`ErrorPolicy::Propagate`](crate::ErrorPolicy::Propagate). The lanes themselves are in
//! `lanes.rs`.

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::Error;

/// The tokens of one generation of lanes: a stop ends them all; the next pass starts a new
/// generation.
#[derive(Clone, Default)]
pub(super) struct Generation {
    /// Cancelled: lanes start no further run and hand their tasks back to the passes.
    pub(super) stop: CancellationToken,
    /// Cancelled: lanes also drop their async run in progress.
    pub(super) abort: CancellationToken,
}

/// The runner's side of its lanes.
#[derive(Default)]
pub(super) struct LaneControl {
    pub(super) tracker: TaskTracker,
    generation: Mutex<Generation>,
    failure: Mutex<Option<Error>>,
}

impl LaneControl {
    /// The tokens new lanes take: the current generation's, or a new one after a stop.
    pub(super) fn generation(&self) -> Generation {
        let mut current = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if current.stop.is_cancelled() {
            *current = Generation::default();
        }
        current.clone()
    }

    /// Stops the current generation; with `abort`, async runs in progress are dropped too.
    pub(super) fn stop(&self, abort: bool) {
        let current = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        current.stop.cancel();
        if abort {
            current.abort.cancel();
        }
    }

    /// Keeps `err` for the next pass to return, unless an earlier failure is waiting.
    pub(super) fn fail(&self, err: Error) {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(err);
    }

    /// The failure waiting to be returned, if any.
    pub(super) fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}
