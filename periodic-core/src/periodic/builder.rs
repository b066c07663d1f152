//! `PeriodicRunnerBuilder`, and `PeriodicRunner::builder` / `::new` that start it: a
//! runner from the tasks registered for its manager type and a [`RunnerOptions`].

use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::fleet::FleetRuntime;
use super::info::TaskRun;
use super::lane_control::LaneControl;
use super::options::RunnerOptions;
use super::pass::Shared;
use super::policy::{Concurrency, ErrorPolicy, IdlePolicy};
use super::registry::{TaskDescriptor, descriptors_for};
use super::runner::PeriodicRunner;
use super::schedule::Jitter;
use super::slots::{SlotSpec, State, TaskFn};
use super::spacing::Spacing;
use crate::error::{Error, ErrorKind, Result};

/// Builds a [`PeriodicRunner`]; see [`PeriodicRunner::builder`].
///
/// It holds a [`RunnerOptions`]: set them all at once with [`options`](Self::options), or
/// one by one with the setters below, which set the same fields.
pub struct PeriodicRunnerBuilder<M, C = ()> {
    manager: Arc<M>,
    options: RunnerOptions,
    _context: PhantomData<fn(C)>,
}

impl<M, C> fmt::Debug for PeriodicRunnerBuilder<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicRunnerBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<M, C> PeriodicRunner<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// A builder for a runner of `manager`'s tasks, with the default [`RunnerOptions`].
    pub fn builder(manager: impl Into<Arc<M>>) -> PeriodicRunnerBuilder<M, C> {
        PeriodicRunnerBuilder {
            manager: manager.into(),
            options: RunnerOptions::default(),
            _context: PhantomData,
        }
    }

    /// A runner with the default options; see [`PeriodicRunnerBuilder::build`] for the
    /// errors.
    pub fn new(manager: impl Into<Arc<M>>) -> Result<Self> {
        Self::builder(manager).build()
    }
}

