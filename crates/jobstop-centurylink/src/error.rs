//! Runner and login error bodies: `{"message":"…"}`.

use jobstop_http::{ErrorParser, ResponseHeaders, VendorError};
use serde_json::Value;

/// Reads `{"message":"…"}` (the login service's documented body; the Runner
/// error body is undocumented, so any JSON `message` is taken, and anything
/// else leaves the status to speak).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunnerErrorParser;

impl ErrorParser for RunnerErrorParser {
    fn parse(&self, _status: u16, headers: &ResponseHeaders, body: &[u8]) -> VendorError {
        let mut out = VendorError::new();
        out.request_id = headers
            .get("x-request-id")
            .map(|s| s.chars().take(128).collect());
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            out.message = v
                .get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_owned);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let p = RunnerErrorParser;
        let h = ResponseHeaders::new();
        let v = p.parse(
            400,
            &h,
            br#"{"message":"We didn't recognize the username or password you entered. Please try again."}"#,
        );
        assert!(v.message.unwrap().starts_with("We didn't recognize"));
        for junk in [&b""[..], b"<html>", b"[]", b"{\"message\":3}"] {
            assert_eq!(p.parse(404, &h, junk), VendorError::new());
        }
    }
}
