//! The Amperity workflow-runs simulator (VENDOR-NOTES section 1).
//!
//! Serves `/api/v0/oauth2/token` and `/api/workflow/runs` (list, fetch,
//! stop, start) on a [`SimServer`]; the crate README has
//! the behaviour, the switches and what is documented fact or inference.
//!
//! Where the sources disagree OA3 is the default and the other reading a
//! switch ([`AmperitySimBuilder::with_request_ids`], [`TerminalStop::Conflict`]).

mod routes;
mod store;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::endless::{EndlessRuns, Pages};
use crate::{
    Common, Fault, FaultRule, Population, Route, Secret, Settings, Sim, SimBuilder, SimServer,
    SimServerBuilder, SplitMix64, VendorSim, lock,
};
use store::{Store, View, text};

/// The path prefix every Amperity route lives under (as in production,
/// `https://app.amperity.com/api`).
pub const PREFIX: &str = "/api";
/// The one supported `api-version`.
pub const API_VERSION: &str = "2024-04-01";
/// The vendor, as the adapter's config names it.
pub const VENDOR: &str = "amperity";
/// How long a stopped run stays `canceling` before `canceled`, unless
/// [`SimBuilder::stop_delay`] says otherwise.
pub const DEFAULT_STOP_DELAY: Duration = Duration::from_millis(300);

/// A running Amperity simulator. Dropping it stops the server.
pub type AmperitySim = Sim<Amperity>;
/// Configures an [`AmperitySim`]: the common settings of [`SimBuilder`] and
/// the Amperity ones below. Its `Debug` masks the token and client secret.
pub type AmperitySimBuilder = SimBuilder<Amperity>;

/// What stopping an already-terminal run answers. Undocumented (VENDOR-NOTES
/// 1.5): OA3's `stop-workflow` lists 200, 400, 401, 403, 404 and 500, and
/// `responses.rst` describes 409 as "a request conflicts with the current
/// state".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalStop {
    /// 400 `{"status":400,"message":"Workflow … is not running (state …)"}`:
    /// a code OA3 lists for `stop-workflow` (the default).
    BadRequest,
    /// 409 `{"status":409,"message":"Workflow is not running"}`, the
    /// `responses.rst` reading (not listed by OA3 for this operation).
    Conflict,
    /// 200 with the unchanged run.
    Ok,
}

/// Which key carries a run's id (VENDOR-NOTES 1.3, `id` vs `workflow_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdField {
    /// `id` only (OA3 and every example).
    Id,
    /// `id` and `workflow_id`, same value.
    Both,
    /// `workflow_id` only (the SW2 schema).
    WorkflowIdOnly,
}

/// A run to add with [`AmperitySimBuilder::insert_run`] or
/// [`AmperitySim::insert_run`]. Only the state is required; it is kept
/// verbatim, so any raw wire string works (`"Running with failures"`, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSeed {
    pub(crate) state: String,
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) created_at: Option<DateTime<Utc>>,
    pub(crate) ended_at: Option<DateTime<Utc>>,
    pub(crate) error: Option<Value>,
    pub(crate) no_task_running: bool,
}

impl RunSeed {
    /// A seed in the raw state `state`.
    pub fn new(state: impl Into<String>) -> Self {
        let state = state.into();
        RunSeed {
            state,
            ..RunSeed::default()
        }
    }

    setters! {
        /// Sets the id; default generated (`wf-YYYYMMDD-NNNNN-xxxxxx`).
        with_id(id): some into String;
        /// Sets the name; default picked from a list.
        with_name(name): some into String;
        /// Sets the `type`; default picked from a list.
        with_kind(kind): some into String;
        /// Sets `created_at`; default the simulator's clock when inserted.
        with_created_at(created_at): some DateTime<Utc>;
        /// Sets `ended_at`; default absent, except for terminal states,
        /// where it is `created_at`.
        with_ended_at(ended_at): some DateTime<Utc>;
        /// Sets the `error` object; default none.
        with_error(error): some Value;
    }

    /// Marks the run as having no task running, so a stop cancels it at once.
    pub fn with_no_task_running(mut self) -> Self {
        self.no_task_running = true;
        self
    }
}

