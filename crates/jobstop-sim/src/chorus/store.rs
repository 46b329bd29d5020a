//! The Chorus simulator's state: users, workspaces, workfiles, sessions and
//! counters; and how they look on the wire.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ChorusOptions, ChorusWire, WorkfileSeed};
use crate::data::{self, fill, items};
use crate::store::Runs;
use crate::{SimClock, SplitMix64, Timeline};

/// `file_type` of Alpine workflows.
pub(crate) const WORK_FLOW: &str = "work_flow";
/// `AlpineWorkfile::IDLE`.
pub(crate) const IDLE: &str = "idle";
/// `AlpineWorkfile::RUNNING`.
pub(crate) const RUNNING: &str = "running";

/// The signed-in user's id (the session example's `user.id`).
const CURRENT_USER_ID: u64 = 1_000_002;
/// The seed page's `owner`.
const OWNER_ID: u64 = 1_000_006;
/// Another user, owner of foreign workspaces.
const ANALYST_ID: u64 = 1_000_009;
const FIRST_WORKFILE_ID: u64 = 1_000_000;

const HOUR: i64 = 60 * 60;
const DAY: i64 = 24 * HOUR;

/// Whole-second UTC, e.g. `2019-04-03T22:09:35Z` (Chorus encodes times with
/// `time_precision = 0`).
fn format_secs(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn whole_secs(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn plus_secs(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    t.checked_add_signed(chrono::Duration::seconds(secs))
        .unwrap_or(t)
}

/// `v` without the keys `drop` (how one presenter's object serves every
/// view and reading).
fn without(mut v: Value, drop: &[&str]) -> Value {
    if let Some(m) = v.as_object_mut() {
        drop.iter().for_each(|k| _ = m.remove(*k));
    }
    v
}

/// The fixed JSON of `data/chorus/presenters.json` (its `_source` names it).
static DATA: LazyLock<Value> =
    LazyLock::new(|| data::parse(include_str!("../../data/chorus/presenters.json")));

/// The vendor error body (also for an injected fault): `{"errors":{"record":
/// "NOT_FOUND"}}` for 404, else the generic
/// `{"errors":{"fields":{"general":{"GENERIC":{"message":…}}}}}`.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    if status == 404 {
        json!({"errors": {"record": "NOT_FOUND"}})
    } else {
        json!({"errors": {"fields": {"general": {"GENERIC": {"message": message}}}}})
    }
}

