//! The DataArts simulator's HTTP surface: the DLF API behind an API-gateway
//! style auth check (IAM token or AK/SK signature), and the IAM token
//! endpoint on its own server.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::signing;
use super::store::{DEFAULT_WORKSPACE, DlfError, INVALID, NOT_RUNNING, Query, SEED, Store};
use super::{DataArts, SignedRequest};
use crate::data::{self, Data};
use crate::lock;
use crate::server::query_pairs;

/// `Content-Type` of every JSON body the DLF API and IAM send.
const JSON_UTF8: &str = "application/json;charset=UTF-8";
/// How far `X-Sdk-Date` may be from the real clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The largest body read (the documented AK/SK limit, 12 MB).
const MAX_BODY: usize = 12 * 1024 * 1024;
/// How many signed requests [`DataArts::signed`] keeps.
const MAX_SIGNED_LOG: usize = 10_000;

type Resp = Response<Body>;

/// An answer before the common headers: a status and a JSON body, or 204.
type Answer = Option<(u16, Value)>;

one_liners! {
    /// A header value as text (lossy).
    fn text(v: &HeaderValue) -> String = String::from_utf8_lossy(v.as_bytes()).into_owned();
    fn header(headers: &HeaderMap, name: &str) -> Option<String> = headers.get(name).map(text);
    /// A decoded path segment (invalid UTF-8 shown lossily: it names nothing).
    fn decode(segment: &str) -> String =
        percent_decode_str(segment).decode_utf8_lossy().into_owned();
    /// The DLF API's router: every request goes through [`DataArts::serve_dlf`].
    pub(crate) fn dlf_router(sim: Arc<DataArts>) -> Router =
        Router::new().fallback(serve_dlf).with_state(sim);
    /// Lowercase hex of the last 16 bytes of `bytes` (a stable fake id).
    fn hex_of(bytes: &[u8]) -> String = signing::hex(&bytes[bytes.len().saturating_sub(16)..]);
    /// The IAM server's router: `POST /v3/auth/tokens`, anything else 404.
    pub(crate) fn iam_router(sim: Arc<DataArts>) -> Router =
        Router::new().fallback(iam).with_state(sim);
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let pairs = headers.iter().map(|(k, v)| (k.to_string(), text(v)));
    pairs.collect()
}

/// The rate-limit account of a DLF request: the AK of its signature, else
/// its `X-Auth-Token`, else `""`.
pub(crate) fn account(headers: &HeaderMap) -> String {
    let auth = header(headers, AUTHORIZATION.as_str());
    match auth.and_then(|a| signing::parse_authorization(&a)) {
        Some(a) => a.access,
        None => header(headers, "x-auth-token").unwrap_or_default(),
    }
}

