//! The TOML file: its shape, its value types, and errors that name the file, the section
//! and the key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::options::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::periodic::Spacing;
use crate::servicegroup::LivenessDriver;

/// The sections, as they appear in error messages.
const SECTIONS: &[&str] = &[
    "DEFAULT",
    "database",
    "cache",
    "zookeeper",
    "etcd",
    "periodic_task_spacing",
    "api",
];

/// The keys of `[DEFAULT]`, for the hint on a key written outside any section.
const DEFAULT_KEYS: &[&str] = &[
    "host",
    "report_interval",
    "service_down_time",
    "clock_skew_warning",
    "periodic_enable",
    "periodic_fuzzy_delay",
    "periodic_interval_max",
    "run_external_periodic_tasks",
    "graceful_shutdown_timeout",
    "servicegroup_driver",
    "fleet_store",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(rename = "DEFAULT", default)]
    default: RawDefault,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    cache: RawCache,
    #[serde(default)]
    zookeeper: RawZookeeper,
    #[serde(default)]
    etcd: RawEtcd,
    #[serde(default)]
    periodic_task_spacing: BTreeMap<String, OsloSpacing>,
    #[serde(default)]
    api: RawApi,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefault {
    host: Option<NonEmpty>,
    report_interval: Option<Seconds>,
    service_down_time: Option<Seconds>,
    clock_skew_warning: Option<Seconds>,
    periodic_enable: Option<bool>,
    periodic_fuzzy_delay: Option<Seconds>,
    periodic_interval_max: Option<Seconds>,
    run_external_periodic_tasks: Option<bool>,
    graceful_shutdown_timeout: Option<Seconds>,
    servicegroup_driver: Option<Driver>,
    fleet_store: Option<NonEmpty>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    connection: Option<NonEmpty>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    memcache_servers: Option<Servers>,
    redis_url: Option<NonEmpty>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZookeeper {
    address: Option<Servers>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEtcd {
    endpoints: Option<Servers>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    bind: Option<SocketAddr>,
    auth_token: Option<String>,
}

/// Reads `text` into `config`: only the keys present change.
pub(super) fn apply(config: &mut Config, text: &str, origin: &str) -> Result<()> {
    let raw = parse(text, origin)?;
    let d = raw.default;
    if let Some(NonEmpty(host)) = d.host {
        config.host = Some(host);
    }
    if let Some(Seconds(v)) = d.report_interval {
        config.report_interval = v;
    }
    if let Some(Seconds(v)) = d.service_down_time {
        config.service_down_time = v;
    }
    if let Some(Seconds(v)) = d.clock_skew_warning {
        config.clock_skew_warning = v;
    }
    if let Some(v) = d.periodic_enable {
        config.periodic_enable = v;
    }
    if let Some(Seconds(v)) = d.periodic_fuzzy_delay {
        config.periodic_fuzzy_delay = v;
    }
    if let Some(Seconds(v)) = d.periodic_interval_max {
        config.periodic_interval_max = (!v.is_zero()).then_some(v);
    }
    if let Some(v) = d.run_external_periodic_tasks {
        config.run_external_periodic_tasks = v;
    }
    if let Some(Seconds(v)) = d.graceful_shutdown_timeout {
        config.graceful_shutdown_timeout = v;
    }
    if let Some(Driver(v)) = d.servicegroup_driver {
        config.servicegroup_driver = v;
    }
    if let Some(NonEmpty(v)) = d.fleet_store {
        config.fleet_store = Some(v);
    }
    if let Some(NonEmpty(v)) = raw.database.connection {
        config.database.connection = v;
    }
    if let Some(Servers(v)) = raw.cache.memcache_servers {
        config.cache.memcache_servers = v;
    }
    if let Some(NonEmpty(v)) = raw.cache.redis_url {
        config.cache.redis_url = Some(v);
    }
    if let Some(Servers(v)) = raw.zookeeper.address {
        config.zookeeper.address = v;
    }
    if let Some(Servers(v)) = raw.etcd.endpoints {
        config.etcd.endpoints = v;
    }
    for (name, OsloSpacing(spacing)) in raw.periodic_task_spacing {
        config.periodic_task_spacing.insert(name, spacing);
    }
    if let Some(bind) = raw.api.bind {
        config.api.bind = Some(bind);
    }
    if let Some(token) = raw.api.auth_token {
        config.api.auth_token = Some(token);
    }
    Ok(())
}

fn parse(text: &str, origin: &str) -> Result<RawFile> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| position(text, s.start))
            .unwrap_or_default();
        config_error(format!("{origin}: invalid TOML{at}: {}", e.message()))
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let segments: Vec<String> = e.path().iter().map(ToString::to_string).collect();
        let inner = e.into_inner();
        let at = inner
            .span()
            .map(|s| position(text, s.start))
            .unwrap_or_default();
        config_error(describe(origin, &segments, inner.message(), &at))
    })
}