options! {
    /// The Amperity settings of an [`AmperitySimBuilder`] (set through its
    /// methods). Its `Debug` masks the token and the client secret.
    AmperityOptions for Amperity {
        seeds: Vec<RunSeed>,
    }
    /// The tenant id. Default `acme`.
    tenant(into String): String = "acme".to_owned();
    /// How many `running` runs to generate (README: when). Default 0.
    running(usize): usize = 0;
    /// How many finished runs to generate (README: states, when). Default 0.
    finished(usize): usize = 0;
    /// The static bearer token. Default: derived from the seed.
    static_token(some into Secret): Option<Secret> = None;
    /// The OAuth client id. Default `jobstop-sim-client`.
    client_id(into String): String = "jobstop-sim-client".to_owned();
    /// The OAuth client secret. Default: derived from the seed.
    client_secret(some into Secret): Option<Secret> = None;
    /// How long OAuth access tokens live. Default 3600 s.
    token_ttl(Duration): Duration = Duration::from_secs(3600);
    /// How long a started run stays `scheduled` (`None`: forever). Default 200 ms.
    schedule_delay(Option<Duration>): Option<Duration> = Some(Duration::from_millis(200));
    /// After how long a running run becomes `succeeded`. Default never.
    auto_finish_after(Option<Duration>): Option<Duration> = None;
    /// What stopping a terminal run answers. Default [`TerminalStop::BadRequest`].
    terminal_stop(TerminalStop): TerminalStop = TerminalStop::BadRequest;
    /// Whether the last page ends with `"next_token": ""` rather than no
    /// `next_token` (VENDOR-NOTES 1.3: "not returned", or "empty"). Default false.
    empty_last_token(bool): bool = false;
    /// Which key carries run ids. Default `id`.
    id_field(IdField): IdField = IdField::Id;
    /// Whether error bodies add `responses.rst`'s `request_id` and `trace_id`.
    /// Default no: OA3's `ErrorResponse` has `additionalProperties: false`.
    with_request_ids(bool): bool = false;
}

impl SimBuilder<Amperity> {
    /// Adds a run after the generated ones.
    pub fn insert_run(mut self, seed: RunSeed) -> Self {
        self.options.seeds.push(seed);
        self
    }
}

/// The Amperity protocol; use it through [`AmperitySim`]. The documented
/// rate limit (`rate_limits.rst`) is `rate_limit_per_second(10)`.
pub struct Amperity {
    cfg: AmperityOptions,
    token: String,
    client_secret: String,
    store: Mutex<Store>,
    request_ids: Mutex<SplitMix64>,
}

impl VendorSim for Amperity {
    const VENDOR: &'static str = VENDOR;
    const PREFIX: &'static str = PREFIX;
    type Options = AmperityOptions;

    fn new(common: &Common, mut o: AmperityOptions) -> Self {
        let mut creds = SplitMix64::stream(common.seed, 3);
        let mut secret = |s: &Option<Secret>, prefix: &str, len| match s {
            Some(s) => s.0.clone(),
            None => format!("{prefix}{}", creds.alphanumeric(len)),
        };
        let token = secret(&o.static_token, "amp-sim-", 32);
        let client_secret = secret(&o.client_secret, "sim-secret-", 24);
        let store = Store::new(o.clone(), common);
        o.seeds.clear();
        Amperity {
            cfg: o,
            token,
            client_secret,
            store: Mutex::new(store),
            request_ids: Mutex::new(SplitMix64::stream(common.seed, 4)),
        }
    }

    fn server(this: &Arc<Self>) -> SimServerBuilder {
        let errors = this.clone();
        SimServer::builder(routes::router(this.clone()))
            .error_body(move |status, message| errors.error_body(status, message))
            .account_key(|_, headers| routes::tenant(headers).unwrap_or_default().to_owned())
    }

    fn populate(o: &mut AmperityOptions, population: &Population) {
        o.running = population.running;
        o.finished = population.finished;
    }

    /// `base_url`, `tenant` and `token` (static-token auth).
    fn settings(sim: &AmperitySim) -> Settings {
        vec![
            ("base_url", sim.base_url()),
            ("tenant", sim.tenant().to_owned()),
            ("token", sim.token().to_owned()),
        ]
    }

    /// `client_id` and `client_secret` (OAuth client-credentials auth).
    fn alternatives(sim: &AmperitySim) -> Settings {
        vec![
            ("client_id", sim.client_id().to_owned()),
            ("client_secret", sim.client_secret().to_owned()),
        ]
    }

