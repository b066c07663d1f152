//! Scenarios every real driver goes through (SQLite, PostgreSQL, MySQL, memcached), in
//! real time with short intervals: `report_interval` 1 s, `service_down_time` 3 s. Each
//! waits for the event it expects with a deadline instead of sleeping a fixed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use periodic::{
    Claim, ClaimRequest, Claimed, DownReason, Heartbeat, JoinOptions, LivenessDriver, NewService,
    RunReport, ServiceFilter, ServiceGroup, ServiceGroupConfig, TaskLedger, TaskScope, WallClock,
};

use futures::future::BoxFuture;

use super::servers::Proxy;
use super::{Logs, unique, wait_for};

pub const REPORT: Duration = Duration::from_secs(1);
pub const DOWN: Duration = Duration::from_secs(3);
const DEADLINE: Duration = Duration::from_secs(20);

/// The short-interval configuration of the scenarios, on top of `base` (driver and
/// memcached servers).
pub fn short(base: &ServiceGroupConfig) -> ServiceGroupConfig {
    base.clone()
        .report_interval(REPORT)
        .service_down_time(DOWN)
        .heartbeat_timeout(Duration::from_millis(800))
        .connect_timeout(Duration::from_secs(2))
}

fn now_options() -> JoinOptions {
    JoinOptions::default().initial_delay(Duration::ZERO)
}

async fn joined(group: &ServiceGroup, host: &str) -> (i64, Heartbeat) {
    let svc = group
        .get_or_create(&NewService::new(host, "nova-compute", "compute"))
        .await
        .unwrap();
    let heartbeat = group.join(&svc, now_options()).await.unwrap();
    (svc.id, heartbeat)
}

async fn wait_reports(what: &str, heartbeat: &Heartbeat, at_least: u64) {
    wait_for(what, DEADLINE, || async {
        (heartbeat.stats().reports_ok >= at_least).then_some(())
    })
    .await;
}

/// Several services up; one killed (its heartbeat stopped, no graceful mark) is seen down
/// after `service_down_time`, not before; the others stay up.
pub async fn several_up_one_killed(url: &str, base: &ServiceGroupConfig) {
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let prefix = unique("fleet");
    let mut fleet = Vec::new();
    for i in 0..3 {
        fleet.push(joined(&group, &format!("{prefix}-{i}")).await);
    }
    for (_, heartbeat) in &fleet {
        wait_reports("first heartbeats", heartbeat, 2).await;
    }
    let listed = group
        .list(&ServiceFilter::all().binary("nova-compute"))
        .await
        .unwrap();
    let ours: Vec<_> = listed
        .iter()
        .filter(|s| s.record.host.starts_with(&prefix))
        .collect();
    assert_eq!(ours.len(), 3);
    assert!(ours.iter().all(|s| s.is_up()), "{ours:#?}");
    if group.driver() == LivenessDriver::DB {
        assert!(ours.iter().all(|s| s.heartbeat_age.unwrap() <= REPORT * 2));
    }

    let (killed, heartbeat) = fleet.remove(1);
    heartbeat.stop().await.unwrap();
    let stopped_at = Instant::now();
    let status = wait_for("the killed service to be down", DEADLINE, || async {
        let status = group.status(killed).await.unwrap();
        (!status.is_up()).then_some(status)
    })
    .await;
    let after = stopped_at.elapsed();
    assert_eq!(status.down_reason, Some(DownReason::NoHeartbeat));
    // Not down before service_down_time: its last heartbeat was at most one
    // report_interval before the stop (memcached's 1 s TTL granularity takes up to 1 s).
    let earliest = DOWN.saturating_sub(REPORT + Duration::from_millis(1100));
    assert!(after >= earliest, "down after {after:?}");
    for (id, _) in &fleet {
        assert!(group.is_up(*id).await.unwrap());
    }
}

/// Disable, enable, force down and back: each round trip shows in the row, and none of
/// them touches `last_seen_up`, so a dead service stays dead (nova LP#1420848).
pub async fn admin_round_trips(url: &str, base: &ServiceGroupConfig) {
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let host = unique("admin");
    let svc = group
        .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
        .await
        .unwrap();
    group.report_state(&svc).await.unwrap();
    let reported = group.get(svc.id).await.unwrap();
    assert!(group.is_up(svc.id).await.unwrap());

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

    let disabled = group.disable(svc.id, Some("maintenance")).await.unwrap();
    assert!(disabled.disabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some("maintenance"));
    let enabled = group.enable(svc.id).await.unwrap();
    assert!(!enabled.disabled);
    assert_eq!(enabled.disabled_reason, None);
    assert!(enabled.updated_at >= reported.updated_at);

    // Let it die, then change it: still down, last_seen_up untouched.
    wait_for("the service to be down", DEADLINE, || async {
        (!group.is_up(svc.id).await.unwrap()).then_some(())
    })
    .await;
    group.disable(svc.id, None).await.unwrap();
    group.enable(svc.id).await.unwrap();
    group.set_forced_down(svc.id, true).await.unwrap();
    let last = group.set_forced_down(svc.id, false).await.unwrap();
    assert_eq!(last.last_seen_up, reported.last_seen_up);
    assert_eq!(last.report_count, reported.report_count);
    let status = group.status(svc.id).await.unwrap();
    assert!(!status.is_up());
    assert_eq!(status.down_reason, Some(DownReason::NoHeartbeat));
}

