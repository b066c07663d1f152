//! Compute API microversions: the `OpenStack-API-Version: compute 2.x` and
//! `X-OpenStack-Nova-API-Version: 2.x` request headers, and the headers nova answers with.

use std::fmt;

use axum::http::{HeaderMap, HeaderValue, StatusCode};

use super::fault::Fault;

/// A compute API microversion `2.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Microversion(u16);

/// The oldest microversion served: 2.1, as nova.
pub(crate) const MIN: Microversion = Microversion(1);
/// The newest microversion served. `os-services` has not changed since 2.75 (2.69 only
/// added services of unreachable cells, which this port has none of), so everything up
/// to 2.100 answers as 2.75.
pub(crate) const MAX: Microversion = Microversion(100);
/// The microversion of a request without a version header. nova answers such requests as
/// 2.1; this port defaults to a modern one so that `PUT /os-services/{uuid}` works for
/// clients that do not say which version they want.
pub(crate) const DEFAULT: Microversion = Microversion(53);

/// `forced_down` appears in the service view (nova 2.11).
pub(crate) const FORCED_DOWN: Microversion = Microversion(11);
/// Services are identified by their UUID and updated with `PUT /os-services/{uuid}` (2.53).
pub(crate) const UUID_FOR_ID: Microversion = Microversion(53);

const NEW_HEADER: &str = "openstack-api-version";
const LEGACY_HEADER: &str = "x-openstack-nova-api-version";

impl Microversion {
    /// The version a request asks for: the `OpenStack-API-Version` header naming the
    /// `compute` service first, then `X-OpenStack-Nova-API-Version`, else [`DEFAULT`].
    /// `latest` means [`MAX`].
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Microversion, Fault> {
        if let Some(requested) = new_header(headers) {
            return parse(requested.trim());
        }
        if let Some(value) = headers.get(LEGACY_HEADER) {
            let text = value.to_str().unwrap_or("");
            return parse(text.trim());
        }
        Ok(DEFAULT)
    }

    /// The headers nova sends with every compute API answer.
    pub(crate) fn response_headers(self) -> [(&'static str, HeaderValue); 3] {
        let text = self.to_string();
        let new = HeaderValue::from_str(&format!("compute {text}"))
            .unwrap_or_else(|_| HeaderValue::from_static("compute 2.53"));
        let legacy =
            HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("2.53"));
        [
            ("OpenStack-API-Version", new),
            ("X-OpenStack-Nova-API-Version", legacy),
            (
                "Vary",
                HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
            ),
        ]
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "2.{}", self.0)
    }
}

/// The `compute` entry of `OpenStack-API-Version` (a comma-separated list of `service
/// version` pairs; other services' entries are ignored).
fn new_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(NEW_HEADER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|entry| {
            let mut parts = entry.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(service), Some(version), None) if service.eq_ignore_ascii_case("compute") => {
                    Some(version)
                }
                _ => None,
            }
        })
}

/// nova's `APIVersionRequest`: `latest`, or `2.N` within [`MIN`, `MAX`].
fn parse(text: &str) -> Result<Microversion, Fault> {
    if text.eq_ignore_ascii_case("latest") {
        return Ok(MAX);
    }
    let invalid = || {
        Fault::bad_request(format!(
            "API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
        ))
    };
    let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return Err(invalid());
    }
    let major: u16 = major.parse().map_err(|_| invalid())?;
    let minor: u16 = minor.parse().map_err(|_| invalid())?;
    let version = Microversion(minor);
    if major != 2 || version < MIN || version > MAX {
        return Err(Fault::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {text} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."
            ),
        ));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn headers_pick_the_compute_version() {
        assert_eq!(Microversion::from_headers(&HeaderMap::new()), Ok(DEFAULT));
        let h = headers(&[("OpenStack-API-Version", "volume 3.5, compute 2.11")]);
        assert_eq!(Microversion::from_headers(&h), Ok(Microversion(11)));
        let h = headers(&[("X-OpenStack-Nova-API-Version", "2.1")]);
        assert_eq!(Microversion::from_headers(&h), Ok(MIN));
        let h = headers(&[
            ("OpenStack-API-Version", "compute latest"),
            ("X-OpenStack-Nova-API-Version", "2.1"),
        ]);
        assert_eq!(Microversion::from_headers(&h), Ok(MAX));
        // Another service's version only: the default.
        let h = headers(&[("OpenStack-API-Version", "volume 3.5")]);
        assert_eq!(Microversion::from_headers(&h), Ok(DEFAULT));
    }

    #[test]
    fn bad_versions_are_refused_with_novas_texts() {
        let err = parse("2").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err.message,
            "API Version String 2 is of invalid format. Must be of format MajorNum.MinorNum."
        );
        assert_eq!(parse("2.x").unwrap_err().status, StatusCode::BAD_REQUEST);
        let err = parse("2.101").unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(
            err.message,
            "Version 2.101 is not supported by the API. Minimum is 2.1 and maximum is 2.100."
        );
        assert_eq!(parse("3.0").unwrap_err().status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(parse("2.0").unwrap_err().status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(parse("2.53"), Ok(UUID_FOR_ID));
    }

    #[test]
    fn response_headers_name_the_version() {
        let [(new, v1), (legacy, v2), _] = Microversion(53).response_headers();
        assert_eq!(
            (new, v1.to_str().unwrap()),
            ("OpenStack-API-Version", "compute 2.53")
        );
        assert_eq!(
            (legacy, v2.to_str().unwrap()),
            ("X-OpenStack-Nova-API-Version", "2.53")
        );
    }
}
