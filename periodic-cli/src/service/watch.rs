//! `periodic service watch`: one line per change of a service's state, as it happens.
//!
//! It lists the services and compares each with what it saw before: up -> down (with
//! the reason), down -> up, enabled <-> disabled, forced down and back, a new service, a
//! deleted one. The store judges each list, with its own clock, exactly as `service
//! list` does, so the two never disagree. It lists:
//!
//! * at once when the liveness driver's store says something changed
//!   ([`ServiceGroup::watch`]: the `zk` and `etcd` drivers watch their nodes and keys),
//!   so a killed service's `down` line comes when the server expires its session or
//!   lease, not a poll later;
//! * every `--interval` (by default a fifth of `report_interval`, at least 100 ms and at
//!   most 2 s), for the drivers without a watch (`db`, `mc`, `redis`: the delay of a line
//!   is at most one interval after the store would say so), for what no driver watches
//!   (the services table: disabled, forced down, new, deleted) and as the resync of a
//!   watch that lost events.
//!
//! ```text
//! zk / etcd   list ─ ─ ─ ─ list ─ ─ ─ ─ list ─ ─ ─ ─ list      every --interval
//!                       ▲ node/key deleted by the server: list now, print `down`
//! db / mc     list ─ ─ ─ ─ list ─ ─ ─ ─ list ─ ─ ─ ─ list      `down` at the first list after
//! ```
//!
//! A store that stops answering is said once on stderr, and once again when it is back;
//! the watch goes on.
//!
//! It ends on Ctrl-C, after `--count` changes, or after `--duration` seconds.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use futures::stream::BoxStream;
use futures::{FutureExt as _, StreamExt as _};
use periodic::{Config, ServiceFilter, ServiceGroup, ServiceStatus};
use serde::Serialize;

use super::args::{WatchArgs, WatchFormat};
use super::render::down_reason_key;
use super::time::Utc;
use crate::error::Error;

/// What the watch remembers of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    binary: String,
    host: String,
    up: bool,
    disabled: bool,
    forced_down: bool,
}

impl From<&ServiceStatus> for Seen {
    fn from(s: &ServiceStatus) -> Self {
        Seen {
            binary: s.record.binary.clone(),
            host: s.record.host.clone(),
            up: s.is_up(),
            disabled: s.record.disabled,
            forced_down: s.record.forced_down,
        }
    }
}

/// One change, as `--format json` prints it (one object per line).
#[derive(Debug, Serialize)]
struct Change {
    /// When the watch saw it (RFC 3339, UTC, this host's clock).
    time: String,
    id: i64,
    binary: String,
    host: String,
    /// `up`, `down`, `disabled`, `enabled`, `forced_down`, `unforced`, `new`, `deleted`.
    event: &'static str,
    /// `up` or `down` after the change (null when deleted).
    state: Option<&'static str>,
    /// Why it is down, as in `service list --format json`; null when up.
    down_reason: Option<&'static str>,
    disabled_reason: Option<String>,
    /// Seconds since the last heartbeat by the store's clock, where the driver knows it.
    heartbeat_age: Option<f64>,
}

/// The interval between two lists.
fn interval(args: &WatchArgs, config: &Config) -> Result<Duration, Error> {
    match args.interval {
        Some(secs) if secs.is_finite() && (0.01..=3600.0).contains(&secs) => {
            Ok(Duration::from_secs_f64(secs))
        }
        Some(secs) => Err(Error::Usage(format!(
            "--interval must be between 0.01 and 3600 seconds, not {secs}"
        ))),
        None => {
            Ok((config.report_interval / 5)
                .clamp(Duration::from_millis(100), Duration::from_secs(2)))
        }
    }
}

