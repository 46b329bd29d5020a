//! The Chorus workfiles simulator (VENDOR-NOTES section 2; the seed page
//! `chorus-stop-workfile.txt`).
//!
//! Serves `POST/GET/DELETE /api/sessions`,
//! `GET /api/workspaces/{workspace_id}/workfiles`, `GET /api/workfiles/{id}`,
//! `POST /api/workfiles/{id}/run` and `POST /api/workfiles/{id}/stop` (and
//! the same routes without `/api`) on a [`SimServer`]. See the crate README
//! for the behaviour, the switches and which parts are documented fact and
//! which are inference.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use jobstop_sim::chorus::ChorusSim;
//!
//! let sim = ChorusSim::builder().seed(7).running(2).idle(3).other_files(2).start().await?;
//! assert_eq!(sim.ids().len(), 5, "workflows of the member workspace");
//! assert_eq!(sim.ids_with_status("running").len(), 2);
//! assert!(!sim.base_url().ends_with("/api"), "the server root");
//! let first = &sim.ids()[0];
//! let wf = sim.workfile_json(first).unwrap();
//! assert_eq!(wf["file_type"], "work_flow");
//! assert_eq!(wf["workspace"]["id"], sim.workspace_id());
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

use crate::{Faults, MASK, Settings, SimClock, SimServer, SplitMix64, default_epoch, lock};
use routes::{HttpConfig, Sim};
use store::{Store, StoreConfig, View};

/// The vendor, as the adapter's config names it.
pub const VENDOR: &str = "chorus";

/// Where the API lives below the server root (Chorus also serves every
/// route without it).
pub const API_PREFIX: &str = "/api";
/// The session cookie's name in the open-source Chorus code (TIBCO's pages
/// show `_session_id`; see [`ChorusSimBuilder::cookie_name`]).
pub const COOKIE_NAME: &str = "_chorus_session";

/// The default member workspace (the seed page's `"Public"`, id 1000008).
pub const DEFAULT_WORKSPACE_ID: u64 = 1_000_008;
/// Chorus's `session_timeout_minutes` default, 480 minutes.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(480 * 60);

/// Which published reading of the JSON the simulator serves. The two agree
/// on every field jobstop reads; they differ in a few others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChorusWire {
    /// The TIBCO Spotfire Data Science 6.6 page "Stop a running workflow"
    /// (`chorus-stop-workfile.txt`, the seed page): workfiles add
    /// `description` and `link_url`, workspaces `archived`,
    /// `workspace_stage` and `workspace_stage_id`, users `roles`,
    /// `using_default_image`, `active_license`, `is_siteadmin` (and
    /// `deactivated_at` when full), data sources `public`. The default.
    #[default]
    TibcoPage,
    /// The Rails presenters of the open-source Chorus (hey-jude/chorus
    /// `components/api/app/presenters/api/workfile_presenter.rb`,
    /// `alpine_workfile_presenter.rb`, `workspace_presenter.rb`,
    /// `user_presenter.rb`) and its frontend fixtures
    /// (`components/frontend/spec/backbone_fixtures/workfile/alpine.json`,
    /// `workfileSet.json`): none of the fields above, and a full user has
    /// `developer`.
    RailsPresenters,
}

