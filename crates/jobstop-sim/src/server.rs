//! The in-process HTTP server every simulator runs on: its own accept loop
//! (so it can count connections and drop one abruptly), the request log and
//! the fault layer in front of the vendor's axum `Router`.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::clock::{SimClock, format_http_date};
use crate::fault::{Fault, FaultBody, Faults, html_page, oversized_body};
use crate::lock;
use crate::log::{LoggedRequest, RequestLog, mask_headers, mask_target};

/// How long [`SimServer::shutdown`] lets in-flight requests finish.
const GRACE: Duration = Duration::from_secs(2);
/// How long a mid-body close waits after the partial body, so it is flushed.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);
/// Chunk size of generated bodies.
const CHUNK: u64 = 64 * 1024;

type ErrorBodyFn = dyn Fn(u16, &str) -> serde_json::Value + Send + Sync;
type AccountKeyFn = dyn Fn(&Uri, &HeaderMap) -> String + Send + Sync;

/// A request's connection: its number (1 for the first accepted) and a way
/// to close it at once, whatever it is doing.
#[derive(Clone, Debug)]
struct ConnectionControl {
    id: u64,
    kill: Arc<Notify>,
}

impl ConnectionControl {
    fn close(&self) {
        self.kill.notify_one();
    }
}

/// Configures a [`SimServer`] before it starts.
pub struct SimServerBuilder {
    router: Router,
    prefix: String,
    clock: Option<SimClock>,
    error_body: Arc<ErrorBodyFn>,
    account_key: Arc<AccountKeyFn>,
}

impl fmt::Debug for SimServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimServerBuilder")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl SimServerBuilder {
    /// The vendor's path prefix (e.g. `/api`): part of [`SimServer::base_url`],
    /// and removed from paths before [`Route`](crate::Route)s match them
    /// (paths outside it are matched whole). The router still sees, and must
    /// route, the full path.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// The vendor's error body for a status and message, used by
    /// [`Fault::TooManyRequests`], the rate limit and [`FaultBody::Vendor`].
    /// Default: `{"status":N,"message":"…"}`.
    pub fn error_body(
        mut self,
        f: impl Fn(u16, &str) -> serde_json::Value + Send + Sync + 'static,
    ) -> Self {
        self.error_body = Arc::new(f);
        self
    }

    setters! {
        /// The simulated clock, which sets every response's `Date` header (so
        /// it agrees with the timestamps in the bodies). Default: a clock
        /// starting at the real time when the server starts.
        clock(clock): some SimClock;
    }

    /// Which account a request belongs to, for the rate limit, from its URI
    /// (path and raw query, for vendors whose credential can travel there,
    /// e.g. Chorus's `?session_id=`) and headers; the body has not been read
    /// when the rate limit is checked. Default: the `Authorization` header.
    pub fn account_key(
        mut self,
        f: impl Fn(&Uri, &HeaderMap) -> String + Send + Sync + 'static,
    ) -> Self {
        self.account_key = Arc::new(f);
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(self) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let clock = self
            .clock
            .unwrap_or_else(|| SimClock::starting_at(chrono::Utc::now()));
        let shared = Arc::new(Shared {
            cfg: self,
            clock,
            faults: Faults::default(),
            log: RequestLog::default(),
            connections: AtomicU64::new(0),
        });
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), rx));
        Ok(SimServer {
            shared,
            addr,
            shutdown: tx,
            task: Mutex::new(Some(task)),
        })
    }
}

struct Shared {
    /// The builder's settings (its clock resolved into `clock`).
    cfg: SimServerBuilder,
    clock: SimClock,
    faults: Faults,
    log: RequestLog,
    connections: AtomicU64,
}

impl Shared {
    /// `path` below the prefix (the whole path if it is not under it).
    fn relative<'a>(&self, path: &'a str) -> &'a str {
        if self.cfg.prefix.is_empty() {
            return path;
        }
        match path.strip_prefix(self.cfg.prefix.as_str()) {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        }
    }
}

