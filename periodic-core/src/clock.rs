//! [`WallClock`]: the wall-clock time of this process, injected where a timestamp or a
//! calendar schedule needs one. Below every other module: the runner (cron schedules) and
//! the service group (heartbeat timestamps) both take one.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// The source of wall-clock time for the timestamps this process writes itself.
///
/// Liveness never depends on it: SQL stores stamp heartbeats with their own clock, and
/// memcached expires keys on its own. It is used for the value of a memcached heartbeat
/// key (nova stores `utcnow()` there), for the display timestamps of the `memory://`
/// store, and for [`HeartbeatStats::last_report`](crate::HeartbeatStats::last_report).
/// Tests inject a skewed clock to show that liveness does not depend on it.
///
/// A runner reads it to place the occurrences of its cron tasks
/// ([`RunnerOptions::wall_clock`](crate::RunnerOptions::wall_clock)); their tests inject
/// a clock that advances with tokio's paused clock.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use periodic::WallClock;
///
/// let ten_minutes_fast = WallClock::from_fn(|| SystemTime::now() + Duration::from_secs(600));
/// assert!(ten_minutes_fast.now() > SystemTime::now());
/// ```
#[derive(Clone)]
pub struct WallClock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl WallClock {
    /// The system clock, [`SystemTime::now`].
    pub fn system() -> Self {
        WallClock(Arc::new(SystemTime::now))
    }

    /// A clock that calls `now` for the time.
    pub fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        WallClock(Arc::new(now))
    }

    /// The current time on this clock.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::system()
    }
}

impl fmt::Debug for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WallClock").field(&self.now()).finish()
    }
}
