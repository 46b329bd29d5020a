//! The Chorus workfiles simulator (VENDOR-NOTES section 2; the seed page
//! `chorus-stop-workfile.txt`).
//!
//! The crate README has the routes, the behaviour, the switches and which
//! parts are documented fact and which are inference. A stop the engine
//! accepts makes the workfile `idle` at once: the builder's `stop_delay` has
//! no effect.

mod routes;
mod store;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::endless::{EndlessRuns, Pages};
use crate::{
    Common, Fault, FaultRule, Population, Route, Secret, Settings, Sim, SimBuilder, SimServer,
    SimServerBuilder, SplitMix64, VendorSim, lock,
};
use store::{Store, View};

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

/// A running Chorus simulator (see [`Sim`]).
pub type ChorusSim = Sim<Chorus>;
/// Configures a [`ChorusSim`] (see [`SimBuilder`]). Its `Debug` masks the
/// password.
pub type ChorusSimBuilder = SimBuilder<Chorus>;

/// Which published reading of the JSON the simulator serves (the fields
/// each adds are in the crate README). Both agree on every field jobstop reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChorusWire {
    /// The TIBCO Spotfire Data Science 6.6 page "Stop a running workflow"
    /// (`chorus-stop-workfile.txt`, the seed page). The default.
    TibcoPage,
    /// The Rails presenters of the open-source Chorus (hey-jude/chorus
    /// `components/api/app/presenters/api/`: `workfile_presenter.rb`,
    /// `alpine_workfile_presenter.rb`, `workspace_presenter.rb`,
    /// `user_presenter.rb`) and its frontend fixtures
    /// (`components/frontend/spec/backbone_fixtures/workfile/alpine.json`,
    /// `workfileSet.json`).
    RailsPresenters,
}

/// A workfile to add with [`ChorusSimBuilder::insert_workfile`] or
/// [`ChorusSim::insert_workfile`]. Only the status is required; it is kept
/// verbatim, so any raw wire string works (`"queued"`, `"RUNNING"`, …).
/// Unset parts are generated from the seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkfileSeed {
    pub(crate) status: String,
    pub(crate) id: Option<u64>,
    pub(crate) file_name: Option<String>,
    pub(crate) file_type: Option<String>,
    pub(crate) workspace_id: Option<u64>,
    pub(crate) created_at: Option<DateTime<Utc>>,
    pub(crate) user_modified_at: Option<DateTime<Utc>>,
    pub(crate) description: Option<String>,
    pub(crate) engine_unavailable: bool,
}

impl WorkfileSeed {
    /// A seed with the raw status `status`.
    pub fn new(status: impl Into<String>) -> Self {
        let status = status.into();
        WorkfileSeed {
            status,
            ..Self::default()
        }
    }

    setters! {
        /// Sets the id; default the next free one.
        with_id(id): some u64;
        /// Sets the file name; default picked from a list, unique in the
        /// workspace.
        with_file_name(file_name): some into String;
        /// Sets the `file_type` (`sql`, `text`, `code`, `other`, …); default
        /// `work_flow`.
        with_file_type(file_type): some into String;
        /// Puts it in workspace `id`; default the member workspace (an
        /// unknown id becomes a new member workspace).
        with_workspace(workspace_id): some u64;
        /// Sets `version_info.created_at` (whole seconds are kept).
        with_created_at(created_at): some DateTime<Utc>;
        /// Sets `user_modified_at` (whole seconds are kept).
        with_user_modified_at(user_modified_at): some DateTime<Utc>;
        /// Sets the description (default generated, or `null`).
        with_description(description): some into String;
        /// Whether the engine never answers for this workfile (stops 500,
        /// runs 422); default false.
        with_engine_unavailable(engine_unavailable): bool;
    }
}

