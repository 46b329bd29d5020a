#![allow(clippy::unwrap_used)]
//! The Amperity simulator over real HTTP: auth, OAuth, paging, filters,
//! views, stop semantics, start, switches and determinism.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use jobstop_sim::amperity::{API_VERSION, AmperitySim, IdField, RunSeed, TerminalStop};
use reqwest::Method;
use serde_json::{Value, json};
use support::{assert_error, client, get, list_all, post, req, send};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn is_timestamp(s: &str) -> bool {
    // 2024-06-19T04:00:18.764Z
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_run_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 4
        && parts[0] == "wf"
        && parts[1].len() == 8
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() == 5
        && parts[2].bytes().all(|b| b.is_ascii_digit())
        && parts[3].len() == 6
        && parts[3].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[tokio::test]
async fn auth_failures_use_the_documented_statuses_and_body() {
    let sim = AmperitySim::builder()
        .tenant("acme")
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let url = format!("{}/workflow/runs", sim.base_url());

    // No token.
    let resp = http
        .get(&url)
        .header("amperity-tenant", "acme")
        .header("api-version", API_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let (s, b) = (resp.status().as_u16(), resp.json::<Value>().await.unwrap());
    assert_error(s, &b, 401);

    // Wrong token, and a non-bearer scheme.
    let (s, b) = send(
        http.get(&url)
            .bearer_auth("nope")
            .header("amperity-tenant", "acme")
            .header("api-version", API_VERSION),
    )
    .await;
    assert_error(s, &b, 401);
    let (s, b) = send(
        http.get(&url)
            .basic_auth("u", Some("p"))
            .header("amperity-tenant", "acme")
            .header("api-version", API_VERSION),
    )
    .await;
    assert_error(s, &b, 401);

    // Missing and unsupported version.
    let base = |rb: reqwest::RequestBuilder| {
        rb.bearer_auth(sim.token())
            .header("Amperity-Tenant", "acme")
    };
    let (s, b) = send(base(http.get(&url))).await;
    assert_error(s, &b, 400);
    let (s, b) = send(base(http.get(&url)).header("api-version", "2023-01-01")).await;
    assert_error(s, &b, 400);
    assert!(b["message"].as_str().unwrap().contains("2023-01-01"));
    // The query parameter works; the header wins when both are present.
    let (s, _) = send(base(http.get(format!("{url}?api_version={API_VERSION}")))).await;
    assert_eq!(s, 200);
    let (s, _) = send(
        base(http.get(format!("{url}?api_version=1999-01-01"))).header("api-version", API_VERSION),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(
        base(http.get(format!("{url}?api_version={API_VERSION}"))).header("api-version", "nope"),
    )
    .await;
    assert_error(s, &b, 400);

    // Tenant: wrong → 403, missing → 400, X-Amperity-Tenant accepted.
    let with = |tenant_header: &str, tenant: &str| {
        http.get(&url)
            .bearer_auth(sim.token())
            .header("api-version", API_VERSION)
            .header(tenant_header, tenant)
    };
    let (s, b) = send(with("amperity-tenant", "other")).await;
    assert_error(s, &b, 403);
    let (s, _) = send(with("X-Amperity-Tenant", "acme")).await;
    assert_eq!(s, 200);
    let (s, b) = send(
        http.get(&url)
            .bearer_auth(sim.token())
            .header("api-version", API_VERSION),
    )
    .await;
    assert_error(s, &b, 400);

    // Every endpoint checks auth.
    let id = sim.ids()[0].clone();
    for (m, p) in [
        (Method::GET, format!("/workflow/runs/{id}")),
        (Method::POST, format!("/workflow/runs/{id}/stop")),
        (Method::POST, format!("/workflow/runs/{id}:stop")),
        (Method::POST, "/workflow/runs".to_owned()),
    ] {
        let (s, b) = send(
            http.request(m, format!("{}{p}", sim.base_url()))
                .header("amperity-tenant", "acme")
                .header("api-version", API_VERSION),
        )
        .await;
        assert_error(s, &b, 401);
    }
    assert_eq!(
        sim.total_stop_requests(),
        0,
        "unauthenticated stops do not count"
    );
    assert_eq!(sim.run_json(&id).unwrap()["state"], "running");
}

#[tokio::test]
async fn error_bodies_follow_oa3_unless_request_ids_are_switched_on() {
    // amperity/amperity-docs downloads/openapi/control-plane-2024-04-01-openapi.json,
    // components.schemas.ErrorResponse: status and message, additionalProperties false.
    let sim = AmperitySim::builder().start().await.unwrap();
    let (s, b) = get(&sim, &client(), "/workflow/runs/wf-nope").await;
    assert_eq!(s, 404);
    assert_eq!(keys(&b), set(&["message", "status"]));
    // amperity_api/source/responses.rst: request_id and trace_id as well.
    let sim = AmperitySim::builder()
        .with_request_ids(true)
        .start()
        .await
        .unwrap();
    let (s, b) = get(&sim, &client(), "/workflow/runs/wf-nope").await;
    assert_eq!(s, 404);
    assert_eq!(
        keys(&b),
        set(&["message", "request_id", "status", "trace_id"])
    );
    assert_eq!(b["request_id"].as_str().unwrap().len(), 36);
    let trace = b["trace_id"].as_str().unwrap();
    assert!(trace.len() == 32 && trace.bytes().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn the_token_call_requires_x_amperity_tenant() {
    // amperity/amperity-docs amperity_reference/source/api.rst: the token
    // request carries X-Amperity-Tenant.
    let sim = AmperitySim::builder()
        .client_id("cid")
        .client_secret("csecret")
        .start()
        .await
        .unwrap();
    let http = client();
    let form = "grant_type=client_credentials&client_id=cid&client_secret=csecret";
    let post_form = || {
        http.post(sim.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
    };
    // Without it: 400 with the ErrorResponse body, and no token granted.
    let (s, b) = send(post_form()).await;
    assert_error(s, &b, 400);
    assert!(
        b["message"].as_str().unwrap().contains("X-Amperity-Tenant"),
        "{b}"
    );
    // The control-plane header is not the token call's header.
    let (s, b) = send(post_form().header("amperity-tenant", "acme")).await;
    assert_error(s, &b, 400);
    // Another tenant's: 401.
    let (s, b) = send(post_form().header("X-Amperity-Tenant", "other")).await;
    assert_error(s, &b, 401);
    assert_eq!(sim.token_grants(), 0);
    let (s, b) = send(post_form().header("X-Amperity-Tenant", "acme")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(sim.token_grants(), 1);
}

#[tokio::test]
async fn oauth_client_credentials_grant_and_expiry() {
    let sim = AmperitySim::builder()
        .token_ttl(Duration::from_millis(1200))
        .client_id("cid")
        .client_secret("csecret")
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let grant = |form: &'static str| {
        http.post(sim.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Amperity-Tenant", "acme")
            .body(form)
    };
    let (s, b) = send(grant(
        "grant_type=password&client_id=cid&client_secret=csecret",
    ))
    .await;
    assert_eq!((s, b["status"].as_u64()), (400, Some(400)));
    let (s, b) = send(grant("client_id=cid&client_secret=csecret")).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = send(grant(
        "grant_type=client_credentials&client_id=cid&client_secret=bad",
    ))
    .await;
    assert_eq!(s, 401);
    assert_eq!(b["message"], "invalid client");
    assert_eq!(sim.token_grants(), 0);

    let resp = grant("grant_type=client_credentials&client_id=cid&client_secret=csecret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(keys(&b), set(&["access_token", "expires_in", "token_type"]));
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 1);
    assert_eq!(sim.token_grants(), 1);
    let token = b["access_token"].as_str().unwrap().to_owned();

    let list = || {
        http.get(format!("{}/workflow/runs", sim.base_url()))
            .bearer_auth(&token)
            .header("amperity-tenant", "acme")
            .header("api-version", API_VERSION)
    };
    let (s, _) = send(list()).await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (s, b) = send(list()).await;
    assert_error(s, &b, 401);
    assert!(b["message"].as_str().unwrap().contains("expired"));

    // A fresh token, expired on demand.
    let (_, b) = send(grant(
        "grant_type=client_credentials&client_id=cid&client_secret=csecret",
    ))
    .await;
    let fresh = b["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    assert_eq!(sim.token_grants(), 2);
    sim.expire_tokens();
    let (s, _) = send(
        http.get(format!("{}/workflow/runs", sim.base_url()))
            .bearer_auth(&fresh)
            .header("amperity-tenant", "acme")
            .header("api-version", API_VERSION),
    )
    .await;
    assert_eq!(s, 401);
    // The static token is unaffected.
    assert_eq!(get(&sim, &http, "/workflow/runs").await.0, 200);
}

#[tokio::test]
async fn paging_returns_every_run_once_and_tokens_carry_the_filters() {
    let sim = AmperitySim::builder()
        .seed(3)
        .running(30)
        .finished(70)
        .start()
        .await
        .unwrap();
    let http = client();
    let (ids, pages) = list_all(&sim, &http, "limit=7").await;
    assert_eq!(pages, 15);
    assert_eq!(ids.len(), 100);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 100);
    assert_eq!(ids, sim.ids(), "newest first, ties by id");

    // Order: created_at descending.
    let (_, first) = get(&sim, &http, "/workflow/runs?limit=100&with_total=true").await;
    let data = first["data"].as_array().unwrap();
    assert_eq!(data.len(), 100);
    assert_eq!(first["total"], 100);
    assert!(
        first.get("next_token").is_none(),
        "last page has no next_token"
    );
    for w in data.windows(2) {
        assert!(w[0]["created_at"].as_str() >= w[1]["created_at"].as_str());
    }

    // total only on request; default page size 50; limit above 100 is capped.
    let (_, p) = get(&sim, &http, "/workflow/runs").await;
    assert!(p.get("total").is_none());
    assert_eq!(p["data"].as_array().unwrap().len(), 50);
    let (_, p) = get(&sim, &http, "/workflow/runs?limit=500&with_total=false").await;
    assert_eq!(p["data"].as_array().unwrap().len(), 100);

    // A token from one filter set is refused with another, and junk is refused.
    let (_, p) = get(&sim, &http, "/workflow/runs?limit=5&state=succeeded").await;
    let token = p["next_token"].as_str().unwrap().to_owned();
    let (s, _) = get(
        &sim,
        &http,
        &format!("/workflow/runs?limit=5&state=succeeded&next_token={token}"),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = get(
        &sim,
        &http,
        &format!("/workflow/runs?limit=9&state=succeeded&next_token={token}"),
    )
    .await;
    assert_eq!(s, 200, "the page size may change between pages");
    let (s, b) = get(
        &sim,
        &http,
        &format!("/workflow/runs?limit=5&state=failed&next_token={token}"),
    )
    .await;
    assert_error(s, &b, 400);
    let (s, b) = get(
        &sim,
        &http,
        &format!("/workflow/runs?limit=5&next_token={token}"),
    )
    .await;
    assert_error(s, &b, 400);
    for bad in [
        "next_token=",
        "next_token=ABCd1fghIJk2l3M",
        "next_token=zz",
        "limit=0",
        "limit=abc",
        "limit=-1",
        "with_total=yes",
    ] {
        let (s, b) = get(&sim, &http, &format!("/workflow/runs?{bad}")).await;
        assert_error(s, &b, 400);
    }
    let (_, b) = get(&sim, &http, "/workflow/runs?next_token=").await;
    assert!(b["message"].as_str().unwrap().contains("must not be null"));
}

#[tokio::test]
async fn paging_stays_stable_while_runs_are_added() {
    let sim = AmperitySim::builder()
        .running(5)
        .finished(15)
        .start()
        .await
        .unwrap();
    let http = client();
    let (_, p1) = get(&sim, &http, "/workflow/runs?limit=10").await;
    let token = p1["next_token"].as_str().unwrap().to_owned();
    // A new run (newest) appears between pages: page 2 neither repeats nor skips.
    let (s, _) =
        send(req(&sim, &http, Method::POST, "/workflow/runs").json(&json!({"config_id": "cg-1"})))
            .await;
    assert_eq!(s, 201);
    let (_, p2) = get(
        &sim,
        &http,
        &format!("/workflow/runs?limit=10&next_token={token}"),
    )
    .await;
    let mut seen: Vec<String> = p1["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["data"].as_array().unwrap())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    let mut expected: Vec<String> = sim.ids().into_iter().skip(1).collect();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(p2.get("next_token").is_none());
}

#[tokio::test]
async fn last_page_token_can_be_empty() {
    let sim = AmperitySim::builder()
        .finished(3)
        .empty_last_token(true)
        .start()
        .await
        .unwrap();
    let (_, b) = get(&sim, &client(), "/workflow/runs?limit=2").await;
    assert!(!b["next_token"].as_str().unwrap().is_empty());
    let (ids, pages) = list_all(&sim, &client(), "limit=2").await;
    assert_eq!((ids.len(), pages), (3, 2));
    let (_, b) = get(&sim, &client(), "/workflow/runs?limit=5").await;
    assert_eq!(b["next_token"], "");
}

#[tokio::test]
async fn filters() {
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&Utc)
    };
    let sim = AmperitySim::builder()
        .insert_run(
            RunSeed::new("succeeded")
                .with_id("wf-a")
                .with_kind("ingest/run")
                .with_created_at(t("2024-06-01T10:00:00.000Z"))
                .with_ended_at(t("2024-06-01T11:30:00.000Z")),
        )
        .insert_run(
            RunSeed::new("failed")
                .with_id("wf-b")
                .with_kind("campaign.send")
                .with_created_at(t("2024-06-02T00:00:00.000Z"))
                .with_ended_at(t("2024-06-03T00:00:00.000Z")),
        )
        .insert_run(
            RunSeed::new("running")
                .with_id("wf-c")
                .with_kind("ingest/run")
                .with_created_at(t("2024-06-02T23:59:59.999Z")),
        )
        .insert_run(
            RunSeed::new("In progress")
                .with_id("wf-d")
                .with_kind("courier.group/run")
                .with_created_at(t("2024-06-03T12:00:00.000Z")),
        )
        .insert_run(
            RunSeed::new("Running with failures")
                .with_id("wf-e")
                .with_kind("courier.group/run")
                .with_created_at(t("2024-06-04T12:00:00.000Z")),
        )
        .start()
        .await
        .unwrap();
    let http = client();
    let ids = |q: &'static str| {
        let (sim, http) = (&sim, &http);
        async move {
            let (mut ids, _) = list_all(sim, http, q).await;
            ids.sort();
            ids.join(",")
        }
    };
    // created: from inclusive, to exclusive, partial dates.
    assert_eq!(ids("created_from=2024-06-02").await, "wf-b,wf-c,wf-d,wf-e");
    assert_eq!(ids("created_to=2024-06-02").await, "wf-a");
    assert_eq!(
        ids("created_from=2024-06-02T00:00:00.000Z&created_to=2024-06-03").await,
        "wf-b,wf-c"
    );
    assert_eq!(
        ids("created_from=2024-06-02T23:59:59.999Z").await,
        "wf-c,wf-d,wf-e"
    );
    assert_eq!(
        ids("created_to=2024-06-02T23:59:59.999Z").await,
        "wf-a,wf-b"
    );
    assert_eq!(ids("created_from=2024-06-03T12:00").await, "wf-d,wf-e");
    assert_eq!(
        ids("created_from=2024-06-03T12:00Z&created_to=2024-06-04T12").await,
        "wf-d"
    );
    // ended: active runs never match.
    assert_eq!(ids("ended_from=2024-01-01").await, "wf-a,wf-b");
    assert_eq!(ids("ended_to=2024-06-03").await, "wf-a");
    assert_eq!(
        ids("ended_from=2024-06-01T11:30:00.000Z&ended_to=2024-06-01T11:30:00.001Z").await,
        "wf-a"
    );
    // state: case, space, _ and - alike.
    assert_eq!(ids("state=RUNNING").await, "wf-c");
    assert_eq!(ids("state=in-progress").await, "wf-d");
    assert_eq!(ids("state=in_progress").await, "wf-d");
    assert_eq!(ids("state=running%20with%20failures").await, "wf-e");
    assert_eq!(ids("state=running_with-failures").await, "wf-e");
    // type: exact.
    assert_eq!(ids("type=ingest/run").await, "wf-a,wf-c");
    assert_eq!(ids("type=ingest%2Frun").await, "wf-a,wf-c");
    assert_eq!(ids("type=ingest").await, "");
    // combined
    assert_eq!(
        ids("type=ingest/run&state=succeeded&created_from=2024-06").await,
        "wf-a"
    );
    // bad dates
    for bad in [
        "created_from=yesterday",
        "created_to=2024-13-01",
        "ended_from=2024-06-01T25:00",
        "ended_to=2024-06-01%2004:00",
    ] {
        let (s, b) = get(&sim, &http, &format!("/workflow/runs?{bad}")).await;
        assert_error(s, &b, 400);
    }
    // The raw state is kept verbatim on the wire.
    assert_eq!(
        sim.run_json("wf-e").unwrap()["state"],
        "Running with failures"
    );
}

#[tokio::test]
async fn overview_and_verbose_views() {
    let sim = AmperitySim::builder()
        .seed(11)
        .finished(20)
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let failed = sim
        .ids()
        .into_iter()
        .find(|id| sim.run_json(id).unwrap()["state"] == "failed")
        .unwrap();
    let (s, o) = get(&sim, &http, &format!("/workflow/runs/{failed}")).await;
    assert_eq!(s, 200);
    assert_eq!(
        keys(&o),
        set(&[
            "created_at",
            "ended_at",
            "id",
            "name",
            "state",
            "tenant",
            "type"
        ])
    );
    let (_, o2) = get(
        &sim,
        &http,
        &format!("/workflow/runs/{failed}?view=overview"),
    )
    .await;
    assert_eq!(o, o2);
    assert!(is_timestamp(o["created_at"].as_str().unwrap()));
    assert!(is_timestamp(o["ended_at"].as_str().unwrap()));
    assert!(is_run_id(o["id"].as_str().unwrap()), "{o}");
    assert_eq!(o["tenant"], "acme");

    let (_, v) = get(
        &sim,
        &http,
        &format!("/workflow/runs/{failed}?view=verbose"),
    )
    .await;
    assert!(keys(&v).is_superset(&keys(&o)));
    let err = &v["error"];
    assert!(
        ["customer", "platform"].contains(&err["attribution"].as_str().unwrap()),
        "{v}"
    );
    assert!(err["type"].is_string() && err["message"].is_string());
    let tasks = v["task_instances"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0]["id"].as_str().unwrap().starts_with("wft-"));
    assert_eq!(tasks[0]["workflow_id"], v["id"]);
    assert_eq!(v, sim.run_json(&failed).unwrap());

    // A running run has no ended_at in any view.
    let running = sim
        .ids()
        .into_iter()
        .find(|id| sim.run_json(id).unwrap()["state"] == "running")
        .unwrap();
    let (_, o) = get(&sim, &http, &format!("/workflow/runs/{running}")).await;
    assert!(o.get("ended_at").is_none());
    let (s, b) = get(&sim, &http, &format!("/workflow/runs/{running}?view=full")).await;
    assert_error(s, &b, 400);

    // List items carry the full object but no task_instances.
    let (_, l) = get(&sim, &http, "/workflow/runs?limit=100").await;
    for r in l["data"].as_array().unwrap() {
        assert!(r.get("task_instances").is_none());
        assert!(keys(r).is_superset(&set(&[
            "created_at",
            "id",
            "name",
            "state",
            "tenant",
            "type"
        ])));
        assert_eq!(r.get("ended_at").is_some(), r["state"] != "running", "{r}");
        if r["state"] == "failed" || r["state"] == "canceled" {
            assert!(r["error"].is_object(), "{r}");
        }
    }
}

#[tokio::test]
async fn unknown_and_percent_encoded_ids() {
    let sim = AmperitySim::builder()
        .insert_run(RunSeed::new("running").with_id("a/b"))
        .insert_run(RunSeed::new("running").with_id("wf 1"))
        .start()
        .await
        .unwrap();
    let http = client();
    let (s, b) = get(&sim, &http, "/workflow/runs/wf-20240619-00000-nope00").await;
    assert_error(s, &b, 404);
    // a%2Fb is the one segment "a/b": found, not routed elsewhere.
    let (s, b) = get(&sim, &http, "/workflow/runs/a%2Fb").await;
    assert_eq!((s, b["id"].as_str()), (200, Some("a/b")));
    let (s, b) = get(&sim, &http, "/workflow/runs/wf%201").await;
    assert_eq!((s, b["id"].as_str()), (200, Some("wf 1")));
    let (s, b) = get(&sim, &http, "/workflow/runs/c%2Fd").await;
    assert_error(s, &b, 404);
    let (s, b) = post(&sim, &http, "/workflow/runs/c%2Fd/stop").await;
    assert_error(s, &b, 404);
    assert_eq!(sim.stop_requests("c/d"), 1);
    let (s, b) = post(&sim, &http, "/workflow/runs/a%2Fb/stop").await;
    assert_eq!((s, b["state"].as_str()), (200, Some("canceling")));
    assert_eq!(sim.stop_requests("a/b"), 1);
    // Invalid UTF-8 after decoding is just an unknown id.
    let (s, b) = get(&sim, &http, "/workflow/runs/%FF").await;
    assert_error(s, &b, 404);
    // Unknown routes and methods answer with the vendor body.
    let (s, b) = get(&sim, &http, "/workflow/nope").await;
    assert_error(s, &b, 404);
    let (s, b) = send(req(&sim, &http, Method::DELETE, "/workflow/runs")).await;
    assert_error(s, &b, 405);
    let (s, b) = post(&sim, &http, "/workflow/runs/wf%3Astop").await;
    assert_error(s, &b, 405);
}

#[tokio::test]
async fn stop_goes_through_canceling_to_canceled() {
    let sim = AmperitySim::builder()
        .running(2)
        .stop_delay(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let http = client();
    let id = sim.ids()[0].clone();
    let (s, b) = post(&sim, &http, &format!("/workflow/runs/{id}/stop")).await;
    assert_eq!(s, 200, "200, not 202");
    assert_eq!(b["state"], "canceling");
    assert_eq!(b["id"], id.as_str());
    assert_eq!(b["task_instances"], json!([]));
    assert!(b.get("ended_at").is_none());
    // Stopping again while canceling: 200, unchanged.
    let (s, again) = post(&sim, &http, &format!("/workflow/runs/{id}/stop")).await;
    assert_eq!((s, again["state"].as_str()), (200, Some("canceling")));
    assert_eq!(sim.stop_requests(&id), 2);

    let (_, now) = get(&sim, &http, &format!("/workflow/runs/{id}")).await;
    assert_eq!(now["state"], "canceling");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, v) = get(&sim, &http, &format!("/workflow/runs/{id}?view=verbose")).await;
    assert_eq!(v["state"], "canceled");
    assert!(is_timestamp(v["ended_at"].as_str().unwrap()));
    assert!(v["ended_at"].as_str() > v["created_at"].as_str());
    assert_eq!(
        v["error"],
        json!({"attribution":"customer","type":"amperity.workflow.workflow.repository.core/cancel","message":"Workflow manually stopped"})
    );
    // It shows in listings as canceled too.
    let (_, l) = get(&sim, &http, "/workflow/runs?state=canceled").await;
    assert_eq!(l["data"][0]["id"], id.as_str());

    // Terminal: 400 by default (OA3 lists no 409 for stop-workflow).
    let (s, b) = post(&sim, &http, &format!("/workflow/runs/{id}/stop")).await;
    assert_error(s, &b, 400);
    assert!(
        b["message"].as_str().unwrap().contains("not running"),
        "{b}"
    );
    assert_eq!(sim.stop_requests(&id), 3);

    // advance() applies the pending change without waiting.
    let other = sim.ids()[1].clone();
    let (_, b) = post(&sim, &http, &format!("/workflow/runs/{other}:stop")).await;
    assert_eq!(b["state"], "canceling", "the :stop form behaves the same");
    assert!(sim.advance(&other));
    assert_eq!(sim.run_json(&other).unwrap()["state"], "canceled");
    assert!(!sim.advance(&other));
    assert_eq!(sim.total_stop_requests(), 4);

    // Unknown id.
    let (s, b) = post(&sim, &http, "/workflow/runs/wf-nope/stop").await;
    assert_error(s, &b, 404);
    let (s, b) = post(&sim, &http, "/workflow/runs/wf-nope:stop").await;
    assert_error(s, &b, 404);
}

#[tokio::test]
async fn terminal_stop_answers_400_409_or_200_by_the_switch() {
    for (switch, status) in [
        (None, 400),
        (Some(TerminalStop::BadRequest), 400),
        (Some(TerminalStop::Conflict), 409),
        (Some(TerminalStop::Ok), 200),
    ] {
        let mut b = AmperitySim::builder()
            .insert_run(RunSeed::new("succeeded").with_id("wf-done"))
            .insert_run(RunSeed::new("canceled").with_id("wf-gone"))
            .insert_run(RunSeed::new("failed").with_id("wf-bad"));
        if let Some(t) = switch {
            b = b.terminal_stop(t);
        }
        let sim = b.start().await.unwrap();
        let http = client();
        for id in ["wf-done", "wf-gone", "wf-bad"] {
            let before = sim.run_json(id).unwrap();
            let (s, b) = post(&sim, &http, &format!("/workflow/runs/{id}/stop")).await;
            if status == 200 {
                assert_eq!((s, &b["state"]), (200, &before["state"]), "{switch:?}");
            } else {
                assert_error(s, &b, status);
            }
            assert_eq!(sim.run_json(id).unwrap(), before, "{switch:?} changed {id}");
            assert_eq!(sim.stop_requests(id), 1);
        }
    }
}

#[tokio::test]
async fn stop_cancels_at_once_without_a_running_task_or_when_scheduled() {
    let sim = AmperitySim::builder()
        .insert_run(
            RunSeed::new("running")
                .with_id("wf-idle")
                .with_no_task_running(),
        )
        .insert_run(RunSeed::new("scheduled").with_id("wf-sched"))
        .insert_run(RunSeed::new("paused").with_id("wf-paused"))
        .insert_run(RunSeed::new("Stopping").with_id("wf-stopping"))
        .insert_run(RunSeed::new("succeeded").with_id("wf-done"))
        .terminal_stop(TerminalStop::Ok)
        .start()
        .await
        .unwrap();
    let http = client();
    for id in ["wf-idle", "wf-sched", "wf-paused"] {
        let (s, b) = post(&sim, &http, &format!("/workflow/runs/{id}/stop")).await;
        assert_eq!((s, b["state"].as_str()), (200, Some("canceled")), "{id}");
        assert!(b["ended_at"].is_string());
        assert_eq!(b["error"]["message"], "Workflow manually stopped");
    }
    let (s, b) = post(&sim, &http, "/workflow/runs/wf-stopping/stop").await;
    assert_eq!((s, b["state"].as_str()), (200, Some("Stopping")));
    // TerminalStop::Ok: 200 with the run unchanged.
    let before = sim.run_json("wf-done").unwrap();
    let (s, b) = post(&sim, &http, "/workflow/runs/wf-done/stop").await;
    assert_eq!((s, b["state"].as_str()), (200, Some("succeeded")));
    assert_eq!(b["ended_at"], before["ended_at"]);
    assert!(b.get("error").is_none());
}

#[tokio::test]
async fn start_run_schedules_then_runs_then_finishes() {
    let sim = AmperitySim::builder()
        .schedule_delay(Some(Duration::from_millis(150)))
        .auto_finish_after(Some(Duration::from_millis(300)))
        .start()
        .await
        .unwrap();
    let http = client();
    let (s, b) = send(
        req(&sim, &http, Method::POST, "/workflow/runs")
            .json(&json!({"config_id": "cg-123ABc4DE", "run_mode": "full"})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["state"], "scheduled");
    let id = b["id"].as_str().unwrap().to_owned();
    assert!(is_run_id(&id));
    assert!(b.get("ended_at").is_none());
    // running from 150 ms, succeeded from 450 ms after the start.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(&sim, &http, &format!("/workflow/runs/{id}")).await.1["state"],
        "running"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, v) = get(&sim, &http, &format!("/workflow/runs/{id}")).await;
    assert_eq!(v["state"], "succeeded");
    assert!(v["ended_at"].is_string());

    for bad in [
        json!({}),
        json!({"config_id": ""}),
        json!({"config_id": "cg-1", "run_mode": "fast"}),
        json!([1]),
    ] {
        let (s, b) = send(req(&sim, &http, Method::POST, "/workflow/runs").json(&bad)).await;
        assert_error(s, &b, 400);
    }
    let (s, b) = send(req(&sim, &http, Method::POST, "/workflow/runs").body("not json")).await;
    assert_error(s, &b, 400);
}

#[tokio::test]
async fn runs_do_not_finish_on_their_own_by_default() {
    let sim = AmperitySim::builder()
        .running(3)
        .schedule_delay(None)
        .start()
        .await
        .unwrap();
    let http = client();
    let (_, b) =
        send(req(&sim, &http, Method::POST, "/workflow/runs").json(&json!({"config_id": "cg-1"})))
            .await;
    let started = b["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.run_json(&started).unwrap()["state"], "scheduled");
    for id in sim.ids() {
        if id != started {
            assert_eq!(sim.run_json(&id).unwrap()["state"], "running");
        }
    }
}

#[tokio::test]
async fn set_state_accepts_raw_strings() {
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let id = sim.ids()[0].clone();
    assert!(sim.set_state(&id, "cancelled"));
    let v = sim.run_json(&id).unwrap();
    assert_eq!(v["state"], "cancelled");
    assert!(v["ended_at"].is_string());
    assert!(sim.set_state(&id, "In progress"));
    assert!(sim.run_json(&id).unwrap().get("ended_at").is_none());
    assert!(!sim.set_state("nope", "running"));
    let (_, l) = get(&sim, &client(), "/workflow/runs?state=in%20progress").await;
    assert_eq!(l["data"][0]["id"], id.as_str());
}

#[tokio::test]
async fn id_field_variants() {
    for (field, expect_id, expect_wf) in [
        (IdField::Id, true, false),
        (IdField::Both, true, true),
        (IdField::WorkflowIdOnly, false, true),
    ] {
        let sim = AmperitySim::builder()
            .running(1)
            .id_field(field)
            .start()
            .await
            .unwrap();
        let id = sim.ids()[0].clone();
        let http = client();
        let (_, one) = get(&sim, &http, &format!("/workflow/runs/{id}")).await;
        let (_, list) = get(&sim, &http, "/workflow/runs").await;
        let (_, stop) = post(&sim, &http, &format!("/workflow/runs/{id}/stop")).await;
        for v in [&one, &list["data"][0], &stop] {
            assert_eq!(v.get("id").is_some(), expect_id, "{field:?}: {v}");
            assert_eq!(v.get("workflow_id").is_some(), expect_wf, "{field:?}: {v}");
        }
    }
}

#[tokio::test]
async fn same_seed_same_runs() {
    let a = AmperitySim::builder()
        .seeded_epoch()
        .seed(7)
        .running(5)
        .finished(10)
        .start()
        .await
        .unwrap();
    let b = AmperitySim::builder()
        .seeded_epoch()
        .seed(7)
        .running(5)
        .finished(10)
        .start()
        .await
        .unwrap();
    let c = AmperitySim::builder()
        .seeded_epoch()
        .seed(8)
        .running(5)
        .finished(10)
        .start()
        .await
        .unwrap();
    assert_eq!(a.ids(), b.ids());
    assert_ne!(a.ids(), c.ids());
    assert_eq!(a.token(), b.token());
    assert_ne!(a.token(), c.token());
    assert_eq!(a.client_secret(), b.client_secret());
    for id in a.ids() {
        assert!(is_run_id(&id), "{id}");
        let (ra, rb) = (a.run_json(&id).unwrap(), b.run_json(&id).unwrap());
        assert_eq!(ra, rb);
    }
    // Seeded runs were created before the epoch, ids dated by created_at.
    let epoch = Utc.with_ymd_and_hms(2024, 6, 19, 4, 0, 0).unwrap();
    for id in a.ids() {
        let v = a.run_json(&id).unwrap();
        let created =
            chrono::DateTime::parse_from_rfc3339(v["created_at"].as_str().unwrap()).unwrap();
        assert!(created < epoch);
        assert_eq!(&id[3..11], created.format("%Y%m%d").to_string());
    }
    // Env for the adapter.
    let env = a.env();
    assert_eq!(
        env[0],
        ("JOBSTOP_AMPERITY_BASE_URL".to_owned(), a.base_url())
    );
    assert_eq!(env[1].1, "acme");
    assert_eq!(env[2].1, a.token());
    assert_eq!(
        a.oauth_env()[3],
        (
            "JOBSTOP_AMPERITY_CLIENT_SECRET".to_owned(),
            a.client_secret().to_owned()
        )
    );
    // Debug never shows credentials.
    let dbg = format!(
        "{a:?} {:?}",
        AmperitySim::builder()
            .seeded_epoch()
            .static_token("sekrit")
            .client_secret("sekrit")
    );
    assert!(!dbg.contains(a.token()) && !dbg.contains("sekrit"), "{dbg}");
}

#[tokio::test]
async fn date_header_follows_the_simulated_clock() {
    let sim = AmperitySim::builder()
        .seeded_epoch()
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let id = sim.ids()[0].clone();
    let resp = req(
        &sim,
        &http,
        Method::POST,
        &format!("/workflow/runs/{id}/stop"),
    )
    .send()
    .await
    .unwrap();
    let dates: Vec<_> = resp.headers().get_all("date").iter().collect();
    assert_eq!(dates.len(), 1);
    let date = chrono::DateTime::parse_from_rfc2822(dates[0].to_str().unwrap()).unwrap();
    let epoch = Utc.with_ymd_and_hms(2024, 6, 19, 4, 0, 0).unwrap();
    assert!(
        date >= epoch && date < epoch + chrono::Duration::minutes(1),
        "{date}"
    );
    // Errors carry it too.
    let resp = req(&sim, &http, Method::GET, "/workflow/runs/nope")
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["date"]
            .to_str()
            .unwrap()
            .contains("Jun 2024 04:0")
    );
}

/// The timestamp grammar of the `created_*`/`ended_*` filters (moved here
/// from a unit test of the parser): each accepted form filters at exactly
/// the instant it names (a run at that instant matches `created_from`, one a
/// millisecond earlier does not), and each malformed one is a 400.
#[tokio::test]
async fn filter_timestamps_full_partial_and_malformed() {
    let cases = [
        ("2024-06-19", "2024-06-19T00:00:00.000Z"),
        ("2024-06", "2024-06-01T00:00:00.000Z"),
        ("2024", "2024-01-01T00:00:00.000Z"),
        ("2024-06-19T04", "2024-06-19T04:00:00.000Z"),
        ("2024-06-19T04:05", "2024-06-19T04:05:00.000Z"),
        ("2024-06-19T04:05Z", "2024-06-19T04:05:00.000Z"),
        ("2024-06-19T04:00:18.764Z", "2024-06-19T04:00:18.764Z"),
        ("2024-06-19T04:00:18.7", "2024-06-19T04:00:18.700Z"),
        ("2024-06-19T04:00:18+02:00", "2024-06-19T02:00:18.000Z"),
        ("2024-06-19T04:00:18-0130", "2024-06-19T05:30:18.000Z"),
    ];
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&Utc)
    };
    let mut b = AmperitySim::builder();
    for (i, (_, at)) in cases.iter().enumerate() {
        let before = t(at) - chrono::Duration::milliseconds(1);
        b = b
            .insert_run(
                RunSeed::new("running")
                    .with_id(format!("at-{i}"))
                    .with_created_at(t(at)),
            )
            .insert_run(
                RunSeed::new("running")
                    .with_id(format!("before-{i}"))
                    .with_created_at(before),
            );
    }
    let sim = b.start().await.unwrap();
    let http = client();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for (i, (input, _)) in cases.iter().enumerate() {
        let (ids, _) = list_all(
            &sim,
            &http,
            &format!("limit=100&created_from={}", enc(input)),
        )
        .await;
        assert!(ids.contains(&format!("at-{i}")), "{input}");
        assert!(!ids.contains(&format!("before-{i}")), "{input}");
    }
    for bad in [
        "",
        "yesterday",
        "2024-6-19",
        "2024-06-19T4:00",
        "2024-06-32",
        "2024-06-19T04:00:18.",
        "2024-06-19T04:00:18.1234567890",
        "2024-06-19T25:00",
        "2024T04:00",
        "2024-06-19 04:00",
        "2024-06-19T04:00+2",
        "2024-06-19T04:00+1\u{e9}2",
        "2024-06-19T04:00:00.\u{e9}",
        "\u{e9}\u{e9}-06-19",
    ] {
        let (s, b) = get(
            &sim,
            &http,
            &format!("/workflow/runs?ended_to={}", enc(bad)),
        )
        .await;
        assert_error(s, &b, 400);
    }
}

/// Junk timestamps and tokens are refused with 400, never a crash (moved
/// here from a unit test that fed the parsers directly).
#[tokio::test]
async fn junk_filters_and_tokens_are_refused_not_fatal() {
    let sim = AmperitySim::builder().finished(3).start().await.unwrap();
    let http = client();
    let alphabet: Vec<char> = "0123456789-T:Z+.,tz \u{e9}\u{1F600}v".chars().collect();
    let mut rng = jobstop_sim::SplitMix64::new(99);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for _ in 0..300 {
        let len = rng.below(30) as usize;
        let s: String = (0..len).map(|_| *rng.pick(&alphabet).unwrap()).collect();
        let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
        for q in [
            format!("created_to={}", enc(&s)),
            format!("next_token={}", enc(&s)),
            format!("next_token={hex}"),
        ] {
            let (status, body) = get(&sim, &http, &format!("/workflow/runs?{q}")).await;
            assert!(status == 200 || status == 400, "{q}: {status} {body}");
        }
    }
    // A token of another version, or undecodable, is a 400.
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for bad in ["zz".to_owned(), "abc".to_owned(), hex("v2:1:2:x")] {
        let (s, b) = get(&sim, &http, &format!("/workflow/runs?next_token={bad}")).await;
        assert_error(s, &b, 400);
    }
}

/// Ids with `:` survive the `next_token` round trip (the token splits on
/// the first three colons only).
#[tokio::test]
async fn paging_through_ids_with_colons() {
    let at = Utc.with_ymd_and_hms(2024, 6, 19, 4, 0, 18).unwrap();
    let ids = ["wf-1:odd", "wf-1:odd:er", "wf-2", "wf:3"];
    let mut b = AmperitySim::builder();
    for id in ids {
        b = b.insert_run(RunSeed::new("running").with_id(id).with_created_at(at));
    }
    let sim = b.start().await.unwrap();
    let (seen, pages) = list_all(&sim, &client(), "limit=1").await;
    assert_eq!(pages, 4);
    let mut sorted = ids.map(str::to_owned).to_vec();
    sorted.sort();
    assert_eq!(seen, sorted, "same created_at: by id, each once");
}

/// The state classes of VENDOR-NOTES 1.8 (moved here from a unit test of
/// the classifier), seen through what a stop does: active spellings and
/// unknown states go to `canceling`, scheduled and paused cancel at once,
/// stopping ones stay, terminal ones (any case) are refused.
#[tokio::test]
async fn state_classes_follow_the_notes() {
    let cases = [
        ("Running with failures", "canceling"),
        ("In progress", "canceling"),
        ("in_progress", "canceling"),
        ("mystery", "canceling"),
        ("scheduled", "canceled"),
        ("paused", "canceled"),
        ("Stopping", "Stopping"),
        ("CANCELLED", "400"),
    ];
    let mut b = AmperitySim::builder().stop_delay(Duration::from_secs(60));
    for (i, (state, _)) in cases.iter().enumerate() {
        b = b.insert_run(RunSeed::new(*state).with_id(format!("wf-{i}")));
    }
    let sim = b.start().await.unwrap();
    let http = client();
    for (i, (state, after)) in cases.iter().enumerate() {
        let (s, b) = post(&sim, &http, &format!("/workflow/runs/wf-{i}/stop")).await;
        if *after == "400" {
            assert_error(s, &b, 400);
        } else {
            assert_eq!((s, b["state"].as_str()), (200, Some(*after)), "{state}");
        }
    }
    let (ids, _) = list_all(&sim, &http, "state=RUNNING_with%20Failures").await;
    assert!(ids.is_empty(), "stopped: {ids:?}");
}

/// The seeded tables parse and name their source.
#[test]
fn data_files_parse() {
    let v: Value = serde_json::from_str(include_str!("../data/amperity/runs.json")).unwrap();
    assert!(v["_source"].as_str().unwrap().contains("amperity-docs"));
    assert_eq!(v["kinds"].as_array().unwrap().len(), 4);
    assert_eq!(v["failure_errors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn run_objects_and_seeds_do_what_their_docs_said() {
    // What the rustdoc examples of the module, `RunSeed` and `run_objects` checked.
    let sim = AmperitySim::builder()
        .running(3)
        .finished(7)
        .start()
        .await
        .unwrap();
    assert_eq!(sim.ids().len(), 10);
    assert_eq!(sim.run_json(&sim.ids()[0]).unwrap()["tenant"], "acme");
    let id = sim.insert_run(RunSeed::new("cancelled").with_id("wf-20240619-00001-AbCdEf"));
    assert_eq!(sim.run_json(&id).unwrap()["state"], "cancelled");
    let mut list = json!({"data": [{"id": "wf-1"}, {"id": "wf-2"}]});
    assert_eq!(jobstop_sim::amperity::run_objects(&mut list).len(), 2);
    let mut one = json!({"id": "wf-1"});
    assert_eq!(jobstop_sim::amperity::run_objects(&mut one).len(), 1);
    let mut bad = json!({"data": {"id": "wf-1"}});
    assert!(jobstop_sim::amperity::run_objects(&mut bad).is_empty());
}
