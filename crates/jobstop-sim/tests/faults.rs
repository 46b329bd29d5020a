#![allow(clippy::unwrap_used)]
//! The framework over real HTTP: every fault kind seen by a raw client, the
//! rate limit, the request log, connection counting and shutdown.

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use futures::StreamExt;
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultBody, FaultRule, MASK, RateLimit, Route, SimServer};
use reqwest::Method;
use serde_json::{Value, json};
use support::{assert_error, client, get as get_json, post, req, send};

async fn sim() -> AmperitySim {
    AmperitySim::builder()
        .running(3)
        .finished(3)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn latency_then_normal_answer() {
    let sim = sim().await;
    sim.faults()
        .add(FaultRule::new(Route::get("/workflow/runs"), Fault::latency_ms(200)).times(1));
    let http = client();
    let t = Instant::now();
    let (s, _) = get_json(&sim, &http, "/workflow/runs").await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(get_json(&sim, &http, "/workflow/runs").await.0, 200);
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn status_faults_count_skip_and_order() {
    let sim = sim().await;
    let http = client();
    let rule = sim.faults().add(
        FaultRule::new(Route::get("/workflow/runs"), Fault::status(503))
            .skip(1)
            .times(2),
    );
    sim.faults().add(
        FaultRule::new(
            Route::get_prefix("/workflow/runs/"),
            Fault::Status {
                status: 500,
                body: FaultBody::Json(json!({"oops": true})),
                retry_after: Some(3),
            },
        )
        .times(1),
    );
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(get_json(&sim, &http, "/workflow/runs").await.0);
        }
        v
    };
    assert_eq!(statuses, [200, 503, 503, 200]);
    assert_eq!(sim.faults().applied(rule), 2);
    let (s, b) = get_json(&sim, &http, "/workflow/runs?limit=1").await;
    assert_eq!(s, 200, "exhausted rules are skipped: {b}");

    let id = sim.ids()[0].clone();
    let resp = req(&sim, &http, Method::GET, &format!("/workflow/runs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["retry-after"], "3");
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"oops": true}));
    assert_eq!(
        get_json(&sim, &http, &format!("/workflow/runs/{id}"))
            .await
            .0,
        200
    );

    // Vendor-body 503, empty-body 502, text 500.
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::status(503)).times(1));
    let (s, b) = get_json(&sim, &http, "/workflow/runs").await;
    assert_error(s, &b, 503);
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::status_with(502, FaultBody::Empty)).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(resp.bytes().await.unwrap().is_empty());
    sim.faults().add(
        FaultRule::new(
            Route::any(),
            Fault::status_with(500, FaultBody::Text("boom".into())),
        )
        .times(1),
    );
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.text().await.unwrap(), "boom");
    sim.faults().clear();
}

#[tokio::test]
async fn too_many_requests_with_and_without_retry_after() {
    let sim = sim().await;
    let http = client();
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::too_many_requests(Some(2))).times(1));
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::too_many_requests(None)).times(1));
    let r1 = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status(), 429);
    assert_eq!(r1.headers()["retry-after"], "2");
    let b: Value = r1.json().await.unwrap();
    assert_error(429, &b, 429);
    let r2 = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status(), 429);
    assert!(r2.headers().get("retry-after").is_none());
    assert_eq!(get_json(&sim, &http, "/workflow/runs").await.0, 200);
}