/// Text the schema cannot hold (a NUL character, more than 255 characters) is refused
/// with the same `Invalid` error on every store, before the store sees it: PostgreSQL
/// used to answer "invalid byte sequence" (a store error), MariaDB error 1406, and
/// SQLite stored it. 255 characters, even multi-byte ones, are stored.
pub async fn text_is_checked_before_the_store(url: &str, base: &ServiceGroupConfig) {
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let host = unique("text");
    let svc = group
        .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
        .await
        .unwrap();
    let invalid = |err: periodic::Error, field: &str| {
        assert_eq!(err.kind(), periodic::ErrorKind::Invalid, "{err}");
        assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
    };
    invalid(
        group.disable(svc.id, Some("a\0b")).await.unwrap_err(),
        "disabled_reason",
    );
    invalid(
        group
            .disable(svc.id, Some(&"x".repeat(256)))
            .await
            .unwrap_err(),
        "disabled_reason",
    );
    assert!(
        !group.get(svc.id).await.unwrap().disabled,
        "nothing written"
    );
    let longest = "é".repeat(255);
    let disabled = group.disable(svc.id, Some(&longest)).await.unwrap();
    assert_eq!(disabled.disabled_reason.as_deref(), Some(longest.as_str()));
    invalid(
        group
            .get_or_create(&NewService::new("bad\0host", "nova-compute", "compute"))
            .await
            .unwrap_err(),
        "host",
    );
    invalid(
        group
            .get_or_create(&NewService::new(&host, "b".repeat(300), "compute"))
            .await
            .unwrap_err(),
        "binary",
    );
    invalid(group.find("a\0", "nova-compute").await.unwrap_err(), "host");
    invalid(
        group
            .list(&ServiceFilter::all().binary("x\0"))
            .await
            .unwrap_err(),
        "binary",
    );
}

/// A graceful stop (`leave`) shows down at once, with the reason; a new join clears it.
pub async fn leave_is_down_at_once(url: &str, base: &ServiceGroupConfig) {
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let host = unique("leave");
    let (id, heartbeat) = joined(&group, &host).await;
    wait_reports("a heartbeat", &heartbeat, 1).await;
    assert!(group.is_up(id).await.unwrap());
    group.leave(heartbeat).await.unwrap();
    let status = group.status(id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::Stopped));

    let svc = group.get(id).await.unwrap();
    let heartbeat = group.join(&svc, now_options()).await.unwrap();
    wait_reports("a heartbeat after the new join", &heartbeat, 1).await;
    wait_for("up again", DEADLINE, || async {
        group.is_up(id).await.unwrap().then_some(())
    })
    .await;
    heartbeat.stop().await.unwrap();
}

/// Processes starting at once end with one row: several handles (separate pools) call
/// `get_or_create` concurrently for the same host and binary.
pub async fn race_safe_create(url: &str, base: &ServiceGroupConfig) {
    let host = unique("race");
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let group = ServiceGroup::open(url, short(base)).await.unwrap();
        for _ in 0..4 {
            let (group, host) = (group.clone(), host.clone());
            tasks.push(tokio::spawn(async move {
                group
                    .get_or_create(&NewService::new(&host, "nova-compute", "compute"))
                    .await
                    .unwrap()
                    .id
            }));
        }
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let rows = group.list(&ServiceFilter::all().host(&host)).await.unwrap();
    assert_eq!(rows.len(), 1);
}

/// A writer whose wall clock is 10 minutes fast, 30 s slow, or right stays up, judged by
/// the store's clock alone; its clock skew against the store's clock shows in the list
/// (`ServiceStatus::clock_skew`) and in its own heartbeat's counters, within `tolerance`
/// (the drivers that read the store's clock to the second need more). The `etcd` and
/// `zk` drivers also show what keeps the service a member: a lease and a revision that
/// each report moves on, a session and a node version.
pub async fn skewed_writer_stays_up(url: &str, base: &ServiceGroupConfig) {
    let observer = ServiceGroup::open(url, short(base)).await.unwrap();
    let driver = observer.driver();
    let tolerance = if driver == LivenessDriver::MC || driver == LivenessDriver::ETCD {
        1.5
    } else {
        0.5
    };
    for skew in [600_i32, -30, 0] {
        let clock = WallClock::from_fn(move || {
            let by = Duration::from_secs(skew.unsigned_abs().into());
            if skew >= 0 {
                SystemTime::now() + by
            } else {
                SystemTime::now() - by
            }
        });
        let writer = ServiceGroup::open(url, short(base).clock(clock))
            .await
            .unwrap();
        let host = unique("skew");
        let (id, heartbeat) = joined(&writer, &host).await;
        wait_reports("two heartbeats", &heartbeat, 2).await;
        let status = observer.status(id).await.unwrap();
        assert!(status.is_up(), "skew {skew}: {status:?}");
        let shown = status
            .clock_skew
            .unwrap_or_else(|| panic!("skew {skew}: no figure in {status:?}"))
            .as_secs_f64();
        assert!(
            (shown - f64::from(skew)).abs() <= tolerance,
            "skew {skew}: the list shows {shown}"
        );
        let own = heartbeat
            .stats()
            .clock_skew
            .expect("the service's own skew");
        assert!(
            (own.as_secs_f64() - f64::from(skew)).abs() <= tolerance,
            "skew {skew}: the service saw {own}"
        );
        if driver == LivenessDriver::DB {
            let seen = status.record.last_seen_up.unwrap();
            let off = match seen.duration_since(SystemTime::now()) {
                Ok(d) => d,
                Err(e) => e.duration(),
            };
            assert!(off < Duration::from_secs(30), "last_seen_up off by {off:?}");
        }
        let membership = |s: &periodic::ServiceStatus| s.membership.clone().unwrap_or_default();
        let first = membership(&status);
        if driver == LivenessDriver::ETCD || driver == LivenessDriver::ZK {
            let (word, counter) = if driver == LivenessDriver::ETCD {
                ("lease ", " rev ")
            } else {
                ("session 0x", " version ")
            };
            assert!(
                first.starts_with(word) && first.contains(counter),
                "{first}"
            );
            // The same lease or session after another report. ZooKeeper's node version
            // moves on at each report; etcd's key is rewritten only when the skew moves
            // (its revisions are history etcd keeps), so its revision stays.
            let reports = heartbeat.stats().reports_ok;
            wait_reports("one more heartbeat", &heartbeat, reports + 1).await;
            let then = membership(&observer.status(id).await.unwrap());
            let (owner, n) = first.rsplit_once(' ').unwrap();
            let (owner_then, n_then) = then.rsplit_once(' ').unwrap();
            assert_eq!(owner, owner_then, "{first} -> {then}");
            let (n, n_then) = (n.parse::<i64>().unwrap(), n_then.parse::<i64>().unwrap());
            if driver == LivenessDriver::ZK {
                assert!(n_then > n, "{first} -> {then}");
            } else {
                assert!(n > 0 && n_then >= n, "{first} -> {then}");
            }
        } else {
            assert_eq!(status.membership, None, "{driver}");
        }
        heartbeat.stop().await.unwrap();
    }
}

