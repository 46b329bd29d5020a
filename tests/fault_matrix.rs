//! The fault matrix: every adapter, through its simulator, under every
//! scripted fault, for each of list, status and stop.
//!
//! Each cell installs one fault on the routes the operation uses, runs the
//! operation with a short client configuration under a hard timeout, and
//! classifies the result as `ok` or the error kind. Every cell must land in
//! the set allowed for its fault, and a stop must never be reported
//! `Stopped`/`Requested` (or `AlreadyFinished` for a run that was running)
//! unless the simulator actually applied it.

#![cfg(feature = "full")]
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::chorus::ChorusBuilder;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::http::{ClientConfig, RetryPolicy};
use jobstop::{ErrorKind, JobController, ListQuery, RunId, StopRequest};
use jobstop_sim::amperity::{AmperitySim, RunSeed};
use jobstop_sim::centurylink::{CenturyLinkSim, ExecutionSeed};
use jobstop_sim::chorus::{ChorusSim, WorkfileSeed};
use jobstop_sim::dataarts::{DataArtsSim, InstanceSeed};
use jobstop_sim::{Fault, FaultRule, Faults, Route};

/// A hung cell fails the test after this long.
const CELL_DEADLINE: Duration = Duration::from_secs(10);
/// Longer than the attempt timeout below.
const SLOW: Duration = Duration::from_millis(600);

fn short_config() -> ClientConfig {
    ClientConfig::default()
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
        _ => "other",
    }
}

/// What a cell may end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Ok,
    Kind(ErrorKind),
}

struct Case {
    name: &'static str,
    fault: Fault,
    /// `Some(n)`: the fault clears after `n` applications; `None`: persistent.
    times: Option<u64>,
    /// Allowed results for list and status.
    read: &'static [Allowed],
    /// Allowed results for stop (a body-damaging fault that lets the handler
    /// run may still be answered `ok` by an adapter that does not need the
    /// body, as long as the simulator applied the stop).
    stop: &'static [Allowed],
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

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "429 Retry-After:1 x1",
            fault: Fault::too_many_requests(Some(1)),
            times: Some(1),
            read: OK,
            stop: OK,
        },
        Case {
            name: "429 no Retry-After x1",
            fault: Fault::too_many_requests(None),
            times: Some(1),
            read: OK,
            stop: OK,
        },
        Case {
            name: "429 Retry-After:1 inf",
            fault: Fault::too_many_requests(Some(1)),
            times: None,
            read: RATE_LIMITED,
            stop: RATE_LIMITED,
        },
        Case {
            name: "500 inf",
            fault: Fault::status(500),
            times: None,
            read: UNAVAILABLE,
            stop: UNAVAILABLE,
        },
        Case {
            name: "502 x1",
            fault: Fault::status(502),
            times: Some(1),
            read: OK,
            stop: OK,
        },
        Case {
            name: "503 x1",
            fault: Fault::status(503),
            times: Some(1),
            read: OK,
            stop: OK,
        },
        Case {
            name: "504 x1",
            fault: Fault::status(504),
            times: Some(1),
            read: OK,
            stop: OK,
        },
        Case {
            name: "503 inf",
            fault: Fault::status(503),
            times: None,
            read: UNAVAILABLE,
            stop: UNAVAILABLE,
        },
        Case {
            name: "close-before-hdrs x1",
            fault: Fault::CloseBeforeHeaders,
            times: Some(1),
            read: OK,
            stop: OK,
        },
        Case {
            name: "close-before-hdrs inf",
            fault: Fault::CloseBeforeHeaders,
            times: None,
            read: TRANSPORT,
            stop: TRANSPORT,
        },
        Case {
            name: "close-mid-body x1",
            fault: Fault::CloseMidBody,
            times: Some(1),
            read: OK_OR_TRANSPORT,
            stop: OK_OR_TRANSPORT,
        },
        Case {
            name: "close-mid-body inf",
            fault: Fault::CloseMidBody,
            times: None,
            read: TRANSPORT,
            stop: OK_OR_TRANSPORT,
        },
        Case {
            name: "slow 600ms x1",
            fault: Fault::Latency(SLOW),
            times: Some(1),
            read: OK_OR_TIMEOUT,
            stop: OK_OR_TIMEOUT,
        },
        Case {
            name: "slow 600ms inf",
            fault: Fault::Latency(SLOW),
            times: None,
            read: TIMEOUT,
            stop: TIMEOUT,
        },
        Case {
            name: "truncated JSON inf",
            fault: Fault::TruncatedJson,
            times: None,
            read: INVALID,
            stop: OK_OR_INVALID,
        },
        Case {
            name: "non-JSON 200 inf",
            fault: Fault::NonJson,
            times: None,
            read: INVALID,
            stop: INVALID,
        },
        Case {
            name: "HTML 200 inf",
            fault: Fault::html(200),
            times: None,
            read: INVALID,
            stop: INVALID,
        },
        Case {
            name: "HTML 502 inf",
            fault: Fault::html(502),
            times: None,
            read: UNAVAILABLE,
            stop: UNAVAILABLE,
        },
        Case {
            name: "empty 200 inf",
            fault: Fault::EmptyOk,
            times: None,
            read: INVALID,
            stop: INVALID,
        },
        Case {
            name: "wrong content-type inf",
            fault: Fault::WrongContentType,
            times: None,
            read: OK_OR_INVALID,
            stop: OK_OR_INVALID,
        },
    ]
}

