//! The operator's page in a real browser (Debian's chromium, headless, driven through
//! chromedriver; `PERIODIC_TEST_CHROMEDRIVER` must name it), on SQLite and on
//! PostgreSQL, against the real `periodic api serve` and real service processes:
//!
//! ```text
//! store: steady (process), victim (process), forced down, stopped, two hosts named like markup
//! page open ── rows: up / down (forced down) / down (stopped) / markup shown as text
//!   kill -9 victim ── no heartbeat for service_down_time (3 s) ── its row turns down,
//!   |<──────────────── ≤ 3 s + a poll (1 s) + slack ─────────────>|   same document, no reload
//! disable steady from the page: 401 without the token; with it, `periodic service list` says so
//! force down / unset from the page: the row follows
//! ```
//!
//! And the task controls (`POST /task-ledger/...`), against a fleet replica process whose
//! one task runs every hour:
//!
//! ```text
//! replica ── its fleet task in the page's fleet panel (spacing 1 h, next due far away)
//!   Pause (reason) ── `periodic task list`: paused, with the reason ── Resume ── not paused
//!   Run now ── a run within the next pass (≤ 1 s) + slack, long before it was due:
//!   `periodic task list` counts it, the page's timeline draws it
//! ```

mod ui_support;

use std::time::Duration;

use periodic::{NewService, ServiceGroup, ServiceGroupConfig};
use serde_json::{Value, json};
use ui_support::{
    Browser, ONE_BROWSER, Store, api_serve, fleet_process, periodic, service_process, task_list,
    wait_until,
};

/// `service_down_time` of the server and the service processes.
const DOWN_SECS: u64 = 3;
const TOKEN: &str = "ui-browser-test-token";
/// Host names that are markup: shown as text, never run.
const SCRIPT_HOST: &str = "\"><script>window.__pwned=1</script>";
const IMG_HOST: &str = "<img src=x onerror=\"window.__pwned=2\">";

/// The row of service `id` as the page shows it: its state attribute and the text of
/// its cells, or why not yet.
async fn row(browser: &Browser, id: i64) -> Result<Value, String> {
    let row = browser
        .js(
            "const row = document.querySelector(`#service-rows tr[data-id=\"${arguments[0]}\"]`);
             if (!row) return null;
             return { state: row.getAttribute('data-state'),
                      cells: Array.from(row.cells, (c) => c.textContent) };",
            vec![json!(id)],
        )
        .await;
    if row.is_null() {
        Err(format!("no row for service {id}"))
    } else {
        Ok(row)
    }
}

/// Waits until the row of `id` has `state` and its state cell reads `state_text`.
async fn row_shows(browser: &Browser, id: i64, state_text: &str, within: Duration) -> Value {
    wait_until(
        &format!("service {id} shows {state_text:?}"),
        within,
        async || {
            let row = row(browser, id).await?;
            if row["cells"][4] == state_text {
                Ok(row)
            } else {
                Err(row.to_string())
            }
        },
    )
    .await
}

/// The page's status line once it says something containing `part`.
async fn message(browser: &Browser, part: &str) -> String {
    wait_until(
        &format!("the page says {part:?}"),
        Duration::from_secs(10),
        async || {
            let text = browser
                .js(
                    "return document.getElementById('message').textContent;",
                    vec![],
                )
                .await;
            let text = text.as_str().unwrap_or_default().to_owned();
            if text.contains(part) {
                Ok(text)
            } else {
                Err(text)
            }
        },
    )
    .await
}

async fn click(browser: &Browser, css: &str) {
    browser
        .js(
            "const e = document.querySelector(arguments[0]); if (!e) throw new Error('no ' + arguments[0]); e.click();",
            vec![json!(css)],
        )
        .await;
}

