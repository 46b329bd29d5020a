//! The shared HTTP client: one place for timeouts, retries, auth and error mapping.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::Uri;
use http::header::{ACCEPT, HeaderValue};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use jobstop_core::layer::Pacer;
use jobstop_core::{Error, ErrorKind, Result, Vendor};
use tokio::time::Instant;

use crate::attempt::{AttemptError, transport};
use crate::error::{ErrorParser, GenericErrorParser, error_from_response};
use crate::headers::{ResponseHeaders, Status};
use crate::pool::{CappedConnector, Gates, InFlight, host_key};
use crate::proxy::{Proxies, ProxyConnector, route};
use crate::request::{HttpRequest, Idempotency, RequestMeta};
use crate::response::{DEFAULT_BODY_LIMIT, HttpResponse, read_body};
use crate::retry::{RetryPolicy, parse_retry_after};

/// Which credential an attempt used, so a 401 refreshes only a stale one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AuthStamp(pub u64);

/// Adds credentials to requests. Implemented by [`TokenAuth`](crate::TokenAuth); adapters with
/// other schemes (sessions, request signing) implement it themselves.
#[async_trait]
pub trait Authenticator: fmt::Debug + Send + Sync {
    /// Adds credentials to `request` (headers, query, signature). `client` has
    /// no authenticator, for fetching tokens or logging in.
    async fn authenticate(
        &self,
        client: &HttpClient,
        request: &mut HttpRequest,
    ) -> Result<AuthStamp>;

    /// Called once per call after a 401 answered a request made with `stamp`.
    /// Returns `true` when fresh credentials are available and the request
    /// should be sent again, `false` when nothing can be refreshed (a static
    /// token). Concurrent callers with the same stale stamp refresh once.
    async fn refresh(&self, client: &HttpClient, stamp: AuthStamp) -> Result<bool>;
}

/// The default cap on requests in flight to one host ([`ClientConfig::max_connections_per_host`]).
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 64;

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
    /// The most requests in flight to one host at once (at least 1); more
    /// wait for a place, within their call's budget. Connections to a host
    /// never outnumber the requests in flight to it plus one, so this caps
    /// them too (at this plus one).
    pub max_connections_per_host: usize,
    /// The proxies requests go through: by default those the `HTTP_PROXY`
    /// family of variables names when the client is built ([`Proxies`]).
    pub proxies: Proxies,
    /// At most this many requests per second to the account, evenly spaced
    /// (5% under, see [`Pacer`]); `None` (the default): no limit. Every
    /// request the client sends waits for its turn: each attempt, retries
    /// and logins included. The client's [`Pacer`] is shared by its clones
    /// and can be tightened later ([`HttpClient::pacer`]).
    pub pace: Option<NonZeroU32>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            pool_idle_timeout: Duration::from_secs(60),
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
            proxies: Proxies::from_env(),
            pace: None,
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

    /// Sets the cap on requests in flight (and so connections) per host.
    /// Zero is refused by [`HttpClient::from_config`].
    pub fn with_max_connections_per_host(mut self, n: usize) -> Self {
        self.max_connections_per_host = n;
        self
    }

    /// Whether requests go through the proxies the environment names
    /// (`true`, the default) or straight to their targets (`false`).
    pub fn with_proxy_from_env(mut self, on: bool) -> Self {
        self.proxies = if on {
            Proxies::from_env()
        } else {
            Proxies::none()
        };
        self
    }

    /// Sets the proxies requests go through.
    pub fn with_proxies(mut self, proxies: Proxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Sets the most requests per second to the account ([`ClientConfig::pace`]).
    pub fn with_pace(mut self, per_second: NonZeroU32) -> Self {
        self.pace = Some(per_second);
        self
    }
}

type Connector = CappedConnector<HttpsConnector<ProxyConnector>>;

struct Inner {
    client: Client<Connector, Full<Bytes>>,
    gates: Arc<Gates>,
    /// The proxy rules, read once when the client is built.
    proxies: Option<Arc<Matcher>>,
    config: ClientConfig,
    vendor: Vendor,
    parser: Arc<dyn ErrorParser>,
    /// Every request waits for its turn here.
    pacer: Pacer,
}

