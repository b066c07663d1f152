//! The services table in an SQL database, on sqlx: SQLite, PostgreSQL and
//! MySQL/MariaDB, each behind its own feature, with embedded migrations per dialect.
//!
//! Queries are checked at run time (`sqlx::query`, not `query!`): no database is needed to
//! build the crate. One body of code serves the three pools through [`on_pool!`], which
//! expands it once per pool type. A statement whose pooled connection died while idle (a
//! server restart) is retried on the next one (`lost.rs`).

#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod dialect;
mod lost;
mod probe;
mod url;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::TryStreamExt as _;
use futures::future::BoxFuture;
use sqlx::Row as _;

use self::dialect::{Dialect, Queries};
use self::url::SqlUrl;
use super::config::ServiceGroupConfig;
use super::record::{NewService, ServiceFilter, ServiceRecord};
use super::records::ServiceRecords;
use super::shared::{Fetched, OpenMode, epoch_us, new_uuid, topic_taken};
use super::skew::ClockSkew;
use crate::error::{Error, ErrorKind};

/// Opens the SQL store at `url` (its scheme is one of the built-in dialects). `Create`
/// makes a missing SQLite file and runs the migrations; `Existing` requires the store and
/// its table.
pub(crate) fn open<'a>(
    url: &'a str,
    config: &'a ServiceGroupConfig,
    mode: OpenMode,
) -> BoxFuture<'a, Result<Arc<dyn ServiceRecords>, Error>> {
    Box::pin(async move {
        let target = SqlUrl::parse(url)?;
        let store = match SqlStore::open(target.clone(), config, mode, Access::ReadWrite).await {
            // An operator who may only read the file (or its directory): open it read-only,
            // so that listing works; a write then fails with SQLite's "attempt to write a
            // readonly database". Immutable when SQLite cannot even make the WAL's shared
            // memory file next to it (a read-only directory and no service running).
            Err(e) if mode == OpenMode::Existing && target.is_sqlite() && read_only(&e) => {
                match SqlStore::open(target.clone(), config, mode, Access::ReadOnly).await {
                    Ok(store) => store,
                    Err(_) => SqlStore::open(target, config, mode, Access::Immutable)
                        .await
                        .map_err(|_| e)?,
                }
            }
            result => result?,
        };
        Ok(Arc::new(store) as Arc<dyn ServiceRecords>)
    })
}

/// How a store is connected to: for a service and admin commands, for the heartbeat, or
/// read-only for an operator who may only read an SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The handle's pool, checked (migrated or its table looked for).
    ReadWrite,
    /// The heartbeat's own lazy connection, no checks.
    Heartbeat,
    /// SQLite, read-only (`mode=ro`), with no journal-mode change.
    ReadOnly,
    /// SQLite, read-only and `immutable=1`: nothing written, not even the WAL's index.
    Immutable,
}

/// Whether opening failed because SQLite could not write the file or next to it.
fn read_only(e: &Error) -> bool {
    let report = e.report();
    report.contains("readonly database") || report.contains("unable to open database file")
}

/// A pool of one of the built-in dialects.
#[derive(Debug, Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$p` bound to the pool, whatever its dialect: the body is compiled
/// once per pool type.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            Pool::Postgres($p) => $body,
            #[cfg(feature = "mysql")]
            Pool::MySql($p) => $body,
        }
    };
}

