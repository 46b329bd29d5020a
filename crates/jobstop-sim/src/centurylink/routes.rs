//! The CenturyLink simulator's HTTP surface: the Runner Job Service
//! (`/jobs/{alias}…`, bearer tokens) and the CLC v2 login endpoint on its
//! own server.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::IntoResponse;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::store::{Answer, Change, Failure};
use super::{BAD_CREDENTIALS, CenturyLink, CenturyLinkOptions, LOGIN_PATH};
use crate::lock;

/// `Content-Type` of the Runner's JSON answers (a Java service).
const RUNNER_JSON: &str = "application/json;charset=UTF-8";
/// `Content-Type` of the login endpoint's answers (the CLC v2 API).
const LOGIN_JSON: &str = "application/json; charset=utf-8";
const MAX_BODY: usize = 1024 * 1024;
/// Default and largest page size of the job and executions lists (KB
/// `Runner/job-service.md`, Get Jobs and Get Job Executions: "You can specify
/// the page size between 1 to 100. Default is “100”"; "The maximum number of
/// records per request is 100"). A size out of range is refused with a 400,
/// the KB's "bad query" status.
const PAGE_SIZE: usize = 100;
/// The roles every login reports.
const ROLES: [&str; 2] = ["AccountAdmin", "ServerAdmin"];

/// A request's handler: method, URI, headers, body; the JSON answer or why it failed.
type Serve = fn(&CenturyLink, &Method, &Uri, &HeaderMap, &[u8]) -> Answer;

/// The vendor error body, `{"message":"…"}` (the CLC v2 shape; the Runner's
/// is undocumented).
pub(crate) fn error_body(message: &str) -> Value {
    json!({ "message": message })
}

/// A decoded path segment (invalid UTF-8 shown lossily: it names nothing).
fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The first value of field `name` in a query or form, as sent.
fn field(form: &[u8], name: &str) -> Option<String> {
    let mut fields = url::form_urlencoded::parse(form);
    fields.find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `page` (0-based, default 0) and `size` (1–100, default 100); empty is default.
fn paging(q: &[u8]) -> Result<(usize, usize), Failure> {
    let number = |name: &str, default: usize, min: usize, max: usize| {
        let v = field(q, name).map(|v| v.trim().to_owned());
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            return Ok(default);
        };
        let digits = v.bytes().all(|b| b.is_ascii_digit());
        let n = digits.then(|| v.parse().ok()).flatten();
        let why = || format!("Invalid {name} {v:?}: page is 0 or more, size 1 to {PAGE_SIZE}");
        let n = n.filter(|n| (min..=max).contains(n));
        n.ok_or_else(|| bad(why()))
    };
    let page = number("page", 0, 0, usize::MAX)?;
    Ok((page, number("size", PAGE_SIZE, 1, PAGE_SIZE)?))
}

fn bad(message: impl Into<Cow<'static, str>>) -> Failure {
    (400, message.into())
}

/// Whether the request declares a body of type `media` (any parameters).
fn is_type(headers: &HeaderMap, media: &str) -> bool {
    let value = headers.get(CONTENT_TYPE);
    let value = value.map(|v| String::from_utf8_lossy(v.as_bytes()));
    let declared = value.as_deref().and_then(|v| v.split(';').next());
    declared.is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// The token of `Authorization: Bearer <token>` (also the rate-limit account).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A body parsed as `T`: a JSON object (a blank one is `{}`), its fields as
/// `T` declares them (unknown ones ignored).
fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    let v = match serde_json::from_slice::<Value>(body) {
        _ if is_blank(body) => json!({}),
        Ok(v) if v.is_object() => v,
        Ok(_) => return Err(bad("The request body must be a JSON object")),
        Err(_) => return Err(bad("Malformed JSON request body")),
    };
    serde_json::from_value(v).map_err(|e| bad(e.to_string()))
}

/// A stop or kill body: none, or `{"expiryDuration":N}` (optional, N ≥ 0).
#[derive(Deserialize)]
struct StopBody {
    #[serde(rename = "expiryDuration")]
    _expiry: Option<u64>,
}

