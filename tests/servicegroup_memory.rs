//! The service group on the `memory://` store, in paused tokio time: exact liveness
//! boundaries, the heartbeat schedule, admin changes, the stopped marker, recreation of a
//! deleted row, the 2.5× rule and bad input. Case numbers refer to section 5.4 of the
//! oslo study (`oslo-semantics.md`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use periodic::{
    DownReason, ErrorKind, JoinOptions, LivenessDriver, NewService, ServiceFilter, ServiceGroup,
    ServiceGroupConfig, WallClock,
};
use support::{Logs, unique};
use tokio::time::{advance, sleep};
use tracing::Level;

const MS: Duration = Duration::from_millis(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn config(report: u64, down: u64) -> ServiceGroupConfig {
    ServiceGroupConfig::default()
        .report_interval(secs(report))
        .service_down_time(secs(down))
}

async fn group(report: u64, down: u64) -> ServiceGroup {
    ServiceGroup::open("memory://", config(report, down))
        .await
        .unwrap()
}

fn compute(host: &str) -> NewService {
    NewService::new(host, "nova-compute", "compute")
}

// Case 61 (nova db is_up, service_down_time 15): heartbeat at T; T+15 up, T+15.001 down.
//
//   0 (report)              15   15.001
//   |========== up ==========|    down (no heartbeat within service_down_time)
#[tokio::test(start_paused = true)]
async fn up_at_exactly_service_down_time_and_down_just_after() {
    let group = group(10, 15).await;
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    group.report_state(&svc).await.unwrap();

    advance(secs(15)).await;
    let status = group.status(svc.id).await.unwrap();
    assert!(status.is_up());
    assert_eq!(status.heartbeat_age, Some(secs(15)));
    assert_eq!(status.service_down_time, secs(15));

    advance(MS).await;
    let status = group.status(svc.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::NoHeartbeat));
    assert_eq!(status.heartbeat_age, Some(secs(15) + MS));
    assert!(!group.is_up(svc.id).await.unwrap());

    // A new heartbeat brings it back at once.
    group.report_state(&svc).await.unwrap();
    assert!(group.is_up(svc.id).await.unwrap());
    assert_eq!(group.get(svc.id).await.unwrap().report_count, 2);
}

// Case 61, last part: a service that never reported is judged by created_at.
#[tokio::test(start_paused = true)]
async fn never_reported_is_judged_by_created_at() {
    let group = group(10, 60).await;
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    assert_eq!(svc.report_count, 0);
    assert_eq!(svc.last_seen_up, None);

    advance(secs(60)).await;
    assert!(group.is_up(svc.id).await.unwrap());
    advance(MS).await;
    let status = group.status(svc.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::NeverReported));
}

// Case 63: join → first report after INITIAL_REPORTING_DELAY (5 s), then every
// report_interval; a heartbeat stopped without mark_stopped (a killed service) goes down
// exactly service_down_time after its last report.
//
//   join   5     15    25  stop 30        85  85.001
//   |------R-----R-----R----|- - - - - - - -|   down
#[tokio::test(start_paused = true)]
async fn join_reports_after_five_seconds_then_every_interval() {
    let group = group(10, 60).await;
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    let heartbeat = group.join(&svc, JoinOptions::default()).await.unwrap();
    assert!(heartbeat.is_running());

    let count = |g: ServiceGroup| async move { g.get(svc.id).await.unwrap().report_count };
    sleep(Duration::from_millis(4_999)).await;
    assert_eq!(count(group.clone()).await, 0);
    sleep(2 * MS).await; // 5.001
    assert_eq!(count(group.clone()).await, 1);
    sleep(secs(10)).await; // 15.001
    assert_eq!(count(group.clone()).await, 2);
    sleep(secs(10)).await; // 25.001
    assert_eq!(count(group.clone()).await, 3);
    let stats = heartbeat.stats();
    assert_eq!((stats.reports_ok, stats.reports_failed), (3, 0));
    assert!(stats.connected && stats.last_report.is_some());

    sleep(Duration::from_millis(4_999)).await; // 30: killed (no mark_stopped)
    heartbeat.stop().await.unwrap();
    sleep(secs(55)).await; // 85.000 = last report + 60
    assert!(group.is_up(svc.id).await.unwrap());
    sleep(MS).await;
    assert_eq!(
        group.status(svc.id).await.unwrap().down_reason,
        Some(DownReason::NoHeartbeat)
    );
    assert_eq!(count(group.clone()).await, 3);
}

