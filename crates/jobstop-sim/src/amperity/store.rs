//! The Amperity simulator's state: workflow runs, their timelines, tokens and
//! counters; and how a run looks on the wire.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{IdField, RunSeed, TerminalStop};
use crate::store::{Runs, Timed, Tokens};
use crate::{SimClock, SplitMix64, Timeline, format_millis, truncate_millis};

/// Workflow types seen in the docs, each with plausible names.
const KINDS: &[(&str, &[&str])] = &[
    (
        "amperity.orchestration.orchestration/run",
        &[
            "Customer Attribute Daily",
            "Loyalty Membership",
            "Braze",
            "Daily Orchestration",
        ],
    ),
    (
        "courier.group/run",
        &[
            "Nightly Courier Group",
            "Hourly Courier Group",
            "POS Couriers",
        ],
    ),
    (
        "campaign.send",
        &["Spring Sale Send", "Welcome Series", "Win-back Campaign"],
    ),
    ("ingest/run", &["Web Events Ingest", "Loyalty Ingest"]),
];

/// `(name, email, id)` of people and automations that start workflows.
const PRINCIPALS: &[(&str, Option<&str>, Option<&str>)] = &[
    (
        "Justin Scott",
        Some("justin.scott@socktown.com"),
        Some("google-apps|justin.scott@socktown.com"),
    ),
    (
        "Ana Ruiz",
        Some("ana.ruiz@socktown.com"),
        Some("google-apps|ana.ruiz@socktown.com"),
    ),
    ("Automated workflow", None, None),
];

/// The error a manually stopped run carries: the example of
/// `amperity/amperity-docs` `amperity_api/source/endpoint_get_workflows_fetch.rst`
/// (OA3 `WorkflowError`: `type`, `message`, `attribution`, `data`).
pub(crate) fn cancel_error() -> Value {
    json!({
        "attribution": "customer",
        "type": "amperity.workflow.workflow.repository.core/cancel",
        "message": "Workflow manually stopped",
    })
}

/// Errors of failed runs, shaped as OA3 `WorkflowError` (the `type` and
/// `message` texts follow OA3's and the docs' examples).
fn failure_errors() -> [Value; 3] {
    [
        json!({
            "attribution": "customer",
            "type": "amperity.plugin.error/invalid-credentials",
            "message": "The credential does not provide access to the given resource. Please update the credential's access or try another credential.",
            "data": {
                "error_code": "InvalidAccessKeyId",
                "id": "s3",
                "request_id": "Z47DXHNGJ7ZPMRVS",
                "retryable?": false,
            },
        }),
        json!({
            "attribution": "customer",
            "type": "amperity.workflow.task.stitch/table",
            "message": "Found table in an invalid state:\nloyalty_members. This error can be\nresolved by removing this table\nor by loading data to the table.",
            "data": null,
        }),
        json!({
            "attribution": "platform",
            "type": "amperity.workflow.error/timeout",
            "message": "Task timed out waiting for compute capacity.",
        }),
    ]
}

/// How the simulator treats a raw state string (lowercased, with space, `_`
/// and `-` alike), per VENDOR-NOTES 1.8.
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
    raw.trim()
        .chars()
        .map(|c| match c {
            ' ' | '_' => '-',
            c => c.to_ascii_lowercase(),
        })
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

#[derive(Debug, Clone)]
pub(crate) struct RunRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) state: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) ended_at: Option<DateTime<Utc>>,
    pub(crate) error: Option<Value>,
    principal_name: Option<String>,
    principal_email: Option<String>,
    principal_id: Option<String>,
    version: Option<String>,
    task_id: String,
    task_label: String,
    no_task_running: bool,
    timeline: Timeline<Change>,
}

/// What a stop request did.
#[derive(Debug)]
pub(crate) enum StopResult {
    NotFound,
    /// The run was terminal and the simulator answers 400 or 409 (by the
    /// switch); its raw state.
    Terminal(TerminalStop, String),
    Ok(Value),
}

/// Simulator settings the store needs.
#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    pub(crate) tenant: String,
    pub(crate) id_field: IdField,
    pub(crate) terminal_stop: TerminalStop,
    pub(crate) stop_delay: Duration,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) auto_finish_after: Option<Duration>,
}