/// A simulator's HTTP server on `127.0.0.1:<random port>`, serving an axum
/// `Router` behind a request log and a [`Faults`] script.
///
/// Dropping it stops it at once (every task it spawned is aborted);
/// [`SimServer::shutdown`] lets in-flight requests finish first.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use axum::{Router, routing::get};
/// use jobstop_sim::SimServer;
///
/// let router = Router::new().route("/v1/ping", get(|| async { "pong" }));
/// let server = SimServer::builder(router).prefix("/v1").start().await?;
/// assert!(server.base_url().ends_with("/v1"));
/// assert_eq!(server.connections(), 0);
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct SimServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for SimServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimServer")
            .field("addr", &self.addr)
            .field("prefix", &self.shared.cfg.prefix)
            .finish_non_exhaustive()
    }
}

impl SimServer {
    /// A builder serving `router`, which must route full paths (prefix
    /// included).
    pub fn builder(router: Router) -> SimServerBuilder {
        SimServerBuilder {
            router,
            prefix: String::new(),
            clock: None,
            error_body: Arc::new(
                |status, message| serde_json::json!({ "status": status, "message": message }),
            ),
            account_key: Arc::new(|_, headers| {
                headers
                    .get(axum::http::header::AUTHORIZATION)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default()
            }),
        }
    }

    /// `http://127.0.0.1:PORT` followed by the prefix, e.g.
    /// `http://127.0.0.1:41234/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.cfg.prefix)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The vendor prefix, e.g. `/api` (empty if none).
    pub fn prefix(&self) -> &str {
        &self.shared.cfg.prefix
    }

    /// The simulated clock (the one behind the `Date` headers).
    pub fn clock(&self) -> SimClock {
        self.shared.clock
    }

