//! The `memory://` store: the services table in this process, liveness on tokio's clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::time::SystemTime;

use futures::future::{self, BoxFuture};
use tokio::time::Instant;

use super::config::{ServiceGroupConfig, WallClock};
use super::memory_ledger::MemoryLedger;
use super::record::{NewService, ServiceFilter, ServiceRecord};
use super::records::ServiceRecords;
use super::shared::{Fetched, OpenMode, new_uuid, topic_taken};
use super::skew::ClockSkew;
use crate::error::Error;
use crate::periodic::TaskLedger;

/// Named stores (`memory://name`), shared by every handle in the process that opens the
/// name while one of them is alive.
static NAMED: LazyLock<Mutex<HashMap<String, Weak<MemoryStore>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The services table in memory. Heartbeat ages are measured on tokio's clock
/// ([`Instant`]), so `#[tokio::test(start_paused = true)]` controls them exactly; the
/// display timestamps come from the clock of the handle that created the store.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    state: Mutex<State>,
    clock: WallClock,
    ledger: Arc<MemoryLedger>,
}

#[derive(Debug, Default)]
struct State {
    next_id: i64,
    rows: BTreeMap<i64, Row>,
}

#[derive(Debug)]
struct Row {
    record: ServiceRecord,
    deleted: bool,
    created: Instant,
    last_seen: Option<Instant>,
}

impl Row {
    fn fetched(&self, now: Instant) -> Fetched {
        let since = self.last_seen.unwrap_or(self.created);
        Fetched {
            record: self.record.clone(),
            age: Some(now.saturating_duration_since(since)),
        }
    }
}

/// Opens `memory://` (a private store) or `memory://name` (the store of that name,
/// shared by every handle in the process that opens it while one of them is alive).
pub(crate) fn open<'a>(
    url: &'a str,
    config: &'a ServiceGroupConfig,
    _mode: OpenMode,
) -> BoxFuture<'a, Result<Arc<dyn ServiceRecords>, Error>> {
    let rest = url.split_once(':').map_or("", |(_, rest)| rest);
    let name = rest.strip_prefix("//").unwrap_or(rest);
    let name = (!name.is_empty()).then_some(name);
    let store = MemoryStore::open(name, config.clock.clone());
    Box::pin(future::ready(Ok(store as Arc<dyn ServiceRecords>)))
}

impl MemoryStore {
    /// A private store or the shared one named `name`.
    fn open(name: Option<&str>, clock: WallClock) -> Arc<MemoryStore> {
        let Some(name) = name else {
            return Arc::new(MemoryStore::new(clock));
        };
        let mut named = NAMED.lock().unwrap_or_else(PoisonError::into_inner);
        named.retain(|_, store| store.strong_count() > 0);
        if let Some(store) = named.get(name).and_then(Weak::upgrade) {
            return store;
        }
        let store = Arc::new(MemoryStore::new(clock));
        named.insert(name.to_owned(), Arc::downgrade(&store));
        store
    }

