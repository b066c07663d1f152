//! The `mc` liveness driver: nova's `mc.py` on memcached. A heartbeat sets the key
//! `topic:host` with a TTL of `service_down_time`; a service is up while its key exists,
//! so memcached's own expiry judges. The services table stays in the group's store.
//!
//! The client is [`async-memcached`](https://crates.io/crates/async-memcached) (Shopify's
//! tokio-native ASCII-protocol client). It was picked over `memcache-async` (runtime
//! agnostic, but no multi-get with per-key results and little activity) and the sync
//! `memcache` crate (would need `spawn_blocking` for every call, a poor fit for a
//! heartbeat that must fail fast): it is maintained, speaks tokio directly, has a
//! pipelined multi-get (`get_multi`, one round trip for a batch of keys, which `list`
//! needs at 50,000 services) and `set` with a TTL. Its `Client` is one connection used
//! through `&mut`, so each server gets a few connections behind async mutexes; a
//! connection that fails is dropped and reopened on next use.
//!
//! # Clock skew
//!
//! A memcached write returns no time and a key has no readable write time, so the only
//! clock memcached shows is the `time` of `stats` (whole seconds). Each report first
//! asks the key's server for `stats` and estimates the service's [clock
//! skew](crate::ClockSkew) from the middle of that request against the middle of the
//! server's second (within half a second plus half the round trip), then writes it into
//! the key's value beside the service's time (`<epoch µs> <skew µs>`), where `list`
//! finds it. A `stats` that fails leaves the skew out; the heartbeat goes on.

#![cfg(feature = "memcached")]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_memcached::{AsciiProtocol as _, Client, Status};
use futures::future::BoxFuture;
use tokio::sync::{Mutex, MutexGuard};

use super::config::{ServiceGroupConfig, WallClock};
use super::heartbeat::{self, Beat, Beaten, ReportLoop};
use super::liveness::{Liveness, OutageTexts};
use super::membership::{Heartbeat, JoinOptions};
use super::record::{DownReason, NewService, ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::shared::{Fetched, epoch_us, from_epoch_us, not_found};
use super::skew::ClockSkew;
use crate::error::{Error, ErrorKind};

/// nova's texts (`nova/servicegroup/drivers/mc.py`).
const TEXTS: OutageTexts = OutageTexts::new(
    tracing::Level::WARN,
    "Lost connection to memcache server for reporting service status.",
    "Recovered connection to memcache server for reporting service status.",
);

/// The `mc` driver.
#[derive(Debug)]
pub(crate) struct Memcached {
    config: ServiceGroupConfig,
    client: McClient,
}

/// Opens the `mc` driver: checks that servers are configured; connects lazily.
pub(crate) fn open(
    config: &ServiceGroupConfig,
) -> BoxFuture<'static, Result<Arc<dyn Liveness>, Error>> {
    let driver = McClient::new(config).map(|client| {
        Arc::new(Memcached {
            config: config.clone(),
            client,
        }) as Arc<dyn Liveness>
    });
    Box::pin(async move { driver })
}