options! {
    /// The Chorus simulator's own builder settings (set through
    /// [`ChorusSimBuilder`]); its `Debug` masks the password.
    ChorusOptions for Chorus {
        empty_workspaces: Vec<u64>,
        foreign_workspaces: Vec<(u64, usize)>,
        seeds: Vec<WorkfileSeed>,
    }
    /// The username that can log in. Default `chorusadmin`.
    username(into String): String = "chorusadmin".to_owned();
    /// The password. Default: derived from the seed.
    password(some into Secret): Option<Secret> = None;
    /// The member workspace (`Public`) of the generated workfiles.
    workspace_id(u64): u64 = DEFAULT_WORKSPACE_ID;
    /// How many `running` workflows the member workspace gets.
    running(usize): usize = 0;
    /// How many `idle` workflows the member workspace gets.
    idle(usize): usize = 0;
    /// How many (`idle`) `sql`, `text`, `code` or `other` files it gets.
    other_files(usize): usize = 0;
    /// How long a session lives after its last authenticated request.
    session_timeout(Duration): Duration = DEFAULT_SESSION_TIMEOUT;
    /// After how long a run workflow goes `idle` on its own. Default never.
    finish_after(Option<Duration>): Option<Duration> = None;
    /// The Alpine engine is unreachable: stops answer 500, runs 422.
    engine_unavailable(bool): bool = false;
    /// The session cookie's name (TIBCO's pages show `_session_id`).
    cookie_name(into String): String = COOKIE_NAME.to_owned();
    /// Whether `POST /sessions` needs CSRF verification. Default true.
    login_requires_csrf(bool): bool = true;
    /// Whether `name_pattern` compares case (`LIKE`) or not (`ILIKE`). Default true.
    case_sensitive_name_pattern(bool): bool = true;
    /// Which published reading of the JSON to serve.
    wire(ChorusWire): ChorusWire = ChorusWire::TibcoPage;
}

/// The Chorus protocol; use it through [`ChorusSim`].
pub struct Chorus {
    username: String,
    password: String,
    store: Mutex<Store>,
    request_ids: Mutex<SplitMix64>,
    workspace_id: u64,
}

impl fmt::Debug for Chorus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chorus")
            .field("username", &self.username)
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

impl VendorSim for Chorus {
    const VENDOR: &'static str = "chorus";
    /// The server root: routes live under [`API_PREFIX`] and at the root.
    const PREFIX: &'static str = "";
    type Options = ChorusOptions;

    fn new(common: &Common, options: ChorusOptions) -> Self {
        let mut creds = SplitMix64::stream(common.seed, 13);
        let password = options.password.as_ref().map_or_else(
            || format!("sim-{}", creds.alphanumeric(20)),
            |p| p.0.clone(),
        );
        Chorus {
            username: options.username.clone(),
            password,
            workspace_id: options.workspace_id,
            store: Mutex::new(Store::new(options, common.clock, common.seed)),
            request_ids: Mutex::new(SplitMix64::stream(common.seed, 14)),
        }
    }

    fn server(this: &Arc<Self>) -> SimServerBuilder {
        let accounts = this.clone();
        SimServer::builder(routes::router(this.clone()))
            .error_body(store::error_body)
            .account_key(move |uri, headers| accounts.account(uri, headers))
    }

    /// `running` workflows, `finished` idle ones and 3 non-workflow files
    /// in the member workspace.
    fn populate(options: &mut ChorusOptions, population: &Population) {
        options.running = population.running;
        options.idle = population.finished;
        options.other_files = 3;
    }

    /// `base_url`, `username`, `password` and `workspace_id`.
    fn settings(sim: &Sim<Self>) -> Settings {
        vec![
            ("base_url", sim.base_url()),
            ("username", sim.username().to_owned()),
            ("password", sim.password().to_owned()),
            ("workspace_id", sim.workspace_id().to_string()),
        ]
    }