impl Timed for RunRecord {
    type Change = Change;
    fn timeline(&self) -> &Timeline<Change> {
        &self.timeline
    }
    fn timeline_mut(&mut self) -> &mut Timeline<Change> {
        &mut self.timeline
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) cfg: StoreConfig,
    pub(crate) clock: SimClock,
    pub(crate) runs: Runs<String, RunRecord>,
    /// Seeded generation of ids and names.
    ids: SplitMix64,
    /// Access tokens (a separate stream, so traffic never shifts ids).
    misc: SplitMix64,
    /// OAuth access tokens.
    pub(crate) tokens: Tokens,
}

/// `wf-`/`wft-`/`etv-` style id: prefix, date of `t`, 5 digits, 6 alphanumerics.
fn make_id(rng: &mut SplitMix64, prefix: &str, t: DateTime<Utc>) -> String {
    format!(
        "{prefix}-{}-{}-{}",
        t.format("%Y%m%d"),
        rng.digits(5),
        rng.alphanumeric(6)
    )
}

fn minus_ms(t: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    t.checked_sub_signed(chrono::Duration::milliseconds(
        i64::try_from(ms).unwrap_or(i64::MAX),
    ))
    .unwrap_or(t)
}

fn plus_ms(t: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    t.checked_add_signed(chrono::Duration::milliseconds(
        i64::try_from(ms).unwrap_or(i64::MAX),
    ))
    .unwrap_or(t)
}

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

impl Store {
    pub(crate) fn new(cfg: StoreConfig, clock: SimClock, seed: u64) -> Self {
        Store {
            cfg,
            clock,
            runs: Runs::default(),
            ids: SplitMix64::stream(seed, 1),
            misc: SplitMix64::stream(seed, 2),
            tokens: Tokens::default(),
        }
    }

    /// A new record in `state`, with generated id, name, type and principal.
    fn generate(&mut self, state: &str, created_at: DateTime<Utc>) -> RunRecord {
        let (kind, names) = self.ids.pick(KINDS).copied().unwrap_or(KINDS[0]);
        let name = self.ids.pick(names).copied().unwrap_or("Workflow");
        let (pn, pe, pi) = match self.ids.below(10) {
            0..=5 => self.ids.pick(PRINCIPALS).copied().unwrap_or(PRINCIPALS[0]),
            _ => (PRINCIPALS[2].0, None, None),
        };
        let principal_present = self.ids.chance(85);
        let version = self
            .ids
            .chance(50)
            .then(|| make_id(&mut self.ids, "etv", created_at));
        let mut id = make_id(&mut self.ids, "wf", created_at);
        while self.runs.contains(&id) {
            id = make_id(&mut self.ids, "wf", created_at);
        }
        let task_id = make_id(&mut self.ids, "wft", created_at);
        RunRecord {
            id,
            name: name.to_owned(),
            kind: kind.to_owned(),
            state: state.to_owned(),
            created_at: truncate_millis(created_at),
            ended_at: None,
            error: None,
            principal_name: principal_present.then(|| pn.to_owned()),
            principal_email: principal_present.then_some(pe).flatten().map(str::to_owned),
            principal_id: principal_present.then_some(pi).flatten().map(str::to_owned),
            version,
            task_id,
            task_label: format!("{name} task"),
            no_task_running: false,
            timeline: Timeline::new(),
        }
    }

    fn auto_finish(&self, rec: &mut RunRecord, from: Instant) {
        if let Some(d) = self.cfg.auto_finish_after {
            rec.timeline.push_after(from, d, Change::Finish);
        }
    }

