//! `BackOff` (oslo's `BackOffLoopingCall`) in paused time, with an injected gauss so that
//! every sleep is exact. Case numbers refer to section 5.2 of the oslo.service study
//! (`oslo-semantics.md`). The sleeps are read from the loop's TRACE "sleeping for" events
//! (its own `f64` arithmetic); the call instants are tokio's (whole milliseconds).

#![allow(
    clippy::unreadable_literal,
    reason = "oslo's sleeps as Python prints them, to compare and grep"
)]

mod looping_support;

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use looping_support::{Calls, Logs, Then, assert_ms, ms, script};
use periodic::{Attempt, BackOff, ErrorKind};
use tokio::time::sleep;
use tracing::Level;

use Attempt::{Failed, Succeeded};
use Then::{Done, Fail, Go};

type Steps<T> = Vec<(u64, Then<Attempt, T, &'static str>)>;

/// A back-off call named `f` around a scripted callee, with gauss always `r`.
fn backoff<T: Clone + Send + 'static>(
    calls: &Calls,
    r: f64,
    steps: Steps<T>,
) -> BackOff<impl FnMut() -> looping_support::Run<Attempt, T, &'static str> + Send + 'static> {
    BackOff::new(script(calls, steps))
        .gauss(move |_, _| r)
        .name("f")
}

fn failing(n: usize) -> Steps<()> {
    vec![(0, Go(Failed)); n]
}

const EXPONENTIAL: [f64; 11] = [
    1.6,
    2.4000000000000004,
    3.6,
    5.4,
    8.1,
    12.15,
    18.225,
    27.337500000000002,
    41.00625,
    61.509375000000006,
    92.26406250000001,
];

/// Case 45: defaults, gauss 0.8, always failing: oslo's exact sleeps, then the timeout
/// with the would-be total.
///
/// ```text
/// sleeps  1.6  2.4  3.6  5.4  8.1  12.15  18.225  27.3375  41.00625  61.51  92.26
///         error_time 273.59 + next idle 138.40 > 300 -> "... after 411.99 seconds"
/// ```
#[tokio::test(start_paused = true)]
async fn case_45_exponential_backoff_then_timeout() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(&calls, 0.8, failing(12)).start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(
        err.to_string(),
        "Looping call timed out after 411.99 seconds"
    );
    assert_eq!(logs.sleeps(), EXPONENTIAL);
    assert_eq!(calls.count(), 12);
    assert_eq!(
        logs.messages(Level::ERROR),
        ["Dynamic backoff interval looping call 'f' failed"]
    );
    // Each call follows the previous one by the sleep, rounded up to tokio's millisecond.
    let at = calls.at();
    for (k, sleep) in EXPONENTIAL.iter().enumerate() {
        let gap = at[k + 1].checked_sub(at[k]).unwrap();
        let expected = Duration::from_secs_f64(*sleep);
        let late = gap.checked_sub(expected);
        assert!(
            late.is_some_and(|late| late < ms(1)),
            "gap {k}: {gap:?} for a sleep of {expected:?}"
        );
    }
}

/// Case 46: a negative sample is used by its absolute value (LP#1686159).
#[tokio::test(start_paused = true)]
async fn case_46_negative_gauss_is_made_positive() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(&calls, -0.8, failing(12)).start();
    assert!(call.wait().await.unwrap_err().is_timeout());
    assert_eq!(logs.sleeps(), EXPONENTIAL);
}

/// Case 47: `max_interval` 60 s caps the sleeps; timeout "359.82 seconds".
#[tokio::test(start_paused = true)]
async fn case_47_max_interval() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(&calls, 0.8, failing(13))
        .max_interval(ms(60_000))
        .start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Looping call timed out after 359.82 seconds"
    );
    assert_eq!(
        logs.sleeps(),
        [
            1.6,
            2.4000000000000004,
            3.6,
            5.4,
            8.1,
            12.15,
            18.225,
            27.337500000000002,
            41.00625,
            60.0,
            60.0,
            60.0
        ]
    );
}

/// Case 48: successes sleep `starting_interval * r` (gauss 1 → 1 s); `Break` returns its
/// value; a first-run `Break` sleeps not at all.
#[tokio::test(start_paused = true)]
async fn case_48_no_backoff_on_success_and_no_sleep() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(
        &calls,
        1.0,
        vec![
            (0, Go(Succeeded)),
            (0, Go(Succeeded)),
            (0, Go(Succeeded)),
            (0, Done("return value")),
        ],
    )
    .start();
    assert_eq!(call.wait().await.unwrap(), Some("return value"));
    assert_eq!(logs.sleeps(), [1.0, 1.0, 1.0]);
    assert_ms(&calls, &[0, 1000, 2000, 3000]);

    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(&calls, 1.0, vec![(0, Done(()))]).start();
    assert_eq!(call.wait().await.unwrap(), Some(()));
    assert!(logs.sleeps().is_empty());
    assert_ms(&calls, &[0]);
}

/// Case 49: gauss 1, timeout 10 s: sleeps 2, 3, 4.5, then "16.25 seconds".
#[tokio::test(start_paused = true)]
async fn case_49_timeout_reports_the_would_be_total() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(&calls, 1.0, failing(4)).timeout(ms(10_000)).start();
    let err = call.wait().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Looping call timed out after 16.25 seconds"
    );
    assert_eq!(logs.sleeps(), [2.0, 3.0, 4.5]);
    assert_ms(&calls, &[0, 2000, 5000, 9500]);
}

