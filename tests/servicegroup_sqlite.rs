//! The `db` driver on SQLite (a file per test), in real time with short intervals
//! (`report_interval` 1 s, `service_down_time` 3 s): the shared driver scenarios, an
//! outage played by another connection holding an exclusive lock, and the rules for
//! creating (or not creating) the database file.

#![cfg(feature = "sqlite")]

mod support;

use futures::future::BoxFuture;
use periodic::{ErrorKind, NewService, ServiceGroup, ServiceGroupConfig};
use sqlx::Connection as _;
use support::scenarios::{self, Outage, Via};
use support::servers::TempDb;
use tokio::sync::Mutex;

fn db() -> ServiceGroupConfig {
    ServiceGroupConfig::default()
}

#[tokio::test]
async fn several_up_one_killed() {
    let file = TempDb::new();
    scenarios::several_up_one_killed(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_claims() {
    let file = TempDb::new();
    scenarios::ledger_claims(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_batch_claims() {
    let file = TempDb::new();
    scenarios::ledger_batch_claims(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_deleted_rows() {
    let file = TempDb::new();
    scenarios::ledger_held_and_deleted_rows(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_settles_fleet_runs() {
    let file = TempDb::new();
    scenarios::ledger_settles_fleet_runs(&file.url(), &db()).await;
}

#[tokio::test]
async fn fleet_runner_prepares_its_rows() {
    let file = TempDb::new();
    scenarios::fleet_runner_prepares_its_rows(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_controls() {
    let file = TempDb::new();
    scenarios::ledger_controls(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_history() {
    let file = TempDb::new();
    scenarios::ledger_history(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_records_runs() {
    let file = TempDb::new();
    scenarios::ledger_records_runs(&file.url(), &db()).await;
}

#[tokio::test]
async fn fleet_runners_run_each_slot_once() {
    let file = TempDb::new();
    scenarios::fleet_runners_run_each_slot_once(&file.url(), &db()).await;
}

#[tokio::test]
async fn ledger_fenced_write() {
    let file = TempDb::new();
    scenarios::ledger_fenced_write(&file.url(), &db()).await;
}

#[tokio::test]
async fn admin_round_trips() {
    let file = TempDb::new();
    scenarios::admin_round_trips(&file.url(), &db()).await;
}

#[tokio::test]
async fn text_is_checked_before_the_store() {
    let file = TempDb::new();
    scenarios::text_is_checked_before_the_store(&file.url(), &db()).await;
}

#[tokio::test]
async fn leave_is_down_at_once() {
    let file = TempDb::new();
    scenarios::leave_is_down_at_once(&file.url(), &db()).await;
}

#[tokio::test]
async fn race_safe_create() {
    let file = TempDb::new();
    scenarios::race_safe_create(&file.url(), &db()).await;
}

#[tokio::test]
async fn skewed_writer_stays_up() {
    let file = TempDb::new();
    scenarios::skewed_writer_stays_up(&file.url(), &db()).await;
}

#[tokio::test]
async fn deleted_record_is_recreated() {
    let file = TempDb::new();
    scenarios::deleted_record_is_recreated(&file.url(), &db()).await;
}

#[tokio::test]
async fn blocked_runtime_does_not_make_it_look_down() {
    let file = TempDb::new();
    scenarios::blocked_runtime_does_not_make_it_look_down(&file.url(), &db()).await;
}

/// Another connection holds `BEGIN EXCLUSIVE`: every heartbeat times out on the lock
/// until it commits.
struct ExclusiveLock {
    url: String,
    conn: Mutex<Option<sqlx::SqliteConnection>>,
}

impl Outage for ExclusiveLock {
    fn begin(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::Executor::execute(&mut conn, "BEGIN EXCLUSIVE")
                .await
                .unwrap();
            *self.conn.lock().await = Some(conn);
        })
    }

    fn end(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            let mut conn = self.conn.lock().await.take().unwrap();
            sqlx::Executor::execute(&mut conn, "COMMIT").await.unwrap();
        })
    }
}

#[tokio::test]
async fn a_locked_database_is_an_outage_logged_once_each_way() {
    let file = TempDb::new();
    let url = file.url();
    // Create the file and schema first.
    ServiceGroup::open(&url, db()).await.unwrap();
    let lock = ExclusiveLock {
        url: url.clone(),
        conn: Mutex::new(None),
    };
    scenarios::outage(
        Via(&url, &db()),
        Via(&url, &db()),
        &lock,
        "model server went away",
        "Recovered model server connection!",
    )
    .await;
}

#[tokio::test]
async fn open_creates_the_file_and_open_existing_never_does() {
    let file = TempDb::new();
    let err = ServiceGroup::open_existing(&file.url(), db())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("database file `{}` does not exist", file.0.display())
    );
    assert!(!file.0.exists(), "open_existing created the file");

    // Several services starting at once on a new file: one schema, no error.
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = file.url();
            tokio::spawn(async move { ServiceGroup::open(&url, db()).await.map(drop) })
        })
        .collect();
    for open in opens {
        open.await.unwrap().unwrap();
    }
    assert!(file.0.exists());
    let group = ServiceGroup::open_existing(&file.url(), db())
        .await
        .unwrap();
    let svc = group
        .get_or_create(&NewService::new("h", "nova-compute", "compute").availability_zone("az1"))
        .await
        .unwrap();
    assert_eq!(svc.availability_zone.as_deref(), Some("az1"));
    assert_eq!(svc.uuid.len(), 36);
    let status = group.status(svc.id).await.unwrap();
    assert!(status.is_up());
    assert!(status.heartbeat_age.is_some());
}

#[tokio::test]
async fn an_existing_file_without_the_table_is_not_found() {
    let file = TempDb::new();
    std::fs::write(&file.0, b"").unwrap();
    let err = ServiceGroup::open_existing(&file.url(), db())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("has no services table"), "{err}");
}

// A store made before the clock-skew column: an operator lists it as it is (no skew, no
// error, nothing written), and the next service to open it adds the column.
#[tokio::test]
async fn a_store_from_before_the_skew_column_is_listed_then_upgraded() {
    let file = TempDb::new();
    let url = file.url();
    let group = ServiceGroup::open(&url, db()).await.unwrap();
    let svc = group
        .get_or_create(&NewService::new("old-1", "nova-compute", "compute"))
        .await
        .unwrap();
    group.report_state(&svc).await.unwrap();
    group.close().await;
    // Back to the schema of the earlier migrations.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "ALTER TABLE services DROP COLUMN clock_skew_us",
        "DELETE FROM _sqlx_migrations WHERE description = 'clock skew'",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let operator = ServiceGroup::open_existing(&url, db()).await.unwrap();
    let listed = operator
        .list(&periodic::ServiceFilter::all())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].is_up());
    assert_eq!(listed[0].clock_skew, None);
    operator.close().await;

    let service = ServiceGroup::open(&url, db()).await.unwrap();
    service.report_state(&svc).await.unwrap();
    let status = service.status(svc.id).await.unwrap();
    assert!(status.clock_skew.unwrap().magnitude() < std::time::Duration::from_secs(1));
    service.close().await;
}
