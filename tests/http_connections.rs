//! The HTTP API's connection limits, over real loopback sockets: connections that never
//! finish their headers (slowloris) are closed within the header-read timeout and do not
//! starve `/healthz`; at the connection cap new connections wait, and the server says so.
//!
//! ```text
//! 0 s: 3,000 connections send "GET /healthz HTTP/1.1\r\nHost: x\r\n" and wait
//!      /healthz on a new connection: answered at once (< 1 s)
//! 2 s: header_read_timeout: the server closes each of the 3,000
//! ```
#![cfg(feature = "http")]

mod http_support;
mod support;

use std::time::{Duration, Instant};

use http_support::Api;
use periodic::{ApiServer, ApiServerOptions, ServiceGroup, ServiceGroupConfig};
use support::Logs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PARTIAL: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

async fn server(options: ApiServerOptions) -> ApiServer {
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    ApiServer::start(group, options).await.unwrap()
}

fn options() -> ApiServerOptions {
    ApiServerOptions::new("127.0.0.1:0".parse().unwrap())
}

/// Opens a connection and sends the start of a request, never its end.
async fn partial(server: &ApiServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(PARTIAL).await.unwrap();
    stream
}

/// Waits for the server to close `stream`: true when it did before `deadline`.
async fn closed_by(mut stream: TcpStream, deadline: tokio::time::Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {} // an error answer (408) before the close
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_headers_do_not_starve_healthz_and_are_closed_in_time() {
    let timeout = Duration::from_secs(2);
    let server = server(options().header_read_timeout(timeout)).await;
    let opened = tokio::time::Instant::now();
    let mut held = Vec::new();
    for _ in 0..3000 {
        held.push(partial(&server).await);
    }

    let api = Api::new(server.local_addr());
    let asked = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), api.get("/healthz"))
        .await
        .expect("/healthz answers");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "/healthz took {:?} with 3,000 partial connections held",
        asked.elapsed()
    );

    // Each one is closed within the header timeout (plus scheduling slack), counted from
    // when the first was opened.
    let deadline = opened + timeout + Duration::from_secs(3);
    let closed = futures::future::join_all(held.into_iter().map(|s| closed_by(s, deadline))).await;
    let open = closed.iter().filter(|c| !**c).count();
    assert_eq!(
        open, 0,
        "{open} of 3,000 connections still open after {timeout:?} + 3 s"
    );

    // And the server still answers (a new client: the first one's kept-alive connection
    // was idle longer than the timeout, so the server closed it too).
    let api = Api::new(server.local_addr());
    assert_eq!(api.get("/healthz").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_and_it_is_logged() {
    let logs = Logs::capture();
    let timeout = Duration::from_secs(1);
    let server = server(options().header_read_timeout(timeout).max_connections(2)).await;
    let first = partial(&server).await;
    let second = partial(&server).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A third client is accepted only once a held connection is closed by its timeout.
    let api = Api::new(server.local_addr());
    let asked = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), api.get("/healthz"))
        .await
        .expect("/healthz answers once a connection is freed");
    assert_eq!(answer.status, 200);
    assert!(
        asked.elapsed() >= Duration::from_millis(500),
        "answered after {:?}: the cap did not hold",
        asked.elapsed()
    );
    assert_eq!(
        logs.containing("connections open, the most allowed").len(),
        1,
        "one warning when the cap is reached"
    );
    drop((first, second));
    server.shutdown().await.unwrap();
}
