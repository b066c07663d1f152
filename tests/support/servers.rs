//! The real servers of the driver tests: which to use (or skip), a scratch database per
//! test, and a TCP proxy that plays a store outage.
//!
//! The rule: if `PERIODIC_TEST_POSTGRES_URL` (`..._MYSQL_URL`, `PERIODIC_TEST_MEMCACHED`,
//! `PERIODIC_TEST_REDIS_URL`, `PERIODIC_TEST_ZOOKEEPER`, `PERIODIC_TEST_ETCD`)
//! is set, the server must be reachable, and a failure is a test failure. If it is unset,
//! the default local server is tried; if it is unreachable the test prints `skipped:
//! <driver> tests: <why>` to stderr and returns, so `cargo test` on a machine without
//! servers still passes and says what it skipped.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::unique;

/// A server kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MySql,
    Memcached,
    Redis,
    ZooKeeper,
    Etcd,
}

impl Kind {
    fn env(self) -> &'static str {
        match self {
            Kind::Postgres => "PERIODIC_TEST_POSTGRES_URL",
            Kind::MySql => "PERIODIC_TEST_MYSQL_URL",
            Kind::Memcached => "PERIODIC_TEST_MEMCACHED",
            Kind::Redis => "PERIODIC_TEST_REDIS_URL",
            Kind::ZooKeeper => "PERIODIC_TEST_ZOOKEEPER",
            Kind::Etcd => "PERIODIC_TEST_ETCD",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Kind::MySql => "mysql://root@127.0.0.1:3306/test",
            Kind::Memcached => "127.0.0.1:11211",
            Kind::Redis => "redis://127.0.0.1:6379",
            Kind::ZooKeeper => "127.0.0.1:2181",
            Kind::Etcd => "127.0.0.1:2379",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::MySql => "mysql",
            Kind::Memcached => "memcached",
            Kind::Redis => "redis",
            Kind::ZooKeeper => "zookeeper",
            Kind::Etcd => "etcd",
        }
    }
}

/// The server's URL (memcached: `host:port`), or `None` after printing why the tests are
/// skipped.
pub async fn server(kind: Kind) -> Option<String> {
    let (url, required) = match std::env::var(kind.env()) {
        Ok(url) if !url.is_empty() => (url, true),
        _ => (kind.default_url().to_owned(), false),
    };
    let reachable = match kind {
        Kind::Postgres => sqlx::PgConnection::connect(&url)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Kind::MySql => sqlx::MySqlConnection::connect(&url)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Kind::Memcached | Kind::ZooKeeper | Kind::Etcd => TcpStream::connect(&url)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Kind::Redis => TcpStream::connect(addr_of(&url, 6379).await)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
    };
    match reachable {
        Ok(()) => Some(url),
        Err(e) if required => panic!("{} is set but {url} is unreachable: {e}", kind.env()),
        Err(e) => {
            // Once per test binary, and through the stderr handle rather than
            // `eprintln!`, which the test harness captures for passing tests.
            static SAID: [AtomicBool; 6] = [const { AtomicBool::new(false) }; 6];
            if !SAID[kind as usize].swap(true, Ordering::Relaxed) {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: {} tests: {} is unset and {url} is unreachable ({e})",
                    kind.name(),
                    kind.env()
                );
            }
            None
        }
    }
}

/// A database of its own for one test: `periodic_test_<pid>_<n>`, dropped by
/// [`ScratchDb::drop_db`] (and, if a test panicked before that, by the next run, which
/// drops the scratch databases of processes that are gone).
pub struct ScratchDb {
    pub url: String,
    admin_url: String,
    name: String,
    kind: Kind,
}

