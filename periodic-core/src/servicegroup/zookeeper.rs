//! The `zk` liveness driver: nova's ZooKeeper driver, brought back. Each joined service
//! holds a ZooKeeper session and an ephemeral znode `/periodic/<topic>/<host>`; it is up
//! while the node exists. The server judges: when the process dies (`kill -9`, a lost
//! host) its session stops pinging and the server deletes the node after the session
//! timeout, which derives from `service_down_time` (the server clamps it to its own
//! `minSessionTimeout..maxSessionTimeout`, by default 2 to 20 ticks). No host clock is
//! involved. The services table stays in the group's store, as with `mc`.
//!
//! Every `report_interval` the heartbeat also writes the service's own wall-clock time
//! into its node (one small write): that counts the reports, shows when the service last
//! answered (the node's `mtime`, stamped by the ZooKeeper server), and recreates the node
//! when someone deleted it. The node's `mtime` against the time in its data is the
//! service's [clock skew](crate::ClockSkew), known to the service at each report (the
//! write returns the node's `Stat`) and to `list` (which reads each node). `service list
//! --long` also shows the node's owner session and version. A session that expired (the process was stopped for longer
//! than the timeout, or the server lost it) is replaced by a new session and node at the
//! next report, logged once each way; never a crash.
//!
//! A service's session is *detached*: stopping its heartbeat ([`Heartbeat::stop`]) stops
//! the pings without closing the session, so the service goes down when the session
//! times out, as a `kill -9` would and as `mc`'s key expires. A graceful stop
//! ([`ServiceGroup::leave`](crate::ServiceGroup::leave)) deletes the node: down at once.
//!
//! The client is [`zookeeper-client`](https://crates.io/crates/zookeeper-client)
//! (kezhuw's pure-Rust, async client): maintained, speaks ZooKeeper 3.4 to 3.9, runs on
//! tokio, handles pings and reconnection within a session itself, and needs no C library.
//! nova's driver died with its client library (evzookeeper, LP#1443910); the older Rust
//! `zookeeper` crate is synchronous and unmaintained.

#![cfg(feature = "zookeeper")]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use tokio::sync::Mutex;
use zookeeper_client as zk;

use super::config::ServiceGroupConfig;
use super::heartbeat::{self, Beat, Beaten, ReportLoop};
use super::liveness::{Liveness, OutageTexts};
use super::membership::{Heartbeat, JoinOptions};
use super::record::{DownReason, NewService, ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::shared::{Fetched, epoch_us, from_epoch_us, not_found, path_segment};
use super::skew::ClockSkew;
use crate::error::{Error, ErrorKind};

/// In the words of the `mc` driver, with the store named.
const TEXTS: OutageTexts = OutageTexts::new(
    tracing::Level::WARN,
    "Lost connection to ZooKeeper for reporting service status.",
    "Recovered connection to ZooKeeper for reporting service status.",
);

/// Logged (WARN) when a service's session is found expired: it was down meanwhile.
const SESSION_EXPIRED: &str = "The ZooKeeper session of this service expired (the process was \
     stopped or cut off for longer than the session timeout): it showed down; opening a new \
     session.";
/// Logged (INFO) when the new session holds the service's node again.
const SESSION_RENEWED: &str =
    "A new ZooKeeper session holds this service's node: it shows up again.";

/// The root of the service nodes.
const ROOT: &str = "/periodic";

/// The `zk` driver.
#[derive(Debug)]
pub(crate) struct ZooKeeper {
    config: ServiceGroupConfig,
    /// The group's own session, for `judge` and `forget`.
    session: Arc<Session>,
}

/// Opens the `zk` driver: checks that servers are configured; connects lazily.
pub(crate) fn open(
    config: &ServiceGroupConfig,
) -> BoxFuture<'static, Result<Arc<dyn Liveness>, Error>> {
    let driver = Session::new(config, false).map(|session| {
        Arc::new(ZooKeeper {
            config: config.clone(),
            session: Arc::new(session),
        }) as Arc<dyn Liveness>
    });
    Box::pin(async move { driver })
}

