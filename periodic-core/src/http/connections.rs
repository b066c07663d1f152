//! The API's accept loop: hyper's HTTP/1 connections with a header-read timeout (which is
//! also the idle timeout of a kept-alive connection) and a cap on connections at once.
//!
//! `axum::serve` sets neither: 21,000 loopback connections that each sent a partial
//! request and waited starved `/healthz`, and some stayed open for minutes. Here each
//! connection holds a permit of a semaphore of
//! [`max_connections`](super::ApiServerOptions::max_connections); at the cap the loop
//! stops accepting (new connections wait in the kernel's backlog) and logs once, and a
//! connection that has not sent its headers within
//! [`header_read_timeout`](super::ApiServerOptions::header_read_timeout) is closed by
//! hyper. Written by hand because neither axum nor hyper-util offers this loop with
//! these two limits; it is hyper-util's `serve_connection` per connection.
//!
//! ```text
//! accept ── headers ≤ header_read_timeout ── answer ── next headers ≤ header_read_timeout ...
//!   └─ permit held ──────────────────────────────────────────────────────── closed: permit back
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` is cancelled; then stops accepting, lets
/// each connection finish its request in flight (idle ones close at once) and returns
/// when they all have.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let full = Arc::new(AtomicBool::new(false));
    let connections = TaskTracker::new();
    loop {
        if permits.available_permits() == 0 && !full.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max_connections = limits.max_connections,
                "HTTP API: {} connections open, the most allowed; new connections wait \
                 until one closes",
                limits.max_connections
            );
        }
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of
                    // spinning, as hyper's and axum's loops do.
                    tracing::warn!(error = %e, "HTTP API: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        if permits.available_permits() > 0 {
            full.store(false, Ordering::Relaxed);
        }
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let shutdown = shutdown.clone();
        let timeout = limits.header_read_timeout;
        connections.spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "HTTP API connection ended");
                    }
                }
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}