/// A workfile to add with [`ChorusSimBuilder::insert_workfile`] or
/// [`ChorusSim::insert_workfile`]. Only `status` is required; it is kept
/// verbatim, so any raw wire string works (`"queued"`, `"RUNNING"`, …).
///
/// ```
/// use jobstop_sim::chorus::WorkfileSeed;
///
/// let seed = WorkfileSeed::new("queued").with_id(1_000_500).with_file_name("odd_flow");
/// assert_eq!(seed.status, "queued");
/// let sql = WorkfileSeed { file_type: Some("sql".into()), ..WorkfileSeed::new("idle") };
/// # let _ = sql;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkfileSeed {
    /// The raw `status`.
    pub status: String,
    /// The id; default the next free one.
    pub id: Option<u64>,
    /// The file name; default picked from a list (made unique in the
    /// workspace).
    pub file_name: Option<String>,
    /// The `file_type`; default `work_flow`.
    pub file_type: Option<String>,
    /// The workspace; default the member workspace. An id the simulator
    /// does not know yet becomes a new member workspace.
    pub workspace_id: Option<u64>,
    /// `version_info.created_at`; default generated before the epoch.
    pub created_at: Option<DateTime<Utc>>,
    /// `user_modified_at`; default generated before the epoch.
    pub user_modified_at: Option<DateTime<Utc>>,
    /// `description`; default generated (or `null`).
    pub description: Option<String>,
    /// The engine is unreachable for this workfile: stops answer 500 (an
    /// HTML page) and leave it as it is, runs fail with 422.
    pub engine_unavailable: bool,
}

