//! Amperity's published OpenAPI file against the simulator and the adapter.
//!
//! `tests/openapi/workflow-operations.json` is a hand-written copy of what
//! the operations `list-workflows`, `get-workflow` and `stop-workflow` use in
//! `amperity/amperity-docs` `downloads/openapi/control-plane-2024-04-01-openapi.json`
//! (their parameters, listed response codes and the schemas `WorkflowList`,
//! `Workflow`, `WorkflowTaskInstance`, `WorkflowError`, `ErrorResponse`).
//! A small checker for the schema subset used (`type`, `required`,
//! `properties`, `additionalProperties: false`, `enum`, `items`, `nullable`,
//! `$ref`, `allOf`, `format: date-time`) checks:
//!
//! - every answer the simulator serves on those routes, for every state and
//!   view and every error it can give, against the operation's listed codes
//!   and their schemas (the 409 of `TerminalStop::Conflict`, the
//!   `request_id`/`trace_id` of `with_request_ids(true)` and the
//!   `workflow_id`-only objects of `IdField::WorkflowIdOnly` are the
//!   documented alternatives served behind switches, and are shown to be
//!   outside the file);
//! - every request the adapter sends: method and path of one of the three
//!   operations, the required headers (`amperity-tenant`, `api-version` from
//!   its enum, a bearer token), and only declared query parameters, each of
//!   its declared type.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::TryStreamExt;
use jobstop_amperity::{AmperityBuilder, AmperityController};
use jobstop_core::{JobController, JobControllerExt, ListQuery, RunId, StopRequest, WaitOptions};
use jobstop_sim::amperity::{API_VERSION, AmperitySim, IdField, RunSeed, TerminalStop};
use jobstop_sim::{Fault, FaultRule, LoggedRequest, Route};
use reqwest::{Client, Method, Url};
use serde_json::Value;

const SPEC: &str = include_str!("openapi/workflow-operations.json");

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("the fixture is JSON")
}

// ---------------------------------------------------------------------------
// The checker.

/// Checks `value` against `schema`, pushing one line per violation.
fn check(root: &Value, schema: &Value, value: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/schemas/").expect("local refs only");
        let target = &root["schemas"][name];
        assert!(target.is_object(), "unknown $ref {r}");
        return check(root, target, value, at, errs);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(root, s, value, at, errs);
        }
    }
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let ok = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("type {other} is not in the subset"),
        };
        if !ok {
            errs.push(format!("{at}: expected {ty}, got {value}"));
            return;
        }
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(s) = value.as_str()
        && chrono::DateTime::parse_from_rfc3339(s).is_err()
    {
        errs.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errs.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(items) = schema.get("items") {
        for (i, v) in value.as_array().into_iter().flatten().enumerate() {
            check(root, items, v, &format!("{at}[{i}]"), errs);
        }
    }
    if let Some(obj) = value.as_object() {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = req.as_str().unwrap();
            if !obj.contains_key(key) {
                errs.push(format!("{at}: required property {key} is missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(root, s, v, &format!("{at}.{k}"), errs),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{at}: property {k} is not allowed"));
                }
                None => {}
            }
        }
    }
}

/// Why an answer `status`/`body` of operation `op` breaks the file, if it
/// does: a code the operation does not list, or a body off its schema.
fn answer_violations(root: &Value, op: &str, status: u16, body: &Value) -> Vec<String> {
    let operation = &root["operations"][op];
    assert!(operation.is_object(), "unknown operation {op}");
    let Some(schema) = operation["responses"].get(status.to_string()) else {
        return vec![format!("{op}: status {status} is not listed")];
    };
    let mut errs = Vec::new();
    check(root, schema, body, op, &mut errs);
    errs
}

/// The operation a request's method and path (below `/api`) belong to.
fn operation_of<'a>(root: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    root["operations"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, op)| {
            let template: Vec<&str> = op["path"]
                .as_str()
                .unwrap()
                .trim_start_matches('/')
                .split('/')
                .collect();
            op["method"] == method
                && template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    if t.starts_with('{') {
                        !s.is_empty()
                    } else {
                        t == s
                    }
                })
        })
        .map(|(id, op)| (id.as_str(), op))
}

