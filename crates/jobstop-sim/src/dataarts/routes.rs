//! The DataArts simulator's HTTP surface: the DLF API behind an API-gateway
//! style auth check (IAM token or AK/SK signature), and the IAM token
//! endpoint on its own server.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::signing;
use super::store::{DEFAULT_WORKSPACE, DlfError, InstanceQuery, JobQuery};
use super::{ALREADY_RUNNING_CODE, DataArts, JobType, SignedRequest};
use crate::lock;
use crate::server::query_pairs;

/// The credentials, resolved from the options and the seed (no `Debug`).
pub(crate) struct Credentials {
    pub(crate) project_id: String,
    pub(crate) static_token: String,
    pub(crate) ak: String,
    pub(crate) sk: String,
    pub(crate) password: String,
    /// The per-user limit quoted in 429 bodies.
    pub(crate) throttle_limit: u32,
}

/// `Content-Type` of every JSON body the DLF API and IAM send.
pub(crate) const JSON_UTF8: &str = "application/json;charset=UTF-8";
/// How far `X-Sdk-Date` may be from the real clock.
pub(crate) const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The largest body read (the documented AK/SK limit, 12 MB).
const MAX_BODY: usize = 12 * 1024 * 1024;
/// Default and largest page of `GET /jobs` (OTC `viewing_a_job_list.rst`:
/// `limit` 1 to 100, default 10). A `limit` out of range is refused with
/// `DLF.3051`, as every invalid request parameter.
const JOBS_LIMIT: (usize, usize) = (10, 100);
/// Default and largest page of `GET /jobs/instances/detail` (OTC
/// `viewing_a_job_instance_list.rst`: "The parameter value ranges from 1 to
/// 1000", default 10). Out of range: refused, as above.
const INSTANCES_LIMIT: (usize, usize) = (10, 1000);

const JOB_NOT_FOUND: &str = "The job does not exists.";
const INSTANCE_NOT_FOUND: &str = "The job instance does not exist.";
const INVALID_PARAMETER: &str = "The request parameter is invalid.";

/// How many signed requests [`DataArts::signed`] keeps.
const MAX_SIGNED_LOG: usize = 10_000;

type Resp = Response<Body>;

/// An answer before the common headers.
enum Answer {
    Json(u16, Value),
    NoContent,
}

impl Answer {
    fn dlf(code: &str, message: &str) -> Self {
        Answer::Json(400, json!({"error_code": code, "error_msg": message}))
    }

    fn invalid() -> Self {
        Answer::dlf("DLF.3051", INVALID_PARAMETER)
    }
}

/// Which DLF operation a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    ListJobs,
    ListInstances,
    ShowJob(String),
    JobStatus(String),
    StartJob(String),
    StopJob(String),
    RunImmediate(String),
    ShowInstance(String, String),
    StopInstance(String, String),
}

/// A decoded path segment (invalid UTF-8 shown lossily: it names nothing).
fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// `(project_id, op)` of a DLF path, or `None` (no such API).
///
/// Sources, under `/v1/{project_id}` (OTC pages are in
/// `opentelekomcloud-docs/data-arts-studio`,
/// `api-ref/source/data_development_apis/job_development_apis/`; HSDK models
/// in `huaweicloudsdkdgc/v1/model/`):
///
/// | route | OTC page | HSDK model |
/// |---|---|---|
/// | `GET /jobs` | `viewing_a_job_list.rst` | `list_jobs_request.py`, `list_jobs_response.py`, `job_result.py` |
/// | `GET /jobs/instances/detail` | `viewing_a_job_instance_list.rst` | `list_job_instances_request.py`, `list_job_instances_response.py`, `job_instance.py` |
/// | `GET /jobs/{name}` | `viewing_job_details.rst` | `show_job_response.py` |
/// | `GET /jobs/{name}/status` | `viewing_running_status_of_a_real-time_job.rst` | `show_job_status_response.py`, `real_time_node_status.py` |
/// | `POST /jobs/{name}/start` | `starting_a_job.rst` | `start_job_request.py` |
/// | `POST /jobs/{name}/stop` | `stopping_a_job.rst` | `stop_job_request.py`, `stop_job_response.py` |
/// | `POST /jobs/{name}/run-immediate` | `executing_a_job_immediately.rst` | `run_once_request.py`, `run_once_response.py` |
/// | `GET /jobs/{name}/instances/{id}` | `viewing_job_instance_details.rst` | `show_job_instance_response.py`, `node_instance.py` |
/// | `POST /jobs/{name}/instances/{id}/stop` | `stopping_a_job_instance.rst` | `stop_job_instance_request.py`, `stop_job_instance_response.py` |
///
/// Error bodies follow OTC `api-ref/source/appendix/error_codes/` (DLF) and
/// `calling_apis/response.rst` (gateway).
fn route(method: &Method, path: &str) -> Option<(String, Op)> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let ["v1", project, "jobs", rest @ ..] = segs.as_slice() else {
        return None;
    };
    if project.is_empty() || rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let op = match rest {
        [] if get => Op::ListJobs,
        ["instances", "detail"] if get => Op::ListInstances,
        [name] if get => Op::ShowJob(decode(name)),
        [name, "status"] if get => Op::JobStatus(decode(name)),
        [name, "start"] if post => Op::StartJob(decode(name)),
        [name, "stop"] if post => Op::StopJob(decode(name)),
        [name, "run-immediate"] if post => Op::RunImmediate(decode(name)),
        [name, "instances", id] if get => Op::ShowInstance(decode(name), decode(id)),
        [name, "instances", id, "stop"] if post => Op::StopInstance(decode(name), decode(id)),
        _ => return None,
    };
    Some((decode(project), op))
}

