//! Helpers for the adapters' `fuzzing` modules: vendor bytes wrapped as the
//! responses and errors [`HttpClient`](crate::HttpClient) would produce, so
//! fuzz targets and their property-test twins exercise the same decoding
//! path as a real call. Not a stable API.

use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use jobstop_core::{Error, Operation, Vendor};

use crate::{ErrorParser, HttpResponse, RequestMeta, ResponseHeaders, Token, error_from_response};

fn meta(vendor: &Vendor, operation: Operation) -> RequestMeta {
    RequestMeta {
        vendor: vendor.clone(),
        operation,
        run_id: None,
        method: "GET".to_owned(),
        path: "/fuzz".to_owned(),
    }
}

/// `body` as a 200 `application/json` response to `operation`.
pub fn ok_response(vendor: &Vendor, operation: Operation, body: &[u8]) -> HttpResponse {
    HttpResponse::from_parts(meta(vendor, operation), 200, json_headers(), body.to_vec())
}

/// `data` as an error answer: the first byte picks a status from 400 to 599,
/// the rest is the body, read by `parser` as the client would.
pub fn error_response(vendor: &Vendor, data: &[u8], parser: &dyn ErrorParser) -> Error {
    let (code, body) = data.split_first().map_or((0, &[][..]), |(c, b)| (*c, b));
    let status = 400 + u16::from(code) % 200;
    error_from_response(
        &meta(vendor, Operation::Status),
        status,
        &json_headers(),
        body,
        parser,
    )
}

fn json_headers() -> ResponseHeaders {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    ResponseHeaders::from_map(headers)
}

/// A fuzz input: `selector` (which decoder) followed by `body`.
pub fn seed(selector: u8, body: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 1);
    v.push(selector);
    v.extend_from_slice(body.as_bytes());
    v
}

/// Runs `token` through the arithmetic [`TokenCache`](crate::TokenCache)
/// applies to a fetched token's lifetime (when to fetch again), as a fetch
/// would. Returns whether the token is refetched at some point (`false`: it
/// never expires, or expires past what the clock can represent). Never
/// panics, whatever the lifetime (`expires_in: 10000000000000000000` did).
pub fn cache_token(token: &Token) -> bool {
    token.expires_in.and_then(crate::auth::refresh_at).is_some()
}
