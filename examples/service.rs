//! A service in a service group: joins, heartbeats, lists itself, stops gracefully.
//!
//! The manager's periodic task runs every second; the service's record is created in the
//! group's services table, a heartbeat bumps its `report_count` every `report_interval`
//! (1 s here), and `ServiceGroup::list` (what `periodic service list` prints) shows it up.
//! A graceful stop marks it stopped, so it shows down at once. By default the group is
//! `memory://` (this process only, no cargo feature needed beyond the default `macros`)
//! and the program ends by itself after 3 seconds:
//!
//! ```text
//! cargo run --example service
//! ```
//!
//! Give a store URL and a run time to watch it from the `periodic` command meanwhile:
//!
//! ```text
//! cargo run --example service -- --db sqlite://periodic.db --seconds 30
//! cargo run -p periodic-cli -- service list --db sqlite://periodic.db   # in another terminal
//! ```
//!
//! `cargo test` runs it too (`test = true, harness = false` in `Cargo.toml`): it exits
//! with an error if the service did not list itself up, then down after its stop. Other
//! arguments are ignored, as `cargo test` hands its own (a filter, `--nocapture`) to every
//! test program.
//! A real service runs until SIGTERM or Ctrl-C instead: `Service::run_until_signal` (see
//! `examples/compute_manager.rs`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use periodic::{
    DownReason, Manager, Service, ServiceFilter, ServiceGroup, ServiceGroupConfig, ServiceStatus,
    Stopped, periodic_tasks,
};

/// A manager with one periodic task, as nova-scheduler's host-state refresh.
#[derive(Default)]
struct Scheduler {
    refreshes: AtomicU32,
}

impl Manager for Scheduler {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl Scheduler {
    #[periodic_task(spacing = 1, run_immediately)]
    async fn refresh_host_state(&self) {
        let n = self.refreshes.fetch_add(1, Ordering::Relaxed) + 1;
        println!("task:  refresh_host_state, run {n}");
    }
}

fn show(services: &[ServiceStatus]) {
    for s in services {
        let r = &s.record;
        println!(
            "list:  {} {} on {}: {}, {} heartbeats, last {}{}",
            r.id,
            r.binary,
            r.host,
            s.state(),
            r.report_count,
            s.heartbeat_age.map_or_else(
                || "-".to_owned(),
                |age| format!("{:.1}s ago", age.as_secs_f64())
            ),
            s.down_reason
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default(),
        );
    }
}

/// `--db URL` (default `memory://`) and `--seconds N` (default 3).
fn options() -> Result<(String, Duration), Box<dyn std::error::Error>> {
    let mut url = "memory://".to_owned();
    let mut seconds = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => url = args.next().ok_or("--db needs a URL")?,
            "--seconds" => seconds = args.next().ok_or("--seconds needs a number")?.parse()?,
            _ => eprintln!("service: ignoring `{arg}` (expected --db URL or --seconds N)"),
        }
    }
    Ok((url, Duration::from_secs(seconds)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let (url, run_for) = options()?;

    // nova's report_interval and service_down_time, short for a demo (10 s and 60 s by
    // default).
    let config = ServiceGroupConfig::default()
        .report_interval(Duration::from_secs(1))
        .service_down_time(Duration::from_secs(3));
    let group = ServiceGroup::open(&url, config).await?;

    let running = Service::builder(Scheduler::default(), "periodic-scheduler", "scheduler")
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO) // nova waits up to 60 s before the first pass
        .initial_reporting_delay(Duration::from_millis(500)) // nova: 5 s
        .build()?
        .start()
        .await?;
    let id = running.record().id;
    tokio::time::sleep(run_for).await;

    let services = group.list(&ServiceFilter::all()).await?;
    show(&services);
    let me = services.iter().find(|s| s.record.id == id);
    let up = me.is_some_and(|s| s.is_up() && s.record.report_count > 0);

    let stopped = running.stop().await?;
    println!("stop:  {stopped:?}");
    let services = group.list(&ServiceFilter::all()).await?;
    show(&services);
    let me = services.iter().find(|s| s.record.id == id);
    let down = me.is_some_and(|s| s.down_reason == Some(DownReason::Stopped));

    if !(up && down && stopped == Stopped::Graceful) {
        return Err(
            "expected the service up with heartbeats, then down after a graceful stop".into(),
        );
    }
    Ok(())
}
