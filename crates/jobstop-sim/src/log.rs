//! The request log: every request a simulator received, with secrets masked.

use std::sync::Mutex;

use crate::fault::Fault;
use crate::lock;

/// What a masked secret is replaced with.
pub const MASK: &str = "***";

/// A credential a simulator is configured with: its `Debug` is [`MASK`], so
/// builders and options can derive `Debug` without showing it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

impl<S: Into<String>> From<S> for Secret {
    fn from(s: S) -> Self {
        Secret(s.into())
    }
}

/// Header names whose values are always masked (compared ignoring case).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-auth-token",
    "x-subject-token",
    "x-csrf-token",
];

/// Fragments that make any header name secret (compared ignoring case).
const SECRET_HEADER_FRAGMENTS: &[&str] = &["token", "secret", "password"];

/// Query parameter names whose values are masked (compared ignoring case).
const SECRET_PARAMS: &[&str] = &[
    "session_id",
    "token",
    "access_token",
    "password",
    "client_secret",
];

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The request target exactly as received (path and query, nothing
    /// decoded), e.g. `/api/workflow/runs/a%2Fb/stop?x=1`, except that the
    /// values of secret query parameters (`session_id`, `token`,
    /// `access_token`, `password`, `client_secret`) read `***`.
    pub target: String,
    /// Every header in the order received, names lowercase. Values of
    /// `authorization`, `proxy-authorization`, `cookie`, `set-cookie`,
    /// `x-auth-token`, `x-subject-token`, `x-csrf-token` and of any header
    /// whose name contains `token`, `secret` or `password` read `***`.
    pub headers: Vec<(String, String)>,
    /// The fault that answered this request, if any (including the rate
    /// limit's 429).
    pub fault: Option<Fault>,
    /// The status sent, or `None` if the connection was closed before the
    /// headers (or the answer is still being produced).
    pub status: Option<u16>,
    /// Which accepted connection carried it: 1 for the first, and so on.
    pub connection: u64,
}

impl LoggedRequest {
    /// The (masked) value of the first header called `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target's path (before any `?`).
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// Whether a header called `name` carries a secret.
pub(crate) fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&name.as_str())
        || SECRET_HEADER_FRAGMENTS.iter().any(|f| name.contains(f))
}

/// `target` with the values of secret query parameters replaced by `***`.
pub(crate) fn mask_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            let decoded: String = url::form_urlencoded::parse(name.as_bytes())
                .map(|(k, _)| k.into_owned())
                .next()
                .unwrap_or_default();
            let secret = SECRET_PARAMS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(decoded.trim()));
            match (secret, value) {
                (true, Some(_)) => format!("{name}={MASK}"),
                _ => pair.to_owned(),
            }
        })
        .collect();
    format!("{path}?{}", masked.join("&"))
}

/// Headers as logged: lowercase names, secret values masked, non-UTF-8
/// values shown lossily.
pub(crate) fn mask_headers(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_owned();
            let value = if is_secret_header(&name) {
                MASK.to_owned()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}

/// The log itself: entries are added when a request arrives (so the order is
/// arrival order) and completed when its answer starts.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    next_seq: u64,
    entries: Vec<(u64, LoggedRequest)>,
}

impl RequestLog {
    /// Records `entry`; returns the handle for [`RequestLog::finish`].
    pub(crate) fn start(&self, entry: LoggedRequest) -> u64 {
        let mut inner = lock(&self.inner);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.entries.push((seq, entry));
        seq
    }

    /// Sets the fault and status of the entry `seq` (if it was not cleared).
    pub(crate) fn finish(&self, seq: u64, fault: Option<Fault>, status: Option<u16>) {
        let mut inner = lock(&self.inner);
        if let Some((_, e)) = inner.entries.iter_mut().rev().find(|(s, _)| *s == seq) {
            e.fault = fault;
            e.status = status;
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        lock(&self.inner)
            .entries
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub(crate) fn clear(&self) {
        lock(&self.inner).entries.clear();
    }
}
