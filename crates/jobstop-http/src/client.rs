//! The shared HTTP client: one place for timeouts, retries, auth and error mapping.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use jobstop_core::{Error, ErrorKind, Operation, Result, RunId, Vendor};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::Serialize;
use tokio::time::Instant;
use url::Url;

use crate::auth::{AuthStamp, Authenticator};
use crate::error::{ErrorParser, GenericErrorParser, error_from_response, html_title};
use crate::retry::{RetryPolicy, parse_retry_after};

/// The default response body cap: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("jobstop/", env!("CARGO_PKG_VERSION"));

/// Timeouts, retries and limits of an [`HttpClient`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Time to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time for one attempt: sending the request and reading the whole body.
    pub attempt_timeout: Duration,
    /// Retries and the overall budget of one call.
    pub retry: RetryPolicy,
    /// The largest response body accepted, in bytes.
    pub body_limit: usize,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            pool_idle_timeout: Duration::from_secs(60),
        }
    }
}

impl ClientConfig {
    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets the per-attempt timeout.
    pub fn with_attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = t;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the body cap.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

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
    /// The method.
    pub method: Method,
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
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    operation: Operation,
    run_id: Option<RunId>,
    idempotency: Idempotency,
    authenticated: bool,
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
    /// A request for `operation`, idempotent and authenticated by default.
    pub fn new(method: Method, url: Url, operation: Operation) -> Self {
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
        HttpRequest::new(Method::GET, url, operation)
    }

    /// A `POST`.
    pub fn post(url: Url, operation: Operation) -> Self {
        HttpRequest::new(Method::POST, url, operation)
    }

    /// Names the run the request is about (for errors and logs).
    pub fn run_id(mut self, id: &RunId) -> Self {
        self.run_id = Some(id.clone());
        self
    }

    /// Adds a header. A value with CR, LF or other characters not allowed in
    /// a header is refused with `InvalidInput`.
    pub fn header(mut self, name: &'static str, value: &str) -> Result<Self> {
        let v = HeaderValue::from_str(value).map_err(|_| {
            Error::invalid_input(format!(
                "the value for header {name} contains forbidden characters"
            ))
        })?;
        self.headers.insert(HeaderName::from_static(name), v);
        Ok(self)
    }

    /// Adds a header whose value is a secret (marked sensitive).
    pub fn secret_header(
        mut self,
        name: &'static str,
        value: &crate::SecretString,
    ) -> Result<Self> {
        let mut v = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
            Error::config(format!(
                "the secret for header {name} contains forbidden characters"
            ))
        })?;
        v.set_sensitive(true);
        self.headers.insert(HeaderName::from_static(name), v);
        Ok(self)
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

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The full URL, query included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL, for authenticators that add a query parameter or sign it.
    pub fn url_mut(&mut self) -> &mut Url {
        &mut self.url
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, for authenticators.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
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

/// A successful response, body read in full (within the cap).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    meta: RequestMeta,
    unanswered_attempt: bool,
}