/// A way to make the store unavailable and available again.
pub trait Outage: Sync {
    fn begin(&self) -> BoxFuture<'_, ()>;
    fn end(&self) -> BoxFuture<'_, ()>;
}

impl Outage for Proxy {
    fn begin(&self) -> BoxFuture<'_, ()> {
        self.stop();
        Box::pin(async {})
    }

    fn end(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.start())
    }
}

/// Where a scenario's handle goes: a store URL and the configuration (driver, memcached
/// servers) on top of which [`short`] is applied.
pub struct Via<'a>(pub &'a str, pub &'a ServiceGroupConfig);

/// The store goes away under a running service and comes back: no crash, exactly one
/// log line each way, and heartbeats resume. The service's handle goes through `proxy`
/// (`service`); the `observer` reaches the store directly.
pub async fn outage(
    service: Via<'_>,
    observer: Via<'_>,
    outage: &dyn Outage,
    lost: &str,
    recovered: &str,
) {
    let logs = Logs::capture();
    let group = ServiceGroup::open(service.0, short(service.1))
        .await
        .unwrap();
    let watcher = ServiceGroup::open(observer.0, short(observer.1))
        .await
        .unwrap();
    let host = unique("outage");
    let (id, heartbeat) = joined(&group, &host).await;
    wait_reports("heartbeats before the outage", &heartbeat, 2).await;

    outage.begin().await;
    wait_for("failed heartbeats", DEADLINE, || async {
        (heartbeat.stats().reports_failed >= 3).then_some(())
    })
    .await;
    assert!(!heartbeat.stats().connected);
    assert!(heartbeat.is_running());
    let ok_before = heartbeat.stats().reports_ok;

    outage.end().await;
    wait_for("heartbeats after the outage", DEADLINE, || async {
        let stats = heartbeat.stats();
        (stats.connected && stats.reports_ok >= ok_before + 2).then_some(())
    })
    .await;
    wait_for("up again", DEADLINE, || async {
        watcher.is_up(id).await.unwrap().then_some(())
    })
    .await;
    assert_eq!(logs.count(&host, lost), 1, "{:#?}", logs.for_host(&host));
    assert_eq!(
        logs.count(&host, recovered),
        1,
        "{:#?}",
        logs.for_host(&host)
    );
    heartbeat.stop().await.unwrap();
}

/// A row deleted while its service runs is recreated by the next heartbeat (cinder),
/// with one log line (`db` driver).
pub async fn deleted_record_is_recreated(url: &str, base: &ServiceGroupConfig) {
    let logs = Logs::capture();
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let host = unique("recreate");
    let (id, heartbeat) = joined(&group, &host).await;
    wait_reports("a heartbeat", &heartbeat, 1).await;
    group.delete(id).await.unwrap();
    let new_id = wait_for("the row to be recreated", DEADLINE, || async {
        let new_id = heartbeat.service_id();
        (new_id != id).then_some(new_id)
    })
    .await;
    let record = group.find(&host, "nova-compute").await.unwrap();
    assert_eq!(record.id, new_id);
    wait_for("the new row up", DEADLINE, || async {
        group.is_up(new_id).await.unwrap().then_some(())
    })
    .await;
    assert_eq!(
        logs.count(
            &host,
            "The service database object disappeared, recreating it."
        ),
        1
    );
    assert_eq!(heartbeat.stats().reports_failed, 0);
    heartbeat.stop().await.unwrap();
}

/// The heartbeat is isolated from the manager's work: while the test's own runtime
/// thread is blocked (`std::thread::sleep`) for 3 × `service_down_time`, an observer on
/// another thread never sees the service down, and heartbeats keep coming.
pub async fn blocked_runtime_does_not_make_it_look_down(url: &str, base: &ServiceGroupConfig) {
    let group = ServiceGroup::open(url, short(base)).await.unwrap();
    let host = unique("blocked");
    let (id, heartbeat) = joined(&group, &host).await;
    wait_reports("a heartbeat", &heartbeat, 1).await;
    let before = heartbeat.stats().reports_ok;

    let seen_down = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let observer = {
        let (url, config) = (url.to_owned(), short(base));
        let (seen_down, checks, done) = (seen_down.clone(), checks.clone(), done.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let observer = ServiceGroup::open(&url, config).await.unwrap();
                while !done.load(Ordering::SeqCst) {
                    if !observer.is_up(id).await.unwrap() {
                        seen_down.store(true, Ordering::SeqCst);
                    }
                    checks.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
        })
    };
    // The manager blocks this runtime's only thread.
    std::thread::sleep(DOWN * 3);
    done.store(true, Ordering::SeqCst);
    observer.join().unwrap();

    assert!(checks.load(Ordering::SeqCst) >= 20);
    assert!(!seen_down.load(Ordering::SeqCst), "the service looked down");
    let reports = heartbeat.stats().reports_ok - before;
    assert!(reports >= 7, "only {reports} heartbeats in 9 s");
    assert!(group.is_up(id).await.unwrap());
    heartbeat.stop().await.unwrap();
}