/// A query or header value checked against a parameter's schema (values on
/// the wire are text: an integer must parse, a boolean is `true`/`false`).
fn check_param(root: &Value, schema: &Value, raw: &str, at: &str, errs: &mut Vec<String>) {
    let value = match schema["type"].as_str() {
        Some("integer") => match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => {
                errs.push(format!("{at}: {raw:?} is not an integer"));
                return;
            }
        },
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                errs.push(format!("{at}: {raw:?} is not a boolean"));
                return;
            }
        },
        _ => Value::String(raw.to_owned()),
    };
    check(root, schema, &value, at, errs);
}

/// Why a request the adapter sent breaks the file, if it does.
fn request_violations(root: &Value, req: &LoggedRequest) -> Vec<String> {
    let path = req.path().strip_prefix("/api").unwrap_or(req.path());
    let Some((op, operation)) = operation_of(root, &req.method, path) else {
        return vec![format!(
            "{} {} is none of the three operations",
            req.method, req.target
        )];
    };
    let mut errs = Vec::new();
    let url = Url::parse(&format!("http://x{}", req.target)).unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let params = operation["parameters"].as_array().unwrap();
    for p in params {
        let name = p["name"].as_str().unwrap();
        let at = format!("{op} {} {name}", p["in"].as_str().unwrap());
        let value = match p["in"].as_str().unwrap() {
            "header" => req.header(name).map(str::to_owned),
            "query" => query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            "path" => Some("(matched)".to_owned()),
            other => panic!("parameter location {other}"),
        };
        match value {
            None if p["required"] == true => errs.push(format!("{at}: required, missing")),
            None => {}
            Some(_) if p["in"] == "path" => {}
            Some(v) => check_param(root, &p["schema"], &v, &at, &mut errs),
        }
    }
    for (k, _) in &query {
        let declared = params
            .iter()
            .any(|p| p["in"] == "query" && p["name"] == k.as_str());
        if !declared {
            errs.push(format!("{op}: query parameter {k} is not declared"));
        }
    }
    // security: BearerAuth (the log masks the value).
    if req.header("authorization").is_none() {
        errs.push(format!("{op}: no Authorization header (BearerAuth)"));
    }
    // None of the three operations has a request body.
    if req.header("content-type").is_some() {
        errs.push(format!("{op}: a request body was sent"));
    }
    errs
}

#[test]
fn the_checker_catches_what_it_should() {
    let root = spec();
    let good = serde_json::json!({
        "id": "wf-1", "state": "running", "type": "t", "name": "n", "tenant": "acme",
        "created_at": "2024-06-19T04:00:18.764Z",
        "error": {"type": "x", "message": "m", "attribution": "customer", "data": null},
        "task_instances": [{"id": "wft-1", "state": "running", "tenant": "acme", "timeout_ms": 5}]
    });
    assert_eq!(
        answer_violations(&root, "get-workflow", 200, &good),
        Vec::<String>::new()
    );
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("id");
    bad["created_at"] = "yesterday".into();
    bad["error"]["extra"] = 1.into();
    bad["task_instances"][0]["timeout_ms"] = "5".into();
    let errs = answer_violations(&root, "get-workflow", 200, &bad);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let list = serde_json::json!({"data": [good], "next_token": "t", "total": 1, "more": 1});
    assert_eq!(
        answer_violations(&root, "list-workflows", 200, &list).len(),
        1
    );
    assert_eq!(
        answer_violations(&root, "stop-workflow", 409, &serde_json::json!({})),
        ["stop-workflow: status 409 is not listed"]
    );
    let err = serde_json::json!({"status": 400, "message": "m", "request_id": "r"});
    assert_eq!(
        answer_violations(&root, "stop-workflow", 400, &err).len(),
        1
    );
    assert_eq!(
        answer_violations(&root, "list-workflows", 404, &err),
        ["list-workflows: status 404 is not listed"]
    );
    let mut errs = Vec::new();
    check_param(
        &root,
        &serde_json::json!({"type": "integer"}),
        "ten",
        "limit",
        &mut errs,
    );
    check_param(
        &root,
        &serde_json::json!({"type": "boolean"}),
        "yes",
        "t",
        &mut errs,
    );
    check_param(
        &root,
        &serde_json::json!({"type": "string", "enum": ["2024-04-01"]}),
        "2025-07-31",
        "v",
        &mut errs,
    );
    check_param(
        &root,
        &serde_json::json!({"type": "string", "format": "date-time"}),
        "2024-06-19",
        "d",
        &mut errs,
    );
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(operation_of(&root, "GET", "/workflow/runs/wf-1").is_some());
    assert!(operation_of(&root, "POST", "/workflow/runs/wf-1").is_none());
    assert!(operation_of(&root, "DELETE", "/workflow/runs").is_none());
    assert_eq!(
        operation_of(&root, "POST", "/workflow/runs/wf-1/stop").map(|(id, _)| id),
        Some("stop-workflow")
    );
}

