//! The `periodic simulate` scenario file: parsing and validation.

use std::path::Path;

use serde::Deserialize;

/// One synthetic task of a scenario. Every field but `name` defaults to the decorator's
/// default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the decorator's flags, one field each"
)]
pub(crate) struct TaskSpec {
    pub(crate) name: String,
    /// oslo's number (0: the default interval, negative: disabled); absent: 0, or the
    /// task's `cron` instead.
    #[serde(default)]
    pub(crate) spacing: Option<f64>,
    /// A cron expression the task follows instead of a spacing (5 or 6 fields, or an
    /// alias such as `@hourly`), on the scenario's wall clock from `start`.
    #[serde(default)]
    pub(crate) cron: Option<String>,
    /// The IANA time zone of `cron` (default UTC).
    #[serde(default)]
    pub(crate) tz: Option<String>,
    #[serde(default)]
    pub(crate) run_immediately: bool,
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) external_process_ok: bool,
    /// Seconds one run takes.
    #[serde(default)]
    pub(crate) duration: f64,
    /// Every run returns an error.
    #[serde(default)]
    pub(crate) fails: bool,
    /// Seconds a run may take (`PeriodicTask::timeout`): a longer run is cancelled then.
    #[serde(default)]
    pub(crate) timeout: Option<f64>,
    /// What follows a run longer than the spacing: `"run_once"` (the default), `"skip"` or
    /// `{"catch_up": N}`.
    #[serde(default)]
    pub(crate) overrun: OverrunSpec,
}

/// A task's `overrun` in a scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum OverrunSpec {
    #[default]
    RunOnce,
    Skip,
    CatchUp(u32),
}

impl From<OverrunSpec> for periodic::Overrun {
    fn from(spec: OverrunSpec) -> Self {
        match spec {
            OverrunSpec::RunOnce => periodic::Overrun::RunOnce,
            OverrunSpec::Skip => periodic::Overrun::Skip,
            OverrunSpec::CatchUp(most) => periodic::Overrun::CatchUp(most),
        }
    }
}

fn yes() -> bool {
    true
}

impl TaskSpec {
    /// The spacing with oslo's meaning; 0 (the default interval) when absent.
    pub(crate) fn spacing(&self) -> f64 {
        self.spacing.unwrap_or(0.0)
    }
}

/// A whole scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scenario {
    pub(crate) tasks: Vec<TaskSpec>,
    #[serde(default = "yes")]
    pub(crate) run_external_periodic_tasks: bool,
    /// No value: no cap on the idle time a pass returns.
    #[serde(default)]
    pub(crate) periodic_interval_max: Option<f64>,
    #[serde(default)]
    pub(crate) initial_delay: f64,
    pub(crate) horizon: f64,
    #[serde(default)]
    pub(crate) jitter: bool,
    /// Accepted for compatibility with `oslo_trace.py`, which reads it; the command line's
    /// `--idle-policy` wins when given.
    #[serde(default)]
    pub(crate) idle_policy: Option<String>,
    /// The wall-clock time the simulation starts at, RFC 3339 (`2026-03-28T12:00:00Z`):
    /// where cron tasks' occurrences fall. Default [`DEFAULT_START`].
    #[serde(default)]
    pub(crate) start: Option<String>,
}

/// The wall-clock time a scenario without `start` begins at: 2026-01-01T00:00:00Z.
pub(crate) const DEFAULT_START: &str = "2026-01-01T00:00:00Z";

/// A scenario that cannot be used: the message names the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ScenarioError(pub(crate) String);