// Case 65 + LP#1420848: forced_down means down without consulting the heartbeat; admin
// changes never touch last_seen_up, so they do not make a dead service look alive.
#[tokio::test(start_paused = true)]
async fn admin_changes_round_trip_and_never_refresh_liveness() {
    let group = group(10, 60).await;
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    group.report_state(&svc).await.unwrap();
    let seen = group.get(svc.id).await.unwrap().last_seen_up;
    assert!(seen.is_some());

    let forced = group.set_forced_down(svc.id, true).await.unwrap();
    assert!(forced.forced_down);
    let status = group.status(svc.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::ForcedDown));
    assert!(
        !group
            .set_forced_down(svc.id, false)
            .await
            .unwrap()
            .forced_down
    );
    assert!(group.is_up(svc.id).await.unwrap());

    // Dead: 61 s without a heartbeat.
    advance(secs(61)).await;
    let disabled = group.disable(svc.id, Some("maintenance")).await.unwrap();
    assert!(disabled.disabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some("maintenance"));
    assert!(disabled.updated_at.is_some());
    assert_eq!(disabled.last_seen_up, seen);
    let status = group.status(svc.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::NoHeartbeat));
    assert_eq!(status.status(), "disabled");

    let enabled = group.enable(svc.id).await.unwrap();
    assert!(!enabled.disabled);
    assert_eq!(enabled.disabled_reason, None);
    assert_eq!(enabled.last_seen_up, seen);
    assert_eq!(enabled.report_count, 1);
    assert!(!group.is_up(svc.id).await.unwrap());
    group.set_forced_down(svc.id, true).await.unwrap();
    group.set_forced_down(svc.id, false).await.unwrap();
    assert!(!group.is_up(svc.id).await.unwrap());
    assert_eq!(group.get(svc.id).await.unwrap().last_seen_up, seen);
}

// Graceful stop: leave() marks the service stopped, so it is down at once; joining again
// clears the mark and the next heartbeat makes it up.
#[tokio::test(start_paused = true)]
async fn leave_marks_stopped_and_a_new_join_clears_it() {
    let group = group(10, 60).await;
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    let heartbeat = group.join(&svc, JoinOptions::default()).await.unwrap();
    sleep(secs(6)).await;
    assert!(group.is_up(svc.id).await.unwrap());

    group.leave(heartbeat).await.unwrap();
    let status = group.status(svc.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::Stopped));
    assert!(status.record.stopped);

    let again = group.get_or_create(&compute("n1")).await.unwrap();
    assert_eq!(again.id, svc.id);
    let heartbeat = group.join(&again, JoinOptions::default()).await.unwrap();
    assert!(!group.get(svc.id).await.unwrap().stopped);
    sleep(secs(6)).await;
    assert!(group.is_up(svc.id).await.unwrap());
    assert_eq!(group.get(svc.id).await.unwrap().report_count, 2);
    drop(heartbeat);
}

