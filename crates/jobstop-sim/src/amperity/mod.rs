//! The Amperity workflow-runs simulator (VENDOR-NOTES section 1).
//!
//! Serves `/api/v0/oauth2/token`, `GET /api/workflow/runs`,
//! `GET /api/workflow/runs/{id}`, `POST /api/workflow/runs/{id}/stop` (and the
//! `{id}:stop` form) and `POST /api/workflow/runs` on a [`SimServer`]. See the
//! crate README for the behaviour, the switches and which parts are
//! documented fact and which are inference.
//!
//! Sources (each route names its own): `amperity/amperity-docs`
//! `downloads/openapi/control-plane-2024-04-01-openapi.json` (OA3, the
//! operations `list-workflows`, `get-workflow`, `stop-workflow` and
//! `run-workflow` and the schemas `WorkflowList`, `Workflow`,
//! `WorkflowTaskInstance`, `WorkflowError`, `ErrorResponse`); the pages under
//! `amperity_api/source/` (`endpoint_get_workflows_list.rst`,
//! `endpoint_get_workflows_fetch.rst`, `endpoint_post_workflows_stop.rst`,
//! `endpoint_post_workflows_start.rst`, `requests.rst`, `responses.rst`,
//! `pagination.rst`, `versioning.rst`, `rate_limits.rst`); and
//! `amperity_reference/source/api.rst` for the OAuth token call.
//!
//! Where the sources disagree the published OpenAPI file is the default and
//! the other reading is a switch: error bodies are OA3's `ErrorResponse`
//! (`status` and `message` only; `additionalProperties: false`) unless
//! [`AmperitySimBuilder::with_request_ids`] adds `responses.rst`'s
//! `request_id` and `trace_id`; a stop on a finished run answers 400 (OA3
//! lists no 409 for `stop-workflow`) unless [`TerminalStop::Conflict`]
//! serves `responses.rst`'s 409.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use jobstop_sim::amperity::AmperitySim;
//!
//! let sim = AmperitySim::builder().tenant("acme").seed(7).running(3).finished(7).start().await?;
//! assert_eq!(sim.ids().len(), 10);
//! assert!(sim.base_url().ends_with("/api"));
//! let first = &sim.ids()[0];
//! assert_eq!(sim.run_json(first).unwrap()["tenant"], "acme");
//! # Ok(())
//! # }
//! ```

mod routes;
mod store;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{
    Faults, MASK, RateLimit, Settings, SimClock, SimServer, SplitMix64, default_epoch, lock,
};
use routes::{HttpConfig, Sim};
use store::{Store, StoreConfig, View};

/// The path prefix every Amperity route lives under (as in production,
/// `https://app.amperity.com/api`).
pub const PREFIX: &str = "/api";
/// The one supported `api-version`.
pub const API_VERSION: &str = "2024-04-01";
/// The vendor, as the adapter's config names it.
pub const VENDOR: &str = "amperity";

/// What stopping an already-terminal run answers. Undocumented (VENDOR-NOTES
/// 1.5): OA3's `stop-workflow` lists 200, 400, 401, 403, 404 and 500, and
/// `responses.rst` describes 409 as "a request conflicts with the current
/// state".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TerminalStop {
    /// 400 `{"status":400,"message":"Workflow … is not running (state …)"}`:
    /// a code OA3 lists for `stop-workflow` (the default).
    #[default]
    BadRequest,
    /// 409 `{"status":409,"message":"Workflow is not running"}`, the
    /// `responses.rst` reading (not listed by OA3 for this operation).
    Conflict,
    /// 200 with the unchanged run.
    Ok,
}

/// How the last page of a listing ends (VENDOR-NOTES 1.3: "not returned",
/// or "empty").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastPage {
    /// No `next_token` key.
    #[default]
    Absent,
    /// `"next_token": ""`.
    Empty,
}

/// Which key carries a run's id (VENDOR-NOTES 1.3, `id` vs `workflow_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdField {
    /// `id` only (OA3 and every example).
    #[default]
    Id,
    /// `id` and `workflow_id`, same value.
    Both,
    /// `workflow_id` only (the SW2 schema).
    WorkflowIdOnly,
}

