//! HTTP status and vendor error bodies → [`jobstop_core::Error`], in one place.

use std::fmt::Debug;

use jobstop_core::{Error, ErrorKind, Operation};
use serde_json::Value;

use crate::headers::ResponseHeaders;
use crate::request::RequestMeta;
use crate::retry::parse_retry_after;

/// What a vendor's error body says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorError {
    /// A kind that overrides the status mapping (e.g. DataArts answers
    /// "not found" with HTTP 400 and code `DLF.0100`).
    pub kind: Option<ErrorKind>,
    /// The vendor's error code.
    pub code: Option<String>,
    /// The vendor's message.
    pub message: Option<String>,
    /// The vendor's request id.
    pub request_id: Option<String>,
}

impl VendorError {
    /// An empty description.
    pub fn new() -> Self {
        VendorError::default()
    }

    /// Sets the kind override.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Sets the code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// Reads a vendor's error bodies. Each adapter supplies one; the HTTP layer
/// calls it for every non-success response and then maps the result in
/// [`error_from_response`].
pub trait ErrorParser: Debug + Send + Sync {
    /// Extracts what the body says. Must not panic on any input.
    fn parse(&self, status: u16, headers: &ResponseHeaders, body: &[u8]) -> VendorError;
}

/// Understands the common JSON shapes: `message`, `error_msg`, `error`
/// (string or `{message, code}`), `errors`; `code`, `error_code`;
/// `request_id`, `requestId`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenericErrorParser;

impl ErrorParser for GenericErrorParser {
    fn parse(&self, _status: u16, _headers: &ResponseHeaders, body: &[u8]) -> VendorError {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return VendorError::new();
        };
        let s = |v: &Value, keys: &[&str]| {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
        };
        let mut out = VendorError::new();
        out.message = s(&v, &["message", "error_msg", "error_description", "msg"]);
        out.code = s(&v, &["error_code", "code"]);
        out.request_id = s(&v, &["request_id", "requestId"]);
        if out.message.is_none() {
            match v.get("error") {
                Some(Value::String(m)) => out.message = Some(m.clone()),
                Some(obj @ Value::Object(_)) => {
                    out.message = s(obj, &["message", "msg"]);
                    out.code = out.code.or_else(|| s(obj, &["code", "type"]));
                }
                _ => {}
            }
        }
        if out.message.is_none()
            && let Some(errors) = v.get("errors")
        {
            out.message = Some(compact(errors));
        }
        out
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        let mut end = 200;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// The kind for an HTTP status when the vendor's body says nothing more.
///
/// | status | kind |
/// |---|---|
/// | 400, 405, 413, 422, other 4xx | `InvalidInput` |
/// | 401 | `Unauthenticated` |
/// | 403 | `PermissionDenied` |
/// | 404, 410 | `NotFound` |
/// | 408 | `Timeout` |
/// | 409 | `Conflict` |
/// | 429 | `RateLimited` |
/// | 5xx | `Unavailable` |
/// | 1xx, 3xx, anything else | `InvalidResponse` |
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        400..=499 => ErrorKind::InvalidInput,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::InvalidResponse,
    }
}

/// A vendor's 4xx answer to a stop that would be `InvalidInput` is
/// `Refused`: a stop carries nothing of the caller's but the run id (checked
/// before sending) and the mode, so the vendor is refusing to stop the run
/// as it is (DataArts `DLF.0102` for a paused instance), not pointing at a
/// usage error. Other operations keep `InvalidInput`.
pub(crate) fn refusal_of_stop(operation: Operation, kind: ErrorKind) -> ErrorKind {
    match (operation, kind) {
        (Operation::Stop, ErrorKind::InvalidInput) => ErrorKind::Refused,
        _ => kind,
    }
}

/// Builds the error for a non-success response: status → kind (unless the
/// vendor's parser overrides it), the vendor's code, message and request id
/// (from the body, or an `X-Request-Id`-style header), `Retry-After`, and an
/// HTML page's title when a proxy answered instead of the API.
pub fn error_from_response(
    meta: &RequestMeta,
    status: u16,
    headers: &ResponseHeaders,
    body: &[u8],
    parser: &dyn ErrorParser,
) -> Error {
    let parsed = parser.parse(status, headers, body);
    let kind = refusal_of_stop(
        meta.operation,
        parsed.kind.unwrap_or_else(|| kind_for_status(status)),
    );
    let mut message = format!(
        "{} {} answered {}",
        meta.method,
        meta.path,
        http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map_or_else(|| status.to_string(), |r| format!("{status} {r}"))
    );
    if parsed.message.is_none() {
        if let Some(title) = html_title(headers, body) {
            message.push_str(&format!(" with an HTML page \"{title}\""));
        } else if body.is_empty() {
            message.push_str(" with an empty body");
        }
    }
    let mut err = meta.error(kind, message).with_http_status(status);
    if status == 500 {
        // Not retried by the HTTP layer; the caller may decide.
        err = err.with_retryable(true);
    }
    if let Some(code) = parsed.code {
        err = err.with_vendor_code(code);
    }
    if let Some(m) = parsed.message {
        err = err.with_vendor_message(m);
    }
    let request_id = parsed.request_id.or_else(|| header_request_id(headers));
    if let Some(id) = request_id {
        err = err.with_request_id(id);
    }
    if let Some(d) = parse_retry_after(headers) {
        err = err.with_retry_after(d);
    }
    err
}