/// The first non-empty value of query parameter `name`.
fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A non-negative integer parameter, or `default`; `Err` if not one.
fn number(q: &[(String, String)], name: &str, default: u64) -> Result<u64, ()> {
    match param(q, name) {
        None => Ok(default),
        Some(v) if v.bytes().all(|b| b.is_ascii_digit()) => v.parse().map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// `limit` within `1..=max`, `offset` ≥ 0.
fn paging(q: &[(String, String)], (default, max): (usize, usize)) -> Result<(usize, usize), ()> {
    let limit = number(q, "limit", default as u64)?;
    if limit == 0 || limit > max as u64 {
        return Err(());
    }
    let offset = number(q, "offset", 0)?;
    Ok((
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(limit).unwrap_or(max),
    ))
}

/// An epoch-millisecond parameter (may be negative).
fn millis(q: &[(String, String)], name: &str) -> Result<Option<i64>, ()> {
    match param(q, name) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| ()),
    }
}

/// A header's value as text (lossy).
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Every header as `(name, value)` text (lossy).
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), text(v)))
        .collect()
}

/// The rate-limit account of a DLF request: the AK of its signature, else
/// its `X-Auth-Token`, else `""`.
pub(crate) fn account(headers: &HeaderMap) -> String {
    if let Some(a) =
        header(headers, AUTHORIZATION.as_str()).and_then(|a| signing::parse_authorization(&a))
    {
        return a.access;
    }
    header(headers, "x-auth-token").unwrap_or_default()
}

impl DataArts {
    fn request_id(&self) -> String {
        let mut g = lock(&self.request_ids);
        format!("{:016x}{:016x}", g.next_u64(), g.next_u64())
    }

    /// An API-gateway error body: `{"error_code","error_msg","request_id"}`.
    fn gateway(&self, code: &str, message: &str) -> Value {
        json!({"error_code": code, "error_msg": message, "request_id": self.request_id()})
    }

    /// The error body of an injected fault or the rate limit (gateway codes
    /// from the API Gateway error-code page, DLF codes from OTC
    /// `api-ref/source/appendix/error_codes/dataarts_factory_error_codes.rst`),
    /// by status:
    /// 401 `APIGW.0301`, 403 `DLF.6888`, 404 `APIGW.0101`, 429 `APIGW.0308`,
    /// 502/503 `APIGW.0202`, 504 `APIGW.0203`, other 5xx `DLF.0001`, other
    /// 4xx `DLF.3051`.
    pub(crate) fn error_body(&self, status: u16, message: &str) -> Value {
        match status {
            401 => self.gateway(
                "APIGW.0301",
                &format!("Incorrect IAM authentication information: {message}"),
            ),
            403 => json!({"error_code": "DLF.6888", "error_msg": "Invalid account permissions."}),
            404 => self.gateway(
                "APIGW.0101",
                "The API does not exist or has not been published in the environment",
            ),
            429 => self.gateway(
                "APIGW.0308",
                &format!(
                    "The throttling threshold has been reached: policy user over ratelimit,limit:{},time:1 second",
                    self.creds.throttle_limit
                ),
            ),
            502 | 503 => self.gateway("APIGW.0202", "Backend unavailable"),
            504 => self.gateway("APIGW.0203", "Backend timeout"),
            500..=599 => json!({"error_code": "DLF.0001", "error_msg": message}),
            _ => json!({"error_code": "DLF.3051", "error_msg": message}),
        }
    }