// ---------------------------------------------------------------------------
// The simulator's answers.

/// Raw states the simulator can hold: every wire value its state machine
/// writes, the UI labels of the docs' tables and odd spellings.
const STATES: &[&str] = &[
    "scheduled",
    "running",
    "started",
    "In progress",
    "finalizing",
    "Running with failures",
    "paused",
    "stopping",
    "canceling",
    "canceled",
    "cancelled",
    "Stopped",
    "succeeded",
    "failed",
    "up for retry",
];

/// Sends requests and checks every answer against the file, recording which
/// codes each operation was seen to answer.
struct Probe {
    root: Value,
    http: Client,
    seen: BTreeMap<&'static str, BTreeSet<u16>>,
    answers: usize,
}

impl Probe {
    fn new() -> Self {
        Probe {
            root: spec(),
            http: Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            seen: BTreeMap::new(),
            answers: 0,
        }
    }

    /// A request with the static token, tenant and version.
    fn req(&self, sim: &AmperitySim, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", sim.base_url()))
            .bearer_auth(sim.token())
            .header("amperity-tenant", sim.tenant())
            .header("api-version", API_VERSION)
    }

    async fn raw(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(ct.as_deref(), Some("application/json"), "{status}");
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Sends `rb` for operation `op` and asserts the answer conforms.
    async fn conforming(&mut self, op: &'static str, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let (status, body) = self.raw(rb).await;
        let errs = answer_violations(&self.root, op, status, &body);
        assert!(errs.is_empty(), "{op} answered {status} {body}:\n{errs:#?}");
        self.seen.entry(op).or_default().insert(status);
        self.answers += 1;
        (status, body)
    }

    async fn get(&mut self, sim: &AmperitySim, path: &str) -> (u16, Value) {
        let op = if path.starts_with("/workflow/runs?") || path == "/workflow/runs" {
            "list-workflows"
        } else {
            "get-workflow"
        };
        let rb = self.req(sim, Method::GET, path);
        self.conforming(op, rb).await
    }

    async fn stop(&mut self, sim: &AmperitySim, id: &str) -> (u16, Value) {
        let rb = self.req(sim, Method::POST, &format!("/workflow/runs/{id}/stop"));
        self.conforming("stop-workflow", rb).await
    }

    /// Every page of a listing with `query`, each answer checked; the ids.
    async fn list_all(&mut self, sim: &AmperitySim, query: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/workflow/runs?{query}");
            if let Some(t) = &token {
                path.push_str(&format!("&next_token={t}"));
            }
            let (status, body) = self.get(sim, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            for r in body["data"].as_array().unwrap() {
                ids.push(r["id"].as_str().unwrap().to_owned());
            }
            match body.get("next_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return ids,
            }
        }
    }
}

async fn sim_with_every_state(b: jobstop_sim::amperity::AmperitySimBuilder) -> AmperitySim {
    let mut b = b
        .seed(5)
        .running(4)
        .finished(25)
        .stop_delay(Duration::from_secs(60))
        .schedule_delay(None);
    for (i, s) in STATES.iter().enumerate() {
        b = b.insert_run(RunSeed::new(*s).with_id(format!("wf-20240619-{i:05}-State0")));
        b = b.insert_run(
            RunSeed::new(*s)
                .with_id(format!("wf-20240619-{i:05}-Idle00"))
                .with_no_task_running(),
        );
    }
    b.start().await.unwrap()
}

#[tokio::test]
async fn every_answer_of_the_simulator_conforms() {
    let mut probe = Probe::new();
    for (id_field, empty_last) in [(IdField::Id, false), (IdField::Both, true)] {
        let sim = sim_with_every_state(
            AmperitySim::builder()
                .id_field(id_field)
                .empty_last_token(empty_last),
        )
        .await;
        let ids = sim.ids();
        // Listings: every page size from 1 to 7, with and without totals, and
        // each filter.
        for limit in 1..=7 {
            let got = probe
                .list_all(
                    &sim,
                    &format!("limit={limit}&with_total={}", limit % 2 == 0),
                )
                .await;
            assert_eq!(got, ids);
        }
        probe.list_all(&sim, "").await;
        for state in STATES {
            probe
                .list_all(&sim, &format!("state={}", state.replace(' ', "%20")))
                .await;
        }
        for q in [
            "created_from=2024-06-01&created_to=2024-06-19T04:00:00.000Z&limit=3",
            "ended_from=2024-01-01&ended_to=2025-01-01&with_total=true",
            "type=courier.group%2Frun&limit=2",
            "type=nothing-matches",
        ] {
            probe.list_all(&sim, q).await;
        }
        // Every run in every view.
        for id in &ids {
            for view in ["", "?view=overview", "?view=verbose"] {
                let (s, _) = probe.get(&sim, &format!("/workflow/runs/{id}{view}")).await;
                assert_eq!(s, 200);
            }
        }
        // Stop every run (whatever its state), read it back, let pending
        // changes happen, read it again and stop it once more.
        for id in &ids {
            probe.stop(&sim, id).await;
            probe
                .get(&sim, &format!("/workflow/runs/{id}?view=verbose"))
                .await;
            sim.advance(id);
            probe
                .get(&sim, &format!("/workflow/runs/{id}?view=verbose"))
                .await;
            let (s, after) = probe.stop(&sim, id).await;
            if s == 200 {
                // Seeded as stopping or canceling, with nothing pending.
                assert!(
                    ["stopping", "canceling"].contains(&after["state"].as_str().unwrap()),
                    "{after}"
                );
            } else {
                assert_eq!(s, 400, "a second stop of a finished run");
            }
        }
        probe.list_all(&sim, "limit=5&with_total=true").await;
        // A run started with POST /workflow/runs reads and stops like the rest.
        let (s, started) = probe
            .raw(
                probe
                    .req(&sim, Method::POST, "/workflow/runs")
                    .json(&serde_json::json!({"config_id": "cg-1"})),
            )
            .await;
        assert_eq!(s, 201);
        let started = started["id"].as_str().unwrap().to_owned();
        probe.get(&sim, &format!("/workflow/runs/{started}")).await;
        probe.stop(&sim, &started).await;
    }

    // Every error each operation can give.
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let id = sim.ids()[0].clone();
    let ops: [(&'static str, Method, String); 3] = [
        ("list-workflows", Method::GET, "/workflow/runs".to_owned()),
        ("get-workflow", Method::GET, format!("/workflow/runs/{id}")),
        (
            "stop-workflow",
            Method::POST,
            "/workflow/runs/wf-nope/stop".to_owned(),
        ),
    ];
    for (op, method, path) in &ops {
        let url = format!("{}{path}", sim.base_url());
        let h = &probe.http;
        let cases = [
            // 401: no token, an unknown one.
            h.request(method.clone(), &url)
                .header("amperity-tenant", "acme")
                .header("api-version", API_VERSION),
            h.request(method.clone(), &url)
                .bearer_auth("nope")
                .header("amperity-tenant", "acme")
                .header("api-version", API_VERSION),
            // 400: no version, another version, no tenant.
            h.request(method.clone(), &url)
                .bearer_auth(sim.token())
                .header("amperity-tenant", "acme"),
            h.request(method.clone(), &url)
                .bearer_auth(sim.token())
                .header("amperity-tenant", "acme")
                .header("api-version", "2025-07-31"),
            h.request(method.clone(), &url)
                .bearer_auth(sim.token())
                .header("api-version", API_VERSION),
            // 403: another tenant.
            h.request(method.clone(), &url)
                .bearer_auth(sim.token())
                .header("amperity-tenant", "other")
                .header("api-version", API_VERSION),
        ];
        for rb in cases {
            let (s, _) = probe.conforming(op, rb).await;
            assert!([400, 401, 403].contains(&s));
        }
        // 500 (the error body of a server failure).
        sim.faults()
            .add(FaultRule::new(Route::any(), Fault::status(500)).times(1));
        let rb = probe.req(&sim, method.clone(), path);
        let (s, _) = probe.conforming(op, rb).await;
        assert_eq!(s, 500);
    }
    for path in [
        "/workflow/runs?limit=0",
        "/workflow/runs?limit=ten",
        "/workflow/runs?with_total=yes",
        "/workflow/runs?next_token=",
        "/workflow/runs?next_token=zz",
        "/workflow/runs?created_from=yesterday",
    ] {
        assert_eq!(probe.get(&sim, path).await.0, 400, "{path}");
    }
    assert_eq!(
        probe
            .get(&sim, &format!("/workflow/runs/{id}?view=full"))
            .await
            .0,
        400
    );
    assert_eq!(probe.get(&sim, "/workflow/runs/wf-nope").await.0, 404);
    assert_eq!(probe.get(&sim, "/workflow/runs/a%2Fb").await.0, 404);
    assert_eq!(probe.stop(&sim, "wf-nope").await.0, 404);

    // Every code each operation lists was served and checked.
    let want = |codes: &[u16]| codes.iter().copied().collect::<BTreeSet<u16>>();
    assert_eq!(
        probe.seen["list-workflows"],
        want(&[200, 400, 401, 403, 500])
    );
    assert_eq!(
        probe.seen["get-workflow"],
        want(&[200, 400, 401, 403, 404, 500])
    );
    assert_eq!(
        probe.seen["stop-workflow"],
        want(&[200, 400, 401, 403, 404, 500])
    );
    assert!(probe.answers > 1000, "{} answers", probe.answers);
}

#[tokio::test]
async fn the_switched_readings_are_the_ones_outside_the_file() {
    let probe = Probe::new();
    let root = &probe.root;
    // TerminalStop::Conflict: 409, which stop-workflow does not list.
    let sim = AmperitySim::builder()
        .insert_run(RunSeed::new("succeeded").with_id("wf-done"))
        .terminal_stop(TerminalStop::Conflict)
        .start()
        .await
        .unwrap();
    let (s, b) = probe
        .raw(probe.req(&sim, Method::POST, "/workflow/runs/wf-done/stop"))
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        answer_violations(root, "stop-workflow", s, &b),
        ["stop-workflow: status 409 is not listed"]
    );
    // TerminalStop::Ok: 200 with the unchanged run, which conforms.
    let sim = AmperitySim::builder()
        .insert_run(RunSeed::new("succeeded").with_id("wf-done"))
        .terminal_stop(TerminalStop::Ok)
        .start()
        .await
        .unwrap();
    let (s, b) = probe
        .raw(probe.req(&sim, Method::POST, "/workflow/runs/wf-done/stop"))
        .await;
    assert_eq!(s, 200);
    assert!(answer_violations(root, "stop-workflow", s, &b).is_empty());
    // with_request_ids(true): responses.rst's request_id and trace_id, which
    // ErrorResponse (additionalProperties: false) does not allow.
    let sim = AmperitySim::builder()
        .with_request_ids(true)
        .start()
        .await
        .unwrap();
    let (s, b) = probe
        .raw(probe.req(&sim, Method::GET, "/workflow/runs/wf-nope"))
        .await;
    assert_eq!(s, 404);
    let errs = answer_violations(root, "get-workflow", s, &b);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter().all(|e| e.contains("is not allowed")),
        "{errs:#?}"
    );
    // IdField::WorkflowIdOnly: the SW2 schema, without OA3's required id.
    let sim = AmperitySim::builder()
        .running(1)
        .id_field(IdField::WorkflowIdOnly)
        .start()
        .await
        .unwrap();
    let id = sim.ids()[0].clone();
    let (s, b) = probe
        .raw(probe.req(&sim, Method::GET, &format!("/workflow/runs/{id}")))
        .await;
    assert_eq!(
        answer_violations(root, "get-workflow", s, &b),
        ["get-workflow: required property id is missing"]
    );
}

