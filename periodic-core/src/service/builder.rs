//! `Service` and its builder: configuration and the start sequence.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use super::manager::Manager;
use super::options::ServiceOptions;
use super::reload::{Reload, Reloader};
use super::running::RunningService;
use crate::error::{Error, ErrorKind, Result};
use crate::looping::{DynamicInterval, OnError};
use crate::periodic::{
    IdlePolicy, Jitter, PeriodicRunner, RunnerOptions, Spacing, TaskLedger, TaskScope,
};
use crate::servicegroup::{HeartbeatMode, JoinOptions, MemoryLedger, NewService, ServiceGroup};
use crate::task_group::TaskGroup;

/// A service: a [`Manager`] whose periodic tasks run on a timer, with a heartbeat in a
/// [`ServiceGroup`] so that anyone can tell whether it is up (nova's `service.Service`).
///
/// Build it with [`Service::builder`], then [`start`](Service::start) it, or run it until
/// SIGTERM/SIGINT with [`run_until_signal`](Service::run_until_signal):
///
/// ```no_run
/// use periodic::{Manager, Service, ServiceGroup, ServiceGroupConfig, periodic_tasks};
///
/// struct Compute;
///
/// impl Manager for Compute {
///     type Context = ();
///     fn context(&self) {}
/// }
///
/// #[periodic_tasks]
/// impl Compute {
///     #[periodic_task(spacing = 60, run_immediately)]
///     async fn update_available_resource(&self) {}
/// }
///
/// # #[tokio::main]
/// # async fn main() -> periodic::Result<()> {
/// let group = ServiceGroup::open("sqlite://periodic.db", ServiceGroupConfig::default()).await?;
/// let stopped = Service::builder(Compute, "periodic-compute", "compute")
///     .servicegroup(group)
///     .build()?
///     .run_until_signal()
///     .await?;
/// std::process::exit(stopped.exit_code());
/// # }
/// ```
///
/// # Start order
///
/// As nova's `Service.start`: [`Manager::init_host`]; load or create the service record
/// (race-safe: two processes starting at once end with one row);
/// [`Manager::pre_start_hook`] (the runner is built here, with the task ledger of the
/// group's store or of [`fleet_store`](ServiceBuilder::fleet_store));
/// [`Manager::post_start_hook`]; join the service group (the
/// heartbeat, first after 5 s, then every `report_interval`, on a thread of its own); then
/// the periodic tasks on a [`DynamicInterval`] after a random `periodic_fuzzy_delay`.
///
/// # Differences from nova and oslo.service
///
/// - The heartbeat runs on its own thread and store connection
///   ([`HeartbeatMode::Thread`]): a periodic task that blocks its thread cannot make the
///   service look down.
/// - A graceful stop marks the service stopped in the store, so `service list` shows it
///   down at once instead of after `service_down_time`.
/// - `periodic_interval_max` defaults to 60 s (nova's `Service.create` passes `None`,
///   under which a pass that returns no idle time ends the timer with an error).
pub struct Service<M: Manager> {
    manager: Arc<M>,
    options: ServiceOptions,
    group: ServiceGroup,
}