/// What an endpoint answers, before the common headers.
pub(crate) enum Answer {
    Json(u16, Value),
    /// `head :status`: no body.
    Head(u16),
    /// A Rails error page.
    Html(u16, &'static str),
}

const RAILS_500: &str = "<!DOCTYPE html>\n<html>\n<head>\n  <title>We're sorry, but something went wrong (500)</title>\n</head>\n<body>\n  <div class=\"dialog\">\n    <h1>We're sorry, but something went wrong.</h1>\n  </div>\n</body>\n</html>\n";

/// A workspace. The signed-in user is a member of the public ones (the
/// default is the seed page's "Public") and of no private one (a private
/// workspace the user could read would be public).
#[derive(Debug, Clone)]
struct Workspace {
    id: u64,
    name: String,
    member: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Workfile {
    pub(crate) id: u64,
    workspace_id: u64,
    file_name: String,
    file_type: String,
    pub(crate) status: String,
    owner: u64,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    user_modified_at: DateTime<Utc>,
    /// The latest version of a non-workflow file.
    version_id: Option<u64>,
    /// The engine is unreachable for this workfile: stops 500, runs 422.
    pub(crate) engine_unavailable: bool,
    /// The engine answers stops of this workfile, but never with 200.
    pub(crate) engine_refuses: bool,
    /// The pending finish: `running` → `idle` (the engine's callback
    /// `PUT /workfiles/:id`).
    timeline: Timeline<()>,
}

impl Workfile {
    fn is_workflow(&self) -> bool {
        self.file_type == WORK_FLOW
    }
}

timed!(Workfile => ());

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

/// The Rails cookie session: which Chorus session it carries and its CSRF
/// token.
#[derive(Debug, Clone, Default)]
pub(crate) struct RailsSession {
    pub(crate) chorus: Option<String>,
    pub(crate) csrf: String,
}

#[derive(Debug)]
pub(crate) struct Store {
    /// The builder's settings (the workfiles to seed are taken out).
    pub(crate) cfg: ChorusOptions,
    clock: SimClock,
    workspaces: BTreeMap<u64, Workspace>,
    /// The workfiles, their timelines and the stop counters.
    pub(crate) workfiles: Runs<u64, Workfile>,
    /// (workspace, lowercased name) → how many workfiles have it.
    names: HashMap<(u64, String), usize>,
    /// (workspace, lowercased base name) → the first `_n` suffix that may
    /// be free, for [`Store::unique_name`].
    hints: HashMap<(u64, String), u64>,
    next_workfile: u64,
    next_version: u64,
    /// Seeded generation of ids, names and times.
    ids: SplitMix64,
    /// Session ids, cookies, CSRF tokens (a separate stream, so traffic never
    /// shifts the seeded data).
    secrets: SplitMix64,
    /// Chorus session id → when it expires (the `sessions` table).
    pub(crate) sessions: HashMap<String, Instant>,
    /// The Rails cookie sessions, by key.
    pub(crate) rails: Vec<RailsSession>,
    /// Every cookie value ever issued → its Rails session.
    pub(crate) cookies: HashMap<String, usize>,
    pub(crate) logins: u64,
    pub(crate) login_attempts: u64,
    /// Every session id ever issued, in order (for leak checks in tests).
    pub(crate) issued: Vec<String>,
    /// The next this many stops are answered by the engine with something
    /// other than HTTP 200.
    pub(crate) fail_stops: u64,
    /// `OpenWorkfileEvent`s written, per workfile (see
    /// `ChorusSim::open_workfile_events`).
    pub(crate) open_events: HashMap<u64, u64>,
}

impl Store {
    /// The store `cfg` describes: its workspaces and workfiles generated
    /// from `seed`.
    pub(crate) fn new(mut cfg: ChorusOptions, clock: SimClock, seed: u64) -> Self {
        let seeds = std::mem::take(&mut cfg.seeds);
        let mut store = Store {
            cfg,
            clock,
            workspaces: BTreeMap::new(),
            workfiles: Runs::default(),
            names: HashMap::new(),
            hints: HashMap::new(),
            next_workfile: FIRST_WORKFILE_ID,
            next_version: FIRST_WORKFILE_ID,
            ids: SplitMix64::stream(seed, 11),
            secrets: SplitMix64::stream(seed, 12),
            sessions: HashMap::new(),
            rails: Vec::new(),
            cookies: HashMap::new(),
            logins: 0,
            login_attempts: 0,
            issued: Vec::new(),
            fail_stops: 0,
            open_events: HashMap::new(),
        };
        let ws = store.cfg.workspace_id;
        let (running, idle, other) = (store.cfg.running, store.cfg.idle, store.cfg.other_files);
        store.add_workspace(ws, "Public".into(), true);
        store.seed_workfiles(ws, running, idle, other);
        for id in store.cfg.empty_workspaces.clone() {
            store.add_workspace(id, format!("Empty Workspace {id}"), true);
        }
        for (id, n) in store.cfg.foreign_workspaces.clone() {
            store.add_workspace(id, format!("Private Workspace {id}"), false);
            store.seed_workfiles(id, n / 3, n - n / 3, 0);
        }
        for seed in seeds {
            store.insert(seed);
        }
        store
    }

    // ----- workspaces and workfiles -------------------------------------

    /// Adds (or replaces) a workspace.
    fn add_workspace(&mut self, id: u64, name: String, member: bool) {
        self.workspaces.insert(id, Workspace { id, name, member });
    }

    /// A fresh workfile id (gaps of 1 to 3, from the seed).
    fn next_id(&mut self) -> u64 {
        let id = self.next_workfile;
        self.next_workfile += self.ids.range(1, 3);
        while self.workfiles.contains(&self.next_workfile) {
            self.next_workfile += 1;
        }
        id
    }

