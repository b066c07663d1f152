//! One live instance per host and binary: a service that starts while another process
//! heartbeats the same row is refused.
//!
//! Two processes with the same host and binary used to share the row silently: its
//! `report_count` rose twice as fast, and stopping one marked the row stopped while the
//! other ran. The row alone cannot tell a live instance from one that crashed a moment
//! ago (both look up until `service_down_time`), so a row that looks up is watched for
//! one `report_interval` (plus a second): if its heartbeat advances meanwhile, another
//! instance is alive.
//!
//! ```text
//! row: stopped, down, or none ─► start at once
//! row: up ─► watch report_interval + 1 s ─┬─ heartbeat advanced ─► refused (ErrorKind::Config)
//!                                         └─ unchanged (it crashed) ─► start
//! ```

use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};
use crate::servicegroup::{DownReason, ServiceGroup};

/// How often the watched row is read.
const POLL: Duration = Duration::from_millis(500);

/// Refuses to start when another instance of `binary` on `host` heartbeats its row.
///
/// # Errors
///
/// [`ErrorKind::Config`] when another instance is alive; the store's errors.
pub(crate) async fn refuse_second_instance(
    group: &ServiceGroup,
    host: &str,
    binary: &str,
) -> Result<()> {
    let report_interval = group.report_interval();
    if report_interval.is_zero() {
        return Ok(()); // No heartbeat: nothing to watch.
    }
    let record = match group.find(host, binary).await {
        Ok(record) => record,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    let status = group.status(record.id).await?;
    let may_be_alive = status.is_up() || status.down_reason == Some(DownReason::ForcedDown);
    if record.stopped || !may_be_alive {
        return Ok(());
    }
    let window = report_interval + Duration::from_secs(1);
    tracing::info!(
        host,
        binary,
        "The service's row is up: watching it for {:.1} s in case another instance is running",
        window.as_secs_f64()
    );
    let before = group.updated_time(record.id).await?;
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        tokio::time::sleep(POLL.min(deadline - Instant::now())).await;
        if group.updated_time(record.id).await? != before {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "another instance of `{binary}` on host `{host}` is running: its \
                     heartbeat (service id {}) advanced while this one was starting. Stop \
                     it first, give this one another host, or allow two instances \
                     (ServiceBuilder::allow_second_instance)",
                    record.id
                ),
            ));
        }
    }
    Ok(())
}
