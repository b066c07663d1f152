//! `ApiServer`: the HTTP server, its routes, and its graceful shutdown.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::auth::Auth;
use super::connections::{Limits, serve};
use super::fault::Fault;
use super::options::{ApiAuth, ApiServerOptions};
use super::state::{AppState, Embedded};
use super::{discovery, health, ledger, metrics, os_services, page, page_services, tasks};
use crate::error::{Error, ErrorKind, Result};
use crate::periodic::TaskLedger;
use crate::servicegroup::ServiceGroup;

/// A running HTTP API server: nova's `/os-services` over a [`ServiceGroup`], so that
/// existing OpenStack clients can list, disable, force down and delete services, plus
/// `/healthz`, `/metrics` and, inside a service, `/tasks`.
///
/// Start one on its own with [`ApiServer::start`] (what `periodic api serve` does), or
/// inside a service with [`ServiceBuilder::api`](crate::ServiceBuilder::api), which also
/// stops it with the service. The server runs on the current tokio runtime. Dropping the
/// handle starts a graceful shutdown without waiting for it; [`shutdown`](Self::shutdown)
/// waits.
///
/// # Endpoints
///
/// | method and path | answer |
/// |---|---|
/// | `GET /os-services[?host=H][&binary=B]` | 200 `{"services": [view, ...]}`, exact-match filters; any other query parameter → 400 |
/// | `PUT /os-services/{uuid}` (2.53+) | body `status` (`enabled`/`disabled`), `disabled_reason` (with `disabled` only), `forced_down` (boolean); 200 `{"service": view}` |
/// | `PUT /os-services/{action}` (before 2.53) | nova's `enable`, `disable`, `disable-log-reason`, `force-down` (2.11+), body `host` + `binary` |
/// | `DELETE /os-services/{uuid}` (2.53+; the integer id before) | 204; 404 for an unknown service |
/// | `GET /healthz` | 200 `{"status": "ok", ...}` or 503 `{"status": "unhealthy", "reason": ...}` |
/// | `GET /tasks` | the service's periodic tasks (below); 404 on a standalone server |
/// | `GET /task-ledger[?scope=S][&kind=fleet\|service][&task=T][&runs=N]` | 200 `{"store_now", "tasks": [entry, ...]}`: the task ledger (below), ordered by scope then task; `runs` (1..=50) adds each task's `recent_runs`; any other parameter → 400 |
/// | `POST /task-ledger/run` | body `{"scope", "task"}`: run the task once, at once (a write); 200 `{"task": entry}`; 404 `Task T could not be found in SCOPE.` |
/// | `POST /task-ledger/pause` | body `{"scope", "task", "reason"}` (`reason` optional, ≤ 255 characters): pause the task everywhere; 200 `{"task": entry}` |
/// | `POST /task-ledger/resume` | body `{"scope", "task"}`: resume it; 200 `{"task": entry}` |
/// | `GET /metrics` | Prometheus metrics, OpenMetrics text |
/// | `GET /`, `GET /v2.1` | nova's version documents (keystoneauth reads them first); `/` answers a browser (an `Accept` preferring `text/html`) with the operator's page |
/// | `GET /ui/app.js`, `GET /ui/app.css` | the page's script and style, embedded in the binary |
/// | `GET /ui/services[?host=][&binary=][&state=up\|down][&offset=][&limit=]` | the page's services: `{"totals": {"services", "up", "down"}, "matched", "offset", "limit", "services": [row, ...]}`, filtered (host and binary: a part of the name, any case) and paginated (limit 1 to 500, 50 by default) on the server |
///
/// Every `/os-services` path also answers under `/v2.1/`, nova's versioned endpoint.
///
/// **The view** of a service is nova's: `id` (the UUID from microversion 2.53, the
/// integer id before), `binary`, `host`, `zone` (the availability zone; without one
/// `nova` for topic `compute`, `internal` otherwise, nova's defaults), `status`
/// (`enabled`/`disabled`), `state` (`up`/`down`; forced down ⇒ down), `updated_at`
/// (`2026-11-23T02:37:25.000000`, UTC without a zone, or `null`), `disabled_reason`
/// (nullable) and, from 2.11, `forced_down`.
///
/// **Microversions.** A request names its version in `OpenStack-API-Version: compute
/// 2.x` or `X-OpenStack-Nova-API-Version: 2.x` (`latest` = 2.100). Without either header
/// it is answered as **2.53**, so that `PUT /os-services/{uuid}` works for any client;
/// nova itself defaults to 2.1. Versions 2.1 to 2.100 are served; outside that range →
/// 406, a malformed version → 400, with nova's texts. Every `/os-services` answer
/// carries `OpenStack-API-Version`, `X-OpenStack-Nova-API-Version` and `Vary`, as nova's.
///
/// **Errors** have nova's shape, `{"badRequest": {"code": 400, "message": "..."}}`
/// (`itemNotFound` 404, `unauthorized` 401, `forbidden` 403, `badMethod` 405,
/// `notAcceptable` 406, `serviceUnavailable` 503 when the store fails or does not answer
/// within [`store_timeout`](ApiServerOptions::store_timeout)), with nova's texts: `No
/// updates were requested. Fields 'status' or 'forced_down' should be specified.`,
/// `Specifying 'disabled_reason' with status 'enabled' is invalid.`, `Invalid uuid X`,
/// `Service X could not be found.`, `Additional properties are not allowed ('x' was
/// unexpected)`, `Invalid input for field/attribute status. Value: ...`. A body that is
/// not JSON gets `Malformed request body: ...`; a body over 112 KiB (nova's
/// `max_request_body_size`) gets 413 `overLimit`. No input makes the server panic.
///
/// **`/healthz`** of a service is its own liveness: the heartbeat loop runs and its last
/// accepted report is at most `service_down_time` old (before the first report, the
/// clock starts when it was due: join + initial delay), and the periodic-task timer runs
/// (or `periodic_enable` is off). The body details the heartbeat's counters. On a
/// standalone server it is 200 when the store answers a list within the
/// [`scrape_timeout`](ApiServerOptions::scrape_timeout), 503 otherwise.
///
/// **`/tasks`** answers `{"service": {"host", "binary", "topic"}, "tasks": [{"name",
/// "full_name", "spacing", "cron", "tz", "timeout", "overrun", "enabled", "run_immediately",
/// "external_process_ok", "last_run_ago", "next_due_in", "runs", "failures", "last_duration",
/// "last_lateness", "running", "fleet", "fleet_slot", "fleet_token"}]}`; times are seconds
/// (`f64`). A cron task has `"spacing": null` and its expression and time zone in `cron`
/// and `tz` (both `null` for a task with a spacing); `overrun` is `"run_once"`, `"skip"`
/// or `"catch_up(N)"`. `last_run_ago` is measured from the start of
/// the last finished run (`null` before the first); `next_due_in` is negative when the
/// task is overdue and `null` for a task that does not run.
///
/// **`/task-ledger`** reads the ledger of the store (the group's, or the one given to
/// [`start_with_ledger`](Self::start_with_ledger); inside a service, its runner's), on the
/// store's clock, without reaching any running service. An entry is
/// [`ledger_json`](crate::ledger_json)'s: `scope`, `task`, `fleet`, `spacing`, `next_due`,
/// `slot`, `token`, `holder`, `lease_until`, `started`, `finished`, `outcome`, `duration`,
/// `lateness`, `runs`, `failures`, `running`, `paused`, `paused_reason`, `run_requested`
/// (times RFC 3339 UTC with a `Z`, durations in seconds). The `POST`s are writes (the
/// token, as for `/os-services`); their rules are [`TaskControl`](crate::TaskControl)'s:
/// a paused task stays paused on every replica and across restarts, a run-now request
/// runs the task once on one runner within about a second. A store without a ledger
/// answers 404; unknown body fields and a bad body 400.
///
/// **`/metrics`** (labels `task`, `binary`, `host`): `periodic_task_runs_total`,
/// `periodic_task_failures_total`, `periodic_task_timeouts_total` (async runs cancelled at
/// their timeout), `periodic_task_overruns_total` (blocking runs past it), the histograms `periodic_task_duration_seconds` and
/// `periodic_task_lateness_seconds` (fed by every finished run); the heartbeat's
/// `periodic_heartbeat_reports_total`, `periodic_heartbeat_failures_total` and
/// `periodic_heartbeat_age_seconds` (absent before the first accepted report); and, from
/// one `list` of the store per scrape, bounded by the scrape timeout,
/// `periodic_services{binary, state="up"|"down"}`, `periodic_clock_skew_seconds{host,
/// binary}` (each service's clock minus the store's at its last report, for the services
/// that have a figure) and `periodic_store_up`. The content
/// type is `application/openmetrics-text; version=1.0.0`, which Prometheus scrapes.
///
/// **Connections.** A connection must send a request's headers within
/// [`header_read_timeout`](ApiServerOptions::header_read_timeout) (10 s; also the idle
/// timeout of a kept-alive connection) or it is closed, and at most
/// [`max_connections`](ApiServerOptions::max_connections) (4096) are served at once: at
/// the cap new connections wait in the listen backlog, and a warning is logged. Clients
/// that open connections and never finish their headers cannot starve `/healthz`.
///
/// **The operator's page** (`/` in a browser) lists the services with their state and
/// why they are down, status, heartbeat age, clock skew, disabled reason and forced
/// down, filtered by host, binary and state, one page at a time; a selected service
/// shows its periodic tasks and the fleets' from the task ledger (spacing, next due,
/// holder and token, the last 20 runs as a timeline). It polls once a second while the
/// tab is visible, so a killed service turns down without a reload. Its buttons enable,
/// disable (with a reason), force down and unset through `PUT /os-services/{uuid}`, and
/// run a task now, pause and resume it through `POST /task-ledger/...`, with the token
/// typed once into the page (kept in the tab's `sessionStorage`, sent as `X-Auth-Token`).
/// Plain HTML, CSS and JavaScript embedded in the binary, under a strict
/// `Content-Security-Policy` (no inline script); every text from the store is set as
/// text, never as markup.
///
/// # Auth
///
/// Every write (`PUT`, `POST`, `DELETE`) whose `Origin` is not this server's own, or
/// that a browser marks `Sec-Fetch-Site: cross-site`, is refused 403 before anything
/// else, in every mode, `InsecureNoAuth` included: a page on another site cannot write
/// through an operator's browser. Clients that are not browsers send neither header.
/// The server's own origin is `http://` or `https://` and the request's `Host`: a
/// reverse proxy in front must pass the browser's `Host` on (`X-Forwarded-Host` is not
/// read), or the page's own writes are refused too.
///
/// See [`ApiAuth`]: read-only by default (writes → 403 saying how to enable them); with
/// a token, writes need `X-Auth-Token: TOKEN` (what OpenStack clients send) or
/// `Authorization: Bearer TOKEN` (401 otherwise); reads are open on loopback. A
/// non-loopback address is refused without a token unless [`ApiAuth::InsecureNoAuth`]
/// is chosen. With python-openstackclient:
///
/// ```text
/// openstack --os-auth-type none --os-endpoint http://127.0.0.1:8774 compute service list
/// openstack --os-auth-type admin_token --os-token "$PERIODIC_API_TOKEN" \
///     --os-endpoint http://127.0.0.1:8774 compute service set --disable node-1 nova-compute
/// ```
///
/// # Differences from nova
///
/// - Only the compute API's `os-services` resource exists (and the version documents
///   that clients read first); there are no cells (so no 2.69 `UNKNOWN` entries), no
///   policy, no notifications.
/// - Auth is one shared token, not keystone: the token is a write permission, not an
///   identity, and reads on loopback need none.
/// - Any service can be updated; nova 2.53 refuses services other than `nova-compute`
///   (`Updating a ... service is not supported`) and refuses to un-force a compute with
///   pending evacuations. Nothing refuses a `DELETE` (nova: 409 for a compute with
///   instances).
/// - Without a version header requests are answered as 2.53, not 2.1; unknown query
///   parameters are refused at every version (nova: from 2.75).
/// - A `PUT` that sets both `status` and `forced_down` writes them one after the other,
///   not in one transaction.
/// - `updated_at` comes from [`ServiceStatus::updated_time`](crate::ServiceStatus), and
///   `state` from this port's liveness rules (a gracefully stopped service is down at
///   once).
///
/// # Examples
///
/// ```
/// use periodic::{ApiServer, ApiServerOptions, NewService, ServiceGroup, ServiceGroupConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> periodic::Result<()> {
/// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
/// group.get_or_create(&NewService::new("node-1", "nova-compute", "compute")).await?;
///
/// let server = ApiServer::start(group, ApiServerOptions::new("127.0.0.1:0".parse().unwrap())).await?;
/// println!("GET http://{}/os-services", server.local_addr());
/// server.shutdown().await?;
/// # Ok(())
/// # }
/// ```
pub struct ApiServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
    shutdown_timeout: Duration,
}

