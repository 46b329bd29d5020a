//! DataArts error bodies.

use jobstop_core::ErrorKind;
use jobstop_http::{ErrorParser, ResponseHeaders, VendorError};
use serde_json::Value;

/// Reads DLF bodies `{"error_code":"DLF.0100","error_msg":"…"}`, API Gateway
/// bodies `{"error_code":"APIGW.0301","error_msg":"…","request_id":"…"}` and
/// IAM (Keystone) bodies `{"error":{"code":401,"message":"…"}}`, and the
/// other shapes the Huawei SDK's error handler accepts
/// (`huaweicloudsdkcore/exceptions/exception_handler.py`): `errorCode` /
/// `errorMsg`, and a top-level `{"code":…,"message":…}`.
///
/// | code | kind |
/// |---|---|
/// | `DLF.0100` (job), `DLF.0137` (instance), `DLF.0810` (task) | `NotFound` (DataArts answers these with HTTP 400) |
/// | `DLF.6888` | `PermissionDenied` |
/// | other `DLF.*` | `InvalidInput` |
/// | `APIGW.0301`, `APIGW.0303` | `Unauthenticated` |
/// | `APIGW.0308` | `RateLimited` |
/// | `APIGW.0101` | `NotFound` |
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DataArtsErrorParser;

pub(crate) fn kind_for_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "DLF.0100" | "DLF.0137" | "DLF.0810" => ErrorKind::NotFound,
        "DLF.6888" => ErrorKind::PermissionDenied,
        "APIGW.0301" | "APIGW.0303" => ErrorKind::Unauthenticated,
        "APIGW.0308" => ErrorKind::RateLimited,
        "APIGW.0101" => ErrorKind::NotFound,
        c if c.starts_with("DLF.") => ErrorKind::InvalidInput,
        _ => return None,
    })
}

impl ErrorParser for DataArtsErrorParser {
    fn parse(&self, status: u16, headers: &ResponseHeaders, body: &[u8]) -> VendorError {
        let mut out = VendorError::new();
        out.request_id = headers
            .get("x-request-id")
            .map(|s| s.chars().take(128).collect());
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return out;
        };
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        // The SDK's order: error_code/error_msg, errorCode/errorMsg, code/message.
        let pair = [
            ("error_code", "error_msg"),
            ("errorCode", "errorMsg"),
            ("code", "message"),
        ]
        .into_iter()
        .find_map(|(c, m)| s(&v, c).map(|code| (code, s(&v, m))));
        if let Some((code, message)) = pair {
            // A `DLF.*` code on a server error (500 `DLF.0001`) says nothing
            // about our input: only the specific codes override the status
            // there, the catch-all `InvalidInput` applies to 4xx answers only.
            out.kind = kind_for_code(&code).filter(|k| {
                !(500..600).contains(&status)
                    || *k != ErrorKind::InvalidInput
                    || !code.starts_with("DLF.")
            });
            out.code = Some(code);
            out.message = message;
            if let Some(id) = s(&v, "request_id") {
                out.request_id = Some(id);
            }
        } else if let Some(err) = v.get("error") {
            out.message = s(err, "message");
            out.code = err
                .get("code")
                .map(|c| c.to_string().trim_matches('"').to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> VendorError {
        DataArtsErrorParser.parse(400, &ResponseHeaders::new(), body.as_bytes())
    }

    #[test]
    fn codes_and_bodies() {
        let v = parse(r#"{"error_code":"DLF.0100","error_msg":"The job does not exists."}"#);
        assert_eq!(v.kind, Some(ErrorKind::NotFound));
        assert_eq!(v.message.as_deref(), Some("The job does not exists."));
        assert_eq!(
            parse(r#"{"error_code":"DLF.0137","error_msg":"x"}"#).kind,
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            parse(r#"{"error_code":"DLF.0810","error_msg":"x"}"#).kind,
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            parse(r#"{"error_code":"DLF.6888","error_msg":"x"}"#).kind,
            Some(ErrorKind::PermissionDenied)
        );
        assert_eq!(
            parse(r#"{"error_code":"DLF.3051","error_msg":"x"}"#).kind,
            Some(ErrorKind::InvalidInput)
        );
        let v = parse(r#"{"error_code":"APIGW.0301","error_msg":"bad sig","request_id":"r1"}"#);
        assert_eq!(
            (v.kind, v.request_id.as_deref()),
            (Some(ErrorKind::Unauthenticated), Some("r1"))
        );
        assert_eq!(
            parse(r#"{"error_code":"APIGW.0308","error_msg":"x"}"#).kind,
            Some(ErrorKind::RateLimited)
        );
        let v = parse(
            r#"{"error":{"code":401,"title":"Unauthorized","message":"The username or password is wrong."}}"#,
        );
        assert_eq!(v.code.as_deref(), Some("401"));
        assert_eq!(
            v.message.as_deref(),
            Some("The username or password is wrong.")
        );
        let server = |body: &str| {
            DataArtsErrorParser
                .parse(500, &ResponseHeaders::new(), body.as_bytes())
                .kind
        };
        assert_eq!(server(r#"{"error_code":"DLF.0001","error_msg":"x"}"#), None);
        assert_eq!(
            server(r#"{"error_code":"DLF.0100","error_msg":"x"}"#),
            Some(ErrorKind::NotFound)
        );
        let v = parse(r#"{"errorCode":"DLF.0137","errorMsg":"no such instance"}"#);
        assert_eq!(
            (v.kind, v.code.as_deref(), v.message.as_deref()),
            (
                Some(ErrorKind::NotFound),
                Some("DLF.0137"),
                Some("no such instance")
            )
        );
        let v = parse(r#"{"code":"DLF.6888","message":"Invalid account permissions."}"#);
        assert_eq!(
            (v.kind, v.message.as_deref()),
            (
                Some(ErrorKind::PermissionDenied),
                Some("Invalid account permissions.")
            )
        );
        for junk in ["", "<html>", "[]", r#"{"error_code":7}"#] {
            assert_eq!(parse(junk).kind, None, "{junk}");
        }
    }
}
