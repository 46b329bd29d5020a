//! The Chorus simulator's state: users, workspaces, workfiles, sessions and
//! counters; and how they look on the wire.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{ChorusWire, WorkfileSeed};
use crate::clock::DueQueue;
use crate::{SimClock, SplitMix64, Timeline};

/// `file_type` of Alpine workflows.
pub(crate) const WORK_FLOW: &str = "work_flow";
/// `AlpineWorkfile::IDLE`.
pub(crate) const IDLE: &str = "idle";
/// `AlpineWorkfile::RUNNING`.
pub(crate) const RUNNING: &str = "running";

/// The signed-in user's id (the session example's `user.id`).
pub(crate) const CURRENT_USER_ID: u64 = 1_000_002;
/// The seed page's `owner`.
const OWNER_ID: u64 = 1_000_006;
/// Another user, owner of foreign workspaces.
const ANALYST_ID: u64 = 1_000_009;
/// First workfile id.
const FIRST_WORKFILE_ID: u64 = 1_000_000;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Whole-second UTC, e.g. `2019-04-03T22:09:35Z` (Chorus encodes times with
/// `time_precision = 0`).
pub(crate) fn format_secs(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `t` without its sub-second part.
fn whole_secs(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn plus_secs(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    t.checked_add_signed(chrono::Duration::seconds(secs))
        .unwrap_or(t)
}

/// Workflow names (they must match `[a-zA-Z0-9_ .()-]+`, as Chorus checks).
const FLOW_NAMES: &[&str] = &[
    "alpine_flow",
    "churn_model",
    "Customer Segmentation",
    "daily_scoring",
    "fraud_detection",
    "lead_scoring",
    "market_basket",
    "nightly_refresh",
    "Revenue Forecast (v2)",
    "sentiment_analysis",
    "ETL-Loyalty",
    "propensity_model",
];

/// Other workfiles: `(file_type, names)`.
const OTHER_FILES: &[(&str, &[&str])] = &[
    (
        "sql",
        &["top_customers.sql", "cleanup.sql", "Monthly Report.sql"],
    ),
    ("text", &["README.txt", "notes.txt"]),
    ("code", &["model_utils.py", "score.R"]),
    ("other", &["customers.csv", "export.json"]),
];

/// A user of the Chorus instance.
#[derive(Debug, Clone)]
struct User {
    id: u64,
    username: String,
    first_name: String,
    last_name: String,
    email: String,
    title: String,
    dept: String,
    notes: String,
    roles: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) id: u64,
    pub(crate) name: String,
    /// Whether the signed-in user is a member.
    pub(crate) member: bool,
    pub(crate) public: bool,
    owner: u64,
    summary: &'static str,
}

/// A change waiting on a workfile's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// `running` → `idle` (the engine's callback `PUT /workfiles/:id`).
    Finish,
}

#[derive(Debug, Clone)]
pub(crate) struct Workfile {
    pub(crate) id: u64,
    pub(crate) workspace_id: u64,
    pub(crate) file_name: String,
    pub(crate) file_type: String,
    pub(crate) status: String,
    owner: u64,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    pub(crate) user_modified_at: DateTime<Utc>,
    /// The latest version of a non-workflow file.
    version_id: Option<u64>,
    /// The engine is unreachable for this workfile: stops 500, runs 422.
    engine_unavailable: bool,
    /// The engine answers stops of this workfile, but never with 200.
    engine_refuses: bool,
    timeline: Timeline<Change>,
}

impl Workfile {
    pub(crate) fn is_workflow(&self) -> bool {
        self.file_type == WORK_FLOW
    }
}

/// How much of a workfile to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// List items (`list_view`, `workfile_as_latest_version`): succinct
    /// workspace, `version_info`, no `execution_locations`/`dataset_ids`.
    List,
    /// `GET /workfiles/:id`: everything.
    Show,
    /// Run and stop answers (plain `present workfile`): no `version_info`.
    Action,
}

/// The parsed filters and paging of a listing.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    pub(crate) file_type: Option<String>,
    pub(crate) name_pattern: Option<String>,
    pub(crate) by_name: bool,
    pub(crate) page: u64,
    pub(crate) per_page: u64,
}

/// What a run or stop request did.
#[derive(Debug)]
pub(crate) enum Action {
    NotFound,
    /// Not a member of the workspace: its (succinct) JSON.
    Forbidden(Value),
    /// Run: the engine did not start it.
    RunFailed,
    /// Stop of a file that is not a workflow (Chorus has no `stop_now`
    /// there and fails with a 500).
    NotAWorkflow,
    /// Stop while the Alpine engine is unreachable or workflows are not
    /// licensed: `Alpine::API#request_stop` rescues the error and returns
    /// nil (or `if_enabled` yields nothing), so `stop_now`'s
    /// `response.code` raises and Rails answers its 500 page (hey-jude/chorus
    /// `components/core/app/models/alpine_workfile.rb#stop_now` and its
    /// `Alpine::API#stop_work_flow`/`#request_stop`, which
    /// `rescue StandardError` and log).
    EngineFailed,
    /// 202 with this body.
    Accepted(Value),
}

/// A Chorus session (the `sessions` table).
#[derive(Debug, Clone)]
struct Session {
    user: u64,
    expires: Instant,
}

/// The Rails cookie session: which Chorus session it carries and its CSRF
/// token.
#[derive(Debug, Clone)]
struct RailsSession {
    chorus: Option<String>,
    csrf: String,
}

/// Simulator settings the store needs.
#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    pub(crate) username: String,
    pub(crate) member_workspace: u64,
    pub(crate) session_timeout: Duration,
    pub(crate) finish_after: Option<Duration>,
    pub(crate) engine_unavailable: bool,
    pub(crate) case_sensitive_like: bool,
    pub(crate) wire: ChorusWire,
}

