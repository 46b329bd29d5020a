//! The reference implementation of Huawei Cloud's AK/SK request signature
//! (`SDK-HMAC-SHA256`, VENDOR-NOTES 3.2), written independently of any
//! client: the simulator verifies requests with it, and tests can sign
//! requests with it.
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
//!                    CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(SK, StringToSign))
//! Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>
//! ```
//!
//! - **CanonicalURI**: the raw request path split on `/`; each segment
//!   percent-decoded, then [`escape`]d; joined with `/`; a trailing `/`
//!   appended unless there is one (`/v1/p/jobs` → `/v1/p/jobs/`). A `%2F`
//!   inside a segment stays `%2F` (the Go signer, which splits the decoded
//!   path, would turn it into a `/`).
//! - **CanonicalQuery**: `k=v` pairs decoded form-style (`+` is a space),
//!   sorted by key then value, each written `escape(k)=escape(v)`, joined
//!   with `&`; a key without `=` has an empty value.
//! - **CanonicalHeaders**: for each name of SignedHeaders (lowercase, in the
//!   order given), one `name:value\n` line per value of that header (values
//!   trimmed and sorted), so the block ends with `\n` and is followed by the
//!   `\n` separator (an empty line).
//! - The body hash is replaced by the literal `UNSIGNED-PAYLOAD` when the
//!   request carries `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`.
//!
//! `tests/dataarts.rs` (`signing_reference`) checks the published vectors.

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm name, first in `Authorization` and in the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signing-time header.
pub const HEADER_SDK_DATE: &str = "X-Sdk-Date";
/// The header that, set to [`UNSIGNED_PAYLOAD`], leaves the body unsigned.
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";
/// The body hash of a request that does not sign its body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The `chrono` format of `X-Sdk-Date` (`20060102T150405Z`).
pub const SDK_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// `bytes` with every byte but the RFC 3986 unreserved ones
/// (`A-Z a-z 0-9 - _ . ~`) written `%XX` (uppercase hex); a space is `%20`.
pub fn escape(bytes: &[u8]) -> String {
    const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encode(bytes, RESERVED).to_string()
}

/// The canonical URI of a raw (still percent-encoded) request path.
pub fn canonical_uri(raw_path: &str) -> String {
    let segments = raw_path
        .split('/')
        .map(|s| escape(&percent_decode(s.as_bytes()).collect::<Vec<u8>>()));
    let mut uri = segments.collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string of a raw query (without the `?`).
pub fn canonical_query(raw_query: &str) -> String {
    // A form-encoded component decoded to bytes (`+` is a space).
    let decode = |s: &str| percent_decode(s.replace('+', " ").as_bytes()).collect::<Vec<u8>>();
    let pairs = raw_query.split('&').filter(|p| !p.is_empty());
    let pairs = pairs.map(|p| p.split_once('=').unwrap_or((p, "")));
    let mut pairs: Vec<_> = pairs.map(|(k, v)| (decode(k), decode(v))).collect();
    pairs.sort();
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect();
    pairs.join("&")
}

/// The canonical header block: for each of `signed_headers`, every value of
/// that header in `headers` (names compared ignoring case), trimmed and
/// sorted, as `name:value\n`.
pub fn canonical_headers(headers: &[(&str, &str)], signed_headers: &[&str]) -> String {
    let mut out = String::new();
    for n in signed_headers.iter().map(|n| n.to_ascii_lowercase()) {
        let named = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(&n));
        let mut values: Vec<&str> = named.map(|(_, v)| v.trim()).collect();
        values.sort_unstable();
        for v in values {
            out.push_str(&format!("{n}:{v}\n"));
        }
    }
    out
}

/// Lowercase hex of the SHA-256 of `data`.
pub fn hex_sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical request. `raw_path` and `raw_query` are as sent (still
/// percent-encoded; the query without `?`); `headers` are the request's
/// headers (any case, repeated names allowed); `signed_headers` the
/// lowercase names to sign, in order (sorted, by convention).
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    signed_headers: &[&str],
    body: &[u8],
) -> String {
    let unsigned = |&(k, v): &(&str, &str)| {
        k.eq_ignore_ascii_case(HEADER_CONTENT_SHA256) && v.trim() == UNSIGNED_PAYLOAD
    };
    let payload = match headers.iter().any(unsigned) {
        true => UNSIGNED_PAYLOAD.to_owned(),
        false => hex_sha256(body),
    };
    let signed = signed_headers.join(";").to_ascii_lowercase();
    let (method, uri) = (method.to_ascii_uppercase(), canonical_uri(raw_path));
    let (query, block) = (
        canonical_query(raw_query),
        canonical_headers(headers, signed_headers),
    );
    format!("{method}\n{uri}\n{query}\n{block}\n{signed}\n{payload}")
}

/// `SDK-HMAC-SHA256\n<sdk_date>\n<hex(sha256(canonical_request))>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    let hash = hex_sha256(canonical_request.as_bytes());
    format!("{ALGORITHM}\n{sdk_date}\n{hash}")
}

/// Lowercase hex of HMAC-SHA256 keyed with the raw secret key.
pub fn signature(sk: &str, string_to_sign: &str) -> String {
    // HMAC accepts keys of any length: the error cannot happen.
    let mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes());
    let mac = mac.map(|m| m.chain_update(string_to_sign).finalize().into_bytes());
    mac.map_or_else(|_| String::new(), |m| hex(&m))
}

/// The `Authorization` header value.
pub fn authorization(ak: &str, signed_headers: &[&str], signature: &str) -> String {
    format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={signature}",
        signed_headers.join(";")
    )
}

/// `t` as an `X-Sdk-Date` value, e.g. `20060102T150405Z`.
pub fn sdk_date(t: DateTime<Utc>) -> String {
    t.format(SDK_DATE_FORMAT).to_string()
}

/// Parses an `X-Sdk-Date` value.
pub fn parse_sdk_date(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s.trim(), SDK_DATE_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// Signs a request with every header in `headers` (which must include
/// `X-Sdk-Date`; add `Host` and `Content-Type` to sign them too) and returns
/// the `Authorization` value. `path_and_query` is the request target as it
/// will be sent (`/v1/p/jobs?limit=5`).
pub fn sign(
    ak: &str,
    sk: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let names = headers.iter().map(|(k, _)| k.to_ascii_lowercase());
    let names: std::collections::BTreeSet<String> = names.collect();
    let signed: Vec<&str> = names.iter().map(String::as_str).collect();
    let date = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(HEADER_SDK_DATE));
    let date = date.map_or("", |(_, v)| v.trim());
    let canonical = canonical_request(method, path, query, headers, &signed, body);
    let sig = signature(sk, &string_to_sign(date, &canonical));
    authorization(ak, &signed, &sig)
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    /// `Access`: the access key id.
    pub access: String,
    /// `SignedHeaders`, split on `;` and lowercased, in the order sent.
    pub signed_headers: Vec<String>,
    /// `Signature`.
    pub signature: String,
}

/// Parses an `Authorization` value of the `SDK-HMAC-SHA256` scheme; `None`
/// for another scheme or a missing part.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        match k.trim() {
            "Access" => access = v,
            "SignedHeaders" => signed = v,
            "Signature" => signature = v,
            _ => {}
        }
    }
    let (access, signed, signature) = (access?, signed?, signature?);
    let signed = signed.split(';').map(|h| h.trim().to_ascii_lowercase());
    let signed_headers: Vec<String> = signed.filter(|h| !h.is_empty()).collect();
    (!signed_headers.is_empty()).then_some(ParsedAuthorization {
        access,
        signed_headers,
        signature,
    })
}