/// A start body: `{}` or `{"hosts":[{"id":…,"sshPrivateKey"?}…],"sshPrivateKey"?}`.
#[derive(Deserialize)]
struct StartBody {
    #[serde(rename = "hosts")]
    _hosts: Option<Vec<Host>>,
    #[serde(rename = "sshPrivateKey")]
    _key: Option<String>,
}

#[derive(Deserialize)]
struct Host {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "sshPrivateKey")]
    _key: Option<String>,
}

/// A router that reads each request whole and hands it to `serve`; its
/// answer (200) or error (`{"message"}`) is JSON of type `content_type`.
fn router(sim: Arc<CenturyLink>, serve: Serve, content_type: &'static str) -> Router {
    let handler = move |State(sim): State<Arc<CenturyLink>>, req: Request<Body>| async move {
        let (parts, body) = req.into_parts();
        let answer = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(body) => serve(&sim, &parts.method, &parts.uri, &parts.headers, &body),
            Err(_) => Err((413, "Request entity too large".into())),
        };
        let (status, body) = answer.map_or_else(|(s, m)| (s, error_body(&m)), |v| (200, v));
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&body).unwrap_or_default();
        (status, [(CONTENT_TYPE, content_type)], body).into_response()
    };
    Router::new().fallback(handler).with_state(sim)
}

/// The Runner's router: every request goes through [`CenturyLink::serve_runner`].
pub(crate) fn runner_router(sim: Arc<CenturyLink>) -> Router {
    router(sim, CenturyLink::serve_runner, RUNNER_JSON)
}

/// The login server's router (see [`CenturyLink::serve_login`]).
pub(crate) fn login_router(sim: Arc<CenturyLink>) -> Router {
    router(sim, CenturyLink::serve_login, LOGIN_JSON)
}

