//! `Retry`: oslo's `RetryDecorator`.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// Calls a fallible async function until it succeeds, sleeping a little longer after each
/// failure that the predicate says to retry: oslo.service's `RetryDecorator`.
///
/// [`call`](Self::call) runs the function; on `Ok(value)` it returns `Ok(value)`. On an
/// error for which `retry_if` returns `true` it sleeps and tries again, unless
/// [`max_retry_count`](Self::max_retry_count) retries have been made already, in which
/// case it returns that error. Any other error is returned at once, without a retry.
///
/// The sleeps grow by [`inc_sleep_time`](Self::inc_sleep_time) per retry and are capped
/// at [`max_sleep_time`](Self::max_sleep_time), so a call makes at most
/// `1 + max_retry_count` attempts:
///
/// ```text
/// inc_sleep_time 10 s, max_sleep_time 25 s, max_retry_count 5; fails 5 times, then Ok
///
/// attempt   1     2      3      4      5      6 -> Ok
/// sleeps      10     20     25     25     25
/// time      0     10     30     55     80     105
/// ```
///
/// Defaults as in oslo: unlimited retries, `inc_sleep_time` 10 s, `max_sleep_time` 60 s.
/// It logs at DEBUG with oslo's texts: "Waiting for function NAME to return.", "Invoking
/// NAME; retry count is N.", "Exception which is in the suggested list of exceptions
/// occurred while invoking function: NAME." and "Cannot retry NAME upon suggested
/// exception since retry count (N) reached max retry count (M).".
///
/// The function runs in the caller's task (no task is spawned), so it need not be
/// `'static`, a panic in it unwinds into the caller as with any function call, and
/// dropping the future returned by `call` stops retrying.
///
/// # Differences from oslo.service
///
/// * The retry count and sleep time start from zero for every [`call`](Self::call); oslo
///   keeps them on the decorator, so they add up over all calls of the decorated function
///   (its second call may not retry at all).
/// * Which errors to retry is a predicate instead of a tuple of exception classes; oslo's
///   default (`exceptions=()`, retry nothing) is `Retry::new(|_| false)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use periodic::Retry;
///
/// #[derive(Debug, PartialEq)]
/// enum DbError { Deadlock, Constraint }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let retry = Retry::new(|err: &DbError| *err == DbError::Deadlock)
///     .max_retry_count(3)
///     .inc_sleep_time(Duration::from_millis(100))
///     .max_sleep_time(Duration::from_secs(1));
///
/// let mut attempts = 0;
/// let saved = retry
///     .call(|| {
///         attempts += 1;
///         let result = if attempts < 3 { Err(DbError::Deadlock) } else { Ok("saved") };
///         async move { result }
///     })
///     .await;
/// assert_eq!(saved, Ok("saved")); // after sleeping 0.1 s and 0.2 s
///
/// let failed = retry.call(|| async { Err::<(), _>(DbError::Constraint) }).await;
/// assert_eq!(failed, Err(DbError::Constraint)); // not retried
/// # }
/// ```
#[doc(alias = "RetryDecorator")]
#[derive(Clone)]
pub struct Retry<P> {
    max_retry_count: Option<u32>,
    inc_sleep_time: Duration,
    max_sleep_time: Duration,
    predicate: P,
    name: Option<Cow<'static, str>>,
}

impl<P> Retry<P> {
    /// A retry policy that retries the errors for which `retry_if` returns `true`, with
    /// oslo's defaults.
    pub fn new(retry_if: P) -> Self {
        Retry {
            max_retry_count: None,
            inc_sleep_time: Duration::from_secs(10),
            max_sleep_time: Duration::from_mins(1),
            predicate: retry_if,
            name: None,
        }
    }

    /// How many times to retry at most; `None` (the default, oslo's `-1`) retries for as
    /// long as the errors are retryable.
    #[must_use]
    pub fn max_retry_count(mut self, max: impl Into<Option<u32>>) -> Self {
        self.max_retry_count = max.into();
        self
    }

    /// How much longer each sleep is than the one before (default 10 s; the first sleep
    /// is this long).
    #[must_use]
    pub fn inc_sleep_time(mut self, inc: Duration) -> Self {
        self.inc_sleep_time = inc;
        self
    }

    /// The longest sleep (default 60 s).
    #[must_use]
    pub fn max_sleep_time(mut self, max: Duration) -> Self {
        self.max_sleep_time = max;
        self
    }

    /// The function's name in log lines (default: its type name).
    #[must_use]
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Calls `f` until it returns `Ok`, or an error that is not retried, or the retries
    /// are used up.
    ///
    /// # Errors
    ///
    /// The function's last error: one `retry_if` rejects, or a retryable one after
    /// `max_retry_count` retries.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the attempt in progress (or the sleep) and makes
    /// no further attempts.
    pub async fn call<F, Fut, T, E>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> bool,
    {
        let name = self
            .name
            .as_deref()
            .unwrap_or_else(|| std::any::type_name::<F>());
        tracing::debug!(name, "Waiting for function {name} to return.");
        let mut retry_count = 0_u32;
        let mut sleep_time = Duration::ZERO;
        loop {
            if retry_count > 0 {
                tracing::debug!(
                    name,
                    retry_count,
                    "Invoking {name}; retry count is {retry_count}."
                );
            }
            let err = match f().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !(self.predicate)(&err) {
                return Err(err);
            }
            tracing::debug!(
                name,
                "Exception which is in the suggested list of exceptions occurred while \
                 invoking function: {name}."
            );
            if let Some(max) = self.max_retry_count
                && retry_count >= max
            {
                tracing::debug!(
                    name,
                    retry_count,
                    max_retry_count = max,
                    "Cannot retry {name} upon suggested exception since retry count \
                     ({retry_count}) reached max retry count ({max})."
                );
                return Err(err);
            }
            retry_count = retry_count.saturating_add(1);
            sleep_time = sleep_time.saturating_add(self.inc_sleep_time);
            tokio::time::sleep(sleep_time.min(self.max_sleep_time)).await;
        }
    }
}

impl<P> fmt::Debug for Retry<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("max_retry_count", &self.max_retry_count)
            .field("inc_sleep_time", &self.inc_sleep_time)
            .field("max_sleep_time", &self.max_sleep_time)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