// ---- The task ledger (fleet claims, fencing tokens, run records) ----

/// The ledger of the store at `url` (an SQL store's, or Redis).
async fn ledger_of(url: &str, base: &ServiceGroupConfig) -> Arc<dyn TaskLedger> {
    ServiceGroup::open_ledger(url, &short(base)).await.unwrap()
}

/// Waits until the store's clock is within the first `within` of a slot of `spacing`.
async fn slot_start(ledger: &Arc<dyn TaskLedger>, spacing: Duration, within: Duration) -> i64 {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap();
    let (spacing, within) = (ms(spacing), ms(within));
    wait_for("the start of a slot", DEADLINE, || async {
        let now = ledger.now().await.unwrap();
        (now.rem_euclid(spacing) < within).then_some(now.div_euclid(spacing))
    })
    .await
}

async fn claim_one(
    ledger: &Arc<dyn TaskLedger>,
    scope: &TaskScope,
    task: &str,
    spacing: Duration,
    lease: Duration,
    holder: &str,
) -> Claimed {
    let request = ClaimRequest {
        scope,
        tasks: vec![task],
        spacing,
        lease,
        holder,
    };
    let mut claimed = ledger.claim(&request).await.unwrap();
    assert_eq!(claimed.len(), 1);
    claimed.remove(0)
}

fn won(claimed: Claimed) -> Claim {
    match claimed {
        Claimed::Won(claim) => claim,
        other => panic!("expected a won claim, got {other:?}"),
    }
}