/// A run to add with [`AmperitySimBuilder::insert_run`] or
/// [`AmperitySim::insert_run`]. Only `state` is required; the state is kept
/// verbatim, so any raw wire string works (`"Running with failures"`,
/// `"cancelled"`, `"In progress"`, …).
///
/// ```
/// use jobstop_sim::amperity::RunSeed;
///
/// let seed = RunSeed::new("Running with failures").with_id("wf-20240619-00001-AbCdEf");
/// assert_eq!(seed.state, "Running with failures");
/// let other = RunSeed { state: "cancelled".into(), ..RunSeed::default() };
/// # let _ = other;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSeed {
    /// The raw wire state.
    pub state: String,
    /// The id; default generated (`wf-YYYYMMDD-NNNNN-xxxxxx`).
    pub id: Option<String>,
    /// The name; default picked from a list.
    pub name: Option<String>,
    /// The `type`; default picked from a list.
    pub kind: Option<String>,
    /// Default: the simulator's clock when inserted.
    pub created_at: Option<DateTime<Utc>>,
    /// Default: absent, except for terminal states, where it is `created_at`.
    pub ended_at: Option<DateTime<Utc>>,
    /// The `error` object; default none.
    pub error: Option<Value>,
    /// `principal_name`; when all three principal fields are `None` a
    /// generated principal is used.
    pub principal_name: Option<String>,
    /// `principal_email`.
    pub principal_email: Option<String>,
    /// `principal_id`.
    pub principal_id: Option<String>,
    /// No task is running: a stop goes straight to `canceled`.
    pub no_task_running: bool,
}