/// The workfile names of one workspace (compared ignoring ASCII case).
#[derive(Debug, Default)]
struct WorkspaceNames {
    /// Lowercased name → how many workfiles have it.
    counts: HashMap<String, usize>,
    /// Lowercased base name → the first `_n` suffix that may be free.
    hints: HashMap<String, u64>,
}

impl WorkspaceNames {
    fn taken(&self, name: &str) -> bool {
        self.counts.contains_key(&name.to_ascii_lowercase())
    }

    fn add(&mut self, name: &str) {
        *self.counts.entry(name.to_ascii_lowercase()).or_default() += 1;
    }

    fn remove(&mut self, name: &str) {
        let key = name.to_ascii_lowercase();
        if let Some(n) = self.counts.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&key);
                // A freed name may be below a hint.
                self.hints.clear();
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) cfg: StoreConfig,
    clock: SimClock,
    /// When the simulator started (seeded auto-finish counts from here).
    started: Instant,
    users: Vec<User>,
    workspaces: BTreeMap<u64, Workspace>,
    workfiles: BTreeMap<u64, Workfile>,
    /// When workfiles have timeline changes due (see [`Store::settle`]).
    due: DueQueue<u64>,
    /// Workspace id → its workfile names, for [`Store::unique_name`].
    names: HashMap<u64, WorkspaceNames>,
    next_workfile: u64,
    next_version: u64,
    /// Seeded generation of ids, names and times.
    ids: SplitMix64,
    /// Session ids, cookies, CSRF tokens (a separate stream, so traffic never
    /// shifts the seeded data).
    secrets: SplitMix64,
    sessions: HashMap<String, Session>,
    rails: HashMap<u64, RailsSession>,
    next_rails: u64,
    /// Every cookie value ever issued → its Rails session.
    cookies: HashMap<String, u64>,
    pub(crate) logins: u64,
    pub(crate) login_attempts: u64,
    /// Every session id ever issued, in order (for leak checks in tests).
    pub(crate) issued: Vec<String>,
    stops: HashMap<String, u64>,
    pub(crate) stop_total: u64,
    /// The next this many stops are answered by the engine with something
    /// other than HTTP 200.
    fail_stops: u64,
    /// `OpenWorkfileEvent`s written, per workfile: `GET /workfiles/:id`
    /// writes one on every successful call (hey-jude/chorus
    /// `components/api/app/controllers/api/workfiles_controller.rb#show`,
    /// `log_workfile_opened_event`).
    open_events: HashMap<u64, u64>,
    pub(crate) open_events_total: u64,
}

impl Store {
    pub(crate) fn new(cfg: StoreConfig, clock: SimClock, seed: u64) -> Self {
        let users = vec![
            User {
                id: CURRENT_USER_ID,
                username: cfg.username.clone(),
                first_name: "Chorus".to_owned(),
                last_name: "Admin".to_owned(),
                email: format!("{}@example.com", cfg.username),
                title: "Data Scientist".to_owned(),
                dept: "Analytics".to_owned(),
                notes: String::new(),
                roles: vec!["data_scientist"],
            },
            User {
                id: OWNER_ID,
                username: "owner".to_owned(),
                first_name: "searchquery".to_owned(),
                last_name: "User_1".to_owned(),
                email: "chorususer282295@alpinenow.com".to_owned(),
                title: "Chief Data Scientist".to_owned(),
                dept: "Corporation Corp., Inc.".to_owned(),
                notes: "One of our top performers".to_owned(),
                roles: vec!["data_admin"],
            },
            User {
                id: ANALYST_ID,
                username: "analyst".to_owned(),
                first_name: "Ana".to_owned(),
                last_name: "Lyst".to_owned(),
                email: "analyst@example.com".to_owned(),
                title: "Analyst".to_owned(),
                dept: "Finance".to_owned(),
                notes: String::new(),
                roles: vec!["analytics_developer"],
            },
        ];
        Store {
            cfg,
            clock,
            started: Instant::now(),
            users,
            workspaces: BTreeMap::new(),
            workfiles: BTreeMap::new(),
            due: DueQueue::new(),
            names: HashMap::new(),
            next_workfile: FIRST_WORKFILE_ID,
            next_version: FIRST_WORKFILE_ID,
            ids: SplitMix64::stream(seed, 11),
            secrets: SplitMix64::stream(seed, 12),
            sessions: HashMap::new(),
            rails: HashMap::new(),
            next_rails: 1,
            cookies: HashMap::new(),
            logins: 0,
            login_attempts: 0,
            issued: Vec::new(),
            stops: HashMap::new(),
            stop_total: 0,
            fail_stops: 0,
            open_events: HashMap::new(),
            open_events_total: 0,
        }
    }

    // ----- workspaces and workfiles -------------------------------------

    /// Adds (or replaces) a workspace.
    pub(crate) fn add_workspace(&mut self, id: u64, name: &str, member: bool) {
        let (owner, summary) = if member {
            (OWNER_ID, "searchquery")
        } else {
            (ANALYST_ID, "Restricted to the finance team.")
        };
        self.workspaces.insert(
            id,
            Workspace {
                id,
                name: name.to_owned(),
                member,
                // The default member workspace is the seed page's "Public";
                // non-member workspaces are private (else they would be
                // readable by everyone).
                public: member,
                owner,
                summary,
            },
        );
    }

    /// A fresh workfile id (gaps of 1 to 3, from the seed).
    fn next_id(&mut self) -> u64 {
        let id = self.next_workfile;
        self.next_workfile += self.ids.range(1, 3);
        while self.workfiles.contains_key(&self.next_workfile) {
            self.next_workfile += 1;
        }
        id
    }

