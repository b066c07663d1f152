//! `TaskGroup` (oslo's `ThreadGroup`) in paused time. Case numbers refer to section 5.3 of
//! the oslo.service study (`oslo-semantics.md`).

mod looping_support;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use looping_support::{Calls, assert_ms, ms};
use periodic::{DynamicInterval, ErrorKind, FixedInterval, OnError, Shutdown, TaskGroup};
use tokio::time::{Instant, sleep};

/// Sets a flag when dropped: tells whether a future was dropped before it finished.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A fixed timer callee that records its calls and takes `took_ms` each time.
fn ticking(
    calls: &Calls,
    took_ms: u64,
) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static {
    let calls = calls.clone();
    move || {
        calls.record();
        Box::pin(async move {
            if took_ms > 0 {
                sleep(ms(took_ms)).await;
            }
        })
    }
}

/// Case 53: timers added with their options run in the group, with the arguments their
/// closures captured (oslo passes `args`/`kwargs`).
///
/// ```text
/// add_timer(interval 1, initial_delay 1)            runs at 1, 2, ...
/// add_dynamic_timer(initial_delay 1, max 2, None)   runs at 1, 3, ...
/// ```
#[tokio::test(start_paused = true)]
async fn case_53_add_timer_and_add_dynamic_timer() {
    let tg = TaskGroup::new();
    let fixed_calls = Calls::new();
    let (c, arg) = (fixed_calls.clone(), String::from("arg"));
    let fixed = tg.add_timer(
        FixedInterval::new(ms(1000), move || {
            assert_eq!(arg, "arg");
            c.record();
            async {}
        })
        .initial_delay(ms(1000))
        .on_error(OnError::Log),
    );
    let dynamic_calls = Calls::new();
    let c = dynamic_calls.clone();
    let dynamic = tg.add_dynamic_timer(
        DynamicInterval::new(move || {
            c.record();
            async { ControlFlow::<(), _>::Continue(None) }
        })
        .initial_delay(ms(1000))
        .periodic_interval_max(ms(2000))
        .on_error(OnError::Log),
    );
    assert_eq!(tg.timer_count(), 2);
    assert!(fixed.is_running() && dynamic.is_running());

    sleep(ms(3500)).await;
    assert_ms(&fixed_calls, &[1000, 2000, 3000]);
    assert_ms(&dynamic_calls, &[1000, 3000]);
    tg.stop(Shutdown::Graceful).await;
    assert_eq!(tg.timer_count(), 0);
}

/// Case 53/60: oslo's legacy `add_timer(1, foo, 0.5, 'arg')` fires once within 0.6 s.
#[tokio::test(start_paused = true)]
async fn case_60_initial_delay_fires_once_in_0_6_s() {
    let tg = TaskGroup::new();
    let calls = Calls::new();
    tg.add_timer(FixedInterval::new(ms(1000), ticking(&calls, 0)).initial_delay(ms(500)));
    sleep(ms(600)).await;
    assert_ms(&calls, &[500]);
    tg.stop(Shutdown::Immediate).await;
}

/// Case 54, with a difference: a task (arg 1) sleeps 1 s, then stops the group
/// immediately. The other three tasks are cancelled. `stop` returns at once when called
/// from inside (it would otherwise wait for itself); oslo then lets the caller run on,
/// here it is cancelled too, at its next `.await`.
#[tokio::test(start_paused = true)]
async fn case_54_stop_from_inside_a_task() {
    let tg = TaskGroup::new();
    let reached = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for arg in 0..4 {
        let (group, reached) = (tg.clone(), Arc::clone(&reached));
        handles.push(tg.add_task(async move {
            if arg == 1 {
                sleep(ms(1000)).await;
                group.stop(Shutdown::Immediate).await;
                reached.store(true, Ordering::SeqCst);
                sleep(ms(1)).await; // cancelled here
                "caller finished"
            } else {
                sleep(ms(3_600_000)).await;
                "slept an hour"
            }
        }));
    }
    assert_eq!(tg.task_count(), 4);
    let t0 = Instant::now();
    for handle in handles {
        assert_eq!(handle.await.unwrap(), None);
    }
    assert_eq!(t0.elapsed(), ms(1000));
    assert!(
        reached.load(Ordering::SeqCst),
        "stop() returned inside the caller"
    );
    assert_eq!(tg.task_count(), 0);
}