/// A bind parameter.
#[derive(Debug, Clone, Copy)]
enum Arg<'a> {
    I64(i64),
    Bool(bool),
    Str(&'a str),
    OptStr(Option<&'a str>),
    OptI64(Option<i64>),
}

/// Builds `sqlx::query($sql)` with `$args` bound, for the pool type in scope.
macro_rules! bound_query {
    ($sql:expr, $args:expr) => {{
        let mut q = sqlx::query($sql);
        for arg in $args {
            q = match *arg {
                Arg::I64(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Str(v) => q.bind(v),
                Arg::OptStr(v) => q.bind(v),
                Arg::OptI64(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Decodes a row of `Queries::by_id` and friends, by column index and without sqlx's
/// per-column type check (both measurable when listing 100,000 services): the columns and
/// their types are this module's own (`dialect.rs` and the migrations).
macro_rules! decode {
    ($row:expr) => {{
        let r = $row;
        (|| -> Result<Fetched, sqlx::Error> {
            let last_seen_up = r.epoch_us(11)?;
            let created_at = r
                .epoch_us(12)?
                .ok_or_else(|| sqlx::Error::Decode("services.created_at is NULL".into()))?;
            Ok(Fetched {
                record: ServiceRecord {
                    id: r.try_get_unchecked(0)?,
                    uuid: r.try_get_unchecked(1)?,
                    host: r.try_get_unchecked(2)?,
                    binary: r.try_get_unchecked(3)?,
                    topic: r.try_get_unchecked(4)?,
                    report_count: r.try_get_unchecked(5)?,
                    disabled: r.try_get_unchecked(6)?,
                    disabled_reason: r.try_get_unchecked(7)?,
                    availability_zone: r.try_get_unchecked(8)?,
                    forced_down: r.try_get_unchecked(9)?,
                    stopped: r.try_get_unchecked(10)?,
                    last_seen_up: last_seen_up.map(from_us),
                    created_at: from_us(created_at),
                    updated_at: r.epoch_us(13)?.map(from_us),
                    clock_skew: r
                        .try_get_unchecked::<Option<i64>, _>(15)?
                        .map(ClockSkew::from_micros),
                },
                age: r.epoch_us(14)?.map(|now| {
                    let age = now - last_seen_up.unwrap_or(created_at);
                    Duration::from_micros(u64::try_from(age).unwrap_or(0))
                }),
            })
        })()
    }};
}

mod ledger;

/// Reads a time column of `Queries::by_id` and friends as epoch microseconds: SQLite and
/// MySQL return the number, PostgreSQL its `timestamptz` (see `Dialect::epoch_us`).
trait TimeColumns {
    fn epoch_us(&self, index: usize) -> Result<Option<i64>, sqlx::Error>;
}

#[cfg(feature = "sqlite")]
impl TimeColumns for sqlx::sqlite::SqliteRow {
    fn epoch_us(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get_unchecked(index)
    }
}

#[cfg(feature = "mysql")]
impl TimeColumns for sqlx::mysql::MySqlRow {
    fn epoch_us(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get_unchecked(index)
    }
}

#[cfg(feature = "postgres")]
impl TimeColumns for sqlx::postgres::PgRow {
    fn epoch_us(&self, index: usize) -> Result<Option<i64>, sqlx::Error> {
        let time: Option<time::OffsetDateTime> = self.try_get_unchecked(index)?;
        time.map(|t| i64::try_from(t.unix_timestamp_nanos() / 1000))
            .transpose()
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }
}

/// The services table in an SQL database.
#[derive(Debug, Clone)]
struct SqlStore {
    pool: Pool,
    queries: Arc<Queries>,
    dialect: Dialect,
    url: Arc<str>,
    /// What [`ServiceRecords::reconnect`] opens again.
    target: SqlUrl,
    config: ServiceGroupConfig,
}

impl SqlStore {
    /// Connects to the store at `target` (see [`Access`]).
    async fn open(
        target: SqlUrl,
        config: &ServiceGroupConfig,
        mode: OpenMode,
        access: Access,
    ) -> Result<SqlStore, Error> {
        let for_heartbeat = access == Access::Heartbeat;
        let (pool, dialect, shown) = match &target {
            #[cfg(feature = "sqlite")]
            SqlUrl::Sqlite { path } => {
                use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
                let shown = format!("sqlite://{}", path.display());
                if mode == OpenMode::Existing && !path.exists() {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("database file `{}` does not exist", path.display()),
                    ));
                }
                // WAL: readers (list) never block the writers (heartbeats); a busy
                // writer waits up to the busy timeout, bounded by the heartbeat timeout
                // for the heartbeat's own connection.
                let busy = if for_heartbeat {
                    config.effective_heartbeat_timeout()
                } else {
                    Duration::from_secs(10)
                };
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .busy_timeout(busy);
                let options = match access {
                    Access::ReadWrite | Access::Heartbeat => options
                        .create_if_missing(mode == OpenMode::Create)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal),
                    Access::ReadOnly => options.read_only(true),
                    Access::Immutable => options.read_only(true).immutable(true),
                };
                let pool = make_pool(options, config, for_heartbeat, &shown, None).await?;
                (Pool::Sqlite(pool), Dialect::Sqlite, shown)
            }
            #[cfg(feature = "postgres")]
            SqlUrl::Postgres { url } => {
                use std::str::FromStr as _;
                let shown = super::url::redact(url);
                let mut options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| malformed(&shown, e))?
                    .application_name("periodic");
                if for_heartbeat {
                    // The heartbeat's own connection: a statement never outlives the
                    // heartbeat timeout, and commits don't wait for the WAL fsync (a
                    // heartbeat lost in a server crash is replaced `report_interval`
                    // later; measured: 3,600 -> 5,000 heartbeats/s on this machine).
                    let ms = config.effective_heartbeat_timeout().as_millis().to_string();
                    options = options.options([
                        ("statement_timeout", ms.as_str()),
                        ("synchronous_commit", "off"),
                    ]);
                }
                let probe = probe::Target::tcp(
                    options.get_host(),
                    options.get_port(),
                    options.get_socket().is_some(),
                    probe::Expect::Postgres,
                );
                let pool = make_pool(options, config, for_heartbeat, &shown, probe).await?;
                (Pool::Postgres(pool), Dialect::Postgres, shown)
            }
            #[cfg(feature = "mysql")]
            SqlUrl::MySql { url } => {
                use std::str::FromStr as _;
                let shown = super::url::redact(url);
                let options = sqlx::mysql::MySqlConnectOptions::from_str(url)
                    .map_err(|e| malformed(&shown, e))?;
                let probe = probe::Target::tcp(
                    options.get_host(),
                    options.get_port(),
                    options.get_socket().is_some(),
                    probe::Expect::MySql,
                );
                let pool = make_pool(options, config, for_heartbeat, &shown, probe).await?;
                (Pool::MySql(pool), Dialect::MySql, shown)
            }
            #[allow(unreachable_patterns)] // every dialect built
            _ => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "servicegroup URL scheme `{}` is not built in",
                        target.scheme()
                    ),
                ));
            }
        };
        let mut store = SqlStore {
            pool,
            queries: Arc::new(dialect.queries(true)),
            dialect,
            url: shown.into(),
            target,
            config: config.clone(),
        };
        if !for_heartbeat {
            match mode {
                OpenMode::Create => store.migrate().await?,
                OpenMode::Existing => store.check_existing().await?,
            }
        }
        Ok(store)
    }

    /// Creates or upgrades the schema. Several processes may start at once: PostgreSQL
    /// and MySQL migrations take a lock; SQLite's may race, so a failed run is retried
    /// after the winner has finished.
    async fn migrate(&self) -> Result<(), Error> {
        let mut attempt = 0;
        loop {
            let result = match &self.pool {
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
                #[cfg(feature = "postgres")]
                Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
                #[cfg(feature = "mysql")]
                Pool::MySql(p) => MYSQL_MIGRATIONS.run(p).await,
            };
            match result {
                Ok(()) => return Ok(()),
                Err(_) if attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Store,
                        format!("cannot migrate the servicegroup store `{}`", self.url),
                    )
                    .with_source(e));
                }
            }
        }
    }

    async fn check_table(&self) -> Result<(), Error> {
        let sql = "SELECT COUNT(*) FROM services WHERE 1 = 0";
        let result = on_pool!(&self.pool, |p| sqlx::query(sql)
            .fetch_all(p)
            .await
            .map(drop));
        result.map_err(|e| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "the servicegroup store `{}` has no services table (a service creates it \
                     when it first starts)",
                    self.url
                ),
            )
            .with_source(e)
        })
    }

    /// An operator's store must have the table; one that no service of this version has
    /// migrated yet (no `clock_skew_us`) is read as it is, without the skew.
    async fn check_existing(&mut self) -> Result<(), Error> {
        self.check_table().await?;
        let sql = "SELECT clock_skew_us FROM services WHERE 1 = 0";
        let has_skew = on_pool!(&self.pool, |p| sqlx::query(sql).fetch_all(p).await.is_ok());
        if !has_skew {
            self.queries = Arc::new(self.dialect.queries(false));
        }
        Ok(())
    }

    /// One row, retried on the next connection while the pooled ones turn out dead
    /// (see `lost.rs`).
    async fn fetch_one(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Fetched>, Error> {
        let mut left = lost::attempts(self.config.max_connections);
        loop {
            let result: Result<Option<Fetched>, sqlx::Error> = on_pool!(&self.pool, |p| {
                match bound_query!(sql, args).fetch_optional(p).await {
                    Ok(Some(row)) => decode!(&row).map(Some),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            });
            left -= 1;
            match result {
                Err(e) if left > 0 && lost::connection_lost(&e) => self.retrying("query", &e),
                result => return result.map_err(|e| self.failed("query", e)),
            }
        }
    }

    /// A statement, retried on the next connection while the pooled ones turn out dead
    /// (see `lost.rs`): a statement on a dead connection never ran.
    async fn execute(&self, what: &str, sql: &str, args: &[Arg<'_>]) -> Result<u64, Error> {
        let mut left = lost::attempts(self.config.max_connections);
        loop {
            let result = on_pool!(&self.pool, |p| bound_query!(sql, args)
                .execute(p)
                .await
                .map(|done| done.rows_affected()));
            left -= 1;
            match result {
                Err(e) if left > 0 && lost::connection_lost(&e) => self.retrying(what, &e),
                result => return result.map_err(|e| self.failed(what, e)),
            }
        }
    }

    fn retrying(&self, what: &str, e: &sqlx::Error) {
        tracing::debug!(
            store = %self.url,
            error = %e,
            "servicegroup store: {what} found its connection gone; retrying on another"
        );
    }

    fn failed(&self, what: &str, e: sqlx::Error) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("servicegroup store `{}`: {what} failed", self.url),
        )
        .with_source(e)
    }

    async fn load_or_create(&self, new: &NewService) -> Result<ServiceRecord, Error> {
        let q = &self.queries;
        let key = [Arg::Str(&new.host), Arg::Str(&new.binary)];
        if let Some(found) = self.fetch_one(&q.by_host_binary, &key).await? {
            return Ok(found.record);
        }
        let uuid = new_uuid();
        let args = [
            Arg::Str(&uuid),
            Arg::Str(&new.host),
            Arg::Str(&new.binary),
            Arg::Str(&new.topic),
            Arg::OptStr(new.availability_zone.as_deref()),
        ];
        self.execute("create service", &q.insert, &args).await?;
        if let Some(found) = self.fetch_one(&q.by_host_binary, &key).await? {
            return Ok(found.record);
        }
        let topic = [Arg::Str(&new.host), Arg::Str(&new.topic)];
        match self.fetch_one(&q.by_host_topic, &topic).await? {
            Some(other) => Err(topic_taken(new, &other.record.binary)),
            None => Err(Error::new(
                ErrorKind::Store,
                format!(
                    "servicegroup store `{}`: the row of `{}` on `{}` vanished while it was \
                     created",
                    self.url, new.binary, new.host
                ),
            )),
        }
    }

    async fn by_id(&self, id: i64) -> Result<Option<Fetched>, Error> {
        self.fetch_one(&self.queries.by_id, &[Arg::I64(id)]).await
    }

    async fn by_host_binary(&self, host: &str, binary: &str) -> Result<Option<Fetched>, Error> {
        let args = [Arg::Str(host), Arg::Str(binary)];
        self.fetch_one(&self.queries.by_host_binary, &args).await
    }

    async fn select(&self, filter: &ServiceFilter) -> Result<Vec<Fetched>, Error> {
        let q = &self.queries;
        let mut sql = q.list.clone();
        let mut args = Vec::new();
        if let Some(host) = &filter.host {
            args.push(Arg::Str(host));
            let _ = write!(sql, " AND host = ${}", args.len());
        }
        if let Some(binary) = &filter.binary {
            args.push(Arg::Str(binary));
            let _ = write!(sql, " AND {} = ${}", q.binary_column, args.len());
        }
        // Sorted here rather than by the database: a sort of 100,000 rows spills to disk
        // with PostgreSQL's default work_mem.
        let sql = self.dialect().params(&sql);
        let args = &args[..];
        // Rows are decoded as they arrive, overlapping the decoding with the transfer.
        let result: Result<Vec<Fetched>, sqlx::Error> = on_pool!(&self.pool, |p| {
            let mut rows = bound_query!(&sql, args).fetch(p);
            let mut fetched = Vec::new();
            loop {
                match rows.try_next().await {
                    Ok(Some(row)) => match decode!(&row) {
                        Ok(f) => fetched.push(f),
                        Err(e) => break Err(e),
                    },
                    Ok(None) => break Ok(fetched),
                    Err(e) => break Err(e),
                }
            }
        });
        let mut fetched = result.map_err(|e| self.failed("list services", e))?;
        fetched.sort_unstable_by_key(|f| f.record.id);
        Ok(fetched)
    }

    fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The heartbeat: `None` if the row is gone, else the skew it stored.
    async fn touch(&self, id: i64, host_time: SystemTime) -> Result<Option<ClockSkew>, Error> {
        let q = &self.queries;
        let args = [Arg::I64(epoch_us(host_time)), Arg::I64(id)];
        let stored = match &q.heartbeat_skew {
            None => self.fetch_i64("heartbeat", &q.heartbeat, &args).await?,
            Some(read_back) => {
                if self.execute("heartbeat", &q.heartbeat, &args).await? == 0 {
                    return Ok(None);
                }
                self.fetch_i64("heartbeat", read_back, &[Arg::I64(id)])
                    .await?
            }
        };
        // A row without a skew after this very update cannot be: count the figure as
        // missing rather than the row.
        Ok(stored.map(|skew| ClockSkew::from_micros(skew.unwrap_or(0))))
    }

    /// The first column of the statement's row as an integer (`None`: no row), retried
    /// on the next connection while the pooled ones turn out dead (see `lost.rs`).
    async fn fetch_i64(
        &self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<Option<i64>>, Error> {
        let mut left = lost::attempts(self.config.max_connections);
        loop {
            let result: Result<Option<Option<i64>>, sqlx::Error> = on_pool!(&self.pool, |p| {
                match bound_query!(sql, args).fetch_optional(p).await {
                    Ok(Some(row)) => row.try_get_unchecked::<Option<i64>, _>(0).map(Some),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            });
            left -= 1;
            match result {
                Err(e) if left > 0 && lost::connection_lost(&e) => self.retrying(what, &e),
                result => return result.map_err(|e| self.failed(what, e)),
            }
        }
    }

    async fn update_disabled(
        &self,
        id: i64,
        disabled: bool,
        reason: Option<&str>,
    ) -> Result<bool, Error> {
        let args = [Arg::Bool(disabled), Arg::OptStr(reason), Arg::I64(id)];
        let n = self
            .execute("disable/enable", &self.queries.set_disabled, &args)
            .await?;
        Ok(n > 0)
    }

    async fn update_forced_down(&self, id: i64, forced_down: bool) -> Result<bool, Error> {
        let args = [Arg::Bool(forced_down), Arg::I64(id)];
        let n = self
            .execute("force down", &self.queries.set_forced_down, &args)
            .await?;
        Ok(n > 0)
    }

    async fn update_stopped(&self, id: i64, stopped: bool) -> Result<bool, Error> {
        let args = [Arg::Bool(stopped), Arg::I64(id)];
        let n = self
            .execute("mark stopped", &self.queries.set_stopped, &args)
            .await?;
        Ok(n > 0)
    }

    async fn soft_delete(&self, id: i64) -> Result<bool, Error> {
        let n = self
            .execute("delete service", &self.queries.delete, &[Arg::I64(id)])
            .await?;
        Ok(n > 0)
    }

    async fn close_pool(&self) {
        on_pool!(&self.pool, |p| p.close().await);
    }
}

/// Each method runs the statement of its dialect on the pool (see [`Queries`]).
impl ServiceRecords for SqlStore {
    fn get_or_create<'a>(
        &'a self,
        service: &'a NewService,
    ) -> BoxFuture<'a, Result<ServiceRecord, Error>> {
        Box::pin(self.load_or_create(service))
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Fetched>, Error>> {
        Box::pin(self.by_id(id))
    }

    fn find<'a>(
        &'a self,
        host: &'a str,
        binary: &'a str,
    ) -> BoxFuture<'a, Result<Option<Fetched>, Error>> {
        Box::pin(self.by_host_binary(host, binary))
    }

    fn list<'a>(&'a self, filter: &'a ServiceFilter) -> BoxFuture<'a, Result<Vec<Fetched>, Error>> {
        Box::pin(self.select(filter))
    }

    fn heartbeat(
        &self,
        id: i64,
        host_time: SystemTime,
    ) -> BoxFuture<'_, Result<Option<ClockSkew>, Error>> {
        Box::pin(self.touch(id, host_time))
    }

    fn set_disabled<'a>(
        &'a self,
        id: i64,
        disabled: bool,
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.update_disabled(id, disabled, reason))
    }

    fn set_forced_down(&self, id: i64, forced_down: bool) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.update_forced_down(id, forced_down))
    }

    fn set_stopped(&self, id: i64, stopped: bool) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.update_stopped(id, stopped))
    }

    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.soft_delete(id))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.close_pool())
    }

    fn ledger(&self) -> Option<Arc<dyn crate::periodic::TaskLedger>> {
        Some(Arc::new(ledger::SqlLedger {
            pool: self.pool.clone(),
            dialect: self.dialect,
            url: Arc::clone(&self.url),
            known: Arc::default(),
        }))
    }

    /// One lazy connection with the heartbeat's timeouts (PostgreSQL: a statement
    /// timeout and asynchronous commits), opened on the awaiting runtime.
    fn reconnect(self: Arc<Self>) -> BoxFuture<'static, Result<Arc<dyn ServiceRecords>, Error>> {
        Box::pin(async move {
            let store = SqlStore::open(
                self.target.clone(),
                &self.config,
                OpenMode::Existing,
                Access::Heartbeat,
            )
            .await?;
            Ok(Arc::new(store) as Arc<dyn ServiceRecords>)
        })
    }
}