    /// How many TCP connections it has accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every request received since the start or the last
    /// [`SimServer::clear_requests`], in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.snapshot()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// The fault script.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Stops accepting, lets in-flight requests finish (up to 2 s), closes
    /// idle connections and waits for all of it. Calling it again does
    /// nothing.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = lock(&self.task).take() {
            // The accept loop owns the connections' JoinSet, so this aborts
            // them too.
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                    conns.spawn(serve_connection(stream, id, shared.clone(), stop.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}

async fn serve_connection(
    stream: TcpStream,
    id: u64,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let control = ConnectionControl {
        id,
        kill: kill.clone(),
    };
    let service =
        hyper::service::service_fn(move |req| handle(shared.clone(), control.clone(), req));
    // No header read timeout: an idle keep-alive connection stays open until
    // the client closes it (or the server shuts down).
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut draining = *stop.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = kill.notified() => break,
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What the fault layer decided.
enum Outcome {
    Respond(Response<Body>),
    Close,
}

async fn handle(
    shared: Arc<Shared>,
    control: ConnectionControl,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().to_string(), |pq| pq.as_str().to_owned());
    let relative = shared.relative(req.uri().path()).to_owned();
    let seq = shared.log.start(LoggedRequest {
        method: method.clone(),
        target: mask_target(&target),
        headers: mask_headers(req.headers()),
        fault: None,
        status: None,
        connection: control.id,
    });
    let account = (shared.cfg.account_key)(req.uri(), req.headers());
    let fault = shared.faults.pick(&account, &method, &relative);

    let req = req.map(Body::new);
    let outcome = match &fault {
        None => Outcome::Respond(call(&shared, req).await),
        Some(f) => apply(&shared, &control, f, req).await,
    };
    match outcome {
        Outcome::Respond(mut resp) => {
            if let Ok(date) = HeaderValue::from_str(&format_http_date(shared.clock.now())) {
                resp.headers_mut().insert(DATE, date);
            }
            shared.log.finish(seq, fault, Some(resp.status().as_u16()));
            Ok(resp)
        }
        Outcome::Close => {
            shared.log.finish(seq, fault, None);
            control.close();
            std::future::pending().await
        }
    }
}

async fn call(shared: &Shared, req: Request<Body>) -> Response<Body> {
    match shared.cfg.router.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// The handler's answer with its body read into memory.
async fn call_buffered(
    shared: &Shared,
    req: Request<Body>,
) -> (axum::http::response::Parts, Bytes) {
    let (parts, body) = call(shared, req).await.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (parts, bytes)
}

/// A body worth cutting: `bytes` if it has at least two bytes, else a
/// plausible JSON document.
fn cuttable(bytes: Bytes) -> Bytes {
    if bytes.len() >= 2 {
        bytes
    } else {
        Bytes::from_static(br#"{"data":[{"id":"sim-1","state":"running"}],"next_token":"x"}"#)
    }
}

/// A query string (or form body) as `(name, value)` pairs, decoded.
#[cfg_attr(not(any(feature = "amperity", feature = "dataarts")), allow(dead_code))]
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn json_response(status: u16, value: &serde_json::Value) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    respond(status, "application/json", Body::from(body))
}

fn respond(status: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn with_retry_after(mut resp: Response<Body>, retry_after: Option<u64>) -> Response<Body> {
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn apply(
    shared: &Shared,
    control: &ConnectionControl,
    fault: &Fault,
    req: Request<Body>,
) -> Outcome {
    let resp = match fault {
        Fault::Latency(d) => {
            tokio::time::sleep(*d).await;
            call(shared, req).await
        }
        Fault::Status {
            status,
            body,
            retry_after,
        } => {
            let resp = match body {
                FaultBody::Vendor(message) => {
                    json_response(*status, &(shared.cfg.error_body)(*status, message))
                }
                FaultBody::Json(v) => json_response(*status, v),
                FaultBody::Text(t) => respond(*status, "text/plain", Body::from(t.clone())),
                FaultBody::Empty => {
                    let mut r = respond(*status, "", Body::empty());
                    r.headers_mut().remove(CONTENT_TYPE);
                    r
                }
            };
            with_retry_after(resp, *retry_after)
        }
        Fault::TooManyRequests { retry_after } => with_retry_after(
            json_response(429, &(shared.cfg.error_body)(429, "Too Many Requests")),
            *retry_after,
        ),
        Fault::SlowAnswer(d) => {
            let (parts, bytes) = call_buffered(shared, req).await;
            tokio::time::sleep(*d).await;
            Response::from_parts(parts, Body::from(bytes))
        }
        Fault::CloseBeforeHeaders => return Outcome::Close,
        Fault::CloseAfterHandler => {
            let _ = call_buffered(shared, req).await;
            return Outcome::Close;
        }
        Fault::CloseMidBody => {
            let (mut parts, bytes) = call_buffered(shared, req).await;
            let bytes = cuttable(bytes);
            let half = bytes.slice(..bytes.len() / 2);
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            let kill = control.clone();
            let stream = futures::stream::unfold(Some(half), move |first| {
                let kill = kill.clone();
                async move {
                    match first {
                        Some(chunk) => Some((Ok::<_, std::io::Error>(chunk), None)),
                        None => {
                            tokio::time::sleep(FLUSH_PAUSE).await;
                            kill.close();
                            std::future::pending::<()>().await;
                            None
                        }
                    }
                }
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Fault::TruncatedJson => {
            let (mut parts, bytes) = call_buffered(shared, req).await;
            let bytes = cuttable(bytes);
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        Fault::NonJson => respond(
            200,
            "text/plain",
            Body::from("OK\nupstream: this is not JSON {\"data\": [ <truncated>\n"),
        ),
        Fault::HtmlError { status } => {
            respond(*status, "text/html", Body::from(html_page(*status)))
        }
        Fault::Oversized {
            bytes,
            content_length,
        } => {
            let chunks = oversized_body(*bytes, CHUNK).map(Ok::<_, std::io::Error>);
            let stream = futures::stream::iter(chunks);
            let mut resp = respond(200, "application/json", Body::from_stream(stream));
            if *content_length {
                resp.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(*bytes));
            }
            resp
        }
        Fault::EmptyOk => respond(200, "application/json", Body::empty()),
        Fault::WrongContentType => {
            let mut resp = call(shared, req).await;
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            resp
        }
        Fault::MapJson(rewrite) => {
            let (mut parts, bytes) = call_buffered(shared, req).await;
            let parsed = parts
                .status
                .is_success()
                .then(|| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .flatten();
            match parsed {
                Some(mut body) => {
                    rewrite.apply(&mut body);
                    let bytes = serde_json::to_vec(&body).unwrap_or_default();
                    parts
                        .headers
                        .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                    Response::from_parts(parts, Body::from(bytes))
                }
                None => Response::from_parts(parts, Body::from(bytes)),
            }
        }
    };
    Outcome::Respond(resp)
}
