//! The CenturyLink simulator's HTTP surface: the Runner Job Service
//! (`/jobs/{alias}…`, bearer tokens) and the CLC v2 login endpoint on its
//! own server.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::store::{Action, RunnerError};
use super::{BAD_CREDENTIALS, CenturyLink, ExecutionGet, JobShape, LOGIN_PATH, NOT_STOPPABLE};
use crate::lock;

/// `Content-Type` of the Runner's JSON answers (a Java service).
pub(crate) const RUNNER_JSON: &str = "application/json;charset=UTF-8";
/// `Content-Type` of the login endpoint's answers (the CLC v2 API).
pub(crate) const LOGIN_JSON: &str = "application/json; charset=utf-8";
/// The largest body read.
const MAX_BODY: usize = 1024 * 1024;
/// Default and largest page size of the job and executions lists (KB
/// `Runner/job-service.md`, Get Jobs and Get Job Executions: "You can specify
/// the page size between 1 to 100. Default is “100”"; "The maximum number of
/// records per request is 100"). A size out of range is refused with a 400,
/// the KB's "bad query" status.
const PAGE_SIZE: (usize, usize) = (100, 100);
/// The roles every login reports.
const ROLES: [&str; 2] = ["AccountAdmin", "ServerAdmin"];

type Resp = Response<Body>;

/// The vendor error body, `{"message":"…"}` (the CLC v2 shape; the Runner's
/// is undocumented).
pub(crate) fn error_body(message: &str) -> Value {
    json!({ "message": message })
}

/// `body` with `content_type` ([`RUNNER_JSON`] or [`LOGIN_JSON`]).
fn respond(status: u16, content_type: &'static str, body: &Value) -> Resp {
    let mut resp = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn runner_error(status: u16, message: &str) -> Resp {
    respond(status, RUNNER_JSON, &error_body(message))
}

/// Which Runner operation a request is for, each with its source.
/// "KB" is `CenturyLinkCloud/PublicKB` `Runner/job-service.md` (@ `8c7e6e33`);
/// "RJS" the Runner browser JS SDK (namespace `RNR`, which hard-codes
/// `https://api.runner.ctl.io`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// `GET /jobs/{alias}?page&size`: KB "Get Jobs" (a page of Jobs).
    ListJobs,
    /// `GET /jobs/{alias}/executions`: RJS `Executions.prototype.find` only.
    ListAllExecutions,
    /// `GET /jobs/{alias}/{jobId}`: KB "Get Job" (its example is a
    /// one-element array: [`JobShape::Array`]).
    GetJob(String),
    /// `POST /jobs/{alias}/{jobId}/start`: KB "Start Job".
    StartJob(String),
    /// `GET /jobs/{alias}/{jobId}/executions?page&size`: KB "Get Job
    /// Executions".
    ListExecutions(String),
    /// `GET /jobs/{alias}/{jobId}/executions/{executionId}`: RJS
    /// `Job.prototype.execution` only, not in the KB
    /// ([`ExecutionGet::Absent`] removes it).
    GetExecution(String, String),
    /// `POST …/executions/{executionId}/stop`: KB "Stop Job Execution" and
    /// the seed page `centurylink-stop-execution.md`.
    Stop(String, String),
    /// `POST …/executions/{executionId}/kill`: KB "Kill Job Execution".
    Kill(String, String),
}

/// A decoded path segment (invalid UTF-8 shown lossily: it names nothing).
fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// `(alias, op)` of a Runner path, or `None` (no such route).
fn route(method: &Method, path: &str) -> Option<(String, Op)> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let ["jobs", alias, rest @ ..] = segs.as_slice() else {
        return None;
    };
    if alias.is_empty() || rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let op = match rest {
        [] if get => Op::ListJobs,
        // Before `{jobId}`: this path is the account's executions.
        ["executions"] if get => Op::ListAllExecutions,
        ["executions"] => return None,
        [job] if get => Op::GetJob(decode(job)),
        [job, "start"] if post => Op::StartJob(decode(job)),
        [job, "executions"] if get => Op::ListExecutions(decode(job)),
        [job, "executions", ex] if get => Op::GetExecution(decode(job), decode(ex)),
        [job, "executions", ex, "stop"] if post => Op::Stop(decode(job), decode(ex)),
        [job, "executions", ex, "kill"] if post => Op::Kill(decode(job), decode(ex)),
        _ => return None,
    };
    Some((decode(alias), op))
}

