//! Scripted, deterministic fault injection: which requests get which fault.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Method;

use crate::lock;

/// Which requests a [`FaultRule`] applies to: an optional method and a path
/// pattern, matched against the raw (still percent-encoded) request path
/// *below the vendor prefix* (for Amperity, `/workflow/runs` rather than
/// `/api/workflow/runs`), without the query.
///
/// Patterns: an exact path in which a `*` segment matches any one segment
/// (`/workflow/runs/*/stop`), a prefix (`/workflow/runs/`), or anything.
///
/// ```
/// use jobstop_sim::Route;
///
/// assert!(Route::get("/workflow/runs").matches("GET", "/workflow/runs"));
/// assert!(!Route::get("/workflow/runs").matches("POST", "/workflow/runs"));
/// assert!(Route::post("/workflow/runs/*/stop").matches("POST", "/workflow/runs/wf-1/stop"));
/// assert!(Route::post_prefix("/workflow/runs/").matches("POST", "/workflow/runs/wf-1:stop"));
/// assert!(Route::any().matches("DELETE", "/anything"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    method: Option<Method>,
    path: PathPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPattern {
    Any,
    Exact(String),
    Prefix(String),
}

/// `Route::get(pattern)` and the like: `name(METHOD, constructor)`.
macro_rules! shorthands {
    ($($name:ident($m:ident, $via:ident)),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($m), "` on `pattern` (see [`Route::", stringify!($via), "`]).")]
        pub fn $name(pattern: &str) -> Self {
            Self::$via(Method::$m, pattern)
        }
    )*};
}

impl Route {
    fn new(method: Option<Method>, path: PathPattern) -> Self {
        Route { method, path }
    }

    /// Every request.
    pub fn any() -> Self {
        Self::new(None, PathPattern::Any)
    }

    /// Any method on `pattern` (exact, `*` matches one segment).
    pub fn path(pattern: &str) -> Self {
        Self::new(None, PathPattern::Exact(pattern.to_owned()))
    }

    /// Any method on a path starting with `prefix`.
    pub fn prefix(prefix: &str) -> Self {
        Self::new(None, PathPattern::Prefix(prefix.to_owned()))
    }

    /// `method` on `pattern` (exact, `*` matches one segment).
    pub fn method(method: Method, pattern: &str) -> Self {
        Self::new(Some(method), PathPattern::Exact(pattern.to_owned()))
    }

    /// `method` on a path starting with `prefix`.
    pub fn method_prefix(method: Method, prefix: &str) -> Self {
        Self::new(Some(method), PathPattern::Prefix(prefix.to_owned()))
    }

    shorthands! {
        get(GET, method), post(POST, method), put(PUT, method), delete(DELETE, method),
        get_prefix(GET, method_prefix), post_prefix(POST, method_prefix),
    }

    /// Whether a request with `method` on `path` (below the vendor prefix,
    /// no query) matches. The method is compared ignoring case.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.as_str().eq_ignore_ascii_case(method)
        {
            return false;
        }
        match &self.path {
            PathPattern::Any => true,
            PathPattern::Prefix(p) => path.starts_with(p.as_str()),
            PathPattern::Exact(p) => {
                let mut want = p.split('/');
                let mut got = path.split('/');
                loop {
                    match (want.next(), got.next()) {
                        (None, None) => return true,
                        (Some("*"), Some(g)) if !g.is_empty() => {}
                        (Some(w), Some(g)) if w == g => {}
                        _ => return false,
                    }
                }
            }
        }
    }
}