    fn respond(&self, answer: Answer) -> Resp {
        let (status, body) = match answer {
            Answer::Json(status, v) => (status, serde_json::to_vec(&v).unwrap_or_default()),
            Answer::NoContent => (204, Vec::new()),
        };
        let empty = body.is_empty();
        // Gateway errors carry their request id in the body too: the same one.
        let request_id = (status >= 400)
            .then(|| serde_json::from_slice::<Value>(&body).ok())
            .flatten()
            .and_then(|v| v.get("request_id")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.request_id());
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        if !empty {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("x-request-id", v);
        }
        resp
    }

    /// Checks the credentials; the reason for the 401 if they fail.
    fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        if let Some(token) = header(headers, "x-auth-token") {
            let token = token.trim();
            if !token.is_empty() && token == self.creds.static_token {
                return Ok(());
            }
            return match lock(&self.store).tokens.live(token) {
                Some(true) => Ok(()),
                Some(false) => Err("token expired".to_owned()),
                None => Err("decrypt token fail".to_owned()),
            };
        }
        let Some(auth) = header(headers, AUTHORIZATION.as_str()) else {
            return Err("no X-Auth-Token or Authorization header".to_owned());
        };
        let result = self.verify_signature(method, uri, headers, body, &auth);
        if result.is_err() {
            lock(&self.store).signature_failures += 1;
        } else {
            let mut log = lock(&self.signed);
            if log.len() >= MAX_SIGNED_LOG {
                log.remove(0);
            }
            log.push(SignedRequest {
                method: method.as_str().to_owned(),
                target: uri
                    .path_and_query()
                    .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
                headers: header_pairs(headers),
                body: body.to_vec(),
            });
        }
        result
    }

    fn verify_signature(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        auth: &str,
    ) -> Result<(), String> {
        let parsed = signing::parse_authorization(auth)
            .ok_or_else(|| "unsupported Authorization header".to_owned())?;
        if parsed.access != self.creds.ak {
            return Err("get secret key of the access key failed".to_owned());
        }
        let date = header(headers, "x-sdk-date")
            .ok_or_else(|| "X-Sdk-Date not found in the request headers".to_owned())?;
        if !parsed.signed_headers.iter().any(|h| h == "x-sdk-date") {
            return Err("x-sdk-date is not in SignedHeaders".to_owned());
        }
        let signed_at = signing::parse_sdk_date(&date)
            .ok_or_else(|| "X-Sdk-Date is not in the format YYYYMMDDTHHMMSSZ".to_owned())?;
        let skew = (Utc::now() - signed_at).abs();
        if skew.to_std().map_or(true, |s| s > MAX_SKEW) {
            return Err("X-Sdk-Date is more than 15 minutes away from the server time".to_owned());
        }
        let owned = header_pairs(headers);
        let pairs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let signed: Vec<&str> = parsed.signed_headers.iter().map(String::as_str).collect();
        let canonical = signing::canonical_request(
            method.as_str(),
            uri.path(),
            uri.query().unwrap_or_default(),
            &pairs,
            &signed,
            body,
        );
        let expected = signing::signature(
            &self.creds.sk,
            &signing::string_to_sign(date.trim(), &canonical),
        );
        if expected.eq_ignore_ascii_case(&parsed.signature) {
            Ok(())
        } else {
            Err("verify aksk signature fail".to_owned())
        }
    }

    /// A DLF request, end to end.
    fn serve_dlf(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Resp {
        let Some((project, op)) = route(method, uri.path()) else {
            return self.respond(Answer::Json(404, self.error_body(404, "Not Found")));
        };
        if let Err(reason) = self.authenticate(method, uri, headers, body) {
            return self.respond(Answer::Json(401, self.error_body(401, &reason)));
        }
        if project != self.creds.project_id {
            return self.respond(Answer::Json(403, self.error_body(403, "")));
        }
        let ws = header(headers, "workspace")
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| DEFAULT_WORKSPACE.to_owned());
        let q = query_pairs(uri.query());
        let answer = self.dispatch(&ws, op, &q, body);
        self.respond(answer)
    }

    fn dispatch(&self, ws: &str, op: Op, q: &[(String, String)], body: &[u8]) -> Answer {
        let mut store = lock(&self.store);
        let result = match op {
            Op::ListJobs => {
                let Ok(query) = job_query(q) else {
                    return Answer::invalid();
                };
                Ok(Answer::Json(200, store.list_jobs(ws, &query)))
            }
            Op::ListInstances => {
                let Ok(query) = instance_query(q) else {
                    return Answer::invalid();
                };
                store
                    .list_instances(ws, &query)
                    .map(|v| Answer::Json(200, v))
            }
            Op::ShowJob(name) => store.job_detail(ws, &name).map(|v| Answer::Json(200, v)),
            Op::JobStatus(name) => store.job_status(ws, &name).map(|v| Answer::Json(200, v)),
            Op::StartJob(name) => {
                if !job_params_ok(body) {
                    return Answer::invalid();
                }
                store.start_job(ws, &name).map(|()| Answer::NoContent)
            }
            Op::StopJob(name) => store.stop_job(ws, &name).map(|()| Answer::NoContent),
            Op::RunImmediate(name) => {
                if !job_params_ok(body) {
                    return Answer::invalid();
                }
                store
                    .run_immediate(ws, &name)
                    .map(|id| Answer::Json(200, json!({"instanceId": id})))
            }
            Op::ShowInstance(name, id) => store
                .instance_detail(ws, &name, &id)
                .map(|v| Answer::Json(200, v)),
            Op::StopInstance(name, id) => store
                .stop_instance(ws, &name, &id)
                .map(|()| Answer::NoContent),
        };
        drop(store);
        result.unwrap_or_else(|e| self.dlf_error(e))
    }

    fn dlf_error(&self, e: DlfError) -> Answer {
        let code = self.opts.not_running_code.as_str();
        match e {
            DlfError::JobNotFound => Answer::dlf("DLF.0100", JOB_NOT_FOUND),
            DlfError::InstanceNotFound => Answer::dlf("DLF.0137", INSTANCE_NOT_FOUND),
            DlfError::JobNotRunning => Answer::dlf(code, "The job is not running."),
            DlfError::InstanceNotRunning => Answer::dlf(code, "The job instance is not running."),
            DlfError::AlreadyRunning => {
                Answer::dlf(ALREADY_RUNNING_CODE, "The job is already running.")
            }
            DlfError::RealtimeOnly => {
                Answer::dlf("DLF.0136", "This API is only for real-time jobs.")
            }
            DlfError::BatchOnly => Answer::dlf("DLF.0136", "This API is only for batch jobs."),
            DlfError::InvalidParameter => Answer::invalid(),
        }
    }
}

