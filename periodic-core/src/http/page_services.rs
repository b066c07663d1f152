//! `GET /ui/services`: the operator page's list of services, filtered and paginated on
//! the server so that a page with 10,000 services moves one page of rows at a time.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Access;
use super::fault::{Fault, json_body};
use super::os_services::nova_time;
use super::seconds::{round_micros, secs};
use super::state::AppState;
use crate::servicegroup::{DownReason, ServiceFilter, ServiceStatus};

/// Rows per page when the query does not say.
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// The most rows one answer carries.
pub(crate) const MAX_LIMIT: usize = 500;

/// What the page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query {
    /// A part of the host name, any case.
    host: Option<String>,
    /// A part of the binary, any case.
    binary: Option<String>,
    /// `Some(true)`: up only; `Some(false)`: down only.
    up: Option<bool>,
    offset: usize,
    limit: usize,
}

/// `GET /ui/services[?host=][&binary=][&state=up|down][&offset=][&limit=]`: 200
/// `{"totals": {"services", "up", "down"}, "matched", "offset", "limit", "services":
/// [row, ...]}`. `totals` counts every service of the store, `matched` those that pass
/// the filters; `services` is the page of them from `offset`, ordered by id. 400 in
/// nova's shape for an unknown parameter or a value out of range.
pub(crate) async fn services(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(fault) = state.auth().check(&headers, Access::Read) {
        return fault.into_response();
    }
    let query = match parse(query.as_deref()) {
        Ok(query) => query,
        Err(fault) => return fault.into_response(),
    };
    match state.store(state.group().list(&ServiceFilter::all())).await {
        Ok(all) => (StatusCode::OK, json_body(&page(&all, &query))).into_response(),
        Err(fault) => fault.into_response(),
    }
}

fn page(all: &[ServiceStatus], query: &Query) -> Value {
    let up = all.iter().filter(|s| s.is_up()).count();
    let host = query.host.as_deref().map(str::to_lowercase);
    let binary = query.binary.as_deref().map(str::to_lowercase);
    let contains =
        |text: &str, part: Option<&str>| part.is_none_or(|part| text.to_lowercase().contains(part));
    let mut matched = 0usize;
    let mut rows = Vec::new();
    for status in all.iter().filter(|s| {
        query.up.is_none_or(|up| s.is_up() == up)
            && contains(&s.record.host, host.as_deref())
            && contains(&s.record.binary, binary.as_deref())
    }) {
        if matched >= query.offset && rows.len() < query.limit {
            rows.push(row(status));
        }
        matched += 1;
    }
    json!({
        "totals": { "services": all.len(), "up": up, "down": all.len() - up },
        "matched": matched,
        "offset": query.offset,
        "limit": query.limit,
        "services": rows,
    })
}

/// One service: nova's fields, why it is down, and the evidence (seconds).
fn row(status: &ServiceStatus) -> Value {
    let r = &status.record;
    json!({
        "id": r.id,
        "uuid": r.uuid,
        "host": r.host,
        "binary": r.binary,
        "topic": r.topic,
        "zone": r.zone(),
        "state": status.state(),
        "down_reason": status.down_reason.map(DownReason::as_str),
        "status": status.status(),
        "disabled_reason": r.disabled_reason,
        "forced_down": r.forced_down,
        "heartbeat_age": status.heartbeat_age.map(secs),
        "clock_skew": status.clock_skew.map(|s| round_micros(s.as_secs_f64())),
        "service_down_time": secs(status.service_down_time),
        "updated_at": status.updated_time.map(nova_time),
    })
}

fn parse(query: Option<&str>) -> Result<Query, Fault> {
    let mut parsed = Query {
        host: None,
        binary: None,
        up: None,
        offset: 0,
        limit: DEFAULT_LIMIT,
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| Fault::bad_request(format!("Invalid query string: {e}")))?;
    let number = |name: &str, value: &str, max: usize| {
        value
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                Fault::bad_request(format!(
                    "Invalid input for query parameter {name}. Value: {value}. Expected an \
                     integer from 0 to {max}."
                ))
            })
    };
    for (name, value) in pairs {
        let text = (!value.is_empty()).then(|| value.clone());
        match name.as_str() {
            "host" => parsed.host = text,
            "binary" => parsed.binary = text,
            "state" => {
                parsed.up = match value.as_str() {
                    "" => None,
                    "up" => Some(true),
                    "down" => Some(false),
                    _ => {
                        return Err(Fault::bad_request(format!(
                            "Invalid input for query parameter state. Value: {value}. \
                             Expected 'up' or 'down'."
                        )));
                    }
                }
            }
            "offset" => parsed.offset = number("offset", &value, usize::MAX)?,
            "limit" => {
                parsed.limit = number("limit", &value, MAX_LIMIT)?;
                if parsed.limit == 0 {
                    return Err(Fault::bad_request(format!(
                        "Invalid input for query parameter limit. Value: 0. Expected an \
                         integer from 1 to {MAX_LIMIT}."
                    )));
                }
            }
            _ => {
                return Err(Fault::bad_request(format!(
                    "Invalid query parameter {name}: /ui/services takes host, binary, state, \
                     offset and limit."
                )));
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::servicegroup::ServiceRecord;

    fn service(id: i64, host: &str, down: Option<DownReason>) -> ServiceStatus {
        let row = ServiceRecord::new(id, host, "nova-compute", "compute", SystemTime::UNIX_EPOCH);
        ServiceStatus::new(row, down, None, Duration::from_secs(60), None)
    }

    #[test]
    fn filters_and_pages_on_the_server() {
        let all: Vec<ServiceStatus> = (1..=120)
            .map(|i| {
                let down = (i % 3 == 0).then_some(DownReason::NoHeartbeat);
                service(i, &format!("Node-{i}"), down)
            })
            .collect();
        let q = |text: &str| page(&all, &parse(Some(text)).unwrap());
        let v = q("state=down&limit=10&offset=5");
        assert_eq!(v["totals"], json!({"services": 120, "up": 80, "down": 40}));
        assert_eq!(v["matched"], 40);
        let ids: Vec<i64> = v["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, (6..16).map(|i| i * 3).collect::<Vec<_>>());
        assert_eq!(
            v["services"][0]["down_reason"],
            "no heartbeat within service_down_time"
        );
        let v = q("host=node-11");
        assert_eq!(v["matched"], 11); // node-11, node-110 ... node-119
        assert_eq!(v["services"].as_array().unwrap().len(), 11);
        assert_eq!(q("")["services"].as_array().unwrap().len(), DEFAULT_LIMIT);
        assert_eq!(q("offset=500")["services"], json!([]));
    }

    #[test]
    fn bad_parameters_are_400s() {
        for (text, start) in [
            ("state=sideways", "Invalid input for query parameter state"),
            (
                "limit=0",
                "Invalid input for query parameter limit. Value: 0",
            ),
            (
                "limit=501",
                "Invalid input for query parameter limit. Value: 501",
            ),
            ("offset=-1", "Invalid input for query parameter offset"),
            ("zone=az1", "Invalid query parameter zone"),
        ] {
            let fault = parse(Some(text)).unwrap_err();
            assert_eq!(fault.status, StatusCode::BAD_REQUEST);
            assert!(
                fault.message.starts_with(start),
                "{text}: {}",
                fault.message
            );
        }
    }
}
