//! One request, described so it can be re-sent on retry, and where it went.

use std::fmt;

use bytes::Bytes;
use http::Method;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use jobstop_core::{Error, ErrorKind, Operation, Result, RunId, Vendor};
use serde::Serialize;
use url::Url;

use crate::headers::header_pair;

/// Whether a request may be sent again after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Safe to repeat: every read, and every vendor stop jobstop calls.
    Idempotent,
    /// Repeated only when it certainly did not reach the server (connect
    /// failures, 429).
    NotIdempotent,
}

/// Where a request went, for errors and logs. Holds no secret: the path but
/// never the query, no headers, no body.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The vendor.
    pub vendor: Vendor,
    /// The operation.
    pub operation: Operation,
    /// The run, if any.
    pub run_id: Option<RunId>,
    /// The method (`GET`, `POST`, ...).
    pub method: String,
    /// The URL path (no query).
    pub path: String,
}

impl RequestMeta {
    /// An error of `kind` carrying this request's vendor, operation and run id.
    pub fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        let mut e = Error::new(kind, message)
            .with_vendor(self.vendor.clone())
            .with_operation(self.operation);
        if let Some(id) = &self.run_id {
            e = e.with_run_id(id.clone());
        }
        e
    }
}

/// One request, described so it can be re-sent on retry.
#[derive(Clone)]
pub struct HttpRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) operation: Operation,
    pub(crate) run_id: Option<RunId>,
    pub(crate) idempotency: Idempotency,
    pub(crate) authenticated: bool,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No headers, query or body: they may hold credentials.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("operation", &self.operation)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// A request for `operation` with `method` (`GET`, `POST`, `DELETE`,
    /// ...), idempotent and authenticated by default. A method that is not
    /// an HTTP token is refused with `InvalidInput`.
    pub fn new(method: &str, url: Url, operation: Operation) -> Result<Self> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::invalid_input(format!("{method:?} is not an HTTP method")))?;
        Ok(HttpRequest::with_method(method, url, operation))
    }

    fn with_method(method: Method, url: Url, operation: Operation) -> Self {
        HttpRequest {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            operation,
            run_id: None,
            idempotency: Idempotency::Idempotent,
            authenticated: true,
        }
    }

    /// A `GET`.
    pub fn get(url: Url, operation: Operation) -> Self {
        HttpRequest::with_method(Method::GET, url, operation)
    }

    /// A `POST`.
    pub fn post(url: Url, operation: Operation) -> Self {
        HttpRequest::with_method(Method::POST, url, operation)
    }

    /// Names the run the request is about (for errors and logs).
    pub fn run_id(mut self, id: &RunId) -> Self {
        self.run_id = Some(id.clone());
        self
    }

    /// Adds a header (replacing one of the same name). A name that is not
    /// a header name, or a value with CR, LF or other characters not allowed
    /// in a header, is refused with `InvalidInput`.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self> {
        self.set_header(name, value)?;
        Ok(self)
    }

    /// Adds a header whose value is a secret (marked sensitive).
    pub fn secret_header(mut self, name: &str, value: &crate::SecretString) -> Result<Self> {
        self.set_secret_header(name, value)?;
        Ok(self)
    }

    /// Sets a header (replacing one of the same name), for authenticators
    /// and signers; refused like [`header`](Self::header).
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<()> {
        let (name, value) = header_pair(name, value)?;
        self.headers.insert(name, value);
        Ok(())
    }

    /// Sets a header whose value is a secret (marked sensitive, so the HTTP
    /// stack never logs it). A value not allowed in a header is a `Config`
    /// error that does not quote it.
    pub fn set_secret_header(&mut self, name: &str, value: &crate::SecretString) -> Result<()> {
        let (name, mut value) = header_pair(name, value.expose_secret()).map_err(|_| {
            Error::config(format!(
                "the secret for header {name} contains forbidden characters"
            ))
        })?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(())
    }

    /// Whether header `name` (case-insensitive) is set.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// The value of header `name` (case-insensitive), if set and made of
    /// visible ASCII.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// Appends query parameters.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        if !pairs.is_empty() {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        self
    }

    /// Sets a JSON body (and `Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid_input(format!("cannot encode request body: {e}")))?;
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets a form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Some(Bytes::from(body));
        self
    }

    /// Adds fields to a form body, creating one if the request has no body.
    /// For authenticators that pass credentials in the body rather than the
    /// URL. A body that is not form-encoded is refused with `InvalidInput`.
    pub fn append_form(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        const FORM: &str = "application/x-www-form-urlencoded";
        let mut body = match &self.body {
            None => String::new(),
            Some(b) => {
                let is_form = self
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with(FORM));
                if !is_form {
                    return Err(Error::invalid_input(
                        "cannot add form fields to a body that is not a form",
                    ));
                }
                String::from_utf8_lossy(b).into_owned()
            }
        };
        let extra = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        if !body.is_empty() && !extra.is_empty() {
            body.push('&');
        }
        body.push_str(&extra);
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
        self.body = Some(Bytes::from(body));
        Ok(())
    }

    /// Marks the request as not safe to repeat.
    pub fn not_idempotent(mut self) -> Self {
        self.idempotency = Idempotency::NotIdempotent;
        self
    }

    /// Sends the request without the client's authenticator (token or login calls).
    pub fn without_auth(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// The method (`GET`, `POST`, ...).
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    /// The full URL, query included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL, for authenticators that add a query parameter or sign it.
    pub fn url_mut(&mut self) -> &mut Url {
        &mut self.url
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }
}