/// A listener bound and checked against the auth model, not serving yet: a service binds
/// before it starts, so that a taken port aborts the start, and serves once it runs.
pub(crate) struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    options: ApiServerOptions,
}

impl Bound {
    /// Checks the options and binds.
    pub(crate) async fn bind(options: ApiServerOptions) -> Result<Bound> {
        check_bind_policy(&options)?;
        let listener = TcpListener::bind(options.bind).await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot bind the HTTP API to {}", options.bind),
            )
            .with_source(e)
        })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(ErrorKind::Io, "cannot read the API's bound address").with_source(e)
        })?;
        Ok(Bound {
            listener,
            addr,
            options,
        })
    }

    /// Serves `group` (and `service`, inside a running service) on the current runtime;
    /// `/task-ledger` reads and controls `ledger`.
    pub(crate) fn serve(
        self,
        group: ServiceGroup,
        service: Option<Embedded>,
        ledger: Option<Arc<dyn TaskLedger>>,
    ) -> ApiServer {
        let Bound {
            listener,
            addr,
            options,
        } = self;
        let auth = Auth {
            mode: options.auth.clone(),
            loopback: options.bind.ip().is_loopback(),
        };
        let state = AppState::new(
            group,
            auth,
            options.store_timeout,
            options.scrape_timeout,
            service,
            ledger,
        );
        let shutdown = CancellationToken::new();
        let app = router(state);
        let limits = Limits {
            header_read_timeout: options.header_read_timeout,
            max_connections: options.max_connections,
        };
        let task = tokio::spawn(serve(listener, app, limits, shutdown.clone()));
        tracing::info!(%addr, auth = ?options.auth, "HTTP API listening");
        ApiServer {
            addr,
            shutdown,
            task: Some(task),
            shutdown_timeout: options.shutdown_timeout,
        }
    }
}