#[tokio::test]
async fn close_before_headers_is_a_request_error() {
    let sim = sim().await;
    let http = client();
    let id = sim.ids()[0].clone();
    sim.faults().add(
        FaultRule::new(
            Route::post("/workflow/runs/*/stop"),
            Fault::CloseBeforeHeaders,
        )
        .times(1),
    );
    let err = req(
        &sim,
        &http,
        Method::POST,
        &format!("/workflow/runs/{id}/stop"),
    )
    .send()
    .await
    .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(sim.stop_requests(&id), 0, "the handler did not run");
    assert_eq!(sim.run_json(&id).unwrap()["state"], "running");
    // After the handler: the stop took effect, the client got nothing.
    sim.faults().add(
        FaultRule::new(
            Route::post("/workflow/runs/*/stop"),
            Fault::CloseAfterHandler,
        )
        .times(1),
    );
    let err = req(
        &sim,
        &http,
        Method::POST,
        &format!("/workflow/runs/{id}/stop"),
    )
    .send()
    .await
    .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(sim.stop_requests(&id), 1);
    assert_eq!(sim.run_json(&id).unwrap()["state"], "canceling");
    let log = sim.server().requests();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.status.is_none()));
    assert_eq!(log[0].fault, Some(Fault::CloseBeforeHeaders));
    // The next request works, on a new connection.
    assert_eq!(get_json(&sim, &http, "/workflow/runs").await.0, 200);
    assert_eq!(sim.server().connections(), 3);
}

#[tokio::test]
async fn close_mid_body_is_a_body_error() {
    let sim = sim().await;
    let http = client();
    sim.faults()
        .add(FaultRule::new(Route::get("/workflow/runs"), Fault::CloseMidBody).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let declared: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 100);
    let err = resp.bytes().await.unwrap_err();
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
    // Empty handler bodies are replaced by something to cut.
    let sim2 = sim_with_empty_route().await;
    sim2.faults()
        .add(FaultRule::new(Route::any(), Fault::CloseMidBody));
    let resp = client()
        .get(format!("{}/empty", sim2.base_url()))
        .send()
        .await
        .unwrap();
    assert!(resp.bytes().await.is_err());
}

async fn sim_with_empty_route() -> SimServer {
    let router = Router::new()
        .route("/v9/empty", get(|| async { "" }))
        .route("/v9/ping", get(|| async { "pong" }));
    SimServer::builder(router)
        .prefix("/v9/")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn truncated_json_has_a_matching_length_and_does_not_parse() {
    let sim = sim().await;
    let http = client();
    let id = sim.ids()[0].clone();
    let (_, full) = get_json(&sim, &http, &format!("/workflow/runs/{id}")).await;
    let full = serde_json::to_vec(&full).unwrap();
    sim.faults()
        .add(FaultRule::new(Route::get("/workflow/runs/*"), Fault::TruncatedJson).times(1));
    let resp = req(&sim, &http, Method::GET, &format!("/workflow/runs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let len: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), len);
    assert_eq!(len, full.len() / 2);
    assert_eq!(&body[..], &full[..len], "the real answer, cut");
    assert!(serde_json::from_slice::<Value>(&body).is_err());
}

#[tokio::test]
async fn bad_bodies() {
    let sim = sim().await;
    let http = client();
    let faults = sim.faults();

    faults.add(FaultRule::new(Route::any(), Fault::NonJson).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(serde_json::from_slice::<Value>(&resp.bytes().await.unwrap()).is_err());

    faults.add(FaultRule::new(Route::any(), Fault::html(502)).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["content-type"], "text/html");
    let text = resp.text().await.unwrap();
    assert!(
        text.starts_with("<!DOCTYPE html><html>") || text.starts_with("<!DOCTYPE html>\n<html>"),
        "{text}"
    );
    assert!(text.contains("<title>502 Bad Gateway</title>"));

    faults.add(FaultRule::new(Route::any(), Fault::EmptyOk).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "0");
    assert!(resp.bytes().await.unwrap().is_empty());

    faults.add(FaultRule::new(Route::any(), Fault::WrongContentType).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/html");
    let v: Value = resp.json().await.unwrap();
    assert!(v["data"].is_array(), "still the real JSON");
}

#[tokio::test]
async fn oversized_bodies_are_streamed() {
    let sim = sim().await;
    let http = client();
    const SIZE: u64 = 20 * 1024 * 1024;
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::oversized(SIZE)).times(1));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], SIZE.to_string().as_str());
    let mut stream = resp.bytes_stream();
    let (mut total, mut head) = (0u64, Vec::new());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if head.len() < 64 {
            head.extend_from_slice(&chunk[..chunk.len().min(64)]);
        }
        total += chunk.len() as u64;
    }
    assert_eq!(total, SIZE);
    assert!(head.starts_with(br#"{"data":[],"padding":"xxx"#));

    // Chunked variant, small enough to parse.
    sim.faults().add(
        FaultRule::new(
            Route::any(),
            Fault::Oversized {
                bytes: 1000,
                content_length: false,
            },
        )
        .times(1),
    );
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("content-length").is_none());
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 1000);
    assert!(serde_json::from_slice::<Value>(&body).is_ok());
}

