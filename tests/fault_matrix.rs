//! The fault matrix: every adapter, through its simulator, under every
//! scripted fault, for each of list, status and stop. Three columns run a
//! simulator under the other reading of its sources: `amperity-409`
//! (`responses.rst`: 409 on finished runs, `request_id` in error bodies),
//! `chorus/rails` (the Rails presenters' JSON, status cells on a file read by
//! `GET /api/workfiles/:id`) and `centurylink-kb` (the Runner knowledge base:
//! no single-execution GET, so status reads the job's executions list; the
//! job GET as a one-element array).
//!
//! Each cell installs one fault on the routes the operation uses, runs the
//! operation with a short client configuration under a hard timeout, and
//! classifies the result as `ok` or the error kind. Every cell must land in
//! the set allowed for its fault, and a stop must never be reported
//! `Stopped`/`Requested` (or `AlreadyFinished` for a run that was running)
//! unless the simulator actually applied it.
//!
//! The rows after the transport faults damage the *content* of well-formed
//! answers: a body over the client's cap, and [`Fault::MapJson`] rewrites of
//! the handler's real JSON applied to every run object of the vendor's answer
//! (an unknown state string, a missing id or state field, extra fields, `null`
//! run objects or envelopes). Those cells are also checked for what a success
//! returned: an unknown state must come back as `RunState::Unknown` with the
//! raw string, extra fields must change nothing, and a stop that succeeds on
//! a damaged answer must not claim a known state.

#![cfg(feature = "full")]
#![allow(clippy::unwrap_used)]

mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};
use support::Sim;

use serde_json::{Value, json};

use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::chorus::ChorusBuilder;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::http::{ClientConfig, RetryPolicy};
use jobstop::{Cursor, ErrorKind, JobController, ListQuery, Run, RunId, RunState, StopRequest};
use jobstop_sim::amperity::{AmperitySim, AmperitySimBuilder, TerminalStop};
use jobstop_sim::centurylink::{CenturyLinkSim, CenturyLinkSimBuilder};
use jobstop_sim::chorus::{ChorusSim, ChorusWire, WorkfileSeed};
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};
use jobstop_sim::{amperity, centurylink, chorus, dataarts};

/// A hung cell fails the test after this long.
const CELL_DEADLINE: Duration = Duration::from_secs(10);
/// Longer than the attempt timeout below.
const SLOW: Duration = Duration::from_millis(600);
/// The client's response body cap in these cells (every normal answer of the
/// simulators is far below it).
const BODY_CAP: usize = 64 * 1024;
/// Well over [`BODY_CAP`].
const OVERSIZED: u64 = 1024 * 1024;
/// A state string no adapter knows.
const FLUX: &str = "QUANTUM_FLUX";

fn short_config() -> ClientConfig {
    ClientConfig::default()
        .with_body_limit(BODY_CAP)
        .with_connect_timeout(Duration::from_millis(300))
        .with_attempt_timeout(Duration::from_millis(300))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_budget(Duration::from_secs(3))
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_retry_after(Duration::from_secs(2)),
        )
}

fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

// ---------------------------------------------------------------------------
// The matrix definition.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    List,
    Status,
    Stop,
}

const OPS: [Op; 3] = [Op::List, Op::Status, Op::Stop];

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Status => "status",
            Op::Stop => "stop",
        }
    }
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Success; for stops, the outcome's name.
    Ok(&'static str),
    Err(ErrorKind),
    Hung,
}

impl Outcome {
    fn label(self) -> String {
        match self {
            Outcome::Ok("ok") => "ok".to_owned(),
            Outcome::Ok(s) => format!("ok:{}", short_outcome(s)),
            Outcome::Err(k) => short_kind(k).to_owned(),
            Outcome::Hung => "HUNG".to_owned(),
        }
    }
}

fn short_outcome(s: &str) -> &str {
    match s {
        "requested" => "req",
        "stopped" => "stop",
        "already_finished" => "fin",
        other => other,
    }
}

fn short_kind(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Unavailable => "unavail",
        ErrorKind::RateLimited => "ratelim",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Transport => "transport",
        ErrorKind::InvalidResponse => "invalid",
        ErrorKind::NotFound => "notfound",
        ErrorKind::InvalidInput => "badinput",
        ErrorKind::Unauthenticated => "unauth",
        ErrorKind::PermissionDenied => "denied",
        ErrorKind::Conflict => "conflict",
        ErrorKind::Unsupported => "unsupp",
        ErrorKind::Config => "config",
        ErrorKind::EndlessListing => "endless",
        _ => "other",
    }
}

/// What a cell may end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// Any success.
    Ok,
    /// A stop with this outcome (`requested`, `stopped`, `already_finished`).
    Stop(&'static str),
    Kind(ErrorKind),
}

impl Allowed {
    fn admits(self, outcome: Outcome) -> bool {
        match (self, outcome) {
            (Allowed::Ok, Outcome::Ok(_)) => true,
            (Allowed::Stop(want), Outcome::Ok(got)) => want == got,
            (Allowed::Kind(want), Outcome::Err(got)) => want == got,
            _ => false,
        }
    }
}

/// A rewrite of the handler's JSON, applied to the vendor's run objects
/// (see [`Shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    /// A top-level `padding` string one byte longer than the body cap.
    PadOverCap,
    /// The state field of every run object set to [`FLUX`].
    UnknownState,
    /// Every id field of every run object removed.
    NoId,
    /// The state field of every run object removed.
    NoState,
    /// Unknown keys added at the top level and in every run object.
    ExtraFields,
    /// Every run object (list item or single object) replaced by `null`.
    NullRuns,
    /// The envelope (`data`, `response`/`pagination`, `jobs`/`instances`,
    /// `results`) set to `null`; an answer without one becomes `null`.
    NullEnvelope,
}

/// The fault a case installs: the same for every vendor, or a JSON rewrite
/// built for the vendor's shapes.
#[derive(Clone)]
enum Spec {
    Fixed(Fault),
    Json(Mutation),
}

/// What a success must also satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    None,
    /// The answer was damaged: a stop that still succeeds (the vendor
    /// accepted it, only the answer is unusable) must say the state is
    /// unknown rather than claim one.
    Damaged,
    /// Every run returned (at least one) is `Unknown` with [`FLUX`] as its
    /// vendor state.
    UnknownState,
    /// The same result as without the fault (`raw` aside): for list and
    /// status the same runs and cursors as just before or just after; for a
    /// stop the same outcome, state and vendor state as an unfaulted stop of
    /// another running run.
    Baseline,
}

struct Case {
    name: &'static str,
    fault: Spec,
    /// `Some(n)`: the fault clears after `n` applications; `None`: persistent.
    times: Option<u64>,
    /// Allowed results for list and status.
    read: &'static [Allowed],
    /// Allowed results for stop (a body-damaging fault that lets the handler
    /// run may still be answered `ok` by an adapter that does not need the
    /// body, as long as the simulator applied the stop).
    stop: &'static [Allowed],
    check: Check,
}

use Allowed::{Kind, Ok as AOk};

