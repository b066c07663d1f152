//! `FixedInterval` (oslo's `FixedIntervalLoopingCall` and
//! `FixedIntervalWithTimeoutLoopingCall`) and the `LoopingCall` life cycle, in paused time.
//! Case numbers refer to section 5.2 of the oslo.service study (`oslo-semantics.md`).

mod looping_support;

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use looping_support::{Calls, Logs, Then, assert_ms, ms, script};
use periodic::{ErrorKind, FixedInterval, LoopingCall, OnError};
use tokio::time::{Instant, sleep};
use tracing::Level;

use Then::{Done, Fail, Go, Panic};

type Steps<T> = Vec<(u64, Then<(), T, &'static str>)>;

/// A fixed-interval call of `interval_ms` around a scripted callee named `f`.
fn fixed<T: Clone + Send + 'static>(
    calls: &Calls,
    interval_ms: u64,
    steps: Steps<T>,
) -> FixedInterval<impl FnMut() -> looping_support::Run<(), T, &'static str> + Send + 'static> {
    FixedInterval::new(ms(interval_ms), script(calls, steps)).name("f")
}

// ===== Break values, errors, repeat (cases 28-31) =====

/// Case 28: `LoopingCallDone(True)` / `LoopingCallDone(False)` → `wait()` returns it.
#[tokio::test(start_paused = true)]
async fn break_value_is_returned_by_wait() {
    for value in [true, false] {
        let calls = Calls::new();
        let mut call = fixed(&calls, 500, vec![(0, Done(value))]).start();
        assert_eq!(call.wait().await.unwrap(), Some(value));
        assert_eq!(calls.count(), 1);
    }
    // A bare `LoopingCallDone()` (oslo: True) is `Break(())`.
    let calls = Calls::new();
    let mut call = fixed(&calls, 500, vec![(0, Done(()))]).start();
    assert_eq!(call.wait().await.unwrap(), Some(()));
}

/// Case 29: with `stop_on_exception` (the default) the first error ends the loop and
/// `wait()` returns it; it is logged as oslo logs it.
#[tokio::test(start_paused = true)]
async fn error_ends_the_loop_by_default() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 500, vec![(0, Go(())), (0, Fail("RuntimeError"))]).start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Callee);
    assert_eq!(err.to_string(), "RuntimeError");
    assert_eq!(err.into_callee().unwrap(), "RuntimeError");
    assert_ms(&calls, &[0, 500]);
    assert_eq!(
        logs.messages(Level::ERROR),
        ["Fixed interval looping call 'f' failed"]
    );
    let record = &logs.at(Level::ERROR)[0];
    assert_eq!(record.fields["error"].str(), Some("RuntimeError"));
}

/// Case 30: with `stop_on_exception=False` errors are logged and the loop goes on at its
/// interval until `Break(false)`.
///
/// ```text
/// interval 0.5 s
/// t      0      0.5    1.0
/// f      Err    Err    Break(false)
/// ```
#[tokio::test(start_paused = true)]
async fn on_error_log_keeps_looping_at_the_interval() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        500,
        vec![
            (0, Fail("RuntimeError")),
            (0, Fail("RuntimeError")),
            (0, Done(false)),
        ],
    )
    .on_error(OnError::Log)
    .start();
    assert_eq!(call.wait().await.unwrap(), Some(false));
    assert_ms(&calls, &[0, 500, 1000]);
    assert_eq!(logs.at(Level::ERROR).len(), 2);
}

/// Case 31: a countdown: two runs, then `Break(false)`.
#[tokio::test(start_paused = true)]
async fn repeat_until_break() {
    let calls = Calls::new();
    let mut left = 2;
    let c = calls.clone();
    let mut call = FixedInterval::new(ms(500), move || {
        c.record();
        left -= 1;
        let step = if left == 0 {
            ControlFlow::Break(false)
        } else {
            ControlFlow::Continue(())
        };
        async move { step }
    })
    .start();
    assert_eq!(call.wait().await.unwrap(), Some(false));
    assert_ms(&calls, &[0, 500]);
}