impl WorkfileSeed {
    /// A seed with the raw status `status`.
    pub fn new(status: impl Into<String>) -> Self {
        WorkfileSeed {
            status: status.into(),
            ..WorkfileSeed::default()
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the file name.
    pub fn with_file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// Sets the `file_type` (`sql`, `text`, `code`, `other`, …).
    pub fn with_file_type(mut self, file_type: impl Into<String>) -> Self {
        self.file_type = Some(file_type.into());
        self
    }

    /// Puts it in workspace `id`.
    pub fn with_workspace(mut self, id: u64) -> Self {
        self.workspace_id = Some(id);
        self
    }

    /// Sets `version_info.created_at` (whole seconds are kept).
    pub fn with_created_at(mut self, t: DateTime<Utc>) -> Self {
        self.created_at = Some(t);
        self
    }

    /// Sets `user_modified_at` (whole seconds are kept).
    pub fn with_user_modified_at(mut self, t: DateTime<Utc>) -> Self {
        self.user_modified_at = Some(t);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// The engine never answers for this workfile.
    pub fn with_engine_unavailable(mut self) -> Self {
        self.engine_unavailable = true;
        self
    }
}

/// Configures a [`ChorusSim`]. Every setter has a default; see each. Its
/// `Debug` masks the password.
#[derive(Clone)]
pub struct ChorusSimBuilder {
    seed: u64,
    username: String,
    password: Option<String>,
    workspace_id: u64,
    running: usize,
    idle: usize,
    other_files: usize,
    empty_workspaces: Vec<u64>,
    foreign_workspaces: Vec<(u64, usize)>,
    seeds: Vec<WorkfileSeed>,
    session_timeout: Duration,
    finish_after: Option<Duration>,
    engine_unavailable: bool,
    cookie_name: String,
    login_requires_csrf: bool,
    case_sensitive_name_pattern: bool,
    wire: ChorusWire,
    epoch: DateTime<Utc>,
}

impl Default for ChorusSimBuilder {
    fn default() -> Self {
        ChorusSimBuilder {
            seed: 1,
            username: "chorusadmin".to_owned(),
            password: None,
            workspace_id: DEFAULT_WORKSPACE_ID,
            running: 0,
            idle: 0,
            other_files: 0,
            empty_workspaces: Vec::new(),
            foreign_workspaces: Vec::new(),
            seeds: Vec::new(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            finish_after: None,
            engine_unavailable: false,
            cookie_name: COOKIE_NAME.to_owned(),
            login_requires_csrf: true,
            case_sensitive_name_pattern: true,
            wire: ChorusWire::default(),
            epoch: default_epoch(),
        }
    }
}

impl ChorusSimBuilder {
    /// The seed for ids, names, times and the default password. Default 1.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The username that can log in. Default `chorusadmin`.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// The password. Default: derived from the seed.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The member workspace (named `Public`) the generated workfiles live
    /// in. Default 1000008.
    pub fn workspace_id(mut self, id: u64) -> Self {
        self.workspace_id = id;
        self
    }

    /// How many `running` workflows to generate in the member workspace.
    /// Default 0.
    pub fn running(mut self, n: usize) -> Self {
        self.running = n;
        self
    }

    /// How many `idle` workflows to generate in the member workspace.
    /// Default 0.
    pub fn idle(mut self, n: usize) -> Self {
        self.idle = n;
        self
    }

    /// How many non-workflow workfiles (`sql`, `text`, `code`, `other`;
    /// always `idle`) to generate in the member workspace. Default 0.
    pub fn other_files(mut self, n: usize) -> Self {
        self.other_files = n;
        self
    }

    /// Adds a second member workspace with no workfiles.
    pub fn empty_workspace(mut self, id: u64) -> Self {
        self.empty_workspaces.push(id);
        self
    }

    /// Adds a private workspace the user is not a member of, with `n`
    /// workflows (about a third `running`).
    pub fn foreign_workspace(mut self, id: u64, n: usize) -> Self {
        self.foreign_workspaces.push((id, n));
        self
    }

    /// Adds a workfile after the generated ones.
    pub fn insert_workfile(mut self, seed: WorkfileSeed) -> Self {
        self.seeds.push(seed);
        self
    }

    /// How long a session lives after its last authenticated request.
    /// Default 480 minutes.
    pub fn session_timeout(mut self, d: Duration) -> Self {
        self.session_timeout = d;
        self
    }

    /// After how long a running workflow becomes `idle` on its own (the
    /// engine's completion callback), counted from its run (or from the
    /// start, for seeded ones); `None` (the default) never.
    pub fn finish_after(mut self, d: Option<Duration>) -> Self {
        self.finish_after = d;
        self
    }

    /// The Alpine engine is unreachable (or workflows are not licensed):
    /// stops answer Rails' 500 HTML page and leave workfiles as they are
    /// (`stop_now` calls `.code` on the nil that `Alpine::API#request_stop`
    /// returns after rescuing the error; hey-jude/chorus
    /// `components/core/app/models/alpine_workfile.rb`), runs fail with 422
    /// `RUN_FAILED`. Default false. For an engine that answers but not with
    /// 200 (Chorus then answers 202 with the status unchanged), see
    /// [`ChorusSim::fail_next_engine_stops`].
    pub fn engine_unavailable(mut self, on: bool) -> Self {
        self.engine_unavailable = on;
        self
    }

    /// The session cookie's name. Default `_chorus_session` (TIBCO's pages
    /// show `_session_id`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// Whether `POST /sessions` needs CSRF verification like every other
    /// POST (what the Rails code implies): then a login without a
    /// `session_id` parameter (the Python client sends `?session_id=NULL`
    /// for this reason) and without a valid `X-CSRF-Token` gets 403. Default
    /// true; false lets any login through.
    pub fn login_requires_csrf(mut self, on: bool) -> Self {
        self.login_requires_csrf = on;
        self
    }

    /// Whether `name_pattern` compares case (`LIKE`, as Chorus's SQL does:
    /// `workfiles.file_name LIKE '%x%'`) rather than ignoring it (`ILIKE`).
    /// Default true, as Chorus does.
    pub fn case_sensitive_name_pattern(mut self, on: bool) -> Self {
        self.case_sensitive_name_pattern = on;
        self
    }

    /// Which published reading of the JSON to serve. Default
    /// [`ChorusWire::TibcoPage`].
    pub fn wire(mut self, wire: ChorusWire) -> Self {
        self.wire = wire;
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
    pub async fn start(self) -> std::io::Result<ChorusSim> {
        let mut creds = SplitMix64::stream(self.seed, 13);
        let password = self
            .password
            .unwrap_or_else(|| format!("sim-{}", creds.alphanumeric(20)));
        let clock = SimClock::starting_at(self.epoch);
        let mut store = Store::new(
            StoreConfig {
                username: self.username.clone(),
                member_workspace: self.workspace_id,
                session_timeout: self.session_timeout,
                finish_after: self.finish_after,
                engine_unavailable: self.engine_unavailable,
                case_sensitive_like: self.case_sensitive_name_pattern,
                wire: self.wire,
            },
            clock,
            self.seed,
        );
        store.add_workspace(self.workspace_id, "Public", true);
        store.seed_workfiles(self.workspace_id, self.running, self.idle, self.other_files);
        for id in &self.empty_workspaces {
            store.add_workspace(*id, &format!("Empty Workspace {id}"), true);
        }
        for (id, n) in &self.foreign_workspaces {
            store.add_workspace(*id, &format!("Private Workspace {id}"), false);
            let running = n / 3;
            store.seed_workfiles(*id, running, n - running, 0);
        }
        for seed in self.seeds {
            store.insert(seed);
        }
        let sim = Arc::new(Sim {
            cfg: HttpConfig {
                username: self.username,
                password,
                cookie_name: self.cookie_name,
                login_requires_csrf: self.login_requires_csrf,
            },
            store: Mutex::new(store),
            request_ids: Mutex::new(SplitMix64::stream(self.seed, 14)),
        });
        let accounts = sim.clone();
        let server = SimServer::builder(routes::router(sim.clone()))
            .clock(clock)
            .error_body(routes::error_body)
            .account_key_from_request(move |uri, headers| accounts.account(uri, headers))
            .start()
            .await?;
        Ok(ChorusSim {
            sim,
            server,
            workspace_id: self.workspace_id,
        })
    }
}

impl fmt::Debug for ChorusSimBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChorusSimBuilder")
            .field("seed", &self.seed)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .field("workspace_id", &self.workspace_id)
            .field("running", &self.running)
            .field("idle", &self.idle)
            .field("other_files", &self.other_files)
            .field("empty_workspaces", &self.empty_workspaces)
            .field("foreign_workspaces", &self.foreign_workspaces)
            .field("seeds", &self.seeds)
            .field("session_timeout", &self.session_timeout)
            .field("finish_after", &self.finish_after)
            .field("engine_unavailable", &self.engine_unavailable)
            .field("cookie_name", &self.cookie_name)
            .field("login_requires_csrf", &self.login_requires_csrf)
            .field(
                "case_sensitive_name_pattern",
                &self.case_sensitive_name_pattern,
            )
            .field("wire", &self.wire)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// A running Chorus simulator. Dropping it stops the server. Its `Debug`
/// shows the base URL, username and workspace only.
pub struct ChorusSim {
    sim: Arc<Sim>,
    server: SimServer,
    workspace_id: u64,
}

impl fmt::Debug for ChorusSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChorusSim")
            .field("base_url", &self.base_url())
            .field("username", &self.username())
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

/// A workfile id as Chorus would find it: decimal digits only.
fn numeric(id: &str) -> Option<u64> {
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse().ok())
        .flatten()
}

impl ChorusSim {
    /// A builder with the defaults (seed 1, user `chorusadmin`, workspace
    /// 1000008, no workfiles).
    pub fn builder() -> ChorusSimBuilder {
        ChorusSimBuilder::default()
    }

    /// The server root, `http://127.0.0.1:PORT` (routes are under `/api`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The username that can log in.
    pub fn username(&self) -> &str {
        &self.sim.cfg.username
    }

    /// The password.
    pub fn password(&self) -> &str {
        &self.sim.cfg.password
    }

    /// The member workspace's id.
    pub fn workspace_id(&self) -> u64 {
        self.workspace_id
    }

    /// The settings a client needs, by the keys of the adapter's config:
    /// `base_url`, `username`, `password` and `workspace_id` (what the binary
    /// exports).
    pub fn settings(&self) -> Settings {
        vec![
            ("base_url", self.base_url()),
            ("username", self.username().to_owned()),
            ("password", self.password().to_owned()),
            ("workspace_id", self.workspace_id.to_string()),
        ]
    }

    /// [`settings`](Self::settings) as `JOBSTOP_CHORUS_*` variables.
    pub fn env(&self) -> Vec<(String, String)> {
        crate::env_vars(VENDOR, self.settings())
    }

    /// The HTTP server: request log, connection count, faults. Fault routes
    /// match the whole path, e.g. `Route::post("/api/workfiles/*/stop")`.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The fault script (shortcut for `server().faults()`).
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// The ids of the workflows (`work_flow`) in the member workspace, in
    /// default listing order (file name ignoring case, then id).
    pub fn ids(&self) -> Vec<String> {
        lock(&self.sim.store)
            .ids_in(self.workspace_id, true)
            .into_iter()
            .map(|w| w.id.to_string())
            .collect()
    }

    /// [`ChorusSim::ids`] whose `status` is exactly `status`.
    pub fn ids_with_status(&self, status: &str) -> Vec<String> {
        lock(&self.sim.store)
            .ids_in(self.workspace_id, true)
            .into_iter()
            .filter(|w| w.status == status)
            .map(|w| w.id.to_string())
            .collect()
    }

    /// The ids of every workfile (any type) in workspace `workspace_id`, in
    /// default listing order.
    pub fn ids_in(&self, workspace_id: u64) -> Vec<String> {
        lock(&self.sim.store)
            .ids_in(workspace_id, false)
            .into_iter()
            .map(|w| w.id.to_string())
            .collect()
    }

    /// The workfile as `GET /api/workfiles/{id}` would show it now (the
    /// object inside `response`), whatever workspace it is in.
    pub fn workfile_json(&self, id: &str) -> Option<Value> {
        let mut store = lock(&self.sim.store);
        let wf = store.get(numeric(id)?)?.clone();
        Some(store.render(&wf, View::Show))
    }

    /// Adds a workfile; returns its id.
    pub fn insert_workfile(&self, seed: WorkfileSeed) -> String {
        lock(&self.sim.store).insert(seed).to_string()
    }

    /// Sets the raw `status` of `id` and drops its pending changes. `false`
    /// if there is no such workfile.
    pub fn set_status(&self, id: &str, raw: &str) -> bool {
        numeric(id).is_some_and(|id| lock(&self.sim.store).set_status(id, raw))
    }

    /// Makes `id` `idle` now, as the engine's completion callback would.
    /// `false` if there is no such workfile.
    pub fn finish(&self, id: &str) -> bool {
        self.set_status(id, store::IDLE)
    }

    /// Creates a live session directly (no login counted); returns its
    /// `session_id`, for configurations that start from an existing one.
    pub fn new_session(&self) -> String {
        lock(&self.sim.store).create_session()
    }

    /// The CSRF token of the cookie session that logged in as `session_id`
    /// (what the Chorus web page would embed); `None` for sessions made with
    /// [`ChorusSim::new_session`] or unknown ones.
    pub fn csrf_token(&self, session_id: &str) -> Option<String> {
        lock(&self.sim.store).csrf_for_session(session_id)
    }

    /// Every session id issued so far, expired ones included (for tests
    /// that check a client never leaks one).
    pub fn session_ids(&self) -> Vec<String> {
        lock(&self.sim.store).issued.clone()
    }

    /// How many logins succeeded.
    pub fn logins(&self) -> u64 {
        lock(&self.sim.store).logins
    }

    /// How many `POST /sessions` reached the handler, successful or not.
    pub fn login_attempts(&self) -> u64 {
        lock(&self.sim.store).login_attempts
    }

    /// How many stop requests for `id` (the path segment, decoded) reached
    /// the handler: they passed CSRF and login and were not answered by a
    /// fault first; whatever their answer (404 and 403 included).
    pub fn stop_requests(&self, id: &str) -> u64 {
        lock(&self.sim.store).stop_requests(id)
    }

    /// How many `OpenWorkfileEvent`s the real server would have written to
    /// the activity stream so far: `GET /api/workfiles/{id}` writes one on
    /// every successful call (hey-jude/chorus
    /// `components/api/app/controllers/api/workfiles_controller.rb#show`,
    /// `log_workfile_opened_event`); listings, runs and stops write none.
    pub fn open_workfile_events(&self) -> u64 {
        lock(&self.sim.store).open_events_total
    }

    /// [`ChorusSim::open_workfile_events`] for workfile `id` only.
    pub fn open_workfile_events_for(&self, id: &str) -> u64 {
        numeric(id).map_or(0, |id| lock(&self.sim.store).open_events_for(id))
    }

    /// How many stop requests reached the handler, for any id.
    pub fn total_stop_requests(&self) -> u64 {
        lock(&self.sim.store).stop_total
    }

    /// Forgets every session at once (they answer 401 from now on, cookies
    /// included).
    pub fn expire_sessions(&self) {
        lock(&self.sim.store).expire_sessions();
    }

    /// Takes the engine down (or brings it back) for every workfile: stops
    /// answer 500 with an HTML page (see
    /// [`ChorusSimBuilder::engine_unavailable`]).
    pub fn set_engine_unavailable(&self, on: bool) {
        lock(&self.sim.store).cfg.engine_unavailable = on;
    }

    /// Takes the engine down (or brings it back) for workfile `id` only.
    /// `false` if there is no such workfile.
    pub fn set_engine_unavailable_for(&self, id: &str, on: bool) -> bool {
        numeric(id).is_some_and(|id| lock(&self.sim.store).set_engine_unavailable_for(id, on))
    }

    /// The engine answers every stop of workfile `id` with something other
    /// than HTTP 200 (`on`), or with 200 again: Chorus answers those stops
    /// 202 with the status unchanged, so the workflow keeps running. `false`
    /// if there is no such workfile.
    pub fn set_engine_refuses_for(&self, id: &str, on: bool) -> bool {
        numeric(id).is_some_and(|id| lock(&self.sim.store).set_engine_refuses_for(id, on))
    }

    /// The engine answers the next `n` stop requests that reach it (any
    /// workflow, idle ones included) with something other than HTTP 200:
    /// Chorus answers 202 with the status unchanged. Replaces any earlier
    /// count.
    pub fn fail_next_engine_stops(&self, n: u64) {
        lock(&self.sim.store).fail_next_stops(n);
    }

    /// Shuts the server down gracefully (see [`SimServer::shutdown`]).
    pub async fn shutdown(&self) {
        self.server.shutdown().await;
    }
}

impl Sim {
    /// The rate-limit account of a request: its `session_id` query
    /// parameter, else the session behind its cookie, else `""` (a
    /// `session_id` sent only in a POST body is not visible here).
    fn account(&self, uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> String {
        let from_query = uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "session_id")
                .last()
                .map(|(_, v)| v.into_owned())
        });
        if let Some(s) = from_query {
            return s;
        }
        let prefix = format!("{}=", self.cfg.cookie_name);
        let cookie = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|p| p.trim().strip_prefix(prefix.as_str()).map(str::to_owned));
        let store = lock(&self.store);
        cookie
            .and_then(|c| store.rails_for_cookie(&c))
            .and_then(|k| store.rails_chorus(k))
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

/// The workfile objects in a successful answer of this API, for
/// [`Fault::MapJson`](crate::Fault::MapJson) rewrites that damage every run:
/// the items of a listing's `{"response": […]}`, or the object of
/// `{"response": {…}}` (show, run, stop). A session answer's `response` is an
/// object too: scope the fault to the workfile routes.
///
/// ```
/// use jobstop_sim::chorus::run_objects;
/// use serde_json::json;
///
/// let mut list = json!({"response": [{"id": 1}, {"id": 2}], "pagination": {"page": 1}});
/// assert_eq!(run_objects(&mut list).len(), 2);
/// let mut one = json!({"response": {"id": 1, "status": "idle"}});
/// assert_eq!(run_objects(&mut one).len(), 1);
/// ```
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    match body.get_mut("response") {
        Some(Value::Array(items)) => items.iter_mut().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}
