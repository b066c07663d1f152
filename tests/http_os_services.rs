//! `/os-services` over real HTTP against a `memory://` store: nova's JSON, filters,
//! microversions, `PUT` 2.53 and the legacy actions, `DELETE`, nova's 400/404 texts, the
//! auth model and the bind policy.
#![cfg(feature = "http")]

mod http_support;

use std::collections::BTreeSet;

use http_support::{Api, is_nova_time};
use periodic::{
    ApiAuth, ApiServer, ApiServerOptions, ErrorKind, NewService, ServiceGroup, ServiceGroupConfig,
    ServiceRecord,
};
use serde_json::{Value, json};

const NO_UPDATES: &str =
    "No updates were requested. Fields 'status' or 'forced_down' should be specified.";

struct Fixture {
    group: ServiceGroup,
    compute1: ServiceRecord,
    compute2: ServiceRecord,
    scheduler: ServiceRecord,
}

/// Three services: two computes that heartbeat (one in `az1`), and a scheduler that
/// never reported (up all the same while its row is younger than service_down_time).
async fn fixture() -> Fixture {
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    let compute1 = group
        .get_or_create(
            &NewService::new("node-1", "nova-compute", "compute").availability_zone("az1"),
        )
        .await
        .unwrap();
    let compute2 = group
        .get_or_create(&NewService::new("node-2", "nova-compute", "compute"))
        .await
        .unwrap();
    let scheduler = group
        .get_or_create(&NewService::new("node-1", "nova-scheduler", "scheduler"))
        .await
        .unwrap();
    group.report_state(&compute1).await.unwrap();
    group.report_state(&compute2).await.unwrap();
    Fixture {
        group,
        compute1,
        compute2,
        scheduler,
    }
}

async fn serve(group: &ServiceGroup, auth: ApiAuth) -> (ApiServer, Api) {
    let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap()).auth(auth);
    let server = ApiServer::start(group.clone(), options).await.unwrap();
    let api = Api::new(server.local_addr());
    (server, api)
}