/// Callees that return `()` or `Result<(), E>` never break; they run until stopped.
#[tokio::test(start_paused = true)]
async fn unit_and_result_callees_run_until_stopped() {
    let calls = Calls::new();
    let c = calls.clone();
    let mut unit: LoopingCall<(), Infallible> = FixedInterval::new(ms(100), move || {
        c.record();
        async {}
    })
    .start();
    let c = calls.clone();
    let mut result: LoopingCall<(), std::io::Error> = FixedInterval::new(ms(100), move || {
        c.record();
        async { Ok(()) }
    })
    .start();
    sleep(ms(250)).await;
    unit.stop();
    result.stop();
    assert_eq!(unit.wait().await.unwrap(), None);
    assert_eq!(result.wait().await.unwrap(), None);
    assert_eq!(calls.count(), 6); // 0, 100, 200 each
}

// ===== start / stop / wait (cases 32, 52) =====

/// Case 32: a second `start` while the loop runs is an error with oslo's message;
/// stopping twice is harmless.
#[tokio::test(start_paused = true)]
async fn no_double_start_and_double_stop_is_harmless() {
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 1000, vec![(0, Go(())); 10]).start();
    let err = call.start().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyRunning);
    assert_eq!(
        err.to_string(),
        "A fixed interval looping call can only run one function at a time"
    );
    let mut with_timeout = fixed::<()>(&calls, 1000, vec![(0, Go(())); 10])
        .timeout(Duration::from_mins(1))
        .start();
    assert_eq!(
        with_timeout.start().unwrap_err().to_string(),
        "A fixed interval looping call with timeout checking and can only run one function \
         at at a time"
    );
    with_timeout.abort();

    assert!(call.is_running());
    call.stop();
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    call.stop();
    assert!(!call.is_running());
}

/// Case 52: `stop()` during a long sleep ends the loop at once.
///
/// ```text
/// interval 30 s
/// t      0     5
/// f      run   .  stop -> wait() returns at 5 with None
/// ```
#[tokio::test(start_paused = true)]
async fn stop_during_sleep_returns_at_once() {
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 30_000, vec![(0, Go(())); 2]).start();
    let stopper = call.stop_handle();
    tokio::spawn(async move {
        sleep(ms(5000)).await;
        stopper.stop();
    });
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(5000));
    assert_ms(&calls, &[0]);
}

/// Case 52: `stop()` during the initial delay: the callee is never called.
#[tokio::test(start_paused = true)]
async fn stop_during_initial_delay_never_calls() {
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 1000, vec![])
        .initial_delay(Duration::from_secs(30))
        .start();
    sleep(ms(1000)).await;
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(1000));
    assert_eq!(calls.count(), 0);
}

/// Case 52: `stop()` before `start()` has no effect on the run that follows.
#[tokio::test(start_paused = true)]
async fn stop_before_start_has_no_effect() {
    let calls = Calls::new();
    let mut call = fixed(&calls, 1000, vec![(0, Go(())), (0, Done(1))]).build();
    call.stop();
    call.abort();
    assert!(!call.is_running());
    call.start().unwrap();
    assert_eq!(call.wait().await.unwrap(), Some(1));
    assert_ms(&calls, &[0, 1000]);
}

/// Case 52: `stop()` from inside the callee: the loop ends after the run, its
/// `Continue` is discarded.
#[tokio::test(start_paused = true)]
async fn stop_from_inside_the_callee() {
    let calls = Calls::new();
    let stopper = Arc::new(std::sync::OnceLock::<periodic::StopHandle>::new());
    let (c, s) = (calls.clone(), Arc::clone(&stopper));
    let mut call = FixedInterval::new(ms(1000), move || {
        c.record();
        s.get().unwrap().stop();
        async { ControlFlow::<()>::Continue(()) }
    })
    .build();
    stopper.set(call.stop_handle()).unwrap();
    call.start().unwrap();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_ms(&calls, &[0]);
}

/// oslo lets a running callee finish when stopped: its `Continue` is discarded, but a
/// `Break` value it returns is still reported.
///
/// ```text
/// t      0 ........ 10
/// f      [ runs 10 s ]
///          ^ stop at 2: the run finishes at 10, then wait() returns
/// ```
#[tokio::test(start_paused = true)]
async fn stop_while_the_callee_runs_lets_it_finish() {
    let calls = Calls::new();
    let mut call = fixed::<i32>(&calls, 1000, vec![(10_000, Go(()))]).start();
    sleep(ms(2000)).await;
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(10_000));

    let calls = Calls::new();
    let mut call = fixed(&calls, 1000, vec![(10_000, Done(7))]).start();
    sleep(ms(2000)).await;
    call.stop();
    assert_eq!(call.wait().await.unwrap(), Some(7));
    assert_eq!(calls.elapsed(), ms(10_000));
}