/// Case 55: an immediate stop cancels a task that sleeps 1 s and returns at once; 0 tasks
/// and 0 timers remain.
#[tokio::test(start_paused = true)]
async fn case_55_stop_immediately() {
    let tg = TaskGroup::new();
    let calls = Calls::new();
    tg.add_timer(FixedInterval::new(ms(100), ticking(&calls, 0)));
    let task = tg.add_task(sleep(ms(1000)));
    tokio::task::yield_now().await;
    let t0 = Instant::now();
    tg.stop(Shutdown::Immediate).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!((tg.task_count(), tg.timer_count()), (0, 0));
    assert_eq!(task.await.unwrap(), None);
}

/// Case 56: a graceful stop waits for that task: it takes 1 s; 0 tasks and 0 timers remain.
#[tokio::test(start_paused = true)]
async fn case_56_stop_gracefully() {
    let tg = TaskGroup::new();
    let calls = Calls::new();
    tg.add_timer(FixedInterval::new(ms(100), ticking(&calls, 0)));
    let task = tg.add_task(async {
        sleep(ms(1000)).await;
        "done"
    });
    tokio::task::yield_now().await; // let the timer run once
    let t0 = Instant::now();
    tg.stop(Shutdown::Graceful).await;
    assert_eq!(t0.elapsed(), ms(1000));
    assert_eq!((tg.task_count(), tg.timer_count()), (0, 0));
    assert_eq!(task.await.unwrap(), Some("done"));
    assert_ms(&calls, &[0]); // the timer was stopped first, not run while waiting
}

/// Case 58: `stop_timers()` stops every timer; a timer stopped through its handle leaves
/// the group by itself (a difference: oslo keeps it listed until `timer_done`, which is
/// not needed here).
#[tokio::test(start_paused = true)]
async fn case_58_stop_timers_and_timer_stop() {
    let tg = TaskGroup::new();
    let calls = Calls::new();
    let mut fixed = tg.add_timer(FixedInterval::new(ms(100), ticking(&calls, 0)));
    let mut dynamic = tg.add_dynamic_timer(
        DynamicInterval::new(|| async { ControlFlow::<(), _>::Continue(None) })
            .periodic_interval_max(ms(100)),
    );
    let task = tg.add_task(sleep(ms(10)));
    assert_eq!(tg.timer_count(), 2);
    tg.stop_timers();
    assert_eq!(fixed.wait().await.unwrap(), None);
    assert_eq!(dynamic.wait().await.unwrap(), None);
    assert_eq!(tg.timer_count(), 0);
    assert_eq!(task.await.unwrap(), Some(()), "tasks are not affected");

    // Timers added after `stop_timers` run normally; `stop()` on one handle removes it.
    let mut timer = tg.add_timer(FixedInterval::new(ms(100), ticking(&calls, 0)));
    assert_eq!(tg.timer_count(), 1);
    sleep(ms(150)).await;
    assert!(timer.is_running());
    timer.stop();
    assert_eq!(timer.wait().await.unwrap(), None);
    assert_eq!(tg.timer_count(), 0);
}