fn header_request_id(headers: &ResponseHeaders) -> Option<String> {
    [
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "x-trace-id",
    ]
    .iter()
    .find_map(|h| headers.get(h))
    .map(|s| s.chars().take(128).collect())
}

/// The `<title>` of an HTML body, or "untitled" for HTML without one; `None`
/// when the body does not look like HTML.
pub(crate) fn html_title(headers: &ResponseHeaders, body: &[u8]) -> Option<String> {
    let ct_html = headers
        .get("content-type")
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"));
    let head = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let trimmed = head.trim_start();
    let looks_html = trimmed.starts_with('<')
        && (trimmed
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("<!doc"))
            || trimmed.to_ascii_lowercase().contains("<html"));
    if !ct_html && !looks_html {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|start| {
        let open_end = start + lower[start..].find('>')? + 1;
        let close = open_end + lower[open_end..].find("</title")?;
        Some(
            head[open_end..close]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    Some(match title {
        Some(t) if !t.is_empty() => t.chars().take(120).collect(),
        _ => "untitled".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        for (s, k) in [
            (400, ErrorKind::InvalidInput),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::Conflict),
            (422, ErrorKind::InvalidInput),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (302, ErrorKind::InvalidResponse),
        ] {
            assert_eq!(kind_for_status(s), k, "{s}");
        }
    }

    #[test]
    fn a_4xx_refusal_of_a_stop_is_refused_not_invalid_input() {
        use Operation::*;
        assert_eq!(
            refusal_of_stop(Stop, ErrorKind::InvalidInput),
            ErrorKind::Refused
        );
        for op in [List, Status, Authenticate, Wait, Configure] {
            assert_eq!(
                refusal_of_stop(op, ErrorKind::InvalidInput),
                ErrorKind::InvalidInput
            );
        }
        for k in [
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::PermissionDenied,
            ErrorKind::Unauthenticated,
            ErrorKind::RateLimited,
            ErrorKind::Unavailable,
        ] {
            assert_eq!(refusal_of_stop(Stop, k), k);
        }
    }

    #[test]
    fn generic_parser_shapes() {
        let p = GenericErrorParser;
        let h = ResponseHeaders::new();
        let st = 400;
        let v = p.parse(
            st,
            &h,
            br#"{"status":400,"message":"bad","request_id":"r1"}"#,
        );
        assert_eq!(v.message.as_deref(), Some("bad"));
        assert_eq!(v.request_id.as_deref(), Some("r1"));
        let v = p.parse(
            st,
            &h,
            br#"{"error_code":"DLF.0100","error_msg":"The job does not exists."}"#,
        );
        assert_eq!(v.code.as_deref(), Some("DLF.0100"));
        let v = p.parse(st, &h, br#"{"errors":{"record":"NOT_FOUND"}}"#);
        assert_eq!(v.message.as_deref(), Some(r#"{"record":"NOT_FOUND"}"#));
        for junk in [&b""[..], b"<html>", b"{", b"null", b"[1,2]", b"\xff\xfe"] {
            assert_eq!(p.parse(st, &h, junk), VendorError::new());
        }
    }

    #[test]
    fn html_titles() {
        let mut h = ResponseHeaders::new();
        assert_eq!(
            html_title(
                &h,
                b"<!DOCTYPE html><html><head><title>502 Bad\n Gateway</title>"
            ),
            Some("502 Bad Gateway".into())
        );
        assert_eq!(html_title(&h, b"{\"a\":1}"), None);
        h.insert("content-type", "text/html").expect("header");
        assert_eq!(html_title(&h, b"oops"), Some("untitled".into()));
        assert_eq!(html_title(&h, b"<title>"), Some("untitled".into()));
        assert_eq!(
            html_title(&h, "<title>é</title>".as_bytes()),
            Some("é".into())
        );
        assert_eq!(html_title(&ResponseHeaders::new(), "<ééé".as_bytes()), None);
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_body_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let h = ResponseHeaders::new();
            let _ = GenericErrorParser.parse(502, &h, &body);
            let _ = html_title(&h, &body);
        }

        #[test]
        fn parsing_html_like_text_never_panics(body in "<[a-zA-Z!é<>/ ]{0,40}(title)?[^<]{0,20}(</title>)?") {
            let _ = html_title(&ResponseHeaders::new(), body.as_bytes());
        }
    }
}