const OK: &[Allowed] = &[AOk];
const UNAVAILABLE: &[Allowed] = &[Kind(ErrorKind::Unavailable)];
const RATE_LIMITED: &[Allowed] = &[Kind(ErrorKind::RateLimited)];
const TRANSPORT: &[Allowed] = &[Kind(ErrorKind::Transport)];
const TIMEOUT: &[Allowed] = &[Kind(ErrorKind::Timeout)];
const INVALID: &[Allowed] = &[Kind(ErrorKind::InvalidResponse)];
const OK_OR_TRANSPORT: &[Allowed] = &[AOk, Kind(ErrorKind::Transport)];
const OK_OR_TIMEOUT: &[Allowed] = &[AOk, Kind(ErrorKind::Timeout)];
const OK_OR_INVALID: &[Allowed] = &[AOk, Kind(ErrorKind::InvalidResponse)];
const REQUESTED: &[Allowed] = &[Allowed::Stop("requested")];
const INVALID_OR_REQUESTED: &[Allowed] =
    &[Kind(ErrorKind::InvalidResponse), Allowed::Stop("requested")];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "429 Retry-After:1 x1",
            fault: Spec::Fixed(Fault::too_many_requests(Some(1))),
            times: Some(1),
            read: OK,
            stop: OK,
            check: Check::None,
        },
        Case {
            name: "429 no Retry-After x1",
            fault: Spec::Fixed(Fault::too_many_requests(None)),
            times: Some(1),
            read: OK,
            stop: OK,
            check: Check::None,
        },
        Case {
            name: "429 Retry-After:1 inf",
            fault: Spec::Fixed(Fault::too_many_requests(Some(1))),
            times: None,
            read: RATE_LIMITED,
            stop: RATE_LIMITED,
            check: Check::None,
        },
        Case {
            name: "500 inf",
            fault: Spec::Fixed(Fault::status(500)),
            times: None,
            read: UNAVAILABLE,
            stop: UNAVAILABLE,
            check: Check::None,
        },
        Case {
            name: "502 x1",
            fault: Spec::Fixed(Fault::status(502)),
            times: Some(1),
            read: OK,
            stop: OK,
            check: Check::None,
        },
        Case {
            name: "503 x1",
            fault: Spec::Fixed(Fault::status(503)),
            times: Some(1),
            read: OK,
            stop: OK,
            check: Check::None,
        },
        Case {
            name: "504 x1",
            fault: Spec::Fixed(Fault::status(504)),
            times: Some(1),
            read: OK,
            stop: OK,
            check: Check::None,
        },
        Case {
            name: "503 inf",
            fault: Spec::Fixed(Fault::status(503)),
            times: None,
            read: UNAVAILABLE,
            stop: UNAVAILABLE,
            check: Check::None,
        },
        Case {
            name: "close-before-hdrs x1",
            fault: Spec::Fixed(Fault::CloseBeforeHeaders),
            times: Some(1),
            read: OK,
            stop: OK,
            check: Check::None,
        },
        Case {
            name: "close-before-hdrs inf",
            fault: Spec::Fixed(Fault::CloseBeforeHeaders),
            times: None,
            read: TRANSPORT,
            stop: TRANSPORT,
            check: Check::None,
        },
        Case {
            name: "close-mid-body x1",
            fault: Spec::Fixed(Fault::CloseMidBody),
            times: Some(1),
            read: OK_OR_TRANSPORT,
            stop: OK_OR_TRANSPORT,
            check: Check::None,
        },
        Case {
            name: "close-mid-body inf",
            fault: Spec::Fixed(Fault::CloseMidBody),
            times: None,
            read: TRANSPORT,
            stop: OK_OR_TRANSPORT,
            check: Check::None,
        },
        Case {
            name: "slow 600ms x1",
            fault: Spec::Fixed(Fault::Latency(SLOW)),
            times: Some(1),
            read: OK_OR_TIMEOUT,
            stop: OK_OR_TIMEOUT,
            check: Check::None,
        },
        Case {
            name: "slow 600ms inf",
            fault: Spec::Fixed(Fault::Latency(SLOW)),
            times: None,
            read: TIMEOUT,
            stop: TIMEOUT,
            check: Check::None,
        },
        Case {
            name: "truncated JSON inf",
            fault: Spec::Fixed(Fault::TruncatedJson),
            times: None,
            read: INVALID,
            stop: OK_OR_INVALID,
            check: Check::None,
        },
        Case {
            name: "non-JSON 200 inf",
            fault: Spec::Fixed(Fault::NonJson),
            times: None,
            read: INVALID,
            stop: INVALID,
            check: Check::None,
        },
        Case {
            name: "HTML 200 inf",
            fault: Spec::Fixed(Fault::html(200)),
            times: None,
            read: INVALID,
            stop: INVALID,
            check: Check::None,
        },
        Case {
            name: "HTML 502 inf",
            fault: Spec::Fixed(Fault::html(502)),
            times: None,
            read: UNAVAILABLE,
            stop: UNAVAILABLE,
            check: Check::None,
        },
        Case {
            name: "empty 200 inf",
            fault: Spec::Fixed(Fault::EmptyOk),
            times: None,
            read: INVALID,
            stop: INVALID,
            check: Check::None,
        },
        Case {
            name: "wrong content-type inf",
            fault: Spec::Fixed(Fault::WrongContentType),
            times: None,
            read: OK_OR_INVALID,
            stop: OK_OR_INVALID,
            check: Check::None,
        },
        Case {
            name: "body 1MiB > cap, length",
            fault: Spec::Fixed(Fault::oversized(OVERSIZED)),
            times: None,
            read: INVALID,
            stop: INVALID,
            check: Check::None,
        },
        Case {
            name: "body 1MiB > cap, chunked",
            fault: Spec::Fixed(Fault::Oversized {
                bytes: OVERSIZED,
                content_length: false,
            }),
            times: None,
            read: INVALID,
            stop: INVALID,
            check: Check::None,
        },
        Case {
            name: "real body padded > cap",
            fault: Spec::Json(Mutation::PadOverCap),
            times: None,
            read: INVALID,
            stop: INVALID_OR_REQUESTED,
            check: Check::Damaged,
        },
        Case {
            name: "unknown state string",
            fault: Spec::Json(Mutation::UnknownState),
            times: None,
            read: OK,
            stop: REQUESTED,
            check: Check::UnknownState,
        },
        Case {
            name: "run id field missing",
            fault: Spec::Json(Mutation::NoId),
            times: None,
            read: INVALID,
            stop: INVALID_OR_REQUESTED,
            check: Check::Damaged,
        },
        Case {
            name: "state field missing",
            fault: Spec::Json(Mutation::NoState),
            times: None,
            read: INVALID,
            stop: INVALID_OR_REQUESTED,
            check: Check::Damaged,
        },
        Case {
            name: "extra fields",
            fault: Spec::Json(Mutation::ExtraFields),
            times: None,
            read: OK,
            stop: OK,
            check: Check::Baseline,
        },
        Case {
            name: "null run objects",
            fault: Spec::Json(Mutation::NullRuns),
            times: None,
            read: INVALID,
            stop: INVALID_OR_REQUESTED,
            check: Check::Damaged,
        },
        Case {
            name: "null envelope",
            fault: Spec::Json(Mutation::NullEnvelope),
            times: None,
            read: INVALID,
            stop: INVALID_OR_REQUESTED,
            check: Check::Damaged,
        },
    ]
}

