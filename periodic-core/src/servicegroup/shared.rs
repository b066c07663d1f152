//! What the two contracts and their implementations share: a row as a store returns it,
//! how a store is opened, new UUIDs, and the errors every store words the same way.

use std::time::{Duration, SystemTime};

use super::record::{NewService, ServiceRecord};
use crate::error::{Error, ErrorKind};

/// A row of the services table and the age of its last heartbeat (of `created_at` if it
/// never reported), as the store's clock measured it during the query: what
/// [`ServiceRecords`](crate::ServiceRecords) returns and a
/// [`Liveness`](crate::Liveness) driver judges.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use periodic::{Fetched, ServiceRecord};
///
/// let record = ServiceRecord::new(1, "n1", "nova-compute", "compute", SystemTime::UNIX_EPOCH);
/// let row = Fetched::new(record, Some(Duration::from_secs(3)));
/// assert_eq!(row.age, Some(Duration::from_secs(3)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fetched {
    /// The row.
    pub record: ServiceRecord,
    /// The age of the last heartbeat written to the row by the store's clock; `None` only
    /// if the store could not say. Negative ages (a clock stepped back) are 0.
    pub age: Option<Duration>,
}

impl Fetched {
    /// A row and its heartbeat's age.
    pub fn new(record: ServiceRecord, age: Option<Duration>) -> Self {
        Fetched { record, age }
    }
}

/// Whether a store may be created when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// A service: create the SQLite file, run the migrations.
    Create,
    /// An operator command: the store must exist already.
    Existing,
}

/// A random (version 4) UUID in its usual lower-case hyphenated form, as nova's `uuid`
/// column holds it.
pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The error when `host` already runs another binary on `new.topic` (the unique key
/// `(host, topic)`).
pub(crate) fn topic_taken(new: &NewService, other_binary: &str) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!(
            "host `{}` already has a service on topic `{}` (binary `{other_binary}`), so \
             `{}` cannot use it",
            new.host, new.topic, new.binary
        ),
    )
}

/// The error for a service id that has no (live) row.
pub(crate) fn not_found(id: i64) -> Error {
    Error::new(ErrorKind::NotFound, format!("no service with id {id}"))
}

/// Microseconds since the Unix epoch (negative before it): how the key/value drivers
/// store a writer's wall-clock time.
#[allow(
    dead_code,
    reason = "used by the key/value drivers, each behind its own feature"
)]
pub(crate) fn epoch_us(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// The inverse of [`epoch_us`].
#[allow(
    dead_code,
    reason = "used by the key/value drivers, each behind its own feature"
)]
pub(crate) fn from_epoch_us(us: i64) -> SystemTime {
    let magnitude = Duration::from_micros(us.unsigned_abs());
    if us >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}

/// A topic or host as one segment of a `/`-separated key or node path.
#[allow(
    dead_code,
    reason = "used by the key/value drivers, each behind its own feature"
)]
pub(crate) fn path_segment(segment: &str) -> String {
    segment.replace('%', "%25").replace('/', "%2F")
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_v4_in_nova_s_form() {
        let a = super::new_uuid();
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4', "{a}");
        assert_eq!(a, a.to_lowercase());
        assert_ne!(a, super::new_uuid());
    }
}