// Cinder: a row deleted while the service runs is recreated by the next heartbeat, with
// one log line.
#[tokio::test(start_paused = true)]
async fn deleted_record_is_recreated_by_the_next_heartbeat() {
    let logs = Logs::capture();
    let host = unique("recreate");
    let group = group(10, 60).await;
    let svc = group.get_or_create(&compute(&host)).await.unwrap();
    let heartbeat = group.join(&svc, JoinOptions::default()).await.unwrap();
    sleep(secs(6)).await;

    group.delete(svc.id).await.unwrap();
    assert_eq!(
        group.get(svc.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(
        group
            .list(&ServiceFilter::all().host(&host))
            .await
            .unwrap()
            .is_empty()
    );

    sleep(secs(10)).await; // 16: the report recreates it
    let new_id = heartbeat.service_id();
    assert_ne!(new_id, svc.id);
    let record = group.find(&host, "nova-compute").await.unwrap();
    assert_eq!(record.id, new_id);
    assert_eq!(record.report_count, 1);
    assert!(group.is_up(new_id).await.unwrap());
    let message = "The service database object disappeared, recreating it.";
    assert_eq!(logs.count(&host, message), 1);
    assert_eq!(heartbeat.stats().reports_failed, 0);
}

// Case 68 (cinder): a manager that is not working sends no heartbeat and says so at
// ERROR every time; the service goes down; when it works again the heartbeats resume.
#[tokio::test(start_paused = true)]
async fn a_manager_that_is_not_working_stops_heartbeating() {
    let logs = Logs::capture();
    let host = unique("not-working");
    let group = group(10, 25).await;
    let svc = group.get_or_create(&compute(&host)).await.unwrap();
    let working = Arc::new(AtomicBool::new(false));
    let probe = Arc::clone(&working);
    let options = JoinOptions::default().is_working(move || probe.load(Ordering::SeqCst));
    let heartbeat = group.join(&svc, options).await.unwrap();

    sleep(secs(26)).await; // reports due at 5, 15, 25: all skipped
    assert_eq!(heartbeat.stats().reports_skipped, 3);
    assert_eq!(group.get(svc.id).await.unwrap().report_count, 0);
    assert_eq!(
        group.status(svc.id).await.unwrap().down_reason,
        Some(DownReason::NeverReported)
    );
    let text = format!(
        "Manager for service nova-compute {host} is reporting problems, not sending \
         heartbeat. Service will appear \"down\"."
    );
    let lines = logs.for_host(&host);
    assert_eq!(lines.iter().filter(|l| l.message == text).count(), 3);
    assert!(lines.iter().all(|l| l.level == Level::ERROR));

    working.store(true, Ordering::SeqCst);
    sleep(secs(10)).await; // 36: the report at 35 is sent
    assert!(group.is_up(svc.id).await.unwrap());
    assert_eq!(heartbeat.stats().reports_ok, 1);
}

// A health check that panics counts as "not working" and does not end the heartbeat.
#[tokio::test(start_paused = true)]
async fn a_panicking_health_check_does_not_end_the_heartbeat() {
    let group = group(10, 60).await;
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    let panics = Arc::new(AtomicBool::new(true));
    let probe = Arc::clone(&panics);
    let options = JoinOptions::default().is_working(move || {
        assert!(!probe.load(Ordering::SeqCst), "health check exploded");
        true
    });
    let heartbeat = group.join(&svc, options).await.unwrap();
    sleep(secs(16)).await; // 5 and 15: skipped
    assert_eq!(heartbeat.stats().reports_skipped, 2);
    assert!(heartbeat.is_running());
    panics.store(false, Ordering::SeqCst);
    sleep(secs(10)).await; // 25: sent
    assert_eq!(heartbeat.stats().reports_ok, 1);
    assert_eq!(group.get(svc.id).await.unwrap().report_count, 1);
}

// Case 67: the 2.5× rule, with nova's warning text.
#[tokio::test(start_paused = true)]
async fn the_two_and_a_half_rule_warns_with_novas_text() {
    let logs = Logs::capture();
    for (down, report, expected) in [(60, 10, 60), (10, 10, 25), (60, 60, 150), (3, 3, 7)] {
        let group = group(report, down).await;
        assert_eq!(
            group.service_down_time(),
            secs(expected),
            "({down}, {report})"
        );
    }
    let text = "Report interval must be less than service down time. Current config: \
                <service_down_time: 10, report_interval: 10>. Setting service_down_time to: 25";
    let lines = logs.containing(text);
    assert!(!lines.is_empty());
    assert_eq!(lines[0].level, Level::WARN);
    // report_interval 0: no heartbeat and no override.
    let group = group(0, 60).await;
    assert_eq!(group.service_down_time(), secs(60));
    let svc = group.get_or_create(&compute("n1")).await.unwrap();
    let heartbeat = group.join(&svc, JoinOptions::default()).await.unwrap();
    assert!(!heartbeat.is_running());
    sleep(secs(30)).await;
    assert_eq!(group.get(svc.id).await.unwrap().report_count, 0);
}

// Race-safe create: many concurrent get_or_create calls end with one row.
#[tokio::test(start_paused = true)]
async fn concurrent_get_or_create_makes_one_row() {
    let group = group(10, 60).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let group = group.clone();
            tokio::spawn(async move { group.get_or_create(&compute("n1")).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(group.list(&ServiceFilter::all()).await.unwrap().len(), 1);
    // The unique key (host, topic): another binary cannot take the topic.
    let err = group
        .get_or_create(&NewService::new("n1", "other", "compute"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

// Liveness does not trust the writer's clock: a writer whose wall clock is 10 minutes
// fast (or slow) stays up, judged on the store's clock alone.
#[tokio::test(start_paused = true)]
async fn a_writer_with_a_skewed_clock_stays_up() {
    let name = format!("memory://{}", unique("skew"));
    let observer = ServiceGroup::open(&name, config(10, 60)).await.unwrap();
    for skew in [600_i32, -600] {
        let clock = WallClock::from_fn(move || {
            let now = SystemTime::now();
            if skew > 0 {
                now + secs(skew.unsigned_abs().into())
            } else {
                now - secs(skew.unsigned_abs().into())
            }
        });
        let writer = ServiceGroup::open(&name, config(10, 60).clock(clock))
            .await
            .unwrap();
        let host = format!("skew{skew}");
        let svc = writer.get_or_create(&compute(&host)).await.unwrap();
        let heartbeat = writer.join(&svc, JoinOptions::default()).await.unwrap();
        sleep(secs(65)).await;
        let status = observer.status(svc.id).await.unwrap();
        assert!(status.is_up(), "{skew}: {status:?}");
        assert_eq!(status.heartbeat_age, Some(secs(65 - 55)));
        // The skew against the store's clock (the observer's, which created the store),
        // as the list shows it and as the service itself saw it at its last report.
        let shown = status
            .clock_skew
            .expect("a skew after a report")
            .as_secs_f64();
        assert!(
            (shown - f64::from(skew)).abs() < 1.0,
            "{skew}: shown {shown}"
        );
        let own = heartbeat
            .stats()
            .clock_skew
            .expect("the service's own skew");
        assert!(
            (own.as_secs_f64() - f64::from(skew)).abs() < 1.0,
            "{skew}: own {own}"
        );
        heartbeat.stop().await.unwrap();
    }
}

// The service warns about its own clock skew once when it goes past clock_skew_warning
// and once when it is back, however many reports in between; liveness never moves.
//
//   report   5    15   25   35   45   55   65   75   85       (report_interval 10 s)
//   skew     0    0    +7   +8   +9   +1   +1   -30  -30      (clock_skew_warning 5 s)
//   logged             WARN           INFO      WARN
#[tokio::test(start_paused = true)]
async fn a_skewed_service_warns_once_each_way() {
    use std::sync::atomic::AtomicI64;

    let logs = Logs::capture();
    let name = format!("memory://{}", unique("skew-warn"));
    let observer = ServiceGroup::open(&name, config(10, 60)).await.unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let read = Arc::clone(&offset);
    let clock = WallClock::from_fn(move || {
        let off = read.load(Ordering::Relaxed);
        let now = SystemTime::now();
        if off >= 0 {
            now + secs(off.unsigned_abs())
        } else {
            now - secs(off.unsigned_abs())
        }
    });
    let writer = ServiceGroup::open(
        &name,
        config(10, 60).clock(clock).clock_skew_warning(secs(5)),
    )
    .await
    .unwrap();
    let host = unique("skewed");
    let svc = writer.get_or_create(&compute(&host)).await.unwrap();
    let heartbeat = writer.join(&svc, JoinOptions::default()).await.unwrap();
    let warned = |level: Level| {
        logs.for_host(&host)
            .iter()
            .filter(|l| l.level == level && l.message.contains("clock_skew_warning"))
            .count()
    };
    // Each step: the offset for the next reports, how many of them, and the WARN and
    // INFO lines logged so far.
    sleep(secs(1)).await;
    for (skew, reports, warns, infos) in [
        (0_i32, 2, 0, 0),
        (7, 1, 1, 0),
        (8, 1, 1, 0),
        (9, 1, 1, 0),
        (1, 2, 1, 1),
        (-30, 2, 2, 1),
    ] {
        offset.store(skew.into(), Ordering::Relaxed);
        sleep(secs(10 * reports)).await;
        assert_eq!(
            (warned(Level::WARN), warned(Level::INFO)),
            (warns, infos),
            "after reports with a skew of {skew} s"
        );
        let status = observer.status(svc.id).await.unwrap();
        assert!(status.is_up(), "skew {skew}: {status:?}");
        let shown = status.clock_skew.unwrap().as_secs_f64();
        assert!(
            (shown - f64::from(skew)).abs() < 1.0,
            "{skew}: shown {shown}"
        );
    }
    let warning = logs
        .for_host(&host)
        .into_iter()
        .find(|l| l.level == Level::WARN)
        .unwrap();
    assert!(warning.message.contains("+7.0s"), "{}", warning.message);
    assert_eq!(warning.fields.get("binary").unwrap(), "nova-compute");
    heartbeat.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn list_filters_by_host_and_binary() {
    let group = group(10, 60).await;
    for (host, binary, topic) in [
        ("a", "nova-compute", "compute"),
        ("a", "nova-conductor", "conductor"),
        ("b", "nova-compute", "compute"),
    ] {
        group
            .get_or_create(&NewService::new(host, binary, topic))
            .await
            .unwrap();
    }
    let all = group.list(&ServiceFilter::all()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].record.id < w[1].record.id));
    let on_a = group.list(&ServiceFilter::all().host("a")).await.unwrap();
    assert_eq!(on_a.len(), 2);
    let computes = group
        .list(&ServiceFilter::all().binary("nova-compute"))
        .await
        .unwrap();
    assert_eq!(computes.len(), 2);
    let one = group
        .list(&ServiceFilter::all().host("b").binary("nova-compute"))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].record.host, "b");
    assert_eq!(one[0].state(), "up");
    assert_eq!(one[0].status(), "enabled");
}

// Bad input: one readable line each, no panic.
#[tokio::test]
async fn bad_input_is_one_readable_error() {
    let err = "zookeeper".parse::<LivenessDriver>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "unknown servicegroup driver `zookeeper`; expected `db`, `mc`, `redis`, `zk` or `etcd`"
    );
    let open = |url: &'static str| ServiceGroup::open(url, ServiceGroupConfig::default());
    let err = open("periodic.db").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        err.to_string()
            .starts_with("malformed servicegroup URL `periodic.db`")
    );
    let err = open("redis://localhost").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        err.to_string()
            .starts_with("unsupported servicegroup URL scheme `redis`"),
        "{err}"
    );
    let err = open("postgres://u:secret@/x").await.unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");

    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    let err = group.get(42).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), "no service with id 42");
    assert_eq!(
        group.enable(42).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        group.mark_stopped(42).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let err = group.find("h", "b").await.unwrap_err();
    assert_eq!(err.to_string(), "no service `b` on host `h`");
}