// ---------------------------------------------------------------------------
// JSON rewrites.

/// Where a vendor's run objects are and what they call their fields.
#[derive(Clone, Copy)]
struct Shape {
    /// The run objects in an answer (the simulator's helper).
    runs: fn(&mut Value) -> Vec<&mut Value>,
    /// The field holding the vendor state.
    state: &'static str,
    /// Every field the adapter could take the run id from (fallbacks
    /// included), so removing them all leaves it none.
    ids: &'static [&'static str],
    /// The envelope fields around the run objects.
    envelope: &'static [&'static str],
}

/// The run objects of an answer that are JSON objects.
fn run_maps(
    shape: Shape,
    body: &mut Value,
) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    (shape.runs)(body)
        .into_iter()
        .filter_map(Value::as_object_mut)
}

/// The [`Fault::MapJson`] that applies `m` to an answer of `shape`.
fn rewrite(shape: Shape, m: Mutation) -> Fault {
    Fault::map_json(format!("{m:?}"), move |body| match m {
        Mutation::PadOverCap => {
            let padding = Value::String("x".repeat(BODY_CAP + 1));
            match body.as_object_mut() {
                Some(obj) => {
                    obj.insert("padding".into(), padding);
                }
                None => *body = json!({"original": body.take(), "padding": padding}),
            }
        }
        Mutation::UnknownState => {
            for run in (shape.runs)(body) {
                if let Some(state) = run.get_mut(shape.state) {
                    *state = Value::from(FLUX);
                }
            }
        }
        Mutation::NoId => {
            for run in run_maps(shape, body) {
                for id in shape.ids {
                    run.remove(*id);
                }
            }
        }
        Mutation::NoState => {
            for run in run_maps(shape, body) {
                run.remove(shape.state);
            }
        }
        Mutation::ExtraFields => {
            for run in run_maps(shape, body) {
                run.insert("x_unknown_string".into(), json!("surprise"));
                run.insert(
                    "x_unknown_object".into(),
                    json!({"nested": [1, null, {"deep": true}], "state": "succeeded"}),
                );
                run.insert("x_unknown_null".into(), Value::Null);
            }
            if let Some(obj) = body.as_object_mut() {
                obj.insert("x_top_level".into(), json!({"version": 99, "data": []}));
                obj.insert(
                    "x_top_list".into(),
                    json!([{"id": "decoy", "status": "idle"}]),
                );
            }
        }
        Mutation::NullRuns => {
            for run in (shape.runs)(body) {
                *run = Value::Null;
            }
        }
        Mutation::NullEnvelope => {
            let mut found = false;
            if let Some(obj) = body.as_object_mut() {
                for key in shape.envelope {
                    if let Some(v) = obj.get_mut(*key) {
                        *v = Value::Null;
                        found = true;
                    }
                }
            }
            if !found {
                *body = Value::Null;
            }
        }
    })
}

// ---------------------------------------------------------------------------
// One vendor: its simulator, controller and the hooks the matrix needs.

/// What the matrix asks of a vendor's simulator beyond [`AnySim`].
trait MatrixSim {
    /// Every route the adapter calls for list, status and stop, and nothing
    /// else (Chorus logs in on the same server; the others authenticate with
    /// a static token, a signature or a separate login server).
    fn route(&self) -> Route;
    /// Where its run objects are.
    fn shape(&self) -> Shape;
    fn fault(&self, spec: &Spec) -> Fault;
    /// A new running run, never stopped before.
    fn fresh_running(&self) -> String;
    /// The run's raw state as the simulator holds it.
    fn raw(&self, id: &str) -> String;
}

impl MatrixSim for Sim {
    fn route(&self) -> Route {
        match self.vendor() {
            "chorus" => Route::prefix("/api/work"),
            _ => Route::any(),
        }
    }

    fn shape(&self) -> Shape {
        match self.vendor() {
            "amperity" => Shape {
                runs: amperity::run_objects,
                state: "state",
                ids: &["id", "workflow_id"],
                envelope: &["data"],
            },
            "chorus" => Shape {
                runs: chorus::run_objects,
                state: "status",
                ids: &["id"],
                envelope: &["response", "pagination"],
            },
            // Jobs are named by `name`; instances by `jobName` and
            // `instanceId` (the adapter falls back on the requested job name,
            // so the instance id is what is really required).
            "dataarts" => Shape {
                runs: dataarts::run_objects,
                state: "status",
                ids: &["name", "jobName", "instanceId"],
                envelope: &["jobs", "instances"],
            },
            _ => Shape {
                runs: centurylink::run_objects,
                state: "status",
                ids: &["execution_id", "executionId", "id", "job_id", "jobId"],
                envelope: &["results"],
            },
        }
    }

    fn fault(&self, spec: &Spec) -> Fault {
        match spec {
            Spec::Fixed(f) => f.clone(),
            Spec::Json(m) => rewrite(self.shape(), *m),
        }
    }

    fn fresh_running(&self) -> String {
        self.insert_running()
            .expect("the simulator has a job to run")
    }

    fn raw(&self, id: &str) -> String {
        self.raw_state(id).expect("the run exists")
    }
}

struct Vendor {
    name: &'static str,
    sim: Sim,
    ctrl: Box<dyn JobController>,
    status_id: RunId,
}

async fn amperity() -> Vendor {
    amperity_with("amperity", 21, |b| b).await
}

/// Amperity as `responses.rst` reads: 409 for a stop on a finished run and
/// `request_id`/`trace_id` in error bodies (the simulator's defaults follow
/// the published OpenAPI file instead).
async fn amperity_responses_rst() -> Vendor {
    amperity_with("amperity-409", 26, |b| {
        b.terminal_stop(TerminalStop::Conflict)
            .with_request_ids(true)
    })
    .await
}

async fn amperity_with(
    name: &'static str,
    seed: u64,
    reading: impl FnOnce(AmperitySimBuilder) -> AmperitySimBuilder,
) -> Vendor {
    let sim = reading(AmperitySim::builder().seed(seed).running(3).finished(5))
        .start()
        .await
        .unwrap();
    let ctrl = AmperityBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.ids()[0].clone());
    Vendor {
        name,
        sim: Box::new(sim),
        ctrl: Box::new(ctrl),
        status_id,
    }
}

async fn chorus() -> Vendor {
    let sim = ChorusSim::builder()
        .seed(22)
        .running(3)
        .idle(5)
        .start()
        .await
        .unwrap();
    let ctrl = ChorusBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.ids()[0].clone());
    Vendor {
        name: "chorus",
        sim: Box::new(sim),
        ctrl: Box::new(ctrl),
        status_id,
    }
}

