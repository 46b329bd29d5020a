#![allow(clippy::unwrap_used)]
//! The CenturyLink Runner simulator over real HTTP: login and tokens, the
//! account alias, paging, execution documents and their variants, stop and
//! kill, the concurrency cap, faults, determinism and junk input.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use jobstop_sim::centurylink::{
    BAD_CREDENTIALS, CenturyLinkSim, ExecutionSeed, JobSeed, NOT_STOPPABLE, STATUSES,
};
use jobstop_sim::{Fault, FaultRule, MASK, Route};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `/jobs/{alias}{rest}`.
fn p(sim: &CenturyLinkSim, rest: &str) -> String {
    format!("/jobs/{}{rest}", sim.account_alias())
}

/// A Runner request with `token`.
fn with(
    sim: &CenturyLinkSim,
    http: &Client,
    token: &str,
    method: Method,
    path: &str,
) -> RequestBuilder {
    http.request(method, format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
}

/// A Runner request with the static token.
fn req(sim: &CenturyLinkSim, http: &Client, method: Method, path: &str) -> RequestBuilder {
    with(sim, http, sim.token(), method, path)
}

async fn send_full(rb: RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

async fn send(rb: RequestBuilder) -> (u16, Value) {
    let (s, b, _) = send_full(rb).await;
    (s, b)
}

async fn get(sim: &CenturyLinkSim, http: &Client, rest: &str) -> (u16, Value) {
    send(req(sim, http, Method::GET, &p(sim, rest))).await
}

/// A JSON POST (`Content-Type: application/json`) of `body`.
async fn post(sim: &CenturyLinkSim, http: &Client, rest: &str, body: &str) -> (u16, Value) {
    send(
        req(sim, http, Method::POST, &p(sim, rest))
            .header("Content-Type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

async fn login(sim: &CenturyLinkSim, http: &Client, user: &str, password: &str) -> (u16, Value) {
    send(
        http.post(sim.login_url())
            .json(&json!({"username": user, "password": password})),
    )
    .await
}

fn split(run: &str) -> (String, String) {
    let (job, ex) = run.split_once('/').unwrap();
    (job.to_owned(), ex.to_owned())
}

fn exec_path(run: &str) -> String {
    let (job, ex) = split(run);
    format!("/{job}/executions/{ex}")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn assert_message(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(keys(body), set(&["message"]), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

// ----- login and tokens ------------------------------------------------------

#[tokio::test]
async fn login_issues_tokens_and_rejects_bad_credentials() {
    let sim = CenturyLinkSim::builder()
        .account_alias("ALIAS")
        .username("user@email.com")
        .password("pw-1")
        .jobs(1)
        .start()
        .await
        .unwrap();
    let http = client();
    assert!(sim.login_url().ends_with("/v2/authentication/login"));
    assert_ne!(
        sim.login_server().addr(),
        sim.server().addr(),
        "login is another host"
    );

    let (s, b, h) = send_full(
        http.post(sim.login_url())
            .json(&json!({"username": "user@email.com", "password": "pw-1"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        h["content-type"].to_str().unwrap(),
        "application/json; charset=utf-8"
    );
    assert_eq!(
        keys(&b),
        set(&[
            "userName",
            "accountAlias",
            "locationAlias",
            "roles",
            "bearerToken"
        ])
    );
    assert_eq!(b["userName"], "user@email.com");
    assert_eq!(b["accountAlias"], "ALIAS");
    assert_eq!(b["locationAlias"], "VA1");
    assert_eq!(b["roles"], json!(["AccountAdmin", "ServerAdmin"]));
    let token = b["bearerToken"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT-looking: {token}");
    assert!(token.starts_with("eyJ") && token.len() > 200, "{token}");
    assert!(
        token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
    );
    assert_eq!(sim.logins(), 1);

    // The token works on the Runner; a second login gives another token.
    let (s, _) = send(with(&sim, &http, &token, Method::GET, &p(&sim, ""))).await;
    assert_eq!(s, 200);
    let (_, b2) = login(&sim, &http, "user@email.com", "pw-1").await;
    assert_ne!(b2["bearerToken"].as_str().unwrap(), token);
    assert_eq!(sim.logins(), 2);

    // Bad credentials, and anything malformed: the documented 400.
    let bad = json!({"message": BAD_CREDENTIALS});
    for (user, pw) in [
        ("user@email.com", "nope"),
        ("other@email.com", "pw-1"),
        ("", ""),
    ] {
        let (s, b) = login(&sim, &http, user, pw).await;
        assert_eq!((s, &b), (400, &bad), "{user}");
    }
    for body in [
        "",
        "{",
        "[]",
        r#"{"username":"user@email.com"}"#,
        r#"{"username":1,"password":2}"#,
    ] {
        let (s, b) = send(
            http.post(sim.login_url())
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!((s, &b), (400, &bad), "{body:?}");
    }
    // The right credentials without the JSON content type.
    let (s, b) = send(
        http.post(sim.login_url())
            .header("Content-Type", "text/plain")
            .body(r#"{"username":"user@email.com","password":"pw-1"}"#),
    )
    .await;
    assert_eq!((s, &b), (400, &bad));
    assert_eq!(sim.logins(), 2);
    assert_eq!(sim.login_attempts(), 2 + 3 + 5 + 1);
    assert_eq!(
        sim.issued_tokens(),
        [
            token.clone(),
            b2["bearerToken"].as_str().unwrap().to_owned()
        ]
    );

    // Other methods and paths.
    let (s, b) = send(http.get(sim.login_url())).await;
    assert_message(s, &b, 405);
    let (s, b) = send(http.post(format!("{}/v2/other", sim.login_server().base_url()))).await;
    assert_message(s, &b, 404);

    // The password never reaches the log (bodies are not logged).
    let log = format!("{:?}", sim.login_server().requests());
    assert!(!log.contains("pw-1"), "{log}");
}

#[tokio::test]
async fn runner_tokens_are_checked_and_expire() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .token_ttl(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let http = client();
    let path = p(&sim, "");
    let unauthorized = json!({"message": "Unauthorized"});

    let (s, b, h) = send_full(http.get(format!("{}{path}", sim.base_url()))).await;
    assert_eq!((s, &b), (401, &unauthorized));
    assert_eq!(
        h["content-type"].to_str().unwrap(),
        "application/json;charset=UTF-8"
    );
    for rb in [
        with(&sim, &http, "nope", Method::GET, &path),
        http.get(format!("{}{path}", sim.base_url()))
            .basic_auth("u", Some("p")),
        http.get(format!("{}{path}", sim.base_url()))
            .header("Authorization", "Bearer"),
        http.get(format!("{}{path}", sim.base_url()))
            .header("Authorization", sim.token()),
    ] {
        assert_eq!(send(rb).await, (401, unauthorized.clone()));
    }
    // The static token; the scheme ignores case.
    assert_eq!(send(req(&sim, &http, Method::GET, &path)).await.0, 200);
    let (s, _) = send(
        http.get(format!("{}{path}", sim.base_url()))
            .header("Authorization", format!("bearer {}", sim.token())),
    )
    .await;
    assert_eq!(s, 200);

    // A login token lives token_ttl.
    let (_, b) = login(&sim, &http, sim.username(), sim.password()).await;
    let token = b["bearerToken"].as_str().unwrap().to_owned();
    assert_eq!(
        send(with(&sim, &http, &token, Method::GET, &path)).await.0,
        200
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        send(with(&sim, &http, &token, Method::GET, &path)).await,
        (401, unauthorized.clone())
    );
    // expire_tokens() ends the live ones, not the static token.
    let (_, b) = login(&sim, &http, sim.username(), sim.password()).await;
    let fresh = b["bearerToken"].as_str().unwrap().to_owned();
    assert_eq!(
        send(with(&sim, &http, &fresh, Method::GET, &path)).await.0,
        200
    );
    sim.expire_tokens();
    assert_eq!(
        send(with(&sim, &http, &fresh, Method::GET, &path)).await.0,
        401
    );
    assert_eq!(send(req(&sim, &http, Method::GET, &path)).await.0, 200);

    // The log masks the token.
    let log = sim.server().requests();
    assert!(
        log.iter()
            .all(|r| r.header("authorization").is_none_or(|a| a == MASK))
    );
    assert!(!format!("{log:?}").contains(&fresh));
}

#[tokio::test]
async fn another_alias_is_403_and_unknown_routes_404() {
    let sim = CenturyLinkSim::builder()
        .account_alias("ACME")
        .jobs(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let job = sim.job_ids()[0].clone();
    for path in [
        "/jobs/OTHER".to_owned(),
        format!("/jobs/OTHER/{job}"),
        "/jobs/OTHER/executions".to_owned(),
    ] {
        let (s, b) = send(req(&sim, &http, Method::GET, &path)).await;
        assert_message(s, &b, 403);
        assert!(b["message"].as_str().unwrap().contains("OTHER"), "{b}");
    }
    let (s, b) = send(
        req(
            &sim,
            &http,
            Method::POST,
            &format!("/jobs/OTHER/{job}/start"),
        )
        .header("Content-Type", "application/json")
        .body("{}"),
    )
    .await;
    assert_message(s, &b, 403);
    // Aliases ignore case.
    let (s, _) = send(req(&sim, &http, Method::GET, "/jobs/acme")).await;
    assert_eq!(s, 200);
    // The route is checked first, then the token, then the alias.
    for (method, path) in [
        (Method::GET, "/jobs".to_owned()),
        (Method::GET, "/v2/jobs/ACME".to_owned()),
        (Method::DELETE, format!("/jobs/ACME/{job}")),
        (Method::POST, "/jobs/ACME".to_owned()),
        (Method::GET, format!("/jobs/ACME/{job}/start")),
        (Method::POST, "/jobs/ACME/executions".to_owned()),
    ] {
        let (s, b) = send(http.request(method, format!("{}{path}", sim.base_url()))).await;
        assert_message(s, &b, 404);
    }
    let (s, _) = send(http.get(format!("{}/jobs/OTHER", sim.base_url()))).await;
    assert_eq!(s, 401, "no token: 401 before the alias");
}

// ----- paging ----------------------------------------------------------------

#[tokio::test]
async fn jobs_page_from_zero_with_total_size() {
    let sim = CenturyLinkSim::builder()
        .seed(3)
        .account_alias("ACME")
        .jobs(25)
        .executions_per_job(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let mut seen = Vec::new();
    for (page, expected) in [(0, 10), (1, 10), (2, 5), (3, 0)] {
        let (s, b) = get(&sim, &http, &format!("?page={page}&size=10")).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(keys(&b), set(&["totalSize", "page", "size", "results"]));
        assert_eq!(
            (
                b["totalSize"].as_u64(),
                b["page"].as_u64(),
                b["size"].as_u64()
            ),
            (Some(25), Some(page), Some(10))
        );
        let results = b["results"].as_array().unwrap();
        assert_eq!(results.len(), expected);
        seen.extend(results.iter().cloned());
    }
    let ids: Vec<String> = seen
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, sim.job_ids(), "listing order, each once");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 25);
    let times: Vec<i64> = seen
        .iter()
        .map(|j| j["createdTime"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // Defaults: page 0, size 100.
    let (_, b) = get(&sim, &http, "").await;
    assert_eq!(
        (b["page"].as_u64(), b["size"].as_u64()),
        (Some(0), Some(100))
    );
    assert_eq!(b["results"].as_array().unwrap().len(), 25);
    for bad in ["?page=-1", "?page=x", "?size=0", "?size=101", "?size=1.5"] {
        let (s, b) = get(&sim, &http, bad).await;
        assert_message(s, &b, 400);
    }

    // The Job document.
    let mut named = 0;
    for j in &seen {
        let mut expected = set(&[
            "id",
            "accountAlias",
            "description",
            "executionTtl",
            "repository",
            "hosts",
            "properties",
            "status",
            "callbacks",
            "createdTime",
            "lastUpdatedTime",
            "links",
        ]);
        if j.get("name").is_some() {
            named += 1;
            expected.insert("name".to_owned());
            assert!(j["name"].as_str().unwrap().contains('-'), "{j}");
        }
        assert_eq!(keys(j), expected, "{j}");
        let id = j["id"].as_str().unwrap();
        assert!(is_uuid(id), "{id}");
        assert_eq!(j["accountAlias"], "ACME");
        assert_eq!(j["status"], "ACTIVE");
        assert!(j["executionTtl"].is_null() || j["executionTtl"].is_u64());
        assert!(j["createdTime"].as_i64() <= j["lastUpdatedTime"].as_i64());
        assert_eq!(
            j["links"],
            json!([{"ref": "self", "id": id, "href": format!("/v2/workflow/ACME/jobs/{id}"), "verbs": ["GET", "POST", "PUT", "DELETE"]}])
        );
        let repo = &j["repository"];
        assert!(repo["url"].as_str().unwrap().starts_with("https://"));
        assert!(repo["branch"].is_string() && repo["defaultPlaybook"].is_string());
        if let Some(c) = repo.get("credentials") {
            assert_eq!(c["password"], "******", "never the password");
        }
        for h in j["hosts"].as_array().unwrap() {
            assert_eq!(keys(h), set(&["id", "hostVars"]));
        }
        assert_eq!(get(&sim, &http, &format!("/{id}")).await, (200, j.clone()));
    }
    assert!(named > 0 && named < 25, "most named, some not: {named}");
}

#[tokio::test]
async fn executions_page_per_job_and_per_account() {
    let sim = CenturyLinkSim::builder()
        .jobs(3)
        .executions_per_job(150)
        .start()
        .await
        .unwrap();
    let http = client();
    let mut all = HashSet::new();
    for job in sim.job_ids() {
        let mut ids = Vec::new();
        let mut starts = Vec::new();
        for (page, expected) in [(0, 100), (1, 50), (2, 0)] {
            let (s, b) = get(
                &sim,
                &http,
                &format!("/{job}/executions?page={page}&size=100"),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            assert_eq!(b["totalSize"], 150);
            assert_eq!(
                (b["page"].as_u64(), b["size"].as_u64()),
                (Some(page), Some(100))
            );
            let results = b["results"].as_array().unwrap();
            assert_eq!(results.len(), expected);
            for e in results {
                assert_eq!(e["job_id"], job.as_str());
                ids.push(e["execution_id"].as_str().unwrap().to_owned());
                starts.push(e["timers"][0]["start"].as_i64().unwrap());
            }
        }
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 150, "each once");
        assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");
        all.extend(ids);
    }
    assert_eq!(all.len(), 450);

    // The account's executions: a route of its own.
    let mut listed = Vec::new();
    for page in 0..5 {
        let (s, b) = get(&sim, &http, &format!("/executions?page={page}")).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["totalSize"], 450);
        for e in b["results"].as_array().unwrap() {
            listed.push(format!(
                "{}/{}",
                e["job_id"].as_str().unwrap(),
                e["execution_id"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(listed, sim.ids());
    let (s, b) = get(&sim, &http, "/nope/executions").await;
    assert_eq!((s, b), (404, json!({"message": "Job not found"})));
    let (s, b) = get(&sim, &http, "/executions?size=500").await;
    assert_message(s, &b, 400);
}

// ----- executions, stop and kill ---------------------------------------------

#[tokio::test]
async fn get_execution_and_not_found() {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let run = sim.execution_ids_with_status("RUNNING")[0].clone();
    let (job, ex) = split(&run);
    let (s, b) = get(&sim, &http, &exec_path(&run)).await;
    assert_eq!(s, 200);
    assert_eq!(Some(b.clone()), sim.execution_json(&run));
    assert_eq!(b["execution_id"], ex.as_str());
    assert_eq!(b["status"], "RUNNING");

    let other_job = sim.job_ids().into_iter().find(|j| *j != job).unwrap();
    let not_found = |m: &str| (404, json!({"message": m}));
    assert_eq!(get(&sim, &http, "/nope").await, not_found("Job not found"));
    assert_eq!(
        get(&sim, &http, &format!("/nope/executions/{ex}")).await,
        not_found("Job not found")
    );
    assert_eq!(
        get(&sim, &http, &format!("/{job}/executions/nope")).await,
        not_found("Execution not found")
    );
    assert_eq!(
        get(&sim, &http, &format!("/{other_job}/executions/{ex}")).await,
        not_found("Execution not found"),
        "an execution of another job"
    );
    for action in ["stop", "kill"] {
        assert_eq!(
            post(
                &sim,
                &http,
                &format!("/{other_job}/executions/{ex}/{action}"),
                "{}"
            )
            .await,
            not_found("Execution not found")
        );
        assert_eq!(
            post(
                &sim,
                &http,
                &format!("/nope/executions/{ex}/{action}"),
                "{}"
            )
            .await,
            not_found("Job not found")
        );
    }
    assert_eq!(
        sim.stop_requests(&format!("{other_job}/{ex}")),
        1,
        "counted whatever the answer"
    );
    assert_eq!(sim.kill_requests(&format!("nope/{ex}")), 1);
    assert_eq!(sim.stop_requests(&run), 0);
    assert_eq!(sim.execution_json(&run).unwrap()["status"], "RUNNING");
    assert_eq!(sim.execution_json("nope/x"), None);
}

#[tokio::test]
async fn stop_goes_through_stopping_to_stopped() {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .running(3)
        .stop_delay(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let http = client();
    let runs = sim.execution_ids_with_status("RUNNING");
    let run = runs[0].clone();
    let path = format!("{}/stop", exec_path(&run));
    let before = sim.execution_json(&run).unwrap();

    let (s, b) = post(&sim, &http, &path, r#"{"expiryDuration":5}"#).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "STOPPING");
    assert_eq!(
        b["timers"], before["timers"],
        "previous timers, end still null"
    );
    assert!(b["timers"][0]["end"].is_null());
    assert_eq!(
        sim.stop_bodies(),
        vec![(
            run.clone(),
            "stop".to_owned(),
            r#"{"expiryDuration":5}"#.to_owned()
        )]
    );
    // Stopping a STOPPING execution: 200, unchanged.
    let (s, again) = post(&sim, &http, &path, r#"{ "expiryDuration" : 0 }"#).await;
    assert_eq!((s, &again), (200, &b));
    assert_eq!(sim.stop_requests(&run), 2);
    assert_eq!(
        sim.stop_bodies()[1].2,
        r#"{ "expiryDuration" : 0 }"#,
        "exactly as sent"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, b) = get(&sim, &http, &exec_path(&run)).await;
    assert_eq!(b["status"], "STOPPED");
    let (start, end) = (
        b["timers"][0]["start"].as_i64().unwrap(),
        b["timers"][0]["end"].as_i64().unwrap(),
    );
    assert!(end >= start);
    assert!(end >= jobstop_sim::default_epoch().timestamp_millis());

    // A stopped one: the inferred 400.
    for action in ["stop", "kill"] {
        let (s, b) = post(&sim, &http, &format!("{}/{action}", exec_path(&run)), "{}").await;
        assert_eq!((s, b), (400, json!({"message": NOT_STOPPABLE})));
    }

    // Bodies: optional; a bad one is a 400 and changes nothing, but is
    // recorded and counted.
    let second = runs[1].clone();
    let spath = format!("{}/stop", exec_path(&second));
    for body in [
        r#"{"expiryDuration":-1}"#,
        r#"{"expiryDuration":1.5}"#,
        r#"{"expiryDuration":"5"}"#,
        "[5]",
        "{",
    ] {
        let (s, b) = post(&sim, &http, &spath, body).await;
        assert_message(s, &b, 400);
    }
    let (s, b) = send(
        req(&sim, &http, Method::POST, &p(&sim, &spath))
            .header("Content-Type", "text/plain")
            .body(r#"{"expiryDuration":5}"#),
    )
    .await;
    assert_message(s, &b, 400);
    assert_eq!(sim.execution_json(&second).unwrap()["status"], "RUNNING");
    assert_eq!(sim.stop_requests(&second), 6);
    // No body at all is the default.
    let (s, b) = send(req(&sim, &http, Method::POST, &p(&sim, &spath))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("STOPPING")));
    assert_eq!(
        sim.stop_bodies().last().unwrap(),
        &(second.clone(), "stop".to_owned(), String::new())
    );
    // advance() applies STOPPED now.
    assert!(sim.advance(&second));
    assert_eq!(sim.execution_json(&second).unwrap()["status"], "STOPPED");
    assert!(!sim.advance(&second));
}

#[tokio::test]
async fn kill_goes_through_killing_to_killed() {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .running(2)
        .kill_delay(Duration::from_millis(100))
        .stop_delay(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let http = client();
    let runs = sim.execution_ids_with_status("RUNNING");
    let (a, b_run) = (runs[0].clone(), runs[1].clone());

    let (s, b) = post(
        &sim,
        &http,
        &format!("{}/kill", exec_path(&a)),
        r#"{"expiryDuration":2}"#,
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("KILLING")));
    // Kill again: unchanged; stop a KILLING one: 400.
    let (s, again) = post(&sim, &http, &format!("{}/kill", exec_path(&a)), "{}").await;
    assert_eq!((s, &again), (200, &b));
    let (s, e) = post(&sim, &http, &format!("{}/stop", exec_path(&a)), "{}").await;
    assert_eq!((s, e), (400, json!({"message": NOT_STOPPABLE})));
    assert_eq!((sim.kill_requests(&a), sim.stop_requests(&a)), (2, 1));
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, b) = get(&sim, &http, &exec_path(&a)).await;
    assert_eq!(b["status"], "KILLED");
    assert!(b["timers"][0]["end"].is_i64());

    // A STOPPING execution can still be killed.
    let (_, b) = post(&sim, &http, &format!("{}/stop", exec_path(&b_run)), "{}").await;
    assert_eq!(b["status"], "STOPPING");
    let (_, b) = post(&sim, &http, &format!("{}/kill", exec_path(&b_run)), "{}").await;
    assert_eq!(b["status"], "KILLING");
    assert!(sim.advance(&b_run));
    assert_eq!(sim.execution_json(&b_run).unwrap()["status"], "KILLED");
    let kinds: Vec<String> = sim.stop_bodies().into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(kinds, ["kill", "kill", "stop", "stop", "kill"]);
}

#[tokio::test]
async fn terminal_executions_cannot_be_stopped_and_unknown_ones_can() {
    let job = "1111505e-6773-494a-b2bf-d2cc2684710d";
    let mut builder = CenturyLinkSim::builder().insert_job(JobSeed::default().with_id(job));
    for status in [
        "SUCCESS",
        "FAILURE",
        "INIT_FAILURE",
        "STOPPED",
        "KILLED",
        "EXPIRED",
        "PENDING",
        "INITIALIZING",
    ] {
        builder = builder.insert_execution(
            ExecutionSeed::new(job, status)
                .with_id(format!("exec-{}", status.to_ascii_lowercase())),
        );
    }
    let sim = builder.start().await.unwrap();
    let http = client();
    for status in ["SUCCESS", "FAILURE", "INIT_FAILURE", "STOPPED", "KILLED"] {
        let run = format!("{job}/exec-{}", status.to_ascii_lowercase());
        let doc = sim.execution_json(&run).unwrap();
        assert!(
            doc["timers"][0]["end"].is_i64(),
            "terminal seeds are ended: {doc}"
        );
        for action in ["stop", "kill"] {
            let (s, b) = post(
                &sim,
                &http,
                &format!("{}/{action}", exec_path(&run)),
                r#"{"expiryDuration":5}"#,
            )
            .await;
            assert_eq!(
                (s, b),
                (400, json!({"message": NOT_STOPPABLE})),
                "{status} {action}"
            );
        }
        assert_eq!(sim.execution_json(&run).unwrap(), doc, "unchanged");
    }
    // Unrecognised statuses are treated as stoppable; PENDING and
    // INITIALIZING stop too.
    for status in ["expired", "pending", "initializing"] {
        let run = format!("{job}/exec-{status}");
        let (s, b) = post(&sim, &http, &format!("{}/stop", exec_path(&run)), "{}").await;
        assert_eq!(
            (s, b["status"].as_str()),
            (200, Some("STOPPING")),
            "{status}"
        );
    }
    assert_eq!(sim.stop_bodies().len(), 13);
}

// ----- lifecycle and the concurrency cap ---------------------------------------

#[tokio::test]
async fn started_executions_progress_on_their_own() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(0)
        .durations([
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(60),
        ])
        .start()
        .await
        .unwrap();
    let http = client();
    let job = sim.job_ids()[0].clone();
    let (s, b) = post(&sim, &http, &format!("/{job}/start"), "{}").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "PENDING");
    assert_eq!(b["job_id"], job.as_str());
    assert!(b["timers"][0]["end"].is_null());
    let run = format!("{job}/{}", b["execution_id"].as_str().unwrap());
    assert_eq!(sim.ids(), std::slice::from_ref(&run));
    // advance() walks the documented path.
    for status in ["INITIALIZING", "RUNNING", "SUCCESS"] {
        assert!(sim.advance(&run));
        assert_eq!(sim.execution_json(&run).unwrap()["status"], status);
    }
    assert!(!sim.advance(&run));
    assert!(sim.execution_json(&run).unwrap()["timers"][0]["end"].is_i64());

    // Bodies: {} or hosts; an empty object is required.
    let (s, _) = post(
        &sim,
        &http,
        &format!("/{job}/start"),
        r#"{"hosts":[{"id":"localhost","sshPrivateKey":"-----BEGIN…"}]}"#,
    )
    .await;
    assert_eq!(s, 200);
    for body in ["", "[]", r#"{"hosts":{}}"#, r#"{"hosts":[{"name":"x"}]}"#] {
        let (s, b) = post(&sim, &http, &format!("/{job}/start"), body).await;
        assert_message(s, &b, 400);
    }
    let (s, b) = send(
        req(
            &sim,
            &http,
            Method::POST,
            &p(&sim, &format!("/{job}/start")),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("{}"),
    )
    .await;
    assert_message(s, &b, 400);
    assert_eq!(
        post(&sim, &http, "/nope/start", "{}").await,
        (404, json!({"message": "Job not found"}))
    );

    // Failures by seed.
    let failing = CenturyLinkSim::builder()
        .insert_job(
            JobSeed::default()
                .with_id("j1")
                .with_hosts(vec!["VA1ACMEWEB01".into()]),
        )
        .fail_percent(100)
        .durations([Duration::ZERO, Duration::ZERO, Duration::ZERO])
        .start()
        .await
        .unwrap();
    let (_, b) = post(&failing, &http, "/j1/start", "{}").await;
    assert_eq!(b["status"], "PENDING");
    let run = format!("j1/{}", b["execution_id"].as_str().unwrap());
    let doc = failing.execution_json(&run).unwrap();
    assert_eq!(doc["status"], "FAILURE");
    assert_eq!(doc["failed_hosts"], json!(["VA1ACMEWEB01"]));
}

#[tokio::test]
async fn at_most_four_executions_run_at_once() {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .executions_per_job(2)
        .durations([
            Duration::from_millis(50),
            Duration::from_millis(50),
            Duration::from_millis(300),
        ])
        .start()
        .await
        .unwrap();
    let http = client();
    let jobs = sim.job_ids();
    let mut started = Vec::new();
    for i in 0..6 {
        let (s, b) = post(&sim, &http, &format!("/{}/start", jobs[i % 2]), "{}").await;
        assert_eq!((s, b["status"].as_str()), (200, Some("PENDING")));
        started.push(b["execution_id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(4);
    let (mut max_active, mut saw_queue) = (0, false);
    loop {
        let (_, b) = get(&sim, &http, "/executions").await;
        let mine: Vec<&Value> = b["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| started.iter().any(|id| e["execution_id"] == id.as_str()))
            .collect();
        assert_eq!(mine.len(), 6);
        let count = |s: &str| mine.iter().filter(|e| e["status"] == s).count();
        let active = count("INITIALIZING") + count("RUNNING");
        assert!(active <= 4, "{active} at once");
        max_active = max_active.max(active);
        saw_queue |= active == 4 && count("PENDING") == 2;
        if count("SUCCESS") == 6 {
            break;
        }
        assert!(Instant::now() < deadline, "never finished: {mine:?}");
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    assert_eq!(max_active, 4);
    assert!(saw_queue, "two waited for a slot");

    // Seeding respects the cap unless it is raised.
    let err = CenturyLinkSim::builder()
        .jobs(2)
        .running(5)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let big = CenturyLinkSim::builder()
        .jobs(2)
        .running(6)
        .max_concurrent(6)
        .start()
        .await
        .unwrap();
    assert_eq!(big.execution_ids_with_status("RUNNING").len(), 6);

    // Four seeded running ones fill the slots: a started one waits until a
    // slot frees.
    let full = CenturyLinkSim::builder()
        .jobs(2)
        .running(4)
        .durations([
            Duration::ZERO,
            Duration::from_secs(60),
            Duration::from_secs(60),
        ])
        .stop_delay(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let job = full.job_ids()[0].clone();
    let (_, b) = post(&full, &http, &format!("/{job}/start"), "{}").await;
    let run = format!("{job}/{}", b["execution_id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(full.execution_json(&run).unwrap()["status"], "PENDING");
    assert!(!full.advance(&run), "no free slot");
    let victim = full.execution_ids_with_status("RUNNING")[0].clone();
    let (s, _) = post(&full, &http, &format!("{}/stop", exec_path(&victim)), "{}").await;
    assert_eq!(s, 200);
    assert_eq!(full.execution_json(&run).unwrap()["status"], "INITIALIZING");
}

#[tokio::test]
async fn seeded_executions_keep_their_status_unless_asked() {
    let keep = CenturyLinkSim::builder()
        .jobs(2)
        .running(2)
        .start()
        .await
        .unwrap();
    let fin = CenturyLinkSim::builder()
        .jobs(2)
        .running(2)
        .seeded_finish_after(Some(Duration::from_millis(100)))
        .start()
        .await
        .unwrap();
    let terminal = keep.execution_ids_with_status("SUCCESS");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(keep.execution_ids_with_status("RUNNING").len(), 2);
    assert_eq!(keep.execution_ids_with_status("SUCCESS"), terminal);
    assert_eq!(fin.execution_ids_with_status("RUNNING").len(), 0);
    for run in fin.ids().into_iter().take(2) {
        let doc = fin.execution_json(&run).unwrap();
        assert_eq!(doc["status"], "SUCCESS");
        assert!(doc["timers"][0]["end"].is_i64());
    }
    // set_status takes any raw string and stops the progress.
    let run = keep.execution_ids_with_status("RUNNING")[0].clone();
    assert!(keep.set_status(&run, "TIMEOUT"));
    assert_eq!(keep.execution_json(&run).unwrap()["status"], "TIMEOUT");
    assert!(keep.execution_json(&run).unwrap()["timers"][0]["end"].is_null());
    assert!(keep.set_status(&run, "FAILURE"));
    assert!(keep.execution_json(&run).unwrap()["timers"][0]["end"].is_i64());
    assert!(!keep.set_status("nope/nope", "RUNNING"));
    assert_eq!(keep.execution_ids_with_status("TIMEOUT").len(), 0);
}

// ----- documents ---------------------------------------------------------------

#[tokio::test]
async fn every_document_variant() {
    let job = "1111505e-6773-494a-b2bf-d2cc2684710d";
    let ms = |v: i64| Utc.timestamp_millis_opt(v).unwrap();
    let sim = CenturyLinkSim::builder()
        .account_alias("XXXX")
        .insert_job(JobSeed::default().with_id(job))
        .insert_execution(
            ExecutionSeed::new(job, "STOPPING")
                .with_id("44fdcfa2-6a7f-46d3-9f71-22e629e2358a")
                .with_timer(ms(1_445_359_386_400), Some(ms(1_445_359_388_219))),
        )
        .insert_execution(
            ExecutionSeed::new(job, "RUNNING")
                .with_id("restarted")
                .with_timer(ms(1_718_700_000_000), Some(ms(1_718_700_060_000)))
                .with_timer(ms(1_718_760_000_000), None)
                .with_failed_hosts(vec!["VA1XXXXWEB02".into()])
                .with_vpn(true),
        )
        .start()
        .await
        .unwrap();
    let http = client();
    let run = format!("{job}/44fdcfa2-6a7f-46d3-9f71-22e629e2358a");
    let two = format!("{job}/restarted");

    // Documented snake_case: the seed page's example, byte for byte.
    let (_, b) = get(&sim, &http, &exec_path(&run)).await;
    assert_eq!(
        b,
        json!({"timers":[{"start":1445359386400_i64,"end":1445359388219_i64}],"job_id":job,"execution_id":"44fdcfa2-6a7f-46d3-9f71-22e629e2358a","account_alias":"XXXX","status":"STOPPING","repository_log":null,"failed_hosts":[],"is_vpn_established":false})
    );
    let (_, b) = get(&sim, &http, &exec_path(&two)).await;
    assert_eq!(b["timers"].as_array().unwrap().len(), 2);
    assert_eq!(b["failed_hosts"], json!(["VA1XXXXWEB02"]));
    assert_eq!(b["is_vpn_established"], true);

    // camelCase.
    sim.reconfigure(|o| o.camel_case(true));
    let (_, b) = get(&sim, &http, &exec_path(&run)).await;
    assert_eq!(
        keys(&b),
        set(&[
            "executionId",
            "jobId",
            "accountAlias",
            "status",
            "timers",
            "repositoryLog",
            "failedHosts",
            "isVpnEstablished"
        ])
    );
    // Flat timers: the last timer, and an id.
    sim.reconfigure(|o| o.camel_case(false).flat_timers(true));
    let (_, b) = get(&sim, &http, &exec_path(&two)).await;
    assert_eq!(
        keys(&b),
        set(&[
            "id",
            "execution_id",
            "job_id",
            "account_alias",
            "status",
            "start",
            "end",
            "repository_log",
            "failed_hosts",
            "is_vpn_established"
        ])
    );
    assert_eq!(
        (b["id"].as_str(), b["start"].as_i64()),
        (Some("restarted"), Some(1_718_760_000_000))
    );
    assert!(b["end"].is_null());
    // The repository log object.
    sim.reconfigure(|o| o.flat_timers(false).repository_log_object(true));
    let (_, b) = get(&sim, &http, &exec_path(&run)).await;
    let log = &b["repository_log"];
    assert_eq!(keys(log), set(&["recent_commit", "tags"]));
    assert_eq!(log["tags"], json!([]));
    let commit = &log["recent_commit"][0];
    assert_eq!(
        keys(commit),
        set(&["commit", "author", "author_email", "date", "message"])
    );
    assert_eq!(commit["commit"].as_str().unwrap().len(), 40);
    // All three, in lists and in stop answers too.
    sim.reconfigure(|o| o.camel_case(true).flat_timers(true));
    let (_, list) = get(&sim, &http, &format!("/{job}/executions")).await;
    for e in list["results"].as_array().unwrap() {
        assert_eq!(
            keys(e),
            set(&[
                "id",
                "executionId",
                "jobId",
                "accountAlias",
                "status",
                "start",
                "end",
                "repositoryLog",
                "failedHosts",
                "isVpnEstablished"
            ])
        );
        assert!(e["repositoryLog"]["recent_commit"].is_array());
    }
    let (s, b) = post(&sim, &http, &format!("{}/stop", exec_path(&two)), "{}").await;
    assert_eq!(
        (s, b["status"].as_str(), b["executionId"].as_str()),
        (200, Some("STOPPING"), Some("restarted"))
    );

    // Switches on the builder.
    let built = CenturyLinkSim::builder()
        .jobs(1)
        .camel_case(true)
        .flat_timers(true)
        .repository_log_object(true)
        .start()
        .await
        .unwrap();
    let run = built.ids()[0].clone();
    let doc = built.execution_json(&run).unwrap();
    assert!(
        doc["executionId"].is_string() && doc["start"].is_i64() && doc["repositoryLog"].is_object()
    );
    // Every documented status is a valid raw status.
    assert_eq!(STATUSES.len(), 10);
}

// ----- faults ----------------------------------------------------------------

#[tokio::test]
async fn injected_faults_have_message_bodies() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let run = sim.execution_ids_with_status("RUNNING")[0].clone();
    let path = format!("{}/stop", exec_path(&run));
    for status in [503, 504, 500] {
        sim.faults().add(
            FaultRule::new(
                Route::post("/jobs/*/*/executions/*/stop"),
                Fault::status(status),
            )
            .times(1),
        );
        let (s, b) = post(&sim, &http, &path, "{}").await;
        assert_message(s, &b, status);
    }
    let (s, b) = post(&sim, &http, &path, "{}").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("STOPPING")));
    assert_eq!(sim.stop_requests(&run), 1, "faults answered first");
    assert_eq!(sim.stop_bodies().len(), 1);
    sim.faults()
        .add(FaultRule::new(Route::get("/jobs/*"), Fault::status(503)).times(1));
    let (s, b) = get(&sim, &http, "").await;
    assert_eq!((s, b), (503, json!({"message": "Service Unavailable"})));

    // The rate limit counts per bearer token.
    sim.faults().rate_limit(2);
    for _ in 0..2 {
        assert_eq!(get(&sim, &http, "").await.0, 200);
    }
    let (s, b) = get(&sim, &http, "").await;
    assert_message(s, &b, 429);
    let (_, l) = login(&sim, &http, sim.username(), sim.password()).await;
    let token = l["bearerToken"].as_str().unwrap();
    assert_eq!(
        send(with(&sim, &http, token, Method::GET, &p(&sim, "")))
            .await
            .0,
        200
    );

    // The login server has its own script.
    sim.login_server()
        .faults()
        .add(FaultRule::new(Route::post("/v2/authentication/login"), Fault::status(503)).times(1));
    let (s, b) = login(&sim, &http, sim.username(), sim.password()).await;
    assert_message(s, &b, 503);
    assert_eq!(
        login(&sim, &http, sim.username(), sim.password()).await.0,
        200
    );
}

// ----- determinism and junk ----------------------------------------------------

#[tokio::test]
async fn same_seed_same_data() {
    let build = |seed: u64| {
        CenturyLinkSim::builder()
            .seeded_epoch()
            .seed(seed)
            .jobs(5)
            .running(3)
            .start()
    };
    let (a, b, c) = (
        build(7).await.unwrap(),
        build(7).await.unwrap(),
        build(8).await.unwrap(),
    );
    assert_eq!(a.job_ids(), b.job_ids());
    assert_ne!(a.job_ids(), c.job_ids());
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.ids().len(), 15);
    assert_eq!(a.execution_ids_with_status("RUNNING").len(), 3);
    assert_eq!(
        a.execution_ids_with_status("RUNNING"),
        a.ids()[..3],
        "the newest are running"
    );
    for id in a.job_ids() {
        assert_eq!(a.job_json(&id), b.job_json(&id));
    }
    a.reconfigure(|o| o.repository_log_object(true));
    b.reconfigure(|o| o.repository_log_object(true));
    for run in a.ids() {
        assert_eq!(a.execution_json(&run), b.execution_json(&run));
    }
    assert_eq!((a.password(), a.token()), (b.password(), b.token()));
    assert_ne!(a.password(), c.password());
    // Seeded times are before the epoch; a job is older than its executions.
    let epoch = jobstop_sim::default_epoch().timestamp_millis();
    for run in a.ids() {
        let doc = a.execution_json(&run).unwrap();
        let start = doc["timers"][0]["start"].as_i64().unwrap();
        assert!(start < epoch);
        let (job, _) = split(&run);
        assert!(a.job_json(&job).unwrap()["createdTime"].as_i64().unwrap() < start);
        let ends: Vec<i64> = doc["timers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["end"].as_i64())
            .collect();
        assert!(ends.iter().all(|e| *e < epoch && *e >= start));
    }
    // Env.
    let login_env = a.env();
    assert_eq!(
        login_env
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        [
            "JOBSTOP_CENTURYLINK_BASE_URL",
            "JOBSTOP_CENTURYLINK_LOGIN_URL",
            "JOBSTOP_CENTURYLINK_USERNAME",
            "JOBSTOP_CENTURYLINK_PASSWORD"
        ]
    );
    assert_eq!(login_env[1].1, a.login_url());
    assert_eq!(
        a.env_token(),
        vec![
            ("JOBSTOP_CENTURYLINK_BASE_URL".to_owned(), a.base_url()),
            ("JOBSTOP_CENTURYLINK_TOKEN".to_owned(), a.token().to_owned()),
            (
                "JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS".to_owned(),
                "ACME".to_owned()
            ),
        ]
    );
    // Debug never shows secrets.
    let dbg = format!(
        "{a:?} {:?}",
        CenturyLinkSim::builder()
            .seeded_epoch()
            .password("sekrit-pw")
            .static_token("sekrit-token")
    );
    for secret in [a.token(), a.password(), "sekrit"] {
        assert!(!dbg.contains(secret), "{secret} in {dbg}");
    }
}

#[tokio::test]
async fn junk_requests_always_get_an_answer() {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let job = sim.job_ids()[0].clone();
    let ex = split(&sim.ids()[0]).1;
    let mut rng = jobstop_sim::SplitMix64::new(11);
    let segments = [
        "jobs",
        "ACME",
        "executions",
        "start",
        "stop",
        "kill",
        "restart",
        job.as_str(),
        ex.as_str(),
        "%FF",
        "%2F",
        "",
        "..",
        "%",
        "a%20b",
        "-1",
        "\u{e9}",
    ];
    let queries = [
        "page=",
        "page=-1",
        "size=1000",
        "size=x",
        "page=99999999999999999999",
        "&&=&",
        "size=%FF",
    ];
    let bodies = [
        "{",
        "[]",
        r#"{"expiryDuration":1e400}"#,
        "\u{0}",
        r#"{"hosts":[null]}"#,
        r#"{"expiryDuration":18446744073709551616}"#,
    ];
    for i in 0..200 {
        let n = rng.below(7) as usize;
        let mut path = String::new();
        for k in 0..n {
            let seg = if k == 0 && rng.chance(70) {
                "jobs"
            } else {
                rng.pick(&segments).copied().unwrap()
            };
            path.push('/');
            path.push_str(seg);
        }
        if rng.chance(40) {
            path.push('?');
            path.push_str(rng.pick(&queries).copied().unwrap());
        }
        let method = [Method::GET, Method::POST, Method::PUT, Method::DELETE][i % 4].clone();
        let url = format!(
            "{}{}",
            sim.base_url(),
            if path.is_empty() { "/" } else { &path }
        );
        let mut rb = http.request(method, url);
        rb = match i % 3 {
            0 => rb.bearer_auth(sim.token()),
            1 => rb.header(
                "Authorization",
                reqwest::header::HeaderValue::from_bytes(b"Bearer \xe9\xff").unwrap(),
            ),
            _ => rb,
        };
        if rng.chance(50) {
            rb = rb
                .header(
                    "Content-Type",
                    reqwest::header::HeaderValue::from_bytes(
                        [
                            &b"application/json"[..],
                            b"text/plain",
                            b"application/json; charset=\xe9",
                        ][i % 3],
                    )
                    .unwrap(),
                )
                .body(bodies[i % bodies.len()]);
        }
        let resp = rb.send().await.unwrap();
        assert!(resp.status().as_u16() >= 200, "{path}");
    }
    for body in ["", "{}", r#"{"username":null}"#, "[1,2]", "\u{0}"] {
        let (s, b) = send(
            http.post(sim.login_url())
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(s, 400, "{body:?}: {b}");
    }
    // Still serving normally.
    assert_eq!(get(&sim, &http, "").await.0, 200);
}

// ----- switches for the sources that disagree ------------------------------------

#[tokio::test]
async fn the_single_execution_get_can_be_absent() {
    // Not in CenturyLinkCloud/PublicKB Runner/job-service.md; only the
    // Runner JS SDK (Job.prototype.execution) calls it.
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(2)
        .running(1)
        .execution_get(false)
        .start()
        .await
        .unwrap();
    let http = client();
    let run = sim.ids()[0].clone();
    let (job, ex) = split(&run);
    // 404 like any unknown path: before the token is even looked at.
    let (s, b) = get(&sim, &http, &exec_path(&run)).await;
    assert_eq!((s, b), (404, json!({"message": "Not Found"})));
    let (s, b) = send(with(
        &sim,
        &http,
        "not-a-token",
        Method::GET,
        &p(&sim, &exec_path(&run)),
    ))
    .await;
    assert_eq!((s, b), (404, json!({"message": "Not Found"})));
    // The documented calls still work: the job's executions list has it,
    // and stop answers.
    let (s, list) = get(&sim, &http, &format!("/{job}/executions")).await;
    assert_eq!(s, 200);
    assert!(
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["execution_id"] == ex.as_str())
    );
    let (s, _) = get(&sim, &http, &format!("/{job}")).await;
    assert_eq!(s, 200);
    // Switched back at run time, the route answers again.
    sim.reconfigure(|o| o.execution_get(true));
    let (s, b) = get(&sim, &http, &exec_path(&run)).await;
    assert_eq!((s, b["execution_id"].as_str()), (200, Some(ex.as_str())));
    sim.reconfigure(|o| o.execution_get(false));
    let (s, b) = post(&sim, &http, &format!("{}/stop", exec_path(&run)), "{}").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("STOPPING")), "{b}");
}

#[tokio::test]
async fn the_job_get_can_answer_a_one_element_array() {
    // CenturyLinkCloud/PublicKB Runner/job-service.md, "Get Job": the
    // example is wrapped in [ ].
    let sim = CenturyLinkSim::builder()
        .insert_job(
            JobSeed::default()
                .with_id("j1")
                .with_name("patch-linux-fleet"),
        )
        .job_array(true)
        .start()
        .await
        .unwrap();
    let http = client();
    let (s, b) = get(&sim, &http, "/j1").await;
    assert_eq!(s, 200);
    let items = b.as_array().expect("an array");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0], sim.job_json("j1").unwrap());
    assert_eq!(items[0]["name"], "patch-linux-fleet");
    // Errors and the list keep their shapes.
    assert_eq!(
        get(&sim, &http, "/nope").await,
        (404, json!({"message": "Job not found"}))
    );
    let (_, list) = get(&sim, &http, "").await;
    assert!(list["results"][0].is_object());
    sim.reconfigure(|o| o.job_array(false));
    let (_, b) = get(&sim, &http, "/j1").await;
    assert_eq!(b["id"], "j1");
}

#[tokio::test]
async fn login_takes_a_form_body_as_clc_sdk_get_session_sends_it() {
    // clc-sdk clc/APIv2/__init__.py get_session posts data={username,
    // password} (a form); API._Login posts JSON.
    let sim = CenturyLinkSim::builder().start().await.unwrap();
    let http = client();
    let form = |user: &str, password: &str| {
        http.post(sim.login_url())
            .form(&[("username", user), ("password", password)])
    };
    let (s, b) = send(form(sim.username(), sim.password())).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["accountAlias"], sim.account_alias());
    let token = b["bearerToken"].as_str().unwrap().to_owned();
    let (s, _) = send(with(&sim, &http, &token, Method::GET, &p(&sim, ""))).await;
    assert_eq!(s, 200);
    let (s, b) = send(form(sim.username(), "wrong")).await;
    assert_eq!((s, b), (400, json!({"message": BAD_CREDENTIALS})));
    let (s, _) = send(
        http.post(sim.login_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=only"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(sim.logins(), 1);
}

// ----- the framework ------------------------------------------------------------

#[tokio::test]
async fn sims_start_maps_the_population_and_answers_what_every_sim_answers() {
    use jobstop_sim::centurylink::{CenturyLink, DEFAULT_STOP_DELAY};
    use jobstop_sim::{Sims, SimsOptions};

    // 5 running, 20 finished: at most 4 running (the cap), over
    // max(3, 20/4) = 5 jobs of ceil(24/5) = 5 executions each.
    let sims = Sims::start(&["centurylink"], &SimsOptions::default())
        .await
        .unwrap();
    let any = sims.by_name("centurylink").unwrap();
    let sim = sims.get::<CenturyLink>().unwrap();
    assert_eq!(sim.job_ids().len(), 5);
    assert_eq!(any.ids().len(), 25);
    let running = sim.execution_ids_with_status("RUNNING");
    assert_eq!(running.len(), 4);
    assert_eq!(any.raw_state(&running[0]).as_deref(), Some("RUNNING"));
    assert_eq!(any.raw_state("nojob/noexecution"), None);

    // The login is exported, the static token is the alternative.
    let keys = |s: jobstop_sim::Settings| s.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys(any.settings()),
        ["base_url", "login_url", "username", "password"]
    );
    assert_eq!(keys(any.alternatives()), ["token", "account_alias"]);
    let password = (
        "JOBSTOP_CENTURYLINK_PASSWORD".to_owned(),
        sim.password().to_owned(),
    );
    assert_eq!(sim.env()[3], password);
    assert_eq!(any.alternatives()[0].1, sim.token());

    // Stops count per run and in total; kills do not count as stops. The
    // default stop delay holds when none is given.
    let http = client();
    let (run, other) = (running[0].clone(), running[1].clone());
    let started = Instant::now();
    let (s, b) = post(sim, &http, &format!("{}/stop", exec_path(&run)), "{}").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("STOPPING")));
    let (s, _) = post(sim, &http, &format!("{}/kill", exec_path(&other)), "{}").await;
    assert_eq!(s, 200);
    assert_eq!((any.stop_requests(&run), any.total_stop_requests()), (1, 1));
    assert_eq!(sim.kill_requests(&other), 1);
    while any.raw_state(&run).as_deref() == Some("STOPPING") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(any.raw_state(&run).as_deref(), Some("STOPPED"));
    assert!(started.elapsed() >= DEFAULT_STOP_DELAY);
    sims.shutdown().await;
}

// ----- request parsing, end to end (the route, paging, body and token tables) --

#[tokio::test]
async fn routes_paging_bodies_and_tokens_follow_their_tables() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .running(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let json_req = |method: Method, path: &str, body: &str| {
        req(&sim, &http, method, path)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
    };
    // A route of the table reaches its operation (an unknown, decoded id:
    // "Job not found"); anything else is the router's "Not Found".
    for (method, rest) in [
        (Method::GET, "/j%2F1"),
        (Method::POST, "/j/start"),
        (Method::GET, "/j/executions"),
        (Method::GET, "/j/executions/e"),
        (Method::POST, "/j/executions/e/stop"),
        (Method::POST, "/j/executions/e/kill"),
    ] {
        let (s, b) = send(json_req(method.clone(), &p(&sim, rest), "{}")).await;
        assert_eq!(
            (s, b),
            (404, json!({"message": "Job not found"})),
            "{method} {rest}"
        );
    }
    for (method, path) in [
        (Method::POST, "/jobs/ACME"),
        (Method::POST, "/jobs/ACME/executions"),
        (Method::GET, "/jobs/ACME/j/start"),
        (Method::GET, "/jobs/ACME/j/executions/e/stop"),
        (Method::DELETE, "/jobs/ACME/j"),
        (Method::GET, "/jobs/ACME/"),
        (Method::GET, "/jobs//j"),
        (Method::GET, "/jobs"),
        (Method::GET, "/v2/jobs/ACME"),
        (Method::POST, "/jobs/ACME/j/executions/e/restart"),
        (Method::GET, ""),
    ] {
        let (s, b) = send(json_req(method.clone(), path, "{}")).await;
        assert_eq!(
            (s, b),
            (404, json!({"message": "Not Found"})),
            "{method} {path}"
        );
    }
    // Segments are decoded: `j%2F1` names job `j/1`.
    sim.insert_job(JobSeed::default().with_id("j/1"));
    let (s, b) = get(&sim, &http, "/j%2F1").await;
    assert_eq!((s, b["id"].as_str()), (200, Some("j/1")));
    let (s, b) = send(json_req(Method::GET, "/jobs/a%20b", "")).await;
    assert_message(s, &b, 403);
    assert!(
        b["message"].as_str().unwrap().ends_with("account a b"),
        "{b}"
    );

    // Paging: `page` from 0, `size` 1 to 100, empty values are the defaults.
    for (query, page, size) in [
        ("", 0, 100),
        ("page=3&size=7", 3, 7),
        ("page=&size=", 0, 100),
    ] {
        let (s, b) = get(&sim, &http, &format!("/executions?{query}")).await;
        assert_eq!(
            (s, &b["page"], &b["size"]),
            (200, &json!(page), &json!(size)),
            "{query}"
        );
    }
    for bad in [
        "page=-1",
        "page=x",
        "page=1.5",
        "size=0",
        "size=101",
        "size=-5",
        "size=ten",
        "page=99999999999999999999999",
    ] {
        let (s, b) = get(&sim, &http, &format!("?{bad}")).await;
        assert_message(s, &b, 400);
    }

    // Stop bodies: `{"expiryDuration": N}`, optional, N a non-negative integer.
    let run = sim.execution_ids_with_status("RUNNING")[0].clone();
    let stop = p(&sim, &format!("{}/stop", exec_path(&run)));
    for bad in [
        r#"{"expiryDuration":-1}"#,
        r#"{"expiryDuration":1.5}"#,
        r#"{"expiryDuration":"5"}"#,
        "[]",
        "{",
        "5",
    ] {
        let (s, b) = send(json_req(Method::POST, &stop, bad)).await;
        assert_message(s, &b, 400);
    }
    for good in [
        "",
        " \n",
        "{}",
        r#"{"expiryDuration":5}"#,
        r#"{"expiryDuration":null,"x":1}"#,
    ] {
        let (s, b) = send(json_req(Method::POST, &stop, good)).await;
        assert_eq!(
            (s, b["status"].as_str()),
            (200, Some("STOPPING")),
            "{good:?}"
        );
    }

    // Start bodies: an object, with `hosts` objects that have a string id.
    let start = p(&sim, &format!("/{}/start", split(&run).0));
    for good in [
        "{}",
        r#"{"hosts":[{"id":"localhost"}]}"#,
        r#"{"hosts":[{"id":"h","sshPrivateKey":"k"}],"sshPrivateKey":"k"}"#,
    ] {
        let (s, b) = send(json_req(Method::POST, &start, good)).await;
        assert_eq!((s, b["status"].as_str()), (200, Some("PENDING")), "{good}");
    }
    for bad in [
        "",
        "[]",
        "nope",
        r#"{"hosts":{}}"#,
        r#"{"hosts":[{}]}"#,
        r#"{"hosts":[1]}"#,
        r#"{"sshPrivateKey":5}"#,
    ] {
        let (s, b) = send(json_req(Method::POST, &start, bad)).await;
        assert_message(s, &b, 400);
    }

    // Tokens: `Bearer <token>`, the scheme in any case, spaces trimmed.
    let url = format!("{}{}", sim.base_url(), p(&sim, ""));
    let token = sim.token();
    for (header, status) in [
        (format!("Bearer {token}"), 200),
        (format!("bearer  {token} "), 200),
        (format!("Basic {token}"), 401),
        ("Bearer ".to_owned(), 401),
        ("Bearer".to_owned(), 401),
    ] {
        let (s, _) = send(http.get(&url).header("Authorization", &header)).await;
        assert_eq!(s, status, "{header}");
    }
    assert_eq!(send(http.get(&url)).await.0, 401);
}

// ----- moved from the store's unit tests -----------------------------------------

/// Base64url without padding, decoded (the test's own, to read tokens).
fn b64url_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits: Vec<u32> = s
        .bytes()
        .map(|c| A.iter().position(|a| *a == c).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in bits.chunks(4) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 6) | b) << (6 * (4 - chunk.len()));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[tokio::test]
async fn seed_data_parses_and_tokens_are_base64url_jwts() {
    let data: Value =
        serde_json::from_str(include_str!("../data/centurylink/seed.json")).expect("seed.json");
    assert!(data["_source"].is_string());
    for key in [
        "jobs",
        "repos",
        "branches",
        "server_roles",
        "authors",
        "commit_messages",
        "execution_ttls",
        "properties",
        "intervals_hours",
    ] {
        assert!(!data[key].as_array().unwrap().is_empty(), "{key}");
    }
    let shares = data["finished_statuses"].as_array().unwrap();
    assert_eq!(
        shares.last().unwrap()[1],
        100,
        "cumulative shares end at 100"
    );
    for share in shares {
        assert!(STATUSES.contains(&share[0].as_str().unwrap()), "{share}");
    }
    // Generated jobs take their names from the table.
    let sim = CenturyLinkSim::builder()
        .jobs(30)
        .password("pw")
        .start()
        .await
        .unwrap();
    let names: Vec<&str> = data["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j[0].as_str().unwrap())
        .collect();
    for id in sim.job_ids() {
        let job = sim.job_json(&id).unwrap();
        if let Some(name) = job["name"].as_str() {
            let base = name
                .rsplit_once('-')
                .filter(|(_, n)| n.parse::<u8>().is_ok());
            assert!(names.contains(&base.map_or(name, |(b, _)| b)), "{name}");
        }
    }
    // Tokens: the HS256 header, claims as base64url JSON, a 32-byte signature.
    let http = client();
    let (s, b) = login(&sim, &http, sim.username(), "pw").await;
    assert_eq!(s, 200);
    let token = b["bearerToken"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    assert_eq!(
        b64url_decode(parts[0]),
        br#"{"alg":"HS256","typ":"JWT"}"#.to_vec()
    );
    let claims: Value = serde_json::from_slice(&b64url_decode(parts[1])).unwrap();
    assert_eq!(claims["unique_name"], sim.username());
    assert_eq!(claims["urn:tier3:account-alias"], sim.account_alias());
    assert_eq!(b64url_decode(parts[2]).len(), 32);
    assert!(parts.iter().all(|p| !p.contains('=')), "no padding");
    // A page far past the end is empty (no overflow).
    let max = usize::MAX;
    let (s, b) = get(&sim, &http, &format!("?page={max}&size=100")).await;
    assert_eq!((s, b["results"].clone()), (200, json!([])), "{b}");
}

#[tokio::test]
async fn module_example_counts_hold() {
    // What the module docs' example checked before it moved to the README.
    let sim = CenturyLinkSim::builder()
        .seed(7)
        .account_alias("ACME")
        .jobs(4)
        .running(2)
        .start()
        .await
        .unwrap();
    assert_eq!(sim.job_ids().len(), 4);
    assert_eq!(sim.ids().len(), 12, "three per job by default");
    let run = &sim.execution_ids_with_status("RUNNING")[0];
    let doc = sim.execution_json(run).unwrap();
    assert_eq!(doc["account_alias"], "ACME");
    assert!(doc["timers"][0]["end"].is_null());
}

#[test]
fn run_objects_and_seed_builders_do_what_their_docs_said() {
    // What the rustdoc examples of `run_objects` and `ExecutionSeed` checked.
    let mut page = json!({"totalSize": 1, "results": [{"execution_id": "e1"}]});
    assert_eq!(jobstop_sim::centurylink::run_objects(&mut page).len(), 1);
    let mut one = json!({"executionId": "e1", "status": "RUNNING"});
    assert_eq!(jobstop_sim::centurylink::run_objects(&mut one).len(), 1);
    let mut jobs = json!({"totalSize": 1, "results": [{"id": "j1", "status": "ACTIVE"}]});
    assert!(jobstop_sim::centurylink::run_objects(&mut jobs).is_empty());
    let t = |s| Utc.timestamp_millis_opt(s).unwrap();
    // Failed, then restarted: two timers.
    let seed = ExecutionSeed::new("1111505e-6773-494a-b2bf-d2cc2684710d", "RUNNING")
        .with_timer(t(1_718_760_000_000), Some(t(1_718_760_060_000)))
        .with_timer(t(1_718_761_000_000), None);
    assert_eq!(seed.timers.as_ref().map(Vec::len), Some(2));
    let job = JobSeed::default().with_name("patch-linux-fleet");
    assert_eq!(job.name.as_deref(), Some("patch-linux-fleet"));
}

#[tokio::test]
async fn reconfigure_changes_what_the_store_reads_at_run_time() {
    let sim = CenturyLinkSim::builder().jobs(1).start().await.unwrap();
    let job = sim.job_ids()[0].clone();
    let before = sim.insert_execution(ExecutionSeed::new(&job, "RUNNING"));
    assert!(!sim.advance(&before.unwrap()), "nothing pending by default");
    sim.reconfigure(|o| {
        o.seeded_finish_after(Some(Duration::from_secs(3600)))
            .fail_percent(100)
    });
    let run = sim.insert_execution(ExecutionSeed::new(&job, "RUNNING"));
    let run = run.unwrap();
    assert!(sim.advance(&run), "the finish is pending now");
    let doc = sim.execution_json(&run).unwrap();
    assert_eq!(doc["status"], "FAILURE", "{doc}");
    // The failed host is the job's first.
    let host = sim.job_json(&job).unwrap()["hosts"][0]["id"].clone();
    assert_eq!(doc["failed_hosts"], json!([host]));
}
