//! `Config`: the annotated example file, precedence (file < environment < flags), errors
//! that name the file and the key, and the helpers that configure a service group and a
//! service.

use std::path::Path;
use std::time::Duration;

use periodic::{
    Config, ErrorKind, IdlePolicy, LivenessDriver, Manager, PeriodicRunner, RunnerOptions, Service,
    ServiceGroup, Spacing, periodic_tasks,
};

fn example_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("periodic.example.toml")
}

#[test]
fn the_example_file_parses_and_states_the_defaults() {
    let mut config = Config::default();
    config.update_from_file(example_file()).unwrap();
    assert_eq!(config, Config::default(), "the example shows every default");
}

#[test]
fn the_example_file_names_every_key_and_variable() {
    let text = std::fs::read_to_string(example_file()).unwrap();
    for key in [
        "host",
        "report_interval",
        "service_down_time",
        "clock_skew_warning",
        "periodic_enable",
        "periodic_fuzzy_delay",
        "periodic_interval_max",
        "run_external_periodic_tasks",
        "graceful_shutdown_timeout",
        "servicegroup_driver",
        "fleet_store",
        "[database]",
        "connection",
        "[cache]",
        "memcache_servers",
        "[periodic_task_spacing]",
        "[api]",
        "bind",
        "auth_token",
    ] {
        assert!(
            text.contains(key),
            "periodic.example.toml does not mention {key}"
        );
    }
    for var in [
        "PERIODIC_HOST",
        "PERIODIC_REPORT_INTERVAL",
        "PERIODIC_SERVICE_DOWN_TIME",
        "PERIODIC_CLOCK_SKEW_WARNING",
        "PERIODIC_PERIODIC_ENABLE",
        "PERIODIC_PERIODIC_FUZZY_DELAY",
        "PERIODIC_PERIODIC_INTERVAL_MAX",
        "PERIODIC_RUN_EXTERNAL_PERIODIC_TASKS",
        "PERIODIC_GRACEFUL_SHUTDOWN_TIMEOUT",
        "PERIODIC_SERVICEGROUP_DRIVER",
        "PERIODIC_FLEET_STORE",
        "PERIODIC_DATABASE_URL",
        "PERIODIC_MEMCACHED_SERVERS",
        "PERIODIC_API_BIND",
        "PERIODIC_API_TOKEN",
    ] {
        assert!(
            text.contains(var),
            "periodic.example.toml does not name {var}"
        );
        // Each documented variable really sets something.
        let mut config = Config::default();
        let value = match var {
            "PERIODIC_PERIODIC_ENABLE" | "PERIODIC_RUN_EXTERNAL_PERIODIC_TASKS" => "false",
            "PERIODIC_SERVICEGROUP_DRIVER" => "mc",
            "PERIODIC_API_BIND" => "127.0.0.1:1",
            "PERIODIC_DATABASE_URL" | "PERIODIC_FLEET_STORE" => "memory://",
            "PERIODIC_HOST" | "PERIODIC_MEMCACHED_SERVERS" | "PERIODIC_API_TOKEN" => "x:1",
            _ => "7",
        };
        config.update_from_env_vars([(var, value)]).unwrap();
        assert_ne!(config, Config::default(), "{var} changes nothing");
    }
}

#[test]
fn file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("periodic.toml");
    std::fs::write(
        &path,
        "[DEFAULT]\nreport_interval = 5\nservice_down_time = 40\nperiodic_fuzzy_delay = 3\n\
         [database]\nconnection = \"sqlite://from-file.db\"\n",
    )
    .unwrap();

    let mut config = Config::default();
    config.update_from_file(&path).unwrap();
    // The file overrides the defaults.
    assert_eq!(config.report_interval, Duration::from_secs(5));
    assert_eq!(config.service_down_time, Duration::from_secs(40));
    assert_eq!(config.database.connection, "sqlite://from-file.db");
    // The environment overrides the file, only where it says something.
    config
        .update_from_env_vars([
            ("PERIODIC_SERVICE_DOWN_TIME", "50"),
            ("PERIODIC_DATABASE_URL", "sqlite://from-env.db"),
        ])
        .unwrap();
    assert_eq!(config.report_interval, Duration::from_secs(5));
    assert_eq!(config.service_down_time, Duration::from_secs(50));
    assert_eq!(config.database.connection, "sqlite://from-env.db");
    // A flag overrides both (programs assign the fields their flags set).
    config.database.connection = "sqlite://from-flag.db".into();
    assert_eq!(config.database_url(), "sqlite://from-flag.db");
    // Keys set nowhere keep their defaults.
    assert_eq!(config.periodic_fuzzy_delay, Duration::from_secs(3));
    assert_eq!(config.graceful_shutdown_timeout, Duration::from_secs(60));
    assert_eq!(config.servicegroup_driver, LivenessDriver::DB);
}

