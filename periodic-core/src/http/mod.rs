//! The HTTP API (feature `http`): nova's `/os-services` over a service group, plus
//! `/healthz`, `/tasks` and `/metrics` of a running service. The user-facing
//! documentation (endpoint table, auth model, differences from nova) is on
//! [`ApiServer`], the public entry point; this module keeps one concern per file:
//!
//! | file | what |
//! |---|---|
//! | `options.rs` | [`ApiServerOptions`], [`ApiAuth`], [`DEFAULT_API_BIND`] |
//! | `server.rs` | [`ApiServer`]: bind policy, routes, graceful shutdown |
//! | `connections.rs` | the accept loop: header-read timeout, connection cap |
//! | `auth.rs` | the token check (`X-Auth-Token`, `Authorization: Bearer`), cross-site writes refused |
//! | `microversion.rs` | `OpenStack-API-Version` / `X-OpenStack-Nova-API-Version` |
//! | `os_services.rs` | `GET`/`PUT`/`DELETE /os-services`, nova's view and 400 texts |
//! | `health.rs` | `GET /healthz` |
//! | `tasks.rs` | `GET /tasks` |
//! | `ledger_json.rs` | a task-ledger row as JSON ([`ledger_json`]), RFC 3339 store times |
//! | `ledger.rs` | `GET /task-ledger`, `POST /task-ledger/{run,pause,resume}` |
//! | `metrics.rs` | `GET /metrics` |
//! | `task_metrics.rs` | the runner's observer: per-task counters and histograms |
//! | `discovery.rs` | `GET /` and `GET /v2.1`: version documents for keystoneauth |
//! | `page.rs` | the operator's page: `GET /` for browsers, `/ui/app.js`, `/ui/app.css` (in `page/`) |
//! | `page_services.rs` | `GET /ui/services`: the page's services, filtered and paginated |
//! | `fault.rs` | nova's error bodies |
//! | `seconds.rs` | durations in JSON, to the microsecond |
//! | `state.rs` | what the handlers share |
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /os-services[?host=&binary=]` | nova's `{"services": [...]}` |
//! | `PUT /os-services/{id}` | nova 2.53: `{"service": {...}}`; before 2.53 the legacy actions |
//! | `DELETE /os-services/{id}` | 204 |
//! | `GET /healthz` | 200 `{"status": "ok", ...}` or 503 with the reason |
//! | `GET /tasks` | the running service's periodic tasks; 404 without a service |
//! | `GET /task-ledger` | the store's task ledger: schedule, last runs, claims, controls |
//! | `POST /task-ledger/{run,pause,resume}` | the operator's controls of a task |
//! | `GET /metrics` | Prometheus (OpenMetrics text) |
//! | `GET /` (a browser), `GET /ui/...` | the operator's page and its JSON |

mod auth;
mod connections;
mod discovery;
mod fault;
mod health;
mod ledger;
mod ledger_json;
mod metrics;
mod microversion;
mod options;
mod os_services;
mod page;
mod page_services;
mod seconds;
mod server;
mod state;
mod task_metrics;
mod tasks;

pub use ledger_json::ledger_json;
pub use options::{ApiAuth, ApiServerOptions, DEFAULT_API_BIND};
pub use server::ApiServer;

pub(crate) use server::{Bound, check_bind_policy};
pub(crate) use state::{Embedded, Liveness};
pub(crate) use task_metrics::TaskMetrics;