impl CenturyLink {
    /// A Runner request: the route (404), the token (401), the alias (403),
    /// the body (400), the operation; a stop or kill is counted first.
    /// "KB" is `CenturyLinkCloud/PublicKB` `Runner/job-service.md` (@
    /// `8c7e6e33`); "RJS" the Runner browser JS SDK (namespace `RNR`, which
    /// hard-codes `https://api.runner.ctl.io`).
    fn serve_runner(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Answer {
        let not_found = || Err((404, "Not Found".into()));
        let segs: Vec<&str> = uri.path().split('/').skip(1).collect();
        let ["jobs", alias, rest @ ..] = segs.as_slice() else {
            return not_found();
        };
        let (get, post) = (*method == Method::GET, *method == Method::POST);
        let execution_get = lock(&self.store).cfg.execution_get;
        // The store, once the token (401) and the alias (403) pass.
        let open = || {
            let live = |t: &str| {
                t == self.o.static_token.0 || lock(&self.store).tokens.live(t) == Some(true)
            };
            if !bearer(headers).is_some_and(live) {
                return Err((401, "Unauthorized".into()));
            }
            let alias = decode(alias);
            if !alias.eq_ignore_ascii_case(&self.o.account_alias) {
                let message = format!("Access denied: the token is not valid for account {alias}");
                return Err((403, message.into()));
            }
            Ok(lock(&self.store))
        };
        let page = || paging(uri.query().unwrap_or_default().as_bytes());
        let json_body = || match is_blank(body) || is_type(headers, "application/json") {
            true => Ok(()),
            false => Err(bad("Content-Type must be application/json")),
        };
        let d = decode;
        match rest {
            _ if segs.contains(&"") => not_found(),
            // KB "Get Jobs" (a page of Jobs).
            [] if get => Ok(open()?.list_jobs(page()?)),
            // RJS `Executions.prototype.find` only; before `{jobId}`: this
            // path is the account's executions.
            ["executions"] if get => open()?.executions(None, page()?),
            ["executions"] => not_found(),
            // KB "Get Job" (its example is a one-element array: the
            // `job_array` switch).
            [job] if get => {
                let mut store = open()?;
                let array = store.cfg.job_array;
                store
                    .job(&d(job))
                    .map(|j| if array { json!([j]) } else { j })
            }
            // KB "Start Job".
            [job, "start"] if post => {
                let mut store = open()?;
                if is_blank(body) {
                    return Err(bad(
                        "Required request body is missing (send {} for no hosts)",
                    ));
                }
                json_body().and_then(|()| object::<StartBody>(body))?;
                store.start_job(&d(job))
            }
            // KB "Get Job Executions".
            [job, "executions"] if get => open()?.executions(Some(&d(job)), page()?),
            // RJS `Job.prototype.execution` only, not in the KB (the
            // `execution_get` switch removes it, as if it did not exist).
            [job, "executions", ex] if get && execution_get => open()?.execution(&d(job), &d(ex)),
            // `stop`: KB "Stop Job Execution" and the seed page
            // `centurylink-stop-execution.md`; `kill`: KB "Kill Job Execution".
            [job, "executions", ex, verb @ ("stop" | "kill")] if post => {
                let mut store = open()?;
                let (job, ex) = (d(job), d(ex));
                let sent = String::from_utf8_lossy(body).into_owned();
                store
                    .bodies
                    .push((format!("{job}/{ex}"), verb.to_string(), sent));
                json_body().and_then(|()| object::<StopBody>(body))?;
                let action = if *verb == "stop" {
                    Change::Stopped
                } else {
                    Change::Killed
                };
                store.stop(&job, &ex, action)
            }
            _ => not_found(),
        }
    }

    /// `POST /v2/authentication/login`: `CenturyLinkCloud/APIDocs`
    /// `Authentication/login.md` (200 `{userName, accountAlias,
    /// locationAlias, roles, bearerToken}`; 400 `{"message": "We didn't
    /// recognize the username or password…"}`). The body is JSON, as in
    /// that page and clc-sdk's `clc/APIv2/api.py` (`API._Login`, `json=`),
    /// or a form, as clc-sdk's `clc/APIv2/__init__.py` `get_session` sends
    /// it (`data=`; ASP.NET Web API binds both). Another method is 405,
    /// another path 404.
    fn serve_login(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Answer {
        // ASP.NET routes ignore case and a trailing slash.
        let path = uri.path().trim_end_matches('/');
        if !path.eq_ignore_ascii_case(LOGIN_PATH) {
            return Err((404, "Not Found".into()));
        }
        if method != Method::POST {
            let why = format!("The requested resource does not support http method '{method}'.");
            return Err((405, why.into()));
        }
        let credentials = if is_type(headers, "application/x-www-form-urlencoded") {
            field(body, "username").zip(field(body, "password"))
        } else {
            let json = is_type(headers, "application/json");
            let v: Option<Value> = serde_json::from_slice(body).ok().filter(|_| json);
            let text = |k: &str| Some(v.as_ref()?.get(k)?.as_str()?.to_owned());
            text("username").zip(text("password"))
        };
        let o = &self.o;
        let mut store = lock(&self.store);
        store.login_attempts += 1;
        if credentials.is_none_or(|(u, p)| u != o.username || p != self.o.password.0) {
            return Err(bad(BAD_CREDENTIALS));
        }
        let token = store.grant(o.token_ttl, &token_claims(o));
        drop(store);
        let body = json!({
            "userName": o.username,
            "accountAlias": o.account_alias,
            "locationAlias": o.location_alias,
            "roles": ROLES,
            "bearerToken": token,
        });
        Ok(body)
    }
}

/// The claims of a login's token (no expiry: see `make_token`).
pub(crate) fn token_claims(o: &CenturyLinkOptions) -> Value {
    json!({
        "unique_name": o.username,
        "urn:tier3:account-alias": o.account_alias,
        "urn:tier3:location-alias": o.location_alias,
        "role": ROLES,
        "iss": "urn:api-tier3",
        "aud": "urn:tier3-users",
    })
}
