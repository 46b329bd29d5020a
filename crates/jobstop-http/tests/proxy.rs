//! Proxies, against a tiny HTTP proxy on loopback in front of a loopback
//! target. The proxies are given explicitly ([`Proxies::explicit`]): the
//! process environment is never read or changed here, since other tests run
//! in parallel.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobstop_core::{ErrorKind, Operation, RunId, Vendor};
use jobstop_http::{
    BaseUrl, ClientConfig, GenericErrorParser, HttpClient, HttpRequest, Proxies, RetryPolicy,
    SecretString,
};
use support::{Reply, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The password in every proxy URL here; no output may show it.
const PASSWORD: &str = "p@ss w0rd";
/// `ops:p@ss w0rd` in base64.
const BASIC: &str = "Basic b3BzOnBAc3MgdzByZA==";

/// The head of the first request on one connection to the proxy.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP proxy: `CONNECT host:port` gets a 200 and the bytes spliced to
/// the target; any other request (absolute form, `GET http://host:port/x`)
/// is forwarded as is to its target, and the connection spliced after it.
struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (log, count) = (Arc::clone(&seen), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let _ = relay(stream, log).await;
                });
            }
        });
        Proxy {
            addr,
            seen,
            connections,
        }
    }

    /// `http://ops:<PASSWORD>@<addr>` (the password percent-encoded).
    fn url(&self) -> String {
        format!("http://ops:p%40ss%20w0rd@{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn relay(stream: TcpStream, log: Arc<Mutex<Vec<Seen>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    head.push_str(&line);
    let request_line = line.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).await? == 0 {
            return Ok(());
        }
        head.push_str(&h);
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    log.lock().unwrap().push(Seen {
        line: request_line.clone(),
        headers,
    });
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let leftover = reader.buffer().to_vec();
    let mut client = reader.into_inner();
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        upstream.write_all(&leftover).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    } else {
        let authority = target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        let mut upstream = TcpStream::connect(authority).await?;
        upstream.write_all(head.as_bytes()).await?;
        upstream.write_all(&leftover).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    }
    Ok(())
}

fn one_attempt() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(1)
        .with_budget(Duration::from_secs(10))
}

fn client_with(config: ClientConfig) -> HttpClient {
    HttpClient::from_config(Vendor::new("test"), config, Arc::new(GenericErrorParser)).unwrap()
}

fn through(proxies: Proxies) -> HttpClient {
    client_with(
        ClientConfig::default()
            .with_retry(one_attempt())
            .with_proxies(proxies),
    )
}

fn get(base: &str, path: &'static str) -> HttpRequest {
    let base = BaseUrl::parse(base).unwrap();
    HttpRequest::get(base.path().lit(path).build(), Operation::Status).run_id(&RunId::new("r1"))
}

#[tokio::test]
async fn http_targets_go_to_the_proxy_in_absolute_form_with_its_credentials() {
    let server = Server::start(vec![Reply::ok(r#"{"a":1}"#), Reply::ok("{}")]).await;
    let proxy = Proxy::start().await;
    let c = through(Proxies::explicit(Some(proxy.url().into()), None, ""));
    let resp = c
        .send(get(&server.base(), "jobs"))
        .await
        .expect("through the proxy");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.body().as_ref(), br#"{"a":1}"#);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].line,
        format!("GET http://{}/jobs HTTP/1.1", server.addr)
    );
    assert_eq!(seen[0].header("proxy-authorization"), Some(BASIC));
    assert_eq!(server.requests().len(), 1);
    // The next call reuses the connection to the proxy.
    c.send(get(&server.base(), "jobs")).await.expect("again");
    assert_eq!(proxy.connections(), 1);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn https_targets_are_tunnelled_and_tls_runs_inside_the_tunnel() {
    // A target that records the first bytes it gets: the TLS handshake
    // cannot succeed (no certificate the client trusts), but its first
    // record must arrive through the tunnel.
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    let first = tokio::spawn(async move {
        let (mut s, _) = target.accept().await.unwrap();
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).await.unwrap();
        buf[0]
    });
    let proxy = Proxy::start().await;
    let c = through(Proxies::explicit(None, Some(proxy.url().into()), ""));
    let err = c
        .send(get(&format!("https://{target_addr}"), "jobs"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].line,
        format!("CONNECT {target_addr} HTTP/1.1"),
        "the proxy sees only the host and port"
    );
    assert_eq!(seen[0].header("proxy-authorization"), Some(BASIC));
    // 0x16: a TLS handshake record, sent to the target through the tunnel.
    assert_eq!(first.await.unwrap(), 0x16);
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("w0rd") && !shown.contains("b3Bz"),
        "{shown}"
    );
}

#[tokio::test]
async fn no_proxy_bypasses_the_proxy() {
    let server = Server::start(vec![]).await;
    let proxy = Proxy::start().await;
    // `*` bypasses every host, IP addresses included (as in curl).
    for no_proxy in ["127.0.0.1", "127.0.0.0/8", "*", "localhost, *"] {
        let c = through(Proxies::explicit(
            Some(proxy.url().into()),
            Some(proxy.url().into()),
            no_proxy,
        ));
        c.send(get(&server.base(), "jobs")).await.expect(no_proxy);
    }
    assert_eq!(proxy.connections(), 0);
    assert_eq!(server.requests().len(), 4);
    // A NO_PROXY naming another host leaves this one proxied.
    let c = through(Proxies::explicit(
        Some(proxy.url().into()),
        None,
        "jobs.example.com, 10.0.0.0/8",
    ));
    c.send(get(&server.base(), "jobs")).await.expect("proxied");
    assert_eq!(proxy.connections(), 1);
}

#[tokio::test]
async fn turning_proxies_off_bypasses_them() {
    let server = Server::start(vec![]).await;
    let proxy = Proxy::start().await;
    let config = ClientConfig::default()
        .with_retry(one_attempt())
        .with_proxies(Proxies::explicit(Some(proxy.url().into()), None, ""))
        .with_proxy_from_env(false);
    assert_eq!(config.proxies, Proxies::none());
    client_with(config)
        .send(get(&server.base(), "jobs"))
        .await
        .expect("direct");
    assert_eq!(proxy.connections(), 0);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].target, "/jobs");
    // On again (from the environment), by default.
    assert!(ClientConfig::default().proxies.is_from_env());
    assert!(
        ClientConfig::default()
            .with_proxy_from_env(false)
            .with_proxy_from_env(true)
            .proxies
            .is_from_env()
    );
}

