//! The `redis` liveness driver: a heartbeat sets the key `periodic:<topic>:<host>` with a
//! TTL of `service_down_time` (`SET ... PX`), and a service is up while its key exists,
//! so Redis's own expiry judges, as memcached's does for `mc`. The services table stays
//! in the group's store.
//!
//! Unlike memcached, Redis tells how long a key has left (`PTTL`), so the heartbeat's
//! age is known by Redis's clock (`service_down_time - PTTL`): `service list` shows it
//! as it does for `db`, and no host clock is involved.
//!
//! The key's value is the service's own time at the write. The heartbeat sends `TIME`
//! and the `SET` in one pipeline, so the service learns its [clock
//! skew](crate::ClockSkew) against Redis at each report; `list` finds it again from the
//! value and the key's Redis time of writing (`TIME - (service_down_time - PTTL)`).
//!
//! The client is the [`redis`](https://crates.io/crates/redis) crate (redis-rs, the
//! maintained client of the Redis project's Rust users), through its
//! [`ConnectionManager`]: one multiplexed connection, reopened on failure, with a
//! connection timeout and a response timeout. A heartbeat on its own thread opens a
//! manager of its own there (a manager's driver task lives on the runtime that made it).

#![cfg(feature = "redis")]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::config::ServiceGroupConfig;
use super::heartbeat::{self, Beat, Beaten, ReportLoop};
use super::liveness::{Liveness, OutageTexts};
use super::membership::{Heartbeat, JoinOptions};
use super::record::{DownReason, NewService, ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::shared::{Fetched, epoch_us, from_epoch_us, not_found};
use super::skew::ClockSkew;
use super::url::redact;
use crate::error::{Error, ErrorKind};

/// In the words of the `mc` driver, with the store named.
const TEXTS: OutageTexts = OutageTexts::new(
    tracing::Level::WARN,
    "Lost connection to redis server for reporting service status.",
    "Recovered connection to redis server for reporting service status.",
);

/// Keys per pipelined round trip when judging.
const BATCH: usize = 500;

/// The `redis` driver.
#[derive(Debug)]
pub(crate) struct Redis {
    config: ServiceGroupConfig,
    client: RedisClient,
}

/// Opens the `redis` driver: checks the URL; connects lazily.
pub(crate) fn open(
    config: &ServiceGroupConfig,
) -> BoxFuture<'static, Result<Arc<dyn Liveness>, Error>> {
    let driver = RedisClient::new(config).map(|client| {
        Arc::new(Redis {
            config: config.clone(),
            client,
        }) as Arc<dyn Liveness>
    });
    Box::pin(async move { driver })
}

