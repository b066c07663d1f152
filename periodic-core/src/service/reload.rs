//! SIGHUP: re-reading a service's configuration and applying what can change at run time.
//!
//! The service knows nothing of files: a [`Reload`] (such as the
//! [`ConfigFile`](crate::ConfigFile) of the `config` feature) hands it the spacings to
//! run with and the names of the options that changed but need a restart; the service
//! applies the spacings to its runner.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, ErrorKind, Result};
use crate::periodic::{PeriodicRunner, Spacing};

/// Where a running service gets its configuration again on SIGHUP (oslo.service's
/// `reload_config_files` with mutable options). Set it with
/// [`ServiceBuilder::reload`](crate::ServiceBuilder::reload);
/// [`ConfigFile`](crate::ConfigFile) implements it for a TOML file.
///
/// ```
/// use std::collections::BTreeMap;
/// use periodic::{Manager, Reload, Reloaded, Service, Spacing};
///
/// /// Spacings from somewhere else (a key-value store, a control plane, ...).
/// struct FromElsewhere;
///
/// impl Reload for FromElsewhere {
///     fn origin(&self) -> String {
///         "elsewhere".to_owned()
///     }
///     fn reload(&self) -> periodic::Result<Reloaded> {
///         let spacing = BTreeMap::from([("poll".to_owned(), Spacing::Disabled)]);
///         Ok(Reloaded::new(spacing).needs_restart(["report_interval"]))
///     }
/// }
///
/// struct Poller;
/// impl Manager for Poller {
///     type Context = ();
///     fn context(&self) {}
/// }
///
/// let builder = Service::builder(Poller, "poller", "poll").reload(FromElsewhere);
/// # let _ = builder;
/// ```
pub trait Reload: Send + Sync + 'static {
    /// What is re-read, for the log lines (a file's path).
    fn origin(&self) -> String;

    /// Reads the configuration again.
    ///
    /// # Errors
    ///
    /// Why it cannot be used (a syntax error, a bad value, an unreadable file): the
    /// service keeps its configuration and logs this error's [`report`](Error::report)
    /// on one line.
    fn reload(&self) -> Result<Reloaded>;
}

/// What a [`Reload`] read: the spacing overrides and `run_external_periodic_tasks` to
/// run with, and the options that
/// differ from the ones the service started with but only take effect at a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reloaded {
    /// Spacings by task name, replacing the overrides in effect; a task without one
    /// returns to its declared spacing.
    pub spacing: BTreeMap<String, Spacing>,
    /// oslo's `run_external_periodic_tasks` to run with; `None` keeps the runner's.
    pub run_external_periodic_tasks: Option<bool>,
    /// Options that changed but need a restart (`report_interval`, `[database]
    /// connection`, ...), by their configuration names.
    pub needs_restart: Vec<String>,
}

impl Reloaded {
    /// The spacing overrides to run with; nothing that needs a restart.
    pub fn new(spacing: BTreeMap<String, Spacing>) -> Self {
        Reloaded {
            spacing,
            run_external_periodic_tasks: None,
            needs_restart: Vec::new(),
        }
    }

    /// Runs the tasks marked `external_process_ok`, or stops them
    /// ([`PeriodicRunner::set_run_external_periodic_tasks`]).
    #[must_use]
    pub fn run_external_periodic_tasks(mut self, yes: bool) -> Self {
        self.run_external_periodic_tasks = Some(yes);
        self
    }

    /// Names options that changed but need a restart.
    #[must_use]
    pub fn needs_restart(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.needs_restart.extend(names.into_iter().map(Into::into));
        self
    }
}

/// What one [`RunningService::reload`](crate::RunningService::reload) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Tasks whose spacing changed: name, old spacing, new spacing.
    pub spacing: Vec<(String, Spacing, Spacing)>,
    /// `run_external_periodic_tasks` if it changed: old, new.
    pub run_external_periodic_tasks: Option<(bool, bool)>,
    /// As [`Reloaded::needs_restart`]: changed, not applied.
    pub needs_restart: Vec<String>,
}

impl fmt::Display for ReloadReport {
    /// `spacing of a: 10s -> 20s, spacing of b: ...` or `nothing`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.spacing.is_empty() && self.run_external_periodic_tasks.is_none() {
            return f.write_str("nothing changed at run time");
        }
        for (i, (name, old, new)) in self.spacing.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "spacing of {name}: {old} -> {new}")?;
        }
        if let Some((old, new)) = self.run_external_periodic_tasks {
            if !self.spacing.is_empty() {
                f.write_str(", ")?;
            }
            write!(f, "run_external_periodic_tasks: {old} -> {new}")?;
        }
        Ok(())
    }
}

/// A service's reload state: the source, each task's declared spacing (to return to
/// when its override is removed) and the overrides in effect.
pub(crate) struct Reloader {
    source: Arc<dyn Reload>,
    declared: BTreeMap<String, Spacing>,
    current: Mutex<BTreeMap<String, Spacing>>,
}

impl fmt::Debug for Reloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloader")
            .field("origin", &self.source.origin())
            .field("declared", &self.declared)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// `declared`: each task's spacing without overrides; `current`: the overrides the
    /// runner was built with (the last one of a name wins, as in the runner).
    pub(crate) fn new(
        source: Arc<dyn Reload>,
        declared: BTreeMap<String, Spacing>,
        current: &[(String, Spacing)],
    ) -> Self {
        Reloader {
            source,
            declared,
            current: Mutex::new(current.iter().cloned().collect()),
        }
    }

    /// What is re-read.
    pub(crate) fn origin(&self) -> String {
        self.source.origin()
    }

    /// Re-reads the source and applies its spacings and `run_external_periodic_tasks`
    /// to `runner`. On error nothing
    /// changed: a configuration that cannot be read, or a spacing naming no task.
    pub(crate) fn reload<M, C>(&self, runner: &PeriodicRunner<M, C>) -> Result<ReloadReport>
    where
        M: Send + Sync + 'static,
        C: Send + Sync + 'static,
    {
        let reloaded = self.source.reload()?;
        if let Some(unknown) = reloaded
            .spacing
            .keys()
            .find(|name| runner.task(name).is_none())
        {
            let known: Vec<&str> = self.declared.keys().map(String::as_str).collect();
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{}: [periodic_task_spacing] names `{unknown}`, which is not a task of \
                     this service; expected one of {}",
                    self.source.origin(),
                    known.join(", ")
                ),
            ));
        }
        if let Some((name, _)) = reloaded
            .spacing
            .iter()
            .find(|(_, spacing)| matches!(spacing, Spacing::Every(d) if d.is_zero()))
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{}: the spacing of `{name}` must not be zero",
                    self.origin()
                ),
            ));
        }
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let mut applied = ReloadReport {
            needs_restart: reloaded.needs_restart,
            ..ReloadReport::default()
        };
        let names: Vec<String> = current
            .keys()
            .chain(reloaded.spacing.keys())
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for name in names {
            let Some(info) = runner.task(&name) else {
                continue;
            };
            let target = reloaded
                .spacing
                .get(&name)
                .or_else(|| self.declared.get(&name))
                .copied()
                .unwrap_or(info.spacing);
            if target != info.spacing {
                runner.set_spacing(&name, target)?;
                applied.spacing.push((name, info.spacing, target));
            }
        }
        *current = reloaded.spacing;
        if let Some(yes) = reloaded.run_external_periodic_tasks {
            let was = runner.run_external_periodic_tasks();
            if was != yes {
                runner.set_run_external_periodic_tasks(yes);
                applied.run_external_periodic_tasks = Some((was, yes));
            }
        }
        Ok(applied)
    }
}