impl<M: Manager> fmt::Debug for Service<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("options", &self.options)
            .field("group", &self.group.url())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Service`]; see [`Service::builder`].
pub struct ServiceBuilder<M: Manager> {
    manager: Arc<M>,
    options: ServiceOptions,
    group: Option<ServiceGroup>,
}

impl<M: Manager> fmt::Debug for ServiceBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<M: Manager> Service<M> {
    /// A builder for a service running `manager` as `binary` (e.g. `nova-compute`) on
    /// `topic` (e.g. `compute`), with oslo's and nova's defaults: host = this machine's
    /// hostname, `periodic_enable` true, `periodic_fuzzy_delay` 60 s,
    /// `periodic_interval_max` 60 s, `run_external_periodic_tasks` true,
    /// `graceful_shutdown_timeout` 60 s.
    pub fn builder(
        manager: impl Into<Arc<M>>,
        binary: impl Into<String>,
        topic: impl Into<String>,
    ) -> ServiceBuilder<M> {
        ServiceBuilder {
            manager: manager.into(),
            options: ServiceOptions::new(binary.into(), topic.into()),
            group: None,
        }
    }

    /// The manager.
    pub fn manager(&self) -> &Arc<M> {
        &self.manager
    }

    /// The service group the service joins.
    pub fn group(&self) -> &ServiceGroup {
        &self.group
    }

    /// Starts the service in nova's order (see [Start order](Self#start-order)) and
    /// returns the running service.
    ///
    /// # Errors
    ///
    /// A failing hook ([`ErrorKind::Hook`] naming the hook, with its error as the source), a
    /// store error while loading or creating the record ([`ErrorKind::Store`]), or a
    /// runner that cannot be built (duplicate task names, a context type mismatch, an
    /// unknown task in a spacing override), or [`ErrorKind::Config`] when another
    /// instance heartbeats the same row (see
    /// [`allow_second_instance`](ServiceBuilder::allow_second_instance); checked before
    /// `init_host`). Nothing keeps running after an error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: cancelled after joining the group, the heartbeat goes on until
    /// the process ends.
    pub async fn start(self) -> Result<RunningService<M>> {
        let Service {
            manager,
            options,
            group,
        } = self;
        // Bind first: a taken port aborts the start before anything ran.
        #[cfg(feature = "http")]
        let api = match &options.api {
            Some(api) => Some((
                crate::http::Bound::bind(api.clone()).await?,
                crate::http::TaskMetrics::new(&options.binary, &options.host),
            )),
            None => None,
        };
        #[cfg(feature = "http")]
        let observer = api.as_ref().map(|(_, metrics)| {
            let metrics = Arc::clone(metrics);
            move |run: &crate::periodic::TaskRun| metrics.observe(run)
        });
        #[cfg(not(feature = "http"))]
        let observer: Option<fn(&crate::periodic::TaskRun)> = None;
        if !options.allow_second_instance {
            super::instance::refuse_second_instance(&group, &options.host, &options.binary).await?;
        }
        hook("init_host", manager.init_host().await)?;
        let mut new = NewService::new(&options.host, &options.binary, &options.topic);
        if let Some(zone) = &options.availability_zone {
            new = new.availability_zone(zone);
        }
        let record = group.get_or_create(&new).await?;
        let fleet_ledger = match &options.fleet_store {
            Some(url) => Some(ServiceGroup::open_ledger(&url.0, group.config()).await?),
            None => None,
        };
        hook("pre_start_hook", manager.pre_start_hook(&record).await)?;
        let ledger = fleet_ledger.or_else(|| group.ledger());
        let runner = build_runner(&manager, &options, ledger, record.id, observer)?;
        let reloader = match &options.reload {
            Some(source) => Some(reloader(&manager, &options, source)?),
            None => None,
        };
        hook("post_start_hook", manager.post_start_hook().await)?;

        let probe = Arc::clone(&manager);
        let join = JoinOptions::new()
            .is_working(move || probe.is_working())
            .mode(options.heartbeat_mode)
            .initial_delay(options.initial_reporting_delay);
        #[cfg(feature = "http")]
        let joined_at = group.config().clock.now();
        let heartbeat = group.join(&record, join).await?;
        tracing::info!(
            binary = %options.binary,
            host = %options.host,
            topic = %options.topic,
            "Starting {} node (version {})",
            options.topic,
            env!("CARGO_PKG_VERSION")
        );

        let tasks = TaskGroup::new();
        let periodic = if options.periodic_enable {
            Some(start_periodic_tasks(&tasks, &manager, &runner, &options))
        } else {
            None
        };
        let running = RunningService::new(
            manager, record, group, heartbeat, runner, tasks, periodic, options, reloader,
        );
        #[cfg(feature = "http")]
        let running = match api {
            Some((bound, metrics)) => running.serve_api(bound, metrics, joined_at),
            None => running,
        };
        Ok(running)
    }

    /// Starts the service and runs it until SIGTERM or SIGINT, then stops it gracefully
    /// (see [`RunningService::run_until_signal`]).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), or when the signal handlers cannot be installed.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe (see [`start`](Self::start)).
    pub async fn run_until_signal(self) -> Result<super::Stopped> {
        self.start().await?.run_until_signal().await
    }
}

/// A failed hook as an [`ErrorKind::Hook`] error. The message names the hook and ends
/// with the hook error's own text (not its chain, which stays reachable as the source), so
/// that [`Error::report`] shows each cause once.
fn hook(name: &str, result: std::result::Result<(), crate::BoxError>) -> Result<()> {
    result.map_err(|e| {
        Error::new(ErrorKind::Hook, format!("the manager's {name} failed: {e}")).with_source(e)
    })
}

/// The service's runner: its options as set on the builder, plus `observer` (the HTTP
/// API's metrics) after the observers set there, and `ledger` (the group's store's, or
/// the `fleet_store`'s) unless one was set: plain runs recorded under
/// `service/<host>/<binary>`, fleet tasks in the fleet of the binary by default, claimed
/// as `host:pid:service_id`.
fn build_runner<M: Manager>(
    manager: &Arc<M>,
    options: &ServiceOptions,
    ledger: Option<Arc<dyn TaskLedger>>,
    service_id: i64,
    observer: Option<impl Fn(&crate::periodic::TaskRun) + Send + Sync + 'static>,
) -> Result<PeriodicRunner<M, M::Context>> {
    let mut runner = options.runner.clone();
    if runner.task_ledger.is_none()
        && let Some(ledger) = ledger
    {
        runner = runner.task_ledger(ledger);
    }
    if runner.ledger_scope.is_none() {
        runner = runner.ledger_scope(TaskScope::service(&options.host, &options.binary));
    }
    if runner.default_fleet.is_none() {
        runner = runner.default_fleet(options.binary.clone());
    }
    if runner.fleet_holder.is_none() {
        runner = runner.fleet_holder(format!(
            "{}:{}:{}",
            options.host,
            std::process::id(),
            service_id
        ));
    }
    if let Some(observer) = observer {
        runner = runner.on_task_run(observer);
    }
    PeriodicRunner::<M, M::Context>::builder(Arc::clone(manager))
        .options(runner)
        .build()
}

/// What SIGHUP needs: the source, each task's declared spacing (from a runner built
/// without the spacing overrides, never run) and the overrides in effect.
fn reloader<M: Manager>(
    manager: &Arc<M>,
    options: &ServiceOptions,
    source: &super::options::ReloadSource,
) -> Result<Reloader> {
    let mut declared_options = RunnerOptions::new()
        .run_external_periodic_tasks(options.runner.run_external_periodic_tasks)
        .task_ledger(Arc::new(MemoryLedger::new()) as Arc<dyn TaskLedger>);
    if let Some(fleet) = &options.runner.default_fleet {
        declared_options = declared_options.default_fleet(fleet.clone());
    } else {
        declared_options = declared_options.default_fleet(options.binary.clone());
    }
    let declared = PeriodicRunner::<M, M::Context>::builder(Arc::clone(manager))
        .options(declared_options)
        .build()?
        .tasks()
        .into_iter()
        .map(|task| (task.name, task.spacing))
        .collect();
    Ok(Reloader::new(
        Arc::clone(&source.0),
        declared,
        &options.runner.spacing_overrides,
    ))
}

/// nova: `tg.add_dynamic_timer(self.periodic_tasks, initial_delay=randint(0,
/// periodic_fuzzy_delay) or None, periodic_interval_max=...)`.
fn start_periodic_tasks<M: Manager>(
    tasks: &TaskGroup,
    manager: &Arc<M>,
    runner: &PeriodicRunner<M, M::Context>,
    options: &ServiceOptions,
) -> crate::looping::LoopingCall<(), Error> {
    let fuzzy = options.periodic_fuzzy_delay.as_secs();
    let initial_delay = if fuzzy == 0 {
        Duration::ZERO
    } else {
        let mut rng = match options.runner.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Duration::from_secs(rng.random_range(0..=fuzzy))
    };
    let manager = Arc::clone(manager);
    let runner = runner.clone();
    let mut timer = DynamicInterval::new(move || {
        let manager = Arc::clone(&manager);
        let runner = runner.clone();
        async move {
            let idle = runner.run_periodic_tasks(manager.context()).await?;
            Ok::<_, Error>(ControlFlow::<(), _>::Continue(Some(idle)))
        }
    })
    .name("periodic_tasks")
    .on_error(OnError::Log)
    .initial_delay(initial_delay);
    if let Some(max) = options.periodic_interval_max {
        timer = timer.periodic_interval_max(max);
    }
    tasks.add_dynamic_timer(timer)
}

impl<M: Manager> ServiceBuilder<M> {
    /// The store where the service's tasks claim their slots and record their runs, when
    /// it is not the group's own (`sqlite://...`, `postgres://...`, `mysql://...`,
    /// `memory://...`); opened at start (see [`ServiceGroup::open_ledger`]). Default: the
    /// group's store.
    ///
    /// ```
    /// use periodic::{Manager, Service};
    ///
    /// struct Scheduler;
    ///
    /// impl Manager for Scheduler {
    ///     type Context = ();
    ///     fn context(&self) {}
    /// }
    ///
    /// let builder = Service::builder(Scheduler, "nova-scheduler", "scheduler")
    ///     .fleet_store("postgres://nova@db/fleet");
    /// # let _ = builder;
    /// ```
    #[must_use]
    pub fn fleet_store(mut self, url: impl Into<String>) -> Self {
        self.options.fleet_store = Some(super::options::StoreUrl(url.into()));
        self
    }

    /// The service group to join (required).
    #[must_use]
    pub fn servicegroup(mut self, group: ServiceGroup) -> Self {
        self.group = Some(group);
        self
    }

    /// The host name recorded for the service (default: this machine's hostname).
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.options.host = host.into();
        self
    }

    /// The availability zone recorded for the service (default: none).
    #[must_use]
    pub fn availability_zone(mut self, zone: impl Into<String>) -> Self {
        self.options.availability_zone = Some(zone.into());
        self
    }

    /// nova's `periodic_enable` (default `true`): whether the periodic tasks run at all.
    #[must_use]
    pub fn periodic_enable(mut self, yes: bool) -> Self {
        self.options.periodic_enable = yes;
        self
    }

    /// nova's `periodic_fuzzy_delay` (default 60 s): the first pass starts after a random
    /// whole number of seconds in `[0, delay]`. Zero starts at once.
    #[must_use]
    pub fn periodic_fuzzy_delay(mut self, delay: Duration) -> Self {
        self.options.periodic_fuzzy_delay = delay;
        self
    }

    /// The longest sleep between two passes (default 60 s; `None`: no cap).
    #[must_use]
    pub fn periodic_interval_max(mut self, max: Option<Duration>) -> Self {
        self.options.periodic_interval_max = max;
        self
    }

    /// The options of the service's runner, replacing the ones set so far (by this
    /// method or by [`idle_policy`](Self::idle_policy), [`jitter`](Self::jitter),
    /// [`run_external_periodic_tasks`](Self::run_external_periodic_tasks),
    /// [`spacing_override`](Self::spacing_override) and [`seed`](Self::seed), which set
    /// the same fields). The service's own observer of task runs (the HTTP API's metrics)
    /// comes after the ones set here. Their seed also seeds `periodic_fuzzy_delay`.
    ///
    /// ```
    /// use periodic::{ErrorPolicy, Manager, RunnerOptions, Service};
    ///
    /// struct Compute;
    /// impl Manager for Compute {
    ///     type Context = ();
    ///     fn context(&self) {}
    /// }
    ///
    /// let runner = RunnerOptions::new()
    ///     .error_policy(ErrorPolicy::Log)
    ///     .on_task_run(|run| println!("{} took {:?}", run.full_name, run.duration));
    /// let builder = Service::builder(Compute, "periodic-compute", "compute").runner_options(runner);
    /// # let _ = builder;
    /// ```
    #[must_use]
    pub fn runner_options(mut self, options: RunnerOptions) -> Self {
        self.options.runner = options;
        self
    }

    /// Changes the runner's options with `f` (how [`Config`](crate::Config) applies its
    /// own on top of the ones set before).
    #[cfg_attr(not(feature = "config"), allow(dead_code))]
    pub(crate) fn map_runner_options(
        mut self,
        f: impl FnOnce(RunnerOptions) -> RunnerOptions,
    ) -> Self {
        self.options.runner = f(self.options.runner);
        self
    }

    /// oslo's `run_external_periodic_tasks` (default `true`); see
    /// [`RunnerOptions::run_external_periodic_tasks`].
    #[must_use]
    pub fn run_external_periodic_tasks(mut self, yes: bool) -> Self {
        self.options.runner = self.options.runner.run_external_periodic_tasks(yes);
        self
    }

    /// oslo's `graceful_shutdown_timeout` (default 60 s): how long a stop waits for a
    /// running pass to finish. Zero waits for ever.
    #[must_use]
    pub fn graceful_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.options.graceful_shutdown_timeout = timeout;
        self
    }

    /// The runner's idle policy (default [`IdlePolicy::Precise`]); see
    /// [`RunnerOptions::idle_policy`].
    #[must_use]
    pub fn idle_policy(mut self, policy: IdlePolicy) -> Self {
        self.options.runner = self.options.runner.idle_policy(policy);
        self
    }

    /// The runner's jitter (default [`Jitter::Oslo`], 0-5 % of the spacing in whole
    /// seconds); see [`RunnerOptions::jitter`].
    #[must_use]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.options.runner = self.options.runner.jitter(jitter);
        self
    }

    /// Overrides the spacing of periodic task `name`, as nova reads spacings from
    /// configuration; see [`RunnerOptions::spacing_override`].
    #[must_use]
    pub fn spacing_override(
        mut self,
        name: impl Into<String>,
        spacing: impl Into<Spacing>,
    ) -> Self {
        self.options.runner = self.options.runner.spacing_override(name, spacing);
        self
    }

    /// What the service re-reads on SIGHUP (default: nothing; SIGHUP then logs that
    /// there is nothing to re-read). `ConfigFile::apply_to_service` (feature `config`)
    /// sets it for a configuration file. See
    /// [`RunningService::reload`](crate::RunningService::reload) for what a reload
    /// changes.
    #[must_use]
    pub fn reload(mut self, source: impl Reload) -> Self {
        self.options.reload = Some(super::options::ReloadSource(Arc::new(source)));
        self
    }

    /// Where the heartbeat runs (default [`HeartbeatMode::Thread`]).
    #[must_use]
    pub fn heartbeat_mode(mut self, mode: HeartbeatMode) -> Self {
        self.options.heartbeat_mode = mode;
        self
    }

    /// Lets this service start while another process heartbeats the same row (same host
    /// and binary); default `false`.
    ///
    /// By default [`start`](Service::start) refuses that case with
    /// [`ErrorKind::Config`]: a row that looks up is watched for one `report_interval`
    /// (plus a second) first, and refused if its heartbeat advances. A row stopped
    /// gracefully, down, or new starts at once; after a crash, the start waits that one
    /// interval. With `true` the two processes share the row, as before: its
    /// `report_count` rises twice as fast, and stopping either marks it stopped.
    #[must_use]
    pub fn allow_second_instance(mut self, allow: bool) -> Self {
        self.options.allow_second_instance = allow;
        self
    }

    /// The wait before the first heartbeat (default nova's `INITIAL_REPORTING_DELAY`,
    /// 5 s).
    #[must_use]
    pub fn initial_reporting_delay(mut self, delay: Duration) -> Self {
        self.options.initial_reporting_delay = delay;
        self
    }

    /// Serves the HTTP API while the service runs: nova's `/os-services` of the service's
    /// group, and the service's own `/healthz`, `/tasks` and `/metrics` (see
    /// [`ApiServer`](crate::ApiServer) for the endpoints and the auth model). The address
    /// is bound before [`Manager::init_host`], so a taken port aborts the start; the
    /// server stops first when the service stops. The runner then reports every finished
    /// task run to the metrics. [`RunningService::api_addr`] tells the bound address.
    ///
    /// ```no_run
    /// use periodic::{ApiAuth, ApiServerOptions, Manager, Service, ServiceGroup, ServiceGroupConfig};
    ///
    /// struct Compute;
    /// impl Manager for Compute {
    ///     type Context = ();
    ///     fn context(&self) {}
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> periodic::Result<()> {
    /// let group = ServiceGroup::open("sqlite://periodic.db", ServiceGroupConfig::default()).await?;
    /// let api = ApiServerOptions::new("127.0.0.1:8775".parse().unwrap())
    ///     .auth(ApiAuth::Token(std::env::var("PERIODIC_API_TOKEN").unwrap_or_default()));
    /// let running = Service::builder(Compute, "periodic-compute", "compute")
    ///     .servicegroup(group)
    ///     .api(api)
    ///     .build()?
    ///     .start()
    ///     .await?;
    /// println!("curl http://{}/healthz", running.api_addr().unwrap());
    /// running.stop().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    #[must_use]
    pub fn api(mut self, options: crate::http::ApiServerOptions) -> Self {
        self.options.api = Some(options);
        self
    }

    /// Seeds the random fuzzy delay and the runner's jitter, for reproducible tests; see
    /// [`RunnerOptions::seed`].
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.runner = self.options.runner.seed(seed);
        self
    }

    /// Checks everything [`build`](Self::build) and [`start`](Service::start) would
    /// refuse that needs no service group: empty names, spacing overrides naming no task
    /// of `M` (or an `Every` of zero), the tasks' context type, the HTTP API's bind
    /// policy. Call it before opening the store, so that a wrong configuration touches
    /// nothing; `build` calls it too.
    ///
    /// ```
    /// use periodic::{ErrorKind, Manager, RunnerOptions, Service, Spacing};
    ///
    /// struct Compute;
    /// impl Manager for Compute {
    ///     type Context = ();
    ///     fn context(&self) {}
    /// }
    ///
    /// let overrides = RunnerOptions::new().spacing_override("_no_such_task", Spacing::Disabled);
    /// let builder = Service::builder(Compute, "periodic-compute", "compute").runner_options(overrides);
    /// let err = builder.check().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("`_no_such_task`"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] (and the runner's other build errors, see
    /// [`PeriodicRunnerBuilder::build`](crate::PeriodicRunnerBuilder::build)).
    pub fn check(&self) -> Result<()> {
        for (what, value) in [
            ("host", &self.options.host),
            ("binary", &self.options.binary),
            ("topic", &self.options.topic),
        ] {
            if value.trim().is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("a service's {what} must not be empty"),
                ));
            }
        }
        #[cfg(feature = "http")]
        if let Some(api) = &self.options.api {
            crate::http::check_bind_policy(api)?;
        }
        // The runner start() builds, without its observer: unknown spacing overrides
        // fail here, before init_host runs and the service row is created. The store is
        // not open yet, so fleet tasks are checked against a ledger in memory; a store
        // that keeps none is refused at start.
        let ledger: Arc<dyn TaskLedger> = Arc::new(MemoryLedger::new());
        build_runner(
            &self.manager,
            &self.options,
            Some(ledger),
            0,
            None::<fn(&crate::periodic::TaskRun)>,
        )?;
        Ok(())
    }

    /// Builds the service.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] without a service group, or for what [`check`](Self::check)
    /// refuses.
    pub fn build(self) -> Result<Service<M>> {
        self.check()?;
        let group = self.group.ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "a service needs a service group: call `.servicegroup(ServiceGroup::open(url, config).await?)`",
            )
        })?;
        Ok(Service {
            manager: self.manager,
            options: self.options,
            group,
        })
    }
}
