//! A service-group backend from outside the crate: both contracts, `ServiceRecords` and
//! `Liveness`, implemented with `periodic`'s public API only, and the liveness driver is
//! session-style (a lease kept alive by a task, as an etcd or ZooKeeper driver would),
//! not "a write every report_interval".
//!
//! ```text
//! ttl 9 s, keep-alive every 3 s
//!
//! join      lease refreshed ...            dropped (kill -9)        expired
//!  0 ──────── 3 ──── 6 ──── ... ──── 30 ───────────── 33 ─── ... ─── 39+ ──►
//!  up at once (no initial delay)            still up until the lease runs out, then down
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use periodic::{
    DownReason, Fetched, Heartbeat, HeartbeatStats, JoinOptions, Liveness, Membership, NewService,
    OutageTexts, ServiceFilter, ServiceGroup, ServiceGroupConfig, ServiceRecord, ServiceRecords,
    ServiceStatus,
};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

const TTL: Duration = Duration::from_secs(9);

/// The services table in a map.
#[derive(Debug, Default)]
struct Table {
    rows: Mutex<BTreeMap<i64, ServiceRecord>>,
    next: AtomicI64,
}

impl Table {
    fn update(&self, id: i64, change: impl FnOnce(&mut ServiceRecord)) -> bool {
        let mut rows = self.rows.lock().unwrap();
        rows.get_mut(&id).map(change).is_some()
    }
}

impl ServiceRecords for Table {
    fn get_or_create<'a>(
        &'a self,
        service: &'a NewService,
    ) -> BoxFuture<'a, periodic::Result<ServiceRecord>> {
        let mut rows = self.rows.lock().unwrap();
        let found = rows
            .values()
            .find(|r| r.host == service.host && r.binary == service.binary)
            .cloned();
        let record = found.unwrap_or_else(|| {
            let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            let mut record = ServiceRecord::new(
                id,
                &service.host,
                &service.binary,
                &service.topic,
                SystemTime::now(),
            );
            record.uuid = format!("00000000-0000-4000-8000-{id:012}");
            rows.insert(id, record.clone());
            record
        });
        Box::pin(async move { Ok(record) })
    }

    fn get(&self, id: i64) -> BoxFuture<'_, periodic::Result<Option<Fetched>>> {
        let row = self.rows.lock().unwrap().get(&id).cloned();
        Box::pin(async move { Ok(row.map(|r| Fetched::new(r, None))) })
    }

    fn find<'a>(
        &'a self,
        host: &'a str,
        binary: &'a str,
    ) -> BoxFuture<'a, periodic::Result<Option<Fetched>>> {
        let rows = self.rows.lock().unwrap();
        let row = rows
            .values()
            .find(|r| r.host == host && r.binary == binary)
            .cloned();
        Box::pin(async move { Ok(row.map(|r| Fetched::new(r, None))) })
    }

    fn list<'a>(
        &'a self,
        filter: &'a ServiceFilter,
    ) -> BoxFuture<'a, periodic::Result<Vec<Fetched>>> {
        let rows: Vec<Fetched> = self
            .rows
            .lock()
            .unwrap()
            .values()
            .filter(|r| filter.host.as_ref().is_none_or(|h| *h == r.host))
            .map(|r| Fetched::new(r.clone(), None))
            .collect();
        Box::pin(async move { Ok(rows) })
    }

    fn heartbeat(
        &self,
        id: i64,
        host_time: SystemTime,
    ) -> BoxFuture<'_, periodic::Result<Option<periodic::ClockSkew>>> {
        // This table's clock is the system's.
        let skew = periodic::ClockSkew::between(host_time, SystemTime::now());
        let found = self.update(id, |r| {
            r.report_count += 1;
            r.clock_skew = Some(skew);
        });
        Box::pin(async move { Ok(found.then_some(skew)) })
    }

    fn set_disabled<'a>(
        &'a self,
        id: i64,
        disabled: bool,
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, periodic::Result<bool>> {
        let found = self.update(id, |r| {
            r.disabled = disabled;
            r.disabled_reason = reason.map(str::to_owned);
        });
        Box::pin(async move { Ok(found) })
    }

    fn set_forced_down(&self, id: i64, forced_down: bool) -> BoxFuture<'_, periodic::Result<bool>> {
        let found = self.update(id, |r| r.forced_down = forced_down);
        Box::pin(async move { Ok(found) })
    }

    fn set_stopped(&self, id: i64, stopped: bool) -> BoxFuture<'_, periodic::Result<bool>> {
        let found = self.update(id, |r| r.stopped = stopped);
        Box::pin(async move { Ok(found) })
    }

    fn delete(&self, id: i64) -> BoxFuture<'_, periodic::Result<bool>> {
        let found = self.rows.lock().unwrap().remove(&id).is_some();
        Box::pin(async move { Ok(found) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn reconnect(self: Arc<Self>) -> BoxFuture<'static, periodic::Result<Arc<dyn ServiceRecords>>> {
        Box::pin(async move { Ok(self as Arc<dyn ServiceRecords>) })
    }

    fn on_tokio_clock(&self) -> bool {
        true
    }
}