/// A JSON answer (no body for `Null`) with `extra` headers.
fn json_resp(status: u16, body: &Value, extra: &[(&'static str, &str)]) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(if body.is_null() { vec![] } else { bytes }));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if !body.is_null() {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    }
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(*name, v);
        }
    }
    resp
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
    /// by status: the table `errors` of `data/dataarts/seed.json` (401
    /// `APIGW.0301`, 403 `DLF.6888`, 404 `APIGW.0101`, 429 `APIGW.0308`,
    /// 502/503 `APIGW.0202`, 504 `APIGW.0203`, other 5xx `DLF.0001`, other
    /// 4xx `DLF.3051`).
    pub(crate) fn error_body(&self, status: u16, message: &str) -> Value {
        let (errors, class) = (&SEED["errors"], format!("{}xx", status / 100));
        let e = errors.get(status.to_string()).or(errors.get(&class));
        let e = e.unwrap_or(&errors["4xx"]);
        let limit = self.throttle_limit.to_string();
        let text = data::text(&e[1]).replace("{reason}", message);
        let (code, text) = (data::text(&e[0]), text.replace("{limit}", &limit));
        match code.starts_with("APIGW.") {
            true => self.gateway(&code, &text),
            false => json!({"error_code": code, "error_msg": text}),
        }
    }

    /// The answer with a JSON body (if any) and an `X-Request-Id`: on
    /// gateway errors, the body's `request_id`.
    fn respond(&self, answer: Answer) -> Resp {
        let (status, v) = answer.unwrap_or((204, Value::Null));
        let in_body = v.get("request_id").and_then(Value::as_str);
        let request_id = in_body.filter(|_| status >= 400).map(str::to_owned);
        let request_id = request_id.unwrap_or_else(|| self.request_id());
        json_resp(status, &v, &[("x-request-id", &request_id)])
    }

    /// Checks the credentials; the reason for the 401 if they fail.
    fn authenticate(&self, req: &Parts, body: &[u8]) -> Result<(), &'static str> {
        if let Some(token) = header(&req.headers, "x-auth-token") {
            let token = token.trim();
            if !token.is_empty() && token == self.opts.static_token.0 {
                return Ok(());
            }
            return match lock(&self.store).tokens.live(token) {
                Some(true) => Ok(()),
                Some(false) => Err("token expired"),
                None => Err("decrypt token fail"),
            };
        }
        let auth = header(&req.headers, AUTHORIZATION.as_str());
        let auth = auth.ok_or("no X-Auth-Token or Authorization header")?;
        self.verify_signature(req, body, &auth)
            .inspect_err(|_| lock(&self.store).signature_failures += 1)?;
        let mut log = lock(&self.signed);
        if log.len() >= MAX_SIGNED_LOG {
            log.remove(0);
        }
        let uri = &req.uri;
        let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        log.push(SignedRequest {
            method: req.method.as_str().to_owned(),
            target: target.to_owned(),
            headers: header_pairs(&req.headers),
            body: body.to_vec(),
        });
        Ok(())
    }

    fn verify_signature(&self, req: &Parts, body: &[u8], auth: &str) -> Result<(), &'static str> {
        let parsed =
            signing::parse_authorization(auth).ok_or("unsupported Authorization header")?;
        if parsed.access != self.opts.ak_sk.0.0 {
            return Err("get secret key of the access key failed");
        }
        let date = header(&req.headers, "x-sdk-date");
        let date = date.ok_or("X-Sdk-Date not found in the request headers")?;
        if !parsed.signed_headers.iter().any(|h| h == "x-sdk-date") {
            return Err("x-sdk-date is not in SignedHeaders");
        }
        let signed_at = signing::parse_sdk_date(&date);
        let signed_at = signed_at.ok_or("X-Sdk-Date is not in the format YYYYMMDDTHHMMSSZ")?;
        let skew = (Utc::now() - signed_at).abs().to_std();
        if skew.map_or(true, |s| s > MAX_SKEW) {
            return Err("X-Sdk-Date is more than 15 minutes away from the server time");
        }
        let owned = header_pairs(&req.headers);
        let pairs: Vec<_> = owned.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        let signed: Vec<&str> = parsed.signed_headers.iter().map(String::as_str).collect();
        let (method, uri) = (req.method.as_str(), &req.uri);
        let query = uri.query().unwrap_or_default();
        let canonical =
            signing::canonical_request(method, uri.path(), query, &pairs, &signed, body);
        let to_sign = signing::string_to_sign(date.trim(), &canonical);
        let signature = signing::signature(&self.opts.ak_sk.1.0, &to_sign);
        let ok = signature.eq_ignore_ascii_case(&parsed.signature);
        ok.then_some(()).ok_or("verify aksk signature fail")
    }

    /// A DLF request, end to end: the route (404), the credentials (401),
    /// the project (403), then the operation.
    fn serve_dlf(&self, req: &Parts, body: &[u8]) -> Resp {
        let Some((project, op)) = route(&req.method, req.uri.path()) else {
            return self.respond(Some((404, self.error_body(404, "Not Found"))));
        };
        if let Err(reason) = self.authenticate(req, body) {
            return self.respond(Some((401, self.error_body(401, reason))));
        }
        if project != self.opts.project_id {
            return self.respond(Some((403, self.error_body(403, ""))));
        }
        let ws = header(&req.headers, "workspace").filter(|w| !w.trim().is_empty());
        let ws = ws.as_deref().map_or(DEFAULT_WORKSPACE, str::trim);
        let q = query_pairs(req.uri.query());
        let mut store = lock(&self.store);
        store.settle();
        let answer = op(&mut store, ws, &q, body);
        self.respond(answer.unwrap_or_else(|e| self.dlf_error(e)))
    }

    /// A DLF error answer (400, even for "not found").
    fn dlf_error(&self, (code, message): DlfError) -> Answer {
        let code = Some(code).filter(|c| *c != NOT_RUNNING);
        let code = code.unwrap_or(&self.opts.not_running_code);
        Some((400, json!({"error_code": code, "error_msg": message})))
    }
}