/// The one HTTP client every adapter calls.
///
/// It owns connection pooling (hyper with rustls, HTTP/1.1, at most
/// [`ClientConfig::max_connections_per_host`] requests in flight per host and
/// never more connections than requests in flight plus one; no redirects
/// followed, so credentials never reach another host), proxies ([`Proxies`],
/// from the environment by default), per-attempt and overall timeouts,
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
        HttpClient::from_config(
            vendor,
            ClientConfig::default(),
            Arc::new(GenericErrorParser),
        )
    }

    /// Renamed [`from_config`](Self::from_config) (a constructor, not a
    /// `with_*` setter).
    #[deprecated(note = "renamed `HttpClient::from_config`")]
    pub fn with_config(
        vendor: Vendor,
        config: ClientConfig,
        parser: Arc<dyn ErrorParser>,
    ) -> Result<Self> {
        HttpClient::from_config(vendor, config, parser)
    }

    /// A client with an explicit config and error parser.
    pub fn from_config(
        vendor: Vendor,
        config: ClientConfig,
        parser: Arc<dyn ErrorParser>,
    ) -> Result<Self> {
        if config.max_connections_per_host == 0 {
            return Err(Error::config("max_connections_per_host must be at least 1")
                .with_vendor(vendor.clone()));
        }
        let proxies = config
            .proxies
            .matcher()
            .map_err(|e| Error::config(e).with_vendor(vendor.clone()))?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| {
                Error::config("cannot set up TLS for the HTTP client")
                    .with_vendor(vendor.clone())
                    .with_source(e)
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector {
                tcp,
                matcher: proxies.clone(),
            });
        let gates = Arc::new(Gates::new(config.max_connections_per_host));
        let connector = CappedConnector {
            inner: https,
            gates: Arc::clone(&gates),
            timeout: config.connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                gates,
                proxies,
                pacer: config.pace.map_or_else(Pacer::unlimited, Pacer::per_second),
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

    /// The pacer every request of this client and its clones waits on
    /// (unlimited unless [`ClientConfig::pace`] is set). Tightening it
    /// ([`Pacer::tighten`]) slows every clone.
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
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
            method: request.method.as_str().to_owned(),
            path: request.url.path().to_owned(),
        };
        let plain = self.without_authenticator();
        let gate = self.inner.gates.host(host_key(
            request.url.scheme(),
            request.url.host_str().unwrap_or(""),
            request.url.port(),
        ));
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
            // This attempt's turn at the account's pace, waited for within the
            // call's budget, before a place in flight is taken (nothing is
            // held while waiting).
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, self.inner.pacer.wait())
                .await
                .is_err()
            {
                return Err(lost(
                    budget_spent(&meta, policy.budget, attempt - 1, start),
                    unanswered,
                ));
            }
            // A place among the requests in flight to the host, waited for
            // within the call's budget (not the attempt's: nothing is sent
            // while waiting).
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(in_flight) = tokio::time::timeout(left, gate.enter()).await else {
                return Err(lost(
                    budget_spent(&meta, policy.budget, attempt - 1, start),
                    unanswered,
                ));
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(lost(
                    budget_spent(&meta, policy.budget, attempt - 1, start),
                    unanswered,
                ));
            }
            let per_attempt = self.inner.config.attempt_timeout.min(deadline - now);
            let budget_bound = per_attempt < self.inner.config.attempt_timeout;
            let result =
                tokio::time::timeout(per_attempt, self.attempt(req, &meta, in_flight)).await;
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
                    if status == 401
                        && !refreshed
                        && let Some(auth) = auth
                    {
                        refreshed = true;
                        let left = deadline.saturating_duration_since(Instant::now());
                        let again =
                            match tokio::time::timeout(left, auth.refresh(&plain, stamp)).await {
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
                    let retryable = match status {
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
        // Held until the body is read: the connection is busy until then.
        in_flight: InFlight,
    ) -> std::result::Result<HttpResponse, AttemptError> {
        let started = Instant::now();
        let uri: Uri = req.url.as_str().parse().map_err(|_| {
            AttemptError::Fatal(meta.error(
                ErrorKind::InvalidInput,
                format!(
                    "{} {}: the URL is not a valid request target",
                    meta.method, meta.path
                ),
            ))
        })?;
        let proxy = route(self.inner.proxies.as_deref(), &uri).map_err(|e| {
            AttemptError::Fatal(meta.error(
                ErrorKind::Config,
                format!("{} {}: {e}", meta.method, meta.path),
            ))
        })?;
        let mut http_req = http::Request::new(Full::new(req.body.unwrap_or_default()));
        *http_req.method_mut() = req.method;
        *http_req.uri_mut() = uri;
        *http_req.headers_mut() = req.headers;
        let headers = http_req.headers_mut();
        headers
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT));
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        // A plain-HTTP request goes to its proxy as is: the proxy's
        // credentials ride on it (marked sensitive). Through a tunnel they
        // are sent only in the `CONNECT`.
        if let Some(auth) = proxy
            .as_ref()
            .filter(|_| http_req.uri().scheme_str() == Some("http"))
            .and_then(|p| p.basic_auth())
        {
            let mut auth = auth.clone();
            auth.set_sensitive(true);
            http_req
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth);
        }
        let resp = self
            .inner
            .client
            .request(http_req)
            .await
            .map_err(|e| transport(meta, e))?;
        let status = resp.status();
        let headers = ResponseHeaders::from_map(resp.headers().clone());
        let body = read_body(resp, meta, self.inner.config.body_limit).await?;
        drop(in_flight);
        tracing::debug!(
            vendor = %meta.vendor, operation = %meta.operation, method = %meta.method, path = %meta.path,
            status = status.as_u16(), bytes = body.len(), elapsed_ms = started.elapsed().as_millis() as u64,
            "http attempt"
        );
        if status.is_success() {
            Ok(HttpResponse {
                status: Status::new(status.as_u16()),
                headers,
                body,
                meta: meta.clone(),
                unanswered_attempt: false,
            })
        } else {
            Err(AttemptError::Status(status.as_u16(), headers, body))
        }
    }
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