    /// `base` made unique in workspace `ws` (`name_2`, `report_2.sql`).
    fn unique_name(&mut self, ws: u64, base: &str) -> String {
        let names = self.names.entry(ws).or_default();
        if !names.taken(base) {
            return base.to_owned();
        }
        let (stem, ext) = match base.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
            _ => (base, String::new()),
        };
        // Every suffix below the hint is taken (names are only ever added
        // while hints are kept; see `WorkspaceNames::remove`).
        let key = base.to_ascii_lowercase();
        let first = names.hints.get(&key).copied().unwrap_or(2);
        let (n, name) = (first..)
            .map(|n| (n, format!("{stem}_{n}{ext}")))
            .find(|(_, name)| !names.taken(name))
            .unwrap_or((first, base.to_owned()));
        names.hints.insert(key, n);
        name
    }

    /// Inserts (or replaces) a workfile, keeping the name and due indexes.
    fn put_workfile(&mut self, wf: Workfile) {
        let id = wf.id;
        self.names
            .entry(wf.workspace_id)
            .or_default()
            .add(&wf.file_name);
        let due = wf.timeline.next_due();
        if let Some(old) = self.workfiles.insert(id, wf)
            && let Some(names) = self.names.get_mut(&old.workspace_id)
        {
            names.remove(&old.file_name);
        }
        self.due.note(due, &id);
    }

    /// A generated workfile (not inserted).
    fn generate(&mut self, ws: u64, file_type: &str, status: &str) -> Workfile {
        let epoch = whole_secs(self.clock.epoch());
        let base = if file_type == WORK_FLOW {
            self.ids.pick(FLOW_NAMES).copied().unwrap_or("alpine_flow")
        } else {
            let names = OTHER_FILES
                .iter()
                .find(|(t, _)| *t == file_type)
                .map_or(&["file.txt"][..], |(_, n)| n);
            self.ids.pick(names).copied().unwrap_or("file.txt")
        };
        let file_name = self.unique_name(ws, base);
        let created = plus_secs(
            epoch,
            -(self.ids.range(2 * DAY as u64, 120 * DAY as u64) as i64),
        );
        let span = (epoch - created).num_seconds().max(1) as u64;
        let modified = plus_secs(created, self.ids.below(span) as i64);
        let updated = plus_secs(modified, self.ids.range(1, 59) as i64).min(epoch);
        let owner = match self.ids.below(10) {
            0..=5 => OWNER_ID,
            6..=8 => CURRENT_USER_ID,
            _ => ANALYST_ID,
        };
        let description = self.ids.chance(30).then(|| {
            format!(
                "{} for the {} team",
                file_name,
                ["sales", "risk", "growth"][self.ids.below(3) as usize]
            )
        });
        let version_id = (file_type != WORK_FLOW).then(|| {
            let v = self.next_version;
            self.next_version += 1;
            v
        });
        Workfile {
            id: self.next_id(),
            workspace_id: ws,
            file_name,
            file_type: file_type.to_owned(),
            status: status.to_owned(),
            owner,
            description,
            created_at: created,
            updated_at: updated,
            user_modified_at: modified,
            version_id,
            engine_unavailable: false,
            engine_refuses: false,
            timeline: Timeline::new(),
        }
    }

    fn schedule_finish(&self, wf: &mut Workfile, from: Instant) {
        if let Some(d) = self.cfg.finish_after {
            wf.timeline.push_after(from, d, Change::Finish);
        }
    }

    /// Adds `running` and `idle` workflows and `other` non-workflow files to
    /// workspace `ws`, deterministically from the seed.
    pub(crate) fn seed_workfiles(&mut self, ws: u64, running: usize, idle: usize, other: usize) {
        let started = self.started;
        let epoch = whole_secs(self.clock.epoch());
        for _ in 0..running {
            let mut wf = self.generate(ws, WORK_FLOW, RUNNING);
            // Started running a little before the epoch.
            let run_at = plus_secs(epoch, -(self.ids.range(60, 2 * HOUR as u64) as i64));
            wf.updated_at = run_at.max(wf.updated_at);
            self.schedule_finish(&mut wf, started);
            self.put_workfile(wf);
        }
        for _ in 0..idle {
            let wf = self.generate(ws, WORK_FLOW, IDLE);
            self.put_workfile(wf);
        }
        for _ in 0..other {
            let kind = self.ids.pick(OTHER_FILES).map_or("text", |(t, _)| *t);
            let wf = self.generate(ws, kind, IDLE);
            self.put_workfile(wf);
        }
    }

    /// Adds a workfile from a seed; returns its id. An unknown workspace id
    /// creates a member workspace of that id.
    pub(crate) fn insert(&mut self, seed: WorkfileSeed) -> u64 {
        let ws = seed.workspace_id.unwrap_or(self.cfg.member_workspace);
        if !self.workspaces.contains_key(&ws) {
            self.add_workspace(ws, &format!("Workspace {ws}"), true);
        }
        let file_type = seed
            .file_type
            .clone()
            .unwrap_or_else(|| WORK_FLOW.to_owned());
        let mut wf = self.generate(ws, &file_type, &seed.status);
        if let Some(id) = seed.id {
            // The generated id goes unused; keep the counter ahead of `id`.
            wf.id = id;
            if id >= self.next_workfile {
                self.next_workfile = id + 1;
            }
        }
        if let Some(name) = seed.file_name {
            wf.file_name = name;
        }
        if let Some(t) = seed.created_at {
            wf.created_at = whole_secs(t);
        }
        if let Some(t) = seed.user_modified_at {
            wf.user_modified_at = whole_secs(t);
        }
        if wf.user_modified_at < wf.created_at {
            wf.created_at = wf.user_modified_at;
        }
        wf.updated_at = wf.updated_at.max(wf.user_modified_at);
        if seed.description.is_some() {
            wf.description = seed.description;
        }
        wf.engine_unavailable = seed.engine_unavailable;
        if wf.status == RUNNING {
            self.schedule_finish(&mut wf, Instant::now());
        }
        let id = wf.id;
        self.put_workfile(wf);
        id
    }

    /// Applies every change that is due by now, in order.
    pub(crate) fn settle(&mut self) {
        let now = Instant::now();
        let popped = self.due.take_due(now);
        let due: Vec<u64> = popped
            .iter()
            .copied()
            .filter(|id| {
                self.workfiles
                    .get(id)
                    .is_some_and(|w| w.timeline.next_due().is_some_and(|d| d <= now))
            })
            .collect();
        for id in due {
            let changes = self
                .workfiles
                .get_mut(&id)
                .map(|w| w.timeline.take_due(now))
                .unwrap_or_default();
            for (at, change) in changes {
                self.apply(id, at, change);
            }
        }
        for id in popped {
            let next = self.workfiles.get(&id).and_then(|w| w.timeline.next_due());
            self.due.note(next, &id);
        }
    }

    fn apply(&mut self, id: u64, at: Instant, change: Change) {
        let wall = whole_secs(self.clock.at(at));
        let Some(wf) = self.workfiles.get_mut(&id) else {
            return;
        };
        match change {
            Change::Finish if wf.status == RUNNING => {
                wf.status = IDLE.to_owned();
                wf.updated_at = wall;
            }
            Change::Finish => {}
        }
    }

    pub(crate) fn get(&mut self, id: u64) -> Option<&Workfile> {
        self.settle();
        self.workfiles.get(&id)
    }

    /// Workfile ids of workspace `ws` in default listing order, optionally
    /// only workflows.
    pub(crate) fn ids_in(&mut self, ws: u64, workflows_only: bool) -> Vec<&Workfile> {
        self.settle();
        let mut v: Vec<&Workfile> = self
            .workfiles
            .values()
            .filter(|w| w.workspace_id == ws && (!workflows_only || w.is_workflow()))
            .collect();
        sort_by_name(&mut v);
        v
    }

    /// Sets the raw status of `id` and drops its pending changes.
    pub(crate) fn set_status(&mut self, id: u64, raw: &str) -> bool {
        self.settle();
        let now = whole_secs(self.clock.now());
        let Some(wf) = self.workfiles.get_mut(&id) else {
            return false;
        };
        wf.status = raw.to_owned();
        wf.updated_at = now.max(wf.updated_at);
        wf.timeline.clear();
        true
    }

    /// Makes the engine (not) answer for workfile `id`.
    pub(crate) fn set_engine_unavailable_for(&mut self, id: u64, on: bool) -> bool {
        match self.workfiles.get_mut(&id) {
            Some(wf) => {
                wf.engine_unavailable = on;
                true
            }
            None => false,
        }
    }

    /// Makes the engine answer stops of workfile `id` with a non-200 (or
    /// with 200 again).
    pub(crate) fn set_engine_refuses_for(&mut self, id: u64, on: bool) -> bool {
        match self.workfiles.get_mut(&id) {
            Some(wf) => {
                wf.engine_refuses = on;
                true
            }
            None => false,
        }
    }

    pub(crate) fn fail_next_stops(&mut self, n: u64) {
        self.fail_stops = n;
    }

    /// The 403 `model_data` if the user may not see workspace `ws`:
    /// `present_forbidden` presents the workspace with `:forbidden => true`,
    /// and `ApiPresenter#presentation_hash` then returns `forbidden_hash`,
    /// which is `{}` (hey-jude/chorus `components/api/app/controllers/
    /// api_controller.rb#present_forbidden`, `components/api/app/presenters/
    /// api_presenter.rb`; the fixture `components/frontend/spec/
    /// backbone_fixtures/forbiddenDataSource.json` is `{"errors":
    /// {"model_data":{}}}`).
    fn forbidden(&self, ws: u64) -> Option<Value> {
        let w = self.workspaces.get(&ws)?;
        (!w.member && !w.public).then(|| json!({}))
    }

    /// `GET /workfiles/:id`.
    pub(crate) fn show(&mut self, id: Option<u64>) -> Action {
        self.settle();
        let Some(wf) = id.and_then(|id| self.workfiles.get(&id)) else {
            return Action::NotFound;
        };
        if let Some(ws) = self.forbidden(wf.workspace_id) {
            return Action::Forbidden(ws);
        }
        // Authorized: `log_workfile_opened_event` runs before `present`.
        let body = self.render(wf, View::Show);
        let id = wf.id;
        *self.open_events.entry(id).or_default() += 1;
        self.open_events_total += 1;
        Action::Accepted(body)
    }

    /// How many `OpenWorkfileEvent`s `GET /workfiles/:id` wrote for `id`.
    pub(crate) fn open_events_for(&self, id: u64) -> u64 {
        self.open_events.get(&id).copied().unwrap_or(0)
    }

    /// `POST /workfiles/:id/run`.
    pub(crate) fn run(&mut self, id: Option<u64>) -> Action {
        self.settle();
        let Some(id) = id.filter(|id| self.workfiles.contains_key(id)) else {
            return Action::NotFound;
        };
        let now = Instant::now();
        let wall = whole_secs(self.clock.at(now));
        let down = self.cfg.engine_unavailable;
        let finish_after = self.cfg.finish_after;
        let Some(wf) = self.workfiles.get(&id) else {
            return Action::NotFound;
        };
        if let Some(ws) = self.forbidden(wf.workspace_id) {
            return Action::Forbidden(ws);
        }
        if wf.is_workflow() {
            if down || wf.engine_unavailable {
                return Action::RunFailed;
            }
            if let Some(wf) = self.workfiles.get_mut(&id) {
                wf.status = RUNNING.to_owned();
                wf.updated_at = wall;
                wf.timeline.clear();
                if let Some(d) = finish_after {
                    wf.timeline.push_after(now, d, Change::Finish);
                }
                let next = wf.timeline.next_due();
                self.due.note(next, &id);
            }
        }
        // Other files: `Workfile#run_now` does nothing; 202 unchanged.
        match self.workfiles.get(&id) {
            Some(wf) => Action::Accepted(self.render(wf, View::Action)),
            None => Action::NotFound,
        }
    }

    /// `POST /workfiles/:id/stop`; `raw_id` is the path segment as
    /// received (decoded), for the counters.
    pub(crate) fn stop(&mut self, raw_id: &str, id: Option<u64>) -> Action {
        self.settle();
        *self.stops.entry(raw_id.to_owned()).or_default() += 1;
        self.stop_total += 1;
        let Some(id) = id.filter(|id| self.workfiles.contains_key(id)) else {
            return Action::NotFound;
        };
        let wall = whole_secs(self.clock.now());
        let Some(wf) = self.workfiles.get(&id) else {
            return Action::NotFound;
        };
        if let Some(ws) = self.forbidden(wf.workspace_id) {
            return Action::Forbidden(ws);
        }
        if !wf.is_workflow() {
            return Action::NotAWorkflow;
        }
        // Engine unreachable or unlicensed: `request_stop` yields nil and
        // `stop_now` raises (500 page), whatever the status.
        if self.cfg.engine_unavailable || wf.engine_unavailable {
            return Action::EngineFailed;
        }
        // The engine is asked whatever the status; only its HTTP 200 makes
        // the workfile idle (`update_attribute(:status, IDLE) if
        // response.code == '200'`), and the controller answers 202 either way.
        let answered = if self.fail_stops > 0 {
            self.fail_stops -= 1;
            false
        } else {
            !wf.engine_refuses
        };
        if answered && let Some(wf) = self.workfiles.get_mut(&id) {
            if wf.status != IDLE {
                wf.status = IDLE.to_owned();
                wf.updated_at = wall;
            }
            wf.timeline.clear();
        }
        match self.workfiles.get(&id) {
            Some(wf) => Action::Accepted(self.render(wf, View::Action)),
            None => Action::NotFound,
        }
    }

    pub(crate) fn stop_requests(&self, id: &str) -> u64 {
        self.stops.get(id).copied().unwrap_or(0)
    }

    /// The listing body of workspace `ws` (`Err` with the 403 body if it is
    /// private and the user is not a member; `None` if there is no such
    /// workspace).
    pub(crate) fn list(&mut self, ws: u64, q: &ListQuery) -> Option<Result<Value, Value>> {
        self.settle();
        let w = self.workspaces.get(&ws)?;
        if let Some(body) = self.forbidden(w.id) {
            return Some(Err(body));
        }
        let pattern = q.name_pattern.as_ref().map(|p| {
            let full = format!("%{p}%");
            if self.cfg.case_sensitive_like {
                Like::new(&full, false)
            } else {
                Like::new(&full, true)
            }
        });
        let file_type = q.file_type.as_ref().map(|t| t.to_lowercase());
        let mut matching: Vec<&Workfile> = self
            .workfiles
            .values()
            .filter(|w| w.workspace_id == ws)
            .filter(|w| file_type.as_ref().is_none_or(|t| w.file_type == *t))
            .filter(|w| pattern.as_ref().is_none_or(|p| p.matches(&w.file_name)))
            .collect();
        if q.by_name {
            sort_by_name(&mut matching);
        } else {
            matching.sort_by(|a, b| {
                b.user_modified_at
                    .cmp(&a.user_modified_at)
                    .then(a.id.cmp(&b.id))
            });
        }
        let records = matching.len() as u64;
        let (items, total) = if q.per_page == 0 {
            (Vec::new(), Value::Null)
        } else {
            let start = q.page.saturating_sub(1).saturating_mul(q.per_page);
            let items: Vec<Value> = matching
                .iter()
                .skip(usize::try_from(start).unwrap_or(usize::MAX))
                .take(usize::try_from(q.per_page).unwrap_or(usize::MAX))
                .map(|w| self.render(w, View::List))
                .collect();
            // will_paginate: one page for an empty list.
            let pages = if records == 0 {
                1
            } else {
                records.div_ceil(q.per_page)
            };
            (items, Value::from(pages))
        };
        Some(Ok(json!({
            "response": items,
            "pagination": {
                "page": q.page,
                "per_page": q.per_page,
                "records": records,
                "total": total,
            },
        })))
    }

    // ----- rendering ----------------------------------------------------

    fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// `UserPresenter`, succinct (workfile owners) or full (session user,
    /// workspace owners): in the seed page's key set, or in
    /// hey-jude/chorus `components/api/app/presenters/api/user_presenter.rb`'s
    /// ([`ChorusWire::RailsPresenters`]: `user_type` always; `developer`, no
    /// `roles`, `deactivated_at` or license fields).
    fn render_user(&self, id: u64, succinct: bool) -> Value {
        let tibco = self.cfg.wire == ChorusWire::TibcoPage;
        let Some(u) = self.user(id) else {
            return Value::Null;
        };
        let stamp = self.clock.epoch().timestamp() - 75 * DAY;
        let dir = format!(
            "{:03}/{:03}/{:03}",
            u.id / 1_000_000,
            u.id / 1000 % 1000,
            u.id % 1000
        );
        let mut m = Map::new();
        m.insert("id".into(), u.id.into());
        m.insert("username".into(), u.username.clone().into());
        m.insert("first_name".into(), u.first_name.clone().into());
        m.insert("last_name".into(), u.last_name.clone().into());
        m.insert(
            "image".into(),
            json!({
                "original": format!("/paperclip/users/images/{dir}/original/User.png?{stamp}"),
                "icon": format!("/paperclip/users/images/{dir}/icon/User.png?{stamp}"),
                "entity_type": "image",
                "complete_json": true,
            }),
        );
        m.insert("is_deleted".into(), Value::Null);
        m.insert("auth_method".into(), "internal".into());
        m.insert("ldap_group_id".into(), Value::Null);
        m.insert("user_type".into(), "analytics_developer".into());
        m.insert("entity_type".into(), "user".into());
        if tibco {
            m.insert("using_default_image".into(), false.into());
            m.insert("active_license".into(), true.into());
            m.insert("is_siteadmin".into(), false.into());
            m.insert("roles".into(), json!(u.roles));
        }
        if !succinct {
            m.insert("email".into(), u.email.clone().into());
            m.insert("title".into(), u.title.clone().into());
            m.insert("dept".into(), u.dept.clone().into());
            m.insert("notes".into(), u.notes.clone().into());
            m.insert("admin".into(), false.into());
            if !tibco {
                m.insert("developer".into(), true.into());
            }
            m.insert("subscribed_to_emails".into(), true.into());
            m.insert("tags".into(), json!([]));
            if tibco {
                m.insert("deactivated_at".into(), Value::Null);
            }
            m.insert("complete_json".into(), true.into());
        }
        Value::Object(m)
    }

    /// `GpdbDataSourcePresenter`, succinct; the seed page adds `public`.
    fn data_source(&self) -> Value {
        let mut v = json!({
            "id": 1_000_002,
            "name": "Owners",
            "entity_type": "gpdb_data_source",
            "is_deleted": null,
            "shared": false,
            "owner_id": OWNER_ID,
            "version": "9.1.2 - FactoryVersion",
            "is_hawq": null,
            "state": "online",
            "public": false,
        });
        if self.cfg.wire == ChorusWire::RailsPresenters
            && let Some(m) = v.as_object_mut()
        {
            m.remove("public");
        }
        v
    }

    fn database(&self) -> Value {
        json!({
            "id": 1_000_001,
            "name": "default",
            "data_source": self.data_source(),
            "entity_type": "gpdb_database",
            "complete_json": true,
        })
    }

    /// `WorkspacePresenter` in the seed page's key set, or in hey-jude/chorus
    /// `components/api/app/presenters/api/workspace_presenter.rb`'s
    /// ([`ChorusWire::RailsPresenters`]: no `archived`, `workspace_stage`,
    /// `workspace_stage_id`); `succinct` for list items.
    fn render_workspace(&self, w: &Workspace, succinct: bool) -> Value {
        let tibco = self.cfg.wire == ChorusWire::TibcoPage;
        let epoch = whole_secs(self.clock.epoch());
        let count = self
            .workfiles
            .values()
            .filter(|f| f.workspace_id == w.id)
            .count();
        let permission: Vec<&str> = if w.member {
            vec![
                "read",
                "commenting",
                "update",
                "duplicate_chorus_view",
                "create_workflow",
            ]
        } else if w.public {
            vec!["read", "commenting"]
        } else {
            vec![]
        };
        let mut m = Map::new();
        m.insert("id".into(), w.id.into());
        m.insert("name".into(), w.name.clone().into());
        m.insert("is_deleted".into(), Value::Null);
        m.insert("entity_type".into(), "workspace".into());
        if tibco {
            m.insert("archived".into(), false.into());
        }
        m.insert("public".into(), w.public.into());
        m.insert("archived_at".into(), Value::Null);
        m.insert("summary".into(), w.summary.into());
        m.insert("permission".into(), json!(permission));
        m.insert("datasets_count".into(), 11.into());
        m.insert("members_count".into(), 2.into());
        m.insert("workfiles_count".into(), count.into());
        m.insert("insights_count".into(), 1.into());
        m.insert("recent_insights_count".into(), 1.into());
        m.insert("recent_comments_count".into(), 9.into());
        m.insert("has_recent_comments".into(), true.into());
        m.insert("has_milestones".into(), true.into());
        if tibco {
            m.insert(
            "workspace_stage".into(),
            json!({
                "default": true,
                "id": 1_000_000,
                "name": "Define",
                "position": 0,
                "description_long": "Define the essential components of the project.",
                "description_short": "Define the two essential components of a machine learning project. What business problem are we solving? How should the solution change the way our business operates? Locate or acquire all necessary data.",
                "complete_json": true,
            }),
        );
            m.insert("workspace_stage_id".into(), 1_000_000.into());
        }
        if !succinct {
            m.insert("archiver".into(), Value::Null);
            m.insert(
                "image".into(),
                json!({"original": "", "icon": "", "entity_type": "image", "complete_json": true}),
            );
            m.insert("tags".into(), json!([]));
            m.insert("has_added_member".into(), false.into());
            m.insert("has_added_workfile".into(), true.into());
            m.insert("has_added_sandbox".into(), true.into());
            m.insert("has_changed_settings".into(), false.into());
            m.insert(
                "sandbox_info".into(),
                json!({
                    "id": 1_000_006,
                    "name": "default",
                    "dataset_count": 0,
                    "refreshed_at": format_secs(plus_secs(epoch, -12)),
                    "entity_type": "gpdb_schema",
                    "is_deleted": null,
                    "stale": false,
                    "database": self.database(),
                    "complete_json": true,
                }),
            );
            m.insert("show_sandbox_datasets".into(), true.into());
        }
        m.insert("owner".into(), self.render_user(w.owner, succinct));
        m.insert("is_member".into(), w.member.into());
        m.insert("is_project".into(), true.into());
        m.insert("project_status".into(), "on_track".into());
        m.insert("project_status_reason".into(), Value::Null);
        m.insert("milestone_count".into(), 3.into());
        m.insert("milestone_completed_count".into(), 0.into());
        m.insert(
            "project_target_date".into(),
            format!(
                "{}T00:00:00Z",
                plus_secs(epoch, 25 * DAY).format("%Y-%m-%d")
            )
            .into(),
        );
        if !succinct {
            m.insert("complete_json".into(), true.into());
        }
        Value::Object(m)
    }

    /// A workfile as `view` shows it (the seed page's object for workflows).
    pub(crate) fn render(&self, wf: &Workfile, view: View) -> Value {
        let workspace = self
            .workspaces
            .get(&wf.workspace_id)
            .map_or(Value::Null, |w| {
                self.render_workspace(w, view == View::List)
            });
        let flow = wf.is_workflow();
        let mut m = Map::new();
        m.insert("id".into(), wf.id.into());
        m.insert("workspace".into(), workspace);
        m.insert("file_name".into(), wf.file_name.clone().into());
        m.insert("file_type".into(), wf.file_type.clone().into());
        m.insert("latest_version_id".into(), json!(wf.version_id));
        m.insert("is_deleted".into(), Value::Null);
        m.insert("recent_comments".into(), json!([]));
        m.insert("comment_count".into(), 0.into());
        m.insert("tags".into(), json!([]));
        m.insert("entity_type".into(), "workfile".into());
        m.insert(
            "entity_subtype".into(),
            if flow { "alpine".into() } else { Value::Null },
        );
        m.insert(
            "user_modified_at".into(),
            format_secs(wf.user_modified_at).into(),
        );
        m.insert("status".into(), wf.status.clone().into());
        if self.cfg.wire == ChorusWire::TibcoPage {
            // Not in hey-jude/chorus's WorkfilePresenter; on the seed page.
            m.insert("description".into(), json!(wf.description));
            m.insert("link_url".into(), Value::Null);
        }
        m.insert("owner".into(), self.render_user(wf.owner, true));
        m.insert("associated_worklets".into(), json!([]));
        if flow {
            if view != View::Action {
                m.insert(
                    "version_info".into(),
                    json!({
                        "created_at": format_secs(wf.created_at),
                        "updated_at": format_secs(wf.updated_at),
                    }),
                );
            }
            if view != View::List {
                m.insert("execution_locations".into(), json!([self.database()]));
                m.insert("dataset_ids".into(), json!([]));
            }
            m.insert("complete_json".into(), true.into());
        } else {
            // ChorusWorkfilePresenter / WorkfileVersionPresenter.
            if view != View::List {
                m.insert("has_draft".into(), false.into());
            }
            if view != View::Action {
                m.insert("execution_schema".into(), Value::Null);
                let vid = wf.version_id.unwrap_or_default();
                m.insert(
                    "version_info".into(),
                    json!({
                        "id": vid,
                        "version_num": 1,
                        "commit_message": null,
                        "owner": self.render_user(wf.owner, true),
                        "modifier": self.render_user(wf.owner, true),
                        "created_at": format_secs(wf.created_at),
                        "updated_at": format_secs(wf.updated_at),
                        "content_url": format!("/workfile_versions/{vid}/contents?{}", wf.created_at.timestamp()),
                        "partial_file": false,
                        "icon_url": null,
                        "content": if view == View::Show { Value::from(format!("-- {}\n", wf.file_name)) } else { Value::Null },
                    }),
                );
            }
            if view == View::Show {
                m.insert("complete_json".into(), true.into());
            }
        }
        Value::Object(m)
    }

    /// The body of a successful login or `GET /sessions`.
    pub(crate) fn render_session(&self, session_id: &str) -> Value {
        let user = self
            .sessions
            .get(session_id)
            .map_or(CURRENT_USER_ID, |s| s.user);
        json!({
            "response": {
                "session_id": session_id,
                "user": self.render_user(user, false),
                "complete_json": true,
            }
        })
    }

    // ----- sessions -----------------------------------------------------

    /// `n` lowercase hex digits.
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n + 16);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.secrets.next_u64()));
        }
        s.truncate(n);
        s
    }

    /// `n` characters of the base64 alphabet.
    fn base64ish(&mut self, n: usize) -> String {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n)
            .map(|_| char::from(B64[self.secrets.below(64) as usize]))
            .collect()
    }

    /// Creates a Chorus session for the signed-in user; returns its id (40
    /// lowercase hex, like `SecureRandom.hex(20)`).
    pub(crate) fn create_session(&mut self) -> String {
        let mut id = self.hex(40);
        while self.sessions.contains_key(&id) {
            id = self.hex(40);
        }
        let expires = Instant::now() + self.cfg.session_timeout;
        self.issued.push(id.clone());
        self.sessions.insert(
            id.clone(),
            Session {
                user: CURRENT_USER_ID,
                expires,
            },
        );
        id
    }

    /// Whether `id` is a live session.
    pub(crate) fn session_live(&self, id: &str) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|s| Instant::now() < s.expires)
    }

    /// Slides the expiry of session `id`.
    pub(crate) fn touch(&mut self, id: &str) {
        let timeout = self.cfg.session_timeout;
        if let Some(s) = self.sessions.get_mut(id) {
            s.expires = Instant::now() + timeout;
        }
    }

    pub(crate) fn destroy_session(&mut self, id: &str) {
        self.sessions.remove(id);
    }

    /// Forgets every session.
    pub(crate) fn expire_sessions(&mut self) {
        self.sessions.clear();
        for r in self.rails.values_mut() {
            r.chorus = None;
        }
    }

    /// A new Rails cookie session carrying `chorus`.
    pub(crate) fn new_rails(&mut self, chorus: Option<String>) -> u64 {
        let key = self.next_rails;
        self.next_rails += 1;
        let csrf = format!("{}=", self.base64ish(43));
        self.rails.insert(key, RailsSession { chorus, csrf });
        key
    }

    /// The Rails session a cookie value belongs to.
    pub(crate) fn rails_for_cookie(&self, cookie: &str) -> Option<u64> {
        self.cookies.get(cookie).copied()
    }

    pub(crate) fn rails_chorus(&self, key: u64) -> Option<&str> {
        self.rails.get(&key).and_then(|r| r.chorus.as_deref())
    }

    pub(crate) fn set_rails_chorus(&mut self, key: u64, chorus: Option<String>) {
        if let Some(r) = self.rails.get_mut(&key) {
            r.chorus = chorus;
        }
    }

    pub(crate) fn rails_csrf(&self, key: u64) -> Option<&str> {
        self.rails.get(&key).map(|r| r.csrf.as_str())
    }

    /// `session.clear` then `form_authenticity_token`: the Rails session
    /// forgets its Chorus session and gets a new CSRF token, returned.
    pub(crate) fn reset_rails(&mut self, key: u64) -> String {
        let csrf = format!("{}=", self.base64ish(43));
        self.rails.insert(
            key,
            RailsSession {
                chorus: None,
                csrf: csrf.clone(),
            },
        );
        csrf
    }

    /// The CSRF token of the (first) Rails session carrying `session_id`.
    pub(crate) fn csrf_for_session(&self, session_id: &str) -> Option<String> {
        let mut keys: Vec<(&u64, &RailsSession)> = self
            .rails
            .iter()
            .filter(|(_, r)| r.chorus.as_deref() == Some(session_id))
            .collect();
        keys.sort_by_key(|(k, _)| **k);
        keys.first().map(|(_, r)| r.csrf.clone())
    }

    /// A new cookie value for Rails session `key` (a signed-looking blob:
    /// base64 data `--` 40 hex digits); every earlier value stays valid.
    pub(crate) fn issue_cookie(&mut self, key: u64) -> String {
        let value = format!("{}%3D%3D--{}", self.base64ish(300), self.hex(40));
        self.cookies.insert(value.clone(), key);
        value
    }
}

