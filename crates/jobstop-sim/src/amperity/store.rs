//! The Amperity simulator's state: workflow runs, their timelines, tokens and
//! counters; and how a run looks on the wire.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{AmperityOptions, DEFAULT_STOP_DELAY, IdField, RunSeed, TerminalStop};
use crate::data::{self, items, without_nulls};
use crate::store::{Runs, Tokens};
use crate::{Common, SimClock, SplitMix64, Timeline, format_millis, truncate_millis};

/// The seeded tables of `data/amperity/runs.json` (its `_source` names them):
/// `kinds` (`[type, [names]]`), `principals` (`[name, email, id]`),
/// `cancel_error` and `failure_errors` (OA3 `WorkflowError`).
static DATA: LazyLock<Value> =
    LazyLock::new(|| data::parse(include_str!("../../data/amperity/runs.json")));

/// The message of a 404 for a run.
pub(crate) const NOT_FOUND: &str = "Workflow not found";

/// `v` as an owned string, if it is one.
pub(crate) fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The error a manually stopped run carries: the example of
/// `amperity/amperity-docs` `amperity_api/source/endpoint_get_workflows_fetch.rst`.
pub(crate) fn cancel_error() -> Value {
    DATA["cancel_error"].clone()
}

/// How the simulator treats a raw state string, per VENDOR-NOTES 1.8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Scheduled,
    Active,
    Paused,
    Stopping,
    Terminal,
    Unknown,
}

/// `raw` lowercased with spaces and underscores as `-`.
pub(crate) fn normalize_state(raw: &str) -> String {
    let dash = |c: char| if c == ' ' || c == '_' { '-' } else { c };
    raw.trim()
        .chars()
        .map(|c| dash(c.to_ascii_lowercase()))
        .collect()
}

pub(crate) fn classify(raw: &str) -> Class {
    match normalize_state(raw).as_str() {
        "scheduled" => Class::Scheduled,
        "started" | "running" | "in-progress" | "finalizing" | "running-with-failures" => {
            Class::Active
        }
        "paused" => Class::Paused,
        "stopping" | "canceling" | "cancelling" => Class::Stopping,
        "stopped" | "canceled" | "cancelled" | "succeeded" | "failed" => Class::Terminal,
        _ => Class::Unknown,
    }
}

/// A change waiting on a run's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// `scheduled` → `running` (then maybe auto-finish).
    Start,
    /// active → `succeeded`.
    Finish,
    /// `canceling` → `canceled`.
    Cancel,
}

/// How much of a run to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// `created_at, ended_at, id, name, state, tenant, type` only.
    Overview,
    /// Every field but `task_instances` (list items).
    List,
    /// Every field and `task_instances` with one task.
    Verbose,
    /// Every field and `task_instances: []` (stop and start answers).
    Action,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RunRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) state: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) ended_at: Option<DateTime<Utc>>,
    pub(crate) error: Option<Value>,
    principal: [Option<String>; 3],
    version: Option<String>,
    task_id: String,
    task_label: String,
    no_task_running: bool,
    timeline: Timeline<Change>,
}

timed!(RunRecord => Change);

#[derive(Debug)]
pub(crate) struct Store {
    /// The builder's settings (the runs to seed are taken out).
    pub(crate) cfg: AmperityOptions,
    stop_delay: Duration,
    clock: SimClock,
    pub(crate) runs: Runs<String, RunRecord>,
    /// Seeded generation of ids and names.
    ids: SplitMix64,
    /// Access tokens (a separate stream, so traffic never shifts ids).
    misc: SplitMix64,
    pub(crate) tokens: Tokens,
}

/// `wf-`/`wft-`/`etv-` style id: prefix, date of `t`, 5 digits, 6 alphanumerics.
fn make_id(rng: &mut SplitMix64, prefix: &str, t: DateTime<Utc>) -> String {
    let (day, digits) = (t.format("%Y%m%d"), rng.digits(5));
    format!("{prefix}-{day}-{digits}-{}", rng.alphanumeric(6))
}