/// A DLF operation on the store, given the workspace, the query and the body.
type Op = Box<dyn FnOnce(&mut Store, &str, &Query, &[u8]) -> Result<Answer, DlfError>>;

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
    let (get, post) = (*method == Method::GET, *method == Method::POST);
    let ok = |v: Value| Some((200, v));
    let segment = |i: usize| rest.get(i).map_or_else(String::new, |s| decode(s));
    let (name, id) = (segment(0), segment(2));
    let start = rest.get(1) == Some(&"start");
    let op: Op = match rest {
        [] if get => Box::new(move |s, ws, q, _| Ok(ok(s.list_jobs(ws, q)?))),
        ["instances", "detail"] if get => {
            Box::new(move |s, ws, q, _| Ok(ok(s.list_instances(ws, q)?)))
        }
        [_] if get => Box::new(move |s, ws, _, _| Ok(ok(s.job_detail(ws, &name)?))),
        [_, "status"] if get => Box::new(move |s, ws, _, _| Ok(ok(s.job_status(ws, &name)?))),
        [_, "start" | "run-immediate"] if post => Box::new(move |s, ws, _, body| {
            if !job_params_ok(body) {
                return Err(INVALID);
            }
            match start {
                true => s.switch_job(ws, &name, false).map(|()| None),
                false => Ok(ok(json!({"instanceId": s.run_immediate(ws, &name)?}))),
            }
        }),
        [_, "stop"] if post => {
            Box::new(move |s, ws, _, _| s.switch_job(ws, &name, true).map(|()| None))
        }
        [_, "instances", _] if get => {
            Box::new(move |s, ws, _, _| Ok(ok(s.instance_detail(ws, &name, &id)?)))
        }
        [_, "instances", _, "stop"] if post => {
            Box::new(move |s, ws, _, _| s.stop_instance(ws, &name, &id).map(|()| None))
        }
        _ => return None,
    };
    Some((decode(project), op))
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
    let named = |params: &Vec<Value>| params.iter().all(|p| p["name"].is_string());
    let params = req.get("jobParams").filter(|p| !p.is_null());
    params.is_none_or(|p| p.as_array().is_some_and(named))
}

async fn serve_dlf(State(sim): State<Arc<DataArts>>, req: Request<Body>) -> Resp {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        let too_large = sim.gateway("APIGW.0201", "Request entity too large");
        return sim.respond(Some((413, too_large)));
    };
    sim.serve_dlf(&parts, &body)
}

/// A Keystone-style error body (IAM's, as OpenStack Keystone writes it).
pub(crate) fn keystone_error(status: u16, message: &str) -> Value {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    json!({"error": {"code": status, "title": reason.unwrap_or("Error"), "message": message}})
}

/// A Keystone-style error answer.
fn iam_error(status: u16, message: &str) -> Resp {
    json_resp(status, &keystone_error(status, message), &[])
}

async fn iam(State(sim): State<Arc<DataArts>>, req: Request<Body>) -> Resp {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST || parts.uri.path() != "/v3/auth/tokens" {
        return iam_error(404, "The resource could not be found.");
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return iam_error(413, "Request entity too large.");
    };
    sim.grant(&body)
}

impl DataArts {
    /// `POST /v3/auth/tokens` with a password identity and a project scope
    /// (OTC `api-ref/source/calling_apis/authentication.rst` and
    /// `making_an_api_request.rst`: 201, the token in `X-Subject-Token`,
    /// `token.expires_at` in the body).
    fn grant(&self, body: &Bytes) -> Resp {
        let bad = |m: &str| iam_error(400, m);
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return bad("The request body is not valid JSON.");
        };
        let Some(auth) = req.get("auth") else {
            return bad("Expecting to find auth in request body.");
        };
        let methods = auth.pointer("/identity/methods").and_then(Value::as_array);
        if !methods.is_some_and(|m| m.iter().any(|x| x == "password")) {
            return bad("Expecting to find identity.methods [\"password\"] in request body.");
        }
        let at = |ptr: &str| auth.pointer(ptr).and_then(Value::as_str);
        let user = |k: &str| at(&format!("/identity/password/user/{k}"));
        let (name, password) = (user("name"), user("password"));
        if name.is_none() || password.is_none() {
            return bad("Expecting to find user name and password in request body.");
        }
        let (username, pw, domain) = &self.opts.iam;
        let ok = name == Some(username.as_str())
            && password == Some(pw.expose())
            && user("domain/name") == Some(domain.as_str());
        if !ok {
            return iam_error(401, "The username or password is wrong.");
        }
        let (scope_id, scope_name) = (at("/scope/project/id"), at("/scope/project/name"));
        let scoped = scope_id == Some(self.opts.project_id.as_str())
            || (scope_id.is_none() && scope_name == Some(self.opts.project_name.as_str()));
        if !scoped {
            return bad("The project in scope is not valid.");
        }
        let ttl = self.opts.token_ttl;
        let (token, issued) = lock(&self.store).grant(ttl);
        let expires = chrono::Duration::from_std(ttl)
            .ok()
            .and_then(|d| issued.checked_add_signed(d));
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let domain = json!({"id": format!("{:0>32}", hex_of(domain.as_bytes())), "name": domain});
        let user_id = format!("{:0>32}", hex_of(username.as_bytes()));
        let (project_id, project_name) = (&self.opts.project_id, &self.opts.project_name);
        let body = json!({"token": SEED.over("iam_token_defaults", json!({
            "expires_at": fmt(expires.unwrap_or(DateTime::<Utc>::MAX_UTC)),
            "issued_at": fmt(issued),
            "project": {"id": project_id, "name": project_name, "domain": domain},
            "user": {"id": user_id, "name": username, "domain": domain, "password_expires_at": ""},
        }))});
        json_resp(201, &body, &[("x-subject-token", &token)])
    }
}