/// Case 59: finished tasks leave the group by themselves, normally or by panicking;
/// `wait()` returns when they are all done.
#[tokio::test(start_paused = true)]
async fn case_59_finished_tasks_are_removed() {
    let tg = TaskGroup::new();
    let ok = tg.add_task(async { 1 });
    let panicked = tg.add_task(async { panic!("task failed") });
    assert_eq!(ok.await.unwrap(), Some(1));
    assert!(panicked.await.unwrap_err().is_panic());
    assert_eq!(tg.task_count(), 0);

    // Three blocked workers are listed until released.
    let release = Arc::new(tokio::sync::Notify::new());
    for _ in 0..3 {
        let release = Arc::clone(&release);
        tg.add_task(async move { release.notified().await });
    }
    tokio::task::yield_now().await;
    assert_eq!(tg.task_count(), 3);
    release.notify_waiters();
    tg.wait().await;
    assert_eq!(tg.task_count(), 0);

    // wait() with three short tasks returns when they are done.
    for k in 1..=3 {
        tg.add_task(sleep(ms(k * 100)));
    }
    let t0 = Instant::now();
    tg.wait().await;
    assert_eq!(t0.elapsed(), ms(300));
    assert_eq!(tg.task_count(), 0);
}

/// Case 60, a difference: a timer whose callee fails leaves the group (oslo keeps it
/// listed with `_running` still true); its handle's `wait()` returns the error and
/// `tg.wait()` does not hang on it.
#[tokio::test(start_paused = true)]
async fn case_60_failed_timer_leaves_the_group() {
    let tg = TaskGroup::new();
    let mut timer = tg.add_timer(FixedInterval::new(ms(100), || async {
        Err::<(), _>("callback raised")
    }));
    tg.wait().await;
    assert_eq!(tg.timer_count(), 0);
    let err = timer.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Callee);
    assert_eq!(err.to_string(), "callback raised");
}

/// Case 60: a graceful stop waits for a timer callee that is running (0.2 s) and for the
/// rest of a task; all timers are stopped before anything is waited for (LP#1769825).
///
/// ```text
/// t            0            0.1  0.2       0.5
/// slow timer   [--- 0.2 s ---]               (callee running at the stop)
/// fast timer   run  .  .  .  (sleeping: stopped at once, no run at 0.3)
/// task         [------------ 0.5 s ---------]
///                           ^ stop(Graceful) at 0.1 -> returns at 0.5
/// ```
#[tokio::test(start_paused = true)]
async fn case_60_graceful_stop_waits_for_running_callees_and_tasks() {
    let tg = TaskGroup::new();
    let slow_calls = Calls::new();
    let finished = Arc::new(AtomicBool::new(false));
    let (c, f) = (slow_calls.clone(), Arc::clone(&finished));
    tg.add_timer(FixedInterval::new(ms(1000), move || {
        c.record();
        let f = Arc::clone(&f);
        async move {
            sleep(ms(200)).await;
            f.store(true, Ordering::SeqCst);
        }
    }));
    let fast_calls = Calls::new();
    tg.add_timer(FixedInterval::new(ms(300), ticking(&fast_calls, 0)));
    let task = tg.add_task(sleep(ms(500)));

    sleep(ms(100)).await;
    let t0 = Instant::now();
    tg.stop(Shutdown::Graceful).await;
    assert_eq!(t0.elapsed(), ms(400));
    assert!(
        finished.load(Ordering::SeqCst),
        "the running callee finished"
    );
    assert_ms(&slow_calls, &[0]);
    assert_ms(&fast_calls, &[0]);
    assert_eq!(task.await.unwrap(), Some(()));
    assert_eq!((tg.task_count(), tg.timer_count()), (0, 0));
}

/// The immediate counterpart: the running timer callee and the task are dropped, and stop
/// returns at once.
#[tokio::test(start_paused = true)]
async fn immediate_stop_aborts_running_callees_and_tasks() {
    let tg = TaskGroup::new();
    let callee_dropped = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&callee_dropped);
    let mut timer = tg.add_timer(FixedInterval::new(ms(1000), move || {
        let guard = SetOnDrop(Arc::clone(&d));
        async move {
            sleep(ms(200)).await;
            drop(guard);
            ControlFlow::Break("finished")
        }
    }));
    let task_dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(Arc::clone(&task_dropped));
    let task = tg.add_task(async move {
        sleep(ms(500)).await;
        drop(guard);
    });

    sleep(ms(100)).await;
    let t0 = Instant::now();
    tg.stop(Shutdown::Immediate).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert!(callee_dropped.load(Ordering::SeqCst));
    assert!(task_dropped.load(Ordering::SeqCst));
    assert_eq!(timer.wait().await.unwrap(), None);
    assert_eq!(task.await.unwrap(), None);
    assert_eq!((tg.task_count(), tg.timer_count()), (0, 0));
}