    one_liners! {
        /// The workflows (`work_flow`) of the member workspace, in default
        /// listing order (file name ignoring case, then id).
        fn ids(&self) -> Vec<String> = lock(&self.store).ids_in(self.workspace_id, true, None);
        /// The `status` of workfile `id`, in any workspace.
        fn raw_state(&self, id: &str) -> Option<String> =
            lock(&self.store).get(routes::parse_id(id)?).map(|w| w.status.clone());
        /// Stop requests for `id` (the path segment, decoded) that passed
        /// CSRF and login and were not answered by a fault first; whatever
        /// their answer (404 and 403 included).
        fn stop_requests(&self, id: Option<&str>) -> u64 =
            lock(&self.store).workfiles.stop_requests(id);
        fn insert_running(&self) -> Option<String> =
            Some(lock(&self.store).insert(WorkfileSeed::new(store::RUNNING)).to_string());
    }

    /// A listing that never ends (see [`crate::endless`]): `pagination.total`
    /// one more than the page, and no `records`.
    fn endless(page_size: usize, runs: EndlessRuns) -> FaultRule {
        let pages = Pages::new(page_size, runs, &["id"]);
        let fault = Fault::map_json("endless pagination.total", move |body| {
            if let Some(items) = body.get_mut("response") {
                pages.fill(items);
            }
            if let Some(p) = body.get_mut("pagination").and_then(Value::as_object_mut) {
                let page = p.get("page").and_then(Value::as_u64).unwrap_or(1);
                p.insert("total".into(), Value::from(page.saturating_add(1)));
                p.remove("records");
            }
        });
        FaultRule::new(Route::get_prefix("/api/workspaces/"), fault)
    }
}

impl Chorus {
    /// The rate-limit account of a request: its `session_id` query
    /// parameter, else the session behind its cookie, else `""` (a
    /// `session_id` sent only in a POST body is not visible here).
    fn account(&self, uri: &Uri, headers: &HeaderMap) -> String {
        let query = routes::parse_pairs(uri.query().unwrap_or_default().as_bytes());
        let param = query.into_iter().rev().find(|(k, _)| k == "session_id");
        let store = lock(&self.store);
        let cookie = || routes::rails_key(&store, headers).and_then(|k| store.rails_chorus(k));
        param.map_or_else(|| cookie().unwrap_or_default().to_owned(), |(_, s)| s)
    }

    /// Runs `f` on the store if `id` is a workfile id; `false` if not.
    fn with_id(&self, id: &str, f: impl FnOnce(&mut Store, u64) -> bool) -> bool {
        routes::parse_id(id).is_some_and(|id| f(&mut lock(&self.store), id))
    }
}

impl SimBuilder<Chorus> {
    /// Adds a second member workspace with no workfiles.
    pub fn empty_workspace(mut self, id: u64) -> Self {
        self.options.empty_workspaces.push(id);
        self
    }

    /// Adds a private workspace (the user is no member) with `n` workflows,
    /// about a third `running`.
    pub fn foreign_workspace(mut self, id: u64, n: usize) -> Self {
        self.options.foreign_workspaces.push((id, n));
        self
    }

    /// Adds a workfile after the generated ones.
    pub fn insert_workfile(mut self, seed: WorkfileSeed) -> Self {
        self.options.seeds.push(seed);
        self
    }
}