/// `t` plus `ms` milliseconds (negative: minus); `t` on overflow.
fn plus_ms(t: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    t.checked_add_signed(chrono::Duration::milliseconds(ms))
        .unwrap_or(t)
}

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

impl Store {
    /// The store `cfg` describes, its runs generated from `seed`.
    pub(crate) fn new(mut cfg: AmperityOptions, common: &Common) -> Self {
        let seeds = std::mem::take(&mut cfg.seeds);
        let (running, finished) = (cfg.running, cfg.finished);
        let mut store = Store {
            cfg,
            stop_delay: common.stop_delay.unwrap_or(DEFAULT_STOP_DELAY),
            clock: common.clock,
            runs: Runs::default(),
            ids: SplitMix64::stream(common.seed, 1),
            misc: SplitMix64::stream(common.seed, 2),
            tokens: Tokens::default(),
        };
        store.seed_runs(running, finished);
        for seed in seeds {
            store.insert(seed);
        }
        store
    }

    /// A new record in `state`, with generated id, name, type and principal.
    fn generate(&mut self, state: &str, created_at: DateTime<Utc>) -> RunRecord {
        let kind = self.ids.pick(items(&DATA["kinds"])).unwrap_or(&Value::Null);
        let name = self.ids.pick(items(&kind[1])).and_then(text);
        let (kind, name) = (text(&kind[0]).unwrap_or_default(), name.unwrap_or_default());
        let principals = items(&DATA["principals"]);
        let p = match self.ids.below(10) {
            0..=5 => self.ids.pick(principals).cloned().unwrap_or_default(),
            _ => json!([principals.get(2).map(|p| &p[0])]),
        };
        let present = self.ids.chance(85);
        let version = (self.ids.chance(50)).then(|| make_id(&mut self.ids, "etv", created_at));
        let mut id = make_id(&mut self.ids, "wf", created_at);
        while self.runs.contains(&id) {
            id = make_id(&mut self.ids, "wf", created_at);
        }
        RunRecord {
            id,
            name: name.clone(),
            kind,
            state: state.to_owned(),
            created_at: truncate_millis(created_at),
            principal: [0, 1, 2].map(|i| text(&p[i]).filter(|_| present)),
            version,
            task_id: make_id(&mut self.ids, "wft", created_at),
            task_label: format!("{name} task"),
            ..RunRecord::default()
        }
    }

    fn auto_finish(&self, rec: &mut RunRecord, from: Instant) {
        if let Some(d) = self.cfg.auto_finish_after {
            rec.timeline.push_after(from, d, Change::Finish);
        }
    }

    /// Adds `running` active and `finished` terminal runs, deterministically
    /// from the seed, created before the clock's epoch.
    fn seed_runs(&mut self, running: usize, finished: usize) {
        let epoch = self.clock.epoch();
        let start = Instant::now();
        let before =
            |ids: &mut SplitMix64, lo: u64, hi: u64| plus_ms(epoch, -(ids.range(lo, hi) as i64));
        for _ in 0..running {
            let created = before(&mut self.ids, MINUTE, 6 * HOUR);
            let mut rec = self.generate("running", created);
            self.auto_finish(&mut rec, start);
            self.runs.insert(rec.id.clone(), rec);
        }
        for _ in 0..finished {
            let created = before(&mut self.ids, 10 * MINUTE, 30 * DAY);
            let state = match self.ids.below(100) {
                0..=59 => "succeeded",
                60..=84 => "failed",
                _ => "canceled",
            };
            let mut rec = self.generate(state, created);
            let ran = self.ids.range(20_000, 3 * HOUR) as i64;
            let ended = plus_ms(created, ran).min(plus_ms(epoch, -1));
            rec.ended_at = Some(truncate_millis(ended));
            rec.error = match state {
                "failed" => self.ids.pick(items(&DATA["failure_errors"])).cloned(),
                "canceled" => Some(cancel_error()),
                _ => None,
            };
            self.runs.insert(rec.id.clone(), rec);
        }
    }

