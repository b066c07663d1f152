//! Version discovery: nova's `GET /` and `GET /v2.1`, which keystoneauth (and so
//! python-openstackclient and openstacksdk) reads before any call, to find the versioned
//! endpoint and the microversion range.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::fault::json_body;
use super::microversion::{MAX, MIN};

/// nova's date of the v2.1 API.
const UPDATED: &str = "2013-07-23T11:33:21Z";

/// `http://HOST` from the request's `Host` header.
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ']))
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn v21(headers: &HeaderMap) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": MAX.to_string(),
        "min_version": MIN.to_string(),
        "updated": UPDATED,
        "links": [{ "rel": "self", "href": format!("{}/v2.1/", base(headers)) }],
    })
}

/// `GET /` for API clients: `{"versions": [v2.1]}`.
pub(crate) fn versions(headers: &HeaderMap) -> Response {
    (
        StatusCode::OK,
        json_body(&json!({ "versions": [v21(headers)] })),
    )
        .into_response()
}

/// `GET /v2.1`: `{"version": v2.1}` with nova's media type.
pub(crate) async fn version(headers: HeaderMap) -> Response {
    let mut version = v21(&headers);
    version["media-types"] = json!([{
        "base": "application/json",
        "type": "application/vnd.openstack.compute+json;version=2.1",
    }]);
    (StatusCode::OK, json_body(&json!({ "version": version }))).into_response()
}
