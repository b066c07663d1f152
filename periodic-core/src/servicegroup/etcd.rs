//! The `etcd` liveness driver: each joined service holds an etcd lease with a TTL of
//! `service_down_time` and a key `/periodic/<topic>/<host>` attached to it; it is up while
//! the key exists. The heartbeat keeps the lease alive every `report_interval` (at most a
//! third of the TTL after nova's 2.5× rule, give or take); when the process dies the
//! server expires the lease and deletes the key, so etcd judges, with its own clock,
//! as Kubernetes judges nodes by their Lease objects. The services table stays in the
//! group's store, as with `mc`.
//!
//! Each report also measures the service's [clock skew](crate::ClockSkew) against etcd's
//! clock, which only etcd's HTTP `Date` header tells (`etcd_clock.rs`), and the key holds
//! the service's own time and that skew. The key is rewritten only when its lease is new
//! or the skew moved by more than [`SKEW_STEP`] (etcd's clock resolution), not at every
//! report: every write is a revision etcd keeps until it is compacted (3.4 does not
//! compact by default), and 5,000 services writing every 10 s would add 43 million a
//! day. `service list --long` shows the skew, the key's lease id (in hex, as `etcdctl
//! lease` takes it) and the key's revision.
//!
//! A lease that expired (the process was stopped for longer than the TTL, or etcd lost
//! it) is replaced by a new lease and key at the next report, logged once each way. A
//! stopped heartbeat ([`Heartbeat::stop`]) leaves the lease to expire, as a `kill -9`
//! would; a graceful stop ([`ServiceGroup::leave`](crate::ServiceGroup::leave)) deletes
//! the key: down at once.
//!
//! The client is [`etcd-client`](https://crates.io/crates/etcd-client): the maintained
//! etcd v3 client of the Rust ecosystem, on tonic (gRPC over tokio), with lease
//! keep-alive streams. It builds etcd's protobuf files with `protoc`.

#![cfg(feature = "etcd")]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use etcd_client::{Client, ConnectOptions, GetOptions, PutOptions};
use futures::future::BoxFuture;
use tokio::sync::Mutex;

use super::config::{ServiceGroupConfig, WallClock};
use super::etcd_clock::{self, EtcdClock};
use super::heartbeat::{self, Beat, Beaten, ReportLoop};
use super::liveness::{Liveness, OutageTexts};
use super::membership::{Heartbeat, JoinOptions};
use super::record::{DownReason, NewService, ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::shared::{Fetched, epoch_us, not_found, path_segment};
use super::skew::ClockSkew;
use crate::error::{Error, ErrorKind};

/// In the words of the `mc` driver, with the store named.
const TEXTS: OutageTexts = OutageTexts::new(
    tracing::Level::WARN,
    "Lost connection to etcd for reporting service status.",
    "Recovered connection to etcd for reporting service status.",
);

/// Logged (WARN) when a service's lease is found expired: it was down meanwhile.
const LEASE_EXPIRED: &str = "The etcd lease of this service expired (the process was stopped or \
     cut off for longer than its TTL): it showed down; making a new lease.";
/// Logged (INFO) when a new lease holds the service's key again.
const LEASE_RENEWED: &str = "A new etcd lease holds this service's key: it shows up again.";

/// How far the skew must move before a report rewrites the key.
const SKEW_STEP: Duration = Duration::from_secs(1);

/// The prefix of the service keys.
const ROOT: &str = "/periodic/";

/// The `etcd` driver.
#[derive(Debug)]
pub(crate) struct Etcd {
    config: ServiceGroupConfig,
    /// The group's own connection, for `judge`, `report` and `forget`.
    conn: Arc<Conn>,
    /// etcd's clock, for the skew of a `report`.
    probe: Option<EtcdClock>,
}

/// Opens the `etcd` driver: checks that endpoints are configured; connects lazily.
pub(crate) fn open(
    config: &ServiceGroupConfig,
) -> BoxFuture<'static, Result<Arc<dyn Liveness>, Error>> {
    let driver = Conn::new(config).map(|conn| {
        Arc::new(Etcd {
            config: config.clone(),
            probe: EtcdClock::new(&config.etcd_endpoints, conn.op_timeout / 2),
            conn: Arc::new(conn),
        }) as Arc<dyn Liveness>
    });
    Box::pin(async move { driver })
}