impl Liveness for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn join(
        &self,
        records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> BoxFuture<'_, Result<Heartbeat, Error>> {
        let (config, shared) = (self.config.clone(), self.client.clone());
        let spec = ReportLoop::new(
            &self.config,
            service,
            options,
            records.on_tokio_clock(),
            TEXTS,
            Box::new(move |dedicated| {
                Box::pin(async move {
                    // On its own thread the heartbeat opens a connection of its own.
                    let client = if dedicated {
                        RedisClient::new(&config)?
                    } else {
                        shared
                    };
                    Ok(Box::new(KeyBeat { client }) as Box<dyn Beat>)
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
        let key = key(&service.topic, &service.host);
        Box::pin(async move {
            self.client
                .set_heartbeat(&key, self.config.clock.now())
                .await
                .map(drop)
        })
    }

    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, Result<Vec<ServiceStatus>, Error>> {
        Box::pin(async move {
            let down_time = self.config.service_down_time;
            let keys: Vec<String> = rows
                .iter()
                .map(|f| key(&f.record.topic, &f.record.host))
                .collect();
            let (now, keys) = self.client.time_left(&keys).await?;
            Ok(rows
                .into_iter()
                .zip(keys)
                .map(|(f, key)| judge(f, key, now, down_time))
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
            self.client.delete(&key(&record.topic, &record.host)).await
        })
    }

    fn outage_texts(&self) -> OutageTexts {
        TEXTS
    }
}

/// Up ⇔ the key exists. Its age is what the TTL lost since the last `SET`, by Redis's
/// clock; `updated_time` is then Redis's time of that write, or the row's `updated_at`
/// if newer (as `mc` does, LP#1647269). The skew is the service's time in the value
/// minus Redis's time of the write.
fn judge(
    f: Fetched,
    key: Option<KeyState>,
    redis_now: SystemTime,
    service_down_time: Duration,
) -> ServiceStatus {
    let down_reason =
        DownReason::from_record(&f.record).or(key.is_none().then_some(DownReason::NoHeartbeat));
    let age = key.map(|k| service_down_time.saturating_sub(k.left));
    let written = age.and_then(|age| redis_now.checked_sub(age));
    let skew = key
        .and_then(|k| k.host_time)
        .zip(written)
        .map(|(host, redis)| ClockSkew::between(host, redis));
    let updated_time = match (written, f.record.updated_at) {
        (Some(redis), Some(db)) if db > redis => Some(db),
        (Some(redis), _) => Some(redis),
        (None, db) => db,
    };
    ServiceStatus::new(f.record, down_reason, age, service_down_time, updated_time)
        .with_clock_skew(skew)
}

/// A heartbeat key as `list` finds it.
#[derive(Debug, Clone, Copy)]
struct KeyState {
    /// The time it has left.
    left: Duration,
    /// The service's time in its value (`None` if it is not ours).
    host_time: Option<SystemTime>,
}

/// The heartbeat key of a service.
fn key(topic: &str, host: &str) -> String {
    format!("periodic:{topic}:{host}")
}

/// A `redis` report: the key with the writer's time and the TTL.
struct KeyBeat {
    client: RedisClient,
}

impl Beat for KeyBeat {
    fn beat<'a>(
        &'a self,
        _id: i64,
        service: &'a NewService,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Beaten, Error>> {
        let key = key(&service.topic, &service.host);
        Box::pin(async move {
            let skew = self.client.set_heartbeat(&key, now).await?;
            Ok(Beaten::skew(Some(skew)))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // The connection closes when the last clone of the manager is dropped.
        Box::pin(async {})
    }
}

/// Heartbeat keys in Redis: `periodic:<topic>:<host>` → the writer's time (epoch
/// microseconds), with a TTL of `service_down_time`.
#[derive(Clone)]
struct RedisClient {
    /// The URL without its password, for messages.
    shown: String,
    /// Opened on first use, on the runtime of that use.
    conn: Arc<tokio::sync::OnceCell<ConnectionManager>>,
    client: redis::Client,
    ttl_ms: u64,
    connect_timeout: Duration,
    op_timeout: Duration,
}

impl std::fmt::Debug for RedisClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClient")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl RedisClient {
    /// A client for the configured URL; connects on first use.
    fn new(config: &ServiceGroupConfig) -> Result<RedisClient, Error> {
        let Some(url) = config.redis_url.as_deref() else {
            return Err(Error::new(
                ErrorKind::Config,
                "the `redis` servicegroup driver needs a Redis URL (redis_url, e.g. \
                 redis://127.0.0.1:6379)",
            ));
        };
        let shown = redact(url);
        let client = redis::Client::open(url).map_err(|e| {
            Error::new(ErrorKind::Invalid, format!("invalid Redis URL `{shown}`")).with_source(e)
        })?;
        let down = config.service_down_time;
        Ok(RedisClient {
            shown,
            conn: Arc::new(tokio::sync::OnceCell::new()),
            client,
            ttl_ms: u64::try_from(down.as_millis()).unwrap_or(u64::MAX).max(1),
            connect_timeout: config.connect_timeout,
            op_timeout: config.effective_heartbeat_timeout(),
        })
    }

    fn failed(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Store,
            format!("redis `{}`: {what} failed", self.shown),
        )
    }

    /// The connection manager, made on first use.
    async fn connection(&self) -> Result<ConnectionManager, Error> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.connect_timeout))
                    .set_response_timeout(Some(self.op_timeout))
                    // A heartbeat never retries: the next one is due a report_interval
                    // later. The manager reconnects in the background.
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .map_err(|e| self.failed("connect").with_source(e))
            })
            .await?;
        Ok(conn.clone())
    }

    /// Awaits one command or pipeline within the operation timeout.
    async fn within<T>(
        &self,
        what: &str,
        query: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.op_timeout, query).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.failed(what).with_source(e)),
            Err(_) => Err(self.failed(what).with_source(format!(
                "timed out after {:.1} s",
                self.op_timeout.as_secs_f64()
            ))),
        }
    }

    /// `TIME` and `SET key now PX service_down_time` in one pipeline: the skew of `now`
    /// against Redis's clock at the write.
    async fn set_heartbeat(&self, key: &str, now: SystemTime) -> Result<ClockSkew, Error> {
        let mut conn = self.connection().await?;
        let mut pipe = redis::pipe();
        pipe.cmd("TIME")
            .cmd("SET")
            .arg(key)
            .arg(epoch_us(now))
            .arg("PX")
            .arg(self.ttl_ms)
            .ignore();
        let times: Vec<(u64, u64)> = self
            .within("heartbeat", pipe.query_async(&mut conn))
            .await?;
        let Some(&(secs, micros)) = times.first() else {
            return Err(self.failed("heartbeat").with_source("TIME gave no answer"));
        };
        let redis_now =
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
        Ok(ClockSkew::between(now, redis_now))
    }

    /// Deletes the key (a graceful stop); a missing key is fine.
    async fn delete(&self, key: &str) -> Result<(), Error> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("DEL");
        cmd.arg(key);
        self.within("delete", cmd.query_async::<()>(&mut conn))
            .await
    }

    /// Redis's time, and for each key the time it has left and its value (`None`: gone),
    /// in pipelines of [`BATCH`] keys.
    async fn time_left(
        &self,
        keys: &[String],
    ) -> Result<(SystemTime, Vec<Option<KeyState>>), Error> {
        let mut conn = self.connection().await?;
        let (secs, micros): (u64, u64) = self
            .within("TIME", redis::cmd("TIME").query_async(&mut conn))
            .await?;
        let now =
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
        let mut left = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("PTTL").arg(key).cmd("GET").arg(key);
            }
            let answers: Vec<(i64, Option<String>)> =
                self.within("PTTL", pipe.query_async(&mut conn)).await?;
            // -2: no key; -1: a key without a TTL, which no heartbeat writes (count it
            // as just written rather than guess).
            left.extend(answers.into_iter().map(|(ms, value)| {
                let left = match ms {
                    -2 => return None,
                    -1 => Duration::from_millis(self.ttl_ms),
                    ms => Duration::from_millis(ms.unsigned_abs()),
                };
                let host_time = value
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map(from_epoch_us);
                Some(KeyState { left, host_time })
            }));
        }
        Ok((now, left))
    }
}
