//! `GET /task-ledger` and `POST /task-ledger/{run,pause,resume}` over real HTTP against
//! an SQLite file and a scratch PostgreSQL database: the entry's keys, the filters, the
//! recent runs, the controls with the token, nova's 400/401/404 faults.
#![cfg(all(feature = "http", feature = "sqlite", feature = "postgres"))]

mod http_support;
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use http_support::Api;
use periodic::{
    ApiAuth, ApiServer, ApiServerOptions, ClaimRequest, RunOutcome, RunReport, ServiceGroup,
    ServiceGroupConfig, TaskScope,
};
use serde_json::Value;
use support::servers::{Kind, ScratchDb, TempDb};

const TOKEN: &[(&str, &str)] = &[("x-auth-token", "s3cret")];

const ENTRY_KEYS: [&str; 20] = [
    "scope",
    "task",
    "fleet",
    "spacing",
    "next_due",
    "slot",
    "token",
    "holder",
    "lease_until",
    "started",
    "finished",
    "outcome",
    "duration",
    "lateness",
    "runs",
    "failures",
    "running",
    "paused",
    "paused_reason",
    "run_requested",
];

fn is_rfc3339_z(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 27 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
    })
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// The scenario, on the store at `url`: a plain task with three recorded runs, a fleet
/// task with a live claim and one without any run.
async fn scenario(url: &str) {
    let group = ServiceGroup::open(url, ServiceGroupConfig::default())
        .await
        .unwrap();
    let ledger = group.ledger().expect("an SQL store keeps a ledger");
    let service = TaskScope::service("node-1", "nova-compute");
    let fleet = TaskScope::fleet("nova-scheduler").unwrap();
    for ms in [100, 200, 300] {
        let report = RunReport::new(
            RunOutcome::Succeeded,
            Duration::from_millis(ms),
            Duration::from_millis(5),
            Duration::ZERO,
        )
        .with_spacing(Duration::from_secs(60));
        ledger.record(&service, "audit", &report).await.unwrap();
    }
    ledger.prepare(&fleet, &["clean_up", "heal"]).await.unwrap();
    let request = ClaimRequest {
        scope: &fleet,
        tasks: vec!["clean_up"],
        spacing: Duration::from_secs(600),
        lease: Duration::from_secs(600),
        holder: "node-2:77",
    };
    ledger.claim(&request).await.unwrap();

    let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap())
        .auth(ApiAuth::Token("s3cret".to_owned()));
    let server = ApiServer::start(group.clone(), options).await.unwrap();
    let api = Api::new(server.local_addr());
    reads(&api).await;
    controls(&api).await;
    server.shutdown().await.unwrap();
    group.close().await;
}