impl HttpResponse {
    /// A response assembled from parts, without a network exchange: for
    /// testing and fuzzing the code that decodes responses. [`HttpClient`]
    /// builds every response it returns this way, after checking the status
    /// is 2xx and capping the body.
    pub fn from_parts(
        meta: RequestMeta,
        status: StatusCode,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Self {
        HttpResponse {
            status,
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
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
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
        let v = self.headers.get(reqwest::header::DATE)?.to_str().ok()?;
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

struct Inner {
    client: reqwest::Client,
    config: ClientConfig,
    vendor: Vendor,
    parser: Arc<dyn ErrorParser>,
}

/// The one HTTP client every adapter calls.
///
/// It owns connection pooling (reqwest with rustls, no redirects followed, so
/// credentials never reach another host), per-attempt and overall timeouts,
/// retries with backoff and `Retry-After`, one credential refresh after a 401,
/// the response body cap, error mapping, and a `tracing` event per attempt
/// that names method, path, status and timing but never a header, query or
/// body. Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
    auth: Option<Arc<dyn Authenticator>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("vendor", &self.inner.vendor)
            .field("config", &self.inner.config)
            .field("auth", &self.auth)
            .finish()
    }
}

enum Failure {
    /// Retry after the computed backoff, or the server's Retry-After.
    Retry(Error, Option<Duration>),
    /// Give up with this error.
    Fatal(Error),
}

impl HttpClient {
    /// A client for `vendor` with the default config and error parser.
    pub fn new(vendor: Vendor) -> Result<Self> {
        HttpClient::with_config(
            vendor,
            ClientConfig::default(),
            Arc::new(GenericErrorParser),
        )
    }

    /// A client with an explicit config and error parser.
    pub fn with_config(
        vendor: Vendor,
        config: ClientConfig,
        parser: Arc<dyn ErrorParser>,
    ) -> Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .map_err(|e| {
                Error::config("cannot build the HTTP client")
                    .with_vendor(vendor.clone())
                    .with_source(e)
            })?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                config,
                vendor,
                parser,
            }),
            auth: None,
        })
    }

    /// A client sharing this one's pool, with `auth` adding credentials.
    pub fn with_authenticator(&self, auth: Arc<dyn Authenticator>) -> Self {
        HttpClient {
            inner: Arc::clone(&self.inner),
            auth: Some(auth),
        }
    }

    /// A client sharing this one's pool, without an authenticator.
    pub fn without_authenticator(&self) -> Self {
        HttpClient {
            inner: Arc::clone(&self.inner),
            auth: None,
        }
    }

    /// The config.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The vendor.
    pub fn vendor(&self) -> &Vendor {
        &self.inner.vendor
    }

    /// The authenticator, if any.
    pub fn authenticator(&self) -> Option<&Arc<dyn Authenticator>> {
        self.auth.as_ref()
    }

    /// Sends `request` with retries, and returns the 2xx response or the
    /// mapped error. See [`RetryPolicy`] for what is retried.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let policy = &self.inner.config.retry;
        let max_attempts = policy.max_attempts.max(1);
        let start = Instant::now();
        let deadline = start + policy.budget;
        let meta = RequestMeta {
            vendor: self.inner.vendor.clone(),
            operation: request.operation,
            run_id: request.run_id.clone(),
            method: request.method.clone(),
            path: request.url.path().to_owned(),
        };
        let plain = self.without_authenticator();
        let mut attempt: u32 = 0;
        let mut retries: u32 = 0;
        let mut refreshed = false;
        // Whether an attempt may have reached the server without its answer
        // arriving: carried on the result, so a refused retry of a stop can
        // be read as "the lost attempt stopped it".
        let mut unanswered = false;
        let lost = |e: Error, unanswered: bool| {
            if unanswered {
                e.with_unanswered_attempt()
            } else {
                e
            }
        };
        loop {
            attempt += 1;
            let mut req = request.clone();
            let mut stamp = AuthStamp::default();
            let auth = if request.authenticated {
                self.auth.as_ref()
            } else {
                None
            };
            if let Some(auth) = auth {
                // Logging in counts against this call's budget: a login
                // endpoint that hangs fails the call at its own deadline.
                let left = deadline.saturating_duration_since(Instant::now());
                stamp = match tokio::time::timeout(left, auth.authenticate(&plain, &mut req)).await
                {
                    Ok(r) => r.map_err(|e| lost(fill(e, &meta), unanswered))?,
                    Err(_) => {
                        return Err(lost(
                            auth_timeout(&meta, policy.budget, attempt - 1, start),
                            unanswered,
                        ));
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(lost(
                    budget_spent(&meta, policy.budget, attempt - 1, start),
                    unanswered,
                ));
            }
            let per_attempt = self.inner.config.attempt_timeout.min(deadline - now);
            let budget_bound = per_attempt < self.inner.config.attempt_timeout;
            let result = tokio::time::timeout(per_attempt, self.attempt(req, &meta)).await;
            let failure = match result {
                Err(_) => {
                    tracing::debug!(
                        vendor = %meta.vendor, operation = %meta.operation, method = %meta.method,
                        path = %meta.path, attempt, timeout_ms = per_attempt.as_millis() as u64,
                        "http attempt timed out"
                    );
                    unanswered = true;
                    if budget_bound {
                        return Err(lost(
                            budget_spent(&meta, policy.budget, attempt, start),
                            unanswered,
                        ));
                    }
                    let err = meta.error(
                        ErrorKind::Timeout,
                        format!(
                            "{} {} got no complete answer within {} ms",
                            meta.method,
                            meta.path,
                            per_attempt.as_millis()
                        ),
                    );
                    if request.idempotency == Idempotency::Idempotent {
                        Failure::Retry(err, None)
                    } else {
                        Failure::Fatal(err)
                    }
                }
                Ok(Ok(mut resp)) => {
                    resp.unanswered_attempt = unanswered;
                    return Ok(resp);
                }
                Ok(Err(AttemptError::Status(status, headers, body))) => {
                    let err = error_from_response(
                        &meta,
                        status,
                        &headers,
                        &body,
                        self.inner.parser.as_ref(),
                    );
                    if status == StatusCode::UNAUTHORIZED && !refreshed {
                        if let Some(auth) = auth {
                            refreshed = true;
                            let left = deadline.saturating_duration_since(Instant::now());
                            let again =
                                match tokio::time::timeout(left, auth.refresh(&plain, stamp)).await
                                {
                                    Ok(r) => r.map_err(|e| lost(fill(e, &meta), unanswered))?,
                                    Err(_) => {
                                        return Err(lost(
                                            auth_timeout(&meta, policy.budget, attempt, start),
                                            unanswered,
                                        ));
                                    }
                                };
                            if again {
                                tracing::debug!(
                                    vendor = %meta.vendor, operation = %meta.operation, path = %meta.path,
                                    attempt, "credentials refreshed after 401; sending again"
                                );
                                continue;
                            }
                        }
                    }
                    let retryable = match status.as_u16() {
                        429 => true,
                        502..=504 => request.idempotency == Idempotency::Idempotent,
                        _ => false,
                    };
                    if retryable {
                        Failure::Retry(err, parse_retry_after(&headers))
                    } else {
                        Failure::Fatal(err)
                    }
                }
                Ok(Err(AttemptError::Transport { error, connect })) => {
                    if !connect {
                        // The request may have been sent before the
                        // connection died.
                        unanswered = true;
                    }
                    if connect || request.idempotency == Idempotency::Idempotent {
                        Failure::Retry(error, None)
                    } else {
                        Failure::Fatal(error)
                    }
                }
                Ok(Err(AttemptError::Fatal(error))) => Failure::Fatal(error),
            };
            let (err, retry_after) = match failure {
                Failure::Fatal(e) => return Err(lost(finish(e, attempt, start), unanswered)),
                Failure::Retry(e, ra) => (lost(e, unanswered), ra),
            };
            if attempt >= max_attempts {
                return Err(finish(err, attempt, start));
            }
            retries += 1;
            let delay = policy.delay(retries, retry_after);
            if Instant::now() + delay >= deadline {
                tracing::debug!(
                    vendor = %meta.vendor, operation = %meta.operation, path = %meta.path, attempt,
                    delay_ms = delay.as_millis() as u64, "next retry would pass the budget; giving up"
                );
                return Err(finish(err, attempt, start));
            }
            tracing::debug!(
                vendor = %meta.vendor, operation = %meta.operation, path = %meta.path, attempt,
                delay_ms = delay.as_millis() as u64, error = %err.kind(), "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        req: HttpRequest,
        meta: &RequestMeta,
    ) -> std::result::Result<HttpResponse, AttemptError> {
        let started = Instant::now();
        let mut builder = self
            .inner
            .client
            .request(req.method, req.url)
            .headers(req.headers);
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let resp = builder.send().await.map_err(|e| transport(meta, e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = self.read_body(resp, meta).await?;
        tracing::debug!(
            vendor = %meta.vendor, operation = %meta.operation, method = %meta.method, path = %meta.path,
            status = status.as_u16(), bytes = body.len(), elapsed_ms = started.elapsed().as_millis() as u64,
            "http attempt"
        );
        if status.is_success() {
            Ok(HttpResponse {
                status,
                headers,
                body,
                meta: meta.clone(),
                unanswered_attempt: false,
            })
        } else {
            Err(AttemptError::Status(status, headers, body))
        }
    }

    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        meta: &RequestMeta,
    ) -> std::result::Result<Bytes, AttemptError> {
        let limit = self.inner.config.body_limit;
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
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(meta, e))? {
            if buf.len() + chunk.len() > limit {
                return Err(too_big(meta, status));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

enum AttemptError {
    Status(StatusCode, HeaderMap, Bytes),
    Transport { error: Error, connect: bool },
    Fatal(Error),
}

fn transport(meta: &RequestMeta, e: reqwest::Error) -> AttemptError {
    let connect = e.is_connect();
    let what = if connect {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "connection failed while reading the response body"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "connection failed before a response arrived"
    };
    // reqwest errors name the URL, which may carry a query with a session id;
    // keep the cause but strip the URL from it.
    let error = meta
        .error(
            if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Transport
            },
            format!("{} {}: {what}", meta.method, meta.path),
        )
        .with_source(e.without_url());
    AttemptError::Transport { error, connect }
}

fn fill(e: Error, meta: &RequestMeta) -> Error {
    e.in_context(&meta.vendor, meta.operation, meta.run_id.as_ref())
}

fn finish(e: Error, attempts: u32, start: Instant) -> Error {
    e.with_attempts(attempts).with_elapsed(start.elapsed())
}

fn auth_timeout(meta: &RequestMeta, budget: Duration, attempts: u32, start: Instant) -> Error {
    meta.error(
        ErrorKind::Timeout,
        format!(
            "{} {}: authentication (token or login) did not complete within the {} ms retry budget",
            meta.method,
            meta.path,
            budget.as_millis()
        ),
    )
    .with_attempts(attempts)
    .with_elapsed(start.elapsed())
}

fn budget_spent(meta: &RequestMeta, budget: Duration, attempts: u32, start: Instant) -> Error {
    meta.error(
        ErrorKind::Timeout,
        format!(
            "{} {} did not complete within the {} ms retry budget",
            meta.method,
            meta.path,
            budget.as_millis()
        ),
    )
    .with_attempts(attempts)
    .with_elapsed(start.elapsed())
}
