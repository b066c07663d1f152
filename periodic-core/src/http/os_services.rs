//! `GET /os-services`, `PUT /os-services/{id}`, `DELETE /os-services/{id}`: nova's
//! `ServiceController` over a [`ServiceGroup`](crate::ServiceGroup).

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::Access;
use super::fault::{Fault, json_body};
use super::microversion::{FORCED_DOWN, Microversion, UUID_FOR_ID};
use super::state::AppState;
use crate::servicegroup::{ServiceFilter, ServiceRecord, ServiceStatus};

/// nova's text for a `PUT` that changes nothing.
pub(crate) const NO_UPDATES: &str =
    "No updates were requested. Fields 'status' or 'forced_down' should be specified.";
/// nova's text for `disabled_reason` with `status: enabled`.
pub(crate) const REASON_WITH_ENABLED: &str =
    "Specifying 'disabled_reason' with status 'enabled' is invalid.";

/// The values nova's `parameter_types.boolean` accepts (then read with
/// `strutils.bool_from_string(strict=True)`).
const TRUE_STRINGS: [&str; 8] = ["True", "TRUE", "true", "1", "ON", "On", "on", "YES"];
const TRUE_STRINGS_MORE: [&str; 2] = ["Yes", "yes"];
const FALSE_STRINGS: [&str; 10] = [
    "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no",
];
const BOOLEAN_ENUM: &str = "[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', \
     'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']";

/// `GET /os-services[?host=H][&binary=B]`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(
        &state.clone(),
        &headers,
        Access::Read,
        |version| async move {
            let filter = parse_filter(query.as_deref())?;
            let services = state.store(state.group().list(&filter)).await?;
            let views: Vec<Value> = services.iter().map(|s| view(s, version)).collect();
            Ok((StatusCode::OK, Some(json!({ "services": views }))))
        },
    )
    .await
}

/// The largest request body read: nova's `max_request_body_size` (oslo.middleware's
/// `sizelimit`, 112 KiB). A `PUT` body is a few dozen bytes.
pub(crate) const MAX_BODY: usize = 114_688;

/// `PUT /os-services/{id}`: from 2.53 an update of the service with this UUID, before
/// 2.53 one of the actions `enable`, `disable`, `disable-log-reason`, `force-down`.
pub(crate) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    answer(
        &state.clone(),
        &headers,
        Access::Write,
        |version| async move {
            let body = body.map_err(|rejection| body_fault(&rejection))?;
            let body = parse_body(&body)?;
            if version >= UUID_FOR_ID {
                update_v253(&state, version, &id, &body).await
            } else {
                update_legacy(&state, version, &id, &body).await
            }
        },
    )
    .await
}

/// `DELETE /os-services/{id}`: 204, or 404 for an unknown service.
pub(crate) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        &state.clone(),
        &headers,
        Access::Write,
        |version| async move {
            let record = lookup(&state, version, &id).await?;
            state.store(state.group().delete(record.id)).await?;
            tracing::info!(
                host = %record.host,
                binary = %record.binary,
                id = record.id,
                "service deleted through the API"
            );
            Ok((StatusCode::NO_CONTENT, None))
        },
    )
    .await
}

