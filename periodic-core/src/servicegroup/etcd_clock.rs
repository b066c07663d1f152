//! etcd's wall clock, for the `etcd` driver's [clock skew](crate::ClockSkew).
//!
//! etcd's gRPC answers carry no time: a response header holds the cluster and member
//! ids, the revision and the raft term; a key's `mod_revision` is a revision, not a
//! time; a lease's TTL counts down on the server's monotonic clock. The only wall-clock
//! time an etcd server gives is the `Date` header of its HTTP endpoints, served on the
//! same client port (`GET /version`). It has a resolution of one second, so the skew is
//! estimated from the middle of the request against the middle of the server's second:
//! within half a second plus half the round trip.
//!
//! The request is made with `reqwest` and the header parsed with `httpdate` (the crate
//! hyper uses to write it); an endpoint that does not answer plain HTTP (TLS) gives no
//! figure, never an error: the skew is for display, and a heartbeat must not fail for it.

#![cfg(feature = "etcd")]

use std::time::Duration;

use super::config::WallClock;
use super::skew::ClockSkew;

/// Reads the `Date` of etcd's HTTP endpoints.
#[derive(Debug, Clone)]
pub(crate) struct EtcdClock {
    http: reqwest::Client,
    urls: Vec<String>,
}

impl EtcdClock {
    /// A probe of `endpoints` (`host:port` or a URL), each request bounded by `timeout`.
    pub(crate) fn new(endpoints: &[String], timeout: Duration) -> Option<EtcdClock> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .ok()?;
        let urls = endpoints
            .iter()
            .map(|e| {
                let base = if e.contains("://") {
                    e.trim_end_matches('/').to_owned()
                } else {
                    format!("http://{e}")
                };
                format!("{base}/version")
            })
            .collect();
        Some(EtcdClock { http, urls })
    }

    /// The skew of `clock` against the first endpoint that answers, or `None`.
    pub(crate) async fn skew(&self, clock: &WallClock) -> Option<ClockSkew> {
        for url in &self.urls {
            let sent = clock.now();
            let Ok(answer) = self.http.get(url).send().await else {
                continue;
            };
            let received = clock.now();
            let Some(date) = answer
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|d| d.to_str().ok())
                .and_then(|d| httpdate::parse_http_date(d).ok())
            else {
                continue;
            };
            let round_trip = received.duration_since(sent).unwrap_or_default();
            let host = sent + round_trip / 2;
            let server = date + Duration::from_millis(500);
            return Some(ClockSkew::between(host, server));
        }
        None
    }
}

/// The parts of an `etcd` driver's value: `<id> <service time, epoch µs> [<skew, µs>]`.
pub(crate) fn value(id: i64, host_us: i64, skew: Option<ClockSkew>) -> String {
    match skew {
        Some(skew) => format!("{id} {host_us} {}", skew.as_micros()),
        None => format!("{id} {host_us}"),
    }
}

/// The skew in a value written by [`value`].
pub(crate) fn skew_in(value: &[u8]) -> Option<ClockSkew> {
    let text = std::str::from_utf8(value).ok()?;
    let micros = text.split_whitespace().nth(2)?.parse::<i64>().ok()?;
    Some(ClockSkew::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::{ClockSkew, skew_in, value};

    #[test]
    fn values_carry_the_skew() {
        let skew = ClockSkew::from_micros(-30_000_000);
        assert_eq!(skew_in(value(7, 1, Some(skew)).as_bytes()), Some(skew));
        assert_eq!(skew_in(value(7, 1, None).as_bytes()), None);
        assert_eq!(skew_in(b"garbage"), None);
    }
}
