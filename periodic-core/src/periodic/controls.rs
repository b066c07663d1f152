//! A runner's view of the operator's controls in its task ledger: which of its tasks are
//! paused and which have a run-now request, kept fresh by a watcher task so that a pass
//! reads them without a store round trip.
//!
//! ```text
//! operator      pause ─────────────────── resume        run now
//! store         paused=1                  paused=0      run_requested=t
//! watcher       ..poll..│..poll..│..poll..│..poll..     │ (≤ 500 ms; PostgreSQL: NOTIFY at once)
//! runner pass    skip    skip     skip     runs on schedule   take → token+1 → run once
//! ```
//!
//! The watcher reads [`TaskLedger::controls`] of the runner's scopes every
//! [`CONTROL_POLL`] (500 ms), or, where the store signals controls
//! ([`TaskLedger::control_signals`], PostgreSQL's `LISTEN/NOTIFY`), at every signal and
//! every [`SIGNALLED_POLL`] in case one was lost. A store that fails is logged once; the
//! last known controls stay in force meanwhile. The watcher ends when the runner is
//! dropped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::ledger::{TaskLedger, TaskScope};

/// How often the controls are read from a store that does not signal them.
pub(crate) const CONTROL_POLL: Duration = Duration::from_millis(500);

/// How often they are read anyway from a store that signals them.
const SIGNALLED_POLL: Duration = Duration::from_secs(5);

/// How long one read of the controls may take.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// `(scope, task)`.
type Key = (String, String);

/// The controls a runner knows of.
#[derive(Debug, Default)]
pub(super) struct Controls {
    known: Mutex<Known>,
    /// Stops the watcher when the runner is dropped.
    watcher: OnceLock<DropGuard>,
}

#[derive(Debug, Default)]
struct Known {
    paused: HashSet<Key>,
    requested: HashSet<Key>,
}

impl Controls {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `task` of `scope` is paused, as last read.
    pub(super) fn is_paused(&self, scope: &TaskScope, task: &str) -> bool {
        self.known()
            .paused
            .contains(&(scope.as_str().to_owned(), task.to_owned()))
    }

    /// Whether `task` of `scope` has a run-now request, as last read.
    pub(super) fn is_requested(&self, scope: &TaskScope, task: &str) -> bool {
        self.known()
            .requested
            .contains(&(scope.as_str().to_owned(), task.to_owned()))
    }

    /// Whether any run-now request is known.
    pub(super) fn any_requested(&self) -> bool {
        !self.known().requested.is_empty()
    }

    /// Forgets the request of `task` (taken here or elsewhere); the next read says again
    /// if one is pending.
    pub(super) fn forget_request(&self, scope: &TaskScope, task: &str) {
        self.known()
            .requested
            .remove(&(scope.as_str().to_owned(), task.to_owned()));
    }

    /// Starts the watcher of `scopes` once (later calls do nothing); it reads the
    /// controls once before this returns, so that the first pass already knows them.
    pub(super) async fn watch(
        self: &Arc<Self>,
        ledger: &Arc<dyn TaskLedger>,
        scopes: Vec<TaskScope>,
    ) {
        if self.watcher.get().is_some() || scopes.is_empty() {
            return;
        }
        let stop = CancellationToken::new();
        if self.watcher.set(stop.clone().drop_guard()).is_err() {
            return;
        }
        let mut failing = false;
        self.read(ledger, &scopes, &mut failing).await;
        let controls = Arc::downgrade(self);
        let ledger = Arc::clone(ledger);
        tokio::spawn(async move {
            let mut signals = ledger.control_signals();
            let poll = if signals.is_some() {
                SIGNALLED_POLL
            } else {
                CONTROL_POLL
            };
            loop {
                let signal = async {
                    match signals.as_mut() {
                        Some(stream) => {
                            if stream.next().await.is_none() {
                                std::future::pending::<()>().await;
                            }
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(poll) => {}
                    () = signal => {}
                }
                let Some(controls) = controls.upgrade() else {
                    return;
                };
                controls.read(&ledger, &scopes, &mut failing).await;
            }
        });
    }

    /// Reads the controls of `scopes`; keeps the last known ones when the store fails.
    async fn read(&self, ledger: &Arc<dyn TaskLedger>, scopes: &[TaskScope], failing: &mut bool) {
        let mut fresh = Known::default();
        for scope in scopes {
            let read = tokio::time::timeout(READ_TIMEOUT, ledger.controls(scope)).await;
            let states = match read {
                Ok(Ok(states)) => states,
                Ok(Err(error)) => {
                    if !std::mem::replace(failing, true) {
                        tracing::warn!(error = %error.report(), "Cannot read the task controls from the ledger; the last known ones stay in force");
                    }
                    return;
                }
                Err(_) => {
                    if !std::mem::replace(failing, true) {
                        tracing::warn!(
                            "The ledger did not answer a read of the task controls within {READ_TIMEOUT:?}; the last known ones stay in force"
                        );
                    }
                    return;
                }
            };
            for state in states {
                let key = (scope.as_str().to_owned(), state.task);
                if state.paused {
                    fresh.paused.insert(key.clone());
                }
                if state.run_requested.is_some() {
                    fresh.requested.insert(key);
                }
            }
        }
        if std::mem::replace(failing, false) {
            tracing::info!("The task controls can be read from the ledger again");
        }
        *self.known() = fresh;
    }
}
