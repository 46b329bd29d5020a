//! The Amperity simulator's HTTP surface: routes, auth, listing parameters.
//! Every handler answers `Result<Resp, Resp>`: the error side is a vendor
//! error answer.

// The `Err` side is the answer itself, built once per request.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::{HeaderMap, HeaderValue, Response, Uri};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Amperity as Sim;
use super::store::{NOT_FOUND, RunRecord, View, normalize_state};
use super::{API_VERSION, PREFIX};
use crate::lock;
use crate::server::{json_response, query_pairs};

/// Page size when `limit` is absent. [I] Amperity documents no default: OA3
/// `components.parameters.Limit` is a bare `integer`.
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// Largest page; a larger `limit` is served as this many (accepted, never
/// refused). [I] Amperity documents no maximum; SW2 allows it: "The endpoint
/// may decide to return fewer results than the caller asked for".
pub(crate) const MAX_LIMIT: usize = 100;

/// The time filters of a listing, in `ListParams::times` order.
const TIME_FILTERS: [&str; 4] = ["created_from", "created_to", "ended_from", "ended_to"];

type Resp = Response<Body>;
type Query = Vec<(String, String)>;

impl Sim {
    /// The vendor error body: OA3 `ErrorResponse` (`{"status","message"}`,
    /// `additionalProperties: false`); with the `request_ids` switch also
    /// `request_id` and `trace_id`, as in `amperity_api/source/responses.rst`.
    pub(crate) fn error_body(&self, status: u16, message: &str) -> Value {
        let mut body = json!({ "status": status, "message": message });
        if self.cfg.with_request_ids {
            let mut rng = lock(&self.request_ids);
            body["request_id"] = rng.uuid_like().into();
            body["trace_id"] = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()).into();
        }
        body
    }

    fn error(&self, status: u16, message: &str) -> Resp {
        json_response(status, &self.error_body(status, message))
    }

    /// The query of an authorized request: the token (401), the version
    /// (400) and the tenant (400/403) are checked in this order.
    fn authorize(&self, headers: &HeaderMap, raw: Option<String>) -> Result<Query, Resp> {
        let q = query_pairs(raw.as_deref());
        let bearer = header(headers, AUTHORIZATION.as_str()).and_then(|a| {
            let (scheme, token) = a.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        let Some(token) = bearer.filter(|t| !t.is_empty()) else {
            return Err(self.error(401, "Authentication Required"));
        };
        if token != self.token {
            let live = lock(&self.store).tokens.live(token);
            match live {
                Some(true) => {}
                Some(false) => return Err(self.error(401, "The access token has expired")),
                None => return Err(self.error(401, "Invalid access token")),
            }
        }
        match header(headers, "api-version").or_else(|| param(&q, "api_version")) {
            None => Err(self.error(400, "An API version is required: send the api-version header or the api_version parameter")),
            Some(v) if v.trim() != API_VERSION => Err(self.error(400, &format!("Unsupported API version: {v}"))),
            Some(_) => Ok(()),
        }?;
        match tenant(headers) {
            None => Err(self.error(400, "The amperity-tenant header is required")),
            Some(t) if t.trim() != self.cfg.tenant => Err(self.error(
                403,
                &format!("Not Authorized: the credentials are not valid for tenant {t}"),
            )),
            Some(_) => Ok(q),
        }
    }

    fn not_found(&self) -> Resp {
        self.error(404, NOT_FOUND)
    }
}

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `amperity-tenant` header, or `X-Amperity-Tenant` (also the rate-limit account).
pub(crate) fn tenant(headers: &HeaderMap) -> Option<&str> {
    header(headers, "amperity-tenant").or_else(|| header(headers, "x-amperity-tenant"))
}

/// The simulator's router, every path under `/api` (OA3 `servers`:
/// `https://app.amperity.com/api`).
pub(crate) fn router(sim: Arc<Sim>) -> Router {
    let runs = format!("{PREFIX}/workflow/runs");
    Router::new()
        .route(&format!("{PREFIX}/v0/oauth2/token"), post(oauth_token))
        .route(&runs, get(list_runs).post(start_run))
        .route(&format!("{runs}/{{id}}"), get(fetch_run).post(stop_run))
        .route(&format!("{runs}/{{id}}/stop"), post(stop_run))
        // Any other path: 404 with the error body (`responses.rst` lists 404;
        // OA3 `NotFound` is an `ErrorResponse`); a known path with another
        // method: 405 (`responses.rst`; OA3 `MethodNotAllowed`).
        .fallback(async |State(sim): State<Arc<Sim>>| sim.error(404, "Not Found"))
        .method_not_allowed_fallback(async |State(sim): State<Arc<Sim>>| {
            sim.error(405, "Method Not Allowed")
        })
        .with_state(sim)
}

/// `POST /v0/oauth2/token` (client credentials, form encoded), following
/// `amperity/amperity-docs` `amperity_reference/source/api.rst` ("Get OAuth
/// credentials"): the request carries `X-Amperity-Tenant`, the answer is
/// `{"access_token","expires_in","token_type":"Bearer"}`. Not in OA3. A
/// request without `X-Amperity-Tenant` is 400 with the `ErrorResponse` body;
/// one for another tenant is 401 (the credentials belong to this tenant; an
/// inference).
async fn oauth_token(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Resp, Resp> {
    match header(&headers, "x-amperity-tenant").map(str::trim) {
        None | Some("") => Err(sim.error(400, "The X-Amperity-Tenant header is required")),
        Some(t) if t != sim.cfg.tenant => Err(sim.error(401, "invalid client: unknown tenant")),
        Some(_) => Ok(()),
    }?;
    let form = query_pairs(std::str::from_utf8(&body).ok());
    match param(&form, "grant_type") {
        Some("client_credentials") => {}
        Some(other) => return Err(sim.error(400, &format!("unsupported grant_type: {other}"))),
        None => return Err(sim.error(400, "grant_type is required")),
    }
    if param(&form, "client_id") != Some(sim.cfg.client_id.as_str())
        || param(&form, "client_secret") != Some(sim.client_secret.as_str())
    {
        return Err(sim.error(401, "invalid client"));
    }
    let ttl = sim.cfg.token_ttl;
    let token = lock(&sim.store).grant(ttl);
    let body =
        json!({"access_token": token, "expires_in": ttl.as_secs().max(1), "token_type": "Bearer"});
    let mut resp = json_response(200, &body);
    let no_store = HeaderValue::from_static("no-store");
    resp.headers_mut().insert(CACHE_CONTROL, no_store);
    Ok(resp)
}

/// The parsed filters and paging of a listing.
#[derive(Debug)]
struct ListParams {
    /// `created_from`, `created_to`, `ended_from`, `ended_to`.
    times: [Option<DateTime<Utc>>; 4],
    state: Option<String>,
    kind: Option<String>,
    limit: usize,
    with_total: bool,
    /// `(created_at ms, id)` of the last run of the previous page.
    after: Option<(i64, String)>,
}

impl ListParams {
    fn parse(q: &[(String, String)]) -> Result<ListParams, String> {
        let invalid =
            |name: &str, what: &str, v: &str| format!("Invalid {name}: expected {what}, got {v:?}");
        let limit = match param(q, "limit").map(|v| (v, v.trim().parse::<usize>())) {
            None => DEFAULT_LIMIT,
            Some((_, Ok(n))) if n >= 1 => n.min(MAX_LIMIT),
            Some((v, _)) => return Err(invalid("limit", "a positive integer", v)),
        };
        let with_total = match param(q, "with_total") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(invalid("with_total", "true or false", v)),
        };
        let what = "an ISO-8601 UTC timestamp such as 2024-06-19 or 2024-06-19T04:00:18.764Z";
        let mut times = [None; 4];
        for (t, name) in times.iter_mut().zip(TIME_FILTERS) {
            if let Some(v) = param(q, name) {
                *t = Some(parse_time(v).ok_or_else(|| invalid(name, what, v))?);
            }
        }
        let nonempty = |name: &str| param(q, name).filter(|v| !v.is_empty());
        let mut p = ListParams {
            times,
            state: nonempty("state").map(normalize_state),
            kind: nonempty("type").map(str::to_owned),
            limit,
            with_total,
            after: None,
        };
        if let Some(token) = param(q, "next_token") {
            if token.is_empty() {
                return Err("next_token must not be null".to_owned());
            }
            let (hash, after) = decode_token(token).ok_or("Invalid next_token")?;
            if hash != p.hash() {
                return Err("next_token does not match the request's filters; send the same filters on every page".to_owned());
            }
            p.after = Some(after);
        }
        Ok(p)
    }

    /// A hash of the filters (not the paging), carried in the token.
    fn hash(&self) -> u64 {
        let canonical = format!("{:?}|{:?}|{:?}", self.times, self.state, self.kind);
        canonical.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    fn matches(&self, r: &RunRecord) -> bool {
        type T = Option<DateTime<Utc>>;
        let window = |t: T, from: T, to: T| match t {
            _ if from.is_none() && to.is_none() => true,
            None => false,
            Some(t) => from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e),
        };
        let [cf, ct, ef, et] = self.times;
        window(Some(r.created_at), cf, ct)
            && window(r.ended_at, ef, et)
            && (self.state.as_ref()).is_none_or(|s| normalize_state(&r.state) == *s)
            && self.kind.as_ref().is_none_or(|k| r.kind == *k)
    }

    /// Whether `r` comes after the cursor in listing order.
    fn is_after(&self, r: &RunRecord) -> bool {
        self.after.as_ref().is_none_or(|(ms, id)| {
            let c = r.created_at.timestamp_millis();
            c < *ms || (c == *ms && r.id.as_str() > id.as_str())
        })
    }
}

/// The token for the runs after `(created ms, id)` under filters `hash`:
/// `v1:<hash>:<created ms>:<id>`, hex encoded.
pub(crate) fn encode_key(hash: u64, created_ms: i64, id: &str) -> String {
    let plain = format!("v1:{hash:016x}:{created_ms}:{id}");
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn decode_token(token: &str) -> Option<(u64, (i64, String))> {
    // An odd length or a non-ASCII byte leaves a pair that is not hex.
    let byte = |i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok();
    let bytes: Option<Vec<u8>> = (0..token.len()).step_by(2).map(byte).collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let mut parts = plain.strip_prefix("v1:")?.splitn(3, ':');
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    let ms = parts.next()?.parse::<i64>().ok()?;
    Some((hash, (ms, parts.next()?.to_owned())))
}

/// Parses an ISO-8601 timestamp in UTC, full or partial: `YYYY`, `YYYY-MM`,
/// `YYYY-MM-DD`, then optionally `THH`, `THH:MM`, `THH:MM:SS`, a fraction of
/// 1–9 digits, and `Z` or an offset (`+HH:MM`, `+HHMM`, `+HH`). Missing parts
/// are the start of the period: they are completed from `0000-01-01T00:00:00`
/// to RFC 3339.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let s = s.trim();
    let t = s.find(['T', 't']).unwrap_or(s.len());
    let (stamp, zone) = s.split_at(s[t..].find(['Z', 'z', '+', '-']).map_or(s.len(), |z| t + z));
    let (stamp, frac) = match stamp.split_once(['.', ',']) {
        Some((hms, f)) if hms.len() == 19 && f.len() <= 9 && digits(f) => (hms, format!(".{f}")),
        Some(_) => return None,
        None => (stamp, String::new()),
    };
    let lengths = [[4, 7, 10], [13, 16, 19]][usize::from(t < s.len())];
    let leap = stamp.get(17..).is_some_and(|sec| sec >= "60");
    if !lengths.contains(&stamp.len()) || (t < s.len() && t != 10) || leap {
        return None;
    }
    let zone = match zone.replace(':', "") {
        z if z.is_empty() || z.eq_ignore_ascii_case("z") => "+00:00".to_owned(),
        z if z.len() == 3 && digits(&z[1..]) && z[1..] < *"24" => format!("{z}:00"),
        z if z.len() == 5 && digits(&z[1..]) && z[1..3] < *"24" && z[3..] < *"60" => {
            format!("{}:{}", &z[..3], &z[3..])
        }
        _ => return None,
    };
    let rest = &"0000-01-01T00:00:00"[stamp.len()..];
    let rfc3339 = format!("{}{rest}{frac}{zone}", stamp.replace('t', "T"));
    let parsed = DateTime::parse_from_rfc3339(&rfc3339).ok();
    parsed.map(|t| t.with_timezone(&Utc))
}

/// `GET /workflow/runs`: OA3 operation `list-workflows` (answers 200
/// `WorkflowList`, 400, 401, 403, 500 `ErrorResponse`);
/// `amperity_api/source/endpoint_get_workflows_list.rst` and
/// `pagination.rst` for the filters and `next_token`.
async fn list_runs(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Resp, Resp> {
    let q = sim.authorize(&headers, raw)?;
    let p = ListParams::parse(&q).map_err(|message| sim.error(400, &message))?;
    let mut store = lock(&sim.store);
    store.settle();
    let all = store.ordered().into_iter();
    let matching: Vec<&RunRecord> = all.filter(|r| p.matches(r)).collect();
    let total = matching.len();
    let start = matching.iter().position(|r| p.is_after(r)).unwrap_or(total);
    let end = (start + p.limit).min(total);
    let page = matching.get(start..end).unwrap_or_default();
    let data: Vec<Value> = page.iter().map(|r| store.render(r, View::List)).collect();
    let mut body = json!({ "data": data });
    match page.last() {
        Some(last) if end < total => {
            let ms = last.created_at.timestamp_millis();
            body["next_token"] = encode_key(p.hash(), ms, &last.id).into();
        }
        _ if sim.cfg.empty_last_token => body["next_token"] = "".into(),
        _ => {}
    }
    if p.with_total {
        body["total"] = total.into();
    }
    Ok(json_response(200, &body))
}

/// `GET /workflow/runs/{id}`: OA3 operation `get-workflow` (`view` is
/// `overview` or `verbose`; answers 200 `Workflow`, 400, 401, 403, 404,
/// 500 `ErrorResponse`); `amperity_api/source/endpoint_get_workflows_fetch.rst`.
async fn fetch_run(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    id: Result<Path<String>, PathRejection>,
) -> Result<Resp, Resp> {
    let q = sim.authorize(&headers, raw)?;
    let view = match param(&q, "view") {
        None => View::Overview,
        Some(v) if v.eq_ignore_ascii_case("overview") => View::Overview,
        Some(v) if v.eq_ignore_ascii_case("verbose") => View::Verbose,
        Some(v) => {
            let message = format!("Invalid view: expected overview or verbose, got {v:?}");
            return Err(sim.error(400, &message));
        }
    };
    let Path(id) = id.map_err(|_| sim.not_found())?;
    let found = lock(&sim.store).get(&id, view);
    Ok(json_response(200, &found.ok_or_else(|| sim.not_found())?))
}

/// `POST /workflow/runs/{id}/stop`: OA3 operation `stop-workflow` (answers
/// 200 `Workflow`, 400, 401, 403, 404, 500 `ErrorResponse`; no 409 unless
/// the [`TerminalStop::Conflict`](super::TerminalStop::Conflict) switch is
/// on); `amperity_api/source/endpoint_post_workflows_stop.rst`. Also
/// `POST /workflow/runs/{id}:stop` (the form of the first draft of that
/// page, commits `0942d722`/`f4cc3ca7`, kept for tolerance); any other
/// `POST /workflow/runs/{id}` is 405.
async fn stop_run(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Result<Resp, Resp> {
    let colon = !uri.path().ends_with("/stop");
    if colon && !uri.path().ends_with(":stop") {
        return Err(sim.error(405, "Method Not Allowed"));
    }
    sim.authorize(&headers, raw)?;
    let Path(id) = id.map_err(|_| sim.not_found())?;
    let stripped = id.strip_suffix(":stop").filter(|_| colon);
    let result = lock(&sim.store).stop(stripped.unwrap_or(&id));
    let run = result.map_err(|(status, message)| sim.error(status, &message))?;
    Ok(json_response(200, &run))
}

/// `POST /workflow/runs` with `{"config_id": …}`: OA3 operation
/// `run-workflow` (`WorkflowRunRequest`), answering 201 `Workflow`;
/// `amperity_api/source/endpoint_post_workflows_start.rst`.
async fn start_run(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Resp, Resp> {
    sim.authorize(&headers, raw)?;
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return Err(sim.error(400, "The request body must be a JSON object"));
    };
    let config_id = req.get("config_id").and_then(Value::as_str);
    let config_id = config_id.filter(|c| !c.is_empty());
    let config_id = config_id.ok_or_else(|| sim.error(400, "config_id is required"))?;
    let modes = ["full", "refresh", "source"];
    let mode = req.get("run_mode").filter(|m| !m.is_null());
    if let Some(m) = mode.filter(|m| m.as_str().is_none_or(|m| !modes.contains(&m))) {
        let message = format!("Invalid run_mode: expected full, refresh or source, got {m}");
        return Err(sim.error(400, &message));
    }
    for key in ["range_from", "range_to"] {
        let v = req.get(key).filter(|v| !v.is_null());
        if v.is_some_and(|v| v.as_str().and_then(parse_time).is_none()) {
            let message = format!("Invalid {key}: expected an ISO-8601 timestamp");
            return Err(sim.error(400, &message));
        }
    }
    let run = lock(&sim.store).start_run(config_id, &sim.cfg.client_id);
    Ok(json_response(201, &run))
}