impl<M, C> PeriodicRunnerBuilder<M, C>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// Replaces every option set so far with `options`.
    ///
    /// ```
    /// use periodic::{Concurrency, PeriodicRunner, RunnerOptions};
    ///
    /// # struct Manager;
    /// let options = RunnerOptions::new().concurrency(Concurrency::Concurrent).seed(7);
    /// let runner = PeriodicRunner::<Manager>::builder(Manager).options(options).build()?;
    /// # let _ = runner; Ok::<(), periodic::Error>(())
    /// ```
    #[must_use]
    pub fn options(mut self, options: RunnerOptions) -> Self {
        self.options = options;
        self
    }

    /// [`RunnerOptions::idle_policy`].
    #[must_use]
    pub fn idle_policy(mut self, policy: IdlePolicy) -> Self {
        self.options = self.options.idle_policy(policy);
        self
    }

    /// [`RunnerOptions::error_policy`].
    #[must_use]
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.options = self.options.error_policy(policy);
        self
    }

    /// [`RunnerOptions::concurrency`].
    #[must_use]
    pub fn concurrency(mut self, concurrency: Concurrency) -> Self {
        self.options = self.options.concurrency(concurrency);
        self
    }

    /// [`RunnerOptions::jitter`].
    #[must_use]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.options = self.options.jitter(jitter);
        self
    }

    /// [`RunnerOptions::seed`].
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.options = self.options.seed(seed);
        self
    }

    /// [`RunnerOptions::jitter_source`].
    ///
    /// ```
    /// # use periodic::{PeriodicRunner, Jitter};
    /// # struct Manager;
    /// let runner = PeriodicRunner::<Manager>::builder(Manager)
    ///     .jitter(Jitter::Oslo)
    ///     .jitter_source(|| 0.5) // spacing 200 gets int(200 * 0.5 / 20) = 5 s
    ///     .build()?;
    /// # let _ = runner; Ok::<(), periodic::Error>(())
    /// ```
    #[must_use]
    pub fn jitter_source(mut self, draw: impl FnMut() -> f64 + Send + 'static) -> Self {
        self.options = self.options.jitter_source(draw);
        self
    }

    /// [`RunnerOptions::run_external_periodic_tasks`].
    #[must_use]
    pub fn run_external_periodic_tasks(mut self, yes: bool) -> Self {
        self.options = self.options.run_external_periodic_tasks(yes);
        self
    }

    /// [`RunnerOptions::spacing_override`].
    #[must_use]
    pub fn spacing_override(
        mut self,
        name: impl Into<String>,
        spacing: impl Into<Spacing>,
    ) -> Self {
        self.options = self.options.spacing_override(name, spacing);
        self
    }

    /// [`RunnerOptions::wall_clock`]: where the occurrences of cron tasks fall (default
    /// the system clock).
    #[must_use]
    pub fn wall_clock(mut self, clock: crate::clock::WallClock) -> Self {
        self.options = self.options.wall_clock(clock);
        self
    }

    /// [`RunnerOptions::on_task_run`]: adds an observer of finished runs.
    #[must_use]
    pub fn on_task_run(mut self, observer: impl Fn(&TaskRun) + Send + Sync + 'static) -> Self {
        self.options = self.options.on_task_run(observer);
        self
    }

    /// Builds the runner from the tasks registered for `M`.
    ///
    /// Disabled tasks (`enabled = false`, [`Spacing::Disabled`]) are logged at info as
    /// oslo does ("Skipping periodic task X because it is disabled") and kept, not run.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DuplicateTask`] when two registered tasks of `M` share a name (they
    ///   can sit in different impl blocks, which the macro cannot see together);
    /// - [`ErrorKind::ContextMismatch`] when a registered task takes a context type other
    ///   than `C`;
    /// - [`ErrorKind::Config`] when a spacing override names no task or is
    ///   [`Spacing::Every`] zero.
    pub fn build(self) -> Result<PeriodicRunner<M, C>> {
        let owner_name: Arc<str> = short_type_name(std::any::type_name::<M>()).into();
        let origin = Instant::now();
        let mut state = State::new(Arc::clone(&owner_name), origin, &self.options);
        for desc in descriptors_for(TypeId::of::<M>()) {
            check_context::<C>(desc, &owner_name)?;
            let spec = SlotSpec {
                name: desc.name.into(),
                spacing: desc.spacing,
                run_immediately: desc.run_immediately,
                enabled: desc.enabled,
                external_process_ok: desc.external_process_ok,
                fleet: desc.fleet.clone(),
                timeout: desc.timeout,
                overrun: desc.overrun,
                calendar: desc.calendar()?,
                func: TaskFn::Registered(desc.call),
            };
            state.push(spec, origin)?;
        }
        for (name, spacing) in &self.options.spacing_overrides {
            state.set_spacing(name, *spacing, origin)?;
        }
        let manager_any: Arc<dyn Any + Send + Sync> = self.manager.clone();
        let fleet = FleetRuntime::new(&self.options).map(Arc::new);
        Ok(PeriodicRunner::from_shared(Shared {
            fleet,
            resumed: std::sync::atomic::AtomicBool::new(false),
            lanes: LaneControl::default(),
            manager: self.manager,
            manager_any,
            owner_name,
            options: self.options,
            pass: tokio::sync::Mutex::new(()),
            state: Mutex::new(state),
        }))
    }
}

fn check_context<C: 'static>(desc: &TaskDescriptor, owner: &str) -> Result<()> {
    if let Some(context) = desc.context
        && context() != TypeId::of::<C>()
    {
        return Err(Error::new(
            ErrorKind::ContextMismatch,
            format!(
                "periodic task {owner}.{} takes a context of type `{}`, but the runner's context type is `{}`",
                desc.name,
                desc.context_name,
                std::any::type_name::<C>()
            ),
        ));
    }
    Ok(())
}

/// The last path segment of a type name, without generic arguments:
/// `my_crate::compute::ComputeManager<T>` becomes `ComputeManager`.
fn short_type_name(full: &str) -> &str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