#[test]
fn errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("periodic.toml");
    let shown = path.display().to_string();

    std::fs::write(
        &path,
        "[DEFAULT]\nreport_interval = 10\nreport_intervall = 5\n",
    )
    .unwrap();
    let err = Config::load(Some(&path)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().starts_with(&format!(
            "{shown}: unknown key `report_intervall` in [DEFAULT] (line 3, column 1); expected one of `host`, `report_interval`"
        )),
        "{err}"
    );

    std::fs::write(&path, "[DEFAULT]\nservice_down_time = \"60\"\n").unwrap();
    let err = Config::load(Some(&path)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{shown}: wrong value for `service_down_time` in [DEFAULT] (line 2, column 21): \
             invalid type: string \"60\", expected a number of seconds, 0 or more"
        )
    );

    let missing = dir.path().join("nope.toml");
    let err = Config::load(Some(&missing)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(
        err.to_string(),
        format!("cannot read config file `{}`", missing.display())
    );
}

#[tokio::test(start_paused = true)]
async fn the_service_group_gets_the_liveness_options() {
    let config = Config::from_toml(
        "[DEFAULT]\nreport_interval = 4\nservice_down_time = 6\n[database]\nconnection = \"memory://config-test\"\n",
        "t.toml",
    )
    .unwrap();
    let group = ServiceGroup::open(config.database_url(), config.servicegroup_config())
        .await
        .unwrap();
    assert_eq!(group.report_interval(), Duration::from_secs(4));
    assert_eq!(group.service_down_time(), Duration::from_secs(6));
    // nova's 2.5x rule still applies to configured values.
    let mut config = config;
    config.service_down_time = Duration::from_secs(4);
    let group = ServiceGroup::open("memory://config-test-2", config.servicegroup_config())
        .await
        .unwrap();
    assert_eq!(group.service_down_time(), Duration::from_secs(10));
}

struct Compute;

impl Manager for Compute {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl Compute {
    #[periodic_task(spacing = 600, name = "_sync_power_states")]
    async fn sync_power_states(&self) {}
}

#[tokio::test(start_paused = true)]
async fn the_service_gets_host_and_spacings() {
    let config = Config::from_toml(
        "[DEFAULT]\nhost = \"configured-host\"\nperiodic_fuzzy_delay = 0\n\
         [periodic_task_spacing]\n_sync_power_states = 30\n",
        "t.toml",
    )
    .unwrap();
    let group = ServiceGroup::open("memory://config-service", config.servicegroup_config())
        .await
        .unwrap();
    let running = config
        .apply_to_service(Service::builder(Compute, "periodic-compute", "compute"))
        .servicegroup(group.clone())
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let services = group.list(&periodic::ServiceFilter::all()).await.unwrap();
    assert_eq!(services[0].record.host, "configured-host");
    let tasks = running.runner().tasks();
    let sync = tasks
        .iter()
        .find(|t| t.name == "_sync_power_states")
        .unwrap();
    assert_eq!(sync.interval, Some(Duration::from_secs(30)));
    running.stop().await.unwrap();

    // A spacing for a task the service does not have is refused before the store is
    // touched: by `check`, and by `build`.
    let config =
        Config::from_toml("[periodic_task_spacing]\n_no_such_task = 30\n", "t.toml").unwrap();
    let builder = config
        .apply_to_service(Service::builder(Compute, "periodic-compute", "compute"))
        .host("h2");
    let err = builder.check().unwrap_err();
    assert!(err.to_string().contains("_no_such_task"), "{err}");
    let err = builder.servicegroup(group).build().unwrap_err();
    assert!(err.to_string().contains("_no_such_task"), "{err}");
}

struct Conductor;

#[periodic_tasks]
impl Conductor {
    #[periodic_task(spacing = 60, external_process_ok)]
    async fn _cleanup(&self) {}

