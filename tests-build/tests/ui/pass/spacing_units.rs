//! `spacing` and `timeout` with a unit suffix mean that unit; a type suffix leaves seconds.

use std::time::Duration;

use periodic::{Spacing, periodic_tasks, registered_tasks};

struct Manager;

#[periodic_tasks]
impl Manager {
    #[periodic_task(spacing = 500ms)]
    async fn millis(&self) {}

    #[periodic_task(spacing = 30s)]
    async fn seconds(&self) {}

    #[periodic_task(spacing = 1.5s)]
    async fn fractional_seconds(&self) {}

    #[periodic_task(spacing = 5m)]
    async fn minutes(&self) {}

    #[periodic_task(spacing = 1h)]
    async fn hours(&self) {}

    #[periodic_task(spacing = 60u64)]
    async fn integer_type(&self) {}

    #[periodic_task(spacing = 0.5f64)]
    async fn float_type(&self) {}

    #[periodic_task(spacing = -1h)]
    async fn disabled(&self) {}

    #[periodic_task(spacing = 1h, timeout = 500ms)]
    async fn timeout_millis(&self) {}

    #[periodic_task(spacing = 1h, timeout = 2m)]
    async fn timeout_minutes(&self) {}

    #[periodic_task(spacing = 1h, timeout = 90u32)]
    async fn timeout_integer_type(&self) {}
}

fn main() {
    let spacing = |name: &str| {
        registered_tasks()
            .into_iter()
            .find(|task| task.name == name)
            .map(|task| task.spacing)
    };
    let every = |d: Duration| Some(Spacing::Every(d));
    assert_eq!(spacing("millis"), every(Duration::from_millis(500)));
    assert_eq!(spacing("seconds"), every(Duration::from_secs(30)));
    assert_eq!(spacing("fractional_seconds"), every(Duration::from_millis(1500)));
    assert_eq!(spacing("minutes"), every(Duration::from_secs(300)));
    assert_eq!(spacing("hours"), every(Duration::from_secs(3600)));
    assert_eq!(spacing("integer_type"), every(Duration::from_secs(60)));
    assert_eq!(spacing("float_type"), every(Duration::from_millis(500)));
    assert_eq!(spacing("disabled"), Some(Spacing::Disabled));
    let timeout = |name: &str| {
        registered_tasks()
            .into_iter()
            .find(|task| task.name == name)
            .and_then(|task| task.timeout)
    };
    assert_eq!(timeout("timeout_millis"), Some(Duration::from_millis(500)));
    assert_eq!(timeout("timeout_minutes"), Some(Duration::from_secs(120)));
    assert_eq!(timeout("timeout_integer_type"), Some(Duration::from_secs(90)));
}