/// `abort()` drops a running callee at once; the call can start again.
#[tokio::test(start_paused = true)]
async fn abort_drops_the_running_callee() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let calls = Calls::new();
    let (c, d) = (calls.clone(), Arc::clone(&dropped));
    let mut call = FixedInterval::new(ms(1000), move || {
        c.record();
        let guard = SetOnDrop(Arc::clone(&d));
        async move {
            sleep(ms(10_000)).await;
            drop(guard);
            ControlFlow::Break("finished")
        }
    })
    .start();
    sleep(ms(2000)).await;
    call.abort();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(2000));
    assert!(dropped.load(Ordering::SeqCst));

    // The callee was kept: start it again and let it finish.
    dropped.store(false, Ordering::SeqCst);
    call.start().unwrap();
    assert_eq!(call.wait().await.unwrap(), Some("finished"));
    assert_eq!(calls.count(), 2);
}

/// `abort()` after `stop()` still drops a callee that is running (a graceful stop that
/// took too long, then a forced one).
#[tokio::test(start_paused = true)]
async fn abort_after_stop_drops_the_running_callee() {
    let calls = Calls::new();
    let mut call = fixed(&calls, 1000, vec![(10_000, Done("finished"))]).start();
    let stopper = call.stop_handle();
    sleep(ms(2000)).await;
    stopper.stop();
    sleep(ms(1000)).await;
    stopper.abort();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(3000));
}

/// Case 52: a finished call can be started again, with the same (stateful) callee;
/// waiting is optional.
#[tokio::test(start_paused = true)]
async fn restart_after_finish() {
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        1000,
        vec![(0, Done(1)), (0, Go(())), (0, Done(2)), (0, Done(3))],
    )
    .build();
    call.start().unwrap();
    assert_eq!(call.wait().await.unwrap(), Some(1));
    call.start().unwrap();
    assert_eq!(call.wait().await.unwrap(), Some(2));

    // Finished but never waited for: it may start again (the old outcome is dropped).
    call.start().unwrap();
    tokio::task::yield_now().await;
    assert!(!call.is_running());
    call.start().unwrap();
    let err = call.wait().await.unwrap_err();
    assert!(err.is_panic(), "scripted for 4 calls only: {err}");
    assert_ms(&calls, &[0, 0, 1000, 1000, 1000]);
}

/// Case 52: `wait()` with nothing to wait for is a clear error.
#[tokio::test(start_paused = true)]
async fn wait_before_start_and_after_wait_are_errors() {
    let calls = Calls::new();
    let mut call = fixed(&calls, 1000, vec![(0, Done(()))]).build();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotStarted);
    assert_eq!(err.to_string(), "the looping call was never started");

    call.start().unwrap();
    assert_eq!(call.wait().await.unwrap(), Some(()));
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotStarted);
    assert!(err.to_string().contains("already taken"), "{err}");
}

/// `wait()` is cancel safe: a dropped `wait` loses nothing.
#[tokio::test(start_paused = true)]
async fn wait_is_cancel_safe() {
    let calls = Calls::new();
    let mut call = fixed(&calls, 1000, vec![(0, Go(())), (0, Done(5))]).start();
    assert!(tokio::time::timeout(ms(500), call.wait()).await.is_err());
    assert_eq!(call.wait().await.unwrap(), Some(5));
}

// ===== panics =====

/// A panicking callee does not take the process down: it ends the loop like an error.
#[tokio::test(start_paused = true)]
async fn panic_is_caught_and_reported() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 1000, vec![(0, Go(())), (0, Panic("kaboom"))]).start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked);
    assert_eq!(
        err.to_string(),
        "Fixed interval looping call 'f' panicked: kaboom"
    );
    assert_eq!(
        logs.messages(Level::ERROR),
        ["Fixed interval looping call 'f' failed"]
    );
    // The callee survived its panic: the call can start again.
    call.start().unwrap();
    assert!(call.wait().await.unwrap_err().is_panic());
}