#[cfg(not(feature = "memcached"))]
#[tokio::test]
async fn the_mc_driver_needs_its_feature() {
    let config = ServiceGroupConfig::default().driver(LivenessDriver::MC);
    let err = ServiceGroup::open("memory://", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[cfg(feature = "memcached")]
#[tokio::test]
async fn the_mc_driver_needs_servers() {
    let config = ServiceGroupConfig::default().driver(LivenessDriver::MC);
    let err = ServiceGroup::open("memory://", config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("memcached servers"), "{err}");
}

// Every future of the API can be spawned on a multi-threaded runtime (checked at compile
// time: the closure is never called).
#[test]
fn futures_are_send() {
    let check = |g: ServiceGroup, r: periodic::ServiceRecord, h: periodic::Heartbeat| {
        let c = ServiceGroupConfig::default;
        tokio::spawn(async move { ServiceGroup::open("memory://", c()).await });
        tokio::spawn(async move { ServiceGroup::open_existing("memory://", c()).await });
        let (g2, r2) = (g.clone(), r.clone());
        tokio::spawn(async move { g2.get_or_create(&NewService::from(&r2)).await });
        let (g2, r2) = (g.clone(), r.clone());
        tokio::spawn(async move { g2.join(&r2, JoinOptions::default()).await });
        let (g2, r2) = (g.clone(), r.clone());
        tokio::spawn(async move { g2.report_state(&r2).await });
        let g2 = g.clone();
        tokio::spawn(async move { g2.list(&ServiceFilter::all()).await });
        let g2 = g.clone();
        tokio::spawn(async move {
            (
                g2.status(1).await,
                g2.is_up(1).await,
                g2.updated_time(1).await,
            )
        });
        let g2 = g.clone();
        tokio::spawn(async move { (g2.get(1).await, g2.find("h", "b").await) });
        let g2 = g.clone();
        tokio::spawn(async move { (g2.enable(1).await, g2.disable(1, Some("x")).await) });
        let g2 = g.clone();
        tokio::spawn(async move { (g2.set_forced_down(1, true).await, g2.delete(1).await) });
        let g2 = g.clone();
        tokio::spawn(async move { (g2.mark_stopped(1).await, g2.close().await) });
        tokio::spawn(async move { g.leave(h).await });
    };
    let _ = check;
}

/// A `report_interval` under one second is accepted (tests use it) but warned about:
/// each report is a write to the store (0.0001 s made 770 writes a second).
#[tokio::test(start_paused = true)]
async fn a_report_interval_below_one_second_is_warned_about() {
    let logs = Logs::capture();
    for (report, warned) in [(Duration::from_millis(100), true), (secs(1), false)] {
        let group = ServiceGroup::open(
            "memory://",
            ServiceGroupConfig::default().report_interval(report),
        )
        .await
        .unwrap();
        let host = unique("floor");
        let svc = group.get_or_create(&compute(&host)).await.unwrap();
        let heartbeat = group.join(&svc, JoinOptions::default()).await.unwrap();
        let lines: Vec<_> = logs
            .for_host(&host)
            .into_iter()
            .filter(|l| l.message.contains("report_interval is"))
            .collect();
        assert_eq!(lines.len(), usize::from(warned), "{report:?}: {lines:?}");
        if warned {
            assert_eq!(lines[0].level, Level::WARN);
            assert!(
                lines[0].message.contains("10 times a second"),
                "{}",
                lines[0].message
            );
        }
        heartbeat.stop().await.unwrap();
    }
}