#[tokio::test]
async fn connections_through_the_proxy_count_against_the_target_cap() {
    let server = Server::start(vec![]).await;
    server.set_default(Reply::ok("{}").delayed(Duration::from_millis(20)));
    let proxy = Proxy::start().await;
    let cap = 2;
    let c = client_with(
        ClientConfig::default()
            .with_retry(RetryPolicy::default().with_budget(Duration::from_secs(20)))
            .with_max_connections_per_host(cap)
            .with_proxies(Proxies::explicit(Some(proxy.url().into()), None, "")),
    );
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (c, req) = (c.clone(), get(&server.base(), "x"));
            tokio::spawn(async move { c.send(req).await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(server.requests().len(), 32);
    assert!(
        proxy.connections() <= cap + 1 && proxy.connections() >= 1,
        "{} connections to the proxy for {cap} requests in flight",
        proxy.connections()
    );
}

#[tokio::test]
async fn an_unreachable_proxy_is_a_transport_error_that_names_no_credentials() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let server = Server::start(vec![]).await;
    let url = format!("http://ops:p%40ss%20w0rd@{addr}");
    let c = through(Proxies::explicit(Some(url.into()), None, ""));
    let err = c.send(get(&server.base(), "jobs")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(server.requests().is_empty());
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(
        !shown.contains("w0rd") && !shown.contains("p%40ss") && !shown.contains("b3Bz"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_proxy_of_another_scheme_is_a_config_error() {
    let server = Server::start(vec![]).await;
    let c = client_with(ClientConfig::default().with_proxies(Proxies::explicit(
        Some(SecretString::new("socks5://ops:p%40ss%20w0rd@127.0.0.1:1")),
        None,
        "",
    )));
    let err = c.send(get(&server.base(), "jobs")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.context().attempts, Some(1), "not retried");
    assert!(err.to_string().contains("socks5"), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("w0rd") && !shown.contains("p%40ss"),
        "{shown}"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_explicit_proxy_url_that_cannot_be_used_is_refused_when_the_client_is_built() {
    let err = HttpClient::from_config(
        Vendor::new("test"),
        ClientConfig::default().with_proxies(Proxies::explicit(
            None,
            Some(SecretString::new(format!(
                "http://ops:{PASSWORD}@proxy.corp:3128"
            ))),
            "",
        )),
        Arc::new(GenericErrorParser),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("https proxy"), "{shown}");
    assert!(
        !shown.contains("w0rd") && !shown.contains("proxy.corp"),
        "{shown}"
    );
}

#[test]
fn debug_never_shows_proxy_credentials() {
    let proxies = Proxies::explicit(
        Some(SecretString::new(
            "http://ops:p%40ss%20w0rd@proxy.corp:3128",
        )),
        Some(SecretString::new(
            "http://ops:p%40ss%20w0rd@proxy.corp:3129",
        )),
        "localhost",
    );
    let config = ClientConfig::default().with_proxies(proxies.clone());
    let client = client_with(config.clone());
    for shown in [
        format!("{proxies:?}"),
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{client:?}"),
    ] {
        assert!(
            !shown.contains("w0rd") && !shown.contains("ops") && !shown.contains("proxy.corp"),
            "{shown}"
        );
        assert!(shown.contains("***"), "{shown}");
    }
}