/// Case 49: a success resets the back-off.
///
/// ```text
/// result  F    F    T    F    F    F    T    Break("r")
/// sleep   2.0  3.0  1.0  2.0  3.0  4.5  1.0
/// ```
#[tokio::test(start_paused = true)]
async fn case_49_success_resets_the_backoff() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(
        &calls,
        1.0,
        vec![
            (0, Go(Failed)),
            (0, Go(Failed)),
            (0, Go(Succeeded)),
            (0, Go(Failed)),
            (0, Go(Failed)),
            (0, Go(Failed)),
            (0, Go(Succeeded)),
            (0, Done("r")),
        ],
    )
    .start();
    assert_eq!(call.wait().await.unwrap(), Some("r"));
    assert_eq!(logs.sleeps(), [2.0, 3.0, 1.0, 2.0, 3.0, 4.5, 1.0]);
}

/// Case 49: `starting_interval` 2 s and jitter 1.0 double the interval; timeout 0 never
/// times out; `min_interval` is the floor.
#[tokio::test(start_paused = true)]
async fn case_49_settings() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff(
        &calls,
        1.0,
        vec![
            (0, Go(Failed)),
            (0, Go(Failed)),
            (0, Go(Failed)),
            (0, Go(Succeeded)),
            (0, Done(())),
        ],
    )
    .starting_interval(ms(2000))
    .jitter(1.0)
    .start();
    call.wait().await.unwrap();
    assert_eq!(logs.sleeps(), [4.0, 8.0, 16.0, 2.0]);

    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut steps = failing(6);
    steps.push((0, Done(())));
    let mut call = backoff(&calls, 1.0, steps).timeout(Duration::ZERO).start();
    call.wait().await.unwrap();
    assert_eq!(logs.sleeps(), [2.0, 3.0, 4.5, 6.75, 10.125, 15.1875]);

    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut steps = failing(4);
    steps.push((0, Done(())));
    let mut call = backoff(&calls, 0.0, steps)
        .min_interval(ms(500))
        .jitter(0.1)
        .start();
    call.wait().await.unwrap();
    assert_eq!(logs.sleeps(), [0.5, 0.5, 0.5, 0.5]);
}

/// Case 49: an error always ends the loop (there is no `stop_on_exception` here).
#[tokio::test(start_paused = true)]
async fn case_49_error_ends_the_loop() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let mut call = backoff::<()>(&calls, 1.0, vec![(0, Go(Failed)), (0, Fail("boom"))]).start();
    assert_eq!(
        call.wait().await.unwrap_err().into_callee().unwrap(),
        "boom"
    );
    assert_eq!(logs.sleeps(), [2.0]);
}

/// The gauss source is called with `(jitter, 0.1)`, once per `Continue`.
#[tokio::test(start_paused = true)]
async fn gauss_gets_jitter_and_std_dev() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let calls = Calls::new();
    let steps: Steps<()> = vec![(0, Go(Failed)), (0, Go(Succeeded)), (0, Done(()))];
    let mut call = BackOff::new(script(&calls, steps))
        .jitter(0.5)
        .gauss(move |mean, std_dev| {
            s.lock().unwrap().push((mean, std_dev));
            1.0
        })
        .start();
    call.wait().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [(0.5, 0.1), (0.5, 0.1)]);
}

/// A seeded generator gives the same sleeps every time; samples are near `jitter`.
#[tokio::test(start_paused = true)]
async fn seeded_samples_are_reproducible() {
    async fn sleeps(seed: u64) -> Vec<f64> {
        let (logs, _guard) = Logs::capture();
        let calls = Calls::new();
        let mut steps = failing(8);
        steps.push((0, Done(())));
        let mut call = BackOff::new(script(&calls, steps))
            .timeout(Duration::ZERO)
            .seed(seed)
            .start();
        call.wait().await.unwrap();
        logs.sleeps()
    }
    let a = sleeps(42).await;
    assert_eq!(a.len(), 8);
    assert_eq!(a, sleeps(42).await);
    assert_ne!(a, sleeps(43).await);
    // First sleep: 1 s * 2 * |N(0.75, 0.1)|, within 6 standard deviations.
    assert!((0.3..=2.7).contains(&a[0]), "{}", a[0]);
}

/// `stop()` interrupts a back-off sleep; a new `start()` begins the back-off afresh.
#[tokio::test(start_paused = true)]
async fn stop_and_restart_resets_the_backoff() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let c = calls.clone();
    let mut call = BackOff::new(move || {
        c.record();
        async { ControlFlow::<(), _>::Continue(Attempt::Failed) }
    })
    .gauss(|_, _| 0.8)
    .start();
    sleep(ms(5000)).await; // calls at 0, 1.6, 4.0; sleeping 3.6 s
    call.stop();
    assert_eq!(call.wait().await.unwrap(), None);
    assert_eq!(calls.elapsed(), ms(5000));
    assert_eq!(calls.count(), 3);

    call.start().unwrap();
    sleep(ms(2000)).await;
    call.stop();
    call.wait().await.unwrap();
    assert_eq!(
        logs.sleeps(),
        [1.6, 2.4000000000000004, 3.6, 1.6, 2.4000000000000004]
    );
}

/// A jitter that is not a number is refused.
#[test]
#[should_panic(expected = "`jitter` must be finite")]
fn non_finite_jitter_panics() {
    let _ =
        BackOff::new(|| async { ControlFlow::<(), _>::Continue(Attempt::Failed) }).jitter(f64::NAN);
}
