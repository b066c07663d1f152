//! `DynamicInterval` (oslo's `DynamicLoopingCall`) in paused time. Case numbers refer to
//! section 5.2 of the oslo.service study (`oslo-semantics.md`).

mod looping_support;

use std::ops::ControlFlow;
use std::time::Duration;

use looping_support::{Calls, Logs, Then, assert_ms, ms, script};
use periodic::{DynamicInterval, ErrorKind, OnError};
use tokio::time::sleep;
use tracing::Level;

use Then::{Done, Fail, Go, Panic};

type Steps<T> = Vec<(u64, Then<Option<Duration>, T, &'static str>)>;

/// A dynamic call around a scripted callee named `f`.
fn dynamic<T: Clone + Send + 'static>(
    calls: &Calls,
    steps: Steps<T>,
) -> DynamicInterval<
    impl FnMut() -> looping_support::Run<Option<Duration>, T, &'static str> + Send + 'static,
> {
    DynamicInterval::new(script(calls, steps)).name("f")
}

fn after<T>(millis: u64) -> Then<Option<Duration>, T, &'static str> {
    Go(Some(ms(millis)))
}

/// Case 39: `Break(true)` / `Break(false)` are returned; an error ends the loop; a second
/// start is refused with oslo's message; a countdown repeats at the delays it asks for.
#[tokio::test(start_paused = true)]
async fn case_39_break_error_double_start_repeat() {
    for value in [true, false] {
        let calls = Calls::new();
        let mut call = dynamic(&calls, vec![(0, Done(value))]).start();
        assert_eq!(call.wait().await.unwrap(), Some(value));
    }

    let calls = Calls::new();
    let mut call = dynamic::<()>(&calls, vec![(0, Go(Some(ms(10)))), (0, Fail("boom"))]).start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.into_callee().unwrap(), "boom");
    assert_ms(&calls, &[0, 10]);

    let calls = Calls::new();
    let mut call = dynamic::<()>(&calls, vec![(0, Go(Some(ms(10)))); 3]).start();
    let err = call.start().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyRunning);
    assert_eq!(
        err.to_string(),
        "A dynamic interval looping call can only run one function at a time"
    );
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);

    let calls = Calls::new();
    let mut call = dynamic(
        &calls,
        vec![(0, after(10)), (0, after(10)), (0, Done(false))],
    )
    .start();
    assert_eq!(call.wait().await.unwrap(), Some(false));
    assert_ms(&calls, &[0, 10, 20]);
}

/// Case 40 (LP#1489998): `Continue(None)` without `periodic_interval_max` ends the loop
/// with oslo's message.
#[tokio::test(start_paused = true)]
async fn case_40_no_delay_and_no_max_is_an_error() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = dynamic::<()>(&calls, vec![(0, Go(None))]).start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoInterval);
    assert_eq!(
        err.to_string(),
        "A dynamic interval looping call should supply either an interval or \
         periodic_interval_max"
    );
    assert_eq!(
        logs.messages(Level::ERROR),
        ["Dynamic interval looping call 'f' failed"]
    );
    // The rule is not softened by `OnError::Log`: it is a configuration error.
    let calls = Calls::new();
    let mut call = dynamic::<()>(&calls, vec![(0, Go(None))])
        .on_error(OnError::Log)
        .start();
    assert_eq!(call.wait().await.unwrap_err().kind(), ErrorKind::NoInterval);
}

/// Case 41: `Continue(None)` with `periodic_interval_max` 5 s sleeps 5 s.
#[tokio::test(start_paused = true)]
async fn case_41_no_delay_sleeps_the_max() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = dynamic(&calls, vec![(0, Go(None)), (0, Done(()))])
        .periodic_interval_max(ms(5000))
        .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 5000]);
    assert_eq!(logs.sleeps(), [5.0]);
}

/// Case 42: delays are capped by `periodic_interval_max`.
///
/// ```text
/// max 5 s
/// t        0           5           6
/// returns  Some(11 s)  Some(1 s)   Break(false)
/// sleeps   5 (capped)  1
/// ```
#[tokio::test(start_paused = true)]
async fn case_42_delay_is_capped_by_the_max() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = dynamic(
        &calls,
        vec![
            (0, Go(Some(ms(11_000)))),
            (0, Go(Some(ms(1000)))),
            (0, Done(false)),
        ],
    )
    .periodic_interval_max(ms(5000))
    .start();
    assert_eq!(call.wait().await.unwrap(), Some(false));
    assert_ms(&calls, &[0, 5000, 6000]);
    assert_eq!(logs.sleeps(), [5.0, 1.0]);
    assert_eq!(
        logs.messages(Level::TRACE),
        [
            "Dynamic interval looping call 'f' sleeping for 5.00 seconds",
            "Dynamic interval looping call 'f' sleeping for 1.00 seconds"
        ]
    );
}