    /// Adds a run from a seed; returns its id. A terminal state without
    /// `ended_at` gets `ended_at = created_at`.
    pub(crate) fn insert(&mut self, seed: RunSeed) -> String {
        let created = seed.created_at.unwrap_or_else(|| self.clock.now());
        let mut rec = self.generate(&seed.state, created);
        rec.id = seed.id.unwrap_or(rec.id);
        rec.name = seed.name.unwrap_or(rec.name);
        rec.kind = seed.kind.unwrap_or(rec.kind);
        rec.ended_at = seed.ended_at.map(truncate_millis);
        if rec.ended_at.is_none() && classify(&rec.state) == Class::Terminal {
            rec.ended_at = Some(rec.created_at);
        }
        rec.error = seed.error;
        rec.no_task_running = seed.no_task_running;
        if matches!(classify(&rec.state), Class::Active | Class::Unknown) {
            self.auto_finish(&mut rec, Instant::now());
        }
        let id = rec.id.clone();
        self.runs.insert(id.clone(), rec);
        id
    }

    /// Applies a change that is due at `at` to a run.
    fn apply(&self) -> impl FnMut(&String, &mut RunRecord, Instant, Change) + use<> {
        let (clock, finish_after) = (self.clock, self.cfg.auto_finish_after);
        move |_, rec, at, change| {
            let (class, wall) = (classify(&rec.state), clock.at(at));
            match change {
                Change::Start if class == Class::Scheduled => {
                    rec.state = "running".to_owned();
                    if let Some(d) = finish_after {
                        rec.timeline.push_after(at, d, Change::Finish);
                    }
                }
                Change::Finish if matches!(class, Class::Active | Class::Unknown) => {
                    rec.state = "succeeded".to_owned();
                    rec.ended_at = Some(wall);
                }
                Change::Cancel if class == Class::Stopping => cancel(rec, wall),
                _ => {}
            }
        }
    }

    /// Applies every change that is due by now, in order.
    pub(crate) fn settle(&mut self) {
        let apply = self.apply();
        self.runs.settle(Instant::now(), apply);
    }

    /// Applies the next pending change of `id` now. `false` if there is no
    /// such run or nothing is pending.
    pub(crate) fn advance(&mut self, id: &str) -> bool {
        let apply = self.apply();
        self.runs.advance(&id.to_owned(), Instant::now(), apply)
    }

    /// Sets the raw state of `id`, dropping its pending changes; a terminal
    /// state sets `ended_at` (if unset), any other removes it.
    pub(crate) fn set_state(&mut self, id: &str, raw: &str) -> bool {
        self.settle();
        let now = self.clock.now();
        let Some(rec) = self.runs.get_mut(&id.to_owned()) else {
            return false;
        };
        rec.state = raw.to_owned();
        rec.timeline.clear();
        rec.ended_at = (classify(raw) == Class::Terminal).then(|| rec.ended_at.unwrap_or(now));
        true
    }

    /// Creates a run for `POST /workflow/runs`.
    pub(crate) fn start_run(&mut self, config_id: &str, principal: &str) -> Value {
        self.settle();
        let now = Instant::now();
        let mut rec = self.generate("scheduled", self.clock.at(now));
        rec.name = format!("Workflow {config_id}");
        rec.kind = "amperity.orchestration.orchestration/run".to_owned();
        let id = Some(format!("api-key|{principal}"));
        rec.principal = [Some(principal.to_owned()), None, id];
        if let Some(d) = self.cfg.schedule_delay {
            rec.timeline.push_after(now, d, Change::Start);
        }
        let body = self.render(&rec, View::Action);
        self.runs.insert(rec.id.clone(), rec);
        body
    }