/// A graceful stop that waits too long can be followed by an immediate one, which aborts
/// what the first is still waiting for.
#[tokio::test(start_paused = true)]
async fn graceful_then_immediate() {
    let tg = TaskGroup::new();
    let mut timer = tg.add_timer(FixedInterval::new(ms(1000), || async {
        sleep(ms(3_600_000)).await;
    }));
    let task = tg.add_task(sleep(ms(3_600_000)));
    sleep(ms(10)).await;
    let graceful = tg.stop(Shutdown::Graceful);
    assert!(tokio::time::timeout(ms(1000), graceful).await.is_err());
    let t0 = Instant::now();
    tg.stop(Shutdown::Immediate).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!(timer.wait().await.unwrap(), None);
    assert_eq!(task.await.unwrap(), None);
}

/// The group can be used again after a stop; a timer restarted through its handle runs in
/// the group again.
#[tokio::test(start_paused = true)]
async fn reuse_after_stop_and_restart_a_timer() {
    let tg = TaskGroup::new();
    let calls = Calls::new();
    let mut timer = tg.add_timer(FixedInterval::new(ms(100), ticking(&calls, 0)));
    tokio::task::yield_now().await; // let the timer run once
    tg.stop(Shutdown::Immediate).await;
    assert_eq!(timer.wait().await.unwrap(), None);

    let task = tg.add_task(async { "after stop" });
    assert_eq!(task.await.unwrap(), Some("after stop"));
    timer.start().unwrap();
    assert_eq!(tg.timer_count(), 1);
    sleep(ms(250)).await;
    tg.stop(Shutdown::Graceful).await;
    assert_eq!(tg.timer_count(), 0);
    assert_ms(&calls, &[0, 0, 100, 200]);
}

/// A timer callee may stop its own group (a heartbeat deciding to shut the service down)
/// without waiting for itself.
#[tokio::test(start_paused = true)]
async fn stop_from_inside_a_timer_callee() {
    let tg = TaskGroup::new();
    let group = tg.clone();
    let mut timer = tg.add_timer(FixedInterval::new(ms(100), move || {
        let group = group.clone();
        async move {
            group.stop(Shutdown::Graceful).await;
        }
    }));
    let task = tg.add_task(sleep(ms(50)));
    assert_eq!(timer.wait().await.unwrap(), None);
    assert_eq!(task.await.unwrap(), Some(()));
    tg.wait().await;
    assert_eq!((tg.task_count(), tg.timer_count()), (0, 0));
}

/// Blocking tasks: a graceful stop waits for them; an immediate one stops waiting.
#[tokio::test(start_paused = true)]
async fn blocking_tasks() {
    let tg = TaskGroup::new();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocked = tg.add_blocking_task(move || {
        rx.recv().unwrap();
        "released"
    });
    assert_eq!(tg.task_count(), 1);
    tg.stop(Shutdown::Immediate).await;
    assert_eq!(tg.task_count(), 0);
    assert_eq!(blocked.await.unwrap(), None);
    tx.send(()).unwrap(); // the thread itself runs to its end

    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocked = tg.add_blocking_task(move || {
        rx.recv().unwrap();
        "released"
    });
    let stop = tokio::spawn({
        let tg = tg.clone();
        async move { tg.stop(Shutdown::Graceful).await }
    });
    tokio::task::yield_now().await;
    assert!(!stop.is_finished());
    tx.send(()).unwrap();
    stop.await.unwrap();
    assert_eq!(blocked.await.unwrap(), Some("released"));
}
