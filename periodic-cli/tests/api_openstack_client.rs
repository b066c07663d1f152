//! `periodic api serve` against the real OpenStack client: python-openstackclient's
//! `compute service list/set/delete`, with keystoneauth's `none` plugin (reads) and
//! `admin_token` plugin (writes, the token as `X-Auth-Token`), both with an endpoint
//! override.
//!
//! The client is `$PERIODIC_OPENSTACK_CLI` if set (then it must work: a failure is a test
//! failure), else `openstack` on `PATH`; without one the test prints `skipped: ...` and
//! passes. Install it with:
//!
//! ```text
//! python3 -m venv .ci/osc-venv && .ci/osc-venv/bin/pip install -q python-openstackclient
//! export PERIODIC_OPENSTACK_CLI="$PWD/.ci/osc-venv/bin/openstack"
//! ```

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use periodic::{NewService, ServiceGroup, ServiceGroupConfig};
use serde_json::Value;

/// The `openstack` program, or `None` after printing why the test is skipped.
fn client() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PERIODIC_OPENSTACK_CLI").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("openstack"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!(
            "skipped: python-openstackclient tests: no `openstack` on PATH and \
             PERIODIC_OPENSTACK_CLI is unset (pip install python-openstackclient)"
        );
    }
    found
}

struct Fixture {
    _dir: tempfile::TempDir,
    home: tempfile::TempDir,
    url: String,
    compute_uuid: String,
    scheduler_uuid: String,
}

fn prepare() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("periodic.db").display());
    let (compute_uuid, scheduler_uuid) = runtime.block_on(async {
        let group = ServiceGroup::open(&url, ServiceGroupConfig::default())
            .await
            .unwrap();
        let compute = group
            .get_or_create(&NewService::new("node-1", "periodic-compute", "compute"))
            .await
            .unwrap();
        group.report_state(&compute).await.unwrap();
        let scheduler = group
            .get_or_create(&NewService::new(
                "node-2",
                "periodic-scheduler",
                "scheduler",
            ))
            .await
            .unwrap();
        group.close().await;
        (compute.uuid, scheduler.uuid)
    });
    Fixture {
        _dir: dir,
        home: tempfile::tempdir().unwrap(),
        url,
        compute_uuid,
        scheduler_uuid,
    }
}

/// `periodic api serve` on a free port; killed on drop.
struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    fn start(db: &str, token: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_periodic"))
            .args(["api", "serve", "--bind", "127.0.0.1:0", "--db", db])
            .args(["--auth-token", token])
            .env_remove("PERIODIC_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let endpoint = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, endpoint }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `openstack` with only the given auth options (no `OS_*` variables, no
/// clouds.yaml: a scratch HOME).
fn openstack(cli: &PathBuf, home: &tempfile::TempDir, auth: &[&str], args: &[&str]) -> Output {
    let mut cmd = Command::new(cli);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home.path())
        .args(auth)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "openstack failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn row<'a>(rows: &'a Value, host: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["Host"] == host)
        .unwrap_or_else(|| panic!("no {host} in {rows}"))
}

/// The client pointed at one server: reads with `none`, writes with `admin_token`.
struct Osc<'a> {
    cli: &'a PathBuf,
    home: &'a tempfile::TempDir,
    endpoint: &'a str,
    token: &'a str,
}

impl Osc<'_> {
    fn read(&self, args: &[&str]) -> Output {
        let auth = ["--os-auth-type", "none", "--os-endpoint", self.endpoint];
        openstack(self.cli, self.home, &auth, args)
    }

    fn write(&self, args: &[&str]) -> Output {
        let auth = [
            "--os-auth-type",
            "admin_token",
            "--os-token",
            self.token,
            "--os-endpoint",
            self.endpoint,
        ];
        openstack(self.cli, self.home, &auth, args)
    }

    fn list(&self, long: bool) -> Value {
        let mut args = vec!["compute", "service", "list", "-f", "json"];
        if long {
            args.push("--long");
        }
        let text = ok(&self.read(&args));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

/// OpenStackClient's columns, our values.
fn check_list(rows: &Value, f: &Fixture) {
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    let compute = row(rows, "node-1");
    let mut columns: Vec<&str> = compute
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    columns.sort_unstable();
    let mut expected = vec![
        "ID",
        "Binary",
        "Host",
        "Zone",
        "Status",
        "State",
        "Updated At",
    ];
    expected.sort_unstable();
    assert_eq!(columns, expected, "{compute}");
    assert_eq!(compute["ID"], f.compute_uuid.as_str());
    assert_eq!(compute["Binary"], "periodic-compute");
    assert_eq!(compute["Zone"], "nova");
    assert_eq!(compute["Status"], "enabled");
    assert_eq!(compute["State"], "up");
    let updated = compute["Updated At"].as_str().unwrap();
    assert_eq!(updated.len(), 26, "{updated}");
    assert_eq!(&updated[10..11], "T");
    let scheduler = row(rows, "node-2");
    assert_eq!(scheduler["ID"], f.scheduler_uuid.as_str());
    assert_eq!(scheduler["Zone"], "internal");
}

#[test]
fn openstack_compute_service_list_set_and_delete() {
    let Some(cli) = client() else { return };
    let f = prepare();
    let server = Server::start(&f.url, "s3cret");
    let osc = Osc {
        cli: &cli,
        home: &f.home,
        endpoint: &server.endpoint,
        token: "s3cret",
    };
    check_list(&osc.list(false), &f);

    // Disable with a reason (admin_token sends the token as X-Auth-Token).
    ok(&osc.write(&[
        "compute",
        "service",
        "set",
        "--disable",
        "--disable-reason",
        "maintenance window",
        "node-1",
        "periodic-compute",
    ]));
    let rows = osc.list(true);
    let compute = row(&rows, "node-1");
    assert_eq!(compute["Status"], "disabled");
    assert_eq!(compute["Disabled Reason"], "maintenance window");
    assert_eq!(compute["Forced Down"], false);

    // Force down, then back up and enabled.
    ok(&osc.write(&[
        "compute",
        "service",
        "set",
        "--down",
        "node-1",
        "periodic-compute",
    ]));
    let rows = osc.list(true);
    assert_eq!(row(&rows, "node-1")["State"], "down");
    assert_eq!(row(&rows, "node-1")["Forced Down"], true);
    ok(&osc.write(&[
        "compute",
        "service",
        "set",
        "--up",
        "--enable",
        "node-1",
        "periodic-compute",
    ]));
    let rows = osc.list(true);
    let compute = row(&rows, "node-1");
    assert_eq!(compute["State"], "up");
    assert_eq!(compute["Status"], "enabled");
    assert_eq!(compute["Disabled Reason"], Value::Null);

    // Without the token a write fails and changes nothing.
    let refused = osc.read(&[
        "compute",
        "service",
        "set",
        "--disable",
        "node-1",
        "periodic-compute",
    ]);
    assert!(!refused.status.success());
    assert_eq!(row(&osc.list(false), "node-1")["Status"], "enabled");

    // Delete by id.
    ok(&osc.write(&["compute", "service", "delete", &f.scheduler_uuid]));
    let rows = osc.list(false);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["Host"], "node-1");
}