/// Chorus again, serving the Rails presenters' reading of the JSON
/// (`ChorusWire::RailsPresenters`), with its status cells on a SQL workfile:
/// the workflow listing never shows one, so these read
/// `GET /api/workfiles/:id`, while the first Chorus column's status cells
/// read a listed workflow through the name-filtered listing.
async fn chorus_rails() -> Vendor {
    let sim = ChorusSim::builder()
        .seed(24)
        .wire(ChorusWire::RailsPresenters)
        .running(3)
        .idle(5)
        .insert_workfile(WorkfileSeed::new("idle").with_file_type("sql"))
        .start()
        .await
        .unwrap();
    let ctrl = ChorusBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let sql = sim
        .ids_in(sim.workspace_id())
        .into_iter()
        .find(|id| !sim.ids().contains(id))
        .unwrap();
    Vendor {
        name: "chorus/rails",
        sim: Box::new(sim),
        ctrl: Box::new(ctrl),
        status_id: RunId::new(sql),
    }
}

async fn dataarts() -> Vendor {
    let sim = DataArtsSim::builder()
        .seed(23)
        .batch_jobs(2)
        .realtime_jobs(1, 1)
        .instances(8)
        .running_instances(2)
        .start()
        .await
        .unwrap();
    let ctrl = DataArtsBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.instance_ids(None)[0].clone());
    Vendor {
        name: "dataarts",
        sim: Box::new(sim),
        ctrl: Box::new(ctrl),
        status_id,
    }
}

async fn centurylink() -> Vendor {
    centurylink_with("centurylink", 24, |b| b).await
}

/// CenturyLink as the knowledge base (`CenturyLinkCloud/PublicKB`
/// `Runner/job-service.md`) reads: no single-execution GET (status goes
/// through the job's executions list) and the job GET as a one-element
/// array.
async fn centurylink_kb() -> Vendor {
    centurylink_with("centurylink-kb", 25, |b| {
        b.execution_get(false).job_array(true)
    })
    .await
}

async fn centurylink_with(
    name: &'static str,
    seed: u64,
    reading: impl FnOnce(CenturyLinkSimBuilder) -> CenturyLinkSimBuilder,
) -> Vendor {
    let sim = reading(
        CenturyLinkSim::builder()
            .seed(seed)
            .jobs(1)
            .executions_per_job(4),
    )
    .start()
    .await
    .unwrap();
    let ctrl = CenturyLinkBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.ids()[0].clone());
    Vendor {
        name,
        sim: Box::new(sim),
        ctrl: Box::new(ctrl),
        status_id,
    }
}

// ---------------------------------------------------------------------------
// Running the cells.

struct CellResult {
    case: usize,
    op: Op,
    outcome: Outcome,
    /// For stops: whether the simulator applied the stop.
    applied: Option<bool>,
    /// Why the cell fails, if it does.
    problem: Option<String>,
}

impl CellResult {
    fn label(&self) -> String {
        let mut s = self.outcome.label();
        // `+`: the simulator applied the stop although the call failed.
        if self.applied == Some(true) && matches!(self.outcome, Outcome::Err(_)) {
            s.push('+');
        }
        if self.problem.is_some() {
            s.push('!');
        }
        s
    }
}

/// What a successful operation returned.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    /// The runs of up to two pages, and each page's next cursor.
    List(Vec<Run>, Vec<Option<Cursor>>),
    Status(Run),
    Stop(&'static str, Run),
}

impl Got {
    fn runs(&self) -> Vec<&Run> {
        match self {
            Got::List(runs, _) => runs.iter().collect(),
            Got::Status(run) | Got::Stop(_, run) => vec![run],
        }
    }

    /// Without the vendor's JSON (which holds any extra fields), and for a
    /// stop only what does not differ from one run to another.
    fn normalized(&self) -> Got {
        let strip = |r: &Run| {
            let mut r = r.clone();
            r = r.without_raw();
            r
        };
        match self {
            Got::List(runs, cursors) => {
                Got::List(runs.iter().map(strip).collect(), cursors.clone())
            }
            Got::Status(run) => Got::Status(strip(run)),
            Got::Stop(outcome, run) => {
                let mut bare = Run::new(run.vendor.clone(), RunId::new("-"), run.state, "");
                bare.vendor_state = run.vendor_state.clone();
                Got::Stop(outcome, bare)
            }
        }
    }
}

/// The first page and, when there is one, the next (so a vendor whose first
/// page comes from another source, e.g. DataArts' real-time jobs before its
/// batch instances, has both read).
async fn list_two_pages(ctrl: &dyn JobController) -> jobstop::Result<Got> {
    let mut runs = Vec::new();
    let mut cursors = Vec::new();
    let mut query = ListQuery::new().with_page_size(5);
    for _ in 0..2 {
        let page = ctrl.list(&query).await?;
        runs.extend(page.runs);
        cursors.push(page.next_cursor.clone());
        match page.next_cursor {
            Some(c) => query = ListQuery::new().with_page_size(5).with_cursor(c),
            None => break,
        }
    }
    Ok(Got::List(runs, cursors))
}

/// Runs `op` (on `stop_id` for a stop) under the cell deadline.
async fn perform(v: &Vendor, op: Op, stop_id: Option<&str>) -> Result<Got, Outcome> {
    let fut = async {
        match op {
            Op::List => list_two_pages(v.ctrl.as_ref()).await,
            Op::Status => v.ctrl.status(&v.status_id).await.map(Got::Status),
            Op::Stop => {
                let id = RunId::new(stop_id.unwrap_or_default());
                v.ctrl
                    .stop(&id, &StopRequest::graceful())
                    .await
                    .map(|o| Got::Stop(o.as_str(), o.into_run()))
            }
        }
    };
    match tokio::time::timeout(CELL_DEADLINE, fut).await {
        Ok(Ok(got)) => Ok(got),
        Ok(Err(e)) => Err(Outcome::Err(e.kind())),
        Err(_) => Err(Outcome::Hung),
    }
}

/// Why a success breaks `check`, if it does. `baseline` holds the unfaulted
/// results to compare with, for [`Check::Baseline`].
fn check_success(check: Check, op: Op, got: &Got, baseline: &[Got]) -> Option<String> {
    match check {
        Check::None => None,
        Check::Damaged => match got {
            Got::Stop(outcome, run) if run.state != RunState::Unknown => Some(format!(
                "reported {outcome} with state {:?} ({:?}) from a damaged answer",
                run.state, run.vendor_state
            )),
            Got::Stop(..) => None,
            other => Some(format!("succeeded on a damaged answer: {other:?}")),
        },
        Check::UnknownState => {
            let runs = got.runs();
            if runs.is_empty() {
                return Some("no runs came back, so nothing was checked".to_owned());
            }
            runs.iter()
                .find(|r| r.state != RunState::Unknown || r.vendor_state != FLUX)
                .map(|r| {
                    format!(
                        "run {} came back {:?} with vendor state {:?}, not unknown {FLUX:?}",
                        r.id, r.state, r.vendor_state
                    )
                })
        }
        Check::Baseline => {
            let got = got.normalized();
            let baseline: Vec<Got> = baseline.iter().map(Got::normalized).collect();
            if baseline.contains(&got) || same_runs_as_one_or_other(&got, &baseline) {
                None
            } else {
                Some(format!(
                    "{} differs from the unfaulted result:\n    got      {got:?}\n    expected {:?}",
                    op.as_str(),
                    baseline.first().map(Got::normalized)
                ))
            }
        }
    }
}

