//! No secret in log events or `Debug`. In a test binary of its own, so that
//! no other test runs while the tracing subscriber captures.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jobstop_core::{Operation, Vendor};
use jobstop_http::{
    BaseUrl, ClientConfig, GenericErrorParser, HttpClient, HttpRequest, RetryPolicy, SecretString,
    Token, TokenAuth, TokenSource,
};
use support::{Reply, Server};

fn client() -> HttpClient {
    let config = ClientConfig::default().with_retry(
        RetryPolicy::default().with_backoff(Duration::from_millis(10), Duration::from_millis(40)),
    );
    HttpClient::from_config(Vendor::new("test"), config, Arc::new(GenericErrorParser)).unwrap()
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
async fn logs_never_carry_secrets() {
    let logs = jobstop_testkit::LogCapture::start();

    let server = Server::start(vec![
        Reply::status(401, ""),
        Reply::status(503, "{}"),
        Reply::ok("{}"),
    ])
    .await;
    let auth = Arc::new(TokenAuth::bearer(Counting(AtomicU32::new(100))));
    let base = BaseUrl::parse(&server.base()).unwrap();
    let req = HttpRequest::get(base.path().lit("x").build(), Operation::List)
        .query(&[("session_id", "sess-abcdef")])
        .secret_header("x-api-key", &SecretString::new("key-123456"))
        .unwrap();
    let c = client().with_authenticator(auth);
    c.send(req.clone()).await.unwrap();
    let debug = format!("{req:?} {c:?}");
    let logs = logs.contents();
    assert!(logs.contains("http attempt"), "no events captured: {logs}");
    for secret in ["tok-101", "tok-102", "sess-abcdef", "key-123456"] {
        assert!(!logs.contains(secret), "{secret} leaked into logs:\n{logs}");
        assert!(
            !debug.contains(secret),
            "{secret} leaked into Debug: {debug}"
        );
    }
}