async fn type_into(browser: &Browser, id: &str, text: &str) {
    let field = browser
        .client()
        .find(fantoccini::Locator::Id(id))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// `periodic service list --format json` over `url`.
fn service_list(url: &str) -> Vec<Value> {
    let out = periodic()
        .args(["service", "list", "--db", url, "--format", "json"])
        .args(["--service-down-time", &DOWN_SECS.to_string()])
        // Heartbeats every second: service_down_time is not raised by nova's 2.5× rule.
        .env("PERIODIC_REPORT_INTERVAL", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rows written through the library: one forced down, one stopped, two named like
/// markup (they reported once, so they turn down after `DOWN_SECS`); their ids.
async fn seed(url: &str, run: &str) -> [i64; 4] {
    let group = ServiceGroup::open(
        url,
        ServiceGroupConfig::default().service_down_time(Duration::from_secs(DOWN_SECS)),
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for host in [
        format!("forced-{run}"),
        format!("stopped-{run}"),
        SCRIPT_HOST.to_owned(),
        IMG_HOST.to_owned(),
    ] {
        let record = group
            .get_or_create(&NewService::new(host, "periodic-compute", "compute"))
            .await
            .unwrap();
        group.report_state(&record).await.unwrap();
        ids.push(record.id);
    }
    group.set_forced_down(ids[0], true).await.unwrap();
    group.mark_stopped(ids[1]).await.unwrap();
    group.close().await;
    [ids[0], ids[1], ids[2], ids[3]]
}

/// The ids of the rows on the page.
async fn row_ids(browser: &Browser) -> Vec<i64> {
    let ids = browser
        .js(
            "return Array.from(document.querySelectorAll('#service-rows tr'),
                               (r) => Number(r.getAttribute('data-id')));",
            vec![],
        )
        .await;
    serde_json::from_value(ids).unwrap()
}

/// The filters ask the server: a part of the host name and the state narrow the rows
/// to the killed service; cleared, all six come back.
async fn filters(browser: &Browser, victim: i64, run: &str) {
    type_into(browser, "filter-host", &format!("VICTIM-{run}")).await;
    browser
        .js(
            "const s = document.getElementById('filter-state'); s.value = 'down';
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
    wait_until("the filtered rows", Duration::from_secs(5), async || {
        let ids = row_ids(browser).await;
        if ids == [victim] {
            Ok(())
        } else {
            Err(format!("{ids:?}"))
        }
    })
    .await;
    let range = browser
        .js(
            "return document.getElementById('page-range').textContent;",
            vec![],
        )
        .await;
    assert_eq!(range, "1–1 of 1");
    type_into(browser, "filter-host", "").await;
    browser
        .js(
            "const s = document.getElementById('filter-state'); s.value = '';
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
    wait_until("all rows again", Duration::from_secs(5), async || {
        let ids = row_ids(browser).await;
        if ids.len() == 6 {
            Ok(())
        } else {
            Err(format!("{ids:?}"))
        }
    })
    .await;
}

/// Disable with a reason from the page (refused without the token, done with it, seen
/// by `periodic service list`), then force down and unset.
async fn service_controls(browser: &Browser, url: &str, steady: i64, steady_host: &str) {
    // Disable with a reason from the page: refused without the token, done with it.
    click(browser, &format!("#service-rows tr[data-id=\"{steady}\"]")).await;
    wait_until(
        "the detail panel opens",
        Duration::from_secs(5),
        async || {
            let title = browser
                .js(
                    "const d = document.getElementById('detail');
                 return d.hidden ? null : document.getElementById('detail-title').textContent;",
                    vec![],
                )
                .await;
            if title == format!("{steady_host} / periodic-compute") {
                Ok(())
            } else {
                Err(title.to_string())
            }
        },
    )
    .await;
    type_into(browser, "disable-reason", "kernel upgrade (from the page)").await;
    click(browser, "#do-disable").await;
    let refused = message(browser, "failed").await;
    assert!(refused.contains("401"), "{refused}");
    type_into(browser, "token", TOKEN).await;
    click(browser, "#token-use").await;
    click(browser, "#do-disable").await;
    message(browser, "Disable").await;
    message(browser, "done").await;
    let listed = service_list(url);
    let entry = listed
        .iter()
        .find(|s| s["host"] == steady_host)
        .unwrap_or_else(|| panic!("{steady_host} in {listed:?}"));
    assert_eq!(entry["status"], "disabled", "{entry}");
    assert_eq!(
        entry["disabled_reason"], "kernel upgrade (from the page)",
        "{entry}"
    );
    wait_until(
        "the row says disabled",
        Duration::from_secs(5),
        async || {
            let row = row(browser, steady).await?;
            if row["cells"][5] == "disabled (kernel upgrade (from the page))" {
                Ok(())
            } else {
                Err(row.to_string())
            }
        },
    )
    .await;

    // Force down and unset from the page.
    click(browser, "#do-force-down").await;
    row_shows(
        browser,
        steady,
        "down (forced down)",
        Duration::from_secs(5),
    )
    .await;
    click(browser, "#do-unset-force-down").await;
    row_shows(browser, steady, "up", Duration::from_secs(5)).await;
    let entry = service_list(url)
        .into_iter()
        .find(|s| s["host"] == steady_host)
        .unwrap();
    assert_eq!(entry["forced_down"], false, "{entry}");
}

async fn the_page_follows_the_store(store: Store, url: String, kind: &str) {
    let _one = ONE_BROWSER.lock().await;
    let run = format!("{kind}-{}", std::process::id());
    let [forced, stopped, script_host, img_host] = seed(&url, &run).await;
    let (server, addr) = api_serve(&url, DOWN_SECS, TOKEN);
    let steady_host = format!("steady-{run}");
    let (steady_process, steady) = service_process(&url, DOWN_SECS, &steady_host);
    let (mut victim_process, victim) = service_process(&url, DOWN_SECS, &format!("victim-{run}"));

    let browser = Browser::start().await;
    browser.goto(&format!("http://{addr}/")).await;
    assert_eq!(
        browser.client().title().await.unwrap(),
        "periodic: services and tasks"
    );

    // Up and down, with the reasons.
    row_shows(&browser, steady, "up", Duration::from_secs(10)).await;
    row_shows(&browser, victim, "up", Duration::from_secs(10)).await;
    row_shows(
        &browser,
        forced,
        "down (forced down)",
        Duration::from_secs(10),
    )
    .await;
    let forced_row = row(&browser, forced).await.unwrap();
    assert_eq!(forced_row["cells"][6], "yes", "{forced_row}");
    row_shows(&browser, stopped, "down (stopped)", Duration::from_secs(10)).await;

    // Markup in the store is text on the page, and never runs.
    let shown = row(&browser, script_host).await.unwrap();
    assert_eq!(shown["cells"][1], SCRIPT_HOST, "{shown}");
    assert_eq!(row(&browser, img_host).await.unwrap()["cells"][1], IMG_HOST);
    let injected = browser
        .js(
            "return { pwned: typeof window.__pwned,
                      scripts: document.scripts.length,
                      images: document.querySelectorAll('#service-rows img').length };",
            vec![],
        )
        .await;
    assert_eq!(
        injected,
        json!({"pwned": "undefined", "scripts": 1, "images": 0})
    );
    let totals = browser
        .js(
            "return document.getElementById('totals').textContent;",
            vec![],
        )
        .await;
    assert!(
        totals.as_str().unwrap().starts_with("6 services:"),
        "{totals}"
    );
    browser.screenshot(&format!("operator-page-{kind}")).await;

    // kill -9: the open page turns the service down by itself, in the same document.
    browser.js("window.__sameDocument = 'yes';", vec![]).await;
    victim_process.kill9();
    let down = row_shows(
        &browser,
        victim,
        "down (no heartbeat within service_down_time)",
        Duration::from_secs(DOWN_SECS + 8),
    )
    .await;
    assert_eq!(down["state"], "down");
    assert_eq!(
        browser.js("return window.__sameDocument;", vec![]).await,
        "yes",
        "the page was reloaded"
    );

    filters(&browser, victim, &run).await;
    service_controls(&browser, &url, steady, &steady_host).await;
    browser
        .screenshot(&format!("operator-page-{kind}-detail"))
        .await;

    browser.close().await;
    drop((server, steady_process, victim_process));
    store.drop_store().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_a_sqlite_store() {
    let (store, url) = Store::sqlite();
    the_page_follows_the_store(store, url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_a_postgres_store() {
    let Some((store, url)) = Store::postgres("page").await else {
        return;
    };
    the_page_follows_the_store(store, url, "postgres").await;
}

/// The fleet panel's row of `task` in fleet `fleet`, as text and flags, or why not yet.
async fn fleet_row(browser: &Browser, fleet: &str, task: &str) -> Result<Value, String> {
    let row = browser
        .js(
            "const row = Array.from(document.querySelectorAll('#fleet-tasks tbody tr'))
               .find((r) => r.getAttribute('data-scope') === 'fleet/' + arguments[0]
                             && r.getAttribute('data-task') === arguments[1]);
             if (!row) return null;
             return { paused: row.getAttribute('data-paused'),
                      cells: Array.from(row.cells, (c) => c.textContent),
                      bars: Array.from(row.querySelectorAll('svg rect[data-outcome]'),
                                       (r) => r.getAttribute('data-outcome')),
                      tips: Array.from(row.querySelectorAll('svg rect title'),
                                       (t) => t.textContent) };",
            vec![json!(fleet), json!(task)],
        )
        .await;
    if row.is_null() {
        Err(format!("no row for {fleet}/{task} in the fleet panel"))
    } else {
        Ok(row)
    }
}

async fn click_in_fleet_row(browser: &Browser, fleet: &str, task: &str, button: &str) {
    browser
        .js(
            "const row = Array.from(document.querySelectorAll('#fleet-tasks tbody tr'))
               .find((r) => r.getAttribute('data-scope') === 'fleet/' + arguments[0]
                             && r.getAttribute('data-task') === arguments[1]);
             row.querySelector(arguments[2]).click();",
            vec![json!(fleet), json!(task), json!(button)],
        )
        .await;
}

/// Pause with a reason from the page (seen by `periodic task list` and on the page),
/// then resume.
async fn pause_and_resume(browser: &Browser, url: &str, fleet: &str, kind: &str) {
    // Pause with a reason, then resume.
    type_into(browser, "disable-reason", "deploy freeze").await;
    click_in_fleet_row(browser, fleet, "0", ".task-pause").await;
    message(browser, "Pause 0: done").await;
    let paused = wait_until(
        "task list says paused",
        Duration::from_secs(10),
        async || {
            let entry = task_list(url, fleet).into_iter().next().unwrap();
            if entry["paused"] == true {
                Ok(entry)
            } else {
                Err(entry.to_string())
            }
        },
    )
    .await;
    assert_eq!(paused["paused_reason"], "deploy freeze", "{paused}");
    wait_until(
        "the page says paused",
        Duration::from_secs(10),
        async || {
            let row = fleet_row(browser, fleet, "0").await?;
            if row["paused"] == "true"
                && row["cells"][7]
                    .as_str()
                    .unwrap_or("")
                    .contains("paused: deploy freeze")
            {
                Ok(())
            } else {
                Err(row.to_string())
            }
        },
    )
    .await;
    browser
        .screenshot(&format!("operator-page-{kind}-paused"))
        .await;
    click_in_fleet_row(browser, fleet, "0", ".task-resume").await;
    message(browser, "Resume 0: done").await;
    wait_until(
        "task list says resumed",
        Duration::from_secs(10),
        async || {
            let entry = task_list(url, fleet).into_iter().next().unwrap();
            if entry["paused"] == false {
                Ok(())
            } else {
                Err(entry.to_string())
            }
        },
    )
    .await;
}

async fn task_controls_from_the_page(store: Store, url: String, kind: &str) {
    let _one = ONE_BROWSER.lock().await;
    let run = format!("{kind}-{}", std::process::id());
    let fleet = format!("ui-fleet-{run}");
    // A service to select (it creates the tables), and a fleet replica whose task runs
    // once an hour.
    let (service, service_id) = service_process(&url, DOWN_SECS, &format!("tasks-{run}"));
    let (server, addr) = api_serve(&url, DOWN_SECS, TOKEN);
    let replica = fleet_process(&url, &fleet, &format!("holder-{run}"), 3600);
    let entry = wait_until(
        "the fleet task in the ledger",
        Duration::from_secs(30),
        async || {
            task_list(&url, &fleet)
                .into_iter()
                .next()
                .ok_or_else(|| "no task yet".to_owned())
        },
    )
    .await;
    assert_eq!(entry["task"], "0", "{entry}");
    let runs_before = entry["runs"].as_u64().unwrap_or(0);

    let browser = Browser::start().await;
    // A link that names the service opens it (no click).
    browser
        .goto(&format!("http://{addr}/#service={service_id}"))
        .await;
    row_shows(&browser, service_id, "up", Duration::from_secs(10)).await;
    let shown = wait_until(
        "the fleet task on the page",
        Duration::from_secs(10),
        async || fleet_row(&browser, &fleet, "0").await,
    )
    .await;
    assert!(
        shown["cells"][0].as_str().unwrap().starts_with("0 ("),
        "{shown}"
    );
    type_into(&browser, "token", TOKEN).await;
    click(&browser, "#token-use").await;

    pause_and_resume(&browser, &url, &fleet, kind).await;

    // Run now: a run long before the task is due, counted by the ledger and drawn.
    click_in_fleet_row(&browser, &fleet, "0", ".task-run").await;
    message(&browser, "Run now 0: done").await;
    let ran = wait_until("the run asked for", Duration::from_secs(10), async || {
        let entry = task_list(&url, &fleet).into_iter().next().unwrap();
        if entry["runs"].as_u64().unwrap_or(0) > runs_before && entry["outcome"] == "succeeded" {
            Ok(entry)
        } else {
            Err(entry.to_string())
        }
    })
    .await;
    assert!(ran["token"].as_u64().unwrap() >= 1, "a fenced run: {ran}");
    wait_until(
        "the page's timeline draws the run",
        Duration::from_secs(10),
        async || {
            let row = fleet_row(&browser, &fleet, "0").await?;
            // A bar in the outcome's colour, its tooltip naming the replica that ran it.
            let holder = format!("holder holder-{run}");
            if row["bars"]
                .as_array()
                .is_some_and(|b| b.iter().any(|o| o == "succeeded"))
                && row["tips"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t.as_str().unwrap_or("").contains(&holder)))
            {
                Ok(())
            } else {
                Err(row.to_string())
            }
        },
    )
    .await;
    browser
        .screenshot(&format!("operator-page-{kind}-tasks"))
        .await;

    browser.close().await;
    drop((server, service, replica));
    store.drop_store().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_run_now_from_the_page_on_sqlite() {
    let (store, url) = Store::sqlite();
    task_controls_from_the_page(store, url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_run_now_from_the_page_on_postgres() {
    let Some((store, url)) = Store::postgres("tasks").await else {
        return;
    };
    task_controls_from_the_page(store, url, "postgres").await;
}
