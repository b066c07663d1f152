//! The compile-time registry: one [`TaskDescriptor`] per `#[periodic_task]` method,
//! submitted through `inventory` by the code `#[periodic_tasks]` generates.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use super::calendar::Calendar;
use super::run::{Fleet, RunContext};
use super::spacing::Spacing;
use super::task::TaskCall;

/// A periodic task declared with `#[periodic_task]`. Not public API: built by generated
/// code, read by [`PeriodicRunner`](crate::PeriodicRunner) and [`registered_tasks`].
#[doc(hidden)]
pub struct TaskDescriptor {
    /// The manager type the task belongs to.
    pub owner: fn() -> TypeId,
    /// The manager type as written in the impl block's last path segment.
    pub owner_name: &'static str,
    /// The Rust method name.
    pub method: &'static str,
    /// The task name (`name = "..."`, or the method name).
    pub name: &'static str,
    /// The spacing as declared (the macro turns oslo's numbers into a [`Spacing`]).
    pub spacing: Spacing,
    /// `run_immediately`.
    pub run_immediately: bool,
    /// `enabled`.
    pub enabled: bool,
    /// `external_process_ok`.
    pub external_process_ok: bool,
    /// The context type the method takes, or `None` for a method without one.
    pub context: Option<fn() -> TypeId>,
    /// The context type as written, for error messages.
    pub context_name: &'static str,
    /// Where the method is declared: decides the order of tasks within a pass.
    pub file: &'static str,
    /// Line of the method.
    pub line: u32,
    /// Column of the method.
    pub column: u32,
    /// `fleet` or `fleet = "name"`: the task runs once per slot across its fleet.
    pub fleet: Option<Fleet>,
    /// `timeout = SECONDS`: the longest a run may take.
    pub timeout: Option<std::time::Duration>,
    /// `overrun = skip | run_once | catch_up(N)`.
    pub overrun: super::policy::Overrun,
    /// `cron = "..."`: the cron expression the task follows instead of its spacing
    /// (checked by the macro, parsed again when a runner is built).
    pub cron: Option<&'static str>,
    /// `tz = "..."`: the time zone of `cron` (`None`: UTC).
    pub tz: Option<&'static str>,
    /// Builds one invocation from the (type-erased) manager and context, and the run's
    /// context.
    pub call: fn(Arc<dyn Any + Send + Sync>, Arc<dyn Any + Send + Sync>, RunContext) -> TaskCall,
}

inventory::collect!(TaskDescriptor);

impl TaskDescriptor {
    /// The task's cron schedule, if it has one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an expression or zone the parser
    /// refuses (the macro checked them with the same parser), or when this build of the
    /// crate has no feature `cron`.
    pub(crate) fn calendar(&self) -> crate::Result<Option<Arc<dyn Calendar>>> {
        let Some(expression) = self.cron else {
            return Ok(None);
        };
        #[cfg(feature = "cron")]
        {
            let mut schedule = super::cron::CronSchedule::parse(expression)?;
            if let Some(zone) = self.tz {
                schedule = schedule.in_time_zone(zone)?;
            }
            Ok(Some(Arc::new(schedule)))
        }
        #[cfg(not(feature = "cron"))]
        {
            Err(crate::Error::new(
                crate::ErrorKind::Config,
                format!(
                    "periodic task {}.{} has a cron schedule ({expression:?}) but the \
                     `periodic` crate was built without its feature `cron`",
                    self.owner_name, self.name
                ),
            ))
        }
    }
}

impl fmt::Debug for TaskDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskDescriptor")
            .field("owner", &self.owner_name)
            .field("name", &self.name)
            .field("spacing", &self.spacing)
            .field("run_immediately", &self.run_immediately)
            .field("enabled", &self.enabled)
            .field("external_process_ok", &self.external_process_ok)
            .field("cron", &self.cron)
            .field("tz", &self.tz)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// The tasks registered for manager type `M`, in source order (file, line, column).
pub(crate) fn descriptors_for(owner: TypeId) -> Vec<&'static TaskDescriptor> {
    let mut found: Vec<&'static TaskDescriptor> = inventory::iter::<TaskDescriptor>
        .into_iter()
        .filter(|d| (d.owner)() == owner)
        .collect();
    found.sort_by(|a, b| (a.file, a.line, a.column).cmp(&(b.file, b.line, b.column)));
    found
}

/// A task declared with `#[periodic_task]`, as listed by [`registered_tasks`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegisteredTask {
    /// The manager type's name as written in its impl block.
    pub owner: &'static str,
    /// The task name.
    pub name: &'static str,
    /// The Rust method.
    pub method: &'static str,
    /// The declared spacing: `spacing = 0` (or none) is [`Spacing::Default`], a negative
    /// number [`Spacing::Disabled`]. A cron task (see [`cron`](Self::cron)) declares none
    /// and has [`Spacing::Default`] here.
    pub spacing: Spacing,
    /// `run_immediately`.
    pub run_immediately: bool,
    /// `enabled`.
    pub enabled: bool,
    /// `external_process_ok`.
    pub external_process_ok: bool,
    /// `fleet` or `fleet = "name"`.
    pub fleet: Option<Fleet>,
    /// `timeout = SECONDS`.
    pub timeout: Option<std::time::Duration>,
    /// `overrun = skip | run_once | catch_up(N)`.
    pub overrun: super::policy::Overrun,
    /// `cron = "..."`: the cron expression the task follows instead of its spacing.
    pub cron: Option<&'static str>,
    /// `tz = "..."`: the time zone of its cron expression (`None`: UTC).
    pub time_zone: Option<&'static str>,
    /// Source file of the method.
    pub file: &'static str,
    /// Source line of the method.
    pub line: u32,
}

/// Every task declared with `#[periodic_task]` in the program, all manager types, ordered
/// by owner then source position. Useful for a `--list-tasks` flag or a test that checks
/// what is registered.
///
/// ```
/// # use periodic::registered_tasks;
/// for task in registered_tasks() {
///     println!("{}.{}: {}", task.owner, task.name, task.spacing); // "Compute.poll: every 30s"
/// }
/// ```
pub fn registered_tasks() -> Vec<RegisteredTask> {
    let mut all: Vec<&'static TaskDescriptor> =
        inventory::iter::<TaskDescriptor>.into_iter().collect();
    all.sort_by(|a, b| {
        (a.owner_name, a.file, a.line, a.column).cmp(&(b.owner_name, b.file, b.line, b.column))
    });
    all.into_iter()
        .map(|d| RegisteredTask {
            owner: d.owner_name,
            name: d.name,
            method: d.method,
            spacing: d.spacing,
            run_immediately: d.run_immediately,
            enabled: d.enabled,
            external_process_ok: d.external_process_ok,
            fleet: d.fleet.clone(),
            timeout: d.timeout,
            overrun: d.overrun,
            cron: d.cron,
            time_zone: d.tz,
            file: d.file,
            line: d.line,
        })
        .collect()
}
