//! Helpers shared by the integration tests: a raw reqwest client that sends
//! the Amperity headers.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use jobstop_sim::amperity::{API_VERSION, AmperitySim};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A request to `path` (below the base URL) with the static token, tenant and
/// version headers.
pub fn req(sim: &AmperitySim, http: &Client, method: Method, path: &str) -> RequestBuilder {
    http.request(method, format!("{}{path}", sim.base_url()))
        .bearer_auth(sim.token())
        .header("amperity-tenant", sim.tenant())
        .header("api-version", API_VERSION)
}

/// Status and JSON body (`Value::Null` if the body is not JSON).
pub async fn send(rb: RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub async fn get(sim: &AmperitySim, http: &Client, path: &str) -> (u16, Value) {
    send(req(sim, http, Method::GET, path)).await
}

pub async fn post(sim: &AmperitySim, http: &Client, path: &str) -> (u16, Value) {
    send(req(sim, http, Method::POST, path)).await
}

/// Asserts `body` is the documented error body for `status`: OA3
/// `ErrorResponse`, `status` and `message` and nothing else (the simulator's
/// default; `with_request_ids(true)` adds `request_id` and `trace_id`).
pub fn assert_error(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["status"], expected, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "only status and message: {body}");
}

/// Every id of a listing with `query`, following `next_token`, and the
/// number of pages.
pub async fn list_all(sim: &AmperitySim, http: &Client, query: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/workflow/runs?{query}");
        if let Some(t) = &token {
            path.push_str(&format!("&next_token={t}"));
        }
        let (status, body) = get(sim, http, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        pages += 1;
        for r in body["data"].as_array().unwrap() {
            ids.push(r["id"].as_str().unwrap().to_owned());
        }
        match body.get("next_token").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return (ids, pages),
        }
        assert!(pages < 1000, "paging does not end");
    }
}