/// Two replicas (two handles on the store) claim: a slot is won once; a live lease makes
/// the next slot busy; an expired lease frees the task for the next slot only, with a
/// greater token; the stale holder can neither renew nor release.
pub async fn ledger_claims(url: &str, base: &ServiceGroupConfig) {
    let (a, b) = (ledger_of(url, base).await, ledger_of(url, base).await);
    let scope = TaskScope::fleet(&unique("claims")).unwrap();
    let hour = Duration::from_secs(3600);

    // Won once per slot.
    let first = won(claim_one(&a, &scope, "taken", hour, hour, "a").await);
    assert_eq!(first.token, 1);
    let second = claim_one(&b, &scope, "taken", hour, hour, "b").await;
    assert!(
        matches!(second, Claimed::Taken { slot, .. } if slot == first.slot),
        "{second:?}"
    );

    // Busy while an earlier slot's lease is held.
    let second = Duration::from_secs(1);
    let slot = slot_start(&a, second, Duration::from_millis(600)).await;
    let held = won(claim_one(&a, &scope, "busy", second, hour, "a").await);
    assert_eq!(held.slot, slot);
    wait_for("the next slot", DEADLINE, || async {
        (b.now().await.unwrap().div_euclid(1000) > held.slot).then_some(())
    })
    .await;
    match claim_one(&b, &scope, "busy", second, hour, "b").await {
        Claimed::Busy {
            holder,
            lease_until,
            store_now,
        } => {
            assert_eq!(holder, "a");
            assert!(lease_until > store_now);
        }
        other => panic!("expected busy, got {other:?}"),
    }

    // An expired lease: the same slot stays taken, the next one is won with token 2.
    let two = Duration::from_secs(2);
    let lease = Duration::from_millis(200);
    slot_start(&a, two, Duration::from_millis(500)).await;
    let stale = won(claim_one(&a, &scope, "expires", two, lease, "a").await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = claim_one(&b, &scope, "expires", two, lease, "b").await;
    assert!(
        matches!(again, Claimed::Taken { slot, .. } if slot == stale.slot),
        "{again:?}"
    );
    assert_eq!(
        a.renew(stale.row, stale.token, lease).await.unwrap(),
        None,
        "expired"
    );
    wait_for("the next slot", DEADLINE, || async {
        (a.now().await.unwrap().div_euclid(2000) > stale.slot).then_some(())
    })
    .await;
    let fresh = won(claim_one(&b, &scope, "expires", two, hour, "b").await);
    assert_eq!((fresh.row, fresh.token), (stale.row, 2));
    assert!(fresh.slot > stale.slot);
    assert!(fresh.fence() != stale.fence());
    assert_eq!(a.renew(stale.row, stale.token, hour).await.unwrap(), None);
    assert!(!a.release(stale.row, stale.token).await.unwrap());
    let renewed = b
        .renew(fresh.row, fresh.token, hour)
        .await
        .unwrap()
        .unwrap();
    assert!(renewed >= fresh.lease_until);
    let entries = b.entries(Some(&scope)).await.unwrap();
    let row = entries.iter().find(|e| e.task == "expires").unwrap();
    assert_eq!((row.token, row.holder.as_deref()), (2, Some("b")));
    assert!(row.is_running());
    assert!(b.release(fresh.row, fresh.token).await.unwrap());
    let entries = b.entries(Some(&scope)).await.unwrap();
    let row = entries.iter().find(|e| e.task == "expires").unwrap();
    assert!(!row.is_running() && row.holder.is_none(), "{row:?}");
}

/// Two replicas claim the same 1,000 tasks at once (statements of at most 500 each): every
/// task is won exactly once. The other replica's answer is `Taken`, or, on PostgreSQL and
/// MySQL (which skip a row another claim holds instead of waiting for it), `Busy` while
/// the winner's transaction still holds the row.
pub async fn ledger_batch_claims(url: &str, base: &ServiceGroupConfig) {
    let (a, b) = (ledger_of(url, base).await, ledger_of(url, base).await);
    let scope = TaskScope::fleet(&unique("batch")).unwrap();
    let names: Vec<String> = (0..1000).map(|i| format!("task_{i:04}")).collect();
    let hour = Duration::from_secs(3600);
    let request = |holder| ClaimRequest {
        scope: &scope,
        tasks: names.iter().map(String::as_str).collect(),
        spacing: hour,
        lease: hour,
        holder,
    };
    let started = Instant::now();
    let (for_a, for_b) = (request("a"), request("b"));
    let (first, second) = tokio::join!(a.claim(&for_a), b.claim(&for_b));
    let took = started.elapsed();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!((first.len(), second.len()), (1000, 1000));
    // Claimed at once by both, without deadlock: each task won exactly once, token 1.
    for (x, y) in first.iter().zip(&second) {
        match (x, y) {
            (Claimed::Won(claim), Claimed::Taken { .. } | Claimed::Busy { .. })
            | (Claimed::Taken { .. } | Claimed::Busy { .. }, Claimed::Won(claim)) => {
                assert_eq!(claim.token, 1);
            }
            other => panic!("{other:?}"),
        }
    }
    let entries = a.entries(Some(&scope)).await.unwrap();
    assert_eq!(entries.len(), 1000);
    assert!(entries.iter().all(|e| e.token == 1 && e.holder.is_some()));
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// A claim never waits for a row another transaction holds (PostgreSQL and MySQL: `FOR
/// UPDATE SKIP LOCKED`): it answers `Busy` at once, and the slot is still won once the
/// other transaction rolls back. A row deleted by hand is answered `Busy` once and created
/// again by the next claim.
pub async fn ledger_held_and_deleted_rows(url: &str, base: &ServiceGroupConfig) {
    use sqlx::Connection as _;
    let ledger = ledger_of(url, base).await;
    let scope = TaskScope::fleet(&unique("held")).unwrap();
    let hour = Duration::from_secs(3600);
    let quick = Duration::from_secs(3);
    let claim = || async {
        tokio::time::timeout(quick, claim_one(&ledger, &scope, "held", hour, hour, "a"))
            .await
            .expect("a claim waited for another transaction's row lock")
    };
    // The row exists once the task was claimed; release it so the lock is the only obstacle.
    let first = won(claim().await);
    assert!(ledger.release(first.row, first.token).await.unwrap());

    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let row_of = format!(
        "FROM periodic_task_ledger WHERE scope = '{}' AND task = 'held'",
        scope.as_str()
    );
    if !url.starts_with("sqlite:") {
        // Another transaction holds the row (as a concurrent claim would) in a new slot.
        sqlx::query(&format!(
            "UPDATE periodic_task_ledger SET slot = slot - 1 WHERE id = {}",
            first.row
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query(&format!("SELECT id {row_of} FOR UPDATE"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let busy = claim().await;
        assert!(matches!(busy, Claimed::Busy { .. }), "{busy:?}");
        tx.rollback().await.unwrap();
        // Nobody claimed that slot: it is still won, with the next token.
        let again = won(claim().await);
        assert_eq!((again.row, again.token), (first.row, 2));
        assert!(ledger.release(again.row, again.token).await.unwrap());
    }

    // Deleted by hand: not run this slot (never an error: other answers of the same
    // claim may be committed wins), and the row is created again by the next claim.
    sqlx::query(&format!("DELETE {row_of}"))
        .execute(&mut conn)
        .await
        .unwrap();
    match claim().await {
        Claimed::Busy { holder, .. } => assert!(holder.contains("deleted"), "{holder}"),
        other => panic!("expected busy, got {other:?}"),
    }
    let recreated = won(claim().await);
    assert_ne!(recreated.row, first.row);
    assert_eq!(recreated.token, 1);
}

/// Plain runs are recorded with the store's clock: runs, failures, outcome, duration.
pub async fn ledger_records_runs(url: &str, base: &ServiceGroupConfig) {
    let ledger = ledger_of(url, base).await;
    let scope = TaskScope::service(&unique("host"), "nova-compute");
    let ok = RunReport::new(
        periodic::RunOutcome::Succeeded,
        Duration::from_millis(1500),
        Duration::ZERO,
        Duration::ZERO,
    );
    let failed = RunReport::new(
        periodic::RunOutcome::Failed,
        Duration::from_millis(250),
        Duration::from_millis(10),
        Duration::from_millis(100),
    );
    let before = ledger.now().await.unwrap();
    ledger.record(&scope, "audit", &ok).await.unwrap();
    ledger.record(&scope, "audit", &failed).await.unwrap();
    let after = ledger.now().await.unwrap();
    let entries = ledger.entries(Some(&scope)).await.unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!((e.task.as_str(), e.runs, e.failures), ("audit", 2, 1));
    assert_eq!(e.outcome.as_deref(), Some("failed"));
    assert_eq!(e.duration, Some(Duration::from_millis(250)));
    let finished = e.finished.unwrap();
    assert!(
        finished >= before - 100 && finished <= after - 100,
        "{before} {finished} {after}"
    );
    assert_eq!(e.started, Some(finished - 250));
    assert!(!e.is_running() && e.token == 0);
}

/// A fleet run is settled in one step: recorded on the store's clock and its lease
/// released, guarded by its token; a stale token records nothing and releases nothing.
pub async fn ledger_settles_fleet_runs(url: &str, base: &ServiceGroupConfig) {
    let ledger = ledger_of(url, base).await;
    let scope = TaskScope::fleet(&unique("settle")).unwrap();
    let hour = Duration::from_secs(3600);
    let claim = won(claim_one(&ledger, &scope, "purge", hour, hour, "a").await);
    let report = RunReport::new(
        periodic::RunOutcome::Failed,
        Duration::from_millis(400),
        Duration::from_millis(3),
        Duration::from_millis(50),
    );
    let before = ledger.now().await.unwrap();
    assert!(
        ledger
            .settle(&scope, "purge", &claim, Some(&report))
            .await
            .unwrap()
    );
    let after = ledger.now().await.unwrap();
    let entry = |entries: Vec<periodic::LedgerEntry>| {
        entries.into_iter().find(|e| e.task == "purge").unwrap()
    };
    let e = entry(ledger.entries(Some(&scope)).await.unwrap());
    assert_eq!((e.runs, e.failures, e.token), (1, 1, claim.token), "{e:?}");
    assert_eq!(e.outcome.as_deref(), Some("failed"));
    assert_eq!(e.duration, Some(Duration::from_millis(400)));
    assert!(e.holder.is_none() && !e.is_running(), "{e:?}");
    let finished = e.finished.unwrap();
    assert!(
        finished >= before - 50 && finished <= after - 50,
        "{before} {finished} {after}"
    );
    assert_eq!(e.started, Some(finished - 400));
    // A token that is not the row's records nothing (the SQL store settles in one
    // guarded statement).
    let stale = periodic::Claim::new(claim.row, claim.slot, claim.token + 1, 0, 0);
    assert!(
        !ledger
            .settle(&scope, "purge", &stale, Some(&report))
            .await
            .unwrap()
    );
    let e = entry(ledger.entries(Some(&scope)).await.unwrap());
    assert_eq!((e.runs, e.failures), (1, 1), "{e:?}");
    // A lost lease: released, not recorded.
    assert!(!ledger.settle(&scope, "purge", &stale, None).await.unwrap());
}

/// The fencing argument on a real table: A holds token 1 and is paused past its lease; B
/// claims the next slot with token 2. A's guarded write then changes nothing, B's applies.
pub async fn ledger_fenced_write(url: &str, base: &ServiceGroupConfig) {
    use sqlx::Connection as _;
    let (a, b) = (ledger_of(url, base).await, ledger_of(url, base).await);
    let scope = TaskScope::fleet(&unique("fenced")).unwrap();
    let (second, lease) = (Duration::from_secs(1), Duration::from_millis(200));
    slot_start(&a, second, Duration::from_millis(500)).await;
    let stale = won(claim_one(&a, &scope, "purge", second, lease, "a").await);
    wait_for("the next slot", DEADLINE, || async {
        (a.now().await.unwrap().div_euclid(1000) > stale.slot).then_some(())
    })
    .await;
    let fresh = won(claim_one(&b, &scope, "purge", second, lease, "b").await);
    assert_eq!(fresh.token, stale.token + 1);

    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let table = unique("fenced_work").replace('-', "_");
    sqlx::query(&format!(
        "CREATE TABLE {table} (id INTEGER PRIMARY KEY, state VARCHAR(32) NOT NULL)"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO {table} (id, state) VALUES (1, 'dirty')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let guarded = |by: &str, fence: periodic::Fence| {
        format!(
            "UPDATE {table} SET state = '{by}' WHERE id = 1 AND {}",
            fence.sql_condition()
        )
    };
    let stale_write = sqlx::query(&guarded("cleaned-by-a", stale.fence()))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        stale_write.rows_affected(),
        0,
        "the stale token's write is rejected"
    );
    let fresh_write = sqlx::query(&guarded("cleaned-by-b", fresh.fence()))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(fresh_write.rows_affected(), 1);
    let written: String = sqlx::Row::get(
        &sqlx::query(&format!("SELECT state FROM {table} WHERE id = 1"))
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(written, "cleaned-by-b");
    // And the stale holder sees its lease as lost.
    assert_eq!(a.renew(stale.row, stale.token, lease).await.unwrap(), None);
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Three runners, each with a ledger handle of its own on the store, drive a fleet task of
/// spacing 1 s in real time for about 5 s: every slot between the first and the last runs
/// exactly once, with tokens that grow by one.
pub async fn fleet_runners_run_each_slot_once(url: &str, base: &ServiceGroupConfig) {
    struct Replica;
    let runs: Arc<std::sync::Mutex<Vec<(usize, i64, u64)>>> = Arc::default();
    let fleet = unique("runners");
    let mut driven = Vec::new();
    for replica in 0..3 {
        let ledger = ledger_of(url, base).await;
        let runner = periodic::PeriodicRunner::<Replica>::builder(Replica)
            .options(
                periodic::RunnerOptions::new()
                    .jitter(periodic::Jitter::None)
                    .task_ledger(ledger)
                    .fleet_holder(format!("replica-{replica}")),
            )
            .build()
            .unwrap();
        let seen = Arc::clone(&runs);
        runner
            .add_periodic_task(
                periodic::PeriodicTask::with_run_context(
                    "tick",
                    move |_m: Arc<Replica>, _c: Arc<()>, run: periodic::RunContext| {
                        seen.lock().unwrap().push((
                            replica,
                            run.slot().unwrap(),
                            run.token().unwrap(),
                        ));
                        async {}
                    },
                )
                .spacing(Duration::from_secs(1))
                .fleet(periodic::Fleet::named(fleet.clone())),
            )
            .unwrap();
        driven.push(tokio::spawn(async move {
            loop {
                let idle = runner.run_periodic_tasks(()).await.unwrap();
                tokio::time::sleep(idle).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(5200)).await;
    for task in driven {
        task.abort();
    }
    let runs = runs.lock().unwrap().clone();
    assert!(runs.len() >= 4, "{runs:?}");
    for pair in runs.windows(2) {
        assert_eq!(
            pair[1].1,
            pair[0].1 + 1,
            "one run per slot, none missed: {runs:?}"
        );
        assert_eq!(pair[1].2, pair[0].2 + 1, "tokens grow by one: {runs:?}");
    }
}

/// A fleet runner creates its tasks' ledger rows before its first pass, not in the first
/// claim at a slot boundary: after one pass of a task not due for an hour, its row is
/// there, never claimed (token 0, no holder).
pub async fn fleet_runner_prepares_its_rows(url: &str, base: &ServiceGroupConfig) {
    struct Replica;
    let fleet = unique("prepared");
    let ledger = ledger_of(url, base).await;
    let runner = periodic::PeriodicRunner::<Replica>::builder(Replica)
        .options(periodic::RunnerOptions::new().task_ledger(Arc::clone(&ledger)))
        .build()
        .unwrap();
    for name in ["hourly_a", "hourly_b"] {
        runner
            .add_periodic_task(
                periodic::PeriodicTask::new(name, |_m: Arc<Replica>, _c: Arc<()>| async {})
                    .spacing(Duration::from_secs(3600))
                    .fleet(periodic::Fleet::named(fleet.clone())),
            )
            .unwrap();
    }
    let scope = TaskScope::fleet(&fleet).unwrap();
    assert!(ledger.entries(Some(&scope)).await.unwrap().is_empty());
    let idle = runner.run_periodic_tasks(()).await.unwrap();
    assert!(idle > Duration::ZERO);
    let entries = ledger.entries(Some(&scope)).await.unwrap();
    let tasks: Vec<(&str, u64, bool)> = entries
        .iter()
        .map(|e| (e.task.as_str(), e.token, e.holder.is_none()))
        .collect();
    assert_eq!(tasks, [("hourly_a", 0, true), ("hourly_b", 0, true)]);
}

/// `(holder, slot, token, cancelled)` of each finished run of `sweep`.
type SweepRuns = Arc<std::sync::Mutex<Vec<(&'static str, i64, u64, bool)>>>;

/// One replica's fleet runner on `url`: task `sweep` of spacing 1 s, lease 300 ms, that
/// works `work` unless its lease is lost, and records `(holder, slot, token, cancelled)`.
async fn sweeping_runner(
    url: &str,
    base: &ServiceGroupConfig,
    holder: &'static str,
    fleet: &str,
    work: Duration,
    runs: &SweepRuns,
) -> tokio::task::JoinHandle<()> {
    struct Replica;
    let ledger = ledger_of(url, base).await;
    let runner = periodic::PeriodicRunner::<Replica>::builder(Replica)
        .options(
            periodic::RunnerOptions::new()
                .jitter(periodic::Jitter::None)
                .task_ledger(ledger)
                .fleet_holder(holder)
                .fleet_lease(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let seen = Arc::clone(runs);
    runner
        .add_periodic_task(
            periodic::PeriodicTask::with_run_context(
                "sweep",
                move |_m: Arc<Replica>, _c: Arc<()>, run: periodic::RunContext| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let (slot, token) = (run.slot().unwrap(), run.token().unwrap());
                        let cancelled = tokio::select! {
                            () = run.cancelled() => true,
                            () = tokio::time::sleep(work) => false,
                        };
                        seen.lock().unwrap().push((holder, slot, token, cancelled));
                    }
                },
            )
            .spacing(Duration::from_secs(1))
            .fleet(periodic::Fleet::named(fleet.to_owned())),
        )
        .unwrap();
    tokio::spawn(async move {
        loop {
            // A pass fails only with ErrorPolicy::Propagate; the store's errors are logged.
            let idle = runner.run_periodic_tasks(()).await.unwrap();
            tokio::time::sleep(idle).await;
        }
    })
}

/// The store goes away in the middle of A's run (A reaches it through `proxy`): A's lease
/// is not renewed, its run is cancelled by the lease rule, B (direct) takes the next
/// slots; when the store is back nothing runs twice.
pub async fn fleet_run_through_an_outage(
    through: &str,
    direct: &str,
    proxy: &Proxy,
    base: &ServiceGroupConfig,
) {
    let runs: SweepRuns = Arc::default();
    let fleet = unique("outage");
    let a = sweeping_runner(through, base, "a", &fleet, Duration::from_secs(3), &runs).await;
    // Wait for A to hold a slot (its run records only when it ends).
    let ledger = ledger_of(direct, base).await;
    let scope = TaskScope::fleet(&fleet).unwrap();
    wait_for("A's first claim", DEADLINE, || async {
        let entries = ledger.entries(Some(&scope)).await.unwrap();
        entries
            .iter()
            .any(|e| e.holder.as_deref() == Some("a"))
            .then_some(())
    })
    .await;
    proxy.stop();
    let b = sweeping_runner(direct, base, "b", &fleet, Duration::from_millis(50), &runs).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.start().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    a.abort();
    b.abort();

    let mut runs = runs.lock().unwrap().clone();
    let first_a = runs.iter().find(|r| r.0 == "a").copied();
    let first_a = first_a.expect("A's run ended");
    assert!(
        first_a.3,
        "A's run was cancelled by the lease rule: {runs:?}"
    );
    assert!(
        runs.iter().any(|r| r.0 == "b" && r.1 > first_a.1),
        "{runs:?}"
    );
    runs.sort_by_key(|r| r.1);
    for pair in runs.windows(2) {
        assert!(pair[1].1 > pair[0].1, "a slot ran twice: {runs:?}");
        assert!(pair[1].2 > pair[0].2, "tokens grow: {runs:?}");
    }
}

/// Operator controls: pause (with a reason), resume and run-now of a task that has a row,
/// seen by a second handle on the store; an unknown task is `NotFound` with nova's text;
/// a bad reason is refused before the store; a run-now request is consumed once, with
/// the next token, and only while no lease is held; the run is settled into the history.
pub async fn ledger_controls(url: &str, base: &ServiceGroupConfig) {
    use periodic::{ErrorKind, TaskControl};

    let (a, b) = (ledger_of(url, base).await, ledger_of(url, base).await);
    let scope = TaskScope::fleet(&unique("controls")).unwrap();
    let hour = Duration::from_secs(3600);
    a.prepare(&scope, &["purge", "audit"]).await.unwrap();

    let err = a
        .control(&scope, "missing", &TaskControl::RunNow)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("Task missing could not be found in {scope}.")),
        "{err}"
    );
    let bad = TaskControl::Pause {
        reason: Some("x".repeat(256)),
    };
    assert_eq!(
        a.control(&scope, "purge", &bad).await.unwrap_err().kind(),
        ErrorKind::Invalid
    );

    let pause = TaskControl::pause(Some("maintenance")).unwrap();
    let entry = a.control(&scope, "purge", &pause).await.unwrap();
    assert!(entry.paused);
    assert_eq!(entry.paused_reason.as_deref(), Some("maintenance"));
    let seen = b.entries(Some(&scope)).await.unwrap();
    let purge = seen.iter().find(|e| e.task == "purge").unwrap();
    assert!(purge.paused && purge.next_due().is_none(), "{purge:?}");
    assert!(!seen.iter().find(|e| e.task == "audit").unwrap().paused);
    let controls = b.controls(&scope).await.unwrap();
    assert_eq!(controls.len(), 1, "{controls:?}");
    assert!(controls[0].paused && controls[0].task == "purge");

    let entry = a
        .control(&scope, "purge", &TaskControl::Resume)
        .await
        .unwrap();
    assert!(!entry.paused && entry.paused_reason.is_none(), "{entry:?}");
    assert!(b.controls(&scope).await.unwrap().is_empty());

    // Run now, while another runner holds the lease: not taken until it is released.
    let claim = won(claim_one(&a, &scope, "purge", hour, hour, "holder-a").await);
    let before = a.now().await.unwrap();
    let entry = b
        .control(&scope, "purge", &TaskControl::RunNow)
        .await
        .unwrap();
    let requested = entry.run_requested.expect("a pending request");
    assert!(requested >= before - 1000, "{requested} {before}");
    assert!(
        a.take_run_request(&scope, "purge", "holder-b", hour)
            .await
            .unwrap()
            .is_none(),
        "a held lease keeps the request pending"
    );
    assert!(a.release(claim.row, claim.token).await.unwrap());
    let taken = a
        .take_run_request(&scope, "purge", "holder-b", hour)
        .await
        .unwrap()
        .expect("the request is taken");
    assert_eq!(taken.token, claim.token + 1);
    assert!(
        b.take_run_request(&scope, "purge", "holder-c", hour)
            .await
            .unwrap()
            .is_none(),
        "a request is consumed once"
    );
    let report = RunReport::new(
        periodic::RunOutcome::Succeeded,
        Duration::from_millis(20),
        Duration::ZERO,
        Duration::ZERO,
    );
    assert!(
        a.settle(&scope, "purge", &taken, Some(&report))
            .await
            .unwrap()
    );
    let runs = b.history(&scope, "purge", 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].token, Some(taken.token));
    assert_eq!(runs[0].holder.as_deref(), Some("holder-b"));
    let entry = b
        .entries(Some(&scope))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.task == "purge")
        .unwrap();
    assert!(
        entry.run_requested.is_none() && !entry.is_running(),
        "{entry:?}"
    );
    assert_eq!(entry.runs, 1);
}

/// The run history: plain runs are appended newest first (without a token), the spacing
/// of a plain task is stored, and only the newest `HISTORY_LEN` runs are kept.
pub async fn ledger_history(url: &str, base: &ServiceGroupConfig) {
    use periodic::HISTORY_LEN;

    let ledger = ledger_of(url, base).await;
    let scope = TaskScope::service(&unique("history"), "nova-compute");
    for i in 0..(HISTORY_LEN + 5) {
        let outcome = if i % 2 == 0 {
            periodic::RunOutcome::Succeeded
        } else {
            periodic::RunOutcome::Failed
        };
        let report = RunReport::new(
            outcome,
            Duration::from_millis(u64::try_from(i).unwrap()),
            Duration::from_millis(3),
            Duration::ZERO,
        )
        .with_spacing(Duration::from_secs(60));
        ledger.record(&scope, "audit", &report).await.unwrap();
    }
    let runs = ledger.history(&scope, "audit", 1000).await.unwrap();
    assert_eq!(runs.len(), HISTORY_LEN);
    let newest = u64::try_from(HISTORY_LEN + 4).unwrap();
    assert_eq!(runs[0].duration, Duration::from_millis(newest));
    assert_eq!(runs[HISTORY_LEN - 1].duration, Duration::from_millis(5));
    assert_eq!(runs[0].lateness, Duration::from_millis(3));
    assert_eq!(runs[0].outcome, "succeeded");
    assert_eq!(runs[1].outcome, "failed");
    assert!(runs[0].token.is_none() && runs[0].holder.is_none());
    assert!(runs[0].finished - runs[0].started == i64::try_from(newest).unwrap());
    assert_eq!(ledger.history(&scope, "audit", 3).await.unwrap().len(), 3);
    assert!(ledger.history(&scope, "other", 3).await.unwrap().is_empty());
    let entry = ledger.entries(Some(&scope)).await.unwrap().remove(0);
    assert_eq!(entry.spacing, Some(Duration::from_secs(60)));
    assert_eq!(entry.lateness, Some(Duration::from_millis(3)));
    assert_eq!(
        entry.next_due(),
        Some(entry.started.unwrap() + 60_000),
        "{entry:?}"
    );
}