impl ScratchDb {
    /// A fresh database on the server `kind`, or `None` if its tests are skipped.
    pub async fn create(kind: Kind) -> Option<ScratchDb> {
        let admin_url = server(kind).await?;
        let name = unique("periodic_test").replace('-', "_");
        let stmt = format!("CREATE DATABASE {name}");
        match kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT datname::text FROM pg_database WHERE datname LIKE 'periodic_test_%'",
                )
                .fetch_all(&mut c)
                .await
                .unwrap();
                for name in names.iter().filter(|n| stale(n)) {
                    drop_database(kind, &admin_url, name).await;
                }
                sqlx::raw_sql(&stmt).execute(&mut c).await.unwrap();
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&admin_url).await.unwrap();
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
                     WHERE schema_name LIKE 'periodic_test_%'",
                )
                .fetch_all(&mut c)
                .await
                .unwrap();
                for name in names.iter().filter(|n| stale(n)) {
                    drop_database(kind, &admin_url, name).await;
                }
                sqlx::raw_sql(&stmt).execute(&mut c).await.unwrap();
            }
            Kind::Memcached | Kind::Redis | Kind::ZooKeeper | Kind::Etcd => {
                unreachable!("{kind:?} has no databases")
            }
        }
        let url = with_database(&admin_url, &name);
        Some(ScratchDb {
            url,
            admin_url,
            name,
            kind,
        })
    }

    /// A login that may only read the scratch database's tables, as a read-only operator
    /// has (created now, dropped with the database): its URL. Call it after the tables
    /// exist.
    pub async fn read_only_user(&self) -> String {
        let user = format!("{}_ro", self.name);
        match self.kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                let stmt = format!(
                    "CREATE ROLE {user} LOGIN PASSWORD 'ro'; \
                     GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}"
                );
                sqlx::raw_sql(&stmt).execute(&mut c).await.unwrap();
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                let stmt = format!(
                    "CREATE USER '{user}'@'%' IDENTIFIED BY 'ro'; \
                     GRANT SELECT ON {}.* TO '{user}'@'%'",
                    self.name
                );
                sqlx::raw_sql(&stmt).execute(&mut c).await.unwrap();
            }
            Kind::Memcached | Kind::Redis | Kind::ZooKeeper | Kind::Etcd => {
                unreachable!("{:?} has no databases", self.kind)
            }
        }
        let (scheme, rest) = self.url.split_once("://").unwrap();
        let authority = rest.split('/').next().unwrap();
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        format!("{scheme}://{user}:ro@{host}/{}", self.name)
    }

    /// Drops the database.
    pub async fn drop_db(self) {
        drop_database(self.kind, &self.admin_url, &self.name).await;
    }
}

async fn drop_database(kind: Kind, admin_url: &str, name: &str) {
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url).await.unwrap();
            // Two statements: DROP DATABASE cannot run in the implicit transaction of one.
            let stmt = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::raw_sql(&stmt).execute(&mut c).await.unwrap();
            // Best effort: two tests may drop a stale one at once.
            let stmt = format!("DROP ROLE IF EXISTS {name}_ro");
            let _ = sqlx::raw_sql(&stmt).execute(&mut c).await;
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url).await.unwrap();
            let stmt = format!("DROP DATABASE IF EXISTS {name}");
            sqlx::raw_sql(&stmt).execute(&mut c).await.unwrap();
            // Best effort: two tests may drop a stale one at once.
            let stmt = format!("DROP USER IF EXISTS '{name}_ro'@'%'");
            let _ = sqlx::raw_sql(&stmt).execute(&mut c).await;
        }
        Kind::Memcached | Kind::Redis | Kind::ZooKeeper | Kind::Etcd => {}
    }
}

/// Ends every other session on the database of `url`, as a server restart does: the
/// pooled connections of the code under test die while idle (PostgreSQL sends them
/// "terminating connection due to administrator command", MariaDB "Connection was
/// killed").
pub async fn kill_sessions(kind: Kind, url: &str) {
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .execute(&mut c)
            .await
            .unwrap();
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            let ids: Vec<u64> = sqlx::query_scalar(
                "SELECT CAST(id AS UNSIGNED) FROM information_schema.processlist \
                 WHERE db = DATABASE() AND id <> CONNECTION_ID()",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            for id in ids {
                // A session may end by itself meanwhile.
                let _ = sqlx::raw_sql(&format!("KILL {id}")).execute(&mut c).await;
            }
        }
        Kind::Memcached | Kind::Redis | Kind::ZooKeeper | Kind::Etcd => {}
    }
}

/// Whether the scratch database `name` belongs to a test process that is gone.
fn stale(name: &str) -> bool {
    let pid = name
        .strip_prefix("periodic_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    match pid {
        Some(pid) => {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        None => false,
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    format!("{scheme}://{authority}/{name}")
}

/// `url` pointing at `addr` instead of its host and port.
pub fn with_addr(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!("{scheme}://{}{addr}/{path}", userinfo.unwrap_or_default())
}

/// The `host:port` of `url` (or of a bare `host:port`), resolved.
pub async fn addr_of(url: &str, default_port: u16) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:{default_port}")
    };
    tokio::net::lookup_host(hostport)
        .await
        .unwrap()
        .next()
        .unwrap()
}

/// A TCP forwarder on 127.0.0.1 in front of a server: [`stop`](Self::stop) closes the
/// listener and every connection (the store "goes away"), [`start`](Self::start) listens
/// again on the same port.
pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// A running proxy to `target`.
    pub async fn new(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            target,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target, Arc::clone(&self.tasks));
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let pump = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pump);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every forwarded connection.
    pub fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn start(&self) {
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A path for an SQLite file of one test, removed (with its `-wal` and `-shm`) on drop.
pub struct TempDb(pub PathBuf);

impl TempDb {
    pub fn new() -> TempDb {
        TempDb(std::env::temp_dir().join(format!("{}.db", unique("periodic-test"))))
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}
