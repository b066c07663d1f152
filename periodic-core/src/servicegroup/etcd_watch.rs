//! The `etcd` driver's [watch](crate::Liveness::watch): a prefix watch on the service
//! keys, on a connection of its own.
//!
//! Every response that carries events (a key put: a service joined or made a new lease;
//! a key deleted: its lease expired, or it left) is one notification. A lost stream (the
//! server restarted, the connection died: HTTP/2 keep-alives find a silent one) is
//! watched again from now, followed by one notification, since the events in between
//! are not replayed.
//!
//! ```text
//! arm ── created ── notify ── put ── notify ── delete (lease expired) ── notify
//!   stream lost ······ arm again ── created ── notify (resync)
//! ```

#![cfg(feature = "etcd")]

use std::time::Duration;

use etcd_client::{Client, ConnectOptions, WatchOptions, WatchStream};
use futures::StreamExt as _;
use futures::stream::BoxStream;

use super::config::ServiceGroupConfig;

/// The longest wait between two attempts to arm the watch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// HTTP/2 pings on the watch's connection: a dead server is noticed within about both.
const KEEP_ALIVE: Duration = Duration::from_secs(2);

/// The notifications of changes under `prefix`.
pub(super) fn changes(config: &ServiceGroupConfig, prefix: &'static str) -> BoxStream<'static, ()> {
    let watch = Watch {
        endpoints: config.etcd_endpoints.clone(),
        connect_timeout: config.connect_timeout,
        prefix,
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
    endpoints: Vec<String>,
    connect_timeout: Duration,
    prefix: &'static str,
    /// The connection (kept for as long as the watch is) and its stream.
    armed: Option<(Client, WatchStream)>,
    backoff: Duration,
    /// Whether the last attempt to arm failed (logged once).
    failing: bool,
}

impl Watch {
    /// Returns at the next notification.
    async fn next(&mut self) {
        loop {
            let Some((_, stream)) = self.armed.as_mut() else {
                match self.arm().await {
                    Ok(armed) => {
                        self.armed = Some(armed);
                        self.backoff = MIN_BACKOFF;
                        if std::mem::take(&mut self.failing) {
                            tracing::info!(endpoints = %self.endpoints.join(","), "etcd watch armed again");
                        }
                        // Anything may have changed while nothing watched.
                        return;
                    }
                    Err(error) => {
                        if !std::mem::replace(&mut self.failing, true) {
                            tracing::warn!(endpoints = %self.endpoints.join(","), %error, "cannot arm the etcd watch, retrying");
                        }
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            };
            match stream.message().await {
                Ok(Some(response)) if response.canceled() => self.armed = None,
                Ok(Some(response)) if !response.events().is_empty() => return,
                // The answer to the watch request, or a progress notice.
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => self.armed = None,
            }
        }
    }

    /// A new connection with the watch on it (answered: the watch exists).
    async fn arm(&self) -> Result<(Client, WatchStream), String> {
        // No request timeout: it would end the watch stream.
        let options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_keep_alive(KEEP_ALIVE, KEEP_ALIVE)
            .with_keep_alive_while_idle(true);
        let armed = async {
            let mut client = Client::connect(&self.endpoints, Some(options)).await?;
            let mut stream = client
                .watch(self.prefix, Some(WatchOptions::new().with_prefix()))
                .await?;
            // The server's answer to the watch request.
            let created = stream.message().await?;
            Ok::<_, etcd_client::Error>((client, stream, created))
        };
        match tokio::time::timeout(self.connect_timeout, armed).await {
            Err(_) => Err("no answer in time".to_owned()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok((_, _, None))) => Err("the watch stream ended at once".to_owned()),
            Ok(Ok((client, stream, Some(_)))) => Ok((client, stream)),
        }
    }
}