// ---------------------------------------------------------------------------
// One vendor: its simulator, controller and the hooks the matrix needs.

enum Sim {
    Amperity(AmperitySim),
    Chorus(ChorusSim),
    DataArts(DataArtsSim),
    CenturyLink(CenturyLinkSim),
}

impl Sim {
    fn faults(&self) -> &Faults {
        match self {
            Sim::Amperity(s) => s.faults(),
            Sim::Chorus(s) => s.faults(),
            Sim::DataArts(s) => s.faults(),
            Sim::CenturyLink(s) => s.faults(),
        }
    }

    /// Every route the adapter calls for list, status and stop, and nothing
    /// else (Chorus logs in on the same server; the others authenticate with
    /// a static token, a signature or a separate login server).
    fn route(&self) -> Route {
        match self {
            Sim::Chorus(_) => Route::prefix("/api/work"),
            _ => Route::any(),
        }
    }

    /// A new running run, never stopped before.
    fn fresh_running(&self) -> String {
        match self {
            Sim::Amperity(s) => s.insert_run(RunSeed::new("running")),
            Sim::Chorus(s) => s.insert_workfile(WorkfileSeed::new("running")),
            Sim::DataArts(s) => {
                let job = s.batch_job_names()[0].clone();
                let id = s
                    .insert_instance(InstanceSeed::new(job.clone(), "running"))
                    .unwrap();
                format!("{job}/{id}")
            }
            Sim::CenturyLink(s) => {
                let job = s.job_ids()[0].clone();
                s.insert_execution(ExecutionSeed::new(job, "RUNNING"))
                    .unwrap()
            }
        }
    }

    /// The run's raw state in the simulator.
    fn raw_state(&self, id: &str) -> String {
        let v = match self {
            Sim::Amperity(s) => s.run_json(id).unwrap()["state"].clone(),
            Sim::Chorus(s) => s.workfile_json(id).unwrap()["status"].clone(),
            Sim::DataArts(s) => {
                let (job, n) = id.split_once('/').unwrap();
                s.instance_json(job, n.parse().unwrap()).unwrap()["status"].clone()
            }
            Sim::CenturyLink(s) => s.execution_json(id).unwrap()["status"].clone(),
        };
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Stop requests for `id` that reached the simulator's handler.
    fn stop_requests(&self, id: &str) -> u64 {
        match self {
            Sim::Amperity(s) => s.stop_requests(id),
            Sim::Chorus(s) => s.stop_requests(id),
            Sim::DataArts(s) => s.stop_requests(id),
            Sim::CenturyLink(s) => s.stop_requests(id),
        }
    }
}

struct Vendor {
    name: &'static str,
    sim: Sim,
    ctrl: Box<dyn JobController>,
    status_id: RunId,
}

async fn amperity() -> Vendor {
    let sim = AmperitySim::builder()
        .seed(21)
        .running(3)
        .finished(5)
        .start()
        .await
        .unwrap();
    let ctrl = AmperityBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.ids()[0].clone());
    Vendor {
        name: "amperity",
        sim: Sim::Amperity(sim),
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
        sim: Sim::Chorus(sim),
        ctrl: Box::new(ctrl),
        status_id,
    }
}