fn job_query(q: &[(String, String)]) -> Result<JobQuery, ()> {
    let job_type = match param(q, "jobType") {
        None => JobType::Batch,
        Some(t) => JobType::parse(t).ok_or(())?,
    };
    let (offset, limit) = paging(q, JOBS_LIMIT)?;
    Ok(JobQuery {
        job_type,
        name: param(q, "jobName").map(str::to_owned),
        offset,
        limit,
    })
}

fn instance_query(q: &[(String, String)]) -> Result<InstanceQuery, ()> {
    let (offset, limit) = paging(q, INSTANCES_LIMIT)?;
    let precise = match param(q, "preciseQuery") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(()),
    };
    let instance_type = match param(q, "instanceType") {
        None => None,
        Some(_) => Some(number(q, "instanceType", 0)?),
    };
    Ok(InstanceQuery {
        job_name: param(q, "jobName").map(str::to_owned),
        precise,
        status: param(q, "status").map(str::to_owned),
        min_plan: millis(q, "minPlanTime")?,
        max_plan: millis(q, "maxPlanTime")?,
        instance_type,
        offset,
        limit,
    })
}

/// An empty body, or `{"jobParams":[{"name":…,"value":…},…]}` (other keys
/// ignored).
fn job_params_ok(body: &[u8]) -> bool {
    if body.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    match req.get("jobParams") {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items
            .iter()
            .all(|p| p.get("name").is_some_and(Value::is_string)),
        Some(_) => false,
    }
}

/// The DLF API's router: every request goes through [`DataArts::serve_dlf`].
pub(crate) fn dlf_router(sim: Arc<DataArts>) -> Router {
    Router::new().fallback(dlf).with_state(sim)
}

async fn dlf(State(sim): State<Arc<DataArts>>, req: Request<Body>) -> Resp {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return sim.respond(Answer::Json(
            413,
            sim.gateway("APIGW.0201", "Request entity too large"),
        ));
    };
    sim.serve_dlf(&parts.method, &parts.uri, &parts.headers, &body)
}