/// Auth, then the microversion, then the handler; every answer carries nova's version
/// headers once the version is known.
async fn answer<F, Fut>(state: &AppState, headers: &HeaderMap, access: Access, f: F) -> Response
where
    F: FnOnce(Microversion) -> Fut,
    Fut: Future<Output = Result<(StatusCode, Option<Value>), Fault>>,
{
    if let Err(fault) = state.auth().check(headers, access) {
        return fault.into_response();
    }
    let version = match Microversion::from_headers(headers) {
        Ok(version) => version,
        Err(fault) => return fault.into_response(),
    };
    let mut response = match f(version).await {
        Ok((status, Some(body))) => (status, json_body(&body)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(fault) => fault.into_response(),
    };
    for (name, value) in version.response_headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

/// nova's view of one service at `version`.
pub(crate) fn view(status: &ServiceStatus, version: Microversion) -> Value {
    let r = &status.record;
    let mut view = json!({
        "id": if version >= UUID_FOR_ID { json!(r.uuid) } else { json!(r.id) },
        "binary": r.binary,
        "host": r.host,
        "zone": zone(r),
        "status": status.status(),
        "state": status.state(),
        "updated_at": status.updated_time.map(nova_time),
        "disabled_reason": r.disabled_reason,
    });
    if version >= FORCED_DOWN {
        view["forced_down"] = json!(r.forced_down);
    }
    view
}

/// nova's `zone`: see [`ServiceRecord::zone`].
pub(crate) fn zone(record: &ServiceRecord) -> &str {
    record.zone()
}

/// nova's timestamp format: ISO 8601 in UTC without a zone, with microseconds, e.g.
/// `2026-11-23T02:37:25.000000`.
pub(crate) fn nova_time(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The `host` and `binary` filters (exact match, the last one wins, empty means none);
/// anything else is refused as nova does from 2.75.
fn parse_filter(query: Option<&str>) -> Result<ServiceFilter, Fault> {
    let mut filter = ServiceFilter::all();
    let Some(query) = query else {
        return Ok(filter);
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| Fault::bad_request(format!("Invalid query string: {e}")))?;
    for (name, value) in pairs {
        let value = (!value.is_empty()).then_some(value);
        match name.as_str() {
            "host" => filter.host = value,
            "binary" => filter.binary = value,
            _ => {
                return Err(Fault::bad_request(format!(
                    "Invalid input for query parameters {name}. Value: {}. Additional \
                     properties are not allowed ('{name}' was unexpected)",
                    value.unwrap_or_default()
                )));
            }
        }
    }
    Ok(filter)
}

/// A body that could not be read, in nova's format (axum answers in plain text): 413
/// `overLimit` past [`MAX_BODY`], as nova's `Request is too large.`; 400 otherwise.
fn body_fault(rejection: &BytesRejection) -> Fault {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Fault::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request is too large: the limit is {MAX_BODY} bytes."),
        )
    } else {
        Fault::new(
            rejection.status(),
            format!("Malformed request body: {}", rejection.body_text()),
        )
    }
}

/// The body as a JSON object, or nova's 400.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Fault> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Fault::bad_request(
            "Malformed request body: the body is empty; expected a JSON object",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute body. Value: {other}. {other} is not of type 'object'"
        ))),
        Err(e) => Err(Fault::bad_request(format!("Malformed request body: {e}"))),
    }
}

/// A value as nova's messages show it: strings bare, everything else as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn invalid(field: &str, value: &Value, why: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {}. {why}",
        shown(value)
    ))
}

fn refuse_unknown(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), Fault> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{key}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

fn string_field<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    max_len: usize,
) -> Result<Option<&'a str>, Fault> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(field, &json!(s), "'' is too short")),
        Some(Value::String(s)) if s.chars().count() > max_len => {
            Err(invalid(field, &json!(s), &format!("'{s}' is too long")))
        }
        // No store keeps a NUL the same way: refused here with the same 400 for all
        // (PostgreSQL's "invalid byte sequence" used to come back as a 503).
        Some(Value::String(s)) if s.contains('\0') => Err(invalid(
            field,
            &json!(s),
            "it must not contain a NUL character",
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(
            field,
            other,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// nova's `parameter_types.boolean` read strictly: JSON booleans and nova's spellings.
fn boolean_field(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, Fault> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if TRUE_STRINGS.contains(&s.as_str()) => Ok(Some(true)),
        Some(Value::String(s)) if TRUE_STRINGS_MORE.contains(&s.as_str()) => Ok(Some(true)),
        Some(Value::String(s)) if FALSE_STRINGS.contains(&s.as_str()) => Ok(Some(false)),
        Some(other) => {
            let repr = match other {
                Value::String(s) => format!("'{s}'"),
                v => v.to_string(),
            };
            Err(invalid(
                field,
                other,
                &format!("{repr} is not one of {BOOLEAN_ENUM}"),
            ))
        }
    }
}

/// The `status` part of a 2.53 `PUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusChange<'a> {
    Enable,
    /// Disable, with the optional `disabled_reason`.
    Disable(Option<&'a str>),
}

/// What a 2.53 `PUT` asks for, checked before anything is written.
#[derive(Debug, PartialEq, Eq)]
struct Update<'a> {
    status: Option<StatusChange<'a>>,
    forced_down: Option<bool>,
}

/// nova's `service_update_v253` schema and the checks of `ServiceController.update`.
fn parse_update(body: &Map<String, Value>) -> Result<Update<'_>, Fault> {
    refuse_unknown(body, &["status", "disabled_reason", "forced_down"])?;
    let reason = string_field(body, "disabled_reason", 255)?;
    let forced_down = boolean_field(body, "forced_down")?;
    let status = match body.get("status") {
        None => None,
        Some(Value::String(s)) if s == "enabled" => {
            if reason.is_some() {
                return Err(Fault::bad_request(REASON_WITH_ENABLED));
            }
            Some(StatusChange::Enable)
        }
        Some(Value::String(s)) if s == "disabled" => Some(StatusChange::Disable(reason)),
        Some(other @ Value::String(s)) => {
            return Err(invalid(
                "status",
                other,
                &format!("'{s}' is not one of ['enabled', 'disabled']"),
            ));
        }
        Some(other) => {
            return Err(invalid(
                "status",
                other,
                &format!("{other} is not of type 'string'"),
            ));
        }
    };
    if status.is_none() && forced_down.is_none() {
        return Err(Fault::bad_request(NO_UPDATES));
    }
    Ok(Update {
        status,
        forced_down,
    })
}