impl Liveness for Etcd {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn join(
        &self,
        records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> BoxFuture<'_, Result<Heartbeat, Error>> {
        let config = self.config.clone();
        let clock = self.config.clock.clone();
        let spec = ReportLoop::new(
            &self.config,
            service,
            options,
            records.on_tokio_clock(),
            TEXTS,
            // A connection of its own, opened on the runtime the heartbeat runs on.
            Box::new(move |_dedicated| {
                Box::pin(async move {
                    let conn = Conn::new(&config)?;
                    let probe = EtcdClock::new(&config.etcd_endpoints, conn.op_timeout / 2);
                    Ok(Box::new(LeaseBeat {
                        conn,
                        clock,
                        probe,
                        held: Mutex::new(None),
                        expired: std::sync::atomic::AtomicBool::new(false),
                    }) as Box<dyn Beat>)
                })
            }),
        );
        Box::pin(async move { heartbeat::start(spec) })
    }

    fn report<'a>(
        &'a self,
        _records: &'a dyn ServiceRecords,
        service: &'a ServiceRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        // One report keeps the service up for one TTL, as one `mc` key does: a lease of
        // its own that nobody keeps alive.
        Box::pin(async move {
            let key = key(&service.topic, &service.host);
            let probe = async {
                match &self.probe {
                    Some(probe) => probe.skew(&self.config.clock).await,
                    None => None,
                }
            };
            // etcd's clock is read beside the grant, not before it.
            let (skew, lease) = tokio::join!(probe, self.conn.grant());
            let lease = lease?;
            self.conn
                .put(&key, service.id, self.config.clock.now(), lease, skew)
                .await
        })
    }

    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, Result<Vec<ServiceStatus>, Error>> {
        Box::pin(async move {
            let down_time = self.config.service_down_time;
            let mut topics: Vec<&str> = rows.iter().map(|f| f.record.topic.as_str()).collect();
            topics.sort_unstable();
            topics.dedup();
            // One range read per topic.
            let mut present = std::collections::HashMap::new();
            for topic in topics {
                present.extend(
                    self.conn
                        .keys(&format!("{ROOT}{}/", path_segment(topic)))
                        .await?,
                );
            }
            Ok(rows
                .into_iter()
                .map(|f| {
                    let found = present.get(&key(&f.record.topic, &f.record.host));
                    let down_reason = DownReason::from_record(&f.record)
                        .or(found.is_none().then_some(DownReason::NoHeartbeat));
                    let updated = f.record.updated_at;
                    ServiceStatus::new(f.record, down_reason, None, down_time, updated)
                        .with_clock_skew(found.and_then(|k| k.skew))
                        .with_membership(
                            found.map(|k| format!("lease {:x} rev {}", k.lease, k.revision)),
                        )
                })
                .collect())
        })
    }

    fn forget<'a>(
        &'a self,
        records: &'a dyn ServiceRecords,
        id: i64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let record = records.get(id).await?.ok_or_else(|| not_found(id))?.record;
            self.conn.delete(&key(&record.topic, &record.host)).await
        })
    }

    fn outage_texts(&self) -> OutageTexts {
        TEXTS
    }

    fn watch(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        Some(super::etcd_watch::changes(&self.config, ROOT))
    }
}

/// The key of a service.
fn key(topic: &str, host: &str) -> String {
    format!("{ROOT}{}/{}", path_segment(topic), path_segment(host))
}