/// What the simulator does instead of (or on top of) answering normally.
///
/// Faults marked *handler runs* call the vendor handler first (so the request
/// takes effect, e.g. a stop is applied) and then damage its answer; the
/// others answer without calling it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long, then serve normally (handler runs).
    Latency(Duration),
    /// Answer with `status` and `body`, and `Retry-After: n` when set.
    Status {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: FaultBody,
        /// Seconds for a `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// 429 with the vendor's error body, and `Retry-After: n` when set. Also
    /// what the rate limit answers with.
    TooManyRequests {
        /// Seconds for a `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// Run the handler at once (so a stop takes effect now), then wait this
    /// long before sending its answer: a request that worked but whose answer
    /// is slower than the client's attempt timeout.
    SlowAnswer(Duration),
    /// Close the TCP connection without sending anything (handler not run).
    CloseBeforeHeaders,
    /// Run the handler, then close the connection without sending anything:
    /// the request took effect but the client never learns it.
    CloseAfterHandler,
    /// Send the handler's status and headers with its full `Content-Length`,
    /// then half the body, then close the connection (handler runs; an empty
    /// answer is replaced by a plausible JSON body).
    CloseMidBody,
    /// The handler's answer with its body cut in half and a `Content-Length`
    /// matching the cut (handler runs; an empty answer is replaced by a
    /// plausible JSON body).
    TruncatedJson,
    /// 200 with a `text/plain` body that is not JSON.
    NonJson,
    /// An HTML error page (`<!DOCTYPE html>…<title>502 Bad Gateway</title>…`)
    /// labelled `text/html`, with this status.
    HtmlError {
        /// The HTTP status (and the page's title).
        status: u16,
    },
    /// 200 with a syntactically valid JSON body of exactly `bytes` bytes
    /// (`{"data":[],"padding":"xxx…"}`), generated while it is sent.
    Oversized {
        /// The body's size.
        bytes: u64,
        /// Whether to declare the size in `Content-Length` (otherwise the
        /// body is chunked).
        content_length: bool,
    },
    /// 200 `application/json` with an empty body.
    EmptyOk,
    /// The handler's answer, relabelled `Content-Type: text/html` (handler
    /// runs).
    WrongContentType,
    /// The handler's answer with its JSON body rewritten (handler runs): a
    /// 2xx answer whose body parses as JSON is passed through the
    /// [`JsonRewrite`] and sent re-serialized (same status and headers, a new
    /// `Content-Length`); any other answer (an error status, an empty `204`,
    /// a body that is not JSON) is sent unchanged. For answers that are
    /// well-formed JSON but not what the vendor documents: unknown values,
    /// missing or extra fields, `null`s.
    MapJson(JsonRewrite),
}

impl Fault {
    /// `status` with the vendor's error body (its standard reason as the
    /// message).
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            body: FaultBody::Vendor(reason(status).to_owned()),
            retry_after: None,
        }
    }

    /// `status` with the given body.
    pub fn status_with(status: u16, body: FaultBody) -> Self {
        Fault::Status {
            status,
            body,
            retry_after: None,
        }
    }

    /// 429 with the vendor's error body and an optional `Retry-After`.
    pub fn too_many_requests(retry_after: Option<u64>) -> Self {
        Fault::TooManyRequests { retry_after }
    }

    /// An HTML error page with `status`.
    pub fn html(status: u16) -> Self {
        Fault::HtmlError { status }
    }

    /// A `bytes`-long JSON body with `Content-Length`.
    pub fn oversized(bytes: u64) -> Self {
        Fault::Oversized {
            bytes,
            content_length: true,
        }
    }

    /// Added latency in milliseconds.
    pub fn latency_ms(ms: u64) -> Self {
        Fault::Latency(Duration::from_millis(ms))
    }

    /// [`Fault::MapJson`] with `f`, named `label` in `Debug` output.
    pub fn map_json(
        label: impl Into<String>,
        f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
    ) -> Self {
        Fault::MapJson(JsonRewrite::new(label, f))
    }

    /// Whether this fault calls the vendor handler.
    pub fn runs_handler(&self) -> bool {
        matches!(
            self,
            Fault::Latency(_)
                | Fault::SlowAnswer(_)
                | Fault::CloseAfterHandler
                | Fault::CloseMidBody
                | Fault::TruncatedJson
                | Fault::WrongContentType
                | Fault::MapJson(_)
        )
    }
}

type RewriteFn = dyn Fn(&mut serde_json::Value) + Send + Sync;

/// A rewrite of a handler's JSON answer, for [`Fault::MapJson`]: a closure
/// that edits the parsed body in place, and a label for `Debug` output and
/// the request log. Clones share the closure; two rewrites are equal when
/// they share it.
///
/// ```
/// use jobstop_sim::{Fault, JsonRewrite};
/// use serde_json::json;
///
/// let drop_ids = JsonRewrite::new("no ids", |body| {
///     if let Some(items) = body["data"].as_array_mut() {
///         for run in items.iter_mut().filter_map(|r| r.as_object_mut()) {
///             run.remove("id");
///         }
///     }
/// });
/// let mut body = json!({"data": [{"id": "wf-1", "state": "running"}]});
/// drop_ids.apply(&mut body);
/// assert_eq!(body, json!({"data": [{"state": "running"}]}));
/// assert_eq!(format!("{drop_ids:?}"), "JsonRewrite(\"no ids\")");
/// let _fault = Fault::MapJson(drop_ids);
/// ```
#[derive(Clone)]
pub struct JsonRewrite {
    label: Arc<str>,
    f: Arc<RewriteFn>,
}

impl JsonRewrite {
    /// A rewrite applying `f`, named `label`.
    pub fn new(
        label: impl Into<String>,
        f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
    ) -> Self {
        JsonRewrite {
            label: Arc::from(label.into()),
            f: Arc::new(f),
        }
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Applies the rewrite to `body`.
    pub fn apply(&self, body: &mut serde_json::Value) {
        (self.f)(body);
    }
}

impl fmt::Debug for JsonRewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonRewrite").field(&self.label).finish()
    }
}

impl PartialEq for JsonRewrite {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.f, &other.f)
    }
}

/// The body of a [`Fault::Status`] answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FaultBody {
    /// The vendor's error body with this message (`application/json` for
    /// every vendor so far).
    Vendor(String),
    /// This JSON, as `application/json`.
    Json(serde_json::Value),
    /// This text, as `text/plain`.
    Text(String),
    /// No body.
    Empty,
}

