//! The `zk` driver's [watch](crate::Liveness::watch): a persistent recursive watch on
//! `/periodic` (ZooKeeper 3.6 and later), on a session of its own.
//!
//! A service node created or deleted (a service joined, its session expired, it left)
//! is one notification; the reports' data writes are not. The watch is re-armed by
//! the server for as long as the session lives, so nothing is missed between two
//! events; what a reconnection loses (ZOOKEEPER-4698) is covered by one notification
//! when the connection is back, and an expired session by a new session and watch,
//! followed by one notification too.
//!
//! ```text
//! arm ── notify ── created ── notify ── data ── (skipped) ── deleted ── notify
//!   disconnected ······ connected ── notify (resync)     expired ── arm again ── notify
//! ```

#![cfg(feature = "zookeeper")]

use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use zookeeper_client as zk;

use super::config::ServiceGroupConfig;

/// The longest wait between two attempts to arm the watch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// The notifications of changes under `root`.
pub(super) fn changes(config: &ServiceGroupConfig, root: &'static str) -> BoxStream<'static, ()> {
    let watch = Watch {
        servers: config.zookeeper_servers.join(","),
        session_timeout: config.service_down_time.max(Duration::from_secs(1)),
        connect_timeout: config.connect_timeout,
        root,
        armed: None,
        backoff: MIN_BACKOFF,
        failing: false,
    };
    futures::stream::unfold(watch, |mut watch| async move {
        watch.next().await;
        Some(((), watch))
    })
    .boxed()
}

struct Watch {
    servers: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    root: &'static str,
    /// The session (kept for as long as the watch is) and its watcher.
    armed: Option<(zk::Client, zk::PersistentWatcher)>,
    backoff: Duration,
    /// Whether the last attempt to arm failed (logged once).
    failing: bool,
}

impl Watch {
    /// Returns at the next notification.
    async fn next(&mut self) {
        loop {
            let Some((_, watcher)) = self.armed.as_mut() else {
                match self.arm().await {
                    Ok(armed) => {
                        self.armed = Some(armed);
                        self.backoff = MIN_BACKOFF;
                        if std::mem::take(&mut self.failing) {
                            tracing::info!(servers = %self.servers, "ZooKeeper watch armed again");
                        }
                        // Anything may have changed while nothing watched.
                        return;
                    }
                    Err(error) => {
                        if !std::mem::replace(&mut self.failing, true) {
                            tracing::warn!(servers = %self.servers, %error, "cannot arm the ZooKeeper watch, retrying");
                        }
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            };
            let event = watcher.changed().await;
            match event.event_type {
                zk::EventType::NodeCreated | zk::EventType::NodeDeleted => return,
                zk::EventType::NodeDataChanged | zk::EventType::NodeChildrenChanged => {}
                zk::EventType::Session => {
                    if event.session_state.is_terminated() {
                        // The watcher must not be polled again (it panics): a new
                        // session and watch, then a resync.
                        self.armed = None;
                    } else if event.session_state == zk::SessionState::SyncConnected {
                        // Back after a connection loss: events in between may be lost.
                        return;
                    }
                }
            }
        }
    }

    /// A new session with the watch on it.
    async fn arm(&self) -> Result<(zk::Client, zk::PersistentWatcher), String> {
        let connect = zk::Client::connector()
            .with_session_timeout(self.session_timeout)
            .with_connection_timeout(self.connect_timeout)
            .with_fail_eagerly()
            .connect(&self.servers);
        let client = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| "no session in time".to_owned())?
            .map_err(|e| e.to_string())?;
        let watcher = tokio::time::timeout(
            self.connect_timeout,
            client.watch(self.root, zk::AddWatchMode::PersistentRecursive),
        )
        .await
        .map_err(|_| "no answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
        Ok((client, watcher))
    }
}