#[cfg(feature = "sqlite")]
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
#[cfg(feature = "postgres")]
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
#[cfg(feature = "mysql")]
static MYSQL_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// A pool for `options`: the heartbeat's (one lazy connection, acquired within the
/// heartbeat timeout) or the handle's (connected now, within `connect_timeout`).
///
/// No ping before each acquire: sqlx already pings a connection when it is released and
/// closes it if it is broken, so a heartbeat costs one round trip on its path, not two.
async fn make_pool<DB: sqlx::Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
    config: &ServiceGroupConfig,
    for_heartbeat: bool,
    shown: &str,
    probe: Option<Probe>,
) -> Result<sqlx::Pool<DB>, Error> {
    if for_heartbeat {
        Ok(sqlx::pool::PoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .acquire_timeout(config.effective_heartbeat_timeout())
            .connect_lazy_with(options))
    } else {
        let pool = sqlx::pool::PoolOptions::new()
            .test_before_acquire(false)
            .max_connections(config.max_connections)
            .acquire_timeout(config.connect_timeout);
        connect::<DB>(pool, options, config.connect_timeout, shown, probe).await
    }
}

/// Where [`connect`] looks when the server does not answer as the URL's database would.
#[cfg(any(feature = "postgres", feature = "mysql"))]
type Probe = probe::Target;
#[cfg(not(any(feature = "postgres", feature = "mysql")))]
type Probe = std::convert::Infallible;

