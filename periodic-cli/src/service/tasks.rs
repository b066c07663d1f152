//! `periodic service tasks`: a running service's periodic tasks, from `GET {url}/tasks`
//! of its HTTP API.
//!
//! The answer (the contract with the API):
//!
//! ```text
//! {"service": {"host", "binary", "topic"},
//!  "tasks": [{"name", "full_name", "spacing" (s, null for a cron task), "cron" (the
//!             expression or null), "tz", "timeout" (s or null), "overrun", "enabled", "run_immediately",
//!             "external_process_ok", "last_run_ago" (s or null),
//!             "next_due_in" (s, negative when overdue, or null), "runs", "failures",
//!             "last_duration" (s or null), "last_lateness" (s or null), "running"}]}
//! ```
//!
//! Unknown keys are ignored, so a newer server still works.

use std::time::Duration;

use serde::Deserialize;

use super::args::{TasksArgs, TasksFormat};
use super::time::human;
use crate::error::Error;
use crate::table::Table;

#[derive(Debug, Deserialize)]
struct Answer {
    service: ServiceInfo,
    tasks: Vec<TaskInfo>,
}

#[derive(Debug, Deserialize)]
struct ServiceInfo {
    host: String,
    binary: String,
    #[serde(default)]
    topic: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TaskInfo {
    name: String,
    /// `null` for a cron task (a server before cron schedules always sends a number).
    #[serde(default)]
    spacing: Option<f64>,
    #[serde(default)]
    cron: Option<String>,
    #[serde(default)]
    tz: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    last_run_ago: Option<f64>,
    #[serde(default)]
    next_due_in: Option<f64>,
    #[serde(default)]
    runs: u64,
    #[serde(default)]
    failures: u64,
    #[serde(default)]
    last_duration: Option<f64>,
    #[serde(default)]
    running: bool,
}

fn yes() -> bool {
    true
}

/// Fetches and renders the tasks.
pub(crate) async fn run(args: &TasksArgs, token: Option<&str>) -> Result<String, Error> {
    let parsed = reqwest::Url::parse(&args.url)
        .map_err(|e| Error::Usage(format!("invalid URL `{}`: {e}", args.url)))?;
    if parsed.scheme() != "http" || parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::Usage(format!(
            "`{}` is not an http://HOST:PORT URL (the service's API serves plain HTTP, by \
             default on loopback: http://127.0.0.1:8774)",
            args.url
        )));
    }
    let base = args.url.trim_end_matches('/');
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        return Err(Error::Usage(
            "--timeout must be a positive number of seconds".to_owned(),
        ));
    }
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| Error::Usage("--timeout is too long".to_owned()))?;
    let url = format!("{base}/tasks");
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(Error::HttpClient)?;
    let mut request = client.get(&url).header("Accept", "application/json");
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    let unreachable = |e: &reqwest::Error| {
        if e.is_timeout() {
            Error::Api(format!("no answer from {url} within {}s", args.timeout))
        } else if e.is_builder() {
            Error::Usage(format!("invalid URL `{url}`: {}", root_cause(e)))
        } else {
            Error::Api(format!("cannot reach {url}: {}", root_cause(e)))
        }
    };
    let response = request.send().await.map_err(|e| unreachable(&e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| unreachable(&e))?;
    if !status.is_success() {
        return Err(Error::Api(format!(
            "{url} answered {status}: {}",
            fault_message(&body)
        )));
    }
    let answer: Answer = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(
        &body,
    ))
    .map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path == "?" {
            Error::Api(format!("unexpected answer from {url}: {inner}"))
        } else {
            Error::Api(format!("unexpected answer from {url}: `{path}`: {inner}"))
        }
    })?;
    Ok(match args.format {
        TasksFormat::Json => {
            let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let mut out = serde_json::to_string_pretty(&value).unwrap_or(body);
            out.push('\n');
            out
        }
        TasksFormat::Table => render(&answer),
    })
}

/// The innermost error's text: `Connection refused (os error 111)` rather than reqwest's
/// chain of wrappers.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// nova's fault body `{"itemNotFound": {"message": ..., "code": 404}}`, or the body's
/// first line.
fn fault_message(body: &str) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body)
        && let Some(message) = map
            .values()
            .find_map(|v| v.get("message").and_then(serde_json::Value::as_str))
    {
        return message.to_owned();
    }
    let line = body.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "(empty body)".to_owned()
    } else {
        line.chars().take(200).collect()
    }
}

fn render(answer: &Answer) -> String {
    let s = &answer.service;
    let mut out = match &s.topic {
        Some(topic) => format!("{} on {} (topic {topic})\n", s.binary, s.host),
        None => format!("{} on {}\n", s.binary, s.host),
    };
    let mut table = Table::new(&[
        "Task",
        "Spacing",
        "Last Run",
        "Next Due",
        "Runs",
        "Failures",
        "Last Duration",
    ])
    .right(&["Spacing", "Runs", "Failures", "Last Duration"]);
    for t in &answer.tasks {
        let mut last_run = t
            .last_run_ago
            .map_or_else(|| "never".to_owned(), |ago| format!("{} ago", human(ago)));
        if t.running {
            last_run.push_str(" (running)");
        }
        let next_due = match t.next_due_in {
            _ if !t.enabled => "disabled".to_owned(),
            None => "-".to_owned(),
            Some(x) if x < 0.0 => format!("overdue {}", human(-x)),
            Some(x) => format!("in {}", human(x)),
        };
        table.push(vec![
            t.name.clone(),
            match (&t.cron, &t.tz, t.spacing) {
                (Some(cron), Some(tz), _) if tz != "UTC" => format!("cron {cron} ({tz})"),
                (Some(cron), _, _) => format!("cron {cron}"),
                (None, _, Some(spacing)) => format!("{spacing}s"),
                (None, _, None) => "-".to_owned(),
            },
            last_run,
            next_due,
            t.runs.to_string(),
            t.failures.to_string(),
            t.last_duration.map_or_else(|| "-".to_owned(), human),
        ]);
    }
    if table.is_empty() {
        out.push_str("no periodic tasks\n");
    } else {
        out.push_str(&table.render());
    }
    out
}
