//! The `db` liveness driver: nova's `db` driver. A heartbeat is one row update in the
//! services table, stamped by the store's clock; a service is up while that stamp is at
//! most `service_down_time` old by the same clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use super::config::ServiceGroupConfig;
use super::heartbeat::{self, Beat, Beaten, ReportLoop};
use super::liveness::{Liveness, OutageTexts};
use super::membership::{Heartbeat, JoinOptions};
use super::record::{DownReason, NewService, ServiceRecord, ServiceStatus};
use super::records::ServiceRecords;
use super::shared::{Fetched, not_found};
use crate::error::Error;

/// nova's texts (`nova/servicegroup/drivers/db.py`).
const TEXTS: OutageTexts = OutageTexts::new(
    tracing::Level::ERROR,
    "model server went away",
    "Recovered model server connection!",
);

/// The `db` driver.
#[derive(Debug)]
pub(crate) struct Db {
    config: ServiceGroupConfig,
}

/// Opens the `db` driver (nothing to connect: the services table is the store).
pub(crate) fn open(
    config: &ServiceGroupConfig,
) -> BoxFuture<'static, Result<Arc<dyn Liveness>, Error>> {
    let config = config.clone();
    Box::pin(async move { Ok(Arc::new(Db { config }) as Arc<dyn Liveness>) })
}

impl Liveness for Db {
    fn name(&self) -> &'static str {
        "db"
    }

    fn join(
        &self,
        records: Arc<dyn ServiceRecords>,
        service: &ServiceRecord,
        options: JoinOptions,
    ) -> BoxFuture<'_, Result<Heartbeat, Error>> {
        let on_tokio_clock = records.on_tokio_clock();
        let spec = ReportLoop::new(
            &self.config,
            service,
            options,
            on_tokio_clock,
            TEXTS,
            Box::new(move |dedicated| {
                Box::pin(async move {
                    let records = if dedicated {
                        records.reconnect().await?
                    } else {
                        records
                    };
                    Ok(Box::new(RowBeat { records }) as Box<dyn Beat>)
                })
            }),
        );
        Box::pin(async move { heartbeat::start(spec) })
    }

    fn report<'a>(
        &'a self,
        records: &'a dyn ServiceRecords,
        service: &'a ServiceRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            match records
                .heartbeat(service.id, self.config.clock.now())
                .await?
            {
                Some(_) => Ok(()),
                None => Err(not_found(service.id)),
            }
        })
    }

    fn judge(&self, rows: Vec<Fetched>) -> BoxFuture<'_, Result<Vec<ServiceStatus>, Error>> {
        let down_time = self.config.service_down_time;
        let statuses = rows.into_iter().map(|f| judge(f, down_time)).collect();
        Box::pin(async move { Ok(statuses) })
    }

    fn forget<'a>(
        &'a self,
        _records: &'a dyn ServiceRecords,
        _id: i64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        // The row's `stopped` mark, which the group sets, is all there is to forget.
        Box::pin(async { Ok(()) })
    }

    fn outage_texts(&self) -> OutageTexts {
        TEXTS
    }
}

/// nova's `service_is_up` with the `db` driver: forced down first, then our stopped
/// marker, then the store-measured age against `service_down_time` (inclusive). The
/// clock skew is the row's, from its last heartbeat.
fn judge(f: Fetched, service_down_time: Duration) -> ServiceStatus {
    let down_reason = DownReason::from_record(&f.record).or(match f.age {
        Some(age) if age <= service_down_time => None,
        _ if f.record.last_seen_up.is_none() => Some(DownReason::NeverReported),
        _ => Some(DownReason::NoHeartbeat),
    });
    let (updated_time, skew) = (f.record.updated_at, f.record.clock_skew);
    ServiceStatus::new(
        f.record,
        down_reason,
        f.age,
        service_down_time,
        updated_time,
    )
    .with_clock_skew(skew)
}

/// A `db` report: the row update, recreating a row deleted under the running service
/// (cinder).
struct RowBeat {
    records: Arc<dyn ServiceRecords>,
}

impl Beat for RowBeat {
    fn beat<'a>(
        &'a self,
        id: i64,
        service: &'a NewService,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Beaten, Error>> {
        Box::pin(async move {
            if let Some(skew) = self.records.heartbeat(id, now).await? {
                return Ok(Beaten::skew(Some(skew)));
            }
            tracing::warn!(
                host = %service.host,
                binary = %service.binary,
                "The service database object disappeared, recreating it."
            );
            let record = self.records.get_or_create(service).await?;
            match self.records.heartbeat(record.id, now).await? {
                Some(skew) => Ok(Beaten {
                    recreated: Some(record.id),
                    skew: Some(skew),
                }),
                None => Err(not_found(record.id)),
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.records.close()
    }
}