    /// Adds `running` active and `finished` terminal runs, deterministically
    /// from the seed, created before the clock's epoch.
    pub(crate) fn seed_runs(&mut self, running: usize, finished: usize) {
        let epoch = self.clock.epoch();
        let start = Instant::now();
        for _ in 0..running {
            let created = minus_ms(epoch, self.ids.range(MINUTE, 6 * HOUR));
            let mut rec = self.generate("running", created);
            self.auto_finish(&mut rec, start);
            self.runs.insert(rec.id.clone(), rec);
        }
        let errors = failure_errors();
        for _ in 0..finished {
            let created = minus_ms(epoch, self.ids.range(10 * MINUTE, 30 * DAY));
            let roll = self.ids.below(100);
            let state = match roll {
                0..=59 => "succeeded",
                60..=84 => "failed",
                _ => "canceled",
            };
            let mut rec = self.generate(state, created);
            let ended = plus_ms(created, self.ids.range(20_000, 3 * HOUR)).min(minus_ms(epoch, 1));
            rec.ended_at = Some(truncate_millis(ended));
            rec.error = match state {
                "failed" => self.ids.pick(&errors).cloned(),
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
        if let Some(id) = seed.id {
            rec.id = id;
        }
        if let Some(name) = seed.name {
            rec.name = name;
        }
        if let Some(kind) = seed.kind {
            rec.kind = kind;
        }
        rec.ended_at = seed.ended_at.map(truncate_millis);
        if rec.ended_at.is_none() && classify(&rec.state) == Class::Terminal {
            rec.ended_at = Some(rec.created_at);
        }
        rec.error = seed.error;
        if seed.principal_name.is_some()
            || seed.principal_email.is_some()
            || seed.principal_id.is_some()
        {
            rec.principal_name = seed.principal_name;
            rec.principal_email = seed.principal_email;
            rec.principal_id = seed.principal_id;
        }
        rec.no_task_running = seed.no_task_running;
        if matches!(classify(&rec.state), Class::Active | Class::Unknown) {
            self.auto_finish(&mut rec, Instant::now());
        }
        let id = rec.id.clone();
        self.runs.insert(id.clone(), rec);
        id
    }

    /// Applies every change that is due by now, in order.
    pub(crate) fn settle(&mut self) {
        let (clock, finish_after) = (self.clock, self.cfg.auto_finish_after);
        self.runs.settle(Instant::now(), |_, rec, at, change| {
            apply(rec, clock.at(at), at, finish_after, change);
        });
    }

    /// Applies the next pending change of `id` now. `false` if there is no
    /// such run or nothing is pending.
    pub(crate) fn advance(&mut self, id: &str) -> bool {
        let (clock, finish_after) = (self.clock, self.cfg.auto_finish_after);
        self.runs
            .advance(&id.to_owned(), Instant::now(), |_, rec, at, change| {
                apply(rec, clock.at(at), at, finish_after, change);
            })
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
        if classify(raw) == Class::Terminal {
            rec.ended_at.get_or_insert(now);
        } else {
            rec.ended_at = None;
        }
        true
    }

    /// Creates a run for `POST /workflow/runs`.
    pub(crate) fn start_run(&mut self, config_id: &str, principal: &str) -> Value {
        self.settle();
        let now = Instant::now();
        let mut rec = self.generate("scheduled", self.clock.at(now));
        rec.name = format!("Workflow {config_id}");
        rec.kind = "amperity.orchestration.orchestration/run".to_owned();
        rec.principal_name = Some(principal.to_owned());
        rec.principal_email = None;
        rec.principal_id = Some(format!("api-key|{principal}"));
        if let Some(d) = self.cfg.schedule_delay {
            rec.timeline.push_after(now, d, Change::Start);
        }
        let body = self.render(&rec, View::Action);
        self.runs.insert(rec.id.clone(), rec);
        body
    }

    /// Stops `id` (see the crate docs for the state machine).
    pub(crate) fn stop(&mut self, id: &str) -> StopResult {
        self.settle();
        self.runs.count_stop(id);
        let key = id.to_owned();
        let now = Instant::now();
        let wall = self.clock.at(now);
        let (delay, terminal_stop) = (self.cfg.stop_delay, self.cfg.terminal_stop);
        let Some(rec) = self.runs.get_mut(&key) else {
            return StopResult::NotFound;
        };
        match classify(&rec.state) {
            Class::Terminal => {
                if terminal_stop != TerminalStop::Ok {
                    return StopResult::Terminal(terminal_stop, rec.state.clone());
                }
            }
            Class::Stopping => {}
            Class::Scheduled | Class::Paused => cancel(rec, wall),
            Class::Active | Class::Unknown => {
                if rec.no_task_running {
                    cancel(rec, wall);
                } else {
                    rec.state = "canceling".to_owned();
                    rec.timeline.clear();
                    rec.timeline.push_after(now, delay, Change::Cancel);
                }
            }
        }
        self.runs.touch(&key);
        let Some(rec) = self.runs.get(&key) else {
            return StopResult::NotFound;
        };
        StopResult::Ok(self.render(rec, View::Action))
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
        runs.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        runs
    }

    /// The run as OA3 `Workflow` (`id`, `state`, `type`, `name`, `tenant`,
    /// `created_at` required), in `view` (`overview` per
    /// `endpoint_get_workflows_fetch.rst`: `created_at, ended_at, id, name,
    /// state, tenant, type`).
    pub(crate) fn render(&self, r: &RunRecord, view: View) -> Value {
        let mut m = Map::new();
        let id = Value::String(r.id.clone());
        match self.cfg.id_field {
            IdField::Id => {
                m.insert("id".into(), id);
            }
            IdField::Both => {
                m.insert("id".into(), id.clone());
                m.insert("workflow_id".into(), id);
            }
            IdField::WorkflowIdOnly => {
                m.insert("workflow_id".into(), id);
            }
        }
        m.insert("name".into(), r.name.clone().into());
        m.insert("state".into(), r.state.clone().into());
        m.insert("tenant".into(), self.cfg.tenant.clone().into());
        m.insert("type".into(), r.kind.clone().into());
        m.insert("created_at".into(), format_millis(r.created_at).into());
        if let Some(e) = r.ended_at {
            m.insert("ended_at".into(), format_millis(e).into());
        }
        if view == View::Overview {
            return Value::Object(m);
        }
        let optional = [
            ("principal_name", &r.principal_name),
            ("principal_email", &r.principal_email),
            ("principal_id", &r.principal_id),
            ("launched_version", &r.version),
            ("current_version", &r.version),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        if let Some(e) = &r.error {
            m.insert("error".into(), e.clone());
        }
        match view {
            View::Verbose => {
                m.insert("task_instances".into(), json!([self.task_instance(r)]));
            }
            View::Action => {
                m.insert("task_instances".into(), json!([]));
            }
            View::List | View::Overview => {}
        }
        Value::Object(m)
    }

    /// The run's one task instance (OA3 `WorkflowTaskInstance`).
    fn task_instance(&self, r: &RunRecord) -> Value {
        let mut t = json!({
            "id": r.task_id,
            "state": r.state,
            "tenant": self.cfg.tenant,
            "created_at": format_millis(r.created_at),
            "state_changed_at": format_millis(r.ended_at.unwrap_or(r.created_at)),
            "execution_type": "automatic",
            "label": r.task_label,
            "run_id": r.id,
            "task_definition_id": format!("wftd-{}", r.task_id.trim_start_matches("wft-")),
            "task_definition_type": r.kind,
            "timeout_ms": 86_400_000,
            "workflow_id": r.id,
        });
        if let (Some(e), Some(obj)) = (r.ended_at, t.as_object_mut()) {
            obj.insert("ended_at".into(), format_millis(e).into());
        }
        if let (Some(e), Some(obj)) = (&r.error, t.as_object_mut()) {
            obj.insert("error".into(), e.clone());
        }
        t
    }

    /// Issues an OAuth access token valid for `ttl`.
    pub(crate) fn grant(&mut self, ttl: Duration) -> String {
        let token = self.misc.alphanumeric(26);
        self.tokens.grant(&token, ttl);
        token
    }
}

/// Applies `change` to `rec` as if at `at` (wall time `wall`).
fn apply(
    rec: &mut RunRecord,
    wall: DateTime<Utc>,
    at: Instant,
    finish_after: Option<Duration>,
    change: Change,
) {
    let class = classify(&rec.state);
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

fn cancel(rec: &mut RunRecord, wall: DateTime<Utc>) {
    rec.state = "canceled".to_owned();
    rec.ended_at = Some(wall);
    rec.error = Some(cancel_error());
    rec.timeline.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_classes_follow_the_notes() {
        assert_eq!(classify("Running with failures"), Class::Active);
        assert_eq!(classify("In progress"), Class::Active);
        assert_eq!(classify("in_progress"), Class::Active);
        assert_eq!(classify("CANCELLED"), Class::Terminal);
        assert_eq!(classify("Stopping"), Class::Stopping);
        assert_eq!(classify("paused"), Class::Paused);
        assert_eq!(classify("scheduled"), Class::Scheduled);
        assert_eq!(classify("mystery"), Class::Unknown);
        assert_eq!(
            normalize_state(" Running_with Failures"),
            "running-with-failures"
        );
    }
}
