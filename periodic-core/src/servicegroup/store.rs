//! `Store`: where the services table lives (memory or an SQL database), behind one enum so
//! that the public handle stays a concrete type.

// Without an SQL feature only the in-memory store is left, whose calls do not await.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(clippy::unused_async)
)]

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use super::memory::MemoryStore;
use super::record::{NewService, ServiceFilter, ServiceRecord};
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
use super::sql::SqlStore;
use crate::error::Error;

/// A row and the age of its last heartbeat (of `created_at` if it never reported), as the
/// store's clock measured it during the query.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) record: ServiceRecord,
    /// `None` only if the store could not say; negative ages (a clock step back) are 0.
    pub(crate) age: Option<Duration>,
}

/// The services table.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    Memory(Arc<MemoryStore>),
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    Sql(SqlStore),
}

impl Store {
    pub(crate) async fn get_or_create(&self, new: &NewService) -> Result<ServiceRecord, Error> {
        match self {
            Store::Memory(m) => m.get_or_create(new),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.get_or_create(new).await,
        }
    }

    pub(crate) async fn get(&self, id: i64) -> Result<Option<Fetched>, Error> {
        match self {
            Store::Memory(m) => Ok(m.get(id)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.get(id).await,
        }
    }

    pub(crate) async fn find(&self, host: &str, binary: &str) -> Result<Option<Fetched>, Error> {
        match self {
            Store::Memory(m) => Ok(m.find(host, binary)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.find(host, binary).await,
        }
    }

    pub(crate) async fn list(&self, filter: &ServiceFilter) -> Result<Vec<Fetched>, Error> {
        match self {
            Store::Memory(m) => Ok(m.list(filter)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.list(filter).await,
        }
    }

    /// One heartbeat: `report_count + 1`, `last_seen_up` = the store's now. `false` if the
    /// row is gone.
    pub(crate) async fn heartbeat(&self, id: i64) -> Result<bool, Error> {
        match self {
            Store::Memory(m) => Ok(m.heartbeat(id)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.heartbeat(id).await,
        }
    }

    pub(crate) async fn set_disabled(
        &self,
        id: i64,
        disabled: bool,
        reason: Option<&str>,
    ) -> Result<bool, Error> {
        match self {
            Store::Memory(m) => Ok(m.set_disabled(id, disabled, reason)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.set_disabled(id, disabled, reason).await,
        }
    }

    pub(crate) async fn set_forced_down(&self, id: i64, forced_down: bool) -> Result<bool, Error> {
        match self {
            Store::Memory(m) => Ok(m.set_forced_down(id, forced_down)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.set_forced_down(id, forced_down).await,
        }
    }

    pub(crate) async fn set_stopped(&self, id: i64, stopped: bool) -> Result<bool, Error> {
        match self {
            Store::Memory(m) => Ok(m.set_stopped(id, stopped)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.set_stopped(id, stopped).await,
        }
    }

    pub(crate) async fn delete(&self, id: i64) -> Result<bool, Error> {
        match self {
            Store::Memory(m) => Ok(m.delete(id)),
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.delete(id).await,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Store::Memory(_) => {}
            #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
            Store::Sql(s) => s.close().await,
        }
    }

    pub(crate) fn is_memory(&self) -> bool {
        matches!(self, Store::Memory(_))
    }
}

/// A random (version 4) UUID in its usual text form.
pub(crate) fn new_uuid() -> String {
    let mut bytes: [u8; 16] = rand::rng().random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().fold(String::with_capacity(32), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
