//! How a looping call waits for its deadlines: tokio's timer, or tokio's timer and a short
//! spin for microsecond precision.

use std::time::Duration;

use tokio::time::Instant;

/// How a looping call waits for a deadline.
///
/// tokio's timer has a resolution of one millisecond: a sleep rounds its deadline up to
/// the next millisecond tick and the thread then parks in whole milliseconds, so a wake-up
/// comes 0 to 2 ms after the deadline (1 ms on average). [`Timer::Spin`] sleeps on tokio's
/// timer until shortly before the deadline and then yields to the runtime until the
/// deadline has come, so the callee starts within microseconds of it, at the cost of up to
/// that window of CPU time per run.
///
/// ```text
/// deadline                     |
/// Tokio          sleep ........|..~1 ms..> run
/// Spin(1 ms)     sleep ...> yield yield | run
/// ```
///
/// Either way the callee never starts before its deadline, and in paused time
/// (`start_paused`) both are exact: the spin notices that the clock does not move and
/// sleeps instead.
///
/// ```
/// use std::time::Duration;
/// use periodic::{FixedInterval, Timer};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut sampler = FixedInterval::new(Duration::from_millis(10), || async {})
///     .timer(Timer::Spin(Duration::from_millis(1)))
///     .start();
/// # sampler.stop();
/// # sampler.wait().await.unwrap();
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Timer {
    /// tokio's timer alone (the default): no busy waiting, 0-2 ms late.
    #[default]
    Tokio,
    /// tokio's timer until this long before the deadline, then yield until the deadline.
    /// One or two milliseconds cover tokio's rounding.
    Spin(Duration),
}

impl Timer {
    pub(crate) fn spin(self) -> Duration {
        match self {
            Timer::Tokio => Duration::ZERO,
            Timer::Spin(window) => window,
        }
    }
}

/// Waits until `deadline`: on tokio's timer until `spin` before it, then yielding.
pub(crate) async fn wait_until(deadline: Instant, spin: Duration) {
    let coarse = deadline.checked_sub(spin).unwrap_or(deadline);
    let mut sleep = std::pin::pin!(tokio::time::sleep_until(coarse));
    sleep.as_mut().await;
    let mut last = Instant::now();
    while last < deadline {
        tokio::task::yield_now().await;
        let now = Instant::now();
        if now == last {
            // The clock stands still while the runtime is busy: it is paused. Sleep, so
            // that auto-advance takes it exactly to the deadline.
            sleep.as_mut().reset(deadline);
            sleep.as_mut().await;
            return;
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Not a timing test: whatever the machine's load, the wait never ends before its
    // deadline, with or without the spin.
    #[tokio::test]
    async fn never_returns_before_the_deadline() {
        for i in 0..40u64 {
            let deadline = Instant::now() + Duration::from_micros(i * 97);
            let spin = if i % 2 == 0 {
                Duration::ZERO
            } else {
                Duration::from_millis(2)
            };
            wait_until(deadline, spin).await;
            assert!(Instant::now() >= deadline);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn exact_in_paused_time() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(1500);
        wait_until(deadline, Duration::from_millis(3)).await;
        assert_eq!(Instant::now(), deadline);
    }
}
