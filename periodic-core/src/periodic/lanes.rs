//! [`Concurrency::Lanes`](crate::Concurrency::Lanes): every task in a lane of its own.
//!
//! A pass starts each due task in a lane (a tokio task) and returns at once. The lane runs
//! the task, and while the task's next due time comes before the next pass (the pass says
//! when: `State::wake`), the lane sleeps until then and runs it again itself; otherwise it
//! hands the task back to the passes. A lane's task is hidden from the index of due times
//! (passes neither start it nor wake up for it), so a slow task holds nobody back, and as
//! one task has at most one run in progress it never overlaps itself.
//!
//! ```text
//! t (s)   0   1   2   3   4   5      (1 s = 4 columns)
//! pass    P                          P starts fast and slow in their lanes and returns
//!                                    60 s: the lanes hold every task until then
//! fast    F   F   F   F   F   F      its lane sleeps to each next due time
//! slow    S═════════S═════════S      ends at 2.5 past its due time 2: runs at once
//! ```
//!
//! The lanes stop (no further run starts) when
//! [`PeriodicRunner::stop_lanes`](crate::PeriodicRunner::stop_lanes) is called, or at the
//! latest at the wake-up time of the last pass when no pass follows.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::lane_control::Generation;
use super::pass::{Launched, Shared, remaining, skip_in_flight};
use super::policy::ErrorPolicy;
use super::run_task::run_launched;
use super::schedule::DEFAULT_INTERVAL;
use crate::error::Result;

impl<M, C> Shared<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// One pass of a lanes runner: starts every due task in a lane and returns the time to
    /// the earliest due task that no lane holds (at most the default interval), with the
    /// first failure a lane saw since the last pass under [`ErrorPolicy::Propagate`].
    pub(super) async fn lanes_pass(
        self: &Arc<Self>,
        ctx: Arc<C>,
        policy: ErrorPolicy,
    ) -> Result<Duration> {
        let _pass = self.begin_pass().await;
        // Run-now requests run in the pass, before the lanes are handed their tasks.
        if let Some(err) = self.run_requests(&ctx, policy).await {
            self.lanes.fail(err);
        }
        let generation = self.lanes.generation();
        let now = Instant::now();
        let mut due = Vec::new();
        {
            let mut state = self.state();
            let now_ns = state.ns(now);
            let mut start = 0;
            while let Some(j) = state.due.first_at_most(start, now_ns) {
                start = j + 1;
                if self.skip_if_paused(&mut state, j, now) {
                    continue;
                }
                if state.in_flight(j) {
                    // Its lane holds it (it was shown by a `set_spacing`): hidden again,
                    // so that the pass does not wait for it.
                    skip_in_flight(&state.slots[j].full_name);
                    state.hide(j);
                } else {
                    due.push(j);
                }
            }
        }
        let mut won = self.claim(&due).await;
        let idle = {
            let mut state = self.state();
            for j in due {
                let launched = if state.slots[j].fleet.is_none() {
                    self.launch(&mut state, j, now, &ctx, None)
                } else if let Some(won) = won.remove(&j) {
                    self.launch(&mut state, j, now, &ctx, Some(won))
                } else {
                    continue;
                };
                state.hide(j);
                let lane = Arc::clone(self).lane(
                    j,
                    Arc::clone(&ctx),
                    launched,
                    policy,
                    generation.clone(),
                );
                self.lanes.tracker.spawn(lane);
            }
            // In the same critical section as the lanes' decisions: a lane that hands its
            // task back before this counts in the idle time, one after it sees the new
            // wake-up time.
            let now = Instant::now();
            let idle =
                remaining(state.due.min(0, state.due.len()), state.ns(now)).min(DEFAULT_INTERVAL);
            state.wake = Some(now + idle);
            idle
        };
        match (policy, self.lanes.take_failure()) {
            (ErrorPolicy::Propagate, Some(err)) => Err(err),
            _ => Ok(idle),
        }
    }

    /// Task `index`'s lane: runs `first`, then each next run that is due before the next
    /// pass, then hands the task back.
    async fn lane(
        self: Arc<Self>,
        index: usize,
        ctx: Arc<C>,
        first: Launched,
        policy: ErrorPolicy,
        generation: Generation,
    ) {
        let mut launched = first;
        loop {
            let Launched {
                of,
                call,
                guard,
                holding,
                timeout,
            } = launched;
            let (name, due) = (Arc::clone(&of.name), of.due);
            let run = run_launched(
                self.fleet.clone(),
                call,
                guard,
                holding,
                &name,
                due,
                timeout,
            );
            let ran = tokio::select! {
                biased;
                () = generation.abort.cancelled() => {
                    self.state().show(index);
                    return;
                }
                ran = run => ran,
            };
            if let Some(err) = self.finish(of, ran, policy) {
                self.lanes.fail(err);
            }
            match self.next_in_lane(index, &ctx, &generation).await {
                Some(next) => launched = next,
                None => return,
            }
        }
    }

    /// The lane's next run of task `index`, once due; `None` when the lane hands the task
    /// back (its next run is not before the next pass, or the lanes were stopped) or
    /// another lane has it.
    async fn next_in_lane(
        &self,
        index: usize,
        ctx: &Arc<C>,
        generation: &Generation,
    ) -> Option<Launched> {
        loop {
            let (due, fleet) = {
                let mut state = self.state();
                if state.in_flight(index) {
                    return None;
                }
                let (due, runnable) = state.due_of(index);
                if generation.stop.is_cancelled() || !runnable {
                    state.show(index);
                    return None;
                }
                let now = Instant::now();
                if due <= now && self.skip_if_paused(&mut state, index, now) {
                    state.show(index);
                    return None;
                }
                if due > now && state.wake.is_none_or(|wake| due >= wake) {
                    state.show(index);
                    return None;
                }
                let fleet = state.slots[index].fleet.is_some();
                if due <= now && !fleet {
                    let launched = self.launch(&mut state, index, now, ctx, None);
                    state.hide(index);
                    return Some(launched);
                }
                (due, fleet)
            };
            if due <= Instant::now() && fleet {
                let won = self.claim(&[index]).await.remove(&index);
                let mut state = self.state();
                if state.in_flight(index) {
                    return None;
                }
                // A lost claim moved the task to its next slot; the lane keeps it.
                state.hide(index);
                if let Some(won) = won {
                    return Some(self.launch(&mut state, index, Instant::now(), ctx, Some(won)));
                }
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = generation.stop.cancelled() => {}
            }
        }
    }

    /// Stops the lanes: no lane starts another run; waits until the runs in progress end.
    pub(super) async fn stop_lanes(&self) {
        self.lanes.stop(false);
        self.lanes.tracker.close();
        self.lanes.tracker.wait().await;
        self.lanes.tracker.reopen();
    }

    /// Stops the lanes and drops their async runs in progress (a blocking run goes on to
    /// its end on its thread).
    pub(super) fn abort_lanes(&self) {
        self.lanes.stop(true);
    }
}
