//! What `#[periodic_tasks]` registers, checked through the real runner in paused tokio
//! time: which tasks a manager type gets, in which order they run, their settings, how a
//! method's context, return value, error or panic reaches the runner, and the checks the
//! runner makes when it is built.
//!
//! Each test declares its own manager type, so the registrations of one test never show
//! up in another. Times in the timelines are seconds since the runner was built (t0).

use std::error::Error as _;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use periodic::{ErrorKind, ErrorPolicy, Jitter, PeriodicRunner, Spacing, periodic_tasks};
use tokio::time::advance;

/// Records the names of the tasks that ran, in order.
#[derive(Default)]
struct Log(Mutex<Vec<&'static str>>);

impl Log {
    fn push(&self, name: &'static str) {
        self.0.lock().unwrap().push(name);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn names<M, C>(runner: &PeriodicRunner<M, C>) -> Vec<String>
where
    M: Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    runner.tasks().into_iter().map(|task| task.name).collect()
}

// ===== several impl blocks, source order =====

/// A manager whose tasks are spread over three impl blocks, two of them in modules, and
/// whose source order is not alphabetical.
#[derive(Default)]
struct Compute {
    log: Log,
}

#[periodic_tasks]
impl Compute {
    #[periodic_task(run_immediately)]
    async fn zeta(&self) {
        self.log.push("zeta");
    }

    #[periodic_task(run_immediately)]
    fn blocking_middle(&self) {
        self.log.push("blocking_middle");
    }
}

mod compute_power {
    use periodic::periodic_tasks;

    use super::Compute;

    #[periodic_tasks]
    impl Compute {
        #[periodic_task(run_immediately)]
        async fn alpha(&self) {
            self.log.push("alpha");
        }
    }
}

mod compute_volumes {
    #[periodic::periodic_tasks]
    impl super::Compute {
        /// Not compiled: not registered either.
        #[cfg(any())]
        #[periodic_task(run_immediately)]
        async fn never_compiled(&self) {}

        #[periodic::periodic_task(run_immediately)]
        async fn mid(&self) {
            self.log.push("mid");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_of_every_impl_block_are_registered_in_source_order() {
    let runner = PeriodicRunner::<Compute>::new(Compute::default()).unwrap();
    assert_eq!(names(&runner), ["zeta", "blocking_middle", "alpha", "mid"]);
}

#[tokio::test(start_paused = true)]
async fn source_order_decides_who_runs_first_in_a_pass() {
    let runner = PeriodicRunner::<Compute>::new(Compute::default()).unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        runner.manager().log.take(),
        ["zeta", "blocking_middle", "alpha", "mid"]
    );
}

// ===== names and settings =====

#[derive(Default)]
struct Renamed {
    runs: AtomicUsize,
}

#[periodic_tasks]
impl Renamed {
    #[periodic_task(name = "heal", run_immediately)]
    async fn heal_instance_info_cache(&self) {
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn name_sets_the_task_key() {
    let runner = PeriodicRunner::<Renamed>::new(Renamed::default()).unwrap();
    assert!(runner.task("heal_instance_info_cache").is_none());
    let info = runner
        .task("heal")
        .expect("the task is known by its `name`");
    assert_eq!(info.full_name, "Renamed.heal");
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runner.task("heal").unwrap().runs, 1);
    assert_eq!(runner.manager().runs.load(Ordering::SeqCst), 1);
}

#[derive(Default)]
struct Spacings {
    log: Log,
}

#[periodic_tasks]
impl Spacings {
    #[periodic_task]
    async fn default_spacing(&self) {
        self.log.push("default_spacing");
    }

    #[periodic_task(spacing = 0.5)]
    async fn half_second(&self) {}

    #[periodic_task(spacing = 10, run_immediately = false)]
    async fn ten_seconds(&self) {
        self.log.push("ten_seconds");
    }
}

// t            0    10    20 .. 50    59  60
// ten_seconds        x     .     .     x   x    (not run at t0: not run_immediately;
//                                                the missed 20..50 runs are one run at 59,
//                                                then back on the grid at 60)
// default_spacing                          x    (spacing 0 means 60 s)
#[tokio::test(start_paused = true)]
async fn spacing_zero_means_sixty_seconds_and_tasks_wait_one_spacing() {
    let runner = PeriodicRunner::<Spacings>::builder(Spacings::default())
        .jitter(Jitter::None)
        .build()
        .unwrap();
    let default = runner.task("default_spacing").unwrap();
    assert_eq!(default.interval, Some(Duration::from_mins(1)));
    assert_eq!(default.spacing, Spacing::Default);
    assert_eq!(
        runner.task("half_second").unwrap().interval,
        Some(Duration::from_millis(500))
    );

    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runner.manager().log.take(), Vec::<&str>::new());

    advance(Duration::from_secs(10)).await;
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runner.manager().log.take(), ["ten_seconds"]);

    advance(Duration::from_secs(49)).await; // t = 59
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runner.manager().log.take(), ["ten_seconds"]);

    advance(Duration::from_secs(1)).await; // t = 60
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        runner.manager().log.take(),
        ["default_spacing", "ten_seconds"]
    );
}

#[derive(Default)]
struct Disabled {
    log: Log,
}

#[periodic_tasks]
impl Disabled {
    #[periodic_task(spacing = -1, run_immediately)]
    async fn negative_spacing(&self) {
        self.log.push("negative_spacing");
    }

    #[periodic_task(enabled = false, run_immediately)]
    fn disabled(&self) {
        self.log.push("disabled");
    }

    #[periodic_task(spacing = 1, run_immediately)]
    async fn control(&self) {
        self.log.push("control");
    }
}

#[tokio::test(start_paused = true)]
async fn negative_spacing_and_enabled_false_are_listed_but_never_run() {
    let runner = PeriodicRunner::<Disabled>::new(Disabled::default()).unwrap();
    assert_eq!(names(&runner), ["negative_spacing", "disabled", "control"]);
    let negative = runner.task("negative_spacing").unwrap();
    assert!(!negative.runnable);
    assert!(
        negative.enabled,
        "disabled by its spacing, not by `enabled = false`"
    );
    assert_eq!(negative.spacing, Spacing::Disabled);
    assert_eq!(negative.next_due, None);
    let disabled = runner.task("disabled").unwrap();
    assert!(!disabled.runnable && !disabled.enabled);
    assert!(runner.task("control").unwrap().runnable);

    for _ in 0..5 {
        runner.run_periodic_tasks(()).await.unwrap();
        advance(Duration::from_mins(2)).await;
    }
    assert_eq!(runner.manager().log.take(), ["control"; 5]);
    assert_eq!(runner.task("negative_spacing").unwrap().runs, 0);
    assert_eq!(runner.task("disabled").unwrap().runs, 0);
}

#[derive(Default)]
struct External {
    runs: AtomicUsize,
}

#[periodic_tasks]
impl External {
    #[periodic_task(run_immediately, external_process_ok)]
    async fn may_run_elsewhere(&self) {
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn external_process_ok_tasks_are_skipped_when_the_runner_says_so() {
    let here = PeriodicRunner::<External>::new(External::default()).unwrap();
    here.run_periodic_tasks(()).await.unwrap();
    assert_eq!(here.manager().runs.load(Ordering::SeqCst), 1);

    let elsewhere = PeriodicRunner::<External>::builder(External::default())
        .run_external_periodic_tasks(false)
        .build()
        .unwrap();
    assert!(
        elsewhere
            .task("may_run_elsewhere")
            .unwrap()
            .external_process_ok
    );
    elsewhere.run_periodic_tasks(()).await.unwrap();
    assert_eq!(elsewhere.manager().runs.load(Ordering::SeqCst), 0);
}

// ===== the context =====

struct RequestContext {
    project_id: &'static str,
}

#[derive(Default)]
struct WithContext {
    /// (task, address of the context it got, project id)
    seen: Mutex<Vec<(&'static str, usize, &'static str)>>,
}

#[periodic_tasks]
impl WithContext {
    #[periodic_task(run_immediately)]
    async fn async_task(&self, ctx: &RequestContext) {
        let address = std::ptr::from_ref(ctx).addr();
        self.seen
            .lock()
            .unwrap()
            .push(("async_task", address, ctx.project_id));
    }

    #[periodic_task(run_immediately)]
    fn blocking_task(&self, ctx: &RequestContext) {
        let address = std::ptr::from_ref(ctx).addr();
        self.seen
            .lock()
            .unwrap()
            .push(("blocking_task", address, ctx.project_id));
    }

    #[periodic_task(run_immediately)]
    async fn without_context(&self) {
        self.seen.lock().unwrap().push(("without_context", 0, ""));
    }
}

#[tokio::test(start_paused = true)]
async fn the_context_is_passed_through_untouched() {
    let runner =
        PeriodicRunner::<WithContext, RequestContext>::new(WithContext::default()).unwrap();
    let ctx = Arc::new(RequestContext { project_id: "p-1" });
    let address = Arc::as_ptr(&ctx).addr();
    runner.run_periodic_tasks(Arc::clone(&ctx)).await.unwrap();
    assert_eq!(
        *runner.manager().seen.lock().unwrap(),
        [
            ("async_task", address, "p-1"),
            ("blocking_task", address, "p-1"),
            ("without_context", 0, ""),
        ]
    );
    // The runner let go of the context when the pass ended.
    assert_eq!(Arc::strong_count(&ctx), 1);
}

struct OtherContext;

#[tokio::test(start_paused = true)]
async fn a_context_type_other_than_the_runners_is_rejected_at_build() {
    let err = PeriodicRunner::<WithContext, OtherContext>::new(WithContext::default())
        .expect_err("the tasks take a `RequestContext`");
    assert_eq!(err.kind(), ErrorKind::ContextMismatch);
    assert!(err.to_string().contains("RequestContext"), "{err}");
}

struct Labelled<T>(T);

struct GenericContext;

#[periodic_tasks]
impl GenericContext {
    #[periodic_task]
    async fn labelled(&self, ctx: &Labelled<Vec<(u8, &'static str)>>) {
        let Labelled(labels) = ctx;
        assert!(labels.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn the_mismatch_error_names_the_context_type_as_written() {
    let err = PeriodicRunner::<GenericContext>::new(GenericContext).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContextMismatch);
    assert!(
        err.to_string()
            .contains("takes a context of type `Labelled<Vec<(u8, &'static str)>>`"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn tasks_without_a_context_run_with_any_context_type() {
    let runner = PeriodicRunner::<Compute, String>::new(Compute::default()).unwrap();
    runner
        .run_periodic_tasks("ignored".to_owned())
        .await
        .unwrap();
    assert_eq!(runner.manager().log.take().len(), 4);
}

// ===== blocking tasks =====

#[derive(Default)]
struct Threads {
    blocking: Mutex<Option<ThreadId>>,
    asynchronous: Mutex<Option<ThreadId>>,
}

#[periodic_tasks]
impl Threads {
    #[periodic_task(run_immediately)]
    fn blocking(&self) {
        *self.blocking.lock().unwrap() = Some(std::thread::current().id());
    }

    #[periodic_task(run_immediately)]
    async fn asynchronous(&self) {
        *self.asynchronous.lock().unwrap() = Some(std::thread::current().id());
    }
}

#[tokio::test(start_paused = true)]
async fn plain_fn_tasks_run_on_the_blocking_pool_and_async_ones_are_awaited() {
    let runner = PeriodicRunner::<Threads>::new(Threads::default()).unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    let test_thread = std::thread::current().id();
    let manager = runner.manager();
    assert_eq!(*manager.asynchronous.lock().unwrap(), Some(test_thread));
    let blocking = manager
        .blocking
        .lock()
        .unwrap()
        .expect("the blocking task ran");
    assert_ne!(blocking, test_thread);
}

// ===== return values, errors, panics =====

#[derive(Debug)]
struct DiskFull {
    device: &'static str,
}

impl fmt::Display for DiskFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is full", self.device)
    }
}

impl std::error::Error for DiskFull {}

/// An error type that only implements `Display` (no `std::error::Error`).
struct OnlyDisplay;

impl fmt::Display for OnlyDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("only display")
    }
}

#[derive(Default)]
struct Outcomes {
    log: Log,
}

#[periodic_tasks]
impl Outcomes {
    #[periodic_task(run_immediately)]
    #[allow(
        clippy::unnecessary_wraps,
        reason = "the value is what this task is about"
    )]
    fn returns_a_value(&self) -> Result<u64, io::Error> {
        self.log.push("returns_a_value");
        Ok(42)
    }

    #[periodic_task(run_immediately)]
    async fn io_error(&self) -> Result<(), io::Error> {
        self.log.push("io_error");
        Err(io::Error::other("disk on fire"))
    }

    #[periodic_task(run_immediately)]
    fn static_str_error(&self) -> Result<(), &'static str> {
        self.log.push("static_str_error");
        Err("no quota")
    }

    #[periodic_task(run_immediately)]
    async fn display_error(&self) -> Result<(), OnlyDisplay> {
        self.log.push("display_error");
        Err(OnlyDisplay)
    }

    #[periodic_task(run_immediately)]
    async fn async_panic(&self) {
        self.log.push("async_panic");
        panic!("async task panicked");
    }

    #[periodic_task(run_immediately)]
    fn blocking_panic(&self) {
        self.log.push("blocking_panic");
        panic!("blocking task panicked");
    }

    #[periodic_task(spacing = 1, run_immediately)]
    async fn last(&self) {
        self.log.push("last");
    }
}

/// A `MakeWriter` that keeps what the runner logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn failures_are_logged_and_counted_and_the_pass_goes_on() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let runner = PeriodicRunner::<Outcomes>::new(Outcomes::default()).unwrap();
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(
        runner.manager().log.take(),
        [
            "returns_a_value",
            "io_error",
            "static_str_error",
            "display_error",
            "async_panic",
            "blocking_panic",
            "last",
        ]
    );
    let counts = |name: &str| {
        let info = runner.task(name).unwrap();
        (info.runs, info.failures)
    };
    assert_eq!(counts("returns_a_value"), (1, 0), "the value is ignored");
    for failing in [
        "io_error",
        "static_str_error",
        "display_error",
        "async_panic",
        "blocking_panic",
    ] {
        assert_eq!(counts(failing), (1, 1), "{failing}");
    }
    assert_eq!(counts("last"), (1, 0));

    let text = logs.text();
    for line in [
        "Error during Outcomes.io_error: disk on fire",
        "Error during Outcomes.static_str_error: no quota",
        "Error during Outcomes.display_error: only display",
        "Error during Outcomes.async_panic: panicked: async task panicked",
        "Error during Outcomes.blocking_panic: panicked: blocking task panicked",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }

    // The runner survives its panicking tasks: the next pass runs what is due.
    advance(Duration::from_secs(1)).await;
    runner.run_periodic_tasks(()).await.unwrap();
    assert_eq!(runner.manager().log.take(), ["last"]);
}

#[derive(Default)]
struct Propagating {
    log: Log,
}

#[periodic_tasks]
impl Propagating {
    #[periodic_task(run_immediately)]
    async fn fills_the_disk(&self) -> Result<(), DiskFull> {
        self.log.push("fills_the_disk");
        Err(DiskFull { device: "/dev/vdb" })
    }

    #[periodic_task(run_immediately)]
    async fn after(&self) {
        self.log.push("after");
    }
}

#[tokio::test(start_paused = true)]
async fn propagate_returns_the_tasks_error_as_the_source() {
    let runner = PeriodicRunner::<Propagating>::builder(Propagating::default())
        .error_policy(ErrorPolicy::Propagate)
        .build()
        .unwrap();
    let err = runner.run_periodic_tasks(()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(
        err.to_string(),
        "Error during Propagating.fills_the_disk: /dev/vdb is full"
    );
    let source = err.source().expect("the task's error is the source");
    let disk_full = source
        .downcast_ref::<DiskFull>()
        .expect("the source is the task's own error type");
    assert_eq!(disk_full.device, "/dev/vdb");
    // oslo's raise_on_error: the rest of the pass is not run.
    assert_eq!(runner.manager().log.take(), ["fills_the_disk"]);
}

#[tokio::test(start_paused = true)]
async fn propagate_keeps_the_text_of_a_display_only_error() {
    let runner = PeriodicRunner::<Outcomes>::builder(Outcomes::default())
        .error_policy(ErrorPolicy::Propagate)
        .build()
        .unwrap();
    runner.set_spacing("io_error", Spacing::Disabled).unwrap();
    runner
        .set_spacing("static_str_error", Spacing::Disabled)
        .unwrap();
    let err = runner.run_periodic_tasks(()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error during Outcomes.display_error: only display"
    );
    assert!(err.source().is_none());
}

// ===== several manager types =====

#[derive(Default)]
struct Scheduler {
    runs: AtomicUsize,
}

#[derive(Default)]
struct Conductor {
    runs: AtomicUsize,
}

#[periodic_tasks]
impl Scheduler {
    #[periodic_task(spacing = 10, run_immediately)]
    async fn tick(&self) {
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
}

#[periodic_tasks]
impl Conductor {
    #[periodic_task(spacing = 20, run_immediately)]
    async fn tick(&self) {
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn same_named_tasks_of_two_types_stay_separate() {
    let scheduler = PeriodicRunner::<Scheduler>::new(Scheduler::default()).unwrap();
    let conductor = PeriodicRunner::<Conductor>::new(Conductor::default()).unwrap();
    assert_eq!(names(&scheduler), ["tick"]);
    assert_eq!(names(&conductor), ["tick"]);
    assert_eq!(
        scheduler.task("tick").unwrap().spacing,
        Spacing::Every(Duration::from_secs(10))
    );
    assert_eq!(
        conductor.task("tick").unwrap().spacing,
        Spacing::Every(Duration::from_secs(20))
    );

    scheduler.run_periodic_tasks(()).await.unwrap();
    assert_eq!(scheduler.manager().runs.load(Ordering::SeqCst), 1);
    assert_eq!(conductor.manager().runs.load(Ordering::SeqCst), 0);
}

struct Duplicated;

#[periodic_tasks]
impl Duplicated {
    #[periodic_task]
    async fn sync(&self) {}
}

mod duplicated_elsewhere {
    #[periodic::periodic_tasks]
    impl super::Duplicated {
        #[periodic_task(name = "sync")]
        async fn sync_again(&self) {}
    }
}

#[tokio::test(start_paused = true)]
async fn duplicate_names_across_impl_blocks_are_rejected_at_build() {
    let err = PeriodicRunner::<Duplicated>::new(Duplicated).expect_err("two tasks named `sync`");
    assert_eq!(err.kind(), ErrorKind::DuplicateTask);
    assert!(err.to_string().contains("`sync`"), "{err}");
}

// ===== introspection =====

#[test]
fn registered_tasks_lists_every_task_with_its_declaration() {
    let tasks: Vec<_> = periodic::registered_tasks()
        .into_iter()
        .filter(|task| task.owner == "Disabled" || task.owner == "Renamed")
        .collect();
    let summary: Vec<_> = tasks
        .iter()
        .map(|t| {
            (
                t.owner,
                t.name,
                t.method,
                t.spacing,
                t.run_immediately,
                t.enabled,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "Disabled",
                "negative_spacing",
                "negative_spacing",
                Spacing::Disabled,
                true,
                true
            ),
            (
                "Disabled",
                "disabled",
                "disabled",
                Spacing::Default,
                true,
                false
            ),
            (
                "Disabled",
                "control",
                "control",
                Spacing::Every(Duration::from_secs(1)),
                true,
                true
            ),
            (
                "Renamed",
                "heal",
                "heal_instance_info_cache",
                Spacing::Default,
                true,
                true
            ),
        ]
    );
    for task in &tasks {
        assert!(task.file.ends_with("registry.rs"), "{}", task.file);
        assert!(!task.external_process_ok);
    }
    // The line is the method's: the three `Disabled` tasks are declared 5 lines apart.
    assert_eq!(tasks[1].line - tasks[0].line, 5);
    assert_eq!(tasks[2].line - tasks[1].line, 5);
}
