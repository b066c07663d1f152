//! The operator's page: `GET /` for browsers and its embedded assets under `/ui/`.
//!
//! The page is plain HTML, CSS and JavaScript, embedded in the binary with
//! `include_str!` (no framework, no build step). Its script reads `/ui/services` and
//! `/task-ledger`, and writes through `PUT /os-services/{uuid}` and `POST
//! /task-ledger/...` with the token the operator typed (kept in `sessionStorage`, sent as
//! `X-Auth-Token`, never a cookie). Every answer carries a strict
//! `Content-Security-Policy`: scripts and styles from this server only, no inline
//! script, no frames.
//!
//! Content negotiation at `/` is a comparison of two q-values (`text/html` against
//! `application/json`), written here rather than pulled in: axum has none, and a
//! negotiation crate would choose among many types where there are two.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::discovery;

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/app.css");

/// The page's policy: everything from this server only, no inline script or style, no
/// plugins, no frames around it, forms nowhere.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// `GET /`: the page for a browser (an `Accept` that prefers `text/html`), nova's version
/// document for everything else.
pub(crate) async fn root(headers: HeaderMap) -> Response {
    let mut response = if prefers_html(&headers) {
        asset(INDEX, "text/html; charset=utf-8")
    } else {
        discovery::versions(&headers)
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// `GET /ui/app.js`.
pub(crate) async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /ui/app.css`.
pub(crate) async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Whether `Accept` ranks `text/html` above JSON: `text/html` named with a q above 0,
/// and at least the q that `application/json` gets (named, or through `application/*`
/// or `*/*`). `*/*` alone (curl) and `application/json` (keystoneauth) get JSON.
fn prefers_html(headers: &HeaderMap) -> bool {
    let mut html: Option<f32> = None;
    let mut json: Option<(u8, f32)> = None; // (specificity, q)
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let specificity = match media.as_str() {
                "text/html" => {
                    html = Some(html.map_or(q, |h| h.max(q)));
                    continue;
                }
                "application/json" => 3,
                "application/*" => 2,
                "*/*" => 1,
                _ => continue,
            };
            if json.is_none_or(|(s, _)| specificity > s) {
                json = Some((specificity, q));
            }
        }
    }
    match html {
        Some(h) if h > 0.0 => json.is_none_or(|(_, j)| h >= j),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &'static str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(value));
        prefers_html(&h)
    }

    #[test]
    fn browsers_get_the_page_and_clients_the_version_document() {
        // Chromium's and Firefox's navigations.
        assert!(accepts(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
             image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        ));
        assert!(accepts("text/html"));
        // keystoneauth, curl, nothing at all, and a client that ranks JSON first.
        assert!(!accepts("application/json"));
        assert!(!accepts("*/*"));
        assert!(!prefers_html(&HeaderMap::new()));
        assert!(!accepts("application/json, text/html;q=0.5"));
        assert!(!accepts("text/html;q=0"));
        assert!(accepts("application/json;q=0.5, text/html"));
    }
}
