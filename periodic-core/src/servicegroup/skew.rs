//! Clock skew: how far a service's wall clock is from its store's, measured at each
//! report ([`ClockSkew`]), and the once-each-way warning a service logs about its own
//! skew ([`SkewAlarm`]).
//!
//! Liveness never uses it: every driver judges by the store's clock. The figure is there
//! so that an operator sees a host whose clock drifted before its timestamps (logs,
//! `updated_at` in other tools, TLS, Kerberos) mislead anyone.

use std::fmt;
use std::time::{Duration, SystemTime};

/// How far a service's wall clock was ahead of its store's clock when it last reported:
/// `host time - store time` at the report, to the microsecond (positive: the host is
/// ahead; negative: behind).
///
/// Each driver takes the store's time from the store itself, as close to the write as the
/// store allows:
///
/// | driver | the store's clock |
/// |---|---|
/// | `db` | the database's `now()` in the heartbeat's own `UPDATE` |
/// | `redis` | `TIME`, sent with the heartbeat's `SET` in one pipeline |
/// | `zk` | the node's `mtime`, stamped by the ZooKeeper server on the write |
/// | `etcd` | the `Date` header of the etcd server's HTTP `/version` (1 s resolution; etcd's gRPC answers carry no time) |
/// | `mc` | the `time` of memcached's `stats` (1 s resolution; a write carries no time) |
/// | `memory://` | the clock of the handle that created the store |
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use periodic::ClockSkew;
///
/// let store = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
/// let host = store + Duration::from_secs(600);
/// let skew = ClockSkew::between(host, store);
/// assert_eq!(skew.as_secs_f64(), 600.0);
/// assert_eq!(skew.to_string(), "+600.0s");
/// assert_eq!(ClockSkew::between(store, host).to_string(), "-600.0s");
/// assert!(skew.exceeds(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockSkew {
    micros: i64,
}

impl ClockSkew {
    /// The skew of a host whose clock read `host` when the store's read `store`.
    pub fn between(host: SystemTime, store: SystemTime) -> Self {
        let micros = match host.duration_since(store) {
            Ok(ahead) => i64::try_from(ahead.as_micros()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_micros()).unwrap_or(i64::MAX),
        };
        ClockSkew { micros }
    }

    /// A skew of `micros` microseconds (negative: the host is behind).
    pub const fn from_micros(micros: i64) -> Self {
        ClockSkew { micros }
    }

    /// The skew in microseconds.
    pub const fn as_micros(self) -> i64 {
        self.micros
    }

    /// The skew in seconds.
    #[allow(
        clippy::cast_precision_loss,
        reason = "a skew of 2^53 µs is 285 years: f64 holds every real one exactly"
    )]
    pub fn as_secs_f64(self) -> f64 {
        self.micros as f64 / 1e6
    }

    /// The size of the skew, whichever way.
    pub fn magnitude(self) -> Duration {
        Duration::from_micros(self.micros.unsigned_abs())
    }

    /// Whether the skew is more than `threshold` either way.
    pub fn exceeds(self, threshold: Duration) -> bool {
        self.magnitude() > threshold
    }
}

impl fmt::Display for ClockSkew {
    /// Seconds with a sign and one decimal: `+600.0s`, `-30.0s`, `+0.0s` (a skew that
    /// rounds to zero has no minus).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tenths of a second, rounded half away from zero.
        let tenths = (self.micros.unsigned_abs() + 50_000) / 100_000;
        let sign = if self.micros < 0 && tenths > 0 {
            '-'
        } else {
            '+'
        };
        write!(f, "{sign}{}.{}s", tenths / 10, tenths % 10)
    }
}

/// The once-each-way warning about a service's own clock skew: one WARN when the skew
/// first goes past the threshold, one INFO when it comes back within it, nothing in
/// between (a report every 10 s would otherwise repeat it 8,640 times a day).
///
/// ```text
/// skew     +0.2  +0.3  +7.0  +7.1  +9.0  +0.4  +0.3      (clock_skew_warning 5 s)
/// logged               WARN                  INFO
/// ```
#[derive(Debug)]
pub(crate) struct SkewAlarm {
    threshold: Duration,
    over: bool,
}

impl SkewAlarm {
    /// No warning given yet; `threshold` zero turns the warning off.
    pub(crate) fn new(threshold: Duration) -> SkewAlarm {
        SkewAlarm {
            threshold,
            over: false,
        }
    }

    /// Takes the skew of one report; logs when it crosses the threshold either way.
    /// Returns whether it logged.
    pub(crate) fn observe(&mut self, host: &str, binary: &str, skew: ClockSkew) -> bool {
        if self.threshold.is_zero() {
            return false;
        }
        let over = skew.exceeds(self.threshold);
        if over == self.over {
            return false;
        }
        self.over = over;
        let (skew_s, threshold_s) = (skew.as_secs_f64(), self.threshold.as_secs_f64());
        if over {
            tracing::warn!(
                %host,
                %binary,
                clock_skew_s = skew_s,
                clock_skew_warning_s = threshold_s,
                "The clock of {binary} on {host} is {skew} off the servicegroup store's \
                 clock, more than clock_skew_warning ({threshold_s} s); liveness is judged \
                 by the store's clock, but this host's timestamps are wrong"
            );
        } else {
            tracing::info!(
                %host,
                %binary,
                clock_skew_s = skew_s,
                clock_skew_warning_s = threshold_s,
                "The clock of {binary} on {host} is back within clock_skew_warning of the \
                 servicegroup store's clock ({skew})"
            );
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{ClockSkew, SkewAlarm};

    fn s(secs: i64) -> ClockSkew {
        ClockSkew::from_micros(secs * 1_000_000)
    }

    #[test]
    fn warns_once_each_way() {
        let mut alarm = SkewAlarm::new(Duration::from_secs(5));
        let logged: Vec<bool> = [0, 1, 7, 8, -600, 5, 0, -30, -30]
            .into_iter()
            .map(|secs| alarm.observe("n1", "nova-compute", s(secs)))
            .collect();
        // 5 s exactly is within the threshold.
        assert_eq!(
            logged,
            [false, false, true, false, false, true, false, true, false]
        );
    }

    #[test]
    fn a_zero_threshold_never_warns() {
        let mut alarm = SkewAlarm::new(Duration::ZERO);
        assert!(!alarm.observe("n1", "b", s(600)));
    }

    #[test]
    fn display_keeps_the_sign() {
        assert_eq!(s(-30).to_string(), "-30.0s");
        assert_eq!(ClockSkew::from_micros(-60_000).to_string(), "-0.1s");
        assert_eq!(ClockSkew::from_micros(0).to_string(), "+0.0s");
        assert_eq!(ClockSkew::from_micros(-49_999).to_string(), "+0.0s");
        assert_eq!(ClockSkew::from_micros(599_999_700).to_string(), "+600.0s");
        assert_eq!(ClockSkew::from_micros(-1_234_567).to_string(), "-1.2s");
    }
}