/// One scripted fault: a route, the fault, how many times, and how many
/// matching requests to let through first.
///
/// ```
/// use jobstop_sim::{Fault, FaultRule, Route};
///
/// // The 2nd and 3rd listing requests get a 503; everything else is normal.
/// let rule = FaultRule::new(Route::get("/workflow/runs"), Fault::status(503)).skip(1).times(2);
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    route: Route,
    fault: Fault,
    times: Option<u64>,
    skip: u64,
}

impl FaultRule {
    /// `fault` on every request matching `route`, forever.
    pub fn new(route: Route, fault: Fault) -> Self {
        FaultRule {
            route,
            fault,
            times: None,
            skip: 0,
        }
    }

    setters! {
        /// Apply the fault at most `n` times, then let requests through.
        times(times): some u64;
        /// Let the first `k` matching requests that reach this rule through
        /// before applying the fault.
        skip(skip): u64;
    }
}

/// Identifies a rule added with [`Faults::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(u64);

/// A per-account rate limit: at most `per_second` requests in any rolling
/// second; the ones over it get [`Fault::TooManyRequests`] and do not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per rolling second, per account.
    pub per_second: u32,
    /// Seconds for a `Retry-After` header on the 429, if any.
    pub retry_after: Option<u64>,
}

/// The fault script of one server. Rules are tried in insertion order; the
/// first matching rule that is not exhausted and not skipping answers the
/// request. The rate limit, when set, is checked before the rules.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<FaultsInner>,
}

#[derive(Debug, Default)]
struct FaultsInner {
    next_id: u64,
    rules: Vec<ActiveRule>,
    rate: Option<RateLimit>,
    windows: HashMap<String, VecDeque<Instant>>,
}

#[derive(Debug)]
struct ActiveRule {
    id: RuleId,
    rule: FaultRule,
    seen: u64,
    applied: u64,
}

impl Faults {
    /// Adds `rule` after the existing ones.
    pub fn add(&self, rule: FaultRule) -> RuleId {
        let mut inner = lock(&self.inner);
        inner.next_id += 1;
        let id = RuleId(inner.next_id);
        inner.rules.push(ActiveRule {
            id,
            rule,
            seen: 0,
            applied: 0,
        });
        id
    }

    /// How many times the rule `id` has been applied.
    pub fn applied(&self, id: RuleId) -> u64 {
        lock(&self.inner)
            .rules
            .iter()
            .find(|r| r.id == id)
            .map_or(0, |r| r.applied)
    }

    /// Removes every rule (the rate limit stays).
    pub fn clear(&self) {
        lock(&self.inner).rules.clear();
    }

    /// Limits every account to `per_second` requests per rolling second,
    /// answering 429 without `Retry-After` past it.
    pub fn rate_limit(&self, per_second: u32) {
        self.set_rate_limit(Some(RateLimit {
            per_second,
            retry_after: None,
        }));
    }

    /// Sets or (with `None`) removes the rate limit.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut inner = lock(&self.inner);
        inner.rate = limit;
        inner.windows.clear();
    }

    /// The fault for a request from `account`, if any: the rate limit first,
    /// then the rules.
    pub(crate) fn pick(&self, account: &str, method: &str, path: &str) -> Option<Fault> {
        let mut inner = lock(&self.inner);
        if let Some(limit) = inner.rate {
            let now = Instant::now();
            let window = inner.windows.entry(account.to_owned()).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit.per_second as usize {
                return Some(Fault::TooManyRequests {
                    retry_after: limit.retry_after,
                });
            }
            window.push_back(now);
        }
        for r in inner.rules.iter_mut() {
            if r.rule.times.is_some_and(|n| r.applied >= n) {
                continue;
            }
            if !r.rule.route.matches(method, path) {
                continue;
            }
            r.seen += 1;
            if r.seen <= r.rule.skip {
                continue;
            }
            r.applied += 1;
            return Some(r.rule.fault.clone());
        }
        None
    }
}

/// The standard reason phrase for `status`, or `"Error"`.
pub(crate) fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// The HTML error page a proxy would send.
pub(crate) fn html_page(status: u16) -> String {
    let title = format!("{status} {}", reason(status));
    format!(
        "<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n\
         <center><h1>{title}</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
    )
}

/// The `len`-byte body of [`Fault::Oversized`] in chunks of at most
/// `chunk` bytes, generated as it is sent: `{"data":[],"padding":"xxx…"}`
/// (all spaces if `len` is too short for that frame).
pub(crate) fn oversized_body(len: u64, chunk: u64) -> impl Iterator<Item = Vec<u8>> {
    const FRAME: (&[u8], &[u8]) = (br#"{"data":[],"padding":""#, br#""}"#);
    let framed = len >= (FRAME.0.len() + FRAME.1.len()) as u64;
    let (head, tail, fill) = match framed {
        true => (FRAME.0, FRAME.1, b'x'),
        false => (&b""[..], &b""[..], b' '),
    };
    let pad = len - (head.len() + tail.len()) as u64;
    let fills =
        (0..pad.div_ceil(chunk)).map(move |i| vec![fill; (pad - i * chunk).min(chunk) as usize]);
    let parts = std::iter::once(head.to_vec())
        .chain(fills)
        .chain([tail.to_vec()]);
    parts.filter(|part| !part.is_empty())
}
