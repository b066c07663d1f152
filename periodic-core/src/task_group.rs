//! `TaskGroup`: oslo.service's `ThreadGroup`, on a `TaskTracker` and `CancellationToken`s.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::looping::{Callee, DynamicInterval, FixedInterval, LoopingCall, RunTokens, TimerHost};

tokio::task_local! {
    /// The id of the group whose task (or timer) is running, so that `stop` and `wait`
    /// called from inside the group do not wait for themselves.
    static CURRENT_GROUP: u64;
}

/// How [`TaskGroup::stop`] treats work in flight: oslo's `stop(graceful)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// Stop the timers, let the callees that are running finish, and wait for every task
    /// to end by itself (`graceful=True`).
    Graceful,
    /// Stop the timers, abort their running callees and cancel every task (its future is
    /// dropped at its next `.await`) (`graceful=False`, oslo's default).
    Immediate,
}

/// A group of timers (looping calls) and tasks that are stopped together: oslo.service's
/// `ThreadGroup`.
///
/// * [`add_timer`](Self::add_timer) / [`add_dynamic_timer`](Self::add_dynamic_timer)
///   start a [`FixedInterval`] / [`DynamicInterval`] in the group and return its
///   [`LoopingCall`] handle (oslo's `add_timer_args` / `add_dynamic_timer_args`);
/// * [`add_task`](Self::add_task) runs a future, [`add_blocking_task`](Self::add_blocking_task)
///   a blocking closure (oslo's `add_thread`);
/// * [`stop`](Self::stop), [`stop_timers`](Self::stop_timers) and [`wait`](Self::wait)
///   end them.
///
/// Timers and tasks leave the group by themselves when they end, so
/// [`timer_count`](Self::timer_count) and [`task_count`](Self::task_count) count what is
/// still running. A `TaskGroup` is a cheap handle: clones share the group.
///
/// # Stopping
///
/// Timers are stopped first, and all of them are stopped before any is waited for (the
/// order of oslo's fix for LP#1769825):
///
/// ```text
/// stop(Shutdown::Graceful)                      stop(Shutdown::Immediate)
/// 1. stop every timer: sleeps end at once       1. stop every timer and abort the
/// 2. wait for the callees that are running         callees that are running
/// 3. wait for every task to end by itself       2. cancel every task
///                                               3. wait until they are gone
/// ```
///
/// Blocking tasks cannot be interrupted: an immediate stop stops waiting for them and
/// leaves their thread to finish on its own.
///
/// # Differences from oslo.service
///
/// * A timer leaves the group when its loop ends for any reason: after a stop, a `Break`,
///   or a failure. oslo keeps a failed timer listed (with `_running` still true) until
///   `timer_done` or `stop_timers`; here its outcome stays available from its
///   [`LoopingCall::wait`], so there is no `timer_done`.
/// * No size limit: oslo's `thread_pool_size` / `max_threads` do not apply to tokio
///   tasks.
/// * Called from one of the group's own tasks or timer callees, [`stop`](Self::stop) and
///   [`wait`](Self::wait) do not wait (they would wait for themselves); oslo skips only
///   the calling thread. An immediate stop then cancels the calling task too, at its next
///   `.await`; oslo lets the caller run on.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use periodic::{FixedInterval, Shutdown, TaskGroup};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let tg = TaskGroup::new();
/// tg.add_timer(FixedInterval::new(Duration::from_secs(10), || async {
///     // report_state().await
/// }));
/// tg.add_task(async {
///     tokio::time::sleep(Duration::from_secs(3)).await; // some work
/// });
/// assert_eq!((tg.timer_count(), tg.task_count()), (1, 1));
///
/// tg.stop(Shutdown::Graceful).await; // the task finishes its 3 s first
/// assert_eq!((tg.timer_count(), tg.task_count()), (0, 0));
/// # }
/// ```
#[doc(alias = "ThreadGroup")]
#[derive(Clone)]
pub struct TaskGroup {
    shared: Arc<GroupShared>,
}

/// The state a [`TaskGroup`] and its timers share.
pub(crate) struct GroupShared {
    id: u64,
    /// The loops of the timers. Closed from the start, so `wait()` returns whenever it is
    /// empty; spawning into a closed tracker is allowed.
    timers: TaskTracker,
    /// The tasks (`add_task`, `add_blocking_task`).
    tasks: TaskTracker,
    tokens: Mutex<GroupTokens>,
}

