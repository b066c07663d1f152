//! The `zk` driver's [watch](crate::Liveness::watch): persistent watches (ZooKeeper 3.6
//! and later) on `/periodic` and on each topic node `/periodic/<topic>`, on a session of
//! its own.
//!
//! A service node created or deleted under a topic (a service joined, its session
//! expired, it left) changes the topic's children: one notification. The reports' data
//! writes into the service nodes are not watched at all (a recursive watch would carry
//! one event per report of every service: 500 a second for 5,000 services reporting
//! every 10 s). A new topic changes the children of `/periodic`: its watch is added,
//! and one notification. The server keeps persistent watches armed for as long as the
//! session lives, so nothing is missed between two events; what a reconnection loses
//! (ZOOKEEPER-4698) is covered by one notification when the connection is back, and an
//! expired session by a new session and watches, followed by one notification too.
//!
//! ```text
//! arm ── notify ── child created ── notify ── data written (not watched) ── child deleted ── notify
//!   disconnected ······ connected ── notify (resync)     expired ── arm again ── notify
//! ```

#![cfg(feature = "zookeeper")]

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::{BoxStream, SelectAll};
use zookeeper_client as zk;

use super::config::ServiceGroupConfig;

/// The longest wait between two attempts to arm the watch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// The notifications of changes under `root`.
pub(super) fn changes(config: &ServiceGroupConfig, root: &'static str) -> BoxStream<'static, ()> {
    let watch = Watch {
        at: Target {
            servers: config.zookeeper_servers.join(","),
            session_timeout: config.service_down_time.max(Duration::from_secs(1)),
            connect_timeout: config.connect_timeout,
            root,
        },
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
    at: Target,
    armed: Option<Armed>,
    backoff: Duration,
    /// Whether the last attempt to arm failed (logged once).
    failing: bool,
}

/// What to watch, and how to connect.
struct Target {
    servers: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    root: &'static str,
}

/// A session with its watches.
struct Armed {
    /// Kept for as long as the watches are.
    client: zk::Client,
    /// The events of every watch.
    events: SelectAll<BoxStream<'static, zk::WatchedEvent>>,
    /// The topic nodes watched.
    topics: HashSet<String>,
}

/// A watcher's events, up to and including a terminal session event (after which
/// polling the watcher would panic).
fn events(watcher: zk::PersistentWatcher) -> BoxStream<'static, zk::WatchedEvent> {
    futures::stream::unfold(Some(watcher), |watcher| async move {
        let mut watcher = watcher?;
        let event = watcher.changed().await;
        let ended =
            event.event_type == zk::EventType::Session && event.session_state.is_terminated();
        Some((event, (!ended).then_some(watcher)))
    })
    .boxed()
}

impl Watch {
    /// Returns at the next notification.
    async fn next(&mut self) {
        loop {
            let Some(armed) = self.armed.as_mut() else {
                match self.at.arm().await {
                    Ok(armed) => {
                        self.armed = Some(armed);
                        self.backoff = MIN_BACKOFF;
                        if std::mem::take(&mut self.failing) {
                            tracing::info!(servers = %self.at.servers, "ZooKeeper watch armed again");
                        }
                        // Anything may have changed while nothing watched.
                        return;
                    }
                    Err(error) => {
                        if !std::mem::replace(&mut self.failing, true) {
                            tracing::warn!(servers = %self.at.servers, %error, "cannot arm the ZooKeeper watch, retrying");
                        }
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            };
            let Some(event) = armed.events.next().await else {
                self.armed = None;
                continue;
            };
            match event.event_type {
                zk::EventType::NodeDataChanged => {}
                zk::EventType::Session => {
                    if event.session_state.is_terminated() {
                        // A new session and watches, then a resync.
                        self.armed = None;
                    } else if event.session_state == zk::SessionState::SyncConnected {
                        // Back after a connection loss: events in between may be lost.
                        return;
                    }
                }
                // The root's children: a topic came (or the root itself did).
                _ if event.path == self.at.root => {
                    if let Err(error) = self.at.watch_topics(armed).await {
                        tracing::debug!(%error, "cannot watch the new ZooKeeper topics");
                        self.armed = None;
                    }
                    return;
                }
                // A topic's children: a service node came or went.
                zk::EventType::NodeChildrenChanged
                | zk::EventType::NodeCreated
                | zk::EventType::NodeDeleted => return,
            }
        }
    }
}

impl Target {
    /// A new session with the watches on it.
    async fn arm(&self) -> Result<Armed, String> {
        let connect = zk::Client::connector()
            .with_session_timeout(self.session_timeout)
            .with_connection_timeout(self.connect_timeout)
            .with_fail_eagerly()
            .connect(&self.servers);
        let client = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| "no session in time".to_owned())?
            .map_err(|e| e.to_string())?;
        let root = self.within(client.watch(self.root, zk::AddWatchMode::Persistent));
        let mut armed = Armed {
            events: SelectAll::new(),
            topics: HashSet::new(),
            client: client.clone(),
        };
        armed.events.push(events(root.await?));
        self.watch_topics(&mut armed).await?;
        Ok(armed)
    }

    /// Adds a watch on each topic node not watched yet (the root's watch is armed first,
    /// so a topic created meanwhile calls this again).
    async fn watch_topics(&self, armed: &mut Armed) -> Result<(), String> {
        let listed =
            tokio::time::timeout(self.connect_timeout, armed.client.list_children(self.root))
                .await
                .map_err(|_| "no answer in time".to_owned())?;
        let topics = match listed {
            Ok(topics) => topics,
            // No service ever joined: the root's watch says when one does.
            Err(zk::Error::NoNode) => Vec::new(),
            Err(e) => return Err(e.to_string()),
        };
        for topic in topics {
            if armed.topics.contains(&topic) {
                continue;
            }
            let path = format!("{}/{topic}", self.root);
            let watcher = self
                .within(armed.client.watch(&path, zk::AddWatchMode::Persistent))
                .await?;
            armed.events.push(events(watcher));
            armed.topics.insert(topic);
        }
        Ok(())
    }

    /// Awaits one request within the connection timeout.
    async fn within<T>(
        &self,
        request: impl Future<Output = Result<T, zk::Error>>,
    ) -> Result<T, String> {
        tokio::time::timeout(self.connect_timeout, request)
            .await
            .map_err(|_| "no answer in time".to_owned())?
            .map_err(|e| e.to_string())
    }
}