/// A service's key as `list` finds it.
#[derive(Debug, Clone, Copy)]
struct KeyState {
    lease: i64,
    revision: i64,
    skew: Option<ClockSkew>,
}

/// An `etcd` report: keeps the service's lease alive, or makes a new lease when there is
/// none or it expired, and writes the key with the service's time and skew.
struct LeaseBeat {
    conn: Conn,
    clock: WallClock,
    /// etcd's clock, for the skew (`None`: no HTTP client could be built).
    probe: Option<EtcdClock>,
    /// While the lease lives: its id and the skew the key holds.
    held: Mutex<Option<(i64, Option<ClockSkew>)>>,
    /// The lease was found expired, and no new one holds the key yet.
    expired: std::sync::atomic::AtomicBool,
}

impl Beat for LeaseBeat {
    fn beat<'a>(
        &'a self,
        id: i64,
        service: &'a NewService,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Beaten, Error>> {
        Box::pin(async move {
            let key = key(&service.topic, &service.host);
            let mut held = self.held.lock().await;
            let probe = async {
                match &self.probe {
                    Some(probe) => probe.skew(&self.clock).await,
                    None => None,
                }
            };
            // etcd's clock is read beside the keep-alive, not after it.
            let (skew, alive) = match *held {
                Some((lease, written)) => {
                    let (skew, alive) = tokio::join!(probe, self.conn.keep_alive(lease));
                    let alive = alive?;
                    if !alive {
                        // Expired: the key went with it. Said once here, once when a new
                        // lease holds the key.
                        tracing::warn!(host = %service.host, binary = %service.binary, lease, "{LEASE_EXPIRED}");
                        self.expired
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    (skew, alive.then_some((lease, written)))
                }
                None => (probe.await, None),
            };
            let Some((lease, written)) = alive else {
                // None yet, or expired (the key went with it).
                *held = None;
                let lease = self.conn.grant().await?;
                self.conn.put(&key, id, now, lease, skew).await?;
                *held = Some((lease, skew));
                if self
                    .expired
                    .swap(false, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::info!(host = %service.host, binary = %service.binary, lease, "{LEASE_RENEWED}");
                }
                return Ok(Beaten::skew(skew));
            };
            let moved = match (written, skew) {
                (Some(was), Some(is)) => {
                    ClockSkew::from_micros(is.as_micros() - was.as_micros()).exceeds(SKEW_STEP)
                }
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if moved {
                self.conn.put(&key, id, now, lease, skew).await?;
                *held = Some((lease, skew));
            }
            Ok(Beaten::skew(skew))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // The lease is left to expire, so a stopped heartbeat looks like a dead process.
        Box::pin(async {})
    }
}

/// A connection to the etcd cluster, opened on first use.
struct Conn {
    endpoints: Vec<String>,
    ttl_secs: i64,
    connect_timeout: Duration,
    op_timeout: Duration,
    /// Never held across an await.
    client: std::sync::Mutex<Option<Client>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("endpoints", &self.endpoints)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Conn {
    fn new(config: &ServiceGroupConfig) -> Result<Conn, Error> {
        if config.etcd_endpoints.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the `etcd` servicegroup driver needs etcd endpoints (etcd_endpoints, e.g. \
                 127.0.0.1:2379)",
            ));
        }
        // etcd's TTLs are whole seconds: round up, so a service is never down early.
        let down = config.service_down_time;
        let secs = down.as_secs() + u64::from(down.subsec_nanos() > 0);
        Ok(Conn {
            endpoints: config.etcd_endpoints.clone(),
            ttl_secs: i64::try_from(secs.max(1)).unwrap_or(i64::MAX),
            connect_timeout: config.connect_timeout,
            op_timeout: config.effective_heartbeat_timeout(),
            client: std::sync::Mutex::new(None),
        })
    }

    fn failed(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("etcd `{}`: {what} failed", self.endpoints.join(",")),
        )
    }

