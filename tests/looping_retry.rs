//! `Retry` (oslo's `RetryDecorator`) in paused time. Case numbers refer to section 5.2 of
//! the oslo.service study (`oslo-semantics.md`).

mod looping_support;

use std::sync::{Arc, Mutex};

use looping_support::{Calls, Logs, assert_ms, ms};
use periodic::Retry;
use tracing::Level;

#[derive(Debug, Clone, PartialEq)]
enum E {
    AnException,
    Other,
}

/// A function that records its calls and returns `results` in order.
fn scripted<T: Clone>(
    calls: &Calls,
    results: Vec<Result<T, E>>,
) -> impl FnMut() -> std::future::Ready<Result<T, E>> {
    let calls = calls.clone();
    move || {
        let k = calls.record();
        std::future::ready(results[k].clone())
    }
}

fn an_exception(err: &E) -> bool {
    *err == E::AnException
}

/// Case 50: a plain success returns the value after one call, without sleeping.
#[tokio::test(start_paused = true)]
async fn case_50_success_returns_the_value() {
    let calls = Calls::new();
    let retry = Retry::new(an_exception);
    let value = retry.call(scripted(&calls, vec![Ok(42)])).await;
    assert_eq!(value, Ok(42));
    assert_ms(&calls, &[0]);
}

/// Case 50: `RetryDecorator(10, 0.01, 10, (AnException,))`, two failures then success:
/// sleeps 0.01 and 0.02 s.
#[tokio::test(start_paused = true)]
async fn case_50_retries_listed_errors() {
    let calls = Calls::new();
    let retry = Retry::new(an_exception)
        .max_retry_count(10)
        .inc_sleep_time(ms(10))
        .max_sleep_time(ms(10_000));
    let value = retry
        .call(scripted(
            &calls,
            vec![Err(E::AnException), Err(E::AnException), Ok("result")],
        ))
        .await;
    assert_eq!(value, Ok("result"));
    assert_ms(&calls, &[0, 10, 30]);
}

/// Case 50: `RetryDecorator(2, 0, 0, (AnException,))`, always failing: 1 + 2 calls, then
/// the error; oslo's debug logs.
#[tokio::test(start_paused = true)]
async fn case_50_gives_up_after_max_retry_count() {
    let (logs, _guard) = Logs::capture();
    let calls = Calls::new();
    let retry = Retry::new(an_exception)
        .max_retry_count(2)
        .inc_sleep_time(ms(0))
        .max_sleep_time(ms(0))
        .name("f");
    let result = retry
        .call(scripted::<()>(&calls, vec![Err(E::AnException); 3]))
        .await;
    assert_eq!(result, Err(E::AnException));
    assert_ms(&calls, &[0, 0, 0]);
    let suggested = "Exception which is in the suggested list of exceptions occurred while invoking function: f.";
    assert_eq!(
        logs.messages(Level::DEBUG),
        [
            "Waiting for function f to return.",
            suggested,
            "Invoking f; retry count is 1.",
            suggested,
            "Invoking f; retry count is 2.",
            suggested,
            "Cannot retry f upon suggested exception since retry count (2) reached max retry \
             count (2).",
        ]
    );
}

/// Case 50: an error the predicate does not list is returned at once.
#[tokio::test(start_paused = true)]
async fn case_50_unlisted_error_is_not_retried() {
    let calls = Calls::new();
    let retry = Retry::new(an_exception);
    let result = retry
        .call(scripted::<()>(&calls, vec![Err(E::Other), Ok(())]))
        .await;
    assert_eq!(result, Err(E::Other));
    assert_ms(&calls, &[0]);
}

