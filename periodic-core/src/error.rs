//! The crate's error type.

use std::fmt;

/// A boxed error, the type-erased form in which task and store failures travel.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, for callers that need to branch on it.
///
/// New kinds may be added in minor releases, so a `match` needs a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A configuration value is out of range or inconsistent (a negative interval, an unknown
    /// task name in a spacing override, ...). Permanent: fix the configuration.
    Config,
    /// A [`Manager`](crate::Manager) hook failed ([`init_host`], [`pre_start_hook`] or
    /// [`post_start_hook`]) and [`Service::start`](crate::Service::start) stopped there.
    /// The message names the hook and the hook's own error is the
    /// [`source`](std::error::Error::source). Whether it is permanent is the manager's
    /// business.
    ///
    /// [`init_host`]: crate::Manager::init_host
    /// [`pre_start_hook`]: crate::Manager::pre_start_hook
    /// [`post_start_hook`]: crate::Manager::post_start_hook
    Hook,
    /// Two periodic tasks of one manager type share a name.
    DuplicateTask,
    /// A registered task expects a context type other than the runner's.
    ContextMismatch,
    /// A periodic task failed and the runner was asked to propagate failures
    /// ([`ErrorPolicy::Propagate`](crate::ErrorPolicy::Propagate), oslo's `raise_on_error`).
    Task,
    /// A looping call was started while it was already running.
    AlreadyRunning,
    /// A looping call was waited on before it was ever started.
    NotStarted,
    /// A looping call's timeout elapsed (oslo's `LoopingCallTimeOut`).
    TimedOut,
    /// A dynamic looping call's callee asked for the default delay but none is configured.
    NoInterval,
    /// A callee panicked.
    Panicked,
    /// The function run by a looping call returned an error; the error itself is carried
    /// by [`LoopingCallError`](crate::LoopingCallError) (or as the source of an
    /// [`Error`]).
    Callee,
    /// A looping call's task was cancelled because its runtime shut down; its callee was
    /// dropped with it, so the call cannot be started again.
    Cancelled,
    /// A service-group store (database, memcached) failed or is unreachable. Usually
    /// transient.
    Store,
    /// A record (a service, a task) does not exist.
    NotFound,
    /// Input could not be parsed (a URL, a scenario file, a request body).
    Invalid,
    /// An I/O operation failed.
    Io,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Hook => "manager hook failed",
            ErrorKind::DuplicateTask => "duplicate periodic task",
            ErrorKind::ContextMismatch => "context type mismatch",
            ErrorKind::Task => "periodic task failed",
            ErrorKind::AlreadyRunning => "already running",
            ErrorKind::NotStarted => "not started",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::NoInterval => "no interval",
            ErrorKind::Panicked => "panicked",
            ErrorKind::Callee => "looping call callee failed",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Store => "store error",
            ErrorKind::NotFound => "not found",
            ErrorKind::Invalid => "invalid input",
            ErrorKind::Io => "I/O error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of this crate: a [`kind`](Error::kind), a message meant for humans and,
/// where there is one, the underlying cause as [`source`](std::error::Error::source).
///
/// It displays as its message only; the cause is available through
/// [`source`](std::error::Error::source), and [`Error::report`] gives the one-line summary
/// with the whole chain.
///
/// Driver and client types (sqlx, memcached, ...) never appear in it; they are carried
/// boxed as the source.
#[derive(thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl Error {
    /// Builds an error of `kind` with a human-readable `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A store failure ([`ErrorKind::Store`]): what a
    /// [`ServiceRecords`](crate::ServiceRecords) or [`Liveness`](crate::Liveness)
    /// implementation outside this crate returns when its store fails. Attach the
    /// client's error with [`with_source`](Self::with_source).
    ///
    /// ```
    /// use periodic::{Error, ErrorKind};
    ///
    /// let err = Error::store("cluster-1: write failed").with_source("connection reset");
    /// assert_eq!(err.kind(), ErrorKind::Store);
    /// assert_eq!(err.report(), "cluster-1: write failed: connection reset");
    /// ```
    pub fn store(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Store, message)
    }

    /// A record that does not exist ([`ErrorKind::NotFound`]), for the same
    /// implementations (e.g. a [`Liveness::forget`](crate::Liveness::forget) whose row is
    /// gone).
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    /// Input a store refuses ([`ErrorKind::Invalid`]), for the same implementations (e.g.
    /// a [`ServiceRecords::get_or_create`](crate::ServiceRecords::get_or_create) whose
    /// host already runs another binary on the topic).
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Invalid, message)
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Takes the underlying cause out of the error.
    pub fn into_source(self) -> Option<BoxError> {
        self.source
    }

    /// The message followed by `: cause` for every error in the source chain, skipping a
    /// cause whose text the previous message already ends with: the one line the
    /// command-line tools print.
    ///
    /// ```
    /// use periodic::{BoxError, ErrorKind, Manager, Service, ServiceGroup, ServiceGroupConfig};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("cannot read the host's inventory")]
    /// struct Inventory(#[source] std::io::Error);
    ///
    /// struct Compute;
    ///
    /// impl Manager for Compute {
    ///     type Context = ();
    ///     fn context(&self) {}
    ///     async fn init_host(&self) -> Result<(), BoxError> {
    ///         Err(Inventory(std::io::Error::other("/dev/kvm is missing")).into())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
    /// let service = Service::builder(Compute, "periodic-compute", "compute")
    ///     .servicegroup(group)
    ///     .build()?;
    /// let err = service.start().await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Hook);
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the manager's init_host failed: cannot read the host's inventory"
    /// );
    /// assert_eq!(
    ///     err.report(),
    ///     "the manager's init_host failed: cannot read the host's inventory: /dev/kvm is missing"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn report(&self) -> String {
        report(self)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

/// Formats `err` and its source chain on one line (`outer: inner: innermost`), skipping a
/// cause whose text the previous message already ends with.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

/// Shorthand for `Result<T, periodic::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