#[tokio::test]
async fn rate_limit_answers_429_past_n_per_second() {
    let sim = AmperitySim::builder()
        .running(1)
        .rate_limit_per_second(Some(3))
        .start()
        .await
        .unwrap();
    let http = client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (s, b) = get_json(&sim, &http, "/workflow/runs").await;
        if s == 429 {
            assert_error(s, &b, 429);
        }
        statuses.push(s);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let log = sim.server().requests();
    assert_eq!(
        log[3].fault,
        Some(Fault::TooManyRequests { retry_after: None })
    );
    // Another tenant has its own budget (and is then refused by auth).
    let (s, _) = send(
        http.get(format!("{}/workflow/runs", sim.base_url()))
            .bearer_auth(sim.token())
            .header("amperity-tenant", "other")
            .header("api-version", "2024-04-01"),
    )
    .await;
    assert_eq!(s, 403);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(get_json(&sim, &http, "/workflow/runs").await.0, 200);

    // A Retry-After can be configured on the framework's limit.
    sim.faults().set_rate_limit(Some(RateLimit {
        per_second: 0,
        retry_after: Some(1),
    }));
    let resp = req(&sim, &http, Method::GET, "/workflow/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            resp.status().as_u16(),
            resp.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "1")
    );
    sim.faults().set_rate_limit(None);
    assert_eq!(get_json(&sim, &http, "/workflow/runs").await.0, 200);
}

#[tokio::test]
async fn request_log_masks_secrets() {
    let sim = sim().await;
    let http = client();
    let (_, _) = send(
        req(
            &sim,
            &http,
            Method::GET,
            "/workflow/runs?limit=2&token=abc&client_secret=s3&next_token=",
        )
        .header("Cookie", "session=1")
        .header("X-Auth-Token", "t")
        .header("X-Api-Secret", "s")
        .header("X-Custom", "visible"),
    )
    .await;
    let _ = post(&sim, &http, "/workflow/runs/a%2Fb/stop?x=1").await;
    let _ = send(
        http.post(sim.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Amperity-Tenant", sim.tenant())
            .body(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                sim.client_id(),
                sim.client_secret()
            )),
    )
    .await;
    let log = sim.server().requests();
    assert_eq!(log.len(), 3);
    let first = &log[0];
    assert_eq!(first.method, "GET");
    assert_eq!(
        first.target,
        format!("/api/workflow/runs?limit=2&token={MASK}&client_secret={MASK}&next_token=")
    );
    assert_eq!(first.path(), "/api/workflow/runs");
    assert_eq!(first.header("authorization"), Some(MASK));
    assert_eq!(first.header("cookie"), Some(MASK));
    assert_eq!(first.header("x-auth-token"), Some(MASK));
    assert_eq!(first.header("x-api-secret"), Some(MASK));
    assert_eq!(first.header("x-custom"), Some("visible"));
    assert_eq!(first.header("amperity-tenant"), Some("acme"));
    assert_eq!(first.status, Some(400), "empty next_token");
    assert_eq!(first.fault, None);
    assert_eq!(log[1].target, "/api/workflow/runs/a%2Fb/stop?x=1");
    assert_eq!(log[1].status, Some(404));
    assert_eq!(log[2].status, Some(200));
    // Nothing secret anywhere in the log, and form bodies are not logged.
    let dump = format!("{log:?}");
    for secret in [sim.token(), sim.client_secret(), "abc", "s3", "session=1"] {
        assert!(!dump.contains(secret), "{secret} leaked: {dump}");
    }
    sim.server().clear_requests();
    assert!(sim.server().requests().is_empty());
}