    /// Stops `id` (the state machine is the crate README's table).
    /// Answers 200 with the run, or the error's status and message.
    pub(crate) fn stop(&mut self, id: &str) -> Result<Value, (u16, String)> {
        self.settle();
        self.runs.count_stop(id);
        let key = id.to_owned();
        let now = Instant::now();
        let wall = self.clock.at(now);
        let (delay, terminal_stop) = (self.stop_delay, self.cfg.terminal_stop);
        let not_found = || (404, NOT_FOUND.to_owned());
        let rec = self.runs.get_mut(&key).ok_or_else(not_found)?;
        match classify(&rec.state) {
            Class::Terminal if terminal_stop == TerminalStop::Conflict => {
                return Err((409, "Workflow is not running".to_owned()));
            }
            Class::Terminal if terminal_stop == TerminalStop::BadRequest => {
                let state = &rec.state;
                let message =
                    format!("Workflow {id} cannot be stopped: it is not running (state {state})");
                return Err((400, message));
            }
            Class::Terminal | Class::Stopping => {}
            Class::Scheduled | Class::Paused => cancel(rec, wall),
            Class::Active | Class::Unknown if rec.no_task_running => cancel(rec, wall),
            Class::Active | Class::Unknown => {
                rec.state = "canceling".to_owned();
                rec.timeline.clear();
                rec.timeline.push_after(now, delay, Change::Cancel);
            }
        }
        self.runs.touch(&key);
        Ok(self.render(self.runs.get(&key).ok_or_else(not_found)?, View::Action))
    }

    /// The run `id` rendered in `view`.
    pub(crate) fn get(&mut self, id: &str, view: View) -> Option<Value> {
        self.settle();
        self.runs.get(&id.to_owned()).map(|r| self.render(r, view))
    }

    /// Every run, newest `created_at` first, ties by id (call
    /// [`Store::settle`] first).
    pub(crate) fn ordered(&self) -> Vec<&RunRecord> {
        let mut runs: Vec<&RunRecord> = self.runs.values().collect();
        runs.sort_by(|a, b| (b.created_at, &a.id).cmp(&(a.created_at, &b.id)));
        runs
    }

    /// The run as OA3 `Workflow` (`id`, `state`, `type`, `name`, `tenant`,
    /// `created_at` required), in `view` (`overview` per
    /// `endpoint_get_workflows_fetch.rst`: `created_at, ended_at, id, name,
    /// state, tenant, type`).
    pub(crate) fn render(&self, r: &RunRecord, view: View) -> Value {
        let (field, more) = (self.cfg.id_field, view != View::Overview);
        let [name, email, id] = r.principal.clone().map(|p| p.filter(|_| more));
        let version = r.version.as_ref().filter(|_| more);
        let tasks = match view {
            View::Verbose => json!([self.task_instance(r)]),
            View::Action => json!([]),
            View::List | View::Overview => Value::Null,
        };
        without_nulls(json!({
            "id": (field != IdField::WorkflowIdOnly).then_some(&r.id),
            "workflow_id": (field != IdField::Id).then_some(&r.id),
            "name": r.name,
            "state": r.state,
            "tenant": self.cfg.tenant,
            "type": r.kind,
            "created_at": format_millis(r.created_at),
            "ended_at": r.ended_at.map(format_millis),
            "principal_name": name,
            "principal_email": email,
            "principal_id": id,
            "launched_version": version,
            "current_version": version,
            "error": r.error.as_ref().filter(|_| more),
            "task_instances": tasks,
        }))
    }

    /// The run's one task instance (OA3 `WorkflowTaskInstance`).
    fn task_instance(&self, r: &RunRecord) -> Value {
        without_nulls(json!({
            "id": r.task_id,
            "state": r.state,
            "tenant": self.cfg.tenant,
            "created_at": format_millis(r.created_at),
            "state_changed_at": format_millis(r.ended_at.unwrap_or(r.created_at)),
            "ended_at": r.ended_at.map(format_millis),
            "error": r.error,
            "execution_type": "automatic",
            "label": r.task_label,
            "run_id": r.id,
            "task_definition_id": format!("wftd-{}", r.task_id.trim_start_matches("wft-")),
            "task_definition_type": r.kind,
            "timeout_ms": 86_400_000,
            "workflow_id": r.id,
        }))
    }

    /// Issues an OAuth access token valid for `ttl`.
    pub(crate) fn grant(&mut self, ttl: Duration) -> String {
        let token = self.misc.alphanumeric(26);
        self.tokens.grant(&token, ttl);
        token
    }
}

fn cancel(rec: &mut RunRecord, wall: DateTime<Utc>) {
    rec.state = "canceled".to_owned();
    rec.ended_at = Some(wall);
    rec.error = Some(cancel_error());
    rec.timeline.clear();
}