/// What every timer's and task's signals derive from (shared clones: a timer's own stop is
/// a flag of its call). Each is replaced once cancelled, so that what is added after a
/// stop runs normally.
struct GroupTokens {
    timers_stop: CancellationToken,
    timers_abort: CancellationToken,
    tasks: CancellationToken,
}

/// What the group hands each of its timers (the looping module does not know groups).
impl TimerHost for GroupShared {
    /// A timer's next run: the group's stop and abort tokens as they are now (clones: a
    /// token replaced after a stop does not reach the timers started before it).
    fn run_tokens(&self) -> RunTokens {
        let tokens = self.tokens();
        RunTokens {
            group_stop: Some(tokens.timers_stop.clone()),
            group_abort: Some(tokens.timers_abort.clone()),
        }
    }

    /// The timers' loops are tracked by the group.
    fn tracker(&self) -> &TaskTracker {
        &self.timers
    }

    /// A timer's loop runs as the group's own code, as `add_task`'s tasks do.
    fn enter(&self, poll: &mut dyn FnMut()) {
        CURRENT_GROUP.sync_scope(self.id, poll);
    }
}

impl GroupShared {
    fn tokens(&self) -> MutexGuard<'_, GroupTokens> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the caller runs in one of this group's tasks or timers.
    fn is_current(&self) -> bool {
        CURRENT_GROUP.try_with(|id| *id == self.id).unwrap_or(false)
    }

    fn stop_timers(&self, abort: bool) {
        let mut tokens = self.tokens();
        replace_cancelled(&mut tokens.timers_stop);
        if abort {
            replace_cancelled(&mut tokens.timers_abort);
        }
    }

    async fn wait(&self) {
        if self.is_current() {
            return;
        }
        self.timers.wait().await;
        self.tasks.wait().await;
    }
}

/// Cancels `token` and puts a fresh one in its place.
fn replace_cancelled(token: &mut CancellationToken) {
    std::mem::take(token).cancel();
}