#[tokio::test]
async fn connections_are_counted() {
    let sim = sim().await;
    let http = client();
    for _ in 0..3 {
        assert_eq!(get_json(&sim, &http, "/workflow/runs").await.0, 200);
    }
    assert_eq!(
        sim.server().connections(),
        1,
        "keep-alive reuses the connection"
    );
    let other = client();
    assert_eq!(get_json(&sim, &other, "/workflow/runs").await.0, 200);
    assert_eq!(sim.server().connections(), 2);
    let log = sim.server().requests();
    assert_eq!(
        log.iter().map(|r| r.connection).collect::<Vec<_>>(),
        [1, 1, 1, 2]
    );
}

#[tokio::test]
async fn generic_server_matches_routes_below_its_prefix() {
    let server = sim_with_empty_route().await;
    assert!(server.base_url().ends_with("/v9"));
    server
        .faults()
        .add(FaultRule::new(Route::get("/ping"), Fault::status(418)).times(1));
    let http = client();
    let r = http
        .get(format!("{}/ping", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 418);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": 418, "message": "I'm a teapot"})
    );
    let r = http
        .get(format!("{}/ping", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "pong");
    assert_eq!(server.prefix(), "/v9");
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let sim = sim().await;
    let http = client();
    let addr = sim.server().addr();
    // A slow request in flight finishes during a graceful shutdown.
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::latency_ms(200)).times(1));
    let slow = tokio::spawn({
        let rb = req(&sim, &http, Method::GET, "/workflow/runs");
        async move { rb.send().await.map(|r| r.status().as_u16()) }
    });
    while sim.server().requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.shutdown().await;
    assert_eq!(slow.await.unwrap().unwrap(), 200);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    sim.shutdown().await;

    let server = sim_with_empty_route().await;
    let addr = server.addr();
    drop(server);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn malformed_requests_get_answers_not_panics() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let sim = sim().await;
    let host = sim.server().addr();
    let auth = format!(
        "Authorization: Bearer {}\r\napi-version: 2024-04-01\r\n",
        sim.token()
    );
    let requests = [
        format!(
            "GET http://{host}/api/workflow/runs HTTP/1.1\r\nHost: {host}\r\n{auth}amperity-tenant: acme\r\n\r\n"
        ),
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        format!(
            "GET /api/workflow/runs/%zz%FF%00 HTTP/1.1\r\nHost: x\r\n{auth}amperity-tenant: acme\r\n\r\n"
        ),
        format!(
            "GET /api/workflow/runs?created_from=%FF&limit=%00 HTTP/1.1\r\nHost: x\r\n{auth}amperity-tenant: acme\r\n\r\n"
        ),
        format!(
            "POST /api/workflow/runs HTTP/1.1\r\nHost: x\r\n{auth}amperity-tenant: acme\r\nContent-Length: 4\r\n\r\n\u{ff}\u{fe}"
        ),
        "POST /api/v0/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n%%%&&&==="
            .to_owned(),
    ];
    for raw in &requests {
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 "),
            "{raw:?}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    // A header value that is not UTF-8 (the tenant) is refused, not a crash.
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut raw = format!("GET /api/workflow/runs HTTP/1.1\r\nHost: x\r\n{auth}amperity-tenant: ")
        .into_bytes();
    raw.extend_from_slice(b"\xff\xfe\r\n\r\n");
    stream.write_all(&raw).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert_eq!(get_json(&sim, &client(), "/workflow/runs").await.0, 200);
}