/// Case 43: `initial_delay` 3 s, then the callee's 1 s.
#[tokio::test(start_paused = true)]
async fn case_43_initial_delay() {
    let calls = Calls::new();
    let mut call = dynamic(&calls, vec![(0, after(1000)), (0, Done(()))])
        .initial_delay(ms(3000))
        .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[3000, 4000]);
}

/// Case 44: edge values with max 5 s: None → 5, 0 → no sleep, 2.5 → 2.5, then Break(7).
/// (oslo's negative delay cannot be written: a `Duration` is never negative.) Delays count
/// from the end of the run.
///
/// ```text
/// t        0      5      5      7.5+0.5
/// returns  None   0      2.5    Break(7)
/// ```
#[tokio::test(start_paused = true)]
async fn case_44_edge_values() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = dynamic(
        &calls,
        vec![
            (0, Go(None)),
            (0, Go(Some(Duration::ZERO))),
            (500, Go(Some(ms(2500)))),
            (0, Done(7)),
        ],
    )
    .periodic_interval_max(ms(5000))
    .start();
    assert_eq!(call.wait().await.unwrap(), Some(7));
    assert_ms(&calls, &[0, 5000, 5000, 8000]);
    assert_eq!(logs.sleeps(), [5.0, 0.0, 2.5]);
}

/// Case 44 with `stop_on_exception=True`: Some(4 s), then an error → one sleep of 4 s,
/// and `wait()` returns the error.
#[tokio::test(start_paused = true)]
async fn case_44_error_stops_by_default() {
    let calls = Calls::new();
    let mut call = dynamic::<()>(
        &calls,
        vec![(0, Go(Some(ms(4000)))), (0, Fail("ValueError"))],
    )
    .periodic_interval_max(ms(30_000))
    .start();
    assert_eq!(
        call.wait().await.unwrap_err().into_callee().unwrap(),
        "ValueError"
    );
    assert_ms(&calls, &[0, 4000]);
}

/// Case 44 with `stop_on_exception=False`, a difference: oslo re-runs at once after an
/// error (sleeps 0, 4, 0: a busy loop while the error lasts, LP#1458119). Here the loop
/// waits `periodic_interval_max` when no delay was asked for yet, then the last delay.
///
/// ```text
/// max 30 s
/// t        0      30     34     38
/// returns  Err    4 s    Err    Break("ok")
/// oslo:    0      0      4      4            (re-runs at once after each Err)
/// ```
#[tokio::test(start_paused = true)]
async fn difference_dynamic_error_does_not_busy_loop() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = dynamic(
        &calls,
        vec![
            (0, Fail("ValueError")),
            (0, Go(Some(ms(4000)))),
            (0, Fail("ValueError")),
            (0, Done("ok")),
        ],
    )
    .periodic_interval_max(ms(30_000))
    .on_error(OnError::Log)
    .start();
    assert_eq!(call.wait().await.unwrap(), Some("ok"));
    assert_ms(&calls, &[0, 30_000, 34_000, 38_000]);
    assert_eq!(logs.sleeps(), [30.0, 4.0, 4.0]);
    assert_eq!(
        logs.messages(Level::ERROR),
        [
            "Dynamic interval looping call 'f' failed",
            "Dynamic interval looping call 'f' failed"
        ]
    );
}

/// The same difference without a max: an error waits the last non-zero delay, or 1 s when
/// there is none (a zero delay is not repeated after an error).
#[tokio::test(start_paused = true)]
async fn difference_error_without_max_waits_a_second() {
    let calls = Calls::new();
    let mut call = dynamic(
        &calls,
        vec![
            (0, Fail("e")),
            (0, Go(Some(Duration::ZERO))),
            (0, Panic("p")),
            (0, Go(Some(ms(3000)))),
            (0, Fail("e")),
            (0, Done(())),
        ],
    )
    .on_error(OnError::Log)
    .start();
    call.wait().await.unwrap();
    assert_ms(&calls, &[0, 1000, 1000, 2000, 5000, 8000]);
}

/// `stop()` interrupts a long dynamic sleep and the initial delay.
#[tokio::test(start_paused = true)]
async fn stop_interrupts_sleeps() {
    let calls = Calls::new();
    let mut call = dynamic::<()>(&calls, vec![(0, Go(Some(ms(3_600_000))))]).start();
    sleep(ms(10)).await;
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(10));

    let calls = Calls::new();
    let mut call = dynamic::<()>(&calls, vec![])
        .initial_delay(ms(3_600_000))
        .start();
    sleep(ms(10)).await;
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.count(), 0);
}

/// A callee that keeps asking for no delay still lets other tasks run (tokio's budget
/// makes the loop yield).
#[tokio::test(start_paused = true)]
async fn zero_delays_do_not_starve_the_runtime() {
    let calls = Calls::new();
    let c = calls.clone();
    let mut call = DynamicInterval::new(move || {
        c.record();
        async { ControlFlow::<(), _>::Continue(Some(Duration::ZERO)) }
    })
    .start();
    // This task only runs again if the loop yields.
    tokio::task::yield_now().await;
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    assert!(calls.count() > 0);
    assert_eq!(calls.elapsed(), Duration::ZERO);
}
