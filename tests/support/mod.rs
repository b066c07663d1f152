//! Helpers shared by the service-group tests (`tests/servicegroup_*.rs`): log capture,
//! unique names, waiting for an event with a deadline, (in `servers.rs`) scratch
//! databases and a TCP proxy that plays a store outage, (in `private.rs`) servers of a
//! test's own that it may restart or pause, and (in `faults.rs`) the fault tests'
//! service process.

#![allow(dead_code, unreachable_pub)] // each test file uses a part of it

#[cfg(all(unix, feature = "sqlite"))]
pub mod faults;
pub mod private;
pub mod scenarios;
pub mod servers;
pub mod sql_suite;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// One captured log event.
#[derive(Debug, Clone)]
pub struct Line {
    pub level: Level,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Capture(Arc<Mutex<Vec<Line>>>);

struct Fields<'a>(&'a mut String, &'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        } else {
            self.1.insert(field.name().to_owned(), format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(self.0);
        } else {
            self.1.insert(field.name().to_owned(), value.to_owned());
        }
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = String::new();
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut message, &mut fields));
        self.0.lock().unwrap().push(Line {
            level: *event.metadata().level(),
            message,
            fields,
        });
    }
}

/// Every log event of the test binary, from every thread (heartbeats run on threads of
/// their own, so a thread-local subscriber would miss them). Tests tell their lines apart
/// by the `host` field: each test uses hosts of its own ([`unique`]).
#[derive(Clone)]
pub struct Logs(Arc<Mutex<Vec<Line>>>);

impl Logs {
    /// Installs the global capture (once per test binary) and returns it.
    pub fn capture() -> Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&lines)));
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in the service-group tests");
            Logs(lines)
        })
        .clone()
    }

    /// The events whose `host` field is `host`.
    pub fn for_host(&self, host: &str) -> Vec<Line> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.fields.get("host").map(String::as_str) == Some(host))
            .cloned()
            .collect()
    }

    /// How many events for `host` have exactly this message.
    pub fn count(&self, host: &str, message: &str) -> usize {
        self.for_host(host)
            .iter()
            .filter(|l| l.message == message)
            .count()
    }

    /// Every event with a message containing `needle`, whatever its fields.
    pub fn containing(&self, needle: &str) -> Vec<Line> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.message.contains(needle))
            .cloned()
            .collect()
    }
}

/// A name no other test (or earlier run) uses: `prefix-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `check` every 50 ms (real time) until it returns `Some`, or panics with `what`
/// after `deadline`: waiting for an event instead of sleeping a fixed time.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