/// Case 51: `RetryDecorator(5, 10, 25, (E,))`, five failures then "ok": sleeps grow by 10 s
/// and are capped at 25 s.
///
/// ```text
/// attempt  1    2     3     4     5     6 -> Ok("ok")
/// sleeps     10    20    25    25    25
/// t        0    10    30    55    80    105
/// ```
#[tokio::test(start_paused = true)]
async fn case_51_sleeps_grow_and_are_capped() {
    let calls = Calls::new();
    let retry = Retry::new(an_exception)
        .max_retry_count(5)
        .inc_sleep_time(ms(10_000))
        .max_sleep_time(ms(25_000));
    let mut results = vec![Err(E::AnException); 5];
    results.push(Ok("ok"));
    assert_eq!(retry.call(scripted(&calls, results)).await, Ok("ok"));
    assert_ms(&calls, &[0, 10_000, 30_000, 55_000, 80_000, 105_000]);
}

/// Case 51, a difference: oslo keeps the retry count on the decorator, so a second call of
/// `RetryDecorator(2, 1, 60, (E,))` starts with count 1 and sleep 2 s and gives up on its
/// second failure. Here every `call` starts afresh: sleeps 1, 2 and then success.
#[tokio::test(start_paused = true)]
async fn difference_retry_counters_are_per_call() {
    let retry = Retry::new(an_exception)
        .max_retry_count(2)
        .inc_sleep_time(ms(1000))
        .max_sleep_time(ms(60_000));

    let calls = Calls::new();
    let first = retry
        .call(scripted(&calls, vec![Err(E::AnException), Ok("a")]))
        .await;
    assert_eq!(first, Ok("a"));
    assert_ms(&calls, &[0, 1000]);

    let calls = Calls::new();
    let second = retry
        .call(scripted(
            &calls,
            vec![Err(E::AnException), Err(E::AnException), Ok("b")],
        ))
        .await;
    assert_eq!(second, Ok("b")); // oslo: Err(AnException) after one retry
    assert_ms(&calls, &[0, 1000, 3000]);
}

/// Case 51: oslo's `exceptions=()` (retry nothing) is a predicate that says no.
#[tokio::test(start_paused = true)]
async fn case_51_retry_nothing() {
    let calls = Calls::new();
    let retry = Retry::new(|_: &E| false);
    let result = retry
        .call(scripted::<()>(&calls, vec![Err(E::AnException), Ok(())]))
        .await;
    assert_eq!(result, Err(E::AnException));
    assert_eq!(calls.count(), 1);
}

/// The default is oslo's `max_retry_count=-1`: retry for as long as the error is listed.
#[tokio::test(start_paused = true)]
async fn unlimited_retries_by_default() {
    let calls = Calls::new();
    let retry = Retry::new(an_exception)
        .inc_sleep_time(ms(1000))
        .max_sleep_time(ms(3000));
    let mut results = vec![Err(E::AnException); 20];
    results.push(Ok(()));
    assert_eq!(retry.call(scripted(&calls, results)).await, Ok(()));
    assert_eq!(calls.count(), 21);
    assert_eq!(calls.elapsed(), ms(1000 + 2000 + 18 * 3000));
}

/// The function runs in the caller's task, so it may borrow; dropping the future stops the
/// retries.
#[tokio::test(start_paused = true)]
async fn borrows_and_stops_when_dropped() {
    let attempts = Arc::new(Mutex::new(0));
    let retry = Retry::new(an_exception).inc_sleep_time(ms(1000));
    let local = String::from("borrowed");
    let outcome = tokio::time::timeout(
        ms(2500),
        retry.call(|| {
            *attempts.lock().unwrap() += 1;
            let len = local.len();
            async move {
                if len > 0 {
                    Err::<(), _>(E::AnException)
                } else {
                    Ok(())
                }
            }
        }),
    )
    .await;
    assert!(outcome.is_err());
    // Attempts at 0, 1 and 3 s; the timeout at 2.5 s dropped the sleep before the third.
    assert_eq!(*attempts.lock().unwrap(), 2);
    tokio::time::sleep(ms(10_000)).await;
    assert_eq!(*attempts.lock().unwrap(), 2);
}