impl Scenario {
    pub(crate) fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError(format!("cannot read scenario {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ScenarioError(format!("{}: {}", path.display(), e.0)))
    }

    pub(crate) fn parse(text: &str) -> Result<Self, ScenarioError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path == "?" {
                ScenarioError(format!("invalid scenario: {inner}"))
            } else {
                ScenarioError(format!("invalid scenario field `{path}`: {inner}"))
            }
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The wall-clock time the simulation starts at (`start`, or [`DEFAULT_START`]).
    pub(crate) fn start_time(&self) -> Result<std::time::SystemTime, ScenarioError> {
        let text = self.start.as_deref().unwrap_or(DEFAULT_START);
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                ScenarioError(format!(
                    "invalid scenario field `start`: {e}; expected an RFC 3339 time such as \
                     \"{DEFAULT_START}\""
                ))
            })?;
        Ok(at.into())
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |field: String, why: &str| {
            Err(ScenarioError(format!(
                "invalid scenario field `{field}`: {why}"
            )))
        };
        let seconds = |field: &str, value: f64| -> Result<(), ScenarioError> {
            if value.is_finite() && (0.0..=MAX_SECONDS).contains(&value) {
                Ok(())
            } else {
                bad(field.to_owned(), SECONDS)
            }
        };
        seconds("horizon", self.horizon)?;
        seconds("initial_delay", self.initial_delay)?;
        if let Some(max) = self.periodic_interval_max
            && (!max.is_finite() || max <= 0.0 || max > MAX_SECONDS)
        {
            return bad(
                "periodic_interval_max".into(),
                "must be a positive number of seconds, at most 1000000000 (about 31 years); \
                 leave it out for no cap",
            );
        }
        self.start_time()?;
        if let Some(policy) = &self.idle_policy
            && policy != "oslo"
            && policy != "precise"
        {
            return bad("idle_policy".into(), "must be \"oslo\" or \"precise\"");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, task) in self.tasks.iter().enumerate() {
            if task.name.is_empty() {
                return bad(format!("tasks[{i}].name"), "must not be empty");
            }
            if !seen.insert(task.name.as_str()) {
                return bad(
                    format!("tasks[{i}].name"),
                    &format!("task name `{}` is used twice", task.name),
                );
            }
            if let Some(cron) = &task.cron {
                if task.spacing.is_some() {
                    return bad(
                        format!("tasks[{i}].cron"),
                        "cannot be given with `spacing`: a task runs every `spacing` seconds \
                         or at the occurrences of its `cron` expression; remove one of them",
                    );
                }
                let mut schedule = periodic::CronSchedule::parse(cron).map_err(|e| {
                    ScenarioError(format!(
                        "invalid scenario field `tasks[{i}].cron`: {}",
                        e.message()
                    ))
                })?;
                if let Some(tz) = &task.tz {
                    schedule = schedule.in_time_zone(tz).map_err(|e| {
                        ScenarioError(format!(
                            "invalid scenario field `tasks[{i}].tz`: {}",
                            e.message()
                        ))
                    })?;
                }
                drop(schedule);
            } else if task.tz.is_some() {
                return bad(
                    format!("tasks[{i}].tz"),
                    "is the time zone of a `cron` expression and needs one: \
                     \"cron\": \"0 0 3 * * *\", \"tz\": \"Europe/Paris\"",
                );
            }
            let spacing = task.spacing();
            if !spacing.is_finite() || spacing > MAX_SECONDS {
                return bad(
                    format!("tasks[{i}].spacing"),
                    "must be a finite number of seconds, at most 1000000000 (about 31 years)",
                );
            }
            if spacing > 0.0 && spacing < 0.001 {
                return bad(
                    format!("tasks[{i}].spacing"),
                    "must be 0 (default interval), negative (disabled) or at least 0.001 s (the timer's resolution)",
                );
            }
            seconds(&format!("tasks[{i}].duration"), task.duration)?;
            if let Some(timeout) = task.timeout
                && !(timeout.is_finite() && (0.001..=MAX_SECONDS).contains(&timeout))
            {
                return bad(
                    format!("tasks[{i}].timeout"),
                    "must be a number of seconds from 0.001 to 1000000000 (about 31 years); \
                     leave it out for no limit",
                );
            }
        }
        Ok(())
    }
}

/// The largest number of seconds a scenario may give any field: about 31 years. Longer
/// times tell nothing a shorter simulation does not, and the sum of a few of them must
/// stay far inside what `Duration`, tokio's clock and the runner's nanosecond slots hold
/// (a `horizon` of 1e19 used to panic with "cannot convert float seconds to Duration").
pub(crate) const MAX_SECONDS: f64 = 1e9;