async fn dataarts() -> Vendor {
    let sim = DataArtsSim::builder()
        .seed(23)
        .batch_jobs(2)
        .instances(8)
        .running_instances(2)
        .start()
        .await
        .unwrap();
    let ctrl = DataArtsBuilder::from_lookup(lookup(sim.env_aksk()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.instance_ids()[0].clone());
    Vendor {
        name: "dataarts",
        sim: Sim::DataArts(sim),
        ctrl: Box::new(ctrl),
        status_id,
    }
}

async fn centurylink() -> Vendor {
    let sim = CenturyLinkSim::builder()
        .seed(24)
        .jobs(1)
        .executions_per_job(4)
        .start()
        .await
        .unwrap();
    let ctrl = CenturyLinkBuilder::from_lookup(lookup(sim.env_login()))
        .with_client_config(short_config())
        .build()
        .unwrap();
    let status_id = RunId::new(sim.execution_ids()[0].clone());
    Vendor {
        name: "centurylink",
        sim: Sim::CenturyLink(sim),
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

async fn run_cell(v: &Vendor, case_idx: usize, case: &Case, op: Op) -> CellResult {
    let faults = v.sim.faults();
    faults.clear();
    let run_for_stop = (op == Op::Stop).then(|| v.sim.fresh_running());
    let mut rule = FaultRule::new(v.sim.route(), case.fault.clone());
    if let Some(n) = case.times {
        rule = rule.times(n);
    }
    faults.add(rule);

    let outcome = match op {
        Op::List => {
            let q = ListQuery::new().with_page_size(5);
            match tokio::time::timeout(CELL_DEADLINE, v.ctrl.list(&q)).await {
                Ok(Ok(_)) => Outcome::Ok("ok"),
                Ok(Err(e)) => Outcome::Err(e.kind()),
                Err(_) => Outcome::Hung,
            }
        }
        Op::Status => {
            match tokio::time::timeout(CELL_DEADLINE, v.ctrl.status(&v.status_id)).await {
                Ok(Ok(_)) => Outcome::Ok("ok"),
                Ok(Err(e)) => Outcome::Err(e.kind()),
                Err(_) => Outcome::Hung,
            }
        }
        Op::Stop => {
            let id = RunId::new(run_for_stop.clone().unwrap());
            let req = StopRequest::graceful();
            match tokio::time::timeout(CELL_DEADLINE, v.ctrl.stop(&id, &req)).await {
                Ok(Ok(o)) => Outcome::Ok(o.as_str()),
                Ok(Err(e)) => Outcome::Err(e.kind()),
                Err(_) => Outcome::Hung,
            }
        }
    };
    faults.clear();

    let allowed = if op == Op::Stop { case.stop } else { case.read };
    let class = match outcome {
        Outcome::Ok(_) => Some(AOk),
        Outcome::Err(k) => Some(Kind(k)),
        Outcome::Hung => None,
    };
    let mut problem = match class {
        Some(c) if allowed.contains(&c) => None,
        _ => Some(format!(
            "{} {} under `{}`: got {}, allowed {:?}",
            v.name,
            op.as_str(),
            case.name,
            outcome.label(),
            allowed
        )),
    };

    let mut applied = None;
    if let Some(id) = run_for_stop {
        let hits = v.sim.stop_requests(&id);
        let state = v.sim.raw_state(&id);
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
    let (a, c, d, l) = tokio::join!(amperity(), chorus(), dataarts(), centurylink());
    let (ra, rc, rd, rl) = tokio::join!(
        run_vendor(a, &cases),
        run_vendor(c, &cases),
        run_vendor(d, &cases),
        run_vendor(l, &cases),
    );
    let vendors = [ra, rc, rd, rl];

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