fn service<'a>(services: &'a Value, host: &str, binary: &str) -> &'a Value {
    services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == host && s["binary"] == binary)
        .unwrap_or_else(|| panic!("no {binary} on {host} in {services}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_answers_novas_json_with_uuid_ids() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::ReadOnly).await;

    let answer = api.get("/os-services").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("openstack-api-version"), Some("compute 2.53"));
    assert_eq!(answer.header("x-openstack-nova-api-version"), Some("2.53"));
    let body = answer.json();
    assert_eq!(body["services"].as_array().unwrap().len(), 3);

    let c1 = service(&body, "node-1", "nova-compute");
    let keys: BTreeSet<&str> = c1.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "binary",
            "host",
            "zone",
            "status",
            "state",
            "updated_at",
            "disabled_reason",
            "forced_down"
        ])
    );
    assert_eq!(c1["id"], json!(f.compute1.uuid));
    assert_eq!(c1["zone"], "az1");
    assert_eq!(c1["status"], "enabled");
    assert_eq!(c1["state"], "up");
    assert_eq!(c1["disabled_reason"], Value::Null);
    assert_eq!(c1["forced_down"], false);
    assert!(is_nova_time(c1["updated_at"].as_str().unwrap()), "{c1}");

    // nova's zone defaults: `nova` for computes, `internal` for the rest.
    assert_eq!(service(&body, "node-2", "nova-compute")["zone"], "nova");
    let scheduler = service(&body, "node-1", "nova-scheduler");
    assert_eq!(scheduler["zone"], "internal");
    assert_eq!(scheduler["id"], json!(f.scheduler.uuid));

    // The versioned path of nova's endpoint answers the same.
    let versioned = api.get("/v2.1/os-services").await;
    assert_eq!(versioned.status, 200);
    assert_eq!(versioned.json()["services"].as_array().unwrap().len(), 3);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_are_exact_and_unknown_parameters_are_refused() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::ReadOnly).await;

    let hosts = |body: Value| -> Vec<(String, String)> {
        body["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["host"].as_str().unwrap().to_owned(),
                    s["binary"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let node1 = hosts(api.get("/os-services?host=node-1").await.json());
    assert_eq!(node1.len(), 2);
    assert!(node1.iter().all(|(h, _)| h == "node-1"));
    assert_eq!(
        hosts(
            api.get("/os-services?binary=nova-compute&host=node-2")
                .await
                .json()
        ),
        vec![("node-2".to_owned(), "nova-compute".to_owned())]
    );
    // Exact match: a prefix finds nothing.
    assert!(hosts(api.get("/os-services?host=node").await.json()).is_empty());

    let refused = api.get("/os-services?zone=az1").await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.fault("badRequest"),
        "Invalid input for query parameters zone. Value: az1. Additional properties are not \
         allowed ('zone' was unexpected)"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microversions_decide_the_id_and_forced_down() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::ReadOnly).await;

    let old = api
        .get_with(
            "/os-services?host=node-1&binary=nova-compute",
            &[("X-OpenStack-Nova-API-Version", "2.1")],
        )
        .await;
    assert_eq!(old.header("openstack-api-version"), Some("compute 2.1"));
    let c1 = &old.json()["services"][0];
    assert_eq!(c1["id"], json!(f.compute1.id));
    assert!(c1.get("forced_down").is_none(), "{c1}");

    let v211 = api
        .get_with(
            "/os-services?host=node-1&binary=nova-compute",
            &[("OpenStack-API-Version", "compute 2.11")],
        )
        .await;
    let c1 = &v211.json()["services"][0];
    assert_eq!(c1["id"], json!(f.compute1.id));
    assert_eq!(c1["forced_down"], false);

    let latest = api
        .get_with(
            "/os-services",
            &[("OpenStack-API-Version", "compute latest")],
        )
        .await;
    assert_eq!(latest.header("x-openstack-nova-api-version"), Some("2.100"));

    let too_new = api
        .get_with(
            "/os-services",
            &[("OpenStack-API-Version", "compute 2.101")],
        )
        .await;
    assert_eq!(too_new.status, 406);
    assert_eq!(
        too_new.fault("notAcceptable"),
        "Version 2.101 is not supported by the API. Minimum is 2.1 and maximum is 2.100."
    );
    let garbage = api
        .get_with("/os-services", &[("X-OpenStack-Nova-API-Version", "two")])
        .await;
    assert_eq!(garbage.status, 400);
    assert_eq!(
        garbage.fault("badRequest"),
        "API Version String two is of invalid format. Must be of format MajorNum.MinorNum."
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_253_round_trips() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::InsecureNoAuth).await;
    let path = format!("/os-services/{}", f.compute1.uuid);

    // Disable with a reason: the full service view comes back.
    let answer = api
        .put(
            &path,
            &[],
            r#"{"status": "disabled", "disabled_reason": "maintenance"}"#,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("openstack-api-version"), Some("compute 2.53"));
    let view = &answer.json()["service"];
    assert_eq!(view["id"], json!(f.compute1.uuid));
    assert_eq!(view["status"], "disabled");
    assert_eq!(view["disabled_reason"], "maintenance");
    assert_eq!(view["state"], "up");
    assert_eq!(view["forced_down"], false);
    assert!(is_nova_time(view["updated_at"].as_str().unwrap()));
    let stored = f.group.get(f.compute1.id).await.unwrap();
    assert!(stored.disabled);
    assert_eq!(stored.disabled_reason.as_deref(), Some("maintenance"));
    // The list shows it too.
    let listed = api
        .get("/os-services?host=node-1&binary=nova-compute")
        .await
        .json();
    assert_eq!(listed["services"][0]["status"], "disabled");
    assert_eq!(listed["services"][0]["disabled_reason"], "maintenance");

    // Enable clears the reason.
    let view = api.put(&path, &[], r#"{"status": "enabled"}"#).await.json();
    assert_eq!(view["service"]["status"], "enabled");
    assert_eq!(view["service"]["disabled_reason"], Value::Null);
    assert!(!f.group.get(f.compute1.id).await.unwrap().disabled);

    // Force down: down whatever the heartbeat says; and back.
    let view = api.put(&path, &[], r#"{"forced_down": true}"#).await.json();
    assert_eq!(view["service"]["forced_down"], true);
    assert_eq!(view["service"]["state"], "down");
    assert!(!f.group.is_up(f.compute1.id).await.unwrap());
    let view = api
        .put(&path, &[], r#"{"forced_down": false}"#)
        .await
        .json();
    assert_eq!(view["service"]["forced_down"], false);
    assert_eq!(view["service"]["state"], "up");

    // Both at once, with nova's string spelling of a boolean; the UUID in upper case.
    let upper = format!("/os-services/{}", f.compute2.uuid.to_uppercase());
    let view = api
        .put(
            &upper,
            &[],
            r#"{"status": "disabled", "forced_down": "True"}"#,
        )
        .await
        .json();
    assert_eq!(view["service"]["host"], "node-2");
    assert_eq!(view["service"]["status"], "disabled");
    assert_eq!(view["service"]["disabled_reason"], Value::Null);
    assert_eq!(view["service"]["forced_down"], true);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_refuses_bad_bodies_with_novas_texts() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::InsecureNoAuth).await;
    let path = format!("/os-services/{}", f.compute1.uuid);

    let cases: &[(&str, &str)] = &[
        ("{}", NO_UPDATES),
        (r#"{"disabled_reason": "why"}"#, NO_UPDATES),
        (
            r#"{"status": "enabled", "disabled_reason": "why"}"#,
            "Specifying 'disabled_reason' with status 'enabled' is invalid.",
        ),
        (
            r#"{"status": "enabled", "colour": "red"}"#,
            "Additional properties are not allowed ('colour' was unexpected)",
        ),
        (
            r#"{"status": "paused"}"#,
            "Invalid input for field/attribute status. Value: paused. 'paused' is not one of \
             ['enabled', 'disabled']",
        ),
        (
            r#"{"status": true}"#,
            "Invalid input for field/attribute status. Value: true. true is not of type 'string'",
        ),
        (
            r#"{"status": "disabled", "disabled_reason": 5}"#,
            "Invalid input for field/attribute disabled_reason. Value: 5. 5 is not of type 'string'",
        ),
    ];
    for (body, message) in cases {
        let answer = api.put(&path, &[], body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.fault("badRequest"), *message, "{body}");
    }
    for (body, start) in [
        (
            r#"{"forced_down": "maybe"}"#,
            "Invalid input for field/attribute forced_down. Value: maybe. 'maybe' is not one of [True,",
        ),
        (
            r#"{"forced_down": 1}"#,
            "Invalid input for field/attribute forced_down. Value: 1. 1 is not one of",
        ),
        (r#"{"status": "disabled""#, "Malformed request body: "),
        ("not json", "Malformed request body: "),
        ("", "Malformed request body: the body is empty"),
        (
            "[]",
            "Invalid input for field/attribute body. Value: []. [] is not of type 'object'",
        ),
    ] {
        let answer = api.put(&path, &[], body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        let message = answer.fault("badRequest");
        assert!(message.starts_with(start), "{body}: {message}");
    }
    // Nothing was written by any of them.
    let stored = f.group.get(f.compute1.id).await.unwrap();
    assert!(!stored.disabled && !stored.forced_down);

    // Path ids: not a UUID → 400, an unknown UUID → 404.
    let answer = api
        .put("/os-services/42", &[], r#"{"status": "disabled"}"#)
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.fault("badRequest"), "Invalid uuid 42");
    let unknown = "/os-services/00000000-0000-4000-8000-000000000000";
    let answer = api.put(unknown, &[], r#"{"status": "disabled"}"#).await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.fault("itemNotFound"),
        "Service 00000000-0000-4000-8000-000000000000 could not be found."
    );
    server.shutdown().await.unwrap();
}

/// A NUL character or an over-long text is the client's mistake: 400 in nova's format,
/// whatever the store (PostgreSQL's "invalid byte sequence" used to come back as 503),
/// and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_fields_with_nul_or_too_long_are_400() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::InsecureNoAuth).await;
    let path = format!("/os-services/{}", f.compute1.uuid);

    let answer = api
        .put(
            &path,
            &[],
            r#"{"status": "disabled", "disabled_reason": "a\u0000b"}"#,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    let message = answer.fault("badRequest");
    assert!(
        message.starts_with("Invalid input for field/attribute disabled_reason.")
            && message.ends_with("it must not contain a NUL character"),
        "{message}"
    );
    let long = "x".repeat(256);
    let answer = api
        .put(
            &path,
            &[],
            &format!(r#"{{"status": "disabled", "disabled_reason": "{long}"}}"#),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.fault("badRequest").ends_with("is too long"));

    // The legacy actions read host and binary from the body.
    let legacy = [("X-OpenStack-Nova-API-Version", "2.11")];
    let answer = api
        .put(
            "/os-services/disable",
            &legacy,
            r#"{"host": "node-1\u0000", "binary": "nova-compute"}"#,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);

    // A filter no row can match.
    let answer = api.get("/os-services?host=node%00").await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.fault("badRequest").contains("NUL"),
        "{}",
        answer.text
    );

    let stored = f.group.get(f.compute1.id).await.unwrap();
    assert!(!stored.disabled);
    server.shutdown().await.unwrap();
}

/// A body past nova's 112 KiB limit is 413 in nova's JSON format (axum's own answer is
/// plain text), whether it is sent whole or a 20 MB one is announced and cut short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_novas_json_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::InsecureNoAuth).await;
    let path = format!("/os-services/{}", f.compute1.uuid);
    let body = format!(
        r#"{{"status": "disabled", "disabled_reason": "{}"}}"#,
        "x".repeat(200_000)
    );
    let answer = api.put(&path, &[], &body).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(
        answer.fault("overLimit"),
        "Request is too large: the limit is 114688 bytes."
    );

    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: 20971520\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // More than the limit, less than announced; the write may fail once the server has
    // answered and closed.
    let _ = stream.write_all(&vec![b' '; 1 << 20]).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("the server answers");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#"{"overLimit":{"code":413,"#),
        "{response}"
    );
    assert!(!f.group.get(f.compute1.id).await.unwrap().disabled);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_service_and_404s_after() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::InsecureNoAuth).await;
    let path = format!("/os-services/{}", f.scheduler.uuid);

    let answer = api.delete(&path, &[]).await;
    assert_eq!(answer.status, 204);
    assert!(answer.text.is_empty());
    assert_eq!(answer.header("openstack-api-version"), Some("compute 2.53"));
    let left = api.get("/os-services").await.json();
    assert_eq!(left["services"].as_array().unwrap().len(), 2);
    assert!(
        left["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["binary"] != "nova-scheduler")
    );
    assert_eq!(
        f.group.get(f.scheduler.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let again = api.delete(&path, &[]).await;
    assert_eq!(again.status, 404);
    assert_eq!(
        again.fault("itemNotFound"),
        format!("Service {} could not be found.", f.scheduler.uuid)
    );

    // Before 2.53 the id is the integer one.
    let old = [("X-OpenStack-Nova-API-Version", "2.52")];
    let answer = api
        .delete(&format!("/os-services/{}", f.compute2.id), &old)
        .await;
    assert_eq!(answer.status, 204);
    let answer = api
        .delete(&format!("/os-services/{}", f.compute2.id), &old)
        .await;
    assert_eq!(answer.status, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_put_actions_before_253() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::InsecureNoAuth).await;
    let v21 = [("X-OpenStack-Nova-API-Version", "2.1")];
    let v211 = [("X-OpenStack-Nova-API-Version", "2.11")];
    let who = r#""host": "node-1", "binary": "nova-compute""#;

    let answer = api
        .put(
            "/os-services/disable-log-reason",
            &v21,
            &format!(r#"{{{who}, "disabled_reason": "disk"}}"#),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"service": {"host": "node-1", "binary": "nova-compute", "status": "disabled", "disabled_reason": "disk"}})
    );
    assert!(f.group.get(f.compute1.id).await.unwrap().disabled);

    let answer = api
        .put(
            "/os-services/disable-log-reason",
            &v21,
            &format!("{{{who}}}"),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.fault("badRequest"), "Missing disabled reason field");

    let answer = api
        .put("/os-services/enable", &v21, &format!("{{{who}}}"))
        .await;
    assert_eq!(
        answer.json(),
        json!({"service": {"host": "node-1", "binary": "nova-compute", "status": "enabled"}})
    );
    let stored = f.group.get(f.compute1.id).await.unwrap();
    assert!(!stored.disabled);
    assert_eq!(stored.disabled_reason, None);

    // force-down exists from 2.11.
    let body = format!(r#"{{{who}, "forced_down": true}}"#);
    assert_eq!(
        api.put("/os-services/force-down", &v21, &body).await.status,
        404
    );
    let answer = api.put("/os-services/force-down", &v211, &body).await;
    assert_eq!(
        answer.json(),
        json!({"service": {"host": "node-1", "binary": "nova-compute", "forced_down": true}})
    );
    assert!(f.group.get(f.compute1.id).await.unwrap().forced_down);

    let answer = api
        .put("/os-services/reboot", &v21, &format!("{{{who}}}"))
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.fault("itemNotFound"), "Unknown action");
    let answer = api
        .put(
            "/os-services/enable",
            &v21,
            r#"{"host": "node-9", "binary": "nova-compute"}"#,
        )
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.fault("itemNotFound"),
        "Compute host node-9 with binary nova-compute could not be found."
    );
    let answer = api
        .put("/os-services/enable", &v21, r#"{"host": "node-1"}"#)
        .await;
    assert_eq!(
        answer.fault("badRequest"),
        "'binary' is a required property"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_token() {
    let f = fixture().await;
    let path = format!("/os-services/{}", f.compute1.uuid);
    let body = r#"{"status": "disabled"}"#;

    // No token configured: reads open, writes refused with how to enable them.
    let (server, api) = serve(&f.group, ApiAuth::ReadOnly).await;
    assert_eq!(api.get("/os-services").await.status, 200);
    let refused = api.put(&path, &[("X-Auth-Token", "anything")], body).await;
    assert_eq!(refused.status, 403);
    let message = refused.fault("forbidden");
    assert!(
        message.contains("--auth-token") && message.contains("--insecure-no-auth"),
        "{message}"
    );
    assert_eq!(api.delete(&path, &[]).await.status, 403);
    server.shutdown().await.unwrap();

    // A token: 401 without it or with a wrong one, 200 with it (either header).
    let (server, api) = serve(&f.group, ApiAuth::Token("s3cret".into())).await;
    assert_eq!(
        api.get("/os-services").await.status,
        200,
        "loopback reads are open"
    );
    let missing = api.put(&path, &[], body).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    assert!(missing.fault("unauthorized").contains("X-Auth-Token"));
    let wrong = api.put(&path, &[("X-Auth-Token", "guess")], body).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.fault("unauthorized"), "The auth token is not valid.");
    assert!(!f.group.get(f.compute1.id).await.unwrap().disabled);
    let ok = api.put(&path, &[("X-Auth-Token", "s3cret")], body).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(f.group.get(f.compute1.id).await.unwrap().disabled);
    let ok = api
        .put(
            &path,
            &[("Authorization", "Bearer s3cret")],
            r#"{"status": "enabled"}"#,
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(!f.group.get(f.compute1.id).await.unwrap().disabled);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_loopback_needs_a_token_and_then_reads_need_it_too() {
    let f = fixture().await;
    let any = "0.0.0.0:0".parse().unwrap();

    let err = ApiServer::start(f.group.clone(), ApiServerOptions::new(any))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("refusing to serve the HTTP API on 0.0.0.0:0"),
        "{err}"
    );
    // Both programs' flags: a service's (the example's) and `periodic api serve`'s.
    assert!(
        err.to_string().contains("--api-auth-token for a service")
            && err
                .to_string()
                .contains("--auth-token for `periodic api serve`"),
        "{err}"
    );
    let err = ApiServer::start(
        f.group.clone(),
        ApiServerOptions::default().auth(ApiAuth::Token("  ".into())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);

    let server = ApiServer::start(
        f.group.clone(),
        ApiServerOptions::new(any).auth(ApiAuth::Token("s3cret".into())),
    )
    .await
    .unwrap();
    let api = Api::new(([127, 0, 0, 1], server.local_addr().port()).into());
    assert_eq!(api.get("/os-services").await.status, 401);
    assert_eq!(api.get("/metrics").await.status, 401);
    assert_eq!(api.get("/healthz").await.status, 200, "probes stay open");
    assert_eq!(
        api.get_with("/os-services", &[("X-Auth-Token", "s3cret")])
            .await
            .status,
        200
    );
    server.shutdown().await.unwrap();

    // Explicitly insecure: allowed, and open.
    let server = ApiServer::start(
        f.group.clone(),
        ApiServerOptions::new(any).auth(ApiAuth::InsecureNoAuth),
    )
    .await
    .unwrap();
    let api = Api::new(([127, 0, 0, 1], server.local_addr().port()).into());
    assert_eq!(api.get("/os-services").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_methods_and_standalone_endpoints() {
    let f = fixture().await;
    let (server, api) = serve(&f.group, ApiAuth::ReadOnly).await;

    let answer = api.get("/os-hypervisors").await;
    assert_eq!(answer.status, 404);
    assert!(answer.fault("itemNotFound").starts_with("Unknown resource"));
    let answer = api.call("POST", "/os-services", &[], Some("{}")).await;
    assert_eq!(answer.status, 405);
    assert_eq!(
        answer.fault("badMethod"),
        "Method not allowed for this resource."
    );

    // Without a service inside: /tasks is 404 with a message, /healthz says the store
    // answers.
    let tasks = api.get("/tasks").await;
    assert_eq!(tasks.status, 404);
    assert!(
        tasks
            .fault("itemNotFound")
            .contains("not part of a running service")
    );
    let health = api.get("/healthz").await;
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["services"], 3);
    assert_eq!(health["store"]["driver"], "db");

    // Version discovery, as keystoneauth reads it.
    let versions = api.get("/").await.json();
    assert_eq!(versions["versions"][0]["id"], "v2.1");
    assert_eq!(versions["versions"][0]["version"], "2.100");
    assert_eq!(versions["versions"][0]["min_version"], "2.1");
    assert_eq!(
        versions["versions"][0]["links"][0]["href"],
        format!("{}/v2.1/", api.base)
    );
    assert_eq!(api.get("/v2.1/").await.json()["version"]["id"], "v2.1");

    // After a shutdown nothing listens.
    let addr = server.local_addr();
    assert!(server.is_running());
    server.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_metrics_count_services_by_binary_and_state() {
    let f = fixture().await;
    f.group.set_forced_down(f.compute2.id, true).await.unwrap();
    let (server, api) = serve(&f.group, ApiAuth::ReadOnly).await;
    let answer = api.get("/metrics").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = &answer.text;
    let services = |binary, state| {
        http_support::samples(
            text,
            "periodic_services",
            &[("binary", binary), ("state", state)],
        )
    };
    assert_eq!(services("nova-compute", "up"), vec![1.0]);
    assert_eq!(services("nova-compute", "down"), vec![1.0]);
    // Never reported, but created within service_down_time: up, as nova judges
    // `last_seen_up or created_at`.
    assert_eq!(services("nova-scheduler", "up"), vec![1.0]);
    assert_eq!(services("nova-scheduler", "down"), vec![0.0]);
    assert_eq!(
        http_support::samples(text, "periodic_store_up", &[]),
        vec![1.0]
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    server.shutdown().await.unwrap();
}

// Each service's clock skew at its last report is a gauge in seconds; a service that never
// reported has none. nova's /os-services view keeps nova's keys only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_each_service_s_clock_skew() {
    use std::time::{Duration, SystemTime};

    let name = format!("memory://skew-metrics-{}", std::process::id());
    let group = ServiceGroup::open(&name, ServiceGroupConfig::default())
        .await
        .unwrap();
    let skewed = |ahead: bool, by: u64| {
        let clock = periodic::WallClock::from_fn(move || {
            let by = Duration::from_secs(by);
            if ahead {
                SystemTime::now() + by
            } else {
                SystemTime::now() - by
            }
        });
        ServiceGroup::open(&name, ServiceGroupConfig::default().clock(clock))
    };
    let (fast, slow) = (
        skewed(true, 600).await.unwrap(),
        skewed(false, 30).await.unwrap(),
    );
    let new = |host: &str| NewService::new(host, "nova-compute", "compute");
    let n1 = group.get_or_create(&new("node-1")).await.unwrap();
    let n2 = group.get_or_create(&new("node-2")).await.unwrap();
    group.get_or_create(&new("node-3")).await.unwrap();
    fast.report_state(&n1).await.unwrap();
    slow.report_state(&n2).await.unwrap();
    let (server, api) = serve(&group, ApiAuth::ReadOnly).await;
    let text = api.get("/metrics").await.text;
    let skew = |host| {
        http_support::samples(
            &text,
            "periodic_clock_skew_seconds",
            &[("host", host), ("binary", "nova-compute")],
        )
    };
    let (one, two) = (skew("node-1"), skew("node-2"));
    assert!(one.len() == 1 && (one[0] - 600.0).abs() < 1.0, "{text}");
    assert!(two.len() == 1 && (two[0] + 30.0).abs() < 1.0, "{text}");
    assert_eq!(skew("node-3"), Vec::<f64>::new(), "{text}");
    assert!(
        text.contains("# TYPE periodic_clock_skew_seconds gauge"),
        "{text}"
    );
    // Both skewed services are up: liveness is judged by the store's clock.
    let services = api.get("/os-services").await.json();
    let compute = service(&services, "node-1", "nova-compute");
    assert_eq!(compute["state"], "up");
    assert!(compute.get("clock_skew").is_none(), "{compute}");
    server.shutdown().await.unwrap();
}
