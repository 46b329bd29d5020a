//! A response read in full within the body cap, and its JSON decoding.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use jobstop_core::{ErrorKind, Result};
use serde::Deserialize;

use crate::attempt::{AttemptError, body_failure};
use crate::error::html_title;
use crate::headers::{ResponseHeaders, Status};
use crate::request::RequestMeta;

/// The default response body cap: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// A successful response, body read in full (within the cap).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub(crate) status: Status,
    pub(crate) headers: ResponseHeaders,
    pub(crate) body: Bytes,
    pub(crate) meta: RequestMeta,
    pub(crate) unanswered_attempt: bool,
}

impl HttpResponse {
    /// A response assembled from parts, without a network exchange: for
    /// testing and fuzzing the code that decodes responses. [`HttpClient`](crate::HttpClient)
    /// builds every response it returns this way, after checking the status
    /// is 2xx and capping the body.
    pub fn from_parts(
        meta: RequestMeta,
        status: u16,
        headers: ResponseHeaders,
        body: impl Into<Bytes>,
    ) -> Self {
        HttpResponse {
            status: Status::new(status),
            headers,
            body: body.into(),
            meta,
            unanswered_attempt: false,
        }
    }

    /// Whether an earlier attempt of this call was sent and may have reached
    /// the server without its answer arriving (a connection that died after
    /// the request was sent, an attempt that timed out). A stop answered
    /// after such an attempt may describe what that attempt did.
    pub fn had_unanswered_attempt(&self) -> bool {
        self.unanswered_attempt
    }

    /// The status (always 2xx).
    pub fn status(&self) -> Status {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &ResponseHeaders {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Where the request went.
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// The server's clock, from the `Date` header, if it sent a valid one.
    /// Compare vendor timestamps with this rather than the local clock,
    /// which may be skewed.
    pub fn date(&self) -> Option<std::time::SystemTime> {
        let v = self.headers.get("date")?;
        httpdate::parse_http_date(v).ok()
    }

    /// Decodes the body as JSON. An empty body, an HTML page or JSON of the
    /// wrong shape gives [`ErrorKind::InvalidResponse`] naming the request.
    ///
    /// `T` may borrow from the body (`&str`, `&RawValue`), so a list can be
    /// split into its items' bytes without building a JSON tree.
    pub fn json<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        self.decode(true)
    }

    /// Like [`json`](Self::json), but the error never quotes the body's
    /// content (for bodies that hold secrets, such as token responses).
    pub fn json_redacted<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        self.decode(false)
    }

    /// Decodes the body as JSON into a [`serde_json::Value`].
    pub fn json_value(&self) -> Result<serde_json::Value> {
        self.decode(true)
    }

    fn decode<'a, T: Deserialize<'a>>(&'a self, detail: bool) -> Result<T> {
        let what = format!(
            "{} {} answered {}",
            self.meta.method,
            self.meta.path,
            self.status.as_u16()
        );
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self
                .meta
                .error(
                    ErrorKind::InvalidResponse,
                    format!("{what} with an empty body where JSON was expected"),
                )
                .with_http_status(self.status.as_u16()));
        }
        if let Some(title) = html_title(&self.headers, &self.body) {
            return Err(self
                .meta
                .error(
                    ErrorKind::InvalidResponse,
                    format!("{what} with an HTML page \"{title}\" where JSON was expected"),
                )
                .with_http_status(self.status.as_u16()));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let reason = if detail {
                e.to_string()
            } else {
                format!(
                    "{:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                )
            };
            let mut err = self
                .meta
                .error(
                    ErrorKind::InvalidResponse,
                    format!("{what} with a body that is not the expected JSON: {reason}"),
                )
                .with_http_status(self.status.as_u16());
            if detail {
                err = err.with_source(e);
            }
            err
        })
    }
}

/// Reads `resp`'s body in full, refusing one over `limit` bytes.
pub(crate) async fn read_body(
    resp: http::Response<Incoming>,
    meta: &RequestMeta,
    limit: usize,
) -> std::result::Result<Bytes, AttemptError> {
    let too_big = |meta: &RequestMeta, status: StatusCode| {
        AttemptError::Fatal(
            meta.error(
                ErrorKind::InvalidResponse,
                format!(
                    "{} {} answered with a body over the {limit}-byte limit",
                    meta.method, meta.path
                ),
            )
            .with_http_status(status.as_u16()),
        )
    };
    let status = resp.status();
    let declared = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_big(meta, status));
    }
    let mut buf = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_failure(meta, e))?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        if buf.len() + chunk.len() > limit {
            return Err(too_big(meta, status));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