/// Runs the watch until Ctrl-C, `--count` or `--duration`.
pub(crate) async fn run(args: &WatchArgs, config: &Config) -> Result<(), Error> {
    let every = interval(args, config)?;
    let until = match args.duration {
        Some(secs) if (0.0..=1e9).contains(&secs) => {
            Some(tokio::time::Instant::now() + Duration::from_secs_f64(secs))
        }
        Some(secs) => {
            return Err(Error::Usage(format!(
                "--duration must be a number of seconds, 0 or more, not {secs}"
            )));
        }
        None => None,
    };
    let group =
        ServiceGroup::open_existing(config.database_url(), config.servicegroup_config()).await?;
    let mut filter = ServiceFilter::all();
    if let Some(host) = &args.host {
        filter = filter.host(host.clone());
    }
    if let Some(binary) = &args.binary {
        filter = filter.binary(binary.clone());
    }
    let mut notified = group.watch();
    let mut seen: Option<BTreeMap<i64, Seen>> = None;
    let mut changes = 0_u64;
    let mut failing = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let deadline = async {
            match until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = deadline => break,
            _ = tick.tick() => {}
            Some(()) = next_note(&mut notified) => {}
        }
        let services = match group.list(&filter).await {
            Ok(services) => {
                if failing {
                    failing = false;
                    eprintln!("periodic service watch: the store answers again");
                }
                services
            }
            Err(e) => {
                if !failing {
                    failing = true;
                    eprintln!(
                        "periodic service watch: cannot list the services (retrying every {:.1} s): {}",
                        every.as_secs_f64(),
                        e.report()
                    );
                }
                continue;
            }
        };
        let now: BTreeMap<i64, Seen> = services.iter().map(|s| (s.record.id, s.into())).collect();
        if let Some(before) = &seen {
            let mut out = Vec::new();
            for s in &services {
                for event in events(before.get(&s.record.id), &Seen::from(s)) {
                    out.push(change(event, s));
                }
            }
            for (id, gone) in before.iter().filter(|(id, _)| !now.contains_key(id)) {
                out.push(deleted(*id, gone));
            }
            for c in out {
                if !print_change(&c, args.format)? {
                    // Whoever read the output has gone.
                    group.close().await;
                    return Ok(());
                }
                changes += 1;
                if args.count.is_some_and(|n| changes >= n) {
                    group.close().await;
                    return Ok(());
                }
            }
        }
        seen = Some(now);
    }
    group.close().await;
    Ok(())
}

/// The driver's next notification, and those already there with it (one list for a
/// burst: a session's nodes go at once); never, without a watch.
async fn next_note(notified: &mut Option<BoxStream<'static, ()>>) -> Option<()> {
    let stream = match notified {
        Some(stream) => stream,
        None => std::future::pending().await,
    };
    let note = stream.next().await;
    while let Some(Some(())) = stream.next().now_or_never() {}
    note
}

/// The events between what was seen and what is: `new` for a service not seen before.
fn events(before: Option<&Seen>, now: &Seen) -> Vec<&'static str> {
    let Some(before) = before else {
        return vec!["new"];
    };
    let mut events = Vec::new();
    if before.forced_down != now.forced_down {
        events.push(if now.forced_down {
            "forced_down"
        } else {
            "unforced"
        });
    }
    if before.disabled != now.disabled {
        events.push(if now.disabled { "disabled" } else { "enabled" });
    }
    if before.up != now.up {
        events.push(if now.up { "up" } else { "down" });
    }
    events
}

fn deleted(id: i64, gone: &Seen) -> Change {
    Change {
        time: Utc::from_system(SystemTime::now()).rfc3339(),
        id,
        binary: gone.binary.clone(),
        host: gone.host.clone(),
        event: "deleted",
        state: None,
        down_reason: None,
        disabled_reason: None,
        heartbeat_age: None,
    }
}

fn change(event: &'static str, s: &ServiceStatus) -> Change {
    Change {
        time: Utc::from_system(SystemTime::now()).rfc3339(),
        id: s.record.id,
        binary: s.record.binary.clone(),
        host: s.record.host.clone(),
        event,
        state: Some(s.state()),
        down_reason: s.down_reason.map(down_reason_key),
        disabled_reason: s.record.disabled_reason.clone(),
        heartbeat_age: s
            .heartbeat_age
            .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
    }
}

/// One line: `TIME BINARY@HOST (id N): EVENT (details)`, or one JSON object. `false`
/// when the reader has gone (a closed pipe).
fn print_change(c: &Change, format: WatchFormat) -> Result<bool, Error> {
    let line = match format {
        WatchFormat::Json => serde_json::to_string(c).unwrap_or_default(),
        WatchFormat::Text => {
            let mut details = Vec::new();
            if c.event != "up"
                && c.event != "down"
                && let Some(state) = c.state
            {
                details.push(state.to_owned());
            }
            if let Some(reason) = c.down_reason {
                details.push(reason.to_owned());
            }
            if let Some(age) = c.heartbeat_age
                && c.state == Some("down")
            {
                details.push(format!("last heartbeat {age:.1} s ago"));
            }
            if c.event == "disabled"
                && let Some(reason) = &c.disabled_reason
            {
                details.push(format!("reason: {reason}"));
            }
            let details = if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join(", "))
            };
            format!(
                "{} {}@{} (id {}): {}{details}",
                c.time, c.binary, c.host, c.id, c.event
            )
        }
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::io("cannot write the output")(e)),
    }
}