/// The reads: the whole ledger, the filters, the recent runs, bad queries.
async fn reads(api: &Api) {
    // The whole ledger, ordered by scope then task.
    let answer = api.get("/task-ledger").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert!(is_rfc3339_z(&body["store_now"]), "{body}");
    let tasks = body["tasks"].as_array().unwrap();
    let names: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| (t["scope"].as_str().unwrap(), t["task"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("fleet/nova-scheduler", "clean_up"),
            ("fleet/nova-scheduler", "heal"),
            ("service/node-1/nova-compute", "audit"),
        ]
    );
    for task in tasks {
        assert_eq!(keys(task), BTreeSet::from(ENTRY_KEYS), "{task}");
    }
    let clean_up = &tasks[0];
    assert_eq!(clean_up["fleet"], "nova-scheduler");
    assert_eq!(clean_up["spacing"], 600.0);
    assert_eq!(
        (clean_up["token"].as_u64(), clean_up["running"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(clean_up["holder"], "node-2:77");
    assert!(is_rfc3339_z(&clean_up["next_due"]) && is_rfc3339_z(&clean_up["lease_until"]));
    let audit = &tasks[2];
    assert!(audit["fleet"].is_null());
    assert_eq!(audit["spacing"], 60.0);
    assert_eq!(
        (audit["runs"].as_u64(), audit["duration"].as_f64()),
        (Some(3), Some(0.3))
    );
    assert_eq!(audit["lateness"], 0.005);
    assert_eq!(audit["outcome"], "succeeded");
    assert!(is_rfc3339_z(&audit["started"]) && is_rfc3339_z(&audit["next_due"]));
    assert!(audit.get("recent_runs").is_none());

    // Filters and recent runs.
    let fleet_only = api.get("/task-ledger?kind=fleet").await.json();
    assert_eq!(fleet_only["tasks"].as_array().unwrap().len(), 2);
    let service_only = api.get("/task-ledger?kind=service&runs=2").await.json();
    let only = service_only["tasks"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    let runs = only[0]["recent_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["duration"].as_f64(), runs[1]["duration"].as_f64()),
        (Some(0.3), Some(0.2))
    );
    assert_eq!(
        keys(&runs[0]),
        BTreeSet::from([
            "started", "finished", "duration", "lateness", "outcome", "token", "holder"
        ])
    );
    let one = api
        .get("/task-ledger?scope=fleet%2Fnova-scheduler&task=heal")
        .await
        .json();
    assert_eq!(one["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(one["tasks"][0]["task"], "heal");
    for bad in ["runs=0", "runs=51", "kind=cells", "host=node-1"] {
        let answer = api.get(&format!("/task-ledger?{bad}")).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        answer.fault("badRequest");
    }
}

/// The controls, with the token; nova's faults.
async fn controls(api: &Api) {
    // Controls: writes need the token.
    let pause = r#"{"scope": "fleet/nova-scheduler", "task": "heal", "reason": "maintenance"}"#;
    let answer = api
        .call("POST", "/task-ledger/pause", &[], Some(pause))
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    let answer = api
        .call("POST", "/task-ledger/pause", TOKEN, Some(pause))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let task = &answer.json()["task"];
    assert_eq!(keys(task), BTreeSet::from(ENTRY_KEYS));
    assert_eq!(
        (task["paused"].as_bool(), task["paused_reason"].as_str()),
        (Some(true), Some("maintenance"))
    );
    assert!(
        task["next_due"].is_null(),
        "a paused task is not due: {task}"
    );
    let listed = api.get("/task-ledger?task=heal").await.json();
    assert_eq!(listed["tasks"][0]["paused"], true);

    let run = r#"{"scope": "service/node-1/nova-compute", "task": "audit"}"#;
    let answer = api.call("POST", "/task-ledger/run", TOKEN, Some(run)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(is_rfc3339_z(&answer.json()["task"]["run_requested"]));

    let resume = r#"{"scope": "fleet/nova-scheduler", "task": "heal"}"#;
    let answer = api
        .call("POST", "/task-ledger/resume", TOKEN, Some(resume))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let task = &answer.json()["task"];
    assert_eq!(
        (task["paused"].as_bool(), task["paused_reason"].is_null()),
        (Some(false), true)
    );

    // Faults.
    let missing = r#"{"scope": "fleet/nova-scheduler", "task": "nope"}"#;
    let answer = api
        .call("POST", "/task-ledger/run", TOKEN, Some(missing))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert_eq!(
        answer.fault("itemNotFound"),
        "Task nope could not be found in fleet/nova-scheduler."
    );
    for (path, body) in [
        (
            "/task-ledger/run",
            r#"{"scope": "fleet/nova-scheduler", "task": "heal", "reason": "x"}"#,
        ),
        ("/task-ledger/pause", r#"{"scope": "fleet/nova-scheduler"}"#),
        (
            "/task-ledger/resume",
            r#"{"scope": "fleet/nova-scheduler", "task": 7}"#,
        ),
        ("/task-ledger/pause", "{not json"),
        (
            "/task-ledger/pause",
            &format!(
                r#"{{"scope": "fleet/nova-scheduler", "task": "heal", "reason": "{}"}}"#,
                "x".repeat(256)
            ),
        ),
    ] {
        let answer = api.call("POST", path, TOKEN, Some(body)).await;
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.text);
        answer.fault("badRequest");
    }
    let answer = api.call("GET", "/task-ledger/run", &[], None).await;
    assert_eq!(answer.status, 405, "{}", answer.text);
}

#[tokio::test]
async fn task_ledger_over_http_on_sqlite() {
    let file = TempDb::new();
    scenario(&file.url()).await;
}

#[tokio::test]
async fn task_ledger_over_http_on_postgres() {
    let Some(scratch) = ScratchDb::create(Kind::Postgres).await else {
        return;
    };
    scenario(&scratch.url).await;
    scratch.drop_db().await;
}

/// A ledger given apart from the group (`--fleet-store`) is the one served: empty here;
/// without a token, writes are refused.
#[tokio::test]
async fn a_ledger_of_its_own_is_served_and_writes_need_a_token() {
    let group = ServiceGroup::open("memory://", ServiceGroupConfig::default())
        .await
        .unwrap();
    assert!(group.ledger().is_some(), "memory:// keeps one");
    let ledger = ServiceGroup::open_ledger("memory://", group.config())
        .await
        .unwrap();
    let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap());
    let server = ApiServer::start_with_ledger(group, ledger, options)
        .await
        .unwrap();
    let api = Api::new(server.local_addr());
    let body = api.get("/task-ledger").await.json();
    assert_eq!(body["tasks"], Value::Array(vec![]));
    let answer = api
        .call(
            "POST",
            "/task-ledger/run",
            &[],
            Some(r#"{"scope": "fleet/a", "task": "b"}"#),
        )
        .await;
    assert_eq!(answer.status, 403, "writes need a token: {}", answer.text);
    server.shutdown().await.unwrap();
}