impl TaskGroup {
    /// An empty group.
    pub fn new() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let timers = TaskTracker::new();
        timers.close();
        let tasks = TaskTracker::new();
        tasks.close();
        TaskGroup {
            shared: Arc::new(GroupShared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                timers,
                tasks,
                tokens: Mutex::new(GroupTokens {
                    timers_stop: CancellationToken::new(),
                    timers_abort: CancellationToken::new(),
                    tasks: CancellationToken::new(),
                }),
            }),
        }
    }

    /// Starts `timer` in the group and returns its handle: oslo's `add_timer_args`.
    ///
    /// The group stops it on [`stop_timers`](Self::stop_timers) and [`stop`](Self::stop);
    /// the handle can stop it too, [`wait`](LoopingCall::wait) for its outcome, and start
    /// it again (it then runs in the group again). Dropping the handle leaves it running.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// use periodic::{FixedInterval, OnError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let tg = TaskGroup::new();
    /// let mut timer = tg.add_timer(
    ///     FixedInterval::new(Duration::from_secs(1), || async { ControlFlow::Break("done") })
    ///         .initial_delay(Duration::from_secs(1))
    ///         .on_error(OnError::Log),
    /// );
    /// assert_eq!(tg.timer_count(), 1);
    /// assert_eq!(timer.wait().await.unwrap(), Some("done"));
    /// assert_eq!(tg.timer_count(), 0);
    /// # }
    /// ```
    #[doc(alias = "add_timer_args")]
    pub fn add_timer<F: Callee<()>>(
        &self,
        timer: FixedInterval<F>,
    ) -> LoopingCall<F::Break, F::Error> {
        self.start_timer(timer.build())
    }

    /// Starts `timer` in the group and returns its handle: oslo's
    /// `add_dynamic_timer_args`. Otherwise as [`add_timer`](Self::add_timer).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// use periodic::{DynamicInterval, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let tg = TaskGroup::new();
    /// let _timer = tg.add_dynamic_timer(
    ///     DynamicInterval::new(|| async { ControlFlow::<(), _>::Continue(None) })
    ///         .periodic_interval_max(Duration::from_secs(2)),
    /// );
    /// assert_eq!(tg.timer_count(), 1);
    /// tg.stop_timers();
    /// tg.wait().await;
    /// assert_eq!(tg.timer_count(), 0);
    /// # }
    /// ```
    #[doc(alias = "add_dynamic_timer_args")]
    pub fn add_dynamic_timer<F: Callee<Option<Duration>>>(
        &self,
        timer: DynamicInterval<F>,
    ) -> LoopingCall<F::Break, F::Error> {
        self.start_timer(timer.build())
    }

    fn start_timer<T: Send + 'static, E: Send + 'static>(
        &self,
        mut call: LoopingCall<T, E>,
    ) -> LoopingCall<T, E> {
        call.set_host(Arc::clone(&self.shared) as Arc<dyn TimerHost>);
        call.started()
    }

    /// Runs `task` on a new tokio task in the group: oslo's `add_thread`.
    ///
    /// The returned handle resolves to `Some(output)`, or to `None` if an immediate
    /// [`stop`](Self::stop) cancelled the task. A panic in the task is caught by tokio and
    /// reported through the handle; it does not affect the group.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use periodic::TaskGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let tg = TaskGroup::new();
    /// let answer = tg.add_task(async { 6 * 7 });
    /// assert_eq!(answer.await.unwrap(), Some(42));
    /// assert_eq!(tg.task_count(), 0);
    /// # }
    /// ```
    #[doc(alias = "add_thread")]
    pub fn add_task<F>(&self, task: F) -> JoinHandle<Option<F::Output>>
    where
        F: Future<Output: Send + 'static> + Send + 'static,
    {
        let token = self.shared.tokens().tasks.clone();
        self.shared
            .tasks
            .spawn(CURRENT_GROUP.scope(self.shared.id, token.run_until_cancelled_owned(task)))
    }

    /// Runs the blocking closure `f` on tokio's blocking thread pool, in the group.
    ///
    /// A graceful [`stop`](Self::stop) waits for it. An immediate stop cannot interrupt a
    /// thread: the group stops waiting for it (the handle then resolves to `None`) and the
    /// closure runs to its end on its own. A panic in `f` is reported through the handle.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use periodic::TaskGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let tg = TaskGroup::new();
    /// let sum = tg.add_blocking_task(|| (1..=10).sum::<u32>());
    /// assert_eq!(sum.await.unwrap(), Some(55));
    /// # }
    /// ```
    pub fn add_blocking_task<F, R>(&self, f: F) -> JoinHandle<Option<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let thread = tokio::task::spawn_blocking(f);
        self.add_task(async move {
            match thread.await {
                Ok(value) => value,
                Err(err) => match err.try_into_panic() {
                    Ok(payload) => std::panic::resume_unwind(payload),
                    // Only when the runtime shuts down, which drops this task too.
                    Err(_) => std::future::pending().await,
                },
            }
        })
    }

    /// Stops every timer of the group (oslo's `stop_timers()`), without waiting: their
    /// sleeps end at once, running callees finish, then the loops end and leave the
    /// group. Timers added afterwards run normally.
    pub fn stop_timers(&self) {
        self.shared.stop_timers(false);
    }

    /// Stops the group: timers first, then the tasks, gracefully or not (see
    /// [Stopping](Self#stopping)); the returned future waits until all of it has ended.
    ///
    /// The stop signals are sent when `stop` is called, not when the future is first
    /// polled. Work added afterwards runs normally (the group can be used again).
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future stops waiting, nothing else; for instance, after a
    /// graceful stop has waited too long, `stop(Shutdown::Immediate)` cancels what is left.
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::{Shutdown, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let tg = TaskGroup::new();
    /// let slow = tg.add_task(tokio::time::sleep(Duration::from_secs(3600)));
    /// let graceful = tg.stop(Shutdown::Graceful);
    /// if tokio::time::timeout(Duration::from_secs(30), graceful).await.is_err() {
    ///     tg.stop(Shutdown::Immediate).await;
    /// }
    /// assert_eq!(slow.await.unwrap(), None); // cancelled
    /// # }
    /// ```
    pub fn stop(&self, how: Shutdown) -> impl Future<Output = ()> + Send + 'static {
        self.shared.stop_timers(how == Shutdown::Immediate);
        if how == Shutdown::Immediate {
            replace_cancelled(&mut self.shared.tokens().tasks);
        }
        let shared = Arc::clone(&self.shared);
        async move { shared.wait().await }
    }

    /// Waits until every timer and task of the group has ended: oslo's `wait()`.
    ///
    /// Timers run until stopped, so this waits for ever while one is running and nobody
    /// stops it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops waiting.
    pub async fn wait(&self) {
        self.shared.wait().await;
    }

    /// How many timers are running (added and not yet ended).
    pub fn timer_count(&self) -> usize {
        self.shared.timers.len()
    }

    /// How many tasks are running (added and not yet ended).
    pub fn task_count(&self) -> usize {
        self.shared.tasks.len()
    }
}

impl Default for TaskGroup {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("timers", &self.timer_count())
            .field("tasks", &self.task_count())
            .finish()
    }
}