    /// `base` made unique in workspace `ws` (`name_2`, `report_2.sql`).
    fn unique_name(&mut self, ws: u64, base: &str) -> String {
        let taken = |name: &str| self.names.contains_key(&(ws, name.to_ascii_lowercase()));
        if !taken(base) {
            return base.to_owned();
        }
        let (stem, ext) = match base.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
            _ => (base, String::new()),
        };
        // Every suffix below the hint is taken (names are only ever added
        // while hints are kept; see `put_workfile`).
        let key = (ws, base.to_ascii_lowercase());
        let first = self.hints.get(&key).copied().unwrap_or(2);
        let (n, name) = (first..)
            .map(|n| (n, format!("{stem}_{n}{ext}")))
            .find(|(_, name)| !taken(name))
            .unwrap_or((first, base.to_owned()));
        self.hints.insert(key, n);
        name
    }

    /// Inserts (or replaces) a workfile, keeping the name index.
    fn put_workfile(&mut self, wf: Workfile) {
        let key = (wf.workspace_id, wf.file_name.to_ascii_lowercase());
        *self.names.entry(key).or_default() += 1;
        if let Some(old) = self.workfiles.remove(&wf.id) {
            let key = (old.workspace_id, old.file_name.to_ascii_lowercase());
            if let Some(n) = self.names.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    self.names.remove(&key);
                    // A freed name may be below a hint.
                    self.hints.clear();
                }
            }
        }
        self.workfiles.insert(wf.id, wf);
    }

    /// A new timeline for status `status`: the finish `finish_after` asks
    /// for if it is `running`, else empty.
    fn finish_timeline(&self, status: &str) -> Timeline<()> {
        let mut timeline = Timeline::new();
        if let (RUNNING, Some(d)) = (status, self.cfg.finish_after) {
            timeline.push_after(Instant::now(), d, ());
        }
        timeline
    }

    /// Adds `running` and `idle` workflows and `other` non-workflow files to
    /// workspace `ws`, deterministically from the seed.
    fn seed_workfiles(&mut self, ws: u64, running: usize, idle: usize, other: usize) {
        let flows = [RUNNING]
            .repeat(running)
            .into_iter()
            .chain([IDLE].repeat(idle));
        for status in flows {
            self.insert(WorkfileSeed::new(status).with_workspace(ws));
        }
        for _ in 0..other {
            let kind = self.ids.pick(items(&DATA["other_files"])).map(|o| &o[0]);
            let seed = WorkfileSeed::new(IDLE).with_workspace(ws);
            self.insert(seed.with_file_type(kind.and_then(Value::as_str).unwrap_or("text")));
        }
    }

    /// Adds a workfile from a seed, its unset parts generated; returns its
    /// id. An unknown workspace id creates a member workspace of that id.
    pub(crate) fn insert(&mut self, seed: WorkfileSeed) -> u64 {
        let ws = seed.workspace_id.unwrap_or(self.cfg.workspace_id);
        if !self.workspaces.contains_key(&ws) {
            self.add_workspace(ws, format!("Workspace {ws}"), true);
        }
        let file_type = seed.file_type.unwrap_or_else(|| WORK_FLOW.to_owned());
        let file_name = seed.file_name.unwrap_or_else(|| {
            let other = items(&DATA["other_files"])
                .iter()
                .find(|o| o[0] == file_type.as_str());
            let names = match other {
                _ if file_type == WORK_FLOW => &DATA["flow_names"],
                Some(o) => &o[1],
                None => &json!(["file.txt"]),
            };
            let base = self.ids.pick(items(names)).and_then(Value::as_str);
            self.unique_name(ws, base.unwrap_or("file.txt"))
        });
        let epoch = whole_secs(self.clock.epoch());
        let created = plus_secs(
            epoch,
            -(self.ids.range(2 * DAY as u64, 120 * DAY as u64) as i64),
        );
        let span = (epoch - created).num_seconds().max(1) as u64;
        let modified = plus_secs(created, self.ids.below(span) as i64);
        let mut updated = plus_secs(modified, self.ids.range(1, 59) as i64).min(epoch);
        let owner = match self.ids.below(10) {
            0..=5 => OWNER_ID,
            6..=8 => CURRENT_USER_ID,
            _ => ANALYST_ID,
        };
        let description = self.ids.chance(30).then(|| {
            let team = ["sales", "risk", "growth"][self.ids.below(3) as usize];
            format!("{file_name} for the {team} team")
        });
        let version_id = (file_type != WORK_FLOW).then(|| {
            self.next_version += 1;
            self.next_version - 1
        });
        if seed.status == RUNNING {
            // Started running a little before the epoch.
            let run_at = plus_secs(epoch, -(self.ids.range(60, 2 * HOUR as u64) as i64));
            updated = run_at.max(updated);
        }
        let id = match seed.id {
            // Keep the counter ahead of `id`.
            Some(id) => {
                self.next_workfile = self.next_workfile.max(id.saturating_add(1));
                id
            }
            None => self.next_id(),
        };
        let modified = seed.user_modified_at.map_or(modified, whole_secs);
        self.put_workfile(Workfile {
            id,
            workspace_id: ws,
            file_name,
            file_type,
            owner,
            description: seed.description.or(description),
            created_at: seed.created_at.map_or(created, whole_secs).min(modified),
            updated_at: updated.max(modified),
            user_modified_at: modified,
            version_id,
            engine_unavailable: seed.engine_unavailable,
            engine_refuses: false,
            timeline: self.finish_timeline(&seed.status),
            status: seed.status,
        });
        id
    }

    /// Applies every change that is due by now, in due order.
    fn settle(&mut self) {
        let clock = self.clock;
        self.workfiles.settle(Instant::now(), |_, wf, at, ()| {
            if wf.status == RUNNING {
                wf.status = IDLE.to_owned();
                wf.updated_at = whole_secs(clock.at(at));
            }
        });
    }

    pub(crate) fn get(&mut self, id: u64) -> Option<&Workfile> {
        self.settle();
        self.workfiles.get(&id)
    }

    /// Changes workfile `id` with `f`; `false` if there is none.
    pub(crate) fn update(&mut self, id: u64, f: impl FnOnce(&mut Workfile)) -> bool {
        self.workfiles.get_mut(&id).map(f).is_some()
    }

    /// The ids of workspace `ws`'s workfiles (only workflows if `flows`, only
    /// those in `status` if set), in default listing order.
    pub(crate) fn ids_in(&mut self, ws: u64, flows: bool, status: Option<&str>) -> Vec<String> {
        self.settle();
        let keep =
            |w: &Workfile| (!flows || w.is_workflow()) && status.is_none_or(|s| w.status == s);
        let files = self
            .workfiles
            .values()
            .filter(|w| w.workspace_id == ws && keep(w));
        let mut v: Vec<&Workfile> = files.collect();
        sort_by_name(&mut v);
        v.iter().map(|w| w.id.to_string()).collect()
    }

    /// Sets the raw status of `id` and drops its pending changes.
    pub(crate) fn set_status(&mut self, id: u64, raw: &str) -> bool {
        self.settle();
        let now = whole_secs(self.clock.now());
        self.update(id, |wf| {
            wf.status = raw.to_owned();
            wf.updated_at = now.max(wf.updated_at);
            wf.timeline.clear();
        })
    }

    /// What `found` (in workspace `ws`) is if the user may see it; else the
    /// answer: 404, or for a private workspace 403 `{"errors":{"model_data":{}}}`
    /// (hey-jude/chorus
    /// `components/api/app/controllers/api_controller.rb#present_forbidden`,
    /// `components/api/app/presenters/api_presenter.rb#forbidden_hash`; the
    /// fixture `components/frontend/spec/backbone_fixtures/forbiddenDataSource.json`).
    fn visible<T>(&self, found: Option<(u64, T)>) -> Result<T, Answer> {
        let ws = found.as_ref().and_then(|(ws, _)| self.workspaces.get(ws));
        match (ws, found) {
            (Some(w), Some((_, t))) if w.member => Ok(t),
            (Some(_), _) => Err(Answer::Json(403, json!({"errors": {"model_data": {}}}))),
            _ => Err(Answer::Json(404, error_body(404, ""))),
        }
    }

    /// The workfile `id` names, if the user may see it: else the answer.
    fn find(&self, id: Option<u64>) -> Result<&Workfile, Answer> {
        let wf = id.and_then(|id| self.workfiles.get(&id));
        self.visible(wf.map(|w| (w.workspace_id, w)))
    }

    /// `GET /workfiles/:id`.
    pub(crate) fn show(&mut self, id: Option<u64>) -> Result<Value, Answer> {
        self.settle();
        let id = self.find(id)?.id;
        // Authorized: `log_workfile_opened_event` runs before `present`.
        *self.open_events.entry(id).or_default() += 1;
        Ok(self.present(id, View::Show))
    }

    /// `POST /workfiles/:id/run`.
    pub(crate) fn run(&mut self, id: Option<u64>) -> Result<Value, Answer> {
        self.settle();
        let wf = self.find(id)?;
        let (id, flow, down) = (wf.id, wf.is_workflow(), wf.engine_unavailable);
        // Other files: `Workfile#run_now` does nothing; 202 unchanged.
        if flow && (self.cfg.engine_unavailable || down) {
            return Err(Answer::Json(
                422,
                json!({"errors": {"record": "RUN_FAILED"}}),
            ));
        } else if flow {
            let (wall, timeline) = (whole_secs(self.clock.now()), self.finish_timeline(RUNNING));
            self.update(id, |wf| {
                wf.status = RUNNING.to_owned();
                wf.updated_at = wall;
                wf.timeline = timeline;
            });
            self.workfiles.touch(&id);
        }
        Ok(self.present(id, View::Action))
    }

    /// `POST /workfiles/:id/stop`; `raw_id` is the path segment as
    /// received (decoded), for the counters.
    pub(crate) fn stop(&mut self, raw_id: &str, id: Option<u64>) -> Result<Value, Answer> {
        self.settle();
        self.workfiles.count_stop(raw_id);
        let wf = self.find(id)?;
        let (id, refuses) = (wf.id, wf.engine_refuses);
        // A file that is not a workflow has no `stop_now`; with the engine
        // unreachable or unlicensed `Alpine::API#request_stop` returns nil,
        // so `stop_now`'s `response.code` raises: a 500 page either way
        // (hey-jude/chorus `components/core/app/models/alpine_workfile.rb#stop_now`).
        if !wf.is_workflow() || self.cfg.engine_unavailable || wf.engine_unavailable {
            return Err(Answer::Html(500, RAILS_500));
        }
        // The engine is asked whatever the status; only its HTTP 200 makes
        // the workfile idle (`update_attribute(:status, IDLE) if
        // response.code == '200'`), and the controller answers 202 either way.
        let answered = self.fail_stops == 0 && !refuses;
        self.fail_stops = self.fail_stops.saturating_sub(1);
        let wall = whole_secs(self.clock.now());
        if answered {
            self.update(id, |wf| {
                if wf.status != IDLE {
                    wf.status = IDLE.to_owned();
                    wf.updated_at = wall;
                }
                wf.timeline.clear();
            });
        }
        Ok(self.present(id, View::Action))
    }

    /// `{"response": workfile}`, the workfile `id` as `view` shows it.
    fn present(&self, id: u64, view: View) -> Value {
        let wf = self.workfiles.get(&id);
        json!({"response": wf.map(|wf| self.render(wf, view))})
    }

    /// `GET /workspaces/:workspace_id/workfiles` of workspace `ws`, its
    /// parameters read by `param`.
    pub(crate) fn list(
        &mut self,
        ws: Option<u64>,
        param: impl Fn(&str) -> Option<String>,
    ) -> Result<Value, Answer> {
        self.settle();
        let ws = self.visible(ws.map(|ws| (ws, ws)))?;
        // A page or size parameter: a non-negative integer, at least `min`
        // (`collection_defaults`: page 1, 50 per page).
        let count = |name: &str, default: u64, min: u64| match param(name) {
            Some(s) if !s.trim().is_empty() => s.trim().parse().ok().filter(|n| *n >= min),
            _ => Some(default),
        };
        let (Some(page), Some(per_page)) = (count("page", 1, 1), count("per_page", 50, 0)) else {
            let what = "invalid page or per_page: a page is 1 or more, a size 0 or more";
            return Err(Answer::Json(422, error_body(422, what)));
        };
        let fold = !self.cfg.case_sensitive_name_pattern;
        let pattern = param("name_pattern").map(|p| format!("%{p}%"));
        let file_type = param("file_type").filter(|t| !t.trim().is_empty());
        let file_type = file_type.map(|t| t.to_lowercase());
        let mut matching: Vec<&Workfile> = self
            .workfiles
            .values()
            .filter(|w| w.workspace_id == ws)
            .filter(|w| file_type.as_ref().is_none_or(|t| w.file_type == *t))
            .filter(|w| pattern.as_ref().is_none_or(|p| like(p, &w.file_name, fold)))
            .collect();
        if param("order").is_none_or(|o| o.trim().is_empty() || o == "file_name") {
            sort_by_name(&mut matching);
        } else {
            matching.sort_by_key(|w| (std::cmp::Reverse(w.user_modified_at), w.id));
        }
        let records = matching.len() as u64;
        let start = page.saturating_sub(1).saturating_mul(per_page);
        let items = matching
            .iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX));
        let items = items.take(usize::try_from(per_page).unwrap_or(usize::MAX));
        let items: Vec<Value> = items.map(|w| self.render(w, View::List)).collect();
        // will_paginate: one page for an empty list; `null` for `per_page=0`.
        let total = (per_page > 0).then(|| records.div_ceil(per_page).max(1));
        Ok(json!({
            "response": items,
            "pagination": {"page": page, "per_page": per_page, "records": records, "total": total},
        }))
    }

    // ----- rendering ----------------------------------------------------

    /// `UserPresenter`, succinct (workfile owners) or full (session user,
    /// workspace owners): in the seed page's key set, or in
    /// hey-jude/chorus `components/api/app/presenters/api/user_presenter.rb`'s
    /// ([`ChorusWire::RailsPresenters`]: `user_type` always; `developer`, no
    /// `roles`, `deactivated_at` or license fields).
    fn render_user(&self, id: u64, succinct: bool) -> Value {
        let Some(u) = items(&DATA["users"]).iter().find(|u| u["id"] == id) else {
            return Value::Null;
        };
        let stamp = self.clock.epoch().timestamp() - 75 * DAY;
        let (a, b, c) = (id / 1_000_000, id / 1000 % 1000, id % 1000);
        let dir = format!("{a:03}/{b:03}/{c:03}");
        let image = |size| format!("/paperclip/users/images/{dir}/{size}/User.png?{stamp}");
        let mut user = fill(&DATA["user"], u.clone());
        user["image"] = json!({
            "original": image("original"),
            "icon": image("icon"),
            "entity_type": "image",
            "complete_json": true,
        });
        if id == CURRENT_USER_ID {
            let name = &self.cfg.username;
            user["username"] = name.as_str().into();
            user["email"] = format!("{name}@example.com").into();
        }
        self.omit(user, "user", &[succinct.then_some("succinct")])
    }

    /// `GpdbDatabasePresenter` with its `GpdbDataSourcePresenter`, succinct;
    /// the seed page adds the data source's `public`.
    fn database(&self) -> Value {
        let mut db = DATA["database"].clone();
        if self.cfg.wire == ChorusWire::RailsPresenters {
            db["data_source"] = without(db["data_source"].take(), &["public"]);
        }
        db
    }

    /// `WorkspacePresenter` in the seed page's key set, or in hey-jude/chorus
    /// `components/api/app/presenters/api/workspace_presenter.rb`'s
    /// ([`ChorusWire::RailsPresenters`]: no `archived`, `workspace_stage`,
    /// `workspace_stage_id`); `succinct` for list items.
    fn render_workspace(&self, w: &Workspace, succinct: bool) -> Value {
        let epoch = whole_secs(self.clock.epoch());
        let files = self.workfiles.values();
        let count = files.filter(|f| f.workspace_id == w.id).count();
        let sandbox = fill(
            &DATA["workspace"]["sandbox_info"],
            json!({
                "refreshed_at": format_secs(plus_secs(epoch, -12)),
                "database": self.database(),
            }),
        );
        let target = plus_secs(epoch, 25 * DAY).format("%Y-%m-%d");
        let workspace = fill(
            &DATA["workspace"],
            json!({
                "id": w.id,
                "name": w.name,
                "public": w.member,
                "summary": if w.member { "searchquery" } else { "Restricted to the finance team." },
                "permission": if w.member { DATA["member_permission"].clone() } else { json!([]) },
                "workfiles_count": count,
                "sandbox_info": sandbox,
                "owner": self.render_user(if w.member { OWNER_ID } else { ANALYST_ID }, succinct),
                "is_member": w.member,
                "project_target_date": format!("{target}T00:00:00Z"),
            }),
        );
        self.omit(workspace, "workspace", &[succinct.then_some("succinct")])
    }

    /// A workfile as `view` shows it (the seed page's object for
    /// workflows; `ChorusWorkfilePresenter` / `WorkfileVersionPresenter`
    /// for other files).
    pub(crate) fn render(&self, wf: &Workfile, view: View) -> Value {
        let workspace = self.workspaces.get(&wf.workspace_id);
        let workspace = workspace.map(|w| self.render_workspace(w, view == View::List));
        let flow = wf.is_workflow();
        let (created_at, updated_at) = (format_secs(wf.created_at), format_secs(wf.updated_at));
        let version_info = if flow {
            json!({"created_at": created_at, "updated_at": updated_at})
        } else {
            let vid = wf.version_id.unwrap_or_default();
            let stamp = wf.created_at.timestamp();
            let content = (view == View::Show).then(|| format!("-- {}\n", wf.file_name));
            fill(
                &DATA["version_info"],
                json!({
                    "id": vid,
                    "owner": self.render_user(wf.owner, true),
                    "modifier": self.render_user(wf.owner, true),
                    "created_at": created_at,
                    "updated_at": updated_at,
                    "content_url": format!("/workfile_versions/{vid}/contents?{stamp}"),
                    "content": content,
                }),
            )
        };
        let workfile = fill(
            &DATA["workfile"],
            json!({
                "id": wf.id,
                "workspace": workspace,
                "file_name": wf.file_name,
                "file_type": wf.file_type,
                "latest_version_id": wf.version_id,
                "entity_subtype": flow.then_some("alpine"),
                "user_modified_at": format_secs(wf.user_modified_at),
                "status": wf.status,
                "description": wf.description,
                "owner": self.render_user(wf.owner, true),
                "version_info": version_info,
                "execution_locations": [self.database()],
            }),
        );
        let kind = Some(if flow { "flow" } else { "file" });
        let view_name = format!("{view:?}");
        let file_not_show = (!flow && view != View::Show).then_some("file_not_show");
        self.omit(
            workfile,
            "workfile",
            &[kind, Some(&view_name), file_not_show],
        )
    }

    /// `v`, a `what` (`user`, `workspace`, `workfile`), without the keys it
    /// leaves out in this reading of the JSON and in `cases`
    /// (`presenters.json`'s `omit`).
    fn omit(&self, v: Value, what: &str, cases: &[Option<&str>]) -> Value {
        let omit = &DATA["omit"][what];
        let wire = format!("{:?}", self.cfg.wire);
        let cases = cases.iter().flatten().copied().chain([wire.as_str()]);
        let keys: Vec<&str> = cases
            .flat_map(|case| items(&omit[case]))
            .filter_map(Value::as_str)
            .collect();
        without(v, &keys)
    }

    /// The body of a successful login or `GET /sessions`.
    pub(crate) fn render_session(&self, session_id: &str) -> Value {
        let user = self.render_user(CURRENT_USER_ID, false);
        json!({"response": {"session_id": session_id, "user": user, "complete_json": true}})
    }

    // ----- sessions -----------------------------------------------------

    /// `n` characters from the first `alphabet` of `B64` (16: lowercase hex).
    fn draw(&mut self, n: usize, alphabet: usize) -> String {
        const B64: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
        let mut pick = || char::from(B64[self.secrets.below(alphabet as u64) as usize]);
        (0..n).map(|_| pick()).collect()
    }

    /// Creates a Chorus session for the signed-in user; returns its id (40
    /// lowercase hex, like `SecureRandom.hex(20)`).
    pub(crate) fn create_session(&mut self) -> String {
        let mut id = self.draw(40, 16);
        while self.sessions.contains_key(&id) {
            id = self.draw(40, 16);
        }
        self.issued.push(id.clone());
        self.sessions
            .insert(id.clone(), Instant::now() + self.cfg.session_timeout);
        id
    }

    /// A new Rails cookie session carrying `chorus`; its key.
    pub(crate) fn new_rails(&mut self, chorus: Option<String>) -> usize {
        self.rails.push(RailsSession::default());
        self.reset_rails(self.rails.len() - 1, chorus);
        self.rails.len() - 1
    }

    /// Rails session `key` now carries `chorus` and a new CSRF token,
    /// returned (on logout: `session.clear` then `form_authenticity_token`).
    pub(crate) fn reset_rails(&mut self, key: usize, chorus: Option<String>) -> String {
        let csrf = format!("{}=", self.draw(43, 64));
        if let Some(r) = self.rails.get_mut(key) {
            *r = RailsSession {
                chorus,
                csrf: csrf.clone(),
            };
        }
        csrf
    }

    /// The Chorus session Rails session `key` carries.
    pub(crate) fn rails_chorus(&self, key: usize) -> Option<&str> {
        self.rails.get(key).and_then(|r| r.chorus.as_deref())
    }

    /// A new cookie value for Rails session `key` (a signed-looking blob:
    /// base64 data `--` 40 hex digits); every earlier value stays valid.
    pub(crate) fn issue_cookie(&mut self, key: usize) -> String {
        let value = format!("{}%3D%3D--{}", self.draw(300, 64), self.draw(40, 16));
        self.cookies.insert(value.clone(), key);
        value
    }
}

