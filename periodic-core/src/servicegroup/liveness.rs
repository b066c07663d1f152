//! The second contract: liveness, or membership. How a joined service stays up, how rows
//! are judged up or down, and the texts of a store outage.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use super::membership::{Heartbeat, JoinOptions};
use super::record::{ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::shared::Fetched;
use crate::error::Error;

/// A liveness driver: nova's `servicegroup` driver (`db`, `mc`, ...).
///
/// It answers three questions for a [`ServiceGroup`](crate::ServiceGroup), which hands
/// it the [services table](ServiceRecords) when it needs one:
///
/// * **join**: keep a service alive from now on, returning the [`Heartbeat`] handle of
///   its [`Membership`](crate::Membership): a report every `report_interval` for the
///   timestamp drivers (`db` writes the row, `mc` a memcached key with a TTL), a kept-
///   alive session or lease for a consensus store;
/// * **judge**: say of each row whether the service is up, why not, and the evidence
///   (the heartbeat's age by the store's clock, where the driver knows it). The row's own
///   reasons come first, in nova's order ([`DownReason::from_record`](crate::DownReason::from_record));
/// * **forget**: a service stopped gracefully, drop what kept it alive (`mc` deletes its
///   key), so it shows down at once.
///
/// and words a store outage the way operators grep for it ([`OutageTexts`]).
///
/// [`ServiceGroup::open`](crate::ServiceGroup::open) picks the built-in driver named by
/// [`ServiceGroupConfig::driver`](crate::ServiceGroupConfig::driver); one outside this
/// crate is handed to [`ServiceGroup::with_backends`](crate::ServiceGroup::with_backends).
/// Object safe: every async method returns a boxed future.
pub trait Liveness: fmt::Debug + Send + Sync + 'static {
    /// nova's name of the driver (`db`, `mc`, ...), shown by `periodic service list`
    /// and `/healthz`.
    fn name(&self) -> &'static str;

    /// Starts keeping `service` alive. Called after the row was loaded and its `stopped`
    /// mark cleared, never for a group whose `report_interval` is zero.
    ///
    /// # Errors
    ///
    /// When the membership cannot start (a thread cannot be spawned, a session cannot be
    /// opened).
    fn join(
        &self,
        records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> BoxFuture<'_, Result<Heartbeat, Error>>;

    /// Writes one report for `service` now, on the group's own connections
    /// ([`ServiceGroup::report_state`](crate::ServiceGroup::report_state)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if the driver writes the row
    /// and it is gone; [`ErrorKind::Store`](crate::ErrorKind::Store).
    fn report<'a>(
        &'a self,
        records: &'a dyn ServiceRecords,
        service: &'a ServiceRecord,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Judges `rows` (in order, one status each).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the driver's own store cannot
    /// be read.
    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, Result<Vec<ServiceStatus>, Error>>;

    /// Forgets the service with this id: it stopped gracefully.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if the driver needs the row
    /// and it is gone; [`ErrorKind::Store`](crate::ErrorKind::Store).
    fn forget<'a>(
        &'a self,
        records: &'a dyn ServiceRecords,
        id: i64,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// How a heartbeat logs losing its store and getting it back.
    fn outage_texts(&self) -> OutageTexts;

    /// Notifications that the liveness of some service may have changed, pushed by the
    /// store as it happens, or `None` (the default) when the driver has no such thing
    /// and whoever wants changes must poll ([`judge`](Self::judge) again).
    ///
    /// A notification carries nothing: it says "list again now". The stream never ends
    /// and never fails; it re-arms itself after a lost connection or an expired session,
    /// and yields once each time it (re-)armed, because the store may have changed while
    /// nobody watched (a watch loses the events of a reconnection). It is lazy: nothing
    /// connects before the first poll, and dropping it releases its connection.
    ///
    /// `zk` watches the service nodes (persistent watches on `/periodic` and on each
    /// topic node, whose children are the services: the reports' writes are not seen) and
    /// `etcd` the service keys (a prefix watch): a killed service's notification comes
    /// when the server expires its session or lease. `db`, `mc` and `redis` have none.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// use periodic::{ServiceGroup, ServiceGroupConfig};
    ///
    /// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
    /// // The `db` driver has no watch: poll.
    /// assert!(group.watch().is_none());
    /// # Ok(()) }
    /// ```
    fn watch(&self) -> Option<BoxStream<'static, ()>> {
        None
    }
}

/// What a heartbeat logs when its store goes away (once) and when it comes back (once):
/// the texts operators of nova and cinder grep for.
///
/// | driver | lost | recovered |
/// |---|---|---|
/// | `db` | ERROR `model server went away` | INFO `Recovered model server connection!` |
/// | `mc` | WARN `Lost connection to memcache server for reporting service status.` | INFO `Recovered connection to memcache server for reporting service status.` |
///
/// ```
/// use periodic::OutageTexts;
///
/// let texts = OutageTexts::new(tracing::Level::WARN, "Lost my store.", "Got it back.");
/// texts.lost("node-1", "my-service", "connection refused"); // one WARN line
/// texts.recovered("node-1", "my-service"); // one INFO line
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutageTexts {
    lost_level: tracing::Level,
    lost: &'static str,
    recovered: &'static str,
}

impl OutageTexts {
    /// `lost` logged at `lost_level` with the error, `recovered` at INFO.
    pub const fn new(
        lost_level: tracing::Level,
        lost: &'static str,
        recovered: &'static str,
    ) -> Self {
        OutageTexts {
            lost_level,
            lost,
            recovered,
        }
    }

    /// Logs the loss, with the service and the error as fields.
    pub fn lost(&self, host: &str, binary: &str, error: &str) {
        let text = self.lost;
        match self.lost_level {
            tracing::Level::ERROR => tracing::error!(%host, %binary, %error, "{text}"),
            tracing::Level::WARN => tracing::warn!(%host, %binary, %error, "{text}"),
            tracing::Level::INFO => tracing::info!(%host, %binary, %error, "{text}"),
            tracing::Level::DEBUG => tracing::debug!(%host, %binary, %error, "{text}"),
            _ => tracing::trace!(%host, %binary, %error, "{text}"),
        }
    }

    /// Logs the recovery at INFO.
    pub fn recovered(&self, host: &str, binary: &str) {
        let text = self.recovered;
        tracing::info!(%host, %binary, "{text}");
    }
}
