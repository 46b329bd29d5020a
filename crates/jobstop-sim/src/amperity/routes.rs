//! The Amperity simulator's HTTP surface: routes, auth, listing parameters.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::{HeaderMap, HeaderValue, Response, Uri};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};

use super::Amperity as Sim;
use super::store::{RunRecord, StopResult, View, normalize_state};
use super::{API_VERSION, LastPage, PREFIX, TerminalStop};
use crate::lock;
use crate::server::{json_response, query_pairs};

/// Page size when `limit` is absent. [I] Amperity documents no default: OA3
/// `components.parameters.Limit` is a bare `integer`.
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// Largest page; a larger `limit` is served as this many (accepted, never
/// refused). [I] Amperity documents no maximum; SW2 allows it: "The endpoint
/// may decide to return fewer results than the caller asked for".
pub(crate) const MAX_LIMIT: usize = 100;

type Resp = Response<Body>;

impl Sim {
    /// The vendor error body: OA3 `ErrorResponse` (`{"status","message"}`,
    /// `additionalProperties: false`); with the `request_ids` switch also
    /// `request_id` and `trace_id`, as in `amperity_api/source/responses.rst`.
    pub(crate) fn error_body(&self, status: u16, message: &str) -> Value {
        let mut body = json!({ "status": status, "message": message });
        if self.cfg.request_ids
            && let Some(obj) = body.as_object_mut()
        {
            let mut rng = lock(&self.request_ids);
            let request_id = rng.uuid_like();
            let trace_id = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
            obj.insert("request_id".into(), request_id.into());
            obj.insert("trace_id".into(), trace_id.into());
        }
        body
    }

    fn error(&self, status: u16, message: &str) -> Resp {
        json_response(status, &self.error_body(status, message))
    }

    /// Checks the token (401), the version (400) and the tenant (400/403);
    /// the error answer if one fails.
    fn authorize(&self, headers: &HeaderMap, query: &[(String, String)]) -> Option<Resp> {
        self.check_auth(headers, query)
            .err()
            .map(|(status, message)| self.error(status, &message))
    }