// ---------------------------------------------------------------------------
// The adapter's requests.

fn controller(sim: &AmperitySim, oauth: bool) -> AmperityController {
    let b = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant());
    let b = if oauth {
        b.with_client_credentials(sim.client_id(), sim.client_secret())
    } else {
        b.with_token(sim.token())
    };
    b.build().unwrap()
}

#[tokio::test]
async fn every_request_of_the_adapter_conforms() {
    let root = spec();
    for oauth in [false, true] {
        let sim = sim_with_every_state(AmperitySim::builder()).await;
        sim.server().clear_requests();
        let ctrl = controller(&sim, oauth);
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        // Listings: pages, every filter the adapter pushes down or keeps.
        for q in [
            ListQuery::new().with_page_size(3),
            ListQuery::new(),
            ListQuery::new().with_page_size(500),
            ListQuery::new()
                .with_created_after(t("2024-06-01T00:00:00Z"))
                .with_created_before(t("2024-06-19T04:00:00.5Z"))
                .with_kind("courier.group/run")
                .with_page_size(2),
            ListQuery::new()
                .with_state(jobstop_core::RunState::Running)
                .with_name_contains("a"),
        ] {
            let _: Vec<_> = ctrl.list_all(q).try_collect().await.unwrap();
        }
        // Status and stop of every run, whatever its state, and a wait.
        for id in sim.ids() {
            let id = RunId::new(id);
            ctrl.status(&id).await.unwrap();
            let _ = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
        }
        let busy = RunId::new(sim.insert_run(RunSeed::new("running")));
        let wait = WaitOptions::default()
            .with_timeout(Duration::from_secs(5))
            .with_intervals(Duration::from_millis(10), Duration::from_millis(20));
        let _ = ctrl.stop(&busy, &StopRequest::graceful()).await.unwrap();
        sim.advance(busy.as_str());
        ctrl.stop_and_wait(&busy, &StopRequest::graceful(), &wait)
            .await
            .unwrap();
        // Errors the adapter reads: an unknown id, a refused stop.
        let _ = ctrl.status(&RunId::new("wf-nope")).await.unwrap_err();
        let _ = ctrl
            .stop(&RunId::new("wf-nope"), &StopRequest::graceful())
            .await
            .unwrap_err();

        let log = sim.server().requests();
        let mut per_op: BTreeMap<String, usize> = BTreeMap::new();
        let mut errs = Vec::new();
        for req in &log {
            if req.path() == "/api/v0/oauth2/token" {
                // Not in OA3 (amperity_reference/source/api.rst): checked in
                // tests/sim.rs.
                assert!(oauth);
                continue;
            }
            errs.extend(request_violations(&root, req));
            let path = req.path().strip_prefix("/api").unwrap_or(req.path());
            if let Some((op, _)) = operation_of(&root, &req.method, path) {
                *per_op.entry(op.to_owned()).or_default() += 1;
            }
        }
        assert!(errs.is_empty(), "oauth={oauth}:\n{errs:#?}");
        for op in ["list-workflows", "get-workflow", "stop-workflow"] {
            assert!(per_op.get(op).copied().unwrap_or(0) >= 10, "{per_op:?}");
        }
        // The query parameters the adapter uses were all seen and checked.
        let seen: BTreeSet<String> = log
            .iter()
            .flat_map(|r| {
                Url::parse(&format!("http://x{}", r.target))
                    .unwrap()
                    .query_pairs()
                    .map(|(k, _)| k.into_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        for k in [
            "limit",
            "next_token",
            "created_from",
            "created_to",
            "type",
            "view",
        ] {
            assert!(seen.contains(k), "{k} never sent: {seen:?}");
        }
    }
}