impl Liveness for ZooKeeper {
    fn name(&self) -> &'static str {
        "zk"
    }

    fn join(
        &self,
        records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> BoxFuture<'_, Result<Heartbeat, Error>> {
        let config = self.config.clone();
        let spec = ReportLoop::new(
            &self.config,
            service,
            options,
            records.on_tokio_clock(),
            TEXTS,
            // Each joined service has a session of its own, opened on the runtime the
            // heartbeat runs on: the client's ping task lives there.
            Box::new(move |_dedicated| {
                Box::pin(async move {
                    let session = Session::new(&config, true)?;
                    Ok(Box::new(NodeBeat { session }) as Box<dyn Beat>)
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
        // One report keeps the service up for one session timeout, as one `mc` key does
        // for its TTL: a detached session of its own, dropped at once, holds the node.
        Box::pin(async move {
            let session = Session::new(&self.config, true)?;
            let touched = session
                .touch(
                    service.id,
                    &NewService::from(service),
                    self.config.clock.now(),
                )
                .await;
            session.close().await;
            touched.map(drop)
        })
    }

    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, Result<Vec<ServiceStatus>, Error>> {
        Box::pin(async move {
            let down_time = self.config.service_down_time;
            let client = self.session.client().await?;
            // Issued at once, answered in order on one connection: one round trip.
            let reads: Vec<_> = rows
                .iter()
                .map(|f| {
                    let read = client.get_data(&node(&f.record.topic, &f.record.host));
                    async move {
                        match read.await {
                            Ok(found) => Ok(Some(found)),
                            Err(zk::Error::NoNode) => Ok(None),
                            Err(e) => Err(e),
                        }
                    }
                })
                .collect();
            let nodes = self
                .session
                .within("read", futures::future::try_join_all(reads))
                .await?;
            Ok(rows
                .into_iter()
                .zip(nodes)
                .map(|(f, found)| judge(f, found.as_ref(), down_time))
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
            let client = self.session.client().await?;
            let path = node(&record.topic, &record.host);
            match self
                .session
                .within("delete", client.delete(&path, None))
                .await
            {
                Err(e) if no_node(&e) => Ok(()),
                other => other,
            }
        })
    }

    fn outage_texts(&self) -> OutageTexts {
        TEXTS
    }

    fn watch(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        Some(super::zookeeper_watch::changes(&self.config, ROOT))
    }
}

/// Up ⇔ the node exists. `updated_time` is the node's `mtime` (the ZooKeeper server's
/// time of the last report), or the row's `updated_at` if newer; the skew is the
/// service's time in the node's data minus its `mtime`.
fn judge(
    f: Fetched,
    found: Option<&(Vec<u8>, zk::Stat)>,
    service_down_time: Duration,
) -> ServiceStatus {
    let down_reason =
        DownReason::from_record(&f.record).or(found.is_none().then_some(DownReason::NoHeartbeat));
    let mtime = found.map(|(_, stat)| server_time(stat));
    let skew = found.and_then(|(data, stat)| {
        host_time(data).map(|host| ClockSkew::between(host, server_time(stat)))
    });
    let membership = found.map(|(_, stat)| {
        format!(
            "session {:#x} version {}",
            stat.ephemeral_owner, stat.version
        )
    });
    let updated_time = match (mtime, f.record.updated_at) {
        (Some(zk), Some(db)) if db > zk => Some(db),
        (Some(zk), _) => Some(zk),
        (None, db) => db,
    };
    ServiceStatus::new(f.record, down_reason, None, service_down_time, updated_time)
        .with_clock_skew(skew)
        .with_membership(membership)
}

/// The ZooKeeper server's time of a node's last write.
fn server_time(stat: &zk::Stat) -> SystemTime {
    from_epoch_us(stat.mtime.saturating_mul(1000))
}

/// The service's time in a node's data (`<id> <epoch µs>`).
fn host_time(data: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(data).ok()?;
    let us = text.split_whitespace().nth(1)?.parse::<i64>().ok()?;
    Some(from_epoch_us(us))
}

/// The node of a service.
fn node(topic: &str, host: &str) -> String {
    format!("{ROOT}/{}/{}", path_segment(topic), path_segment(host))
}

/// A `zk` report: the service's time into its node, creating it if needed.
struct NodeBeat {
    session: Session,
}

impl Beat for NodeBeat {
    fn beat<'a>(
        &'a self,
        id: i64,
        service: &'a NewService,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Beaten, Error>> {
        Box::pin(async move {
            let skew = self.session.touch(id, service, now).await?;
            Ok(Beaten::skew(skew))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // The session is detached: dropping the client stops the pings without closing
        // it, and the server deletes the node when the session times out.
        Box::pin(self.session.close())
    }
}

/// One ZooKeeper session, opened on first use and replaced when it expired.
struct Session {
    servers: String,
    timeout: Duration,
    connect_timeout: Duration,
    op_timeout: Duration,
    /// Left open on the server when dropped (a joined service's session).
    detached: bool,
    client: Mutex<Option<zk::Client>>,
    /// Set when [`client`](Self::client) replaced an expired session, until a report
    /// says so.
    expired: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("servers", &self.servers)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(config: &ServiceGroupConfig, detached: bool) -> Result<Session, Error> {
        if config.zookeeper_servers.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the `zk` servicegroup driver needs ZooKeeper servers (zookeeper_servers, \
                 e.g. 127.0.0.1:2181)",
            ));
        }
        Ok(Session {
            servers: config.zookeeper_servers.join(","),
            timeout: config.service_down_time.max(Duration::from_secs(1)),
            connect_timeout: config.connect_timeout,
            op_timeout: config.effective_heartbeat_timeout(),
            detached,
            client: Mutex::new(None),
            expired: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn failed(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("ZooKeeper `{}`: {what} failed", self.servers),
        )
    }

    /// The live client, or a new session if there is none or it ended (expired, closed).
    async fn client(&self) -> Result<zk::Client, Error> {
        let mut current = self.client.lock().await;
        if let Some(client) = current.as_ref() {
            let state = client.state();
            if !state.is_terminated() {
                return Ok(client.clone());
            }
            if state == zk::SessionState::Expired {
                self.expired
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let connector = zk::Client::connector()
            .with_session_timeout(self.timeout)
            .with_connection_timeout(self.connect_timeout)
            .with_fail_eagerly();
        let connector = if self.detached {
            connector.with_detached()
        } else {
            connector
        };
        let connect = connector.connect(&self.servers);
        let client = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(self.failed("connect").with_source(e)),
            Err(_) => {
                return Err(self.failed("connect").with_source(format!(
                    "no session within {:.1} s",
                    self.connect_timeout.as_secs_f64()
                )));
            }
        };
        if client.session_timeout() != self.timeout {
            tracing::debug!(
                servers = %self.servers,
                asked = ?self.timeout,
                granted = ?client.session_timeout(),
                "the ZooKeeper server set another session timeout"
            );
        }
        *current = Some(client.clone());
        Ok(client)
    }

    /// Awaits one request within the operation timeout.
    async fn within<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, zk::Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.op_timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.failed(what).with_source(e)),
            Err(_) => Err(self.failed(what).with_source(format!(
                "timed out after {:.1} s",
                self.op_timeout.as_secs_f64()
            ))),
        }
    }

    /// Writes the service's time into its node; creates the node (and its parents) when
    /// it is missing, and replaces it when another session owns it (a previous process
    /// of this service whose session has not expired yet). Returns the skew of `now`
    /// against the server's time of the write (`None` when another process of the service
    /// created the node in between).
    async fn touch(
        &self,
        id: i64,
        service: &NewService,
        now: SystemTime,
    ) -> Result<Option<ClockSkew>, Error> {
        let client = self.client().await?;
        // A session that expired is said once when it is found, once when its
        // replacement holds the node.
        let renewed = self
            .expired
            .swap(false, std::sync::atomic::Ordering::Relaxed);
        if renewed {
            tracing::warn!(host = %service.host, binary = %service.binary, "{SESSION_EXPIRED}");
        }
        let touched = self.touch_on(&client, id, service, now).await;
        if renewed {
            if touched.is_ok() {
                tracing::info!(host = %service.host, binary = %service.binary, "{SESSION_RENEWED}");
            } else {
                // Said again by the next report that holds the node.
                self.expired
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        touched
    }

    async fn touch_on(
        &self,
        client: &zk::Client,
        id: i64,
        service: &NewService,
        now: SystemTime,
    ) -> Result<Option<ClockSkew>, Error> {
        let path = node(&service.topic, &service.host);
        let data = format!("{id} {}", epoch_us(now));
        let ours = client.session_id().0;
        match self
            .within("report", client.set_data(&path, data.as_bytes(), None))
            .await
        {
            Ok(stat) if stat.ephemeral_owner == ours => {
                return Ok(Some(ClockSkew::between(now, server_time(&stat))));
            }
            Ok(stat) => {
                match self
                    .within("delete", client.delete(&path, Some(stat.version)))
                    .await
                {
                    Err(e) if !no_node(&e) => return Err(e),
                    _ => {}
                }
            }
            Err(e) if no_node(&e) => {}
            Err(e) => return Err(e),
        }
        let parent = &path[..path.rfind('/').unwrap_or(path.len())];
        let dir = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        self.within("mkdir", client.mkdir(parent, &dir)).await?;
        let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
        match self
            .within("create", client.create(&path, data.as_bytes(), &ephemeral))
            .await
        {
            Ok((stat, _)) => Ok(Some(ClockSkew::between(now, server_time(&stat)))),
            // Another process of the same service created it in between: the next
            // report replaces it.
            Err(e) if zk_said(&e, &zk::Error::NodeExists) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Drops the client. An attached session closes (the server deletes its ephemeral
    /// nodes at once; waited for, bounded); a detached one times out on the server.
    async fn close(&self) {
        let Some(client) = self.client.lock().await.take() else {
            return;
        };
        if !self.detached {
            let mut state = client.state_watcher();
            drop(client);
            let closed = async {
                while !state.peek_state().is_terminated() {
                    state.changed().await;
                }
            };
            let _ = tokio::time::timeout(self.op_timeout, closed).await;
        }
    }
}

/// Whether `error` came from ZooKeeper saying exactly `expected`.
fn zk_said(error: &Error, expected: &zk::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|s| s.downcast_ref::<zk::Error>())
        .is_some_and(|e| e == expected)
}

fn no_node(error: &Error) -> bool {
    zk_said(error, &zk::Error::NoNode)
}