    fn new(clock: WallClock) -> MemoryStore {
        MemoryStore {
            state: Mutex::new(State {
                next_id: 1,
                rows: BTreeMap::new(),
            }),
            clock,
            ledger: Arc::new(MemoryLedger::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_or_create_now(&self, new: &NewService) -> Result<ServiceRecord, Error> {
        let mut state = self.lock();
        let live = |r: &&Row| !r.deleted && r.record.host == new.host;
        if let Some(row) = state
            .rows
            .values()
            .filter(live)
            .find(|r| r.record.binary == new.binary)
        {
            return Ok(row.record.clone());
        }
        if let Some(row) = state
            .rows
            .values()
            .filter(live)
            .find(|r| r.record.topic == new.topic)
        {
            return Err(topic_taken(new, &row.record.binary));
        }
        let id = state.next_id;
        state.next_id += 1;
        let now = self.clock.now();
        let record = ServiceRecord {
            id,
            uuid: new_uuid(),
            host: new.host.clone(),
            binary: new.binary.clone(),
            topic: new.topic.clone(),
            report_count: 0,
            disabled: false,
            disabled_reason: None,
            availability_zone: new.availability_zone.clone(),
            forced_down: false,
            stopped: false,
            last_seen_up: None,
            created_at: now,
            updated_at: None,
            clock_skew: None,
        };
        state.rows.insert(
            id,
            Row {
                record: record.clone(),
                deleted: false,
                created: Instant::now(),
                last_seen: None,
            },
        );
        Ok(record)
    }

    fn get_now(&self, id: i64) -> Option<Fetched> {
        let now = Instant::now();
        self.lock()
            .rows
            .get(&id)
            .filter(|r| !r.deleted)
            .map(|r| r.fetched(now))
    }

    fn find_now(&self, host: &str, binary: &str) -> Option<Fetched> {
        let now = Instant::now();
        self.lock()
            .rows
            .values()
            .find(|r| !r.deleted && r.record.host == host && r.record.binary == binary)
            .map(|r| r.fetched(now))
    }

    fn list_now(&self, filter: &ServiceFilter) -> Vec<Fetched> {
        let now = Instant::now();
        self.lock()
            .rows
            .values()
            .filter(|r| !r.deleted)
            .filter(|r| filter.host.as_ref().is_none_or(|h| *h == r.record.host))
            .filter(|r| filter.binary.as_ref().is_none_or(|b| *b == r.record.binary))
            .map(|r| r.fetched(now))
            .collect()
    }

    /// Runs `change` on the live row `id`; `false` if there is none.
    fn update(&self, id: i64, change: impl FnOnce(&mut Row, std::time::SystemTime)) -> bool {
        let now = self.clock.now();
        let mut state = self.lock();
        match state.rows.get_mut(&id).filter(|r| !r.deleted) {
            Some(row) => {
                change(row, now);
                row.record.updated_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// The store's clock is the one of the handle that created it: a service whose
    /// clock differs shows the difference as its skew.
    fn heartbeat_now(&self, id: i64, host_time: SystemTime) -> Option<ClockSkew> {
        let mut skew = None;
        self.update(id, |row, now| {
            row.record.report_count += 1;
            row.record.last_seen_up = Some(now);
            row.record.stopped = false;
            row.record.clock_skew = Some(ClockSkew::between(host_time, now));
            row.last_seen = Some(Instant::now());
            skew = row.record.clock_skew;
        });
        skew
    }

    fn set_disabled_now(&self, id: i64, disabled: bool, reason: Option<&str>) -> bool {
        self.update(id, |row, _| {
            row.record.disabled = disabled;
            row.record.disabled_reason = reason.map(str::to_owned);
        })
    }

    fn set_forced_down_now(&self, id: i64, forced_down: bool) -> bool {
        self.update(id, |row, _| row.record.forced_down = forced_down)
    }

    fn set_stopped_now(&self, id: i64, stopped: bool) -> bool {
        self.update(id, |row, _| row.record.stopped = stopped)
    }

    fn delete_now(&self, id: i64) -> bool {
        self.update(id, |row, _| row.deleted = true)
    }
}

/// Every call completes at once: the futures are ready.
impl ServiceRecords for MemoryStore {
    fn get_or_create<'a>(
        &'a self,
        service: &'a NewService,
    ) -> BoxFuture<'a, Result<ServiceRecord, Error>> {
        Box::pin(future::ready(self.get_or_create_now(service)))
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Fetched>, Error>> {
        Box::pin(future::ready(Ok(self.get_now(id))))
    }

    fn find<'a>(
        &'a self,
        host: &'a str,
        binary: &'a str,
    ) -> BoxFuture<'a, Result<Option<Fetched>, Error>> {
        Box::pin(future::ready(Ok(self.find_now(host, binary))))
    }

    fn list<'a>(&'a self, filter: &'a ServiceFilter) -> BoxFuture<'a, Result<Vec<Fetched>, Error>> {
        Box::pin(future::ready(Ok(self.list_now(filter))))
    }

    fn heartbeat(
        &self,
        id: i64,
        host_time: SystemTime,
    ) -> BoxFuture<'_, Result<Option<ClockSkew>, Error>> {
        Box::pin(future::ready(Ok(self.heartbeat_now(id, host_time))))
    }

    fn set_disabled<'a>(
        &'a self,
        id: i64,
        disabled: bool,
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(future::ready(Ok(
            self.set_disabled_now(id, disabled, reason)
        )))
    }

    fn set_forced_down(&self, id: i64, forced_down: bool) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(future::ready(Ok(self.set_forced_down_now(id, forced_down))))
    }

    fn set_stopped(&self, id: i64, stopped: bool) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(future::ready(Ok(self.set_stopped_now(id, stopped))))
    }

    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(future::ready(Ok(self.delete_now(id))))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(future::ready(()))
    }

    fn reconnect(self: Arc<Self>) -> BoxFuture<'static, Result<Arc<dyn ServiceRecords>, Error>> {
        Box::pin(future::ready(Ok(self as Arc<dyn ServiceRecords>)))
    }

    fn on_tokio_clock(&self) -> bool {
        true
    }

    fn ledger(&self) -> Option<Arc<dyn TaskLedger>> {
        Some(Arc::clone(&self.ledger) as Arc<dyn TaskLedger>)
    }
}