/// The rule a time field breaks, in the error message (never the value: `1e300` would
/// print as 301 digits).
const SECONDS: &str = "must be a finite number of seconds from 0 to 1000000000 (about 31 years)";

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Scenario::parse(text).unwrap_err().0
    }

    #[test]
    #[allow(clippy::float_cmp, reason = "the defaults are exact literals")]
    fn defaults() {
        let s = Scenario::parse(r#"{"tasks": [{"name": "a"}], "horizon": 10}"#).unwrap();
        let t = &s.tasks[0];
        assert_eq!(
            (
                t.spacing(),
                t.run_immediately,
                t.enabled,
                t.external_process_ok,
                t.duration,
                t.fails
            ),
            (0.0, false, true, false, 0.0, false)
        );
        assert!(s.run_external_periodic_tasks);
        assert_eq!(s.periodic_interval_max, None);
        assert_eq!(s.initial_delay, 0.0);
        assert!(!s.jitter);
    }

    #[test]
    fn timeout_and_overrun() {
        let s = Scenario::parse(
            r#"{"tasks": [{"name": "a", "timeout": 2.5, "overrun": "skip"},
                          {"name": "b", "overrun": {"catch_up": 3}}], "horizon": 10}"#,
        )
        .unwrap();
        assert_eq!(s.tasks[0].timeout, Some(2.5));
        assert_eq!(s.tasks[0].overrun, OverrunSpec::Skip);
        assert_eq!(s.tasks[1].overrun, OverrunSpec::CatchUp(3));
        assert_eq!(s.tasks[1].timeout, None);
        assert_eq!(
            err(r#"{"tasks": [{"name": "a", "timeout": 0}], "horizon": 10}"#),
            "invalid scenario field `tasks[0].timeout`: must be a number of seconds from 0.001 \
             to 1000000000 (about 31 years); leave it out for no limit"
        );
        assert!(
            err(r#"{"tasks": [{"name": "a", "overrun": "later"}], "horizon": 10}"#)
                .starts_with("invalid scenario field `tasks[0].overrun`: unknown variant `later`"),
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err(r#"{"tasks": [{"name": "a", "spacing": "7"}], "horizon": 10}"#),
            "invalid scenario field `tasks[0].spacing`: invalid type: string \"7\", expected f64 at line 1 column 39"
        );
        assert!(
            err(r#"{"tasks": [{"name": "a", "spacng": 7}], "horizon": 10}"#).starts_with(
                "invalid scenario field `tasks[0].spacng`: unknown field `spacng`, expected one of"
            )
        );
        assert!(err(r#"{"tasks": []}"#).contains("missing field `horizon`"));
        assert_eq!(
            err(r#"{"tasks": [{"name": "a", "duration": -1}], "horizon": 10}"#),
            "invalid scenario field `tasks[0].duration`: must be a finite number of seconds from 0 to 1000000000 (about 31 years)"
        );
        assert!(
            err(r#"{"tasks": [{"name": "a"}, {"name": "a"}], "horizon": 1}"#)
                .contains("`tasks[1].name`: task name `a` is used twice")
        );
        assert!(
            err(r#"{"tasks": [], "horizon": 1, "periodic_interval_max": 0}"#)
                .contains("`periodic_interval_max`")
        );
        assert!(err("{").starts_with("invalid scenario: EOF while parsing"));
    }

    #[test]
    fn every_number_is_range_checked() {
        for (scenario, field) in [
            (r#"{"tasks": [], "horizon": 1e19}"#, "horizon"),
            (
                r#"{"tasks": [], "horizon": 1, "initial_delay": 1e300}"#,
                "initial_delay",
            ),
            (
                r#"{"tasks": [], "horizon": 1, "periodic_interval_max": 1e300}"#,
                "periodic_interval_max",
            ),
            (
                r#"{"tasks": [{"name": "a", "duration": 1e300}], "horizon": 1}"#,
                "tasks[0].duration",
            ),
            (
                r#"{"tasks": [{"name": "a", "spacing": 1e300}], "horizon": 1}"#,
                "tasks[0].spacing",
            ),
        ] {
            let message = err(scenario);
            assert!(
                message.contains(&format!("`{field}`")),
                "{scenario}: {message}"
            );
            assert!(message.len() < 200, "no 300-digit number: {message}");
        }
        // The largest accepted values, and any negative spacing (disabled).
        Scenario::parse(
            r#"{"tasks": [{"name": "a", "spacing": -1e300, "duration": 1e9}],
                "horizon": 1e9, "initial_delay": 1e9, "periodic_interval_max": 1e9}"#,
        )
        .unwrap();
    }
}
