//! The `memory://` store: the services table in this process, liveness on tokio's clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};

use tokio::time::Instant;

use super::config::WallClock;
use super::record::{NewService, ServiceFilter, ServiceRecord};
use super::store::{Fetched, new_uuid};
use crate::error::{Error, ErrorKind};

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

impl MemoryStore {
    /// A private store (`memory://`) or the shared one named `name` (`memory://name`).
    pub(crate) fn open(name: Option<&str>, clock: WallClock) -> Arc<MemoryStore> {
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
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get_or_create(&self, new: &NewService) -> Result<ServiceRecord, Error> {
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

    pub(crate) fn get(&self, id: i64) -> Option<Fetched> {
        let now = Instant::now();
        self.lock()
            .rows
            .get(&id)
            .filter(|r| !r.deleted)
            .map(|r| r.fetched(now))
    }

    pub(crate) fn find(&self, host: &str, binary: &str) -> Option<Fetched> {
        let now = Instant::now();
        self.lock()
            .rows
            .values()
            .find(|r| !r.deleted && r.record.host == host && r.record.binary == binary)
            .map(|r| r.fetched(now))
    }

    pub(crate) fn list(&self, filter: &ServiceFilter) -> Vec<Fetched> {
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

    pub(crate) fn heartbeat(&self, id: i64) -> bool {
        self.update(id, |row, now| {
            row.record.report_count += 1;
            row.record.last_seen_up = Some(now);
            row.record.stopped = false;
            row.last_seen = Some(Instant::now());
        })
    }

    pub(crate) fn set_disabled(&self, id: i64, disabled: bool, reason: Option<&str>) -> bool {
        self.update(id, |row, _| {
            row.record.disabled = disabled;
            row.record.disabled_reason = reason.map(str::to_owned);
        })
    }

    pub(crate) fn set_forced_down(&self, id: i64, forced_down: bool) -> bool {
        self.update(id, |row, _| row.record.forced_down = forced_down)
    }

    pub(crate) fn set_stopped(&self, id: i64, stopped: bool) -> bool {
        self.update(id, |row, _| row.record.stopped = stopped)
    }

    pub(crate) fn delete(&self, id: i64) -> bool {
        self.update(id, |row, _| row.deleted = true)
    }
}

/// The error when `host` already runs another binary on `new.topic` (the unique key
/// `(host, topic)`).
pub(crate) fn topic_taken(new: &NewService, other_binary: &str) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!(
            "host `{}` already has a service on topic `{}` (binary `{other_binary}`), so \
             `{}` cannot use it",
            new.host, new.topic, new.binary
        ),
    )
}
