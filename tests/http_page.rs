//! The operator's page over real HTTP against a `memory://` store: `/` negotiates between
//! the page and nova's version document, the assets carry their content types and a
//! strict Content-Security-Policy, `/ui/services` filters and paginates on the server,
//! and a write from another site is refused 403 in nova's shape, even on an
//! `--insecure-no-auth` server. (The page in a real browser: periodic-cli's
//! `ui_browser.rs`.)
#![cfg(feature = "http")]

mod http_support;

use http_support::Api;
use periodic::{
    ApiAuth, ApiServer, ApiServerOptions, NewService, ServiceGroup, ServiceGroupConfig,
};
use serde_json::json;

const CHROME_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                             image/avif,image/webp,image/apng,*/*;q=0.8";

/// A server over `count` services `node-1`..`node-N` (every third forced down), with
/// `auth`.
async fn server(count: usize, auth: ApiAuth) -> (ServiceGroup, ApiServer, Api) {
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    for i in 1..=count {
        let binary = if i % 2 == 0 {
            "nova-scheduler"
        } else {
            "nova-compute"
        };
        let record = group
            .get_or_create(&NewService::new(format!("node-{i}"), binary, "compute"))
            .await
            .unwrap();
        group.report_state(&record).await.unwrap();
        if i % 3 == 0 {
            group.set_forced_down(record.id, true).await.unwrap();
        }
    }
    let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap()).auth(auth);
    let server = ApiServer::start(group.clone(), options).await.unwrap();
    let api = Api::new(server.local_addr());
    (group, server, api)
}

#[tokio::test]
async fn browsers_get_the_page_and_api_clients_the_version_document() {
    let (_group, server, api) = server(1, ApiAuth::ReadOnly).await;
    let page = api
        .call("GET", "/", &[("accept", CHROME_ACCEPT)], None)
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("vary"), Some("Accept"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        page.text
            .contains(r#"<script src="/ui/app.js" defer></script>"#)
    );
    // No inline script: every <script> of the page has a src.
    assert_eq!(
        page.text.matches("<script").count(),
        page.text.matches("<script src=").count()
    );

    for accept in [None, Some("application/json"), Some("*/*")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let doc = api.call("GET", "/", &headers, None).await;
        assert_eq!(doc.status, 200, "{accept:?}");
        assert_eq!(doc.header("content-type"), Some("application/json"));
        assert_eq!(doc.json()["versions"][0]["id"], "v2.1", "{accept:?}");
    }

    for (path, content_type) in [
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/app.css", "text/css; charset=utf-8"),
    ] {
        let asset = api.call("GET", path, &[], None).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), Some(content_type), "{path}");
        assert_eq!(asset.header("x-content-type-options"), Some("nosniff"));
        assert!(asset.header("content-security-policy").is_some());
    }
    // The script never turns data into markup.
    let script = api.call("GET", "/ui/app.js", &[], None).await.text;
    assert!(
        !script.contains("innerHTML"),
        "the page's script uses innerHTML"
    );
    assert!(!script.contains("insertAdjacentHTML"));
    assert!(!script.contains("document.write"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn ui_services_filters_and_pages_on_the_server() {
    let (_group, server, api) = server(30, ApiAuth::ReadOnly).await;
    let all = api.call("GET", "/ui/services", &[], None).await.json();
    assert_eq!(all["totals"], json!({"services": 30, "up": 20, "down": 10}));
    assert_eq!(all["matched"], 30);
    assert_eq!(all["services"].as_array().unwrap().len(), 30);

    let page = api
        .call(
            "GET",
            "/ui/services?state=down&binary=COMPUTE&limit=2&offset=1",
            &[],
            None,
        )
        .await
        .json();
    // Down computes: node-3, node-9, node-15, node-21, node-27 (odd multiples of 3).
    assert_eq!(page["matched"], 5);
    let hosts: Vec<&str> = page["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["node-9", "node-15"]);
    let row = &page["services"][0];
    assert_eq!(row["state"], "down");
    assert_eq!(row["down_reason"], "forced down");
    assert_eq!(row["forced_down"], true);
    assert_eq!(row["status"], "enabled");
    assert!(row["heartbeat_age"].as_f64().unwrap() >= 0.0, "{row}");
    assert!(row["uuid"].as_str().unwrap().len() == 36, "{row}");
    assert!(row["updated_at"].is_string(), "{row}");

    let host = api
        .call("GET", "/ui/services?host=node-1&state=up", &[], None)
        .await
        .json();
    // node-1, node-10 .. node-19 but not the forced-down node-12, node-15, node-18.
    assert_eq!(host["matched"], 8);

    for bad in [
        "state=sideways",
        "limit=0",
        "limit=100000",
        "offset=x",
        "zone=az1",
    ] {
        let answer = api
            .call("GET", &format!("/ui/services?{bad}"), &[], None)
            .await;
        assert_eq!(answer.status, 400, "{bad}");
        assert!(!answer.fault("badRequest").is_empty());
    }
    server.shutdown().await.unwrap();
}

/// A page on another site posting to the API through the operator's browser: its
/// request carries that site's `Origin` (or `Sec-Fetch-Site: cross-site`) and is
/// refused, whatever the auth mode, before the token is even looked at.
#[tokio::test]
async fn cross_site_writes_are_refused_in_novas_shape() {
    for auth in [ApiAuth::InsecureNoAuth, ApiAuth::Token("s3cret".into())] {
        let (group, server, api) = server(1, auth.clone()).await;
        let uuid = group.find("node-1", "nova-compute").await.unwrap().uuid;
        let path = format!("/os-services/{uuid}");
        let own_origin = api.base.clone();
        let disable = r#"{"status": "disabled", "disabled_reason": "csrf"}"#;
        let token = ("x-auth-token", "s3cret");
        for headers in [
            vec![token, ("origin", "http://evil.example")],
            vec![token, ("origin", "http://127.0.0.1:1")],
            vec![token, ("origin", "null")],
            vec![token, ("sec-fetch-site", "cross-site")],
        ] {
            for (method, body) in [("PUT", Some(disable)), ("DELETE", None)] {
                let answer = api.call(method, &path, &headers, body).await;
                assert_eq!(answer.status, 403, "{auth:?} {method} {headers:?}");
                let message = answer.fault("forbidden");
                assert!(message.starts_with("Cross-site write refused"), "{message}");
            }
            // The write did not happen.
            assert!(!group.find("node-1", "nova-compute").await.unwrap().disabled);
            // The task-ledger controls are writes too.
            for verb in ["run", "pause", "resume"] {
                let answer = api
                    .call(
                        "POST",
                        &format!("/task-ledger/{verb}"),
                        &headers,
                        Some(r#"{"scope": "fleet/f", "task": "t"}"#),
                    )
                    .await;
                assert_eq!(answer.status, 403, "{auth:?} {verb} {headers:?}");
                assert!(
                    answer
                        .fault("forbidden")
                        .starts_with("Cross-site write refused")
                );
            }
        }
        // The page's own requests (its origin) and clients that are not browsers pass.
        let own = api
            .call(
                "PUT",
                &path,
                &[token, ("origin", &own_origin)],
                Some(disable),
            )
            .await;
        assert_eq!(own.status, 200, "{auth:?}: {}", own.text);
        assert_eq!(own.json()["service"]["disabled_reason"], "csrf");
        let cli = api
            .call("PUT", &path, &[token], Some(r#"{"status": "enabled"}"#))
            .await;
        assert_eq!(cli.status, 200, "{auth:?}: {}", cli.text);
        // Reads from anywhere stay open on loopback.
        let read = api
            .call(
                "GET",
                "/ui/services",
                &[("origin", "http://evil.example")],
                None,
            )
            .await;
        assert_eq!(read.status, 200);
        server.shutdown().await.unwrap();
    }
}