/// Leases by service id: when each runs out, on tokio's clock.
#[derive(Debug, Default)]
struct Sessions {
    leases: Arc<Mutex<HashMap<i64, Instant>>>,
}

impl Liveness for Sessions {
    fn name(&self) -> &'static str {
        "sessions"
    }

    fn join(
        &self,
        _records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        _options: JoinOptions,
    ) -> BoxFuture<'_, periodic::Result<Heartbeat>> {
        let (id, leases) = (service.id, Arc::clone(&self.leases));
        let token = CancellationToken::new();
        let renewals = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(true));
        leases.lock().unwrap().insert(id, Instant::now() + TTL);
        let (cancel, count, alive) = (token.clone(), Arc::clone(&renewals), Arc::clone(&running));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = sleep(TTL / 3) => {
                        leases.lock().unwrap().insert(id, Instant::now() + TTL);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            alive.store(false, Ordering::Release);
        });
        let session = Session {
            id,
            token,
            renewals,
            running,
        };
        Box::pin(async move { Ok(Heartbeat::new(session)) })
    }

    fn report<'a>(
        &'a self,
        _records: &'a dyn ServiceRecords,
        service: &'a ServiceRecord,
    ) -> BoxFuture<'a, periodic::Result<()>> {
        self.leases
            .lock()
            .unwrap()
            .insert(service.id, Instant::now() + TTL);
        Box::pin(async { Ok(()) })
    }

    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, periodic::Result<Vec<ServiceStatus>>> {
        let leases = self.leases.lock().unwrap();
        let now = Instant::now();
        let statuses = rows
            .into_iter()
            .map(|f| {
                let alive = leases.get(&f.record.id).is_some_and(|until| *until >= now);
                let reason = DownReason::from_record(&f.record)
                    .or((!alive).then_some(DownReason::NoHeartbeat));
                ServiceStatus::new(f.record, reason, None, TTL, None)
            })
            .collect();
        Box::pin(async move { Ok(statuses) })
    }

    fn forget<'a>(
        &'a self,
        _records: &'a dyn ServiceRecords,
        id: i64,
    ) -> BoxFuture<'a, periodic::Result<()>> {
        self.leases.lock().unwrap().remove(&id);
        Box::pin(async { Ok(()) })
    }

    fn outage_texts(&self) -> OutageTexts {
        OutageTexts::new(
            tracing::Level::WARN,
            "Lost the session store.",
            "Session store back.",
        )
    }
}

/// A kept-alive lease: dropping it (a killed service) stops the keep-alive.
#[derive(Debug)]
struct Session {
    id: i64,
    token: CancellationToken,
    renewals: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
}

impl Membership for Session {
    fn service_id(&self) -> i64 {
        self.id
    }

    fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    fn stats(&self) -> HeartbeatStats {
        let mut stats = HeartbeatStats::default();
        stats.reports_ok = self.renewals.load(Ordering::Relaxed);
        stats.connected = true;
        stats
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, periodic::Result<()>> {
        self.token.cancel();
        Box::pin(async { Ok(()) })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

fn group() -> ServiceGroup {
    ServiceGroup::with_backends(
        "custom://u:secret@cluster",
        Arc::new(Table::default()),
        Arc::new(Sessions::default()),
        ServiceGroupConfig::default(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_backend_from_outside_the_crate_drives_the_whole_api() {
    let group = group();
    assert_eq!(group.driver().as_str(), "sessions");
    assert_eq!(group.url(), "custom://u:***@cluster");

    let me = group
        .get_or_create(&NewService::new("node-1", "nova-compute", "compute"))
        .await
        .unwrap();
    let heartbeat = group.join(&me, JoinOptions::default()).await.unwrap();
    // A session is up at once: no initial reporting delay.
    assert!(group.is_up(me.id).await.unwrap());

    sleep(Duration::from_secs(31)).await;
    assert!(group.is_up(me.id).await.unwrap());
    assert_eq!(heartbeat.stats().reports_ok, 10, "{:?}", heartbeat.stats());

    // Admin changes go to the table.
    let disabled = group.disable(me.id, Some("maintenance")).await.unwrap();
    assert_eq!(disabled.disabled_reason.as_deref(), Some("maintenance"));
    let list = group.list(&ServiceFilter::all()).await.unwrap();
    assert_eq!((list.len(), list[0].status()), (1, "disabled"));

    // A graceful stop forgets the session: down at once.
    group.leave(heartbeat).await.unwrap();
    let status = group.status(me.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::Stopped));
}

#[tokio::test(start_paused = true)]
async fn a_killed_member_goes_down_when_its_lease_runs_out() {
    let group = group();
    let me = group
        .get_or_create(&NewService::new("node-1", "nova-compute", "compute"))
        .await
        .unwrap();
    let heartbeat = group.join(&me, JoinOptions::default()).await.unwrap();
    sleep(Duration::from_secs(30)).await;
    drop(heartbeat); // killed: nothing marks it stopped
    sleep(Duration::from_secs(5)).await;
    assert!(group.is_up(me.id).await.unwrap(), "the lease still runs");
    sleep(TTL).await;
    let status = group.status(me.id).await.unwrap();
    assert_eq!(status.down_reason, Some(DownReason::NoHeartbeat));
}