/// The Chorus handle's own accessors. Fault routes match the whole path,
/// e.g. `Route::post("/api/workfiles/*/stop")`; the base URL is the server
/// root (routes are under `/api`).
impl Sim<Chorus> {
    one_liners! {
        /// The username that can log in.
        pub fn username(&self) -> &str = &self.vendor.username;
        /// The password.
        pub fn password(&self) -> &str = &self.vendor.password;
        /// The member workspace's id.
        pub fn workspace_id(&self) -> u64 = self.vendor.workspace_id;
        /// [`Sim::ids`] whose `status` is exactly `status`.
        pub fn ids_with_status(&self, status: &str) -> Vec<String> =
            lock(&self.vendor.store).ids_in(self.vendor.workspace_id, true, Some(status));
        /// The ids of every workfile (any type) in workspace `workspace_id`,
        /// in default listing order.
        pub fn ids_in(&self, workspace_id: u64) -> Vec<String> =
            lock(&self.vendor.store).ids_in(workspace_id, false, None);
        /// Adds a workfile; returns its id.
        pub fn insert_workfile(&self, seed: WorkfileSeed) -> String =
            lock(&self.vendor.store).insert(seed).to_string();
        /// Sets the raw `status` of `id` (no pending finish); `false` if none.
        pub fn set_status(&self, id: &str, raw: &str) -> bool =
            self.vendor.with_id(id, |s, id| s.set_status(id, raw));
        /// Creates a live session without a login; returns its `session_id`.
        pub fn new_session(&self) -> String = lock(&self.vendor.store).create_session();
        /// The CSRF token of the cookie session that logged in as `session_id`.
        pub fn csrf_token(&self, session_id: &str) -> Option<String> = lock(&self.vendor.store)
            .rails.iter().find(|r| r.chorus.as_deref() == Some(session_id)).map(|r| r.csrf.clone());
        /// Every session id issued so far, expired ones included.
        pub fn session_ids(&self) -> Vec<String> = lock(&self.vendor.store).issued.clone();
        /// How many logins succeeded.
        pub fn logins(&self) -> u64 = lock(&self.vendor.store).logins;
        /// How many `POST /sessions` reached the handler, successful or not.
        pub fn login_attempts(&self) -> u64 = lock(&self.vendor.store).login_attempts;
        /// How many `OpenWorkfileEvent`s the real server would have written
        /// (`workfiles_controller.rb#show`, `log_workfile_opened_event`).
        pub fn open_workfile_events(&self) -> u64 =
            lock(&self.vendor.store).open_events.values().sum();
        /// [`ChorusSim::open_workfile_events`] for workfile `id` only.
        pub fn open_workfile_events_for(&self, id: &str) -> u64 = routes::parse_id(id)
            .and_then(|id| lock(&self.vendor.store).open_events.get(&id).copied())
            .unwrap_or(0);
        /// Forgets every session at once (cookies included).
        pub fn expire_sessions(&self) = {
            let mut store = lock(&self.vendor.store);
            store.sessions.clear();
            store.rails.iter_mut().for_each(|r| r.chorus = None);
        };
        /// Takes the engine down (or brings it back) for every workfile:
        /// stops answer Rails' 500 page (`alpine_workfile.rb#stop_now`).
        pub fn set_engine_unavailable(&self, on: bool) =
            lock(&self.vendor.store).cfg.engine_unavailable = on;
        /// The same for workfile `id` only; `false` if there is none.
        pub fn set_engine_unavailable_for(&self, id: &str, on: bool) -> bool =
            self.vendor.with_id(id, |s, id| s.update(id, |w| w.engine_unavailable = on));
        /// The engine answers stops of `id` but never with 200 (`on`): Chorus
        /// answers 202 with the status unchanged. `false` if there is no `id`.
        pub fn set_engine_refuses_for(&self, id: &str, on: bool) -> bool =
            self.vendor.with_id(id, |s, id| s.update(id, |w| w.engine_refuses = on));
        /// The same for the next `n` stops of any workflow (replaces any
        /// earlier count).
        pub fn fail_next_engine_stops(&self, n: u64) = lock(&self.vendor.store).fail_stops = n;
    }

    /// The workfile as `GET /api/workfiles/{id}` would show it now (the
    /// object inside `response`), whatever workspace it is in.
    pub fn workfile_json(&self, id: &str) -> Option<Value> {
        let mut store = lock(&self.vendor.store);
        let wf = store.get(routes::parse_id(id)?)?.clone();
        Some(store.render(&wf, View::Show))
    }
}

/// The workfile objects in a successful answer of this API, for
/// [`Fault::MapJson`] rewrites that damage every run:
/// the items of a listing's `{"response": […]}`, or the object of
/// `{"response": {…}}` (show, run, stop). A session answer's `response` is an
/// object too: scope the fault to the workfile routes.
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    match body.get_mut("response") {
        Some(Value::Array(items)) => items.iter_mut().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}
