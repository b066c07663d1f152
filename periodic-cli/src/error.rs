//! The command's own error: what a `periodic` subcommand failed on. Each subcommand prints
//! it as one line on stderr (`periodic service list: ...`, see [`Error::report`]) and exits
//! with status 1.
//!
//! The library's failures (configuration, store, runner) are carried unchanged as
//! [`Error::Periodic`]; the rest is what the command does itself: its flags, its runtime
//! and output, the HTTP API it asks, the tasks it spawns.

use std::convert::Infallible;

/// What a `periodic` subcommand failed on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The library failed: the configuration, the store, the runner, the API server.
    #[error(transparent)]
    Periodic(#[from] periodic::Error),
    /// A flag's value, or a combination of flags, the command cannot use.
    #[error("{0}")]
    Usage(String),
    /// The command's own I/O: its runtime, its output, the signal handlers, `/proc`.
    #[error("{context}")]
    Io {
        /// What the command was doing (`cannot start the tokio runtime`, ...).
        context: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// `periodic service tasks`: the HTTP client cannot be built.
    #[error("cannot build an HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// `periodic service tasks`: the service's API cannot be reached, or answers with an
    /// error or with something other than its tasks. The text names the URL and the
    /// innermost cause.
    #[error("{0}")]
    Api(String),
    /// A benchmark cannot take its measurements.
    #[error("{0}")]
    Bench(&'static str),
    /// A task the command spawned panicked or was cancelled.
    #[error("{context}")]
    Join {
        /// Which tasks (`a setup task failed`).
        context: &'static str,
        /// The panic or the cancellation.
        #[source]
        source: tokio::task::JoinError,
    },
    /// `periodic simulate`: the looping call that drives the simulated service ended with
    /// an error instead of at the horizon.
    #[error("the simulation's looping call failed: {0}")]
    Simulation(#[source] periodic::LoopingCallError<Infallible>),
}

impl Error {
    /// An [`Error::Io`] for `context`, for `map_err`.
    pub(crate) fn io(context: &'static str) -> impl Fn(std::io::Error) -> Self + Copy {
        move |source| Error::Io { context, source }
    }

    /// The message followed by `: cause` for every error in the source chain, skipping a
    /// cause whose text the previous message already ends with: the line printed on
    /// stderr. The same line as [`periodic::Error::report`] for the library's errors.
    pub(crate) fn report(&self) -> String {
        match self {
            Error::Periodic(err) => err.report(),
            other => {
                let mut line = other.to_string();
                let mut source = std::error::Error::source(other);
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn report_shows_every_cause_once() {
        let err = Error::io("cannot write the output")(std::io::Error::other("disk full"));
        assert_eq!(err.report(), "cannot write the output: disk full");
        assert_eq!(err.to_string(), "cannot write the output");
        let err = Error::Usage("--timeout is too long".to_owned());
        assert_eq!(err.report(), "--timeout is too long");
    }
}
