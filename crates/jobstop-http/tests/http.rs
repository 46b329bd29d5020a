//! The HTTP layer against a real loopback server.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jobstop_core::{ErrorKind, Operation, RunId, Vendor};
use jobstop_http::{
    BaseUrl, ClientConfig, GenericErrorParser, HttpClient, HttpRequest, RetryPolicy, SecretString,
    StaticToken, Token, TokenAuth, TokenSource,
};
use support::{Reply, Server};

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(5)
        .with_budget(Duration::from_secs(10))
        .with_backoff(Duration::from_millis(10), Duration::from_millis(40))
}

fn client_with(config: ClientConfig) -> HttpClient {
    HttpClient::from_config(Vendor::new("test"), config, Arc::new(GenericErrorParser)).unwrap()
}

fn client() -> HttpClient {
    client_with(ClientConfig::default().with_retry(fast_retry()))
}

fn get(server: &Server, path: &'static str) -> HttpRequest {
    let base = BaseUrl::parse(&server.base()).unwrap();
    HttpRequest::get(base.path().lit(path).build(), Operation::Status).run_id(&RunId::new("r1"))
}

#[tokio::test]
async fn retry_after_one_second_is_honoured() {
    let server = Server::start(vec![
        Reply::status(429, r#"{"message":"slow down"}"#).header("Retry-After", "1"),
        Reply::ok(r#"{"ok":true}"#),
    ])
    .await;
    let resp = client().send(get(&server, "runs")).await.unwrap();
    assert_eq!(resp.json_value().unwrap()["ok"], true);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    assert!(gap >= Duration::from_secs(1), "retried after only {gap:?}");
    assert!(gap < Duration::from_secs(3), "waited too long: {gap:?}");
}

#[tokio::test]
async fn unavailable_then_ok_succeeds() {
    let server = Server::start(vec![Reply::status(503, "{}"), Reply::ok("[1]")]).await;
    let resp = client().send(get(&server, "x")).await.unwrap();
    assert_eq!(resp.body().as_ref(), b"[1]");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let server = Server::start(vec![Reply::status(
        400,
        r#"{"status":400,"message":"bad filter","request_id":"req-9"}"#,
    )])
    .await;
    let err = client().send(get(&server, "x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.vendor_message(), Some("bad filter"));
    assert_eq!(err.request_id(), Some("req-9"));
    assert_eq!(err.run_id(), Some(&RunId::new("r1")));
    assert_eq!(server.requests().len(), 1);
    let line = err.to_string();
    assert!(
        line.starts_with("test status r1: invalid input: GET /x answered 400"),
        "{line}"
    );
}

#[tokio::test]
async fn other_client_errors_and_500_are_not_retried() {
    for (status, kind) in [
        (401, ErrorKind::Unauthenticated),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (409, ErrorKind::Conflict),
        (500, ErrorKind::Unavailable),
    ] {
        let server = Server::start(vec![Reply::status(status, "{}")]).await;
        let err = client().send(get(&server, "x")).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert_eq!(server.requests().len(), 1, "{status} was retried");
    }
}

#[tokio::test]
async fn expired_budget_is_a_typed_timeout() {
    let server = Server::start(vec![]).await;
    server.set_default(Reply::ok("{}").delayed(Duration::from_secs(5)));
    let config = ClientConfig::default()
        .with_attempt_timeout(Duration::from_secs(2))
        .with_retry(fast_retry().with_budget(Duration::from_millis(300)));
    let started = Instant::now();
    let err = client_with(config)
        .send(get(&server, "slow"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("retry budget"), "{err}");
}

#[tokio::test]
async fn slow_attempts_are_retried_within_the_budget() {
    let server = Server::start(vec![Reply::ok("{}").delayed(Duration::from_millis(500))]).await;
    let config = ClientConfig::default()
        .with_attempt_timeout(Duration::from_millis(150))
        .with_retry(fast_retry());
    client_with(config).send(get(&server, "x")).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_past_the_budget_gives_up_at_once() {
    let server = Server::start(vec![Reply::status(429, "{}").header("Retry-After", "20")]).await;
    let config =
        ClientConfig::default().with_retry(fast_retry().with_budget(Duration::from_secs(5)));
    let started = Instant::now();
    let err = client_with(config)
        .send(get(&server, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_storm_gives_up_after_max_attempts() {
    let server = Server::start(vec![]).await;
    server.set_default(Reply::status(429, "{}"));
    let err = client().send(get(&server, "x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.context().attempts, Some(5));
    assert_eq!(server.requests().len(), 5);
}

#[derive(Debug)]
struct Counting(AtomicU32);

#[async_trait]
impl TokenSource for Counting {
    async fn fetch(&self, _client: &HttpClient) -> jobstop_core::Result<Token> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Token::expiring(
            SecretString::new(format!("tok-{n}")),
            Duration::from_secs(3600),
        ))
    }
}

#[tokio::test]
async fn unauthorized_refreshes_the_token_exactly_once() {
    let server = Server::start(vec![Reply::status(401, ""), Reply::ok("{}")]).await;
    let auth = Arc::new(TokenAuth::bearer(Counting(AtomicU32::new(0))));
    let c = client().with_authenticator(auth.clone());
    c.send(get(&server, "x")).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(reqs[1].header("authorization"), Some("Bearer tok-2"));
    assert_eq!(auth.cache().fetch_count(), 2);

    // A server that keeps answering 401: one refresh, then a typed error.
    server.set_default(Reply::status(401, ""));
    let err = c.send(get(&server, "x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(auth.cache().fetch_count(), 3);
    assert_eq!(server.requests().len(), 4);
    assert!(!err.to_string().contains("tok-"), "{err}");
}

#[tokio::test]
async fn static_token_is_not_refreshed() {
    let server = Server::start(vec![Reply::status(401, "")]).await;
    let auth = Arc::new(TokenAuth::bearer(StaticToken::new(SecretString::new(
        "fixed",
    ))));
    let err = client()
        .with_authenticator(auth)
        .send(get(&server, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_early() {
    #[derive(Debug)]
    struct Short(AtomicU32);
    #[async_trait]
    impl TokenSource for Short {
        async fn fetch(&self, _c: &HttpClient) -> jobstop_core::Result<Token> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Token::expiring(
                SecretString::new(format!("t{n}")),
                Duration::from_millis(1500),
            ))
        }
    }
    let server = Server::start(vec![]).await;
    let auth = Arc::new(TokenAuth::bearer(Short(AtomicU32::new(0))));
    let c = client().with_authenticator(auth.clone());
    c.send(get(&server, "x")).await.unwrap();
    c.send(get(&server, "x")).await.unwrap();
    assert_eq!(auth.cache().fetch_count(), 1);
    // A tenth of the lifetime early: at 1.35 s.
    tokio::time::sleep(Duration::from_millis(1420)).await;
    c.send(get(&server, "x")).await.unwrap();
    assert_eq!(
        auth.cache().fetch_count(),
        2,
        "refresh should happen before expiry"
    );
}

#[tokio::test]
async fn body_over_the_cap_is_a_typed_error() {
    let big = "x".repeat(2048);
    let server = Server::start(vec![
        Reply::ok(&big),
        Reply::ok(&big).close_delimited(),
        Reply::ok(&"y".repeat(1024)),
    ])
    .await;
    let c = client_with(
        ClientConfig::default()
            .with_retry(fast_retry())
            .with_body_limit(1024),
    );
    for _ in 0..2 {
        let err = c.send(get(&server, "big")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.to_string().contains("1024-byte limit"), "{err}");
    }
    // Exactly at the cap is fine.
    assert_eq!(
        c.send(get(&server, "big")).await.unwrap().body().len(),
        1024
    );
    assert_eq!(
        server.requests().len(),
        3,
        "an oversized body is not retried"
    );
}

#[tokio::test]
async fn connection_closed_before_headers_is_retried() {
    let server = Server::start(vec![Reply::CloseBeforeHeaders, Reply::ok("{}")]).await;
    client().send(get(&server, "x")).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn connection_closed_mid_body_ends_in_a_transport_error() {
    let server = Server::start(vec![]).await;
    server.set_default(Reply::CloseMidBody {
        declared: 100,
        sent: b"{\"data\":[".to_vec(),
    });
    let err = client().send(get(&server, "x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(server.requests().len(), 5);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn html_error_page_names_its_title() {
    let page =
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let server = Server::start(vec![]).await;
    server.set_default(Reply::status(502, page).content_type("text/html"));
    let err = client().send(get(&server, "x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(
        err.to_string().contains("HTML page \"502 Bad Gateway\""),
        "{err}"
    );
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn success_bodies_that_are_not_json_are_typed_errors() {
    let server = Server::start(vec![
        Reply::ok(""),
        Reply::ok("<html><title>Login</title></html>").content_type("text/html"),
        Reply::ok(r#"{"data":[{"id":"a"#),
        Reply::ok("null"),
    ])
    .await;
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Shape {
        data: Vec<serde_json::Value>,
    }
    let c = client();
    for expect in [
        "empty body",
        "HTML page \"Login\"",
        "not the expected JSON",
        "not the expected JSON",
    ] {
        let resp = c.send(get(&server, "x")).await.unwrap();
        let err = resp.json::<Shape>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[tokio::test]
async fn non_idempotent_requests_are_not_retried_after_reaching_the_server() {
    let server = Server::start(vec![Reply::status(503, "{}"), Reply::ok("{}")]).await;
    let base = BaseUrl::parse(&server.base()).unwrap();
    let req = HttpRequest::post(base.path().lit("start").build(), Operation::Stop).not_idempotent();
    let err = client().send(req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Server::start(vec![]).await;
    let server = Server::start(vec![
        Reply::status(302, "").header("Location", &format!("{}/steal", elsewhere.base())),
    ])
    .await;
    let auth = Arc::new(TokenAuth::bearer(StaticToken::new(SecretString::new(
        "secret-tok",
    ))));
    let err = client()
        .with_authenticator(auth)
        .send(get(&server, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(elsewhere.requests().len(), 0);
}

#[tokio::test]
async fn requests_carry_the_user_agent_and_reuse_one_connection() {
    let server = Server::start(vec![]).await;
    let c = client();
    for _ in 0..20 {
        c.send(get(&server, "x")).await.unwrap();
    }
    let reqs = server.requests();
    assert_eq!(reqs.len(), 20);
    assert_eq!(reqs[0].header("user-agent"), Some(jobstop_http::USER_AGENT));
    assert!(jobstop_http::USER_AGENT.starts_with("jobstop/"));
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn header_values_with_line_breaks_are_refused() {
    let base = BaseUrl::parse("http://127.0.0.1:9").unwrap();
    let err = HttpRequest::get(base.path().build(), Operation::List)
        .header("amperity-tenant", "acme\r\nX-Evil: 1")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // Bind and drop to find a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = client()
        .send(HttpRequest::get(
            base.path().lit("x").build(),
            Operation::List,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.context().attempts, Some(5));
}

#[test]
fn non_loopback_http_is_refused() {
    let err = BaseUrl::parse("http://jobs.example.com/api").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(BaseUrl::parse("https://jobs.example.com/api").is_ok());
}

#[tokio::test]
async fn append_form_adds_fields_to_the_body() {
    let server = Server::start(vec![]).await;
    let base = BaseUrl::parse(&server.base()).unwrap();
    let mut req =
        HttpRequest::post(base.path().lit("a").build(), Operation::Stop).form(&[("x", "1 2")]);
    req.append_form(&[("session_id", "abc&d")]).unwrap();
    client().send(req).await.unwrap();
    let mut empty = HttpRequest::post(base.path().lit("b").build(), Operation::Stop);
    empty.append_form(&[("k", "v")]).unwrap();
    client().send(empty).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].body, b"x=1+2&session_id=abc%26d");
    assert_eq!(reqs[1].body, b"k=v");
    assert_eq!(
        reqs[1].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let mut json = HttpRequest::post(base.path().lit("c").build(), Operation::Stop)
        .json(&serde_json::json!({"a": 1}))
        .unwrap();
    assert_eq!(
        json.append_form(&[("k", "v")]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

// ---------------------------------------------------------------------------
// Authentication inside the call's budget, and token
// lifetimes that are zero or too large for the clock.

/// A token source that counts its fetches and does what it is told.
#[derive(Debug)]
struct Scripted {
    fetches: AtomicU32,
    /// Wait this long before answering.
    delay: Duration,
    /// The lifetime of the token it returns, or `None` for an error.
    life: Option<Duration>,
}

impl Scripted {
    fn new(delay: Duration, life: Option<Duration>) -> Self {
        Scripted {
            fetches: AtomicU32::new(0),
            delay,
            life,
        }
    }
}

#[async_trait]
impl TokenSource for Scripted {
    async fn fetch(&self, _client: &HttpClient) -> jobstop_core::Result<Token> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        match self.life {
            Some(life) => Ok(Token::expiring(SecretString::new(format!("t{n}")), life)),
            None => Err(jobstop_core::Error::new(
                ErrorKind::Unauthenticated,
                "the login was refused",
            )),
        }
    }
}

fn budget_config(budget: Duration) -> ClientConfig {
    ClientConfig::default()
        .with_attempt_timeout(Duration::from_secs(15))
        .with_retry(RetryPolicy::default().with_budget(budget))
}

#[tokio::test]
async fn a_hanging_token_fetch_fails_each_call_at_its_own_budget_with_one_fetch() {
    let server = Server::start(vec![]).await;
    let auth = Arc::new(TokenAuth::bearer(Scripted::new(
        Duration::from_secs(3600),
        Some(Duration::from_secs(3600)),
    )));
    let c = client_with(budget_config(Duration::from_millis(500))).with_authenticator(auth.clone());
    let started = Instant::now();
    let results = futures::future::join_all((0..4).map(|_| c.send(get(&server, "x")))).await;
    let took = started.elapsed();
    for r in results {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.to_string().contains("authentication"), "{err}");
    }
    // Four calls of 0.5 s each, concurrently: not four logins one after the
    // other behind a lock.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(auth.cache().source().fetches.load(Ordering::SeqCst), 1);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_failed_token_fetch_is_shared_by_the_callers_waiting_for_it() {
    let server = Server::start(vec![]).await;
    let auth = Arc::new(TokenAuth::bearer(Scripted::new(
        Duration::from_millis(200),
        None,
    )));
    let c = client().with_authenticator(auth.clone());
    let results = futures::future::join_all((0..4).map(|_| c.send(get(&server, "x")))).await;
    for r in results {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
        assert!(err.to_string().contains("the login was refused"), "{err}");
    }
    assert_eq!(auth.cache().source().fetches.load(Ordering::SeqCst), 1);
    assert_eq!(auth.cache().fetch_count(), 1);
    // The failure is not cached: the next call fetches again.
    c.send(get(&server, "x")).await.unwrap_err();
    assert_eq!(auth.cache().source().fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_that_expires_at_once_is_not_fetched_for_every_call() {
    let server = Server::start(vec![]).await;
    let auth = Arc::new(TokenAuth::bearer(Scripted::new(
        Duration::ZERO,
        Some(Duration::ZERO),
    )));
    let c = client().with_authenticator(auth.clone());
    for _ in 0..5 {
        c.send(get(&server, "x")).await.unwrap();
    }
    // Reused for MIN_TOKEN_REUSE (1 s), far longer than five local calls.
    assert_eq!(auth.cache().fetch_count(), 1);
    assert_eq!(jobstop_http::MIN_TOKEN_REUSE, Duration::from_secs(1));
}

#[tokio::test]
async fn a_token_lifetime_past_the_clock_means_no_expiry() {
    let server = Server::start(vec![]).await;
    let auth = Arc::new(TokenAuth::bearer(Scripted::new(
        Duration::ZERO,
        Some(Duration::from_secs(10_000_000_000_000_000_000)),
    )));
    let c = client().with_authenticator(auth.clone());
    c.send(get(&server, "x")).await.unwrap();
    c.send(get(&server, "x")).await.unwrap();
    assert_eq!(auth.cache().fetch_count(), 1);
}

/// Sends `calls` GETs through `c`, all at once, and returns how many
/// succeeded.
async fn concurrent_gets(c: &HttpClient, server: &Server, calls: usize) -> usize {
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let (c, req) = (c.clone(), get(server, "x"));
            tokio::spawn(async move { c.send(req).await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    ok
}

/// Connections a test may see accepted beyond those open at once: hyper's
/// pool races a checkout against a new connect, and when the connect wins
/// just after an idle connection was handed to the losing checkout, that
/// connection is dropped with it (`hyper-util` `client/legacy/client.rs`,
/// `one_connection_for`); the cap then lets one open in its place. Rare on a
/// quiet machine, a handful on a loaded one; a pool that did not reuse
/// connections would open one per request.
const REPLACED: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_host_stay_within_the_requests_in_flight_plus_two() {
    // The default cap, 256 calls at once, answers that take a moment (so
    // the calls pile up): 256 connections without a cap.
    let server = Server::start(vec![]).await;
    server.set_default(Reply::ok("{}").delayed(Duration::from_millis(20)));
    let cap = jobstop_http::DEFAULT_MAX_CONNECTIONS_PER_HOST;
    let c = client();
    assert_eq!(c.config().max_connections_per_host, cap);
    assert_eq!(concurrent_gets(&c, &server, 256).await, 256);
    assert_eq!(server.requests().len(), 256);
    let (accepted, peak) = (server.connections(), server.peak_open_connections());
    assert!(
        accepted <= cap + 2 + REPLACED && peak <= cap + 2,
        "{accepted} connections accepted, {peak} open at once, for {cap} requests in flight"
    );
    assert!(
        peak > cap / 2,
        "the calls ran concurrently ({peak} open at once)"
    );

    // A small cap and instant answers: requests start the moment others
    // end, before their connections are back in the pool, which is when an
    // uncapped pool opens spares.
    for _ in 0..3 {
        let server = Server::start(vec![]).await;
        let cap = 4;
        let c = client_with(
            ClientConfig::default()
                .with_retry(fast_retry())
                .with_max_connections_per_host(cap),
        );
        assert_eq!(concurrent_gets(&c, &server, 256).await, 256);
        let (accepted, peak) = (server.connections(), server.peak_open_connections());
        assert!(
            accepted <= cap + 2 + REPLACED && peak <= cap + 2,
            "{accepted} connections accepted, {peak} open at once, for {cap} requests in flight"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sequential_calls_use_at_most_two_connections() {
    let server = Server::start(vec![]).await;
    let c = client();
    for _ in 0..1000 {
        c.send(get(&server, "x")).await.unwrap();
    }
    assert_eq!(server.requests().len(), 1000);
    let (accepted, peak) = (server.connections(), server.peak_open_connections());
    assert!(
        accepted <= 2 + REPLACED && peak <= 2,
        "{accepted} connections accepted, {peak} open at once"
    );
}

#[test]
fn a_zero_connection_cap_is_refused() {
    let err = HttpClient::from_config(
        Vendor::new("test"),
        ClientConfig::default().with_max_connections_per_host(0),
        Arc::new(GenericErrorParser),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("max_connections_per_host"),
        "{err}"
    );
}