fn sort_by_name(v: &mut [&Workfile]) {
    // `order("lower(workfiles.file_name), workfiles.id")`
    v.sort_by(|a, b| {
        let by_name = a.file_name.to_lowercase().cmp(&b.file_name.to_lowercase());
        by_name.then(a.id.cmp(&b.id))
    });
}

/// Whether `text` matches the SQL `LIKE` pattern `pattern`: `%` any run of
/// characters, `_` one character, `\` escapes the next one (PostgreSQL's
/// default escape); ignoring case when `fold` (`ILIKE`).
fn like(pattern: &str, text: &str, fold: bool) -> bool {
    let case = |s: &str| if fold { s.to_lowercase() } else { s.to_owned() };
    let (pattern, text): (String, Vec<char>) = (case(pattern), case(text).chars().collect());
    let mut chars = pattern.chars();
    // reach[i]: the pattern so far can match text[..i].
    let mut reach: Vec<bool> = (0..=text.len()).map(|i| i == 0).collect();
    while let Some(c) = chars.next() {
        let one = match c {
            '%' => {
                let mut any = false;
                reach.iter_mut().for_each(|r| {
                    any |= *r;
                    *r = any
                });
                continue;
            }
            '_' => None,
            '\\' => Some(chars.next().unwrap_or('\\')),
            c => Some(c),
        };
        let step = |i: usize| i > 0 && reach[i - 1] && one.is_none_or(|c| text[i - 1] == c);
        reach = (0..=text.len()).map(step).collect();
    }
    reach[text.len()]
}
