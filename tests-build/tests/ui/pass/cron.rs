//! Cron schedules: 5 and 6 fields, an alias, a time zone, with the options that go with
//! them (`run_immediately`, `timeout`, `overrun`, `name`, `enabled`), async and blocking.

use periodic::{PeriodicRunner, periodic_tasks, registered_tasks};

struct Cleaner;

#[periodic_tasks]
impl Cleaner {
    #[periodic_task(cron = "0 */10 * * * *")]
    async fn every_ten_minutes(&self) {}

    #[periodic_task(cron = "30 2 * * MON-FRI", tz = "Europe/Paris", run_immediately)]
    fn weekday_nights(&self) {}

    #[periodic_task(cron = "@hourly", timeout = 30, overrun = skip, name = "hourly")]
    async fn hourly_task(&self) {}

    #[periodic_task(tz = "America/New_York", cron = "0 9 * * *", enabled = false)]
    async fn morning(&self) {}
}

fn main() {
    let crons: Vec<(&str, Option<&str>, Option<&str>)> = registered_tasks()
        .into_iter()
        .filter(|t| t.owner == "Cleaner")
        .map(|t| (t.name, t.cron, t.time_zone))
        .collect();
    assert_eq!(
        crons,
        [
            ("every_ten_minutes", Some("0 */10 * * * *"), None),
            ("weekday_nights", Some("30 2 * * MON-FRI"), Some("Europe/Paris")),
            ("hourly", Some("@hourly"), None),
            ("morning", Some("0 9 * * *"), Some("America/New_York")),
        ]
    );
    let runner = PeriodicRunner::<Cleaner>::new(Cleaner).unwrap();
    let nights = runner.task("weekday_nights").unwrap();
    assert_eq!(nights.cron.as_deref(), Some("30 2 * * MON-FRI"));
    assert_eq!(nights.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(nights.interval, None);
    assert_eq!(
        runner.task("every_ten_minutes").unwrap().time_zone.as_deref(),
        Some("UTC")
    );
}