    #[periodic_task(spacing = 60)]
    async fn _audit(&self) {}
}

// A runner without a service takes the same options from the file: oslo's numbers become
// `Spacing`s, and `run_external_periodic_tasks = false` keeps the external task from
// running (it stays enabled, and listed).
#[test]
fn a_runner_takes_the_configured_options() {
    let config = Config::from_toml(
        "[DEFAULT]\nrun_external_periodic_tasks = false\n\
         [periodic_task_spacing]\n_audit = -1\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(config.periodic_task_spacing["_audit"], Spacing::Disabled);
    let runner = PeriodicRunner::<Conductor>::builder(Conductor)
        .options(config.runner_options())
        .build()
        .unwrap();
    let cleanup = runner.task("_cleanup").unwrap();
    assert!(cleanup.enabled && !cleanup.runnable, "skipped as external");
    let audit = runner.task("_audit").unwrap();
    assert_eq!(audit.spacing, Spacing::Disabled);
    assert!(audit.enabled && !audit.runnable);

    // On top of options set in code: the file's spacings come after them and win; the
    // options the file does not name keep their values.
    let base = RunnerOptions::new()
        .idle_policy(IdlePolicy::Oslo)
        .spacing_override("_audit", Duration::from_secs(5))
        .spacing_override("_cleanup", Duration::from_secs(7));
    let runner = PeriodicRunner::<Conductor>::builder(Conductor)
        .options(config.apply_to_runner(base))
        .build()
        .unwrap();
    assert_eq!(runner.task("_audit").unwrap().spacing, Spacing::Disabled);
    assert_eq!(
        runner.task("_cleanup").unwrap().spacing,
        Spacing::Every(Duration::from_secs(7))
    );
    assert!(!runner.task("_cleanup").unwrap().runnable);
    assert!(
        format!("{runner:?}").contains("idle_policy: Oslo"),
        "{runner:?}"
    );
}

// `apply_to_service` layers the file's runner options over the ones already set on the
// service builder instead of replacing them.
#[tokio::test(start_paused = true)]
async fn the_service_keeps_its_own_runner_options() {
    let config = Config::from_toml(
        "[DEFAULT]\nperiodic_fuzzy_delay = 0\n[periodic_task_spacing]\n_sync_power_states = 30\n",
        "t.toml",
    )
    .unwrap();
    let group = ServiceGroup::open("memory://config-runner", config.servicegroup_config())
        .await
        .unwrap();
    let builder = Service::builder(Compute, "periodic-compute", "compute")
        .idle_policy(IdlePolicy::Oslo)
        .spacing_override("_sync_power_states", Duration::from_secs(5));
    let running = config
        .apply_to_service(builder)
        .host("h3")
        .servicegroup(group)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let runner = running.runner();
    assert_eq!(
        runner.task("_sync_power_states").unwrap().spacing,
        Spacing::Every(Duration::from_secs(30))
    );
    assert!(
        format!("{runner:?}").contains("idle_policy: Oslo"),
        "{runner:?}"
    );
    running.stop().await.unwrap();
}

#[test]
fn fleet_store_from_the_file_and_the_environment_with_its_password_hidden() {
    let mut config = Config::from_toml(
        "[DEFAULT]\nfleet_store = \"postgres://nova:s3cret@db/fleet\"\n",
        "periodic.toml",
    )
    .unwrap();
    assert_eq!(
        config.fleet_store.as_deref(),
        Some("postgres://nova:s3cret@db/fleet")
    );
    let shown = format!("{config:?}");
    assert!(shown.contains("postgres://nova:***@db/fleet"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
    config
        .update_from_env_vars([("PERIODIC_FLEET_STORE", "mysql://root@h/f")])
        .unwrap();
    assert_eq!(config.fleet_store.as_deref(), Some("mysql://root@h/f"));
    let err = Config::from_toml("[DEFAULT]\nfleet_store = \"\"\n", "periodic.toml").unwrap_err();
    assert!(err.to_string().contains("must not be empty"), "{err}");
}
