//! The first contract: the services table (nova's `services`), wherever it is stored.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;

use super::record::{NewService, ServiceFilter, ServiceRecord};
use super::shared::Fetched;
use super::skew::ClockSkew;
use crate::error::Error;
use crate::periodic::TaskLedger;

/// The services table of a service group: one row per service (host, binary, topic), the
/// admin fields operators set, and the `db` driver's heartbeat columns.
///
/// Implemented by the built-in stores (`memory://`, and SQLite, PostgreSQL and MySQL
/// through sqlx); [`ServiceGroup::open`](crate::ServiceGroup::open) picks one by the URL's
/// scheme. A store outside this crate is handed to
/// [`ServiceGroup::with_backends`](crate::ServiceGroup::with_backends). The trait is object
/// safe: every method returns a boxed future, as tower's `Service` does.
///
/// Rules every implementation keeps:
///
/// * a row is identified by `id`; rows are soft-deleted (a deleted row is invisible to
///   every method, and its `(host, binary)` and `(host, topic)` may be used again);
/// * every time is the **store's** clock (the ages in [`Fetched`] too), never the
///   caller's, so no host clock takes part in judging liveness; the service's own time
///   that a [`heartbeat`](Self::heartbeat) carries only enters its [`ClockSkew`];
/// * the setters return `Ok(false)` when there is no live row with that id;
/// * admin changes (`set_disabled`, `set_forced_down`) never touch `last_seen_up`, so
///   they cannot make a dead service look alive (nova LP#1420848);
/// * a failing store is an [`ErrorKind::Store`](crate::ErrorKind::Store) error, never a
///   panic.
pub trait ServiceRecords: fmt::Debug + Send + Sync + 'static {
    /// Loads the live row of `service` (same host and binary) or creates it, safe
    /// against processes that start at once (they all get the same row). A host that
    /// already runs another binary on the topic is an
    /// [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) error.
    fn get_or_create<'a>(
        &'a self,
        service: &'a NewService,
    ) -> BoxFuture<'a, Result<ServiceRecord, Error>>;

    /// The live row with this id.
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Fetched>, Error>>;

    /// The live row of `binary` on `host`.
    fn find<'a>(
        &'a self,
        host: &'a str,
        binary: &'a str,
    ) -> BoxFuture<'a, Result<Option<Fetched>, Error>>;

    /// The live rows that match `filter`, ordered by id.
    fn list<'a>(&'a self, filter: &'a ServiceFilter) -> BoxFuture<'a, Result<Vec<Fetched>, Error>>;

    /// One `db` heartbeat: `report_count + 1`, `last_seen_up` = the store's current
    /// time, the `stopped` mark cleared, and the service's [clock skew](ClockSkew):
    /// `host_time` (the service's own wall-clock time, which the heartbeat carries) minus
    /// the store's time of the same write, kept as the row's
    /// [`clock_skew`](ServiceRecord::clock_skew) and returned. `Ok(None)` if the row is
    /// gone.
    fn heartbeat(
        &self,
        id: i64,
        host_time: SystemTime,
    ) -> BoxFuture<'_, Result<Option<ClockSkew>, Error>>;

    /// Sets `disabled` and `disabled_reason` (bumps `updated_at`).
    fn set_disabled<'a>(
        &'a self,
        id: i64,
        disabled: bool,
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Sets `forced_down` (bumps `updated_at`).
    fn set_forced_down(&self, id: i64, forced_down: bool) -> BoxFuture<'_, Result<bool, Error>>;

    /// Sets the `stopped` mark of a graceful stop (bumps `updated_at`).
    fn set_stopped(&self, id: i64, stopped: bool) -> BoxFuture<'_, Result<bool, Error>>;

    /// Soft-deletes the row.
    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, Error>>;

    /// Closes the store's connections; other handles on them can no longer use them.
    fn close(&self) -> BoxFuture<'_, ()>;

    /// A handle on the same table with connections of its own, opened on the runtime
    /// that awaits the future: what a heartbeat on its own thread uses, so that a
    /// blocked caller runtime cannot hold its connection. A store without connections
    /// returns itself.
    fn reconnect(self: Arc<Self>) -> BoxFuture<'static, Result<Arc<dyn ServiceRecords>, Error>>;

    /// Whether ages are measured on the caller's tokio clock (the `memory://` store,
    /// for paused-time tests): its heartbeats then run on the caller's runtime whatever
    /// [`HeartbeatMode`](crate::HeartbeatMode) asks. `false` by default.
    fn on_tokio_clock(&self) -> bool {
        false
    }

    /// The task ledger kept in the same store (fleet claims and run records), if the store
    /// keeps one: the SQL stores and `memory://` do. `None` by default: a fleet task then
    /// cannot run on this store and the service says so at start.
    fn ledger(&self) -> Option<Arc<dyn TaskLedger>> {
        None
    }
}