/// How long a connection may take before [`connect`] starts to probe the server: a local
/// server has answered long before, so a healthy open does not pay for the probe.
const PROBE_AFTER: Duration = Duration::from_millis(250);

/// What answered at `probe`'s address, if it is not the database the URL names, by
/// `deadline`; never resolves otherwise (the pool's own outcome then decides).
#[allow(clippy::unused_async, unused_variables)] // sqlite-only builds have no probe
async fn wrong_server(
    probe: Option<&Probe>,
    deadline: tokio::time::Instant,
    waited: Duration,
) -> Option<String> {
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    if let Some(target) = probe {
        return probe::wrong_server(target, deadline, waited).await;
    }
    None
}

/// Opens the pool with its first connection, within `timeout` (the pool retries a refused
/// connection meanwhile, for a server that is still starting). When the pool gives up it
/// only says that it timed out; one direct connection then tells the cause ("Connection
/// refused", "password authentication failed", ...).
///
/// Meanwhile, if the pool is not open after [`PROBE_AFTER`], a probe of the server's
/// address (`probe.rs`) says what answered when it is not the URL's database (a
/// PostgreSQL URL at Redis's port), within the connect timeout and in place of sqlx's
/// protocol error.
async fn connect<DB: sqlx::Database>(
    pool: sqlx::pool::PoolOptions<DB>,
    options: <DB::Connection as sqlx::Connection>::Options,
    timeout: Duration,
    shown: &str,
    probe: Option<Probe>,
) -> Result<sqlx::Pool<DB>, Error> {
    use sqlx::Connection as _;
    let failed = |e: Option<sqlx::Error>| {
        let error = Error::new(
            ErrorKind::Store,
            format!(
                "cannot connect to the servicegroup store `{shown}` (connect timeout {:.1} s)",
                timeout.as_secs_f64()
            ),
        );
        match e {
            Some(e) => error.with_source(e),
            None => error,
        }
    };
    let wrong = |why: String| {
        Error::new(
            ErrorKind::Store,
            format!("cannot connect to the servicegroup store `{shown}`: {why}"),
        )
    };
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let first = tokio::time::timeout(
        timeout + Duration::from_millis(500),
        pool.connect_with(options.clone()),
    );
    let probing = async {
        tokio::time::sleep_until(started + PROBE_AFTER).await;
        match wrong_server(probe.as_ref(), deadline, timeout).await {
            Some(why) => why,
            None => std::future::pending().await,
        }
    };
    let first = tokio::select! {
        first = first => first,
        why = probing => return Err(wrong(why)),
    };
    if !matches!(first, Ok(Ok(_))) {
        // Failed before the probe started (a protocol error at once) or it could not tell.
        let wait = Duration::from_secs(1).min(timeout);
        let bound = tokio::time::Instant::now() + wait;
        if let Some(why) = wrong_server(probe.as_ref(), bound, wait).await {
            return Err(wrong(why));
        }
    }
    match first {
        Ok(Ok(pool)) => Ok(pool),
        Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {
            let cause = tokio::time::timeout(timeout, DB::Connection::connect_with(&options)).await;
            match cause {
                Ok(Err(e)) => Err(failed(Some(e))),
                // Reachable after all, or silent: nothing better to say than the timeout.
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                    Err(failed(None))
                }
                Err(_) => Err(failed(None)),
            }
        }
        Ok(Err(e)) => Err(failed(Some(e))),
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn malformed(shown: &str, e: sqlx::Error) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!("malformed servicegroup URL `{shown}`"),
    )
    .with_source(e)
}

fn from_us(us: i64) -> SystemTime {
    let magnitude = Duration::from_micros(us.unsigned_abs());
    if us >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}
