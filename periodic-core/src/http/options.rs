//! `ApiServerOptions` and `ApiAuth`: where the API listens and who may write.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The address the API binds to by default: `127.0.0.1:8774`, nova's compute API port on
/// loopback.
///
/// ```
/// assert_eq!(periodic::DEFAULT_API_BIND.to_string(), "127.0.0.1:8774");
/// ```
pub const DEFAULT_API_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8774);

/// Who may call the API: the auth model of [`ApiServer`](crate::ApiServer).
///
/// | | reads (`GET`) | writes (`PUT`, `DELETE`) |
/// |---|---|---|
/// | [`ReadOnly`](Self::ReadOnly) (default) | open | refused: 403 saying how to enable them |
/// | [`Token`](Self::Token) | open on loopback; elsewhere the token (except `/healthz`) | the token: 401 without it or with a wrong one |
/// | [`InsecureNoAuth`](Self::InsecureNoAuth) | open | open |
///
/// The token is sent as OpenStack clients do, `X-Auth-Token: TOKEN`, or as
/// `Authorization: Bearer TOKEN`.
///
/// A non-loopback address is refused unless a token is set or `InsecureNoAuth` is chosen
/// on purpose.
///
/// ```
/// use periodic::{ApiAuth, ApiServerOptions};
///
/// let options = ApiServerOptions::default().auth(ApiAuth::Token("s3cret".into()));
/// assert_eq!(format!("{:?}", options.auth_mode()), "Token(\"***\")");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiAuth {
    /// No token: reads only. Writes answer 403.
    #[default]
    ReadOnly,
    /// Writes, and reads on a non-loopback address, need this token.
    Token(String),
    /// Everything is open to anyone who can reach the address. For tests and for networks
    /// that are protected otherwise.
    InsecureNoAuth,
}

impl fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiAuth::ReadOnly => f.write_str("ReadOnly"),
            ApiAuth::Token(_) => f.debug_tuple("Token").field(&"***").finish(),
            ApiAuth::InsecureNoAuth => f.write_str("InsecureNoAuth"),
        }
    }
}

/// How an [`ApiServer`](crate::ApiServer) listens and answers: the address, the
/// [auth model](ApiAuth) and the store timeouts.
///
/// ```
/// use std::time::Duration;
/// use periodic::{ApiAuth, ApiServerOptions};
///
/// let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap())
///     .auth(ApiAuth::InsecureNoAuth)
///     .store_timeout(Duration::from_secs(5));
/// assert_eq!(options.bind_addr().port(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerOptions {
    pub(crate) bind: SocketAddr,
    pub(crate) auth: ApiAuth,
    pub(crate) store_timeout: Duration,
    pub(crate) scrape_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// The default of [`ApiServerOptions::header_read_timeout`]: 10 s.
const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`ApiServerOptions::max_connections`]: 4096.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;

impl Default for ApiServerOptions {
    fn default() -> Self {
        ApiServerOptions::new(DEFAULT_API_BIND)
    }
}

impl ApiServerOptions {
    /// Listen on `bind` (port 0: any free port, see
    /// [`ApiServer::local_addr`](crate::ApiServer::local_addr)), read-only, with a 10 s
    /// store timeout for `/os-services`, 2 s for the store queries of `/metrics` and
    /// `/healthz`, 5 s for requests in flight at shutdown, 10 s to read a request's
    /// headers, and at most 4096 connections at once.
    pub fn new(bind: SocketAddr) -> Self {
        ApiServerOptions {
            bind,
            auth: ApiAuth::ReadOnly,
            store_timeout: Duration::from_secs(10),
            scrape_timeout: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(5),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// How long a connection may take to send a request's headers (default 10 s); it is
    /// closed after. The clock starts when
    /// the server waits for a request: at accept, and after each answer of a kept-alive
    /// connection, so this is also the idle timeout. A client that opens connections and
    /// never finishes its headers (slowloris) holds each of them this long at most.
    /// Zero is taken as one millisecond.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The most connections served at once (default 4096; at least 1). When they are all taken, new connections wait in the listen backlog
    /// until one closes, and a warning is logged once each time the cap is reached.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// The auth model (default [`ApiAuth::ReadOnly`]).
    #[must_use]
    pub fn auth(mut self, auth: ApiAuth) -> Self {
        self.auth = auth;
        self
    }

    /// How long an `/os-services` request may wait for the store before it answers 503
    /// (default 10 s).
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
        self
    }

    /// How long `/metrics` waits for the store's service list, and `/healthz` of a
    /// standalone server for the store, before giving up (default 2 s): a slow store
    /// cannot hang a scrape.
    #[must_use]
    pub fn scrape_timeout(mut self, timeout: Duration) -> Self {
        self.scrape_timeout = timeout;
        self
    }

    /// How long a graceful shutdown waits for requests in flight before it drops them
    /// (default 5 s).
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The address to bind.
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
    }

    /// The auth model.
    pub fn auth_mode(&self) -> &ApiAuth {
        &self.auth
    }
}
