//! The vendor-neutral parts of the simulator crate, through its public API:
//! the generic server (routes, faults, request log, `Date`), the seeded
//! generator and the clock.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use jobstop_sim::{
    Fault, FaultRule, Faults, LoggedRequest, MASK, Route, SimClock, SimServer, Sims, SplitMix64,
    Timeline, default_epoch, format_millis, truncate_millis,
};
use serde_json::{Value, json};

/// A JSON answer (the crate's axum has no `Json` extractor).
fn json_answer(status: StatusCode, body: Value) -> impl axum::response::IntoResponse {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

async fn server() -> SimServer {
    let router = Router::new()
        .route(
            "/v1/ok",
            get(|| async { json_answer(StatusCode::OK, json!({"data": [{"id": "a"}]})) }),
        )
        .route(
            "/v1/missing",
            get(|| async { json_answer(StatusCode::NOT_FOUND, json!({"message": "nope"})) }),
        )
        .route("/v1/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route("/v1/text", get(|| async { "plain words" }));
    SimServer::builder(router)
        .prefix("/v1")
        .clock(SimClock::starting_at(default_epoch()))
        .start()
        .await
        .expect("server starts")
}

#[test]
fn exact_patterns_match_whole_segments() {
    let r = Route::get("/workflow/runs/*");
    assert!(r.matches("GET", "/workflow/runs/wf-1"));
    assert!(r.matches("get", "/workflow/runs/a%2Fb"));
    assert!(!r.matches("GET", "/workflow/runs/"));
    assert!(!r.matches("GET", "/workflow/runs/wf-1/stop"));
    assert!(!r.matches("GET", "/workflow/runs"));
    assert!(Route::path("/x").matches("PATCH", "/x"));
    assert!(!Route::path("/x").matches("PATCH", "/x/"));
    assert!(Route::prefix("/v0/").matches("POST", "/v0/oauth2/token"));
    assert!(Route::put("/x").matches("PUT", "/x") && !Route::put("/x").matches("GET", "/x"));
    assert!(Route::delete("/x").matches("DELETE", "/x"));
    assert!(Route::get_prefix("/a/").matches("GET", "/a/b"));
}

#[test]
fn json_rewrites_compare_by_closure() {
    let a = Fault::map_json("a", |v| *v = Value::Null);
    let b = Fault::map_json("a", |v| *v = Value::Null);
    assert_eq!(a, a.clone());
    assert_ne!(a, b, "same label, different closures");
    assert!(a.runs_handler());
    assert!(!Fault::EmptyOk.runs_handler());
    assert_eq!(format!("{a:?}"), r#"MapJson(JsonRewrite("a"))"#);
}

#[tokio::test]
async fn map_json_rewrites_only_successful_json_answers() {
    let sim = server().await;
    let rule = sim.faults().add(FaultRule::new(
        Route::any(),
        Fault::map_json("tag", |v| v["rewritten"] = json!(true)),
    ));
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", sim.base_url())).send();

    let resp = get("/ok").await.expect("answer");
    assert_eq!(resp.status(), 200);
    let declared: usize = resp.headers()["content-length"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a number");
    let body = resp.bytes().await.expect("body");
    assert_eq!(declared, body.len());
    let v: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v, json!({"data": [{"id": "a"}], "rewritten": true}));

    let resp = get("/missing").await.expect("answer");
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.expect("JSON"),
        json!({"message": "nope"})
    );
    let resp = get("/empty").await.expect("answer");
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.expect("body").is_empty());
    let resp = get("/text").await.expect("answer");
    assert_eq!(resp.text().await.expect("text"), "plain words");

    let logged = sim.requests();
    assert_eq!(logged.len(), 4);
    assert!(
        logged
            .iter()
            .all(|r| matches!(&r.fault, Some(Fault::MapJson(m)) if m.label() == "tag"))
    );
    assert_eq!(sim.faults().applied(rule), 4);
    sim.faults().clear();
    assert_eq!(sim.faults().applied(rule), 0);
}

#[tokio::test]
async fn date_headers_follow_the_simulated_clock() {
    let sim = server().await;
    let resp = reqwest::get(format!("{}/ok", sim.base_url()))
        .await
        .expect("answer");
    let date = resp.headers()["date"].to_str().expect("ascii").to_owned();
    assert!(date.starts_with("Wed, 19 Jun 2024 04:00:"), "{date}");
    assert!(date.ends_with(" GMT"), "{date}");
}

#[tokio::test]
async fn the_log_masks_secret_query_values_and_headers_only() {
    let sim = server().await;
    let http = reqwest::Client::new();
    let secret_headers = [
        "Authorization",
        "cookie",
        "X-Auth-Token",
        "x-subject-token",
        "X-CSRF-Token",
        "x-api-secret",
        "x-my-password",
    ];
    let mut rb = http.get(format!(
        "{}/ok?token=abc&next_token=n1&Client_Secret=s&password&a=1&session%5Fid=1",
        sim.base_url()
    ));
    for h in secret_headers
        .iter()
        .chain(["amperity-tenant", "api-version"].iter())
    {
        rb = rb.header(*h, "value");
    }
    rb.send().await.expect("answer");
    http.get(format!("{}/a%2Fb/stop", sim.base_url()))
        .send()
        .await
        .expect("answer");
    let log: Vec<LoggedRequest> = sim.requests();
    assert_eq!(
        log[0].target,
        format!(
            "/v1/ok?token={MASK}&next_token=n1&Client_Secret={MASK}&password&a=1&session%5Fid={MASK}"
        )
    );
    for h in secret_headers {
        assert_eq!(log[0].header(h), Some(MASK), "{h}");
    }
    for h in ["amperity-tenant", "api-version"] {
        assert_eq!(log[0].header(h), Some("value"), "{h}");
    }
    assert_eq!(log[1].target, "/v1/a%2Fb/stop");
}

#[test]
fn splitmix_known_outputs_and_ranges() {
    // Reference values of SplitMix64 seeded with 0.
    let mut g = SplitMix64::new(0);
    assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    let mut g = SplitMix64::new(42);
    for _ in 0..1000 {
        assert!(g.below(7) < 7);
        assert!((3..=5).contains(&g.range(3, 5)));
    }
    assert_eq!(g.below(0), 0);
    assert_eq!(g.range(9, 2), 9);
    assert!(g.pick::<u8>(&[]).is_none());
    let s = g.alphanumeric(6);
    assert!(s.len() == 6 && s.chars().all(|c| c.is_ascii_alphanumeric()));
    let d = g.digits(5);
    assert!(d.len() == 5 && d.chars().all(|c| c.is_ascii_digit()));
    let u = g.uuid_like();
    assert_eq!((u.len(), u.as_bytes()[14]), (36, b'4'));
    assert_ne!(
        SplitMix64::stream(1, 1).next_u64(),
        SplitMix64::stream(1, 2).next_u64()
    );
}

#[test]
fn clock_formats_and_runs_from_its_epoch() {
    let t = default_epoch() + chrono::Duration::microseconds(18_764_999);
    assert_eq!(
        format_millis(truncate_millis(t)),
        "2024-06-19T04:00:18.764Z"
    );
    assert_eq!(format_millis(default_epoch()), "2024-06-19T04:00:00.000Z");
    let c = SimClock::starting_at(default_epoch());
    let later = c.at(Instant::now() + Duration::from_millis(1500));
    assert!(later >= default_epoch() + chrono::Duration::milliseconds(1500));
    assert!(c.now() >= c.epoch());
}

#[test]
fn timeline_orders_by_due_then_insertion() {
    let now = Instant::now();
    let mut t = Timeline::new();
    t.push(now + Duration::from_millis(5), 2);
    t.push(now, 0);
    t.push(now, 1);
    assert_eq!(t.next_due(), Some(now));
    assert_eq!(t.pop_next(), Some((now, 0)));
    assert_eq!(t.pop_next(), Some((now, 1)));
    assert_eq!(t.next_due(), Some(now + Duration::from_millis(5)));
    t.clear();
    assert!(t.is_empty());
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SimServer>();
    send_sync::<Faults>();
    send_sync::<LoggedRequest>();
    send_sync::<Sims>();
    #[cfg(feature = "amperity")]
    send_sync::<jobstop_sim::amperity::AmperitySimBuilder>();
    #[cfg(feature = "centurylink")]
    send_sync::<jobstop_sim::centurylink::CenturyLinkSimBuilder>();
    #[cfg(feature = "chorus")]
    send_sync::<jobstop_sim::chorus::ChorusSimBuilder>();
    #[cfg(feature = "dataarts")]
    send_sync::<jobstop_sim::dataarts::DataArtsSim>();
}
