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
    #[serde(default)]
    pub(crate) spacing: f64,
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
}

fn yes() -> bool {
    true
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
}

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

    fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |field: String, why: &str| {
            Err(ScenarioError(format!(
                "invalid scenario field `{field}`: {why}"
            )))
        };
        if !self.horizon.is_finite() || self.horizon < 0.0 {
            return bad(
                "horizon".into(),
                "must be a finite number of seconds, 0 or more",
            );
        }
        if !self.initial_delay.is_finite() || self.initial_delay < 0.0 {
            return bad(
                "initial_delay".into(),
                "must be a finite number of seconds, 0 or more",
            );
        }
        if let Some(max) = self.periodic_interval_max
            && (!max.is_finite() || max <= 0.0)
        {
            return bad(
                "periodic_interval_max".into(),
                "must be a positive number of seconds (leave it out for no cap)",
            );
        }
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
            if !task.spacing.is_finite() {
                return bad(
                    format!("tasks[{i}].spacing"),
                    "must be a finite number of seconds",
                );
            }
            if task.spacing > 0.0 && task.spacing < 0.001 {
                return bad(
                    format!("tasks[{i}].spacing"),
                    "must be 0 (default interval), negative (disabled) or at least 0.001 s (the timer's resolution)",
                );
            }
            if !task.duration.is_finite() || task.duration < 0.0 {
                return bad(
                    format!("tasks[{i}].duration"),
                    "must be a finite number of seconds, 0 or more",
                );
            }
        }
        Ok(())
    }
}

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
                t.spacing,
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
            "invalid scenario field `tasks[0].duration`: must be a finite number of seconds, 0 or more"
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
}