async fn update_v253(
    state: &AppState,
    version: Microversion,
    id: &str,
    body: &Map<String, Value>,
) -> Result<(StatusCode, Option<Value>), Fault> {
    let update = parse_update(body)?;
    let record = lookup(state, version, id).await?;
    let group = state.group();
    match update.status {
        Some(StatusChange::Enable) => {
            state.store(group.enable(record.id)).await?;
        }
        Some(StatusChange::Disable(reason)) => {
            state.store(group.disable(record.id, reason)).await?;
        }
        None => {}
    }
    if let Some(forced_down) = update.forced_down {
        state
            .store(group.set_forced_down(record.id, forced_down))
            .await?;
    }
    tracing::info!(
        host = %record.host,
        binary = %record.binary,
        status = ?update.status,
        forced_down = ?update.forced_down,
        "service updated through the API"
    );
    let status = state.store(group.status(record.id)).await?;
    Ok((
        StatusCode::OK,
        Some(json!({ "service": view(&status, version) })),
    ))
}

/// Before 2.53: `PUT /os-services/{enable|disable|disable-log-reason|force-down}` with the
/// service named by `host` and `binary` in the body.
async fn update_legacy(
    state: &AppState,
    version: Microversion,
    action: &str,
    body: &Map<String, Value>,
) -> Result<(StatusCode, Option<Value>), Fault> {
    let unknown = || Fault::not_found("Unknown action");
    let allowed: &[&str] = if version >= FORCED_DOWN {
        &["host", "binary", "disabled_reason", "forced_down"]
    } else {
        &["host", "binary", "disabled_reason"]
    };
    match action {
        "enable" | "disable" | "disable-log-reason" => {}
        "force-down" if version >= FORCED_DOWN => {}
        _ => return Err(unknown()),
    }
    refuse_unknown(body, allowed)?;
    let mut names = Vec::with_capacity(2);
    for field in ["host", "binary"] {
        match string_field(body, field, 255)? {
            Some(value) => names.push(value),
            None => {
                return Err(Fault::bad_request(format!(
                    "'{field}' is a required property"
                )));
            }
        }
    }
    let (host, binary) = (names[0], names[1]);
    let reason = string_field(body, "disabled_reason", 255)?;
    let forced_down = boolean_field(body, "forced_down")?;
    let group = state.group();
    let record = state.store(group.find(host, binary)).await.map_err(|f| {
        if f.status == StatusCode::NOT_FOUND {
            Fault::not_found(format!(
                "Compute host {host} with binary {binary} could not be found."
            ))
        } else {
            f
        }
    })?;
    let service = match action {
        "enable" => {
            state.store(group.enable(record.id)).await?;
            json!({ "host": host, "binary": binary, "status": "enabled" })
        }
        "disable" => {
            state.store(group.disable(record.id, None)).await?;
            json!({ "host": host, "binary": binary, "status": "disabled" })
        }
        "disable-log-reason" => {
            let reason =
                reason.ok_or_else(|| Fault::bad_request("Missing disabled reason field"))?;
            state.store(group.disable(record.id, Some(reason))).await?;
            json!({
                "host": host, "binary": binary, "status": "disabled", "disabled_reason": reason
            })
        }
        _ => {
            let forced_down =
                forced_down.ok_or_else(|| Fault::bad_request("Missing forced_down field"))?;
            state
                .store(group.set_forced_down(record.id, forced_down))
                .await?;
            json!({ "host": host, "binary": binary, "forced_down": forced_down })
        }
    };
    Ok((StatusCode::OK, Some(json!({ "service": service }))))
}

