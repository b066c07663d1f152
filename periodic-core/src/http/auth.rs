//! Checking a request against the [`ApiAuth`] model, and refusing cross-site writes.

use axum::http::{HeaderMap, StatusCode, header};

use super::fault::Fault;
use super::options::ApiAuth;

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `/healthz`: always open, so that a load balancer or an orchestrator can probe it.
    Probe,
    /// A `GET`.
    Read,
    /// A `PUT` or `DELETE`.
    Write,
}

/// The auth model in force, with what the bind address implies.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) mode: ApiAuth,
    /// Bound to a loopback address: reads are open.
    pub(crate) loopback: bool,
}

impl Auth {
    /// `Ok` when the request may go on, else the 401/403 fault. A write from another
    /// site (see [`cross_site`]) is refused first, whatever the mode: a page elsewhere
    /// must not write through an operator's browser, even on an `InsecureNoAuth` server.
    pub(crate) fn check(&self, headers: &HeaderMap, access: Access) -> Result<(), Fault> {
        if access == Access::Write
            && let Some(why) = cross_site(headers)
        {
            return Err(Fault::new(StatusCode::FORBIDDEN, why));
        }
        match (&self.mode, access) {
            (ApiAuth::InsecureNoAuth, _)
            | (_, Access::Probe)
            | (ApiAuth::ReadOnly, Access::Read) => Ok(()),
            (ApiAuth::Token(_), Access::Read) if self.loopback => Ok(()),
            (ApiAuth::ReadOnly, Access::Write) => Err(Fault::new(
                StatusCode::FORBIDDEN,
                "Writes are disabled: this API was started without an auth token. Start it \
                 with --auth-token TOKEN (or PERIODIC_API_TOKEN; ApiAuth::Token in code) and \
                 send the token as X-Auth-Token, or with --insecure-no-auth.",
            )),
            (ApiAuth::Token(expected), _) => match presented(headers) {
                None => Err(Fault::new(
                    StatusCode::UNAUTHORIZED,
                    "Authentication required: send the token as X-Auth-Token: TOKEN or \
                     Authorization: Bearer TOKEN.",
                )),
                Some(token) if same(token.as_bytes(), expected.as_bytes()) => Ok(()),
                Some(_) => Err(Fault::new(
                    StatusCode::UNAUTHORIZED,
                    "The auth token is not valid.",
                )),
            },
            // `ApiAuth` is non-exhaustive; a new mode must say what it allows.
            #[allow(unreachable_patterns)]
            _ => Err(Fault::new(StatusCode::FORBIDDEN, "Access denied.")),
        }
    }
}

/// Why a request comes from another site, or `None`: its `Origin` is not this server's
/// own (`http://` or `https://` and the request's `Host`; `Origin: null` included), or,
/// without an `Origin`, the browser says `Sec-Fetch-Site: cross-site`. Requests with
/// neither header (the CLI, `curl`, OpenStack clients) are not browsers' and pass.
///
/// Browsers send `Origin` with every `PUT`, `POST` and `DELETE`, same-origin or not, and
/// a page cannot forge it: this is the same-origin check OWASP's CSRF cheat sheet
/// describes ("verifying origin with standard headers").
pub(crate) fn cross_site(headers: &HeaderMap) -> Option<String> {
    const REFUSED: &str = "Cross-site write refused: this API accepts writes from its own \
                           page or from clients that are not browsers.";
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").trim().to_owned())
    };
    if let Some(origin) = text(header::ORIGIN) {
        let host = text(header::HOST).unwrap_or_default();
        let own = !host.is_empty()
            && ["http://", "https://"].iter().any(|scheme| {
                origin.len() == scheme.len() + host.len()
                    && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
                    && origin[scheme.len()..].eq_ignore_ascii_case(&host)
            });
        return (!own).then(|| format!("{REFUSED} Origin {origin:?} is not this server's."));
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    fetch_site
        .is_some_and(|site| site.trim().eq_ignore_ascii_case("cross-site"))
        .then(|| format!("{REFUSED} The browser says Sec-Fetch-Site: cross-site."))
}

/// The token of `X-Auth-Token`, else of `Authorization: Bearer`.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        return Some(token.trim());
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn the_token_is_read_from_either_header() {
        let auth = Auth {
            mode: ApiAuth::Token("t0k".into()),
            loopback: false,
        };
        let none = HeaderMap::new();
        assert_eq!(
            auth.check(&none, Access::Write).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            auth.check(&none, Access::Read).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert!(auth.check(&none, Access::Probe).is_ok());
        assert!(
            auth.check(&with("x-auth-token", "t0k"), Access::Write)
                .is_ok()
        );
        assert!(
            auth.check(&with("authorization", "Bearer t0k"), Access::Write)
                .is_ok()
        );
        assert!(
            auth.check(&with("authorization", "Basic t0k"), Access::Write)
                .is_err()
        );
        assert!(
            auth.check(&with("x-auth-token", "t0K"), Access::Write)
                .is_err()
        );
        assert!(
            auth.check(&with("x-auth-token", "t0kk"), Access::Write)
                .is_err()
        );
    }

    #[test]
    fn loopback_reads_are_open_and_read_only_refuses_writes() {
        let token = Auth {
            mode: ApiAuth::Token("t".into()),
            loopback: true,
        };
        assert!(token.check(&HeaderMap::new(), Access::Read).is_ok());
        let read_only = Auth {
            mode: ApiAuth::ReadOnly,
            loopback: true,
        };
        let err = read_only
            .check(&with("x-auth-token", "t"), Access::Write)
            .unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert!(err.message.contains("--auth-token"), "{}", err.message);
        let open = Auth {
            mode: ApiAuth::InsecureNoAuth,
            loopback: false,
        };
        assert!(open.check(&HeaderMap::new(), Access::Write).is_ok());
    }

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn cross_site_writes_are_refused_in_every_mode() {
        let own = [
            ("host", "127.0.0.1:8774"),
            ("origin", "http://127.0.0.1:8774"),
        ];
        let other_port = [
            ("host", "127.0.0.1:8774"),
            ("origin", "http://127.0.0.1:9999"),
        ];
        let null = [("host", "127.0.0.1:8774"), ("origin", "null")];
        let fetch = [("host", "127.0.0.1:8774"), ("sec-fetch-site", "cross-site")];
        let same_site = [
            ("host", "127.0.0.1:8774"),
            ("sec-fetch-site", "same-origin"),
        ];
        for mode in [ApiAuth::InsecureNoAuth, ApiAuth::Token("t".into())] {
            let auth = Auth {
                mode: mode.clone(),
                loopback: true,
            };
            let with_token = |pairs: &[(&'static str, &'static str)]| {
                let mut h = request(pairs);
                h.insert("x-auth-token", HeaderValue::from_static("t"));
                auth.check(&h, Access::Write)
            };
            assert!(with_token(&own).is_ok(), "{mode:?}");
            assert!(with_token(&same_site).is_ok(), "{mode:?}");
            assert!(with_token(&[]).is_ok(), "{mode:?}");
            for refused in [&other_port[..], &null, &fetch] {
                let fault = with_token(refused).unwrap_err();
                assert_eq!(fault.status, StatusCode::FORBIDDEN, "{mode:?} {refused:?}");
                assert!(fault.message.starts_with("Cross-site write refused"));
            }
            // Reads are not writes: a cross-site page may not read them either (the
            // browser keeps the answer from it), but nothing changes.
            assert!(auth.check(&request(&other_port), Access::Read).is_ok());
        }
        assert!(cross_site(&request(&[("host", "h:1"), ("origin", "HTTPS://H:1")])).is_none());
    }
}