    /// The client (a gRPC channel that reconnects by itself), made on first use.
    async fn client(&self) -> Result<Client, Error> {
        if let Some(client) = self.cached().as_ref() {
            return Ok(client.clone());
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.op_timeout);
        let connect = Client::connect(&self.endpoints, Some(options));
        let client = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(self.failed("connect").with_source(e)),
            Err(_) => {
                return Err(self.failed("connect").with_source(format!(
                    "no connection within {:.1} s",
                    self.connect_timeout.as_secs_f64()
                )));
            }
        };
        *self.cached() = Some(client.clone());
        Ok(client)
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Option<Client>> {
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Awaits one request within the operation timeout. A request that fails, or is
    /// abandoned (the heartbeat's own timeout cancelled it), drops the client, so the
    /// next one starts from a fresh connection rather than wait on a channel that may
    /// still hold a dead one.
    async fn within<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, Error> {
        /// Drops the cached client unless disarmed.
        struct Reset<'a>(Option<&'a Conn>);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                if let Some(conn) = self.0 {
                    conn.cached().take();
                }
            }
        }
        let mut reset = Reset(Some(self));
        match tokio::time::timeout(self.op_timeout, request).await {
            Ok(Ok(value)) => {
                reset.0 = None;
                Ok(value)
            }
            Ok(Err(e)) => Err(self.failed(what).with_source(e)),
            Err(_) => Err(self.failed(what).with_source(format!(
                "timed out after {:.1} s",
                self.op_timeout.as_secs_f64()
            ))),
        }
    }

    /// A new lease of `service_down_time`.
    async fn grant(&self) -> Result<i64, Error> {
        let mut client = self.client().await?;
        let granted = self
            .within("lease grant", client.lease_grant(self.ttl_secs, None))
            .await?;
        Ok(granted.id())
    }

    /// One keep-alive of `lease`; `false` when it has expired. (Opening the keep-alive
    /// stream sends one request and reads its answer, which is all a report needs.)
    async fn keep_alive(&self, lease: i64) -> Result<bool, Error> {
        let mut client = self.client().await?;
        let expired = |e: &etcd_client::Error| matches!(e, etcd_client::Error::LeaseKeepAliveError(m) if m == "lease not found");
        let answer = self
            .within("lease keep-alive", async {
                match client.lease_keep_alive(lease).await {
                    Err(e) if expired(&e) => Ok(false),
                    other => other.map(|_| true),
                }
            })
            .await?;
        Ok(answer)
    }

    /// Puts the service's key on `lease`, with its id, its own time and its skew.
    async fn put(
        &self,
        key: &str,
        id: i64,
        now: SystemTime,
        lease: i64,
        skew: Option<ClockSkew>,
    ) -> Result<(), Error> {
        let mut client = self.client().await?;
        let value = etcd_clock::value(id, epoch_us(now), skew);
        let options = PutOptions::new().with_lease(lease);
        self.within("put", client.put(key, value, Some(options)))
            .await
            .map(drop)
    }

    /// Deletes a service's key; a missing key is fine.
    async fn delete(&self, key: &str) -> Result<(), Error> {
        let mut client = self.client().await?;
        self.within("delete", client.delete(key, None))
            .await
            .map(drop)
    }

    /// The keys under `prefix`, with their lease, revision and skew.
    async fn keys(&self, prefix: &str) -> Result<Vec<(String, KeyState)>, Error> {
        let mut client = self.client().await?;
        let options = GetOptions::new().with_prefix();
        let found = self
            .within("range", client.get(prefix, Some(options)))
            .await?;
        Ok(found
            .kvs()
            .iter()
            .map(|kv| {
                let state = KeyState {
                    lease: kv.lease(),
                    revision: kv.mod_revision(),
                    skew: etcd_clock::skew_in(kv.value()),
                };
                (String::from_utf8_lossy(kv.key()).into_owned(), state)
            })
            .collect())
    }
}
