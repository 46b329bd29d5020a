//! Chorus error bodies: `{"errors":{…}}`.

use jobstop_core::ErrorKind;
use jobstop_http::{ErrorParser, ResponseHeaders, VendorError};
use serde_json::Value;

/// Reads the Rails `{"errors":{…}}` envelope:
///
/// | body | kind | code |
/// |---|---|---|
/// | `{"errors":{"record":"NOT_FOUND"}}` | `NotFound` | `NOT_FOUND` |
/// | `{"errors":{"model_data":{…}}}` (not a workspace member) | `PermissionDenied` | `model_data` |
/// | `{"errors":{"license":"NOT_LICENSED"}}` | `PermissionDenied` | `NOT_LICENSED` |
/// | `{"errors":{"service":"LICENSE_EXPIRED"}}` | `Unavailable` | `LICENSE_EXPIRED` |
/// | `{"errors":{"fields":{"f":{"CODE":{…}}}}}` | by status | `f.CODE` (message: `GENERIC.message` if any) |
/// | empty 401 (no or expired session) / empty 403 (CSRF) | by status | |
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChorusErrorParser;

impl ErrorParser for ChorusErrorParser {
    fn parse(&self, _status: u16, headers: &ResponseHeaders, body: &[u8]) -> VendorError {
        let mut out = VendorError::new();
        if let Some(id) = headers.get("x-request-id") {
            out.request_id = Some(id.chars().take(128).collect());
        }
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return out;
        };
        let Some(errors) = v.get("errors").and_then(Value::as_object) else {
            return out;
        };
        if let Some(record) = errors.get("record").and_then(Value::as_str) {
            out.code = Some(record.to_owned());
            if record == "NOT_FOUND" {
                out.kind = Some(ErrorKind::NotFound);
                out.message = Some("record not found".to_owned());
            }
        } else if errors.contains_key("model_data") {
            out.kind = Some(ErrorKind::PermissionDenied);
            out.code = Some("model_data".to_owned());
            out.message = Some("not allowed in this workspace".to_owned());
        } else if let Some(license) = errors.get("license").and_then(Value::as_str) {
            out.kind = Some(ErrorKind::PermissionDenied);
            out.code = Some(license.to_owned());
        } else if let Some(service) = errors.get("service").and_then(Value::as_str) {
            out.kind = Some(ErrorKind::Unavailable);
            out.code = Some(service.to_owned());
        } else if let Some(fields) = errors.get("fields").and_then(Value::as_object)
            && let Some((field, codes)) = fields.iter().next()
            && let Some((code, ctx)) = codes.as_object().and_then(|c| c.iter().next())
        {
            out.code = Some(format!("{field}.{code}"));
            out.message = ctx
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> VendorError {
        ChorusErrorParser.parse(400, &ResponseHeaders::new(), body.as_bytes())
    }

    #[test]
    fn documented_bodies() {
        let v = parse(r#"{"errors":{"record":"NOT_FOUND"}}"#);
        assert_eq!(
            (v.kind, v.code.as_deref()),
            (Some(ErrorKind::NotFound), Some("NOT_FOUND"))
        );
        let v = parse(r#"{"errors":{"model_data":{"id":1,"name":"Private"}}}"#);
        assert_eq!(v.kind, Some(ErrorKind::PermissionDenied));
        let v = parse(r#"{"errors":{"fields":{"username_or_password":{"INVALID":{}}}}}"#);
        assert_eq!(v.code.as_deref(), Some("username_or_password.INVALID"));
        assert_eq!(v.kind, None);
        let v = parse(r#"{"errors":{"fields":{"general":{"GENERIC":{"message":"db down"}}}}}"#);
        assert_eq!(v.message.as_deref(), Some("db down"));
        let v = parse(r#"{"errors":{"service":"LICENSE_EXPIRED"}}"#);
        assert_eq!(v.kind, Some(ErrorKind::Unavailable));
        let v = parse(r#"{"errors":{"license":"NOT_LICENSED"}}"#);
        assert_eq!(v.kind, Some(ErrorKind::PermissionDenied));
        for junk in [
            "",
            "<html>",
            "{}",
            r#"{"errors":7}"#,
            r#"{"errors":{"fields":{"a":3}}}"#,
        ] {
            assert_eq!(parse(junk).kind, None, "{junk}");
        }
    }
}