/// With `OnError::Log` a panic is logged and the loop goes on.
#[tokio::test(start_paused = true)]
async fn panic_with_on_error_log_keeps_looping() {
    let calls = Calls::new();
    let mut call = fixed(&calls, 1000, vec![(0, Panic("kaboom")), (0, Done("ok"))])
        .on_error(OnError::Log)
        .start();
    assert_eq!(call.wait().await.unwrap(), Some("ok"));
    assert_ms(&calls, &[0, 1000]);
}

// ===== schedule (cases 33-36) =====

/// Case 33: interval 1.01 s, runs taking 0.99, 2.0 and 1.01 s: sleeps 0.02, 0, 0 and one
/// warning, "outlasted interval by 0.99 sec".
///
/// ```text
/// grid   0        1.01      2.02      3.01          4.02
/// runs   [0.99]s  [----2.0-----]      [---1.01---]  Break
///                              ^ late by 0.99: next run at once (3.01), grid re-anchored
/// ```
#[tokio::test(start_paused = true)]
async fn case_33_interval_adjustment_and_outlasted_warning() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        1010,
        vec![(990, Go(())), (2000, Go(())), (1010, Go(())), (0, Done(()))],
    )
    .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 1010, 3010, 4020]);
    assert_eq!(logs.sleeps(), [0.02, 0.0, 0.0]);
    let warnings = logs.at(Level::WARN);
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].message,
        "Function 'f' run outlasted interval by 0.99 sec"
    );
    assert_eq!(warnings[0].fields["name"].str(), Some("f"));
    assert_eq!(warnings[0].fields["delay"].f64(), Some(0.99));
}

/// Case 34: interval 1 s, runs of 0.996, 1.004, 1.006, 0.5, 0 and 3.333 s: warnings only
/// where the overrun rounds to more than 0.00 (0.01 and 2.33).
///
/// Difference from oslo: oslo sleeps the rounded `interval - elapsed` (0, 0, 0, 0.5, 1, 0),
/// so its runs drift to 0.996, 2.0, 3.006, ...; here the runs stay on the grid while they
/// fit and re-anchor when late.
///
/// ```text
/// grid    0      1.0      2.0 2.004   3.010   4.010   5.010   8.343
/// runs    .996   1.004    late: 1.006 late:.5 0       3.333   late: Break
/// ```
#[tokio::test(start_paused = true)]
async fn case_34_warn_only_when_the_rounded_delay_is_positive() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        1000,
        vec![
            (996, Go(())),
            (1004, Go(())),
            (1006, Go(())),
            (500, Go(())),
            (0, Go(())),
            (3333, Go(())),
            (0, Done(())),
        ],
    )
    .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 1000, 2004, 3010, 4010, 5010, 8343]);
    let delays: Vec<f64> = logs
        .at(Level::WARN)
        .iter()
        .map(|r| r.fields["delay"].f64().unwrap())
        .collect();
    assert_eq!(delays, [0.01, 2.33]);
    assert_eq!(
        logs.messages(Level::WARN),
        [
            "Function 'f' run outlasted interval by 0.01 sec",
            "Function 'f' run outlasted interval by 2.33 sec"
        ]
    );
}

/// Case 35, a difference: oslo rounds each sleep to 10 ms (interval 0.5 s, runs of 0.375,
/// 0.385, 0.125 s → sleeps 0.12, 0.11, 0.38, runs at 0, 0.495, 0.99, 1.495). Here the
/// deadlines are exact: runs at 0, 0.5, 1.0, 1.5.
#[tokio::test(start_paused = true)]
async fn difference_sleeps_are_not_rounded_to_centiseconds() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        500,
        vec![(375, Go(())), (385, Go(())), (125, Go(())), (0, Done(()))],
    )
    .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 500, 1000, 1500]);
    assert_eq!(logs.sleeps(), [0.125, 0.115, 0.375]);
}