    fn check_auth(
        &self,
        headers: &HeaderMap,
        query: &[(String, String)],
    ) -> Result<(), (u16, String)> {
        let token = header(headers, AUTHORIZATION.as_str())
            .and_then(|a| {
                let (scheme, token) = a.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err((401, "Authentication Required".to_owned()));
        };
        if token != self.token {
            let live = lock(&self.store).tokens.live(token);
            match live {
                Some(true) => {}
                Some(false) => return Err((401, "The access token has expired".to_owned())),
                None => return Err((401, "Invalid access token".to_owned())),
            }
        }
        let version = header(headers, "api-version").or_else(|| param(query, "api_version"));
        match version {
            None => {
                return Err((400, "An API version is required: send the api-version header or the api_version parameter".to_owned()));
            }
            Some(v) if v.trim() != API_VERSION => {
                return Err((400, format!("Unsupported API version: {v}")));
            }
            Some(_) => {}
        }
        let tenant =
            header(headers, "amperity-tenant").or_else(|| header(headers, "x-amperity-tenant"));
        match tenant {
            None => Err((400, "The amperity-tenant header is required".to_owned())),
            Some(t) if t.trim() != self.cfg.tenant => Err((
                403,
                format!("Not Authorized: the credentials are not valid for tenant {t}"),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The first value of parameter `name` in `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of header `name` as text, if present and valid.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The simulator's router, every path under `/api` (OA3 `servers`:
/// `https://app.amperity.com/api`).
pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/v0/oauth2/token"), post(oauth_token))
        .route(
            &format!("{PREFIX}/workflow/runs"),
            get(list_runs).post(start_run),
        )
        .route(
            &format!("{PREFIX}/workflow/runs/{{id}}"),
            get(fetch_run).post(colon_stop),
        )
        .route(
            &format!("{PREFIX}/workflow/runs/{{id}}/stop"),
            post(stop_run),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(sim)
}

/// Any other path: 404 with the error body (`amperity_api/source/responses.rst`
/// lists 404; OA3 `NotFound` is an `ErrorResponse`).
async fn not_found(State(sim): State<Arc<Sim>>) -> Resp {
    sim.error(404, "Not Found")
}

/// A known path with another method: 405 (`responses.rst`; OA3
/// `MethodNotAllowed` is an `ErrorResponse`).
async fn method_not_allowed(State(sim): State<Arc<Sim>>) -> Resp {
    sim.error(405, "Method Not Allowed")
}

/// `POST /v0/oauth2/token` (client credentials, form encoded), following
/// `amperity/amperity-docs` `amperity_reference/source/api.rst` ("Get OAuth
/// credentials"): the request carries `X-Amperity-Tenant`, the answer is
/// `{"access_token","expires_in","token_type":"Bearer"}`. Not in OA3. A
/// request without `X-Amperity-Tenant` is 400 with the `ErrorResponse` body;
/// one for another tenant is 401 (the credentials belong to this tenant; an
/// inference).
async fn oauth_token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Resp {
    match header(&headers, "x-amperity-tenant").map(str::trim) {
        None | Some("") => return sim.error(400, "The X-Amperity-Tenant header is required"),
        Some(t) if t != sim.cfg.tenant => {
            return sim.error(401, "invalid client: unknown tenant");
        }
        Some(_) => {}
    }
    let form = query_pairs(std::str::from_utf8(&body).ok());
    match param(&form, "grant_type") {
        Some("client_credentials") => {}
        Some(other) => return sim.error(400, &format!("unsupported grant_type: {other}")),
        None => return sim.error(400, "grant_type is required"),
    }
    let ok = param(&form, "client_id") == Some(sim.client_id.as_str())
        && param(&form, "client_secret") == Some(sim.client_secret.as_str());
    if !ok {
        return sim.error(401, "invalid client");
    }
    let ttl = sim.cfg.token_ttl;
    let token = lock(&sim.store).grant(ttl);
    let mut resp = json_response(
        200,
        &json!({
            "access_token": token,
            "expires_in": ttl.as_secs().max(1),
            "token_type": "Bearer",
        }),
    );
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The parsed filters and paging of a listing.
#[derive(Debug)]
struct ListParams {
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
    ended_from: Option<DateTime<Utc>>,
    ended_to: Option<DateTime<Utc>>,
    state: Option<String>,
    kind: Option<String>,
    limit: usize,
    with_total: bool,
    /// `(created_at ms, id)` of the last run of the previous page.
    after: Option<(i64, String)>,
}

impl ListParams {
    fn parse(q: &[(String, String)]) -> Result<ListParams, String> {
        let time = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
            match param(q, name) {
                None => Ok(None),
                Some(v) => parse_time(v).map(Some).ok_or_else(|| {
                    format!("Invalid {name}: expected an ISO-8601 UTC timestamp such as 2024-06-19 or 2024-06-19T04:00:18.764Z, got {v:?}")
                }),
            }
        };
        let limit = match param(q, "limit") {
            None => DEFAULT_LIMIT,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => n.min(MAX_LIMIT),
                _ => {
                    return Err(format!(
                        "Invalid limit: expected a positive integer, got {v:?}"
                    ));
                }
            },
        };
        let with_total = match param(q, "with_total") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(format!(
                    "Invalid with_total: expected true or false, got {v:?}"
                ));
            }
        };
        let nonempty = |name: &str| param(q, name).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut p = ListParams {
            created_from: time("created_from")?,
            created_to: time("created_to")?,
            ended_from: time("ended_from")?,
            ended_to: time("ended_to")?,
            state: nonempty("state").map(|s| normalize_state(&s)),
            kind: nonempty("type"),
            limit,
            with_total,
            after: None,
        };
        if let Some(token) = param(q, "next_token") {
            if token.is_empty() {
                return Err("next_token must not be null".to_owned());
            }
            let (hash, after) =
                decode_token(token).ok_or_else(|| "Invalid next_token".to_owned())?;
            if hash != p.hash() {
                return Err(
                    "next_token does not match the request's filters; send the same filters on every page"
                        .to_owned(),
                );
            }
            p.after = Some(after);
        }
        Ok(p)
    }

    /// A hash of the filters (not the paging), carried in the token.
    fn hash(&self) -> u64 {
        let ms = |t: &Option<DateTime<Utc>>| t.map(|t| t.timestamp_nanos_opt().unwrap_or(0));
        let canonical = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            ms(&self.created_from),
            ms(&self.created_to),
            ms(&self.ended_from),
            ms(&self.ended_to),
            self.state,
            self.kind
        );
        fnv1a(canonical.as_bytes())
    }

    fn matches(&self, r: &RunRecord) -> bool {
        let window =
            |t: Option<DateTime<Utc>>, from: &Option<DateTime<Utc>>, to: &Option<DateTime<Utc>>| {
                if from.is_none() && to.is_none() {
                    return true;
                }
                let Some(t) = t else { return false };
                from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)
            };
        window(Some(r.created_at), &self.created_from, &self.created_to)
            && window(r.ended_at, &self.ended_from, &self.ended_to)
            && self
                .state
                .as_ref()
                .is_none_or(|s| normalize_state(&r.state) == *s)
            && self.kind.as_ref().is_none_or(|k| r.kind == *k)
    }

    /// Whether `r` comes after the cursor in listing order.
    fn is_after(&self, r: &RunRecord) -> bool {
        match &self.after {
            None => true,
            Some((ms, id)) => {
                let c = r.created_at.timestamp_millis();
                c < *ms || (c == *ms && r.id.as_str() > id.as_str())
            }
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `v1:<hash>:<created ms>:<id>`, hex encoded.
fn encode_token(hash: u64, last: &RunRecord) -> String {
    encode_key(hash, last.created_at.timestamp_millis(), &last.id)
}

/// The token for the runs after `(created ms, id)` under filters `hash`.
pub(crate) fn encode_key(hash: u64, created_ms: i64, id: &str) -> String {
    let plain = format!("v1:{hash:016x}:{created_ms}:{id}");
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn decode_token(token: &str) -> Option<(u64, (i64, String))> {
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let mut parts = plain.splitn(4, ':');
    if parts.next()? != "v1" {
        return None;
    }
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    let ms = parts.next()?.parse::<i64>().ok()?;
    let id = parts.next()?.to_owned();
    Some((hash, (ms, id)))
}

/// Parses an ISO-8601 timestamp in UTC, full or partial: `YYYY`, `YYYY-MM`,
/// `YYYY-MM-DD`, then optionally `THH`, `THH:MM`, `THH:MM:SS`, a fraction of
/// 1–9 digits, and `Z` or an offset (`+HH:MM`, `+HHMM`, `+HH`). Missing parts
/// are the start of the period.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    fn num(s: &str, len: usize) -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    }
    let s = s.trim();
    let (date, rest) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let (y, m, d) = match parts.as_slice() {
        [y] if rest.is_none() => (*y, "01", "01"),
        [y, m] if rest.is_none() => (*y, *m, "01"),
        [y, m, d] => (*y, *m, *d),
        _ => return None,
    };
    let y = i32::try_from(num(y, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(y, num(m, 2)?, num(d, 2)?)?;
    let Some(rest) = rest else {
        return Some(date.and_time(NaiveTime::MIN).and_utc());
    };
    let (clock, offset_secs) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0i64)
    } else if let Some(i) = rest.find(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits = off[1..].replace(':', "");
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (hh, mm) = match digits.len() {
            2 => (num(&digits, 2)?, 0),
            4 => (num(&digits[..2], 2)?, num(&digits[2..], 2)?),
            _ => return None,
        };
        if hh > 23 || mm > 59 {
            return None;
        }
        (c, sign * i64::from(hh * 3600 + mm * 60))
    } else {
        (rest, 0)
    };
    let (hms, frac) = match clock.split_once(['.', ',']) {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (clock, None),
    };
    let fields: Vec<&str> = hms.split(':').collect();
    let (h, mi, sec) = match fields.as_slice() {
        [h] if frac.is_none() => (num(h, 2)?, 0, 0),
        [h, m] if frac.is_none() => (num(h, 2)?, num(m, 2)?, 0),
        [h, m, s] => (num(h, 2)?, num(m, 2)?, num(s, 2)?),
        _ => return None,
    };
    let nanos = match frac {
        None => 0,
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{f:0<9}").parse().ok()?
        }
        Some(_) => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(h, mi, sec, nanos)?;
    let local = date.and_time(time).and_utc();
    local.checked_sub_signed(chrono::Duration::seconds(offset_secs))
}

/// `GET /workflow/runs`: OA3 operation `list-workflows` (answers 200
/// `WorkflowList`, 400, 401, 403, 500 `ErrorResponse`);
/// `amperity_api/source/endpoint_get_workflows_list.rst` and
/// `pagination.rst` for the filters and `next_token`.
async fn list_runs(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Resp {
    let q = query_pairs(raw.as_deref());
    if let Some(resp) = sim.authorize(&headers, &q) {
        return resp;
    }
    let p = match ListParams::parse(&q) {
        Ok(p) => p,
        Err(message) => return sim.error(400, &message),
    };
    let body = {
        let mut store = lock(&sim.store);
        store.settle();
        let matching: Vec<&RunRecord> = store
            .ordered()
            .into_iter()
            .filter(|r| p.matches(r))
            .collect();
        let total = matching.len();
        let start = matching.iter().position(|r| p.is_after(r)).unwrap_or(total);
        let end = (start + p.limit).min(total);
        let page = matching.get(start..end).unwrap_or_default();
        let mut body = serde_json::Map::new();
        body.insert(
            "data".into(),
            Value::Array(page.iter().map(|r| store.render(r, View::List)).collect()),
        );
        match page.last() {
            Some(last) if end < total => {
                body.insert("next_token".into(), encode_token(p.hash(), last).into());
            }
            _ => {
                if sim.cfg.last_page == LastPage::Empty {
                    body.insert("next_token".into(), "".into());
                }
            }
        }
        if p.with_total {
            body.insert("total".into(), total.into());
        }
        Value::Object(body)
    };
    json_response(200, &body)
}

/// `GET /workflow/runs/{id}`: OA3 operation `get-workflow` (`view` is
/// `overview` or `verbose`; answers 200 `Workflow`, 400, 401, 403, 404,
/// 500 `ErrorResponse`); `amperity_api/source/endpoint_get_workflows_fetch.rst`.
async fn fetch_run(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    id: Result<Path<String>, PathRejection>,
) -> Resp {
    let q = query_pairs(raw.as_deref());
    if let Some(resp) = sim.authorize(&headers, &q) {
        return resp;
    }
    let view = match param(&q, "view") {
        None => View::Overview,
        Some(v) if v.eq_ignore_ascii_case("overview") => View::Overview,
        Some(v) if v.eq_ignore_ascii_case("verbose") => View::Verbose,
        Some(v) => {
            return sim.error(
                400,
                &format!("Invalid view: expected overview or verbose, got {v:?}"),
            );
        }
    };
    let Ok(Path(id)) = id else {
        return workflow_not_found(&sim);
    };
    let found = lock(&sim.store).get(&id, view);
    match found {
        Some(run) => json_response(200, &run),
        None => workflow_not_found(&sim),
    }
}

fn workflow_not_found(sim: &Sim) -> Resp {
    sim.error(404, "Workflow not found")
}

/// `POST /workflow/runs/{id}/stop`: OA3 operation `stop-workflow` (answers
/// 200 `Workflow`, 400, 401, 403, 404, 500 `ErrorResponse`; no 409 unless
/// the [`TerminalStop::Conflict`](super::TerminalStop::Conflict) switch is
/// on); `amperity_api/source/endpoint_post_workflows_stop.rst`.
async fn stop_run(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    id: Result<Path<String>, PathRejection>,
) -> Resp {
    let q = query_pairs(raw.as_deref());
    if let Some(resp) = sim.authorize(&headers, &q) {
        return resp;
    }
    match id {
        Ok(Path(id)) => stop(&sim, &id),
        Err(_) => workflow_not_found(&sim),
    }
}

/// `POST /workflow/runs/{id}:stop` (the form of the first draft of
/// `amperity_api/source/endpoint_post_workflows_stop.rst`, commits
/// `0942d722`/`f4cc3ca7`, kept for tolerance); any other
/// `POST /workflow/runs/{id}` is 405.
async fn colon_stop(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Resp {
    if !uri.path().ends_with(":stop") {
        return sim.error(405, "Method Not Allowed");
    }
    let q = query_pairs(raw.as_deref());
    if let Some(resp) = sim.authorize(&headers, &q) {
        return resp;
    }
    match id {
        Ok(Path(id)) => stop(&sim, id.strip_suffix(":stop").unwrap_or(&id)),
        Err(_) => workflow_not_found(&sim),
    }
}

fn stop(sim: &Sim, id: &str) -> Resp {
    let result = lock(&sim.store).stop(id);
    match result {
        StopResult::Ok(run) => json_response(200, &run),
        StopResult::Terminal(TerminalStop::Conflict, _) => {
            sim.error(409, "Workflow is not running")
        }
        StopResult::Terminal(_, state) => sim.error(
            400,
            &format!("Workflow {id} cannot be stopped: it is not running (state {state})"),
        ),
        StopResult::NotFound => workflow_not_found(sim),
    }
}

/// `POST /workflow/runs` with `{"config_id": …}`: OA3 operation
/// `run-workflow` (`WorkflowRunRequest`), answering 201 `Workflow`;
/// `amperity_api/source/endpoint_post_workflows_start.rst`.
async fn start_run(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Resp {
    let q = query_pairs(raw.as_deref());
    if let Some(resp) = sim.authorize(&headers, &q) {
        return resp;
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return sim.error(400, "The request body must be a JSON object");
    };
    let Some(config_id) = req
        .get("config_id")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    else {
        return sim.error(400, "config_id is required");
    };
    match req.get("run_mode") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if ["full", "refresh", "source"].contains(&m.as_str()) => {}
        Some(other) => {
            return sim.error(
                400,
                &format!("Invalid run_mode: expected full, refresh or source, got {other}"),
            );
        }
    }
    for key in ["range_from", "range_to"] {
        if let Some(v) = req.get(key).filter(|v| !v.is_null())
            && v.as_str().and_then(parse_time).is_none()
        {
            return sim.error(
                400,
                &format!("Invalid {key}: expected an ISO-8601 timestamp"),
            );
        }
    }
    let principal = sim.client_id.clone();
    let run = lock(&sim.store).start_run(config_id, &principal);
    json_response(201, &run)
}