/// Whether a listing shows the ids and cursors of one of the `baseline`
/// listings, each run as one baseline or another shows it. Runs stopped by
/// earlier cells finish stopping on their own: one that finished between
/// the first baseline and the faulted listing, and another between that and
/// the second baseline, leave a faulted listing equal to neither baseline
/// though every run in it is right.
fn same_runs_as_one_or_other(got: &Got, baseline: &[Got]) -> bool {
    let Got::List(runs, cursors) = got else {
        return false;
    };
    let ids = |runs: &[Run]| runs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    let lists: Vec<(&Vec<Run>, &Vec<Option<Cursor>>)> = baseline
        .iter()
        .filter_map(|b| match b {
            Got::List(r, c) => Some((r, c)),
            _ => None,
        })
        .collect();
    let shaped = lists
        .iter()
        .any(|(r, c)| ids(r) == ids(runs) && *c == cursors);
    shaped
        && runs
            .iter()
            .all(|run| lists.iter().any(|(r, _)| r.contains(run)))
}

async fn run_cell(v: &Vendor, case_idx: usize, case: &Case, op: Op) -> CellResult {
    let faults = v.sim.faults();
    faults.clear();
    let run_for_stop = (op == Op::Stop).then(|| v.sim.fresh_running());

    // The unfaulted result to compare with: for a stop, another run's.
    let mut baseline = Vec::new();
    if case.check == Check::Baseline {
        let other = (op == Op::Stop).then(|| v.sim.fresh_running());
        if let Ok(got) = perform(v, op, other.as_deref()).await {
            baseline.push(got);
        }
    }

    let mut rule = FaultRule::new(v.sim.route(), v.sim.fault(&case.fault));
    if let Some(n) = case.times {
        rule = rule.times(n);
    }
    faults.add(rule);
    let result = perform(v, op, run_for_stop.as_deref()).await;
    faults.clear();

    if case.check == Check::Baseline
        && op != Op::Stop
        && let Ok(got) = perform(v, op, None).await
    {
        baseline.push(got);
    }

    let outcome = match &result {
        Ok(Got::Stop(o, _)) => Outcome::Ok(o),
        Ok(_) => Outcome::Ok("ok"),
        Err(o) => *o,
    };
    let allowed = if op == Op::Stop { case.stop } else { case.read };
    let mut problem = if allowed.iter().any(|a| a.admits(outcome)) {
        None
    } else {
        Some(format!(
            "{} {} under `{}`: got {}, allowed {:?}",
            v.name,
            op.as_str(),
            case.name,
            outcome.label(),
            allowed
        ))
    };
    if let (None, Ok(got)) = (&problem, &result) {
        problem = check_success(case.check, op, got, &baseline)
            .map(|why| format!("{} {} under `{}`: {why}", v.name, op.as_str(), case.name));
    }

    let mut applied = None;
    if let Some(id) = run_for_stop {
        let hits = v.sim.stop_requests(&id);
        let state = v.sim.raw(&id);
        let still_running = state.eq_ignore_ascii_case("running");
        let was_applied = hits > 0 && !still_running;
        applied = Some(was_applied);
        // Every outcome claims an effect here: the run was running, so
        // `already_finished` is only true if an earlier attempt stopped it.
        let claims_effect = matches!(
            outcome,
            Outcome::Ok("requested" | "stopped" | "already_finished")
        );
        if claims_effect && !was_applied && problem.is_none() {
            problem = Some(format!(
                "{} stop under `{}` reported {} but the simulator saw {hits} stop request(s) \
                 and the run is `{state}`",
                v.name,
                case.name,
                outcome.label()
            ));
        }
    }
    CellResult {
        case: case_idx,
        op,
        outcome,
        applied,
        problem,
    }
}