/// Case 36: `initial_delay` 0 means none; 2.5 s delays the first run and the grid.
///
/// ```text
/// interval 10 s, runs take 1 s
/// initial_delay 0     runs at 0,   10
/// initial_delay 2.5   runs at 2.5, 12.5
/// ```
#[tokio::test(start_paused = true)]
async fn case_36_initial_delay() {
    for (delay, expected) in [(0, [0, 10_000]), (2500, [2500, 12_500])] {
        let calls = Calls::new();
        let mut call = fixed(&calls, 10_000, vec![(1000, Go(())), (1000, Done(()))])
            .initial_delay(ms(delay))
            .start();
        call.wait().await.unwrap();
        assert_ms(&calls, &expected);
    }
}

/// No drift: over 1000 runs of varying length (0-9 ms at a 10 ms interval) run k starts
/// at exactly k·10 ms.
#[tokio::test(start_paused = true)]
async fn no_drift_over_1000_ticks() {
    let calls = Calls::new();
    let mut steps: Steps<()> = (0..999).map(|k| ((k * 7) % 10, Go(()))).collect();
    steps.push((0, Done(())));
    let mut call = fixed(&calls, 10, steps).start();
    call.wait().await.unwrap();
    let expected: Vec<u64> = (0..1000).map(|k| k * 10).collect();
    assert_ms(&calls, &expected);
}

/// A run that outlasts the interval is followed at once by the next, and the grid moves
/// with it: the missed ticks are not made up in a burst.
///
/// ```text
/// interval 1 s
/// grid    0    1               3.5   4.5   5.5
/// runs    [.2] [------2.5------][.2] [.2]  Break
///                               ^ late: no catch-up runs at 3.5+ε for the ticks at 2 and 3
/// ```
#[tokio::test(start_paused = true)]
async fn overrun_reanchors_without_burst() {
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        1000,
        vec![
            (200, Go(())),
            (2500, Go(())),
            (200, Go(())),
            (200, Go(())),
            (0, Done(())),
        ],
    )
    .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 1000, 3500, 4500, 5500]);
}

/// A short run that starts late (here: the loop's thread is not polled from 1 s to 3.5 s)
/// keeps the grid: the ticks at 2 and 3 are skipped and the next runs are at 4 and 5.
/// (Before this rule, the grid moved to 4.5, 5.5, ... and every later run stayed late.)
///
/// ```text
/// interval 1 s
/// grid    0    1    2    3    4    5
/// runs    |              |    |    |
///                       3.5   4    5
/// ```
#[tokio::test(start_paused = true)]
async fn late_wakeup_keeps_the_grid_and_skips_missed_ticks() {
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        1000,
        vec![(0, Go(())), (0, Go(())), (0, Go(())), (0, Done(()))],
    )
    .start();
    // Let the first run happen at 0, then jump the clock past two ticks without letting the
    // loop run in between, as a blocked thread would.
    tokio::task::yield_now().await;
    tokio::time::advance(ms(3500)).await;
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 3500, 4000, 5000]);
}

/// `Timer::Spin` in paused time: the spin notices that the clock stands still and sleeps,
/// so runs are on the exact grid, as with tokio's timer.
#[tokio::test(start_paused = true)]
async fn spin_timer_is_exact_in_paused_time() {
    let calls = Calls::new();
    let mut call = fixed(
        &calls,
        1000,
        vec![(0, Go(())), (300, Go(())), (999, Go(())), (0, Done(()))],
    )
    .timer(periodic::Timer::Spin(ms(2)))
    .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 1000, 2000, 3000]);
}

// ===== timeout (cases 37-38) =====

/// Case 38: interval 0.1 s, timeout 0.3 s; the 4th run takes 10 ms, so the check after it
/// sees 0.31 > 0.3 (0.3 itself is not over: strictly greater).
///
/// ```text
/// t      0    0.1  0.2  0.3+0.01
/// check  0    0.1  0.2  0.31 > 0.3 -> "Looping call timed out after 0.31 seconds"
/// ```
#[tokio::test(start_paused = true)]
async fn case_38_timeout_after_a_run() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = fixed::<()>(
        &calls,
        100,
        vec![(0, Go(())), (0, Go(())), (0, Go(())), (10, Go(()))],
    )
    .timeout(ms(300))
    .start();
    let err = call.wait().await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(err.to_string(), "Looping call timed out after 0.31 seconds");
    assert_ms(&calls, &[0, 100, 200, 300]);
    assert_eq!(
        logs.messages(Level::ERROR),
        ["Fixed interval looping call with timeout checking. 'f' failed"]
    );
}