    fn raw_state(&self, id: &str) -> Option<String> {
        text(&lock(&self.store).get(id, View::Overview)?["state"])
    }

    fn stop_requests(&self, id: Option<&str>) -> u64 {
        lock(&self.store).runs.stop_requests(id)
    }

    fn insert_running(&self) -> Option<String> {
        Some(lock(&self.store).insert(RunSeed::new("running")))
    }

    /// A listing that never ends (see [`crate::endless`]): a fresh, valid
    /// `next_token` (a key past every run's time, so it starts over) on every
    /// page; the filters' hash is read from the first real token, so the
    /// unfaulted listing must have a second page.
    fn endless(page_size: usize, runs: EndlessRuns) -> FaultRule {
        let pages = Pages::new(page_size, runs, &["id", "workflow_id"]);
        let hash = Mutex::new(None);
        let fault = Fault::map_json("endless next_token", move |body| {
            let token = body.get("next_token").and_then(Value::as_str);
            if let Some((h, _)) = token.and_then(routes::decode_token) {
                *lock(&hash) = Some(h);
            }
            let Some(n) = body.get_mut("data").map(|items| pages.fill(items)) else {
                return;
            };
            if let (Some(h), Some(obj)) = (*lock(&hash), body.as_object_mut()) {
                let token = routes::encode_key(h, i64::MAX, &format!("endless-{n}"));
                obj.insert("next_token".into(), Value::from(token));
            }
        });
        FaultRule::new(Route::get("/workflow/runs"), fault)
    }

    /// Newest `created_at` first, ties by id.
    fn ids(&self) -> Vec<String> {
        let mut store = lock(&self.store);
        store.settle();
        store.ordered().into_iter().map(|r| r.id.clone()).collect()
    }
}

impl Sim<Amperity> {
    one_liners! {
        /// The OAuth token endpoint, `{base_url}/v0/oauth2/token`.
        pub fn token_url(&self) -> String = format!("{}/v0/oauth2/token", self.base_url());
        /// The tenant id.
        pub fn tenant(&self) -> &str = &self.vendor.cfg.tenant;
        /// The static bearer token.
        pub fn token(&self) -> &str = &self.vendor.token;
        /// The OAuth client id.
        pub fn client_id(&self) -> &str = &self.vendor.cfg.client_id;
        /// The OAuth client secret.
        pub fn client_secret(&self) -> &str = &self.vendor.client_secret;
        /// The run as `GET /workflow/runs/{id}?view=verbose` would show it now.
        pub fn run_json(&self, id: &str) -> Option<Value> =
            lock(&self.vendor.store).get(id, View::Verbose);
        /// How many OAuth tokens were granted.
        pub fn token_grants(&self) -> u64 = lock(&self.vendor.store).tokens.granted();
        /// Expires every OAuth token granted so far (not the static token).
        pub fn expire_tokens(&self) = lock(&self.vendor.store).tokens.expire_all();
    }

    store_calls! {
        /// Adds a run; returns its id.
        insert_run = insert(seed: RunSeed) -> String;
        /// Sets the raw state of `id` (README: pending changes, `ended_at`);
        /// `false` if there is no such run.
        set_state(id: &str, raw: &str) -> bool;
        /// Applies the next pending change of `id` now; `false` if none is due.
        advance(id: &str) -> bool;
    }

    /// `base_url`, `tenant`, `client_id` and `client_secret` (OAuth
    /// client-credentials auth) as `JOBSTOP_AMPERITY_*` variables.
    pub fn oauth_env(&self) -> Vec<(String, String)> {
        let mut settings = self.settings();
        settings.truncate(2);
        settings.extend(Amperity::alternatives(self));
        crate::env_vars(VENDOR, settings)
    }
}

/// The workflow objects in a successful answer of this API, for
/// [`Fault::MapJson`] rewrites that damage every run:
/// the items of a listing's `data` array, or the answer itself when it is one
/// workflow (fetch, stop, start). A `data` that is not an array holds none.
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    if body.get("data").is_some() {
        let items = body.get_mut("data").and_then(Value::as_array_mut);
        return items.map(|a| a.iter_mut().collect()).unwrap_or_default();
    }
    body.is_object().then_some(body).into_iter().collect()
}
