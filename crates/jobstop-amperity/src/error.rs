//! Amperity's error bodies.

use jobstop_http::{ErrorParser, ResponseHeaders, VendorError};
use serde::Deserialize;

/// Reads `{"status":400,"message":"…","request_id":"…","trace_id":"…"}`
/// (`request_id` and `trace_id` optional; 404 may have no body at all).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AmperityErrorParser;

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
}

impl ErrorParser for AmperityErrorParser {
    fn parse(&self, _status: u16, _headers: &ResponseHeaders, body: &[u8]) -> VendorError {
        let mut out = VendorError::new();
        if let Ok(b) = serde_json::from_slice::<Body>(body) {
            out.message = b.message.filter(|m| !m.is_empty());
            out.request_id = b.request_id.or(b.trace_id);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_body_and_junk() {
        let p = AmperityErrorParser;
        let h = ResponseHeaders::new();
        let v = p.parse(
            400,
            &h,
            br#"{"status":400,"message":"Error updating database: x","request_id":"1ab23456","trace_id":"1a2b"}"#,
        );
        assert_eq!(v.message.as_deref(), Some("Error updating database: x"));
        assert_eq!(v.request_id.as_deref(), Some("1ab23456"));
        let v = p.parse(400, &h, br#"{"status":400,"message":"m","trace_id":"t"}"#);
        assert_eq!(v.request_id.as_deref(), Some("t"));
        for junk in [&b""[..], b"<html>", b"[]", b"{\"message\":7}"] {
            assert_eq!(p.parse(404, &h, junk), VendorError::new());
        }
    }
}