/// The first value of field `name` in a query or form, as sent.
fn field(form: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(form)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The first value of query parameter `name`, trimmed, if not empty.
fn param(query: &[u8], name: &str) -> Option<String> {
    let v = field(query, name)?;
    Some(v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `page` (0-based, default 0) and `size` (1–100, default 100) of a query.
fn paging(q: &[u8]) -> Result<(usize, usize), String> {
    let (default, max) = PAGE_SIZE;
    let digits = |v: &str| {
        v.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| v.parse().ok())
    };
    let number = |name: &str, default: usize, ok: &dyn Fn(usize) -> bool, expected: &str| {
        let Some(v) = param(q, name) else {
            return Ok(default);
        };
        let n = digits(&v).flatten().filter(|n| ok(*n));
        n.ok_or_else(|| format!("Invalid {name}: expected {expected}, got {v:?}"))
    };
    let page = number("page", 0, &|_| true, "a non-negative integer")?;
    let range = format!("an integer from 1 to {max}");
    Ok((
        page,
        number("size", default, &|n| (1..=max).contains(&n), &range)?,
    ))
}

/// Whether the request declares a body of type `media` (any parameters).
fn is_type(headers: &HeaderMap, media: &str) -> bool {
    let value = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let declared = value.as_deref().and_then(|v| v.split(';').next());
    declared.is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
}

fn is_json(headers: &HeaderMap) -> bool {
    is_type(headers, "application/json")
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The rate-limit account of a Runner request: its bearer token, else `""`.
pub(crate) fn account(headers: &HeaderMap) -> String {
    bearer(headers).unwrap_or_default().to_owned()
}

/// A JSON object body.
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("The request body must be a JSON object".to_owned()),
        Err(_) => Err("Malformed JSON request body".to_owned()),
    }
}

/// `{"expiryDuration":N}` (optional, a non-negative integer, default 0); an
/// empty body is the default.
fn expiry(body: &[u8]) -> Result<u64, String> {
    if is_blank(body) {
        return Ok(0);
    }
    match object(body)?.get("expiryDuration") {
        None | Some(Value::Null) => Ok(0),
        Some(n) => n.as_u64().ok_or_else(|| {
            format!("expiryDuration must be a non-negative integer number of seconds, got {n}")
        }),
    }
}

/// `{}` or `{"hosts":[{"id":…,"sshPrivateKey"?}…],"sshPrivateKey"?}`.
fn start_body(body: &[u8]) -> Result<(), String> {
    if is_blank(body) {
        return Err("Required request body is missing: send {} when there are no hosts".to_owned());
    }
    let m = object(body)?;
    let key_ok = |o: &serde_json::Map<String, Value>| {
        let key = o.get("sshPrivateKey");
        key.is_none_or(|k| k.is_null() || k.is_string())
    };
    let host_ok = |h: &Value| {
        let o = h.as_object();
        o.is_some_and(|o| o.get("id").is_some_and(Value::is_string) && key_ok(o))
    };
    let hosts_ok = match m.get("hosts") {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.iter().all(host_ok),
        Some(_) => false,
    };
    if !hosts_ok {
        return Err("hosts must be an array of objects with a string id".to_owned());
    }
    if !key_ok(&m) {
        return Err("sshPrivateKey must be a string".to_owned());
    }
    Ok(())
}

impl CenturyLink {
    fn authenticated(&self, headers: &HeaderMap) -> bool {
        match bearer(headers) {
            None => false,
            Some(t) if t == self.static_token => true,
            Some(t) => lock(&self.store).tokens.live(t) == Some(true),
        }
    }

    /// A Runner request, end to end: the route (404), the token (401), the
    /// account alias (403), then the operation.
    fn serve_runner(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Resp {
        let Some((alias, op)) = route(method, uri.path()) else {
            return runner_error(404, "Not Found");
        };
        let get = lock(&self.store).cfg.execution_get;
        if matches!(op, Op::GetExecution(..)) && get == ExecutionGet::Absent {
            // As if the route did not exist (the KB has no such call).
            return runner_error(404, "Not Found");
        }
        if !self.authenticated(headers) {
            return runner_error(401, "Unauthorized");
        }
        if !alias.eq_ignore_ascii_case(&self.o.account_alias) {
            return runner_error(
                403,
                &format!("Access denied: the token is not valid for account {alias}"),
            );
        }
        let q = uri.query().unwrap_or_default().as_bytes();
        self.dispatch(op, q, headers, body)
    }

    fn dispatch(&self, op: Op, q: &[u8], headers: &HeaderMap, body: &[u8]) -> Resp {
        let json_body = is_blank(body) || is_json(headers);
        let wrong_type = || runner_error(400, "Content-Type must be application/json");
        let result = match op {
            Op::ListJobs | Op::ListAllExecutions | Op::ListExecutions(_) => {
                let (page, size) = match paging(q) {
                    Ok(p) => p,
                    Err(m) => return runner_error(400, &m),
                };
                let mut store = lock(&self.store);
                match &op {
                    Op::ListExecutions(job) => store.list_executions(Some(job), page, size),
                    Op::ListAllExecutions => store.list_executions(None, page, size),
                    _ => Ok(store.list_jobs(page, size)),
                }
            }
            Op::GetJob(job) => {
                let mut store = lock(&self.store);
                let array = store.cfg.job_shape == JobShape::Array;
                store.job(&job).map(|j| if array { json!([j]) } else { j })
            }
            Op::GetExecution(job, ex) => lock(&self.store).execution(&job, &ex),
            Op::StartJob(job) => {
                if !json_body {
                    return wrong_type();
                }
                if let Err(m) = start_body(body) {
                    return runner_error(400, &m);
                }
                lock(&self.store).start_job(&job)
            }
            Op::Stop(job, ex) => return self.stop(&job, &ex, Action::Stop, json_body, body),
            Op::Kill(job, ex) => return self.stop(&job, &ex, Action::Kill, json_body, body),
        };
        answer(result)
    }

    /// A stop or kill: recorded and counted first (whatever follows), then
    /// the body (400), the job and execution (404), the status (400).
    fn stop(&self, job: &str, ex: &str, action: Action, json_body: bool, body: &[u8]) -> Resp {
        let mut store = lock(&self.store);
        store.record(job, ex, action, body);
        if !json_body {
            return runner_error(400, "Content-Type must be application/json");
        }
        if let Err(m) = expiry(body) {
            return runner_error(400, &m);
        }
        answer(store.stop(job, ex, action))
    }
}

fn answer(result: Result<Value, RunnerError>) -> Resp {
    match result {
        Ok(v) => respond(200, RUNNER_JSON, &v),
        Err(RunnerError::JobNotFound) => runner_error(404, "Job not found"),
        Err(RunnerError::ExecutionNotFound) => runner_error(404, "Execution not found"),
        Err(RunnerError::NotStoppable) => runner_error(400, NOT_STOPPABLE),
    }
}

/// The Runner's router: every request goes through [`CenturyLink::serve_runner`].
pub(crate) fn runner_router(sim: Arc<CenturyLink>) -> Router {
    Router::new().fallback(runner).with_state(sim)
}

async fn runner(State(sim): State<Arc<CenturyLink>>, req: Request<Body>) -> Resp {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return runner_error(413, "Request entity too large");
    };
    sim.serve_runner(&parts.method, &parts.uri, &parts.headers, &body)
}

// ----- login ----------------------------------------------------------------

/// An error of the login server.
fn login_error(status: u16, message: &str) -> Resp {
    respond(status, LOGIN_JSON, &error_body(message))
}

/// The login server's router: `POST /v2/authentication/login`
/// (`CenturyLinkCloud/APIDocs` `Authentication/login.md`), anything else 404
/// (405 for another method on that path).
pub(crate) fn login_router(sim: Arc<CenturyLink>) -> Router {
    Router::new().fallback(login).with_state(sim)
}

async fn login(State(sim): State<Arc<CenturyLink>>, req: Request<Body>) -> Resp {
    let (parts, body) = req.into_parts();
    // ASP.NET routes ignore case and a trailing slash.
    let path = parts.uri.path().trim_end_matches('/');
    if !path.eq_ignore_ascii_case(LOGIN_PATH) {
        return login_error(404, "Not Found");
    }
    if parts.method != Method::POST {
        let method = parts.method;
        let message = format!("The requested resource does not support http method '{method}'.");
        return login_error(405, &message);
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return login_error(413, "Request entity too large");
    };
    sim.login(&parts.headers, &body)
}

/// `Some((username, password))` of a login body: JSON, as in
/// `CenturyLinkCloud/APIDocs` `Authentication/login.md` and clc-sdk's
/// `clc/APIv2/api.py` (`API._Login`, `json=`), or a form, as clc-sdk's
/// `clc/APIv2/__init__.py` `get_session` sends it (`data=`; ASP.NET Web API
/// binds both).
fn credentials(headers: &HeaderMap, body: &[u8]) -> Option<(String, String)> {
    if is_type(headers, "application/x-www-form-urlencoded") {
        return Some((field(body, "username")?, field(body, "password")?));
    }
    if !is_json(headers) {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let user = v.get("username")?.as_str()?.to_owned();
    let password = v.get("password")?.as_str()?.to_owned();
    Some((user, password))
}

impl CenturyLink {
    /// `POST /v2/authentication/login`: `CenturyLinkCloud/APIDocs`
    /// `Authentication/login.md` (200 `{userName, accountAlias,
    /// locationAlias, roles, bearerToken}`; 400 `{"message": "We didn't
    /// recognize the username or password…"}`), the body read as above.
    fn login(&self, headers: &HeaderMap, body: &[u8]) -> Resp {
        let mut store = lock(&self.store);
        store.login_attempts += 1;
        let ok = credentials(headers, body)
            .is_some_and(|(u, p)| u == self.o.username && p == self.password);
        if !ok {
            return login_error(400, BAD_CREDENTIALS);
        }
        let claims = token_claims(
            &self.o.username,
            &self.o.account_alias,
            &self.o.location_alias,
        );
        let token = store.grant(self.o.token_ttl, &claims);
        drop(store);
        let body = json!({
            "userName": self.o.username,
            "accountAlias": self.o.account_alias,
            "locationAlias": self.o.location_alias,
            "roles": ROLES,
            "bearerToken": token,
        });
        respond(200, LOGIN_JSON, &body)
    }
}

/// The claims of a token for `username` in account `alias` (no expiry: see
/// `make_token`).
pub(crate) fn token_claims(username: &str, alias: &str, location: &str) -> Value {
    json!({
        "unique_name": username,
        "urn:tier3:account-alias": alias,
        "urn:tier3:location-alias": location,
        "role": ROLES,
        "iss": "urn:api-tier3",
        "aud": "urn:tier3-users",
    })
}