/// Case 37/38: a no-op callee at 0.1 s with timeout 0.3 s: runs at 0..0.4, and the
/// check after the run at 0.4 fails.
#[tokio::test(start_paused = true)]
async fn case_37_timeout_is_strictly_greater() {
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 100, vec![(0, Go(())); 5])
        .timeout(ms(300))
        .start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "Looping call timed out after 0.40 seconds");
    assert_ms(&calls, &[0, 100, 200, 300, 400]);
}

/// Case 38: interval 5 s, timeout 10 s, the 3rd run takes 0.5 s → 3 runs, "10.50".
#[tokio::test(start_paused = true)]
async fn case_38_timeout_message_uses_the_elapsed_time() {
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 5000, vec![(0, Go(())), (0, Go(())), (500, Go(()))])
        .timeout(ms(10_000))
        .start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Looping call timed out after 10.50 seconds"
    );
    assert_ms(&calls, &[0, 5000, 10_000]);
}

/// Case 38: timeout 0 never times out; the timeout counts from `start()`, initial delay
/// included.
#[tokio::test(start_paused = true)]
async fn timeout_zero_never_and_initial_delay_counts() {
    let calls = Calls::new();
    let mut steps: Steps<()> = vec![(0, Go(())); 50];
    steps.push((0, Done(())));
    let mut call = fixed(&calls, 1000, steps).timeout(Duration::ZERO).start();
    assert_eq!(call.wait().await.unwrap(), Some(()));
    assert_eq!(calls.count(), 51);

    // initial delay 5 s, timeout 5.5 s: the run at 5 passes, the one at 6 does not.
    let calls = Calls::new();
    let mut call = fixed::<()>(&calls, 1000, vec![(0, Go(())); 3])
        .initial_delay(ms(5000))
        .timeout(ms(5500))
        .start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "Looping call timed out after 6.00 seconds");
    assert_ms(&calls, &[5000, 6000]);
}

/// A zero interval is refused, as by `tokio::time::interval`.
#[test]
#[should_panic(expected = "`interval` must be greater than zero")]
fn zero_interval_panics() {
    let _ = FixedInterval::new(Duration::ZERO, || async {});
}

// ===== names and errors =====

async fn beat() -> Result<ControlFlow<()>, String> {
    Err("no database".to_owned())
}

/// Without `.name(..)` the callee's type name is used (for a function, its path).
#[tokio::test(start_paused = true)]
async fn default_name_is_the_callee_type_name() {
    let (logs, _guard) = Logs::capture();
    let mut call = FixedInterval::new(ms(1000), beat).start();
    call.wait().await.unwrap_err();
    assert_eq!(
        logs.messages(Level::ERROR),
        ["Fixed interval looping call 'looping_fixed::beat' failed"]
    );
}

/// A `LoopingCallError` converts into the crate's `Error`, keeping kind, text and cause.
#[tokio::test(start_paused = true)]
async fn error_converts_into_the_crate_error() {
    let mut call = FixedInterval::new(ms(1000), || async {
        Err::<(), _>(std::io::Error::other("disk full"))
    })
    .start();
    let err: periodic::Error = call.wait().await.unwrap_err().into();
    assert_eq!(err.kind(), ErrorKind::Callee);
    assert_eq!(err.to_string(), "disk full");
    assert!(err.into_source().unwrap().is::<std::io::Error>());

    let mut call = FixedInterval::new(ms(100), || async {})
        .timeout(ms(100))
        .start();
    let err: periodic::Error = call.wait().await.unwrap_err().into();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
}

/// The clock is tokio's: a paused runtime never really waits.
#[tokio::test(start_paused = true)]
async fn runs_on_tokio_time() {
    let real = std::time::Instant::now();
    let t0 = Instant::now();
    let calls = Calls::new();
    let mut steps: Steps<()> = vec![(0, Go(())); 3600];
    steps.push((0, Done(())));
    let mut call = fixed(&calls, 1000, steps).start();
    call.wait().await.unwrap();
    assert_eq!(t0.elapsed(), ms(3_600_000));
    assert!(real.elapsed() < Duration::from_secs(30));
}

// ===== real-time measurement =====