/// The bind policy: a token must not be empty, and a non-loopback address needs a token
/// or an explicit `InsecureNoAuth`.
pub(crate) fn check_bind_policy(options: &ApiServerOptions) -> Result<()> {
    match &options.auth {
        ApiAuth::Token(token) if token.trim().is_empty() => Err(Error::new(
            ErrorKind::Config,
            "the HTTP API's auth token must not be empty",
        )),
        ApiAuth::ReadOnly if !options.bind.ip().is_loopback() => Err(Error::new(
            ErrorKind::Config,
            format!(
                "refusing to serve the HTTP API on {} without an auth token: it is not a \
                 loopback address. Set a token (PERIODIC_API_TOKEN, or the flag: \
                 --api-auth-token for a service such as the compute_manager example, \
                 --auth-token for `periodic api serve`; ApiAuth::Token in code), bind \
                 127.0.0.1, or pass --insecure-no-auth (ApiAuth::InsecureNoAuth) if the \
                 network is protected otherwise",
                options.bind
            ),
        )),
        _ => Ok(()),
    }
}

fn router(state: AppState) -> Router {
    let compute = Router::new()
        .route("/os-services", get(os_services::list))
        .route(
            "/os-services/{id}",
            put(os_services::update).delete(os_services::delete),
        );
    Router::new()
        .route("/", get(page::root))
        .route("/ui/app.js", get(page::script))
        .route("/ui/app.css", get(page::style))
        .route("/ui/services", get(page_services::services))
        .merge(compute.clone())
        .route("/v2.1/", get(discovery::version))
        .nest("/v2.1", compute.route("/", get(discovery::version)))
        .route("/healthz", get(health::healthz))
        .route("/tasks", get(tasks::tasks))
        .route("/task-ledger", get(ledger::list))
        .route("/task-ledger/run", post(ledger::run))
        .route("/task-ledger/pause", post(ledger::pause))
        .route("/task-ledger/resume", post(ledger::resume))
        .route("/metrics", get(metrics::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(bad_method)
        .layer(DefaultBodyLimit::max(os_services::MAX_BODY))
        .with_state(state)
}

async fn not_found() -> Response {
    Fault::not_found(
        "Unknown resource. This API serves /os-services, /os-services/{id}, /healthz, /tasks, \
         /task-ledger, /metrics and, for browsers, the operator's page at / (with \
         /ui/services).",
    )
    .into_response()
}

async fn bad_method() -> Response {
    Fault::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed for this resource.",
    )
    .into_response()
}

impl ApiServer {
    /// Binds `options.bind` and serves the `/os-services` API of `group`, `/healthz`
    /// (whether the store answers) and `/metrics` (services up and down by binary) on the
    /// current tokio runtime. `/tasks` answers 404: there is no service inside.
    ///
    /// Open the group with [`ServiceGroup::open_existing`] so that a missing database is
    /// an error rather than an empty list.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for an empty token, or a non-loopback address with
    /// [`ApiAuth::ReadOnly`]; [`ErrorKind::Io`] when the address cannot be bound.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: cancelled, the listener is closed and nothing is served.
    pub async fn start(group: ServiceGroup, options: ApiServerOptions) -> Result<ApiServer> {
        let ledger = group.ledger();
        Ok(Bound::bind(options).await?.serve(group, None, ledger))
    }

    /// As [`start`](Self::start), with `/task-ledger` on `ledger` instead of the group's
    /// own (a `fleet_store` such as Redis, opened with
    /// [`ServiceGroup::open_ledger`]).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    ///
    /// # Cancel safety
    ///
    /// As [`start`](Self::start).
    ///
    /// ```
    /// use periodic::{ApiServer, ApiServerOptions, ServiceGroup, ServiceGroupConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
    /// let ledger = ServiceGroup::open_ledger("memory://", group.config()).await?;
    /// let options = ApiServerOptions::new("127.0.0.1:0".parse().unwrap());
    /// let server = ApiServer::start_with_ledger(group, ledger, options).await?;
    /// server.shutdown().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_with_ledger(
        group: ServiceGroup,
        ledger: Arc<dyn TaskLedger>,
        options: ApiServerOptions,
    ) -> Result<ApiServer> {
        Ok(Bound::bind(options).await?.serve(group, None, Some(ledger)))
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server is still serving: `true` until a shutdown completes (or the
    /// server fails).
    ///
    /// ```
    /// use periodic::{ApiServer, ApiServerOptions, ServiceGroup, ServiceGroupConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> periodic::Result<()> {
    /// let group = ServiceGroup::open("memory://", ServiceGroupConfig::default()).await?;
    /// let server = ApiServer::start(group, ApiServerOptions::new("127.0.0.1:0".parse().unwrap())).await?;
    /// assert!(server.is_running());
    /// server.shutdown().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Shuts the server down gracefully: the listener is closed at once, idle
    /// connections are closed, and requests in flight may finish within the shutdown
    /// timeout ([`ApiServerOptions::shutdown_timeout`], 5 s by default); after it they are
    /// dropped.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TimedOut`] when requests were still in flight at the timeout;
    /// [`ErrorKind::Io`] when the server had failed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the shutdown was started before the first `.await` and goes on in the
    /// background.
    pub async fn shutdown(mut self) -> Result<()> {
        self.shutdown.cancel();
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(self.shutdown_timeout, &mut task).await {
            Ok(Ok(Ok(()))) => {
                tracing::info!(addr = %self.addr, "HTTP API stopped");
                Ok(())
            }
            Ok(Ok(Err(e))) => {
                Err(Error::new(ErrorKind::Io, "the HTTP API server failed").with_source(e))
            }
            Ok(Err(join)) => Err(Error::new(
                ErrorKind::Panicked,
                "the HTTP API server's task panicked or was cancelled",
            )
            .with_source(join)),
            Err(_) => {
                task.abort();
                Err(Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "requests to the HTTP API were still running after {:.1} s; they were \
                         dropped",
                        self.shutdown_timeout.as_secs_f64()
                    ),
                ))
            }
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiServer")
            .field("addr", &self.addr)
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}