impl RunSeed {
    /// A seed in the raw state `state`.
    pub fn new(state: impl Into<String>) -> Self {
        RunSeed {
            state: state.into(),
            ..RunSeed::default()
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the `type`.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets `created_at`.
    pub fn with_created_at(mut self, t: DateTime<Utc>) -> Self {
        self.created_at = Some(t);
        self
    }

    /// Sets `ended_at`.
    pub fn with_ended_at(mut self, t: DateTime<Utc>) -> Self {
        self.ended_at = Some(t);
        self
    }

    /// Sets the `error` object.
    pub fn with_error(mut self, error: Value) -> Self {
        self.error = Some(error);
        self
    }

    /// Marks the run as having no task running, so a stop cancels it at once.
    pub fn with_no_task_running(mut self) -> Self {
        self.no_task_running = true;
        self
    }
}

/// Configures an [`AmperitySim`]. Every setter has a default; see each.
/// Its `Debug` masks the token and the client secret.
#[derive(Clone)]
pub struct AmperitySimBuilder {
    tenant: String,
    seed: u64,
    running: usize,
    finished: usize,
    seeds: Vec<RunSeed>,
    static_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    token_ttl: Duration,
    stop_delay: Duration,
    schedule_delay: Option<Duration>,
    auto_finish_after: Option<Duration>,
    terminal_stop: TerminalStop,
    last_page: LastPage,
    id_field: IdField,
    rate_limit: Option<RateLimit>,
    request_ids: bool,
    epoch: DateTime<Utc>,
}

impl Default for AmperitySimBuilder {
    fn default() -> Self {
        AmperitySimBuilder {
            tenant: "acme".to_owned(),
            seed: 1,
            running: 0,
            finished: 0,
            seeds: Vec::new(),
            static_token: None,
            client_id: None,
            client_secret: None,
            token_ttl: Duration::from_secs(3600),
            stop_delay: Duration::from_millis(300),
            schedule_delay: Some(Duration::from_millis(200)),
            auto_finish_after: None,
            terminal_stop: TerminalStop::BadRequest,
            last_page: LastPage::Absent,
            id_field: IdField::Id,
            rate_limit: None,
            request_ids: false,
            epoch: default_epoch(),
        }
    }
}

impl AmperitySimBuilder {
    /// The tenant id. Default `acme`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// The seed for ids, names, times and default credentials. Default 1.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many `running` runs to generate (created in the 6 h before the
    /// epoch). Default 0.
    pub fn running(mut self, n: usize) -> Self {
        self.running = n;
        self
    }

    /// How many finished runs to generate (created in the 30 days before the
    /// epoch; about 60 % `succeeded`, 25 % `failed`, 15 % `canceled`).
    /// Default 0.
    pub fn finished(mut self, n: usize) -> Self {
        self.finished = n;
        self
    }

    /// Adds a run after the generated ones.
    pub fn insert_run(mut self, seed: RunSeed) -> Self {
        self.seeds.push(seed);
        self
    }

    /// The static bearer token. Default: derived from the seed.
    pub fn static_token(mut self, token: impl Into<String>) -> Self {
        self.static_token = Some(token.into());
        self
    }

    /// The OAuth client id. Default `jobstop-sim-client`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The OAuth client secret. Default: derived from the seed.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How long OAuth access tokens live (`expires_in` is its whole seconds,
    /// at least 1). Default 3600 s.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// How long a stopped run stays `canceling` before `canceled`.
    /// Default 300 ms.
    pub fn stop_delay(mut self, d: Duration) -> Self {
        self.stop_delay = d;
        self
    }

    /// How long a run started with `POST /workflow/runs` stays `scheduled`;
    /// `None` keeps it scheduled. Default 200 ms.
    pub fn schedule_delay(mut self, d: Option<Duration>) -> Self {
        self.schedule_delay = d;
        self
    }

    /// After how long a running run (seeded, inserted or started) becomes
    /// `succeeded` on its own; `None` (the default) never.
    pub fn auto_finish_after(mut self, d: Option<Duration>) -> Self {
        self.auto_finish_after = d;
        self
    }

    /// What stopping a terminal run answers. Default 400
    /// ([`TerminalStop::BadRequest`]).
    pub fn terminal_stop(mut self, t: TerminalStop) -> Self {
        self.terminal_stop = t;
        self
    }

    /// How the last page ends. Default: no `next_token`.
    pub fn last_page_token(mut self, l: LastPage) -> Self {
        self.last_page = l;
        self
    }

    /// Which key carries run ids. Default `id`.
    pub fn id_field(mut self, f: IdField) -> Self {
        self.id_field = f;
        self
    }

    /// The documented rate limit (10 per second per tenant), or another;
    /// requests over it get 429 without `Retry-After`. Default off.
    pub fn rate_limit_per_second(mut self, per_second: Option<u32>) -> Self {
        self.rate_limit = per_second.map(|per_second| RateLimit {
            per_second,
            retry_after: None,
        });
        self
    }

    /// Like [`AmperitySimBuilder::rate_limit_per_second`], with a
    /// `Retry-After` on the 429s.
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Whether error bodies carry `request_id` and `trace_id`, as in the
    /// `responses.rst` example
    /// (`{"status":400,"message":…,"request_id":"1ab23456-…","trace_id":"1a2b3456789cd0ef…"}`).
    /// Default no: OA3's `ErrorResponse` has `status` and `message` only,
    /// with `additionalProperties: false`, and the published machine-readable
    /// file wins over the prose page.
    pub fn with_request_ids(mut self, on: bool) -> Self {
        self.request_ids = on;
        self
    }

    /// The simulated wall time at start. Default
    /// [`default_epoch`](crate::default_epoch()) (`2024-06-19T04:00:00Z`), so
    /// ids and times depend on the seed only.
    pub fn epoch(mut self, epoch: DateTime<Utc>) -> Self {
        self.epoch = epoch;
        self
    }

    /// Starts the server on `127.0.0.1:0`.
    pub async fn start(self) -> std::io::Result<AmperitySim> {
        let mut creds = SplitMix64::stream(self.seed, 3);
        let static_token = self
            .static_token
            .unwrap_or_else(|| format!("amp-sim-{}", creds.alphanumeric(32)));
        let client_secret = self
            .client_secret
            .unwrap_or_else(|| format!("sim-secret-{}", creds.alphanumeric(24)));
        let client_id = self
            .client_id
            .unwrap_or_else(|| "jobstop-sim-client".to_owned());
        let clock = SimClock::starting_at(self.epoch);
        let mut store = Store::new(
            StoreConfig {
                tenant: self.tenant.clone(),
                id_field: self.id_field,
                terminal_stop: self.terminal_stop,
                stop_delay: self.stop_delay,
                schedule_delay: self.schedule_delay,
                auto_finish_after: self.auto_finish_after,
            },
            clock,
            self.seed,
        );
        store.seed_runs(self.running, self.finished);
        for seed in self.seeds {
            store.insert(seed);
        }
        let sim = Arc::new(Sim {
            cfg: HttpConfig {
                tenant: self.tenant,
                static_token,
                client_id,
                client_secret,
                token_ttl: self.token_ttl,
                last_page: self.last_page,
                request_ids: self.request_ids,
                api_versions: vec![API_VERSION.to_owned()],
            },
            store: Mutex::new(store),
            request_ids: Mutex::new(SplitMix64::stream(self.seed, 4)),
        });
        let errors = sim.clone();
        let server = SimServer::builder(routes::router(sim.clone()))
            .prefix(PREFIX)
            .clock(clock)
            .error_body(move |status, message| errors.error_body(status, message))
            .account_key(|headers| {
                ["amperity-tenant", "x-amperity-tenant"]
                    .iter()
                    .find_map(|h| headers.get(*h))
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default()
            })
            .start()
            .await?;
        server.faults().set_rate_limit(self.rate_limit);
        Ok(AmperitySim { sim, server })
    }
}

impl fmt::Debug for AmperitySimBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmperitySimBuilder")
            .field("tenant", &self.tenant)
            .field("seed", &self.seed)
            .field("running", &self.running)
            .field("finished", &self.finished)
            .field("seeds", &self.seeds)
            .field("static_token", &self.static_token.as_ref().map(|_| MASK))
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| MASK))
            .field("token_ttl", &self.token_ttl)
            .field("stop_delay", &self.stop_delay)
            .field("schedule_delay", &self.schedule_delay)
            .field("auto_finish_after", &self.auto_finish_after)
            .field("terminal_stop", &self.terminal_stop)
            .field("last_page", &self.last_page)
            .field("id_field", &self.id_field)
            .field("rate_limit", &self.rate_limit)
            .field("request_ids", &self.request_ids)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// A running Amperity simulator. Dropping it stops the server. Its `Debug`