impl Liveness for Memcached {
    fn name(&self) -> &'static str {
        "mc"
    }

    fn join(
        &self,
        records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> BoxFuture<'_, Result<Heartbeat, Error>> {
        let (config, shared) = (self.config.clone(), self.client.clone());
        let clock = self.config.clock.clone();
        let spec = ReportLoop::new(
            &self.config,
            service,
            options,
            records.on_tokio_clock(),
            TEXTS,
            Box::new(move |dedicated| {
                Box::pin(async move {
                    // On its own thread the heartbeat opens connections of its own.
                    let client = if dedicated {
                        McClient::new(&config)?
                    } else {
                        shared
                    };
                    Ok(Box::new(KeyBeat { client, clock }) as Box<dyn Beat>)
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
        let key = mc_key(&service.topic, &service.host);
        Box::pin(async move {
            // A one-off report is not worth a second round trip: the skew rides along
            // with the joined service's reports only.
            self.client
                .set_heartbeat(&key, self.config.clock.now(), None)
                .await
        })
    }

    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, Result<Vec<ServiceStatus>, Error>> {
        Box::pin(async move {
            let down_time = self.config.service_down_time;
            let keys: Vec<String> = rows
                .iter()
                .map(|f| mc_key(&f.record.topic, &f.record.host))
                .collect();
            let values = self.client.get_heartbeats(&keys).await?;
            Ok(rows
                .into_iter()
                .zip(keys)
                .map(|(f, key)| {
                    let value = values.get(&key);
                    judge(
                        f,
                        value.is_some(),
                        value.copied().unwrap_or_default(),
                        down_time,
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
            self.client
                .delete(&mc_key(&record.topic, &record.host))
                .await
        })
    }

    fn outage_texts(&self) -> OutageTexts {
        TEXTS
    }
}

/// nova's `mc` driver: up ⇔ the key exists; `updated_time` is the newer of the key's
/// value and the row's `updated_at` (LP#1647269).
fn judge(
    f: Fetched,
    key_exists: bool,
    (mc_time, skew): (Option<SystemTime>, Option<ClockSkew>),
    service_down_time: Duration,
) -> ServiceStatus {
    let down_reason =
        DownReason::from_record(&f.record).or((!key_exists).then_some(DownReason::NoHeartbeat));
    let updated_time = match (mc_time, f.record.updated_at) {
        (Some(mc), Some(db)) if db > mc => Some(db),
        (Some(mc), _) => Some(mc),
        (None, db) => db,
    };
    ServiceStatus::new(f.record, down_reason, None, service_down_time, updated_time)
        .with_clock_skew(skew)
}

/// nova's memcached key: `topic:host`.
fn mc_key(topic: &str, host: &str) -> String {
    format!("{topic}:{host}")
}

/// An `mc` report: the key with the writer's time and the TTL.
struct KeyBeat {
    client: McClient,
    clock: WallClock,
}

impl Beat for KeyBeat {
    fn beat<'a>(
        &'a self,
        _id: i64,
        service: &'a NewService,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Beaten, Error>> {
        let key = mc_key(&service.topic, &service.host);
        Box::pin(async move {
            let skew = self.client.skew(&key, &self.clock).await;
            self.client.set_heartbeat(&key, now, skew).await?;
            Ok(Beaten::skew(skew))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // Connections close when the client is dropped.
        Box::pin(async {})
    }
}

/// Connections per memcached server.
const CONNECTIONS: usize = 4;
/// Keys per `get` command.
const BATCH: usize = 100;

/// Heartbeat keys in memcached: `topic:host` → the writer's time (epoch microseconds),
/// with a TTL of `service_down_time`.
#[derive(Debug, Clone)]
struct McClient {
    servers: Arc<[Server]>,
    ttl: i64,
    connect_timeout: Duration,
    op_timeout: Duration,
}

struct Server {
    dsn: String,
    conns: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("dsn", &self.dsn)
            .finish_non_exhaustive()
    }
}

impl McClient {
    /// A client for the configured servers; connects lazily.
    fn new(config: &ServiceGroupConfig) -> Result<McClient, Error> {
        if config.memcached_servers.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the `mc` servicegroup driver needs memcached servers (memcached_servers, \
                 e.g. 127.0.0.1:11211)",
            ));
        }
        let servers = config
            .memcached_servers
            .iter()
            .map(|s| {
                let dsn = if s.contains("://") {
                    s.clone()
                } else {
                    format!("tcp://{s}")
                };
                Server {
                    dsn,
                    conns: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
                    next: AtomicUsize::new(0),
                }
            })
            .collect();
        let down = config.service_down_time;
        let ttl = down.as_secs() + u64::from(down.subsec_nanos() > 0);
        Ok(McClient {
            servers,
            ttl: i64::try_from(ttl.max(1)).unwrap_or(i64::MAX),
            connect_timeout: config.connect_timeout,
            op_timeout: config.effective_heartbeat_timeout(),
        })
    }

    /// The server that holds `key`: FNV-1a of the key, stable across processes, so every
    /// process picks the same server.
    fn server_index(&self, key: &str) -> usize {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        usize::try_from(hash % self.servers.len() as u64).unwrap_or(0)
    }

    fn server_for(&self, key: &str) -> &Server {
        &self.servers[self.server_index(key)]
    }

    /// A connection of `server`, opened if needed.
    async fn checkout<'a>(
        &self,
        server: &'a Server,
    ) -> Result<MutexGuard<'a, Option<Client>>, Error> {
        let i = server.next.fetch_add(1, Ordering::Relaxed) % server.conns.len();
        let mut guard = server.conns[i].lock().await;
        if guard.is_none() {
            let client = tokio::time::timeout(self.connect_timeout, Client::new(&server.dsn))
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Store,
                        format!(
                            "cannot connect to memcached `{}` within {:.1} s",
                            server.dsn,
                            self.connect_timeout.as_secs_f64()
                        ),
                    )
                })?
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Store,
                        format!("cannot connect to memcached `{}`", server.dsn),
                    )
                    .with_source(e)
                })?;
            *guard = Some(client);
        }
        Ok(guard)
    }

    /// Runs `op` on a connection of `server` within the operation timeout; a connection
    /// that fails is dropped.
    async fn with_conn<T>(
        &self,
        server: &Server,
        what: &str,
        op: impl AsyncFnOnce(&mut Client) -> Result<T, async_memcached::Error>,
    ) -> Result<T, Error> {
        let mut guard = self.checkout(server).await?;
        let Some(client) = guard.as_mut() else {
            unreachable!("checkout returns an open connection")
        };
        let result = tokio::time::timeout(self.op_timeout, op(client)).await;
        let failed = |source: Option<async_memcached::Error>| {
            let e = Error::new(
                ErrorKind::Store,
                format!("memcached `{}`: {what} failed", server.dsn),
            );
            match source {
                Some(source) => e.with_source(source),
                None => e.with_source(format!(
                    "timed out after {:.1} s",
                    self.op_timeout.as_secs_f64()
                )),
            }
        };
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                *guard = None;
                Err(failed(Some(e)))
            }
            Err(_) => {
                *guard = None;
                Err(failed(None))
            }
        }
    }

    /// The skew of `clock` against the `time` of the `stats` of `key`'s server (see the
    /// module docs); `None` if `stats` fails.
    async fn skew(&self, key: &str, clock: &WallClock) -> Option<ClockSkew> {
        let sent = clock.now();
        let stats = self
            .with_conn(self.server_for(key), "stats", async |c: &mut Client| {
                c.stats().await
            })
            .await
            .ok()?;
        let received = clock.now();
        let secs = stats.get("time")?.trim().parse::<u64>().ok()?;
        let server =
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(500);
        let host = sent + received.duration_since(sent).unwrap_or_default() / 2;
        Some(ClockSkew::between(host, server))
    }

    /// nova's `_report_state`: `set(key, now)` with the TTL, and the skew when known.
    async fn set_heartbeat(
        &self,
        key: &str,
        now: SystemTime,
        skew: Option<ClockSkew>,
    ) -> Result<(), Error> {
        let value = match skew {
            Some(skew) => format!("{} {}", epoch_us(now), skew.as_micros()),
            None => epoch_us(now).to_string(),
        };
        let ttl = self.ttl;
        self.with_conn(
            self.server_for(key),
            "heartbeat",
            async move |c: &mut Client| c.set(key, value.as_str(), Some(ttl), None).await,
        )
        .await
    }

    /// Deletes the key (a graceful stop); a missing key is fine.
    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.with_conn(
            self.server_for(key),
            "delete",
            async move |c: &mut Client| match c.delete(key).await {
                Err(async_memcached::Error::Protocol(Status::NotFound)) => Ok(()),
                other => other,
            },
        )
        .await
    }

    /// The keys that exist, each with the time and skew it holds (`None` if it is not
    /// ours): batches of [`BATCH`] keys per `get`, several batches in flight per server.
    async fn get_heartbeats(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, (Option<SystemTime>, Option<ClockSkew>)>, Error> {
        let mut per_server: HashMap<usize, Vec<&str>> = HashMap::new();
        for key in keys {
            per_server
                .entry(self.server_index(key))
                .or_default()
                .push(key);
        }
        let batches: Vec<(usize, Vec<&str>)> = per_server
            .into_iter()
            .flat_map(|(index, keys)| {
                keys.chunks(BATCH)
                    .map(|chunk| (index, chunk.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect();
        // Built into a Vec first (no closure inside the future), so the future stays
        // `Send` for any lifetime; the connections' mutexes bound the concurrency.
        let fetches: Vec<_> = batches
            .into_iter()
            .map(|(index, batch)| self.fetch_batch(index, batch))
            .collect();
        let found = futures::future::try_join_all(fetches).await?;
        Ok(found
            .into_iter()
            .flatten()
            .map(|value| {
                let text = value
                    .data
                    .as_deref()
                    .and_then(|d| std::str::from_utf8(d).ok());
                let mut fields = text.unwrap_or_default().split_whitespace();
                let time = fields
                    .next()
                    .and_then(|t| t.parse::<i64>().ok())
                    .map(from_epoch_us);
                let skew = fields
                    .next()
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(ClockSkew::from_micros);
                (
                    String::from_utf8_lossy(&value.key).into_owned(),
                    (time, skew),
                )
            })
            .collect())
    }
}

impl McClient {
    async fn fetch_batch(
        &self,
        index: usize,
        batch: Vec<&str>,
    ) -> Result<Vec<async_memcached::Value>, Error> {
        self.with_conn(
            &self.servers[index],
            "multi-get",
            async move |c: &mut Client| match c.get_multi(&batch).await {
                Err(async_memcached::Error::Protocol(Status::NotFound)) => Ok(Vec::new()),
                other => other,
            },
        )
        .await
    }
}