fn sort_by_name(v: &mut [&Workfile]) {
    // `order("lower(workfiles.file_name), workfiles.id")`
    v.sort_by(|a, b| {
        a.file_name
            .to_lowercase()
            .cmp(&b.file_name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
}

/// A SQL `LIKE` pattern: `%` any run of characters, `_` one character, `\`
/// escapes the next one (PostgreSQL's default escape).
#[derive(Debug, Clone)]
pub(crate) struct Like {
    toks: Vec<Tok>,
    fold: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Any,
    One,
    Lit(char),
}

impl Like {
    /// `pattern`, compared ignoring case when `fold` (`ILIKE`).
    pub(crate) fn new(pattern: &str, fold: bool) -> Self {
        let pattern = if fold {
            pattern.to_lowercase()
        } else {
            pattern.to_owned()
        };
        let mut toks = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '%' => Tok::Any,
                '_' => Tok::One,
                '\\' => match chars.next() {
                    Some(e) => Tok::Lit(e),
                    None => Tok::Lit('\\'),
                },
                c => Tok::Lit(c),
            });
        }
        Like { toks, fold }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = if self.fold {
            text.to_lowercase().chars().collect()
        } else {
            text.chars().collect()
        };
        let n = text.len();
        // reach[i]: the tokens so far can match text[..i].
        let mut reach = vec![false; n + 1];
        reach[0] = true;
        for tok in &self.toks {
            let mut next = vec![false; n + 1];
            match tok {
                Tok::Any => {
                    let mut any = false;
                    for i in 0..=n {
                        any |= reach[i];
                        next[i] = any;
                    }
                }
                Tok::One => {
                    for i in 0..n {
                        next[i + 1] |= reach[i];
                    }
                }
                Tok::Lit(c) => {
                    for i in 0..n {
                        next[i + 1] |= reach[i] && text[i] == *c;
                    }
                }
            }
            reach = next;
        }
        reach[n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let m = |p: &str, fold: bool, t: &str| Like::new(&format!("%{p}%"), fold).matches(t);
        assert!(m("flow", true, "alpine_flow"));
        assert!(m("FLOW", true, "alpine_flow"));
        assert!(!m("FLOW", false, "alpine_flow"));
        assert!(m("", false, "anything"));
        assert!(m("", false, ""));
        // `_` is one character; `\_` a literal underscore.
        assert!(m("e_f", false, "alpine_flow"));
        assert!(m("e_f", false, "lineXflow"));
        assert!(m("e\\_f", false, "alpine_flow"));
        assert!(!m("e\\_f", false, "lineXflow"));
        // `%` inside the pattern.
        assert!(m("al%ow", false, "alpine_flow"));
        assert!(!m("ow%al", false, "alpine_flow"));
        // A trailing backslash escapes the closing `%`.
        assert!(m("a\\", false, "xa%"));
        assert!(!m("a\\", false, "xab"));
        assert!(Like::new("\\", false).matches("\\"));
        assert!(m("É", true, "café_é"));
    }

    #[test]
    fn seconds_format() {
        let t = crate::default_epoch() + chrono::Duration::milliseconds(1_764);
        assert_eq!(format_secs(whole_secs(t)), "2024-06-19T04:00:01Z");
    }
}