/// shows the base URL and tenant only.
pub struct AmperitySim {
    sim: Arc<Sim>,
    server: SimServer,
}

impl fmt::Debug for AmperitySim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmperitySim")
            .field("base_url", &self.base_url())
            .field("tenant", &self.tenant())
            .finish_non_exhaustive()
    }
}

impl AmperitySim {
    /// A builder with the defaults (tenant `acme`, seed 1, no runs).
    pub fn builder() -> AmperitySimBuilder {
        AmperitySimBuilder::default()
    }

    /// `http://127.0.0.1:PORT/api`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The OAuth token endpoint, `{base_url}/v0/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!("{}/v0/oauth2/token", self.base_url())
    }

    /// The tenant id.
    pub fn tenant(&self) -> &str {
        &self.sim.cfg.tenant
    }

    /// The static bearer token.
    pub fn token(&self) -> &str {
        &self.sim.cfg.static_token
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.sim.cfg.client_id
    }

    /// The OAuth client secret.
    pub fn client_secret(&self) -> &str {
        &self.sim.cfg.client_secret
    }

    /// The settings a client needs, by the keys of the adapter's config:
    /// `base_url`, `tenant` and `token` (static-token auth; what the binary
    /// exports).
    pub fn settings(&self) -> Settings {
        vec![
            ("base_url", self.base_url()),
            ("tenant", self.tenant().to_owned()),
            ("token", self.token().to_owned()),
        ]
    }

    /// `base_url`, `tenant`, `client_id` and `client_secret` (OAuth
    /// client-credentials auth; the binary prints them commented out).
    pub fn oauth_settings(&self) -> Settings {
        vec![
            ("base_url", self.base_url()),
            ("tenant", self.tenant().to_owned()),
            ("client_id", self.client_id().to_owned()),
            ("client_secret", self.client_secret().to_owned()),
        ]
    }

    /// [`settings`](Self::settings) as `JOBSTOP_AMPERITY_*` variables.
    pub fn env(&self) -> Vec<(String, String)> {
        crate::env_vars(VENDOR, self.settings())
    }

    /// [`oauth_settings`](Self::oauth_settings) as `JOBSTOP_AMPERITY_*` variables.
    pub fn oauth_env(&self) -> Vec<(String, String)> {
        crate::env_vars(VENDOR, self.oauth_settings())
    }

    /// The HTTP server: request log, connection count, faults.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The fault script (shortcut for `server().faults()`).
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// Every run id, in listing order (newest `created_at` first, ties by id).
    pub fn ids(&self) -> Vec<String> {
        let mut store = lock(&self.sim.store);
        store.settle();
        store.ordered().into_iter().map(|r| r.id.clone()).collect()
    }

    /// The run as `GET /workflow/runs/{id}?view=verbose` would show it now.
    pub fn run_json(&self, id: &str) -> Option<Value> {
        lock(&self.sim.store).get(id, View::Verbose)
    }

    /// Adds a run; returns its id.
    pub fn insert_run(&self, seed: RunSeed) -> String {
        lock(&self.sim.store).insert(seed)
    }

    /// Sets the raw state of `id` and drops its pending changes; a terminal
    /// state (by the VENDOR-NOTES 1.8 table) sets `ended_at` if unset, any
    /// other state removes it. `false` if there is no such run.
    pub fn set_state(&self, id: &str, raw: &str) -> bool {
        lock(&self.sim.store).set_state(id, raw)
    }

    /// Applies the next pending change of `id` now (e.g. `canceling` →
    /// `canceled` without waiting for the stop delay). `false` if there is
    /// no such run or nothing pending.
    pub fn advance(&self, id: &str) -> bool {
        lock(&self.sim.store).advance(id)
    }

    /// How many stop requests for `id` reached the handler (authenticated and
    /// not answered by a fault first), whatever their answer.
    pub fn stop_requests(&self, id: &str) -> u64 {
        lock(&self.sim.store).stop_requests(id)
    }

    /// How many stop requests reached the handler, for any id.
    pub fn total_stop_requests(&self) -> u64 {
        lock(&self.sim.store).stop_total
    }

    /// How many OAuth tokens were granted.
    pub fn token_grants(&self) -> u64 {
        lock(&self.sim.store).grants
    }

    /// Makes every OAuth token granted so far expired (the static token is
    /// not affected).
    pub fn expire_tokens(&self) {
        lock(&self.sim.store).expire_tokens();
    }

    /// Shuts the server down gracefully (see [`SimServer::shutdown`]).
    pub async fn shutdown(&self) {
        self.server.shutdown().await;
    }
}

/// The workflow objects in a successful answer of this API, for
/// [`Fault::MapJson`](crate::Fault::MapJson) rewrites that damage every run:
/// the items of a listing's `data` array, or the answer itself when it is one
/// workflow (fetch, stop, start). A `data` that is not an array holds none.
///
/// ```
/// use jobstop_sim::amperity::run_objects;
/// use serde_json::json;
///
/// let mut list = json!({"data": [{"id": "wf-1"}, {"id": "wf-2"}], "next_token": "t"});
/// assert_eq!(run_objects(&mut list).len(), 2);
/// let mut one = json!({"id": "wf-1", "state": "running"});
/// assert_eq!(run_objects(&mut one).len(), 1);
/// ```
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    if body.get("data").is_some() {
        return match body.get_mut("data") {
            Some(Value::Array(items)) => items.iter_mut().collect(),
            _ => Vec::new(),
        };
    }
    if body.is_object() {
        vec![body]
    } else {
        Vec::new()
    }
}