// ----- IAM ----------------------------------------------------------------

/// A Keystone-style error body (IAM's, as OpenStack Keystone writes it).
pub(crate) fn keystone_error(status: u16, message: &str) -> Value {
    let title = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    json!({"error": {"code": status, "title": title, "message": message}})
}

/// The IAM server's router: `POST /v3/auth/tokens`, anything else 404.
pub(crate) fn iam_router(sim: Arc<DataArts>) -> Router {
    Router::new().fallback(iam).with_state(sim)
}

async fn iam(State(sim): State<Arc<DataArts>>, req: Request<Body>) -> Resp {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST || parts.uri.path() != "/v3/auth/tokens" {
        return iam_json(
            404,
            &keystone_error(404, "The resource could not be found."),
            None,
        );
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return iam_json(413, &keystone_error(413, "Request entity too large."), None);
    };
    sim.grant(&body)
}

fn iam_json(status: u16, body: &Value, token: Option<&str>) -> Resp {
    let mut resp = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    if let Some(v) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    resp
}

/// `Some(value)` of a string at `path` in `v`.
fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

impl DataArts {
    /// `POST /v3/auth/tokens` with a password identity and a project scope
    /// (OTC `api-ref/source/calling_apis/authentication.rst` and
    /// `making_an_api_request.rst`: 201, the token in `X-Subject-Token`,
    /// `token.expires_at` in the body).
    fn grant(&self, body: &Bytes) -> Resp {
        let bad = |m: &str| iam_json(400, &keystone_error(400, m), None);
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return bad("The request body is not valid JSON.");
        };
        let Some(auth) = req.get("auth") else {
            return bad("Expecting to find auth in request body.");
        };
        let methods_ok = auth
            .get("identity")
            .and_then(|i| i.get("methods"))
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|x| x == "password"));
        if !methods_ok {
            return bad("Expecting to find identity.methods [\"password\"] in request body.");
        }
        let user = ["identity", "password", "user"];
        let name = str_at(auth, &[&user[..], &["name"]].concat());
        let password = str_at(auth, &[&user[..], &["password"]].concat());
        let domain = str_at(auth, &[&user[..], &["domain", "name"]].concat());
        if name.is_none() || password.is_none() {
            return bad("Expecting to find user name and password in request body.");
        }
        let ok = name == Some(self.opts.username.as_str())
            && password == Some(self.creds.password.as_str())
            && domain == Some(self.opts.domain.as_str());
        if !ok {
            return iam_json(
                401,
                &keystone_error(401, "The username or password is wrong."),
                None,
            );
        }
        let scope_id = str_at(auth, &["scope", "project", "id"]);
        let scope_name = str_at(auth, &["scope", "project", "name"]);
        let scoped = scope_id == Some(self.creds.project_id.as_str())
            || (scope_id.is_none() && scope_name == Some(self.opts.project_name.as_str()));
        if !scoped {
            return bad("The project in scope is not valid.");
        }
        let ttl = self.opts.token_ttl;
        let (token, issued, expires) = {
            let mut store = lock(&self.store);
            let token = store.grant(ttl);
            let issued = store.clock_now();
            let expires = chrono::Duration::from_std(ttl)
                .ok()
                .and_then(|d| issued.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            (token, issued, expires)
        };
        let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let domain_id = format!("{:0>32}", hex_of(self.opts.domain.as_bytes()));
        let body = json!({
            "token": {
                "expires_at": fmt(expires),
                "issued_at": fmt(issued),
                "methods": ["password"],
                "catalog": [],
                "project": {
                    "id": self.creds.project_id,
                    "name": self.opts.project_name,
                    "domain": {"id": domain_id, "name": self.opts.domain},
                },
                "roles": [{"id": "0", "name": "te_admin"}],
                "user": {
                    "id": format!("{:0>32}", hex_of(self.opts.username.as_bytes())),
                    "name": self.opts.username,
                    "domain": {"id": domain_id, "name": self.opts.domain},
                    "password_expires_at": "",
                },
            }
        });
        iam_json(201, &body, Some(&token))
    }
}

/// Lowercase hex of the last 16 bytes of `bytes` (a stable fake id).
fn hex_of(bytes: &[u8]) -> String {
    let tail = &bytes[bytes.len().saturating_sub(16)..];
    tail.iter().map(|b| format!("{b:02x}")).collect()
}
