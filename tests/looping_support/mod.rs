//! Helpers shared by the looping-call and task-group tests: recording when a callee runs,
//! and capturing log events.

#![allow(dead_code, unreachable_pub)] // each test file uses a part of it

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// Seconds as a `Duration`.
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Milliseconds as a `Duration`.
pub fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The instants (relative to its creation) at which something happened.
#[derive(Clone)]
pub struct Calls {
    t0: Instant,
    at: Arc<Mutex<Vec<Duration>>>,
}

impl Calls {
    /// Starts the clock now.
    pub fn new() -> Self {
        Calls {
            t0: Instant::now(),
            at: Arc::default(),
        }
    }

    /// Records "now"; returns how many calls there were before.
    pub fn record(&self) -> usize {
        let mut at = self.at.lock().unwrap();
        at.push(self.t0.elapsed());
        at.len() - 1
    }

    /// The recorded instants.
    pub fn at(&self) -> Vec<Duration> {
        self.at.lock().unwrap().clone()
    }

    /// The recorded instants, in seconds.
    pub fn secs(&self) -> Vec<f64> {
        self.at().iter().map(Duration::as_secs_f64).collect()
    }

    /// How many calls were recorded.
    pub fn count(&self) -> usize {
        self.at.lock().unwrap().len()
    }

    /// Time since the clock started.
    pub fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    F64(f64),
    U64(u64),
    I64(i64),
    Bool(bool),
}

impl Value {
    /// The float, if it is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Value::F64(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, if it is one.
    pub fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// One captured event.
#[derive(Debug, Clone)]
pub struct Record {
    pub level: Level,
    pub message: String,
    pub fields: BTreeMap<String, Value>,
}

/// Collects every event of the current thread while the guard lives (tests run on a
/// current-thread runtime, so the loops' tasks log on this thread too).
#[derive(Clone, Default)]
pub struct Logs {
    records: Arc<Mutex<Vec<Record>>>,
}

impl Logs {
    /// Installs the collector as the thread's default subscriber.
    pub fn capture() -> (Logs, DefaultGuard) {
        // A global subscriber that is interested in everything: without it, a test
        // thread that logs without a collector can get a callsite's interest cached as
        // "never" while another thread installs its collector (tracing computes interest
        // across all dispatchers), and that thread then misses events.
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let logs = Logs::default();
        let subscriber = tracing_subscriber::registry().with(logs.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        (logs, guard)
    }

    /// Every event so far.
    pub fn all(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    /// The events of `level`.
    pub fn at(&self, level: Level) -> Vec<Record> {
        self.all()
            .into_iter()
            .filter(|r| r.level == level)
            .collect()
    }

    /// The messages of the events of `level`.
    pub fn messages(&self, level: Level) -> Vec<String> {
        self.at(level).into_iter().map(|r| r.message).collect()
    }

    /// The `idle` field of every "sleeping for" event: the sleeps, in the policy's own
    /// arithmetic.
    pub fn sleeps(&self) -> Vec<f64> {
        self.at(Level::TRACE)
            .iter()
            .filter(|r| r.message.contains("sleeping for"))
            .filter_map(|r| r.fields.get("idle").and_then(Value::f64))
            .collect()
    }
}

impl<S: Subscriber> Layer<S> for Logs {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut visitor = Visitor::default();
        event.record(&mut visitor);
        self.records.lock().unwrap().push(Record {
            level: *event.metadata().level(),
            message: visitor.message,
            fields: visitor.fields,
        });
    }
}

#[derive(Default)]
struct Visitor {
    message: String,
    fields: BTreeMap<String, Value>,
}

impl Visit for Visitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields
            .insert(field.name().to_owned(), Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields
            .insert(field.name().to_owned(), Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields
            .insert(field.name().to_owned(), Value::U64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .insert(field.name().to_owned(), Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .insert(field.name().to_owned(), Value::Str(value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .insert(field.name().to_owned(), Value::Str(format!("{value:?}")));
        }
    }
}

/// What a scripted callee does on one call, after running for the step's milliseconds.
#[derive(Debug, Clone)]
pub enum Then<C, T, E> {
    /// Returns `Continue(c)`.
    Go(C),
    /// Returns `Break(t)`.
    Done(T),
    /// Returns `Err(e)`.
    Fail(E),
    /// Panics with this message.
    Panic(&'static str),
}

/// The future a scripted callee returns.
pub type Run<C, T, E> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<std::ops::ControlFlow<T, C>, E>> + Send>,
>;

/// A callee that records each call in `calls`, then plays `steps` in order: the `k`-th
/// call takes `steps[k].0` milliseconds (a tokio sleep) and then does `steps[k].1`. A call past
/// the end of the script panics (so the loop ends with a `Panicked` error).
pub fn script<C, T, E>(
    calls: &Calls,
    steps: Vec<(u64, Then<C, T, E>)>,
) -> impl FnMut() -> Run<C, T, E> + Send + 'static
where
    C: Clone + Send + 'static,
    T: Clone + Send + 'static,
    E: Clone + Send + 'static,
{
    let calls = calls.clone();
    move || {
        let k = calls.record();
        let step = steps.get(k).cloned();
        Box::pin(async move {
            let Some((took, then)) = step else {
                panic!("the callee was called {} times, more than scripted", k + 1)
            };
            if took > 0 {
                tokio::time::sleep(ms(took)).await;
            }
            match then {
                Then::Go(c) => Ok(std::ops::ControlFlow::Continue(c)),
                Then::Done(t) => Ok(std::ops::ControlFlow::Break(t)),
                Then::Fail(e) => Err(e),
                Then::Panic(message) => panic!("{message}"),
            }
        })
    }
}

/// Asserts that the recorded instants are exactly these milliseconds after the start.
#[track_caller]
pub fn assert_ms(calls: &Calls, expected: &[u64]) {
    let expected: Vec<Duration> = expected.iter().map(|m| ms(*m)).collect();
    assert_eq!(calls.at(), expected, "(calls at, vs expected)");
}