/// The service named in the path: by UUID from 2.53 (400 `Invalid uuid` for anything
/// else), by integer id before.
async fn lookup(state: &AppState, version: Microversion, id: &str) -> Result<ServiceRecord, Fault> {
    let not_found = || Fault::not_found(format!("Service {id} could not be found."));
    if version >= UUID_FOR_ID {
        let uuid =
            canonical_uuid(id).ok_or_else(|| Fault::bad_request(format!("Invalid uuid {id}")))?;
        let services = state
            .store(state.group().list(&ServiceFilter::all()))
            .await?;
        services
            .into_iter()
            .map(|s| s.record)
            .find(|r| r.uuid.eq_ignore_ascii_case(&uuid))
            .ok_or_else(not_found)
    } else {
        let number: i64 = id.parse().map_err(|_| {
            Fault::bad_request(format!(
                "Invalid ID {id}: before microversion 2.53 a service is named by its integer id"
            ))
        })?;
        state.store(state.group().get(number)).await.map_err(|f| {
            if f.status == StatusCode::NOT_FOUND {
                not_found()
            } else {
                f
            }
        })
    }
}

/// oslo's `is_uuid_like`, normalised: 32 hex digits, with or without dashes, in the
/// canonical lower-case dashed form.
fn canonical_uuid(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn body(text: &str) -> Map<String, Value> {
        parse_body(text.as_bytes()).unwrap()
    }

    #[test]
    fn timestamps_are_novas() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_142_245_000_123);
        assert_eq!(nova_time(t), "2026-11-20T02:37:25.000123");
        assert_eq!(
            nova_time(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000"
        );
    }

    #[test]
    fn update_bodies_follow_nova_253() {
        assert_eq!(
            parse_update(&body(
                r#"{"status": "disabled", "disabled_reason": "maintenance"}"#
            )),
            Ok(Update {
                status: Some(StatusChange::Disable(Some("maintenance"))),
                forced_down: None
            })
        );
        assert_eq!(
            parse_update(&body(r#"{"forced_down": "yes"}"#)),
            Ok(Update {
                status: None,
                forced_down: Some(true)
            })
        );
        let err = |text: &str| parse_update(&body(text)).unwrap_err().message;
        assert_eq!(err("{}"), NO_UPDATES);
        assert_eq!(err(r#"{"disabled_reason": "x"}"#), NO_UPDATES);
        assert_eq!(
            err(r#"{"status": "enabled", "disabled_reason": "x"}"#),
            REASON_WITH_ENABLED
        );
        assert_eq!(
            err(r#"{"status": "on"}"#),
            "Invalid input for field/attribute status. Value: on. 'on' is not one of \
             ['enabled', 'disabled']"
        );
        assert_eq!(
            err(r#"{"status": 1}"#),
            "Invalid input for field/attribute status. Value: 1. 1 is not of type 'string'"
        );
        assert!(err(r#"{"forced_down": 1}"#).starts_with(
            "Invalid input for field/attribute forced_down. Value: 1. 1 is not one of [True,"
        ));
        assert_eq!(
            err(r#"{"status": "enabled", "colour": "red"}"#),
            "Additional properties are not allowed ('colour' was unexpected)"
        );
        assert_eq!(
            err(r#"{"status": "disabled", "disabled_reason": ""}"#),
            "Invalid input for field/attribute disabled_reason. Value: . '' is too short"
        );
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        for (text, start) in [
            ("", "Malformed request body: the body is empty"),
            ("{", "Malformed request body: EOF"),
            (
                "[1]",
                "Invalid input for field/attribute body. Value: [1]. [1] is not of type",
            ),
            (
                "\"x\"",
                "Invalid input for field/attribute body. Value: \"x\"",
            ),
        ] {
            let message = parse_body(text.as_bytes()).unwrap_err().message;
            assert!(message.starts_with(start), "{text:?}: {message}");
        }
    }

    #[test]
    fn filters_and_unknown_parameters() {
        assert_eq!(parse_filter(None), Ok(ServiceFilter::all()));
        assert_eq!(
            parse_filter(Some("host=a%20b&binary=x&host=c")),
            Ok(ServiceFilter::all().host("c").binary("x"))
        );
        assert_eq!(parse_filter(Some("host=")), Ok(ServiceFilter::all()));
        assert_eq!(
            parse_filter(Some("zone=az1")).unwrap_err().message,
            "Invalid input for query parameters zone. Value: az1. Additional properties are not \
             allowed ('zone' was unexpected)"
        );
    }

    #[test]
    fn uuids_are_normalised() {
        assert_eq!(
            canonical_uuid("0D6B1FBA2C6B4DAEAF7D6D0F1E2C3B4A").as_deref(),
            Some("0d6b1fba-2c6b-4dae-af7d-6d0f1e2c3b4a")
        );
        assert_eq!(canonical_uuid("42"), None);
        assert_eq!(canonical_uuid("0d6b1fba-2c6b-4dae-af7d-6d0f1e2c3b4g"), None);
    }
}