async fn run_vendor(v: Vendor, cases: &[Case]) -> (&'static str, Vec<CellResult>, Duration) {
    let started = Instant::now();
    // Warm up: log in / open a session before any fault is installed.
    v.ctrl
        .list(&ListQuery::new().with_page_size(1))
        .await
        .unwrap();
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        for op in OPS {
            out.push(run_cell(&v, i, case, op).await);
        }
    }
    (v.name, out, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_matrix() {
    let started = Instant::now();
    let cases = cases();
    let (a, c, cr, d, l) = tokio::join!(
        amperity(),
        chorus(),
        chorus_rails(),
        dataarts(),
        centurylink()
    );
    let (a409, lkb) = tokio::join!(amperity_responses_rst(), centurylink_kb());
    let (ra, rc, rcr, rd, rl, ra409, rlkb) = tokio::join!(
        run_vendor(a, &cases),
        run_vendor(c, &cases),
        run_vendor(cr, &cases),
        run_vendor(d, &cases),
        run_vendor(l, &cases),
        run_vendor(a409, &cases),
        run_vendor(lkb, &cases),
    );
    let vendors = [ra, rc, rcr, rd, rl, ra409, rlkb];

    // The table: rows = fault, columns = vendor × operation.
    let w0 = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let wc = 11;
    let mut table = String::new();
    let _ = write!(table, "{:w0$} ", "");
    for (name, _, _) in &vendors {
        let _ = write!(table, "| {:^w$} ", name, w = wc * 3 + 2);
    }
    table.push('\n');
    let _ = write!(table, "{:w0$} ", "fault");
    for _ in &vendors {
        table.push('|');
        for op in OPS {
            let _ = write!(table, " {:wc$}", op.as_str());
        }
        table.push(' ');
    }
    table.push('\n');
    let _ = writeln!(
        table,
        "{}",
        "-".repeat(w0 + 1 + vendors.len() * (wc * 3 + 5))
    );
    for (i, case) in cases.iter().enumerate() {
        let _ = write!(table, "{:w0$} ", case.name);
        for (_, cells, _) in &vendors {
            table.push('|');
            for op in OPS {
                let cell = cells.iter().find(|c| c.case == i && c.op == op).unwrap();
                let _ = write!(table, " {:wc$}", cell.label());
            }
            table.push(' ');
        }
        table.push('\n');
    }
    eprintln!(
        "\nfault matrix (`+`: the stop failed but the simulator applied it; `!`: not allowed)\n{table}"
    );
    for (name, _, took) in &vendors {
        eprintln!("{name}: {took:.1?}");
    }
    eprintln!("total: {:.1?}", started.elapsed());

    let problems: Vec<&String> = vendors
        .iter()
        .flat_map(|(_, cells, _)| cells.iter().filter_map(|c| c.problem.as_ref()))
        .collect();
    assert!(
        problems.is_empty(),
        "{} cell(s) outside their allowed set:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the matrix took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// DataArts job shapes: the cells the real job detail adds. A job's status is
// read from its detail (HSDK `show_job_response.py`: `processType`, no
// `status`) and then `/status` (real-time) or the job list (batch); each row
// damages one of those answers, for status and stop of each kind of job.

#[tokio::test]
async fn dataarts_job_shape_cells() {
    use jobstop::StopOutcome;
    use jobstop_sim::dataarts::JobSeed;

    type Rewrite = fn(&mut Value);
    struct JobCell {
        name: &'static str,
        route: &'static str,
        rewrite: Rewrite,
        /// Allowed outcome for (real-time, batch): `None` = any error of
        /// kind `InvalidResponse`, `Some(check)` = success passing the check.
        realtime: Option<fn(&Run) -> bool>,
        batch: Option<fn(&Run) -> bool>,
    }
    fn no_times(r: &Run) -> bool {
        r.started_at.is_none() && r.ended_at.is_none() && r.state != RunState::Unknown
    }
    fn known(r: &Run) -> bool {
        r.state != RunState::Unknown
    }
    fn unknown(r: &Run) -> bool {
        r.state == RunState::Unknown && r.vendor_state == FLUX
    }
    let cells: Vec<JobCell> = vec![
        JobCell {
            name: "detail without processType",
            route: "/v1/*/jobs/*",
            rewrite: |b| {
                b.as_object_mut().map(|o| o.remove("processType"));
            },
            realtime: Some(known),
            batch: Some(known),
        },
        JobCell {
            name: "detail with an odd createTime",
            route: "/v1/*/jobs/*",
            rewrite: |b| b["createTime"] = json!("yesterday"),
            realtime: Some(|r| r.created_at.is_none() && known(r)),
            batch: Some(known),
        },
        JobCell {
            name: "detail with createTime as a string",
            route: "/v1/*/jobs/*",
            rewrite: |b| b["createTime"] = json!("1695642745000"),
            realtime: Some(|r| {
                r.created_at
                    .is_some_and(|t| t.timestamp_millis() == 1695642745000)
            }),
            batch: Some(|r| {
                r.created_at
                    .is_some_and(|t| t.timestamp_millis() == 1695642745000)
            }),
        },
        JobCell {
            name: "status with odd times",
            route: "/v1/*/jobs/*/status",
            rewrite: |b| {
                b["starttime"] = json!("soon");
                b["endTime"] = json!([1]);
                b["lastUpdateTime"] = json!(null);
            },
            realtime: Some(no_times),
            batch: Some(known),
        },
        JobCell {
            name: "status with an unknown state",
            route: "/v1/*/jobs/*/status",
            rewrite: |b| b["status"] = json!(FLUX),
            realtime: Some(unknown),
            batch: Some(known),
        },
        JobCell {
            name: "status without status",
            route: "/v1/*/jobs/*/status",
            rewrite: |b| {
                b.as_object_mut().map(|o| o.remove("status"));
            },
            realtime: None,
            batch: Some(known),
        },
        JobCell {
            name: "job list without the job",
            route: "/v1/*/jobs",
            rewrite: |b| b["jobs"] = json!([]),
            realtime: Some(known),
            batch: None,
        },
    ];
    let sim = DataArtsSim::builder()
        .seed(25)
        .stop_delay(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let ctrl = DataArtsBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let mut problems = Vec::new();
    let mut table = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let _ = write!(table, "{:36}", cell.name);
        for (kind, allowed) in [("realtime", cell.realtime), ("batch", cell.batch)] {
            for op in [Op::Status, Op::Stop] {
                let name = format!("{kind}_{}_{i}", op.as_str());
                sim.insert_job(if kind == "realtime" {
                    JobSeed::realtime(name.clone(), "NORMAL")
                } else {
                    JobSeed::batch(name.clone(), "SCHEDULING")
                });
                let rewrite = cell.rewrite;
                sim.faults().clear();
                sim.faults().add(FaultRule::new(
                    Route::get(cell.route),
                    Fault::map_json(cell.name, rewrite),
                ));
                let id = RunId::new(name.clone());
                let result = tokio::time::timeout(CELL_DEADLINE, async {
                    match op {
                        Op::Stop => ctrl
                            .stop(&id, &StopRequest::graceful())
                            .await
                            .map(StopOutcome::into_run),
                        _ => ctrl.status(&id).await,
                    }
                })
                .await
                .expect("a DataArts job cell hung");
                sim.faults().clear();
                let label = match &result {
                    Ok(r) => format!("ok:{:?}", r.state),
                    Err(e) => short_kind(e.kind()).to_owned(),
                };
                let _ = write!(table, " | {kind} {} {label:14}", op.as_str());
                let fine = match (op, allowed, &result) {
                    (Op::Status, Some(check), Ok(run)) => check(run),
                    (Op::Status, None, Err(e)) => e.kind() == ErrorKind::InvalidResponse,
                    // A stop was accepted (204); a damaged read-back may only
                    // weaken what is reported, never fail the stop.
                    (Op::Stop, _, Ok(_)) => true,
                    _ => false,
                };
                let stopped = sim.stop_requests(&name) == 1;
                if !fine || (op == Op::Stop && !stopped) {
                    problems.push(format!("{} / {kind} {}: {label}", cell.name, op.as_str()));
                }
            }
        }
        table.push('\n');
    }
    eprintln!("\nDataArts job shapes\n{table}");
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------------------
// The endless-cursor row: each vendor's simulator hands out a fresh cursor
// (or next page) on every list answer, forever (`jobstop_sim::endless`), with
// either the same runs on every page or new ones. `list_all_with_limits`
// must end every cell in `ErrorKind::EndlessListing` within its bounds: at
// the second page for the same runs (no progress), at the page budget for
// new runs; the simulator must have answered no list request past the
// budget. Each cell runs under the outer cell deadline, so a hang fails.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endless_cursor_row() {
    use futures::TryStreamExt;
    use jobstop::{JobControllerExt, ListBound, ListLimits};
    use jobstop_sim::endless::EndlessRuns;

    /// The page budget of these cells.
    const MAX_PAGES: u64 = 40;
    const PAGE: usize = 5;
    let limits = ListLimits::default()
        .with_max_pages(MAX_PAGES)
        .with_deadline(Duration::from_secs(8));

    let (a, c, cr, d, l) = tokio::join!(
        amperity(),
        chorus(),
        chorus_rails(),
        dataarts(),
        centurylink()
    );
    let (a409, lkb) = tokio::join!(amperity_responses_rst(), centurylink_kb());
    let vendors = [a, c, cr, d, l, a409, lkb];

    let mut table = String::new();
    let mut problems = Vec::new();
    for v in &vendors {
        // Warm up (log in) before the fault.
        v.ctrl
            .list(&ListQuery::new().with_page_size(1))
            .await
            .unwrap();
        let _ = write!(table, "{:14}", v.name);
        for (runs, want) in [
            (EndlessRuns::Same, ListBound::NoProgress),
            (EndlessRuns::New, ListBound::Pages(MAX_PAGES)),
        ] {
            let rule = v.sim.endless(PAGE, runs);
            let faults = v.sim.faults();
            faults.clear();
            let id = faults.add(rule);
            let started = Instant::now();
            let result = tokio::time::timeout(
                CELL_DEADLINE,
                v.ctrl
                    .list_all_with_limits(ListQuery::new().with_page_size(PAGE as u32), limits)
                    .try_collect::<Vec<Run>>(),
            )
            .await;
            let took = started.elapsed();
            let served = faults.applied(id);
            faults.clear();
            let label = match &result {
                Err(_) => "HUNG".to_owned(),
                Ok(Ok(all)) => format!("ok ({} runs)", all.len()),
                Ok(Err(e)) => match e.list_bound() {
                    Some(b) => format!("{} {}", short_kind(e.kind()), b.as_str()),
                    None => short_kind(e.kind()).to_owned(),
                },
            };
            let _ = write!(
                table,
                " | {runs:?}: {label:22} {served:>3} pages {took:>7.1?}"
            );
            let fine = matches!(&result, Ok(Err(e))
                if e.kind() == ErrorKind::EndlessListing && e.list_bound() == Some(want));
            if !fine {
                problems.push(format!("{} {runs:?}: {label}, wanted {want:?}", v.name));
            }
            if served > MAX_PAGES {
                problems.push(format!(
                    "{} {runs:?}: the simulator answered {served} list pages, past the budget of {MAX_PAGES}",
                    v.name
                ));
            }
        }
        table.push('\n');
    }
    eprintln!("\nendless cursor (pages: list answers the simulator rewrote)\n{table}");
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------------------
// Lost and slow stop answers, hanging logins.
//
// A stop that reached the vendor but whose answer was lost (the connection
// closed after the handler ran) or arrived after the attempt timeout is sent
// again; the vendor then refuses to stop a run that is already stopped (409
// or 400, or Chorus' `202 idle`). That refusal must be read as "the lost
// attempt stopped it": `stopped` (or `requested` while it is still
// stopping), never `already_finished` ("it ended on its own") and never an
// input error. A stop whose every answer is slower than the attempt timeout
// ends in a typed `Timeout` at the budget; the simulator applied it, and
// the error says an attempt's answer was lost.

/// Every `POST`: after the warm-up (logins done) the only `POST`s a stop
/// sends are the stop itself.
fn stop_posts() -> Route {
    Route::post_prefix("/")
}

struct StopRow {
    name: &'static str,
    fault: Fault,
    times: Option<u64>,
    allowed: &'static [Allowed],
}

const STOPPED_OR_REQUESTED: &[Allowed] = &[Allowed::Stop("stopped"), Allowed::Stop("requested")];
const STOPPED_REQUESTED_OR_TIMEOUT: &[Allowed] = &[
    Allowed::Stop("stopped"),
    Allowed::Stop("requested"),
    Kind(ErrorKind::Timeout),
];

fn stop_rows() -> Vec<StopRow> {
    vec![
        StopRow {
            name: "lost stop answer x1",
            fault: Fault::CloseAfterHandler,
            times: Some(1),
            allowed: STOPPED_OR_REQUESTED,
        },
        StopRow {
            name: "slow stop answer 600ms x1",
            fault: Fault::SlowAnswer(SLOW),
            times: Some(1),
            allowed: STOPPED_OR_REQUESTED,
        },
        StopRow {
            name: "slow stop under deadline",
            fault: Fault::SlowAnswer(SLOW),
            times: None,
            allowed: STOPPED_REQUESTED_OR_TIMEOUT,
        },
    ]
}

/// One stop row for one vendor: why it fails, if it does, and its label.
async fn run_stop_row(v: &Vendor, row: &StopRow) -> (String, Option<String>) {
    let faults = v.sim.faults();
    faults.clear();
    let id = v.sim.fresh_running();
    let mut rule = FaultRule::new(stop_posts(), row.fault.clone());
    if let Some(n) = row.times {
        rule = rule.times(n);
    }
    faults.add(rule);
    let result = tokio::time::timeout(
        CELL_DEADLINE,
        v.ctrl
            .stop(&RunId::new(id.clone()), &StopRequest::graceful()),
    )
    .await;
    faults.clear();
    let hits = v.sim.stop_requests(&id);
    let state = v.sim.raw(&id);
    let applied = hits > 0 && !state.eq_ignore_ascii_case("running");
    let (outcome, err) = match result {
        Ok(Ok(o)) => (Outcome::Ok(o.as_str()), None),
        Ok(Err(e)) => (Outcome::Err(e.kind()), Some(e)),
        Err(_) => (Outcome::Hung, None),
    };
    let mut label = outcome.label();
    let mut problem = None;
    if !row.allowed.iter().any(|a| a.admits(outcome)) {
        problem = Some(format!(
            "{} stop under `{}`: got {label} ({}), allowed {:?}",
            v.name,
            row.name,
            err.as_ref().map(ToString::to_string).unwrap_or_default(),
            row.allowed
        ));
    }
    if !applied {
        problem.get_or_insert(format!(
            "{} stop under `{}`: the simulator saw {hits} stop request(s) and the run is \
             `{state}`; every row here lets the first stop through",
            v.name, row.name
        ));
    }
    if let Some(e) = &err {
        label.push('+');
        if !e.had_unanswered_attempt() {
            problem.get_or_insert(format!(
                "{} stop under `{}`: the error does not say an attempt's answer was lost: {e}",
                v.name, row.name
            ));
        }
    }
    (label, problem)
}

async fn run_stop_rows(v: &Vendor, rows: &[StopRow]) -> Vec<(String, Option<String>)> {
    // Warm up: log in / open a session before any fault is installed.
    v.ctrl
        .list(&ListQuery::new().with_page_size(1))
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in rows {
        out.push(run_stop_row(v, row).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_and_slow_stop_answer_rows() {
    let rows = stop_rows();
    // Amperity and CenturyLink hold a stopped run in its stopping state for
    // 300 ms; here they stop at once, so the stop sent again after a lost
    // answer finds the run already terminal (the case that was reported as
    // "ended on its own").
    let now = Duration::ZERO;
    let (a, c, cr, d, l) = tokio::join!(
        amperity_with("amperity", 31, |b| b.stop_delay(now)),
        chorus(),
        chorus_rails(),
        dataarts(),
        centurylink_with("centurylink", 34, |b| b.stop_delay(now)),
    );
    let (a409, lkb) = tokio::join!(
        amperity_with("amperity-409", 36, |b| {
            b.terminal_stop(TerminalStop::Conflict)
                .with_request_ids(true)
                .stop_delay(now)
        }),
        centurylink_with("centurylink-kb", 35, |b| {
            b.execution_get(false).job_array(true).stop_delay(now)
        }),
    );
    let vendors = [a, c, cr, d, l, a409, lkb];
    let results = futures::future::join_all(vendors.iter().map(|v| run_stop_rows(v, &rows))).await;

    let w0 = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut table = format!("{:w0$} ", "stop row");
    for v in &vendors {
        let _ = write!(table, "| {:14} ", v.name);
    }
    table.push('\n');
    for (i, row) in rows.iter().enumerate() {
        let _ = write!(table, "{:w0$} ", row.name);
        for cells in &results {
            let _ = write!(table, "| {:14} ", cells[i].0);
        }
        table.push('\n');
    }
    eprintln!("\nlost and slow stop answers (`+`: an error after the stop was applied)\n{table}");
    let problems: Vec<&String> = results
        .iter()
        .flat_map(|cells| cells.iter().filter_map(|(_, p)| p.as_ref()))
        .collect();
    assert!(
        problems.is_empty(),
        "{} cell(s) wrong:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------
// Hanging logins: the vendors with a login or token endpoint, configured to
// use it (Amperity OAuth client credentials, Chorus session login, DataArts
// IAM password, CenturyLink login). The endpoint answers after 30 s; four
// concurrent stops must each fail at their own budget with a typed
// `Timeout`, sharing one login attempt, and nothing is stopped.

/// The budget of one call in the hanging-login rows (the attempt timeout is
/// longer, so only the budget bounds a call).
const LOGIN_BUDGET: Duration = Duration::from_millis(1500);

fn login_config() -> ClientConfig {
    short_config()
        .with_attempt_timeout(Duration::from_secs(5))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_budget(LOGIN_BUDGET)
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
}

/// A vendor with login auth, the route of its login endpoint, and the end
/// of that endpoint's path (to count the login requests).
struct LoginVendor {
    v: Vendor,
    login_route: Route,
    login_path_end: &'static str,
}

impl LoginVendor {
    /// The server the login endpoint is on.
    fn login_server(&self) -> &jobstop_sim::SimServer {
        self.v.sim.auth_server().unwrap_or(self.v.sim.server())
    }

    fn logins(&self) -> usize {
        self.login_server()
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path().ends_with(self.login_path_end))
            .count()
    }
}

async fn login_vendors() -> Vec<LoginVendor> {
    let amperity = AmperitySim::builder()
        .seed(41)
        .running(2)
        .start()
        .await
        .unwrap();
    let chorus = ChorusSim::builder()
        .seed(42)
        .running(2)
        .start()
        .await
        .unwrap();
    let dataarts = DataArtsSim::builder()
        .seed(43)
        .batch_jobs(1)
        .instances(2)
        .running_instances(1)
        .start()
        .await
        .unwrap();
    let centurylink = CenturyLinkSim::builder()
        .seed(44)
        .jobs(1)
        .executions_per_job(2)
        .start()
        .await
        .unwrap();
    vec![
        LoginVendor {
            login_route: Route::post_prefix("/v0/oauth2/token"),
            login_path_end: "/oauth2/token",
            v: Vendor {
                name: "amperity/oauth",
                status_id: RunId::new(amperity.ids()[0].clone()),
                ctrl: Box::new(
                    AmperityBuilder::from_lookup(lookup(amperity.oauth_env()))
                        .with_client_config(login_config())
                        .build()
                        .unwrap(),
                ),
                sim: Box::new(amperity),
            },
        },
        LoginVendor {
            login_route: Route::post_prefix("/api/sessions"),
            login_path_end: "/sessions",
            v: Vendor {
                name: "chorus/login",
                status_id: RunId::new(chorus.ids()[0].clone()),
                ctrl: Box::new(
                    ChorusBuilder::from_lookup(lookup(chorus.env()))
                        .with_client_config(login_config())
                        .build()
                        .unwrap(),
                ),
                sim: Box::new(chorus),
            },
        },
        LoginVendor {
            login_route: Route::any(),
            login_path_end: "",
            v: Vendor {
                name: "dataarts/iam",
                status_id: RunId::new(dataarts.instance_ids(None)[0].clone()),
                ctrl: Box::new(
                    DataArtsBuilder::from_lookup(lookup(dataarts.env_iam()))
                        .with_client_config(login_config())
                        .build()
                        .unwrap(),
                ),
                sim: Box::new(dataarts),
            },
        },
        LoginVendor {
            login_route: Route::any(),
            login_path_end: "",
            v: Vendor {
                name: "centurylink/login",
                status_id: RunId::new(centurylink.ids()[0].clone()),
                ctrl: Box::new(
                    CenturyLinkBuilder::from_lookup(lookup(centurylink.env()))
                        .with_client_config(login_config())
                        .build()
                        .unwrap(),
                ),
                sim: Box::new(centurylink),
            },
        },
    ]
}

/// Four concurrent stops against a hanging login: why the row fails for
/// this vendor, if it does, and its label.
async fn hanging_login_row(lv: &LoginVendor) -> (String, Option<String>) {
    let v = &lv.v;
    let login_faults = lv.login_server().faults();
    login_faults.clear();
    login_faults.add(FaultRule::new(
        lv.login_route.clone(),
        Fault::Latency(Duration::from_secs(30)),
    ));
    let ids: Vec<String> = (0..4).map(|_| v.sim.fresh_running()).collect();
    let started = Instant::now();
    let results = tokio::time::timeout(
        CELL_DEADLINE,
        futures::future::join_all(ids.iter().map(|id| {
            let id = RunId::new(id.clone());
            async move { v.ctrl.stop(&id, &StopRequest::graceful()).await }
        })),
    )
    .await;
    let took = started.elapsed();
    login_faults.clear();
    let logins = lv.logins();
    let Ok(results) = results else {
        return ("HUNG".into(), Some(format!("{}: four stops hung", v.name)));
    };
    let mut problems = Vec::new();
    for r in &results {
        match r {
            Err(e) if e.kind() == ErrorKind::Timeout => {}
            other => problems.push(format!("a stop ended {other:?}, not a Timeout")),
        }
    }
    // Each call fails at its own 1.5 s budget; four logins one after the
    // other behind a lock took 6 s.
    let bound = LOGIN_BUDGET + Duration::from_millis(1500);
    if took > bound {
        problems.push(format!(
            "four concurrent stops took {took:?} (bound {bound:?})"
        ));
    }
    if logins != 1 {
        problems.push(format!("{logins} login requests, not one shared login"));
    }
    for id in &ids {
        if v.sim.stop_requests(id) != 0 {
            problems.push(format!("{id} was stopped without a login"));
        }
    }
    let label = format!("timeout {:.1}s {logins} login", took.as_secs_f64());
    let problem = (!problems.is_empty()).then(|| format!("{}: {}", v.name, problems.join("; ")));
    (label, problem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hanging_login_rows() {
    let vendors = login_vendors().await;
    let results = futures::future::join_all(vendors.iter().map(hanging_login_row)).await;
    let mut table = String::from("hanging login (4 concurrent stops)\n");
    for (lv, (label, _)) in vendors.iter().zip(&results) {
        let _ = writeln!(table, "  {:18} {label}", lv.v.name);
    }
    eprintln!("\n{table}");
    let problems: Vec<&String> = results.iter().filter_map(|(_, p)| p.as_ref()).collect();
    assert!(
        problems.is_empty(),
        "{} vendor(s) wrong:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