/// One line naming the file, the section and the key.
fn describe(origin: &str, segments: &[String], message: &str, at: &str) -> String {
    let unknown = message.strip_prefix("unknown field ");
    match segments {
        [section, key] => match unknown {
            Some(rest) => format!(
                "{origin}: unknown key `{key}` in [{section}]{at}; {}",
                expected(rest)
            ),
            None => format!("{origin}: wrong value for `{key}` in [{section}]{at}: {message}"),
        },
        [name] => match unknown {
            Some(_) if DEFAULT_KEYS.contains(&name.as_str()) => {
                format!("{origin}: key `{name}` outside any section{at}; it belongs in [DEFAULT]")
            }
            Some(_) => format!(
                "{origin}: unknown section or key `{name}`{at}; expected the sections {}",
                SECTIONS
                    .iter()
                    .map(|s| format!("[{s}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("{origin}: wrong value for [{name}]{at}: {message}"),
        },
        _ => format!("{origin}{at}: {message}"),
    }
}

/// `` `x`, expected one of `a`, `b` `` → `` expected one of `a`, `b` ``.
fn expected(rest: &str) -> &str {
    rest.split_once(", ").map_or(rest, |(_, tail)| tail)
}

/// ` (line L, column C)` of a byte offset, both 1-based.
fn position(text: &str, offset: usize) -> String {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, tail)| tail)
        .chars()
        .count()
        + 1;
    format!(" (line {line}, column {column})")
}

fn config_error(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

// ===== value types =====

/// A duration in seconds: a number, 0 or more (integer or fraction).
#[derive(Debug)]
struct Seconds(Duration);

pub(super) const SECONDS_EXPECTED: &str = "a number of seconds, 0 or more";

/// The most seconds any option takes: about 31 years. Longer times mean nothing to a
/// service, and sums of a few of them must stay far inside what tokio's clock holds.
pub(super) const MAX_SECONDS: f64 = 1e9;

/// Seconds → `Duration`, or why not.
pub(super) fn seconds(value: f64) -> std::result::Result<Duration, String> {
    if !value.is_finite() || value < 0.0 {
        return Err(format!("expected {SECONDS_EXPECTED}, got {}", shown(value)));
    }
    if value > MAX_SECONDS {
        return Err(too_long(value));
    }
    Duration::try_from_secs_f64(value).map_err(|_| too_long(value))
}

fn too_long(value: f64) -> String {
    format!(
        "{} seconds is too long; at most 1000000000 (about 31 years)",
        shown(value)
    )
}

/// A number as the user can read it: `1e300`, not 301 digits.
pub(super) fn shown(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e15 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(SECONDS_EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Seconds, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("expected {SECONDS_EXPECTED}, got {v}")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Seconds, E> {
                if v > 1_000_000_000 {
                    return Err(E::custom(format!(
                        "{v} seconds is too long; at most 1000000000 (about 31 years)"
                    )));
                }
                Ok(Seconds(Duration::from_secs(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Seconds, E> {
                seconds(v).map(Seconds).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A task's spacing as oslo writes it: a number of seconds, `0` for the default interval,
/// negative for disabled; read with [`Spacing::from_secs_f64`].
#[derive(Debug)]
struct OsloSpacing(Spacing);

impl<'de> Deserialize<'de> for OsloSpacing {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OsloSpacing;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a spacing in seconds (0: the default interval; negative: disabled)")
            }
            #[allow(clippy::cast_precision_loss)] // spacings are far below 2^53 seconds
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<OsloSpacing, E> {
                self.visit_f64(v as f64)
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<OsloSpacing, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<OsloSpacing, E> {
                if v > MAX_SECONDS {
                    return Err(E::custom(format!(
                        "a spacing of {} seconds is too long; at most 1000000000 (about 31 \
                         years), 0 for the default interval, negative to disable",
                        shown(v)
                    )));
                }
                Spacing::from_secs_f64(v)
                    .map(OsloSpacing)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string that must not be empty.
#[derive(Debug)]
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            Err(de::Error::custom("must not be empty"))
        } else {
            Ok(NonEmpty(s))
        }
    }
}

/// A liveness driver name (`db`, `mc`, ...).
#[derive(Debug)]
struct Driver(LivenessDriver);

impl<'de> Deserialize<'de> for Driver {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Driver)
            .map_err(|e: Error| de::Error::custom(e.message()))
    }
}

/// memcached servers: an array of `host:port` strings, or one comma-separated string
/// (oslo.config's `ListOpt` spelling).
#[derive(Debug)]
struct Servers(Vec<String>);

pub(super) fn split_servers(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl<'de> Deserialize<'de> for Servers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Servers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of \"host:port\" strings, or one comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Servers, E> {
                Ok(Servers(split_servers(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Servers, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    if s.trim().is_empty() {
                        return Err(de::Error::custom("a server must not be empty"));
                    }
                    out.push(s);
                }
                Ok(Servers(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reading the configuration from its TOML source: here, beside the parser it
/// calls, so that `options.rs` (the type) does not import its readers.
impl Config {
    /// Overrides the options that the TOML `text` sets; the others keep their values.
    /// `origin` (usually the file's name) starts every error message. Nothing changes on
    /// error.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config), naming `origin`, the section, the
    /// key and the line: a TOML syntax error, an unknown section or key (the message lists
    /// the valid ones), a value of the wrong type or out of range (a negative duration,
    /// an unknown driver, an empty `connection`, a malformed `bind` address).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use periodic::{Config, Spacing};
    ///
    /// let mut config = Config::default();
    /// config.update_from_toml("[periodic_task_spacing]\n_sync_power_states = 300\n", "x.toml")?;
    /// assert_eq!(
    ///     config.periodic_task_spacing["_sync_power_states"],
    ///     Spacing::Every(Duration::from_secs(300))
    /// );
    /// assert_eq!(config.report_interval, Duration::from_secs(10)); // untouched
    /// # Ok::<(), periodic::Error>(())
    /// ```
    pub fn update_from_toml(&mut self, text: &str, origin: &str) -> Result<()> {
        let mut next = self.clone();
        apply(&mut next, text, origin)?;
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml(text, "periodic.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_key_is_read() {
        let config = Config::from_toml(
            r#"
[DEFAULT]
host = "node-9"
report_interval = 2.5
service_down_time = 30
clock_skew_warning = 1.5
periodic_enable = false
periodic_fuzzy_delay = 0
periodic_interval_max = 0
run_external_periodic_tasks = false
graceful_shutdown_timeout = 5
servicegroup_driver = "mc"

[database]
connection = "postgres://nova@db/nova"

[cache]
memcache_servers = "a:11211, b:11211"
redis_url = "redis://r:6379"

[zookeeper]
address = ["z1:2181", "z2:2181"]

[etcd]
endpoints = "e1:2379"

[periodic_task_spacing]
_sync_power_states = 300
_heal_instance_info_cache = -1
update_available_resource = 0.5

[api]
bind = "127.0.0.1:9000"
auth_token = "t"
"#,
            "periodic.toml",
        )
        .unwrap();
        assert_eq!(config.host.as_deref(), Some("node-9"));
        assert_eq!(config.report_interval, Duration::from_millis(2500));
        assert_eq!(config.service_down_time, Duration::from_secs(30));
        assert_eq!(config.clock_skew_warning, Duration::from_millis(1500));
        assert_eq!(
            config.servicegroup_config().clock_skew_warning_threshold(),
            Duration::from_millis(1500)
        );
        assert!(!config.periodic_enable);
        assert_eq!(config.periodic_fuzzy_delay, Duration::ZERO);
        assert_eq!(config.periodic_interval_max, None);
        assert!(!config.run_external_periodic_tasks);
        assert_eq!(config.graceful_shutdown_timeout, Duration::from_secs(5));
        assert_eq!(config.servicegroup_driver, LivenessDriver::MC);
        assert_eq!(config.database.connection, "postgres://nova@db/nova");
        assert_eq!(config.cache.memcache_servers, ["a:11211", "b:11211"]);
        assert_eq!(config.cache.redis_url.as_deref(), Some("redis://r:6379"));
        assert_eq!(config.zookeeper.address, ["z1:2181", "z2:2181"]);
        assert_eq!(config.etcd.endpoints, ["e1:2379"]);
        assert_eq!(
            config.periodic_task_spacing.iter().collect::<Vec<_>>(),
            [
                (&"_heal_instance_info_cache".to_owned(), &Spacing::Disabled),
                (
                    &"_sync_power_states".to_owned(),
                    &Spacing::Every(Duration::from_secs(300))
                ),
                (
                    &"update_available_resource".to_owned(),
                    &Spacing::Every(Duration::from_millis(500))
                )
            ]
        );
        assert_eq!(config.api.bind, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(config.api.auth_token.as_deref(), Some("t"));
    }

    #[test]
    fn an_empty_file_keeps_the_defaults() {
        assert_eq!(Config::from_toml("", "x").unwrap(), Config::default());
        assert_eq!(
            Config::from_toml("[DEFAULT]\n[database]\n", "x").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn unknown_keys_name_the_file_the_section_and_the_key() {
        let e = err("[DEFAULT]\nreport_intervall = 5\n");
        assert!(
            e.starts_with(
                "periodic.toml: unknown key `report_intervall` in [DEFAULT] (line 2, column 1); \
                 expected one of `host`, `report_interval`,"
            ),
            "{e}"
        );
        let e = err("[database]\nurl = \"sqlite://x\"\n");
        assert_eq!(
            e,
            "periodic.toml: unknown key `url` in [database] (line 2, column 1); expected `connection`"
        );
        let e = err("report_interval = 5\n");
        assert_eq!(
            e,
            "periodic.toml: key `report_interval` outside any section (line 1, column 1); it belongs in [DEFAULT]"
        );
        let e = err("[databse]\nconnection = \"x\"\n");
        assert!(
            e.starts_with("periodic.toml: unknown section or key `databse` (line 1, column 2); expected the sections [DEFAULT], [database]"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        assert_eq!(
            err("[DEFAULT]\nservice_down_time = \"60\"\n"),
            "periodic.toml: wrong value for `service_down_time` in [DEFAULT] (line 2, column 21): \
             invalid type: string \"60\", expected a number of seconds, 0 or more"
        );
        assert_eq!(
            err("[DEFAULT]\nreport_interval = -1\n"),
            "periodic.toml: wrong value for `report_interval` in [DEFAULT] (line 2, column 19): \
             expected a number of seconds, 0 or more, got -1"
        );
        assert_eq!(
            err("[DEFAULT]\nreport_interval = nan\n"),
            "periodic.toml: wrong value for `report_interval` in [DEFAULT] (line 2, column 19): \
             expected a number of seconds, 0 or more, got NaN"
        );
        assert_eq!(
            err("[DEFAULT]\nperiodic_enable = \"yes\"\n"),
            "periodic.toml: wrong value for `periodic_enable` in [DEFAULT] (line 2, column 19): \
             invalid type: string \"yes\", expected a boolean"
        );
        assert_eq!(
            err("[DEFAULT]\nservicegroup_driver = \"zookeeper\"\n"),
            "periodic.toml: wrong value for `servicegroup_driver` in [DEFAULT] (line 2, column 23): \
             unknown servicegroup driver `zookeeper`; expected `db`, `mc`, `redis`, `zk` or `etcd`"
        );
        assert_eq!(
            err("[database]\nconnection = \"\"\n"),
            "periodic.toml: wrong value for `connection` in [database] (line 2, column 14): must not be empty"
        );
        assert!(
            err("[api]\nbind = \"localhost\"\n")
                .starts_with("periodic.toml: wrong value for `bind` in [api] (line 2, column 8): "),
        );
        assert!(
            err("[periodic_task_spacing]\n_sync = \"x\"\n").starts_with(
                "periodic.toml: wrong value for `_sync` in [periodic_task_spacing] (line 2, column 9): invalid type: string"
            )
        );
        assert_eq!(
            err("[periodic_task_spacing]\n_sync = 1e-12\n"),
            "periodic.toml: wrong value for `_sync` in [periodic_task_spacing] (line 2, column 9): \
             a spacing must be at least a nanosecond, got 0.000000000001 seconds"
        );
        // Out of range: the file, the key, and the number as written, not 301 digits.
        assert_eq!(
            err("[periodic_task_spacing]\n_sync = 1e300\n"),
            "periodic.toml: wrong value for `_sync` in [periodic_task_spacing] (line 2, column 9): \
             a spacing of 1e300 seconds is too long; at most 1000000000 (about 31 years), 0 for \
             the default interval, negative to disable"
        );
        assert_eq!(
            err("[DEFAULT]\nreport_interval = 1e300\n"),
            "periodic.toml: wrong value for `report_interval` in [DEFAULT] (line 2, column 19): \
             1e300 seconds is too long; at most 1000000000 (about 31 years)"
        );
        assert_eq!(
            err("[DEFAULT]\nservice_down_time = 9000000000000000000\n"),
            "periodic.toml: wrong value for `service_down_time` in [DEFAULT] (line 2, column 21): \
             9000000000000000000 seconds is too long; at most 1000000000 (about 31 years)"
        );
        assert_eq!(
            err("[periodic_task_spacing]\n_sync = nan\n"),
            "periodic.toml: wrong value for `_sync` in [periodic_task_spacing] (line 2, column 9): \
             a spacing must be a finite number of seconds, got NaN"
        );
        assert!(
            err("database = 5\n")
                .starts_with("periodic.toml: wrong value for [database] (line 1, column 12): invalid type: integer `5`"),
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = err("[DEFAULT]\nreport_interval = = 5\n");
        assert!(
            e.starts_with("periodic.toml: invalid TOML (line 2, column"),
            "{e}"
        );
        let e = err("[DEFAULT]\nhost = \"a\"\nhost = \"b\"\n");
        assert!(e.starts_with("periodic.toml: invalid TOML (line 3"), "{e}");
    }

    #[test]
    fn nothing_changes_on_error() {
        let mut config = Config::default();
        let before = config.clone();
        assert!(
            config
                .update_from_toml("[DEFAULT]\nreport_interval = 1\nbogus = 2\n", "x")
                .is_err()
        );
        assert_eq!(config, before);
    }
}
