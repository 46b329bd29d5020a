#![allow(clippy::unwrap_used)]
//! The DataArts (DLF) simulator over real HTTP: AK/SK signatures, IAM
//! tokens, workspaces, listings and paging, not-found codes, job and
//! instance stops, run-immediate, throttling and determinism.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jobstop_sim::dataarts::{DataArtsSim, InstanceSeed, JobSeed, JobType, Reading, signing};
use jobstop_sim::{AnySim, Fault, FaultRule, MASK, RateLimit, Route};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `/v1/{project}{rest}`.
fn p(sim: &DataArtsSim, rest: &str) -> String {
    format!("/v1/{}{rest}", sim.project_id())
}

/// A request with the static token.
fn tok(sim: &DataArtsSim, http: &Client, method: Method, path: &str) -> RequestBuilder {
    http.request(method, format!("{}{path}", sim.base_url()))
        .header("X-Auth-Token", sim.token())
}

/// A request signed with `ak`/`sk` at `date`, signing `signed` among
/// `host`, `x-sdk-date` and (with a body) `content-type`.
#[allow(clippy::too_many_arguments)]
fn signed_as(
    sim: &DataArtsSim,
    http: &Client,
    (ak, sk): (&str, &str),
    method: Method,
    path: &str,
    body: &[u8],
    date: &str,
    signed: &[&str],
) -> RequestBuilder {
    let host = sim.base_url().trim_start_matches("http://").to_owned();
    let mut headers = vec![("host", host.as_str()), ("x-sdk-date", date)];
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    let to_sign: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .filter(|(k, _)| signed.contains(k))
        .collect();
    let auth = signing::sign(ak, sk, method.as_str(), path, &to_sign, body);
    let mut rb = http
        .request(method, format!("{}{path}", sim.base_url()))
        .header("X-Sdk-Date", date)
        .header("Authorization", auth);
    if !body.is_empty() {
        rb = rb
            .header("Content-Type", "application/json")
            .body(body.to_vec());
    }
    rb
}

fn now_date() -> String {
    signing::sdk_date(Utc::now())
}

/// Signed with the simulator's AK/SK, now, signing everything.
fn signed(
    sim: &DataArtsSim,
    http: &Client,
    method: Method,
    path: &str,
    body: &[u8],
) -> RequestBuilder {
    signed_as(
        sim,
        http,
        (sim.ak(), sim.sk()),
        method,
        path,
        body,
        &now_date(),
        &["content-type", "host", "x-sdk-date"],
    )
}

/// Status, JSON body (`Null` if none) and headers.
async fn send_full(rb: RequestBuilder) -> (u16, Value, HeaderMap) {
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

async fn get(sim: &DataArtsSim, http: &Client, rest: &str) -> (u16, Value) {
    send(tok(sim, http, Method::GET, &p(sim, rest))).await
}

async fn post(sim: &DataArtsSim, http: &Client, rest: &str) -> (u16, Value) {
    send(tok(sim, http, Method::POST, &p(sim, rest))).await
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An API-gateway error: status, code, and a 32-hex `request_id`.
fn assert_apigw(status: u16, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        is_hex32(body["request_id"].as_str().unwrap_or_default()),
        "{body}"
    );
}

/// A DLF error: HTTP 400 with exactly `{"error_code","error_msg"}`.
fn assert_dlf(status: u16, body: &Value, code: &str, msg: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body, &json!({"error_code": code, "error_msg": msg}));
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn split_run(run: &str) -> (String, u64) {
    let (job, id) = run.rsplit_once('/').unwrap();
    (job.to_owned(), id.parse().unwrap())
}

fn ms(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

// ----- auth ------------------------------------------------------------------

#[tokio::test]
async fn aksk_signatures_are_verified() {
    let sim = DataArtsSim::builder()
        .batch_jobs(3)
        .realtime_jobs(1, 0)
        .insert_job(JobSeed::batch("job with space", "SCHEDULING"))
        .start()
        .await
        .unwrap();
    let http = client();
    let (s, b) = send(signed(
        &sim,
        &http,
        Method::GET,
        &p(&sim, "/jobs?jobType=REAL_TIME&limit=5"),
        b"",
    ))
    .await;
    assert_eq!((s, b["total"].as_u64()), (200, Some(1)), "{b}");
    // A JSON body (content-type signed), an encoded name, a `+` in the query.
    let body = br#"{"jobParams":[{"name":"bizdate","value":"20240619"}]}"#;
    let (s, b) = send(signed(
        &sim,
        &http,
        Method::POST,
        &p(&sim, "/jobs/job%20with%20space/run-immediate"),
        body,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["instanceId"].is_u64());
    let (s, b) = send(signed(
        &sim,
        &http,
        Method::GET,
        &p(
            &sim,
            "/jobs/instances/detail?jobName=job+with&limit=3&status=waiting",
        ),
        b"",
    ))
    .await;
    assert_eq!((s, b["total"].as_u64()), (200, Some(1)), "{b}");
    // Only x-sdk-date signed, the body left unsigned (with the lower-level
    // functions: X-Sdk-Content-Sha256 is sent but not signed).
    let date = now_date();
    let path = p(&sim, "/jobs/job_batch_0001/stop");
    let headers = [
        ("X-Sdk-Date", date.as_str()),
        (signing::HEADER_CONTENT_SHA256, signing::UNSIGNED_PAYLOAD),
    ];
    let canonical = signing::canonical_request("POST", &path, "", &headers, &["x-sdk-date"], b"");
    assert!(canonical.ends_with("\nUNSIGNED-PAYLOAD"));
    let sig = signing::signature(sim.sk(), &signing::string_to_sign(&date, &canonical));
    let (s, _) = send(
        http.post(format!("{}{path}", sim.base_url()))
            .header("X-Sdk-Date", &date)
            .header(signing::HEADER_CONTENT_SHA256, signing::UNSIGNED_PAYLOAD)
            .header(
                "Authorization",
                signing::authorization(sim.ak(), &["x-sdk-date"], &sig),
            )
            .body("whatever the body"),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(sim.signature_failures(), 0);

    // Failures: all 401 APIGW.0301.
    let path = p(&sim, "/jobs");
    let all = ["content-type", "host", "x-sdk-date"];
    let stale = signing::sdk_date(Utc::now() - chrono::Duration::minutes(20));
    let future = signing::sdk_date(Utc::now() + chrono::Duration::minutes(20));
    let tampered = {
        let rb = signed(&sim, &http, Method::GET, &path, b"");
        let req = rb.build().unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap().to_owned();
        let flipped = if auth.ends_with('0') { "1" } else { "0" };
        let auth = format!("{}{flipped}", &auth[..auth.len() - 1]);
        http.get(format!("{}{path}", sim.base_url()))
            .header("X-Sdk-Date", req.headers()["x-sdk-date"].clone())
            .header("Authorization", auth)
    };
    let cases: Vec<(&str, RequestBuilder)> = vec![
        ("tampered", tampered),
        (
            "stale",
            signed_as(
                &sim,
                &http,
                (sim.ak(), sim.sk()),
                Method::GET,
                &path,
                b"",
                &stale,
                &all,
            ),
        ),
        (
            "future",
            signed_as(
                &sim,
                &http,
                (sim.ak(), sim.sk()),
                Method::GET,
                &path,
                b"",
                &future,
                &all,
            ),
        ),
        (
            "unsigned date",
            signed_as(
                &sim,
                &http,
                (sim.ak(), sim.sk()),
                Method::GET,
                &path,
                b"",
                &date,
                &["host"],
            ),
        ),
        (
            "unknown ak",
            signed_as(
                &sim,
                &http,
                ("NOSUCHAK", sim.sk()),
                Method::GET,
                &path,
                b"",
                &date,
                &all,
            ),
        ),
        (
            "wrong sk",
            signed_as(
                &sim,
                &http,
                (sim.ak(), "wrong"),
                Method::GET,
                &path,
                b"",
                &date,
                &all,
            ),
        ),
        (
            "other query",
            signed(&sim, &http, Method::GET, &path, b"").query(&[("limit", "3")]),
        ),
        (
            "body changed",
            signed(
                &sim,
                &http,
                Method::POST,
                &p(&sim, "/jobs/job_batch_0001/start"),
                b"{}",
            )
            .body("{ }"),
        ),
        (
            "bad date format",
            signed_as(
                &sim,
                &http,
                (sim.ak(), sim.sk()),
                Method::GET,
                &path,
                b"",
                "2024-06-19T04:00:00Z",
                &all,
            ),
        ),
        (
            "other scheme",
            http.get(format!("{}{path}", sim.base_url()))
                .header("Authorization", "Bearer abc"),
        ),
    ];
    let n = cases.len() as u64;
    for (what, rb) in cases {
        let (s, b) = send(rb).await;
        assert_apigw(s, &b, 401, "APIGW.0301");
        assert!(
            b["error_msg"]
                .as_str()
                .unwrap()
                .starts_with("Incorrect IAM authentication information: "),
            "{what}: {b}"
        );
    }
    assert_eq!(sim.signature_failures(), n);
    // No credentials at all: 401 too (not a signature failure).
    let (s, b, h) = send_full(http.get(format!("{}{path}", sim.base_url()))).await;
    assert_apigw(s, &b, 401, "APIGW.0301");
    assert_eq!(h["content-type"], "application/json;charset=UTF-8");
    assert_eq!(h["x-request-id"], b["request_id"].as_str().unwrap());
    assert_eq!(sim.signature_failures(), n);
    // The log never shows the signature.
    for r in sim.server().requests() {
        if let Some(a) = r.header("authorization") {
            assert_eq!(a, MASK);
        }
    }
}

#[tokio::test]
async fn iam_grants_tokens_that_expire() {
    let sim = DataArtsSim::builder()
        .seeded_epoch()
        .iam_user("alice", "s3cret-pw", "acme_account")
        .token_ttl(Duration::from_millis(1200))
        .batch_jobs(2)
        .start()
        .await
        .unwrap();
    let http = client();
    assert_ne!(sim.iam_url(), sim.base_url());
    let grant = |user: &str, pw: &str, domain: &str, project: Value| {
        http.post(format!("{}/v3/auth/tokens", sim.iam_url()))
            .json(&json!({
                "auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": user, "password": pw, "domain": {"name": domain}}}},
                    "scope": {"project": project},
                }
            }))
    };
    let project = json!({"id": sim.project_id()});
    let (s, b, h) = send_full(grant("alice", "s3cret-pw", "acme_account", project.clone())).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(h["content-type"], "application/json;charset=UTF-8");
    let token = h["x-subject-token"].to_str().unwrap().to_owned();
    assert!(token.len() > 500, "opaque and long");
    let t = &b["token"];
    let expires = t["expires_at"].as_str().unwrap();
    let issued = t["issued_at"].as_str().unwrap();
    // 2019-02-13T06:52:13.855000Z: six fractional digits and Z.
    for ts in [expires, issued] {
        assert_eq!(ts.len(), 27, "{ts}");
        assert!(ts.ends_with("000Z") && ts.as_bytes()[19] == b'.', "{ts}");
    }
    assert_eq!(
        ms(expires) - ms(issued),
        chrono::Duration::milliseconds(1200)
    );
    assert!(
        issued.starts_with("2024-06-19T04:0"),
        "the simulated clock: {issued}"
    );
    let date = DateTime::parse_from_rfc2822(h["date"].to_str().unwrap()).unwrap();
    assert!((ms(issued) - date.with_timezone(&Utc)).num_seconds().abs() <= 1);
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["catalog"], json!([]));
    assert_eq!(t["project"]["id"], sim.project_id());
    assert_eq!(t["user"]["name"], "alice");
    assert_eq!(sim.token_grants(), 1);

    let list = |token: &str| {
        http.get(format!("{}{}", sim.base_url(), p(&sim, "/jobs")))
            .header("X-Auth-Token", token)
    };
    let (s, b) = send(list(&token)).await;
    assert_eq!((s, b["total"].as_u64()), (200, Some(2)));

    // Wrong user, password or domain: 401, Keystone style.
    let wrong = json!({"error":{"code":401,"title":"Unauthorized","message":"The username or password is wrong."}});
    for (u, pw, d) in [
        ("alice", "nope", "acme_account"),
        ("bob", "s3cret-pw", "acme_account"),
        ("alice", "s3cret-pw", "other"),
    ] {
        let (s, b) = send(grant(u, pw, d, project.clone())).await;
        assert_eq!((s, &b), (401, &wrong));
    }
    // Unknown project: 400. By name: fine.
    let (s, b) = send(grant(
        "alice",
        "s3cret-pw",
        "acme_account",
        json!({"id": "0123"}),
    ))
    .await;
    assert_eq!((s, b["error"]["code"].as_u64()), (400, Some(400)), "{b}");
    let (s, _) = send(grant(
        "alice",
        "s3cret-pw",
        "acme_account",
        json!({"name": "cn-north-4"}),
    ))
    .await;
    assert_eq!(s, 201);
    let (s, _) = send(
        http.post(format!("{}/v3/auth/tokens", sim.iam_url()))
            .body("{not json"),
    )
    .await;
    assert_eq!(s, 400);
    let (s, b) = send(http.get(format!("{}/v3/auth/tokens", sim.iam_url()))).await;
    assert_eq!((s, b["error"]["code"].as_u64()), (404, Some(404)));
    assert_eq!(sim.token_grants(), 2);

    // Expiry, real.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (s, b) = send(list(&token)).await;
    assert_apigw(s, &b, 401, "APIGW.0301");
    assert!(b["error_msg"].as_str().unwrap().contains("expired"), "{b}");
    // And on demand; the static token is unaffected.
    let (_, _, h) = send_full(grant("alice", "s3cret-pw", "acme_account", project)).await;
    let fresh = h["x-subject-token"].to_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    assert_eq!(send(list(&fresh)).await.0, 200);
    sim.expire_tokens();
    assert_eq!(send(list(&fresh)).await.0, 401);
    assert_eq!(send(list(sim.token())).await.0, 200);
    // The IAM log does not show the token; DLF's masks it.
    assert!(
        sim.server()
            .requests()
            .iter()
            .all(|r| r.header("x-auth-token") == Some(MASK))
    );
}

#[tokio::test]
async fn tokens_projects_and_workspaces() {
    let sim = DataArtsSim::builder()
        .workspace("ws-a1b2")
        .batch_jobs(2)
        .realtime_jobs(1, 1)
        .instances(4)
        .insert_job(JobSeed::batch("default_job", "SCHEDULING").with_workspace("default"))
        .start()
        .await
        .unwrap();
    let http = client();
    assert_eq!(sim.workspace(), "ws-a1b2");
    let list = |ws: Option<&str>, q: &str| {
        let mut rb = tok(&sim, &http, Method::GET, &p(&sim, &format!("/jobs{q}")));
        if let Some(ws) = ws {
            rb = rb.header("workspace", ws);
        }
        send(rb)
    };
    // Without the header: the default workspace.
    let (s, b) = list(None, "").await;
    assert_eq!((s, b["total"].as_u64()), (200, Some(1)), "{b}");
    assert_eq!(b["jobs"][0]["name"], "default_job");
    let (_, b) = list(Some("ws-a1b2"), "").await;
    assert_eq!(b["total"], 2);
    let (_, b) = list(Some("ws-a1b2"), "?jobType=REAL_TIME").await;
    assert_eq!(b["total"], 2);
    let (_, b) = list(Some("elsewhere"), "").await;
    assert_eq!(b["total"], 0);
    // A job of another workspace does not exist here.
    let name = sim.job_names(JobType::Batch)[0].clone();
    let (s, b) = get(&sim, &http, &format!("/jobs/{name}")).await;
    assert_dlf(s, &b, "DLF.0100", "The job does not exists.");
    let (s, b) = send(
        tok(&sim, &http, Method::GET, &p(&sim, &format!("/jobs/{name}")))
            .header("workspace", "ws-a1b2"),
    )
    .await;
    assert_eq!((s, b["name"].as_str()), (200, Some(name.as_str())));
    // A window of the last 6 days holds every seeded instance (a daily job's
    // second one is yesterday's).
    let week = sim.clock().now().timestamp_millis() - 6 * 86_400_000;
    let instances = format!("/jobs/instances/detail?minPlanTime={week}");
    let (s, b) =
        send(tok(&sim, &http, Method::GET, &p(&sim, &instances)).header("workspace", "ws-a1b2"))
            .await;
    assert_eq!((s, b["total"].as_u64()), (200, Some(4)));
    let (_, b) = get(&sim, &http, &instances).await;
    assert_eq!(b["total"], 0);

    // Another project in the path: 403 DLF.6888.
    let (s, b) = send(tok(&sim, &http, Method::GET, "/v1/0123456789abcdef/jobs")).await;
    assert_eq!(s, 403);
    assert_eq!(
        b,
        json!({"error_code": "DLF.6888", "error_msg": "Invalid account permissions."})
    );
    // An unknown token.
    let (s, b) = send(
        http.get(format!("{}{}", sim.base_url(), p(&sim, "/jobs")))
            .header("X-Auth-Token", "MIInope"),
    )
    .await;
    assert_apigw(s, &b, 401, "APIGW.0301");
    // Unknown routes: 404 APIGW.0101 (authenticated or not).
    for (m, path) in [
        (Method::GET, "/v1/x/nothing".to_owned()),
        (Method::DELETE, p(&sim, "/jobs/a")),
        (Method::GET, p(&sim, "/jobs/a/stop")),
        (Method::POST, p(&sim, "/jobs")),
    ] {
        let (s, b) = send(tok(&sim, &http, m.clone(), &path)).await;
        assert_apigw(s, &b, 404, "APIGW.0101");
        let (s, b) = send(http.request(m, format!("{}{path}", sim.base_url()))).await;
        assert_apigw(s, &b, 404, "APIGW.0101");
    }
    // The workspace header is logged as is, the token masked.
    let log = sim.server().requests();
    let r = log
        .iter()
        .find(|r| r.header("workspace").is_some())
        .unwrap();
    assert_eq!(r.header("workspace"), Some("ws-a1b2"));
    assert_eq!(r.header("x-auth-token"), Some(MASK));
    // Env for the adapter.
    let env = sim.env_token();
    assert_eq!(
        env,
        vec![
            ("JOBSTOP_DATAARTS_BASE_URL".to_owned(), sim.base_url()),
            (
                "JOBSTOP_DATAARTS_PROJECT_ID".to_owned(),
                sim.project_id().to_owned()
            ),
            (
                "JOBSTOP_DATAARTS_WORKSPACE".to_owned(),
                "ws-a1b2".to_owned()
            ),
            ("JOBSTOP_DATAARTS_TOKEN".to_owned(), sim.token().to_owned()),
        ]
    );
    let iam: Vec<String> = sim.env_iam().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        iam[3..],
        [
            "JOBSTOP_DATAARTS_IAM_URL",
            "JOBSTOP_DATAARTS_USERNAME",
            "JOBSTOP_DATAARTS_PASSWORD",
            "JOBSTOP_DATAARTS_DOMAIN"
        ]
    );
}

// ----- listings --------------------------------------------------------------

#[tokio::test]
async fn job_list_pages_types_and_names() {
    let sim = DataArtsSim::builder()
        .seed(3)
        .batch_jobs(25)
        .realtime_jobs(3, 2)
        .start()
        .await
        .unwrap();
    let http = client();
    let mut names = Vec::new();
    // `offset` is a page number (HSDK list_jobs_request.py: "页数").
    for (offset, len) in [(0, 10), (1, 10), (2, 5)] {
        let (s, b) = get(&sim, &http, &format!("/jobs?limit=10&offset={offset}")).await;
        assert_eq!(s, 200);
        assert_eq!(b["total"], 25);
        let jobs = b["jobs"].as_array().unwrap();
        assert_eq!(jobs.len(), len);
        for j in jobs {
            assert_eq!(j["jobType"], "BATCH");
            assert!(
                keys(j).is_superset(&set(&[
                    "name",
                    "jobType",
                    "status",
                    "createUser",
                    "createTime",
                    "owner",
                    "priority",
                    "lastUpdateTime",
                    "lastUpdateUser",
                    "path",
                    "singleNodeJobFlag",
                ])),
                "{j}"
            );
            assert!(j["createTime"].is_i64());
            assert!(["SCHEDULING", "PAUSED", "STOPPED"].contains(&j["status"].as_str().unwrap()));
            names.push(j["name"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names, sim.job_names(JobType::Batch));
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 25);
    assert!(names.iter().all(|n| n.starts_with("job_batch_00")));
    let (_, all) = get(&sim, &http, "/jobs?limit=100").await;
    let times: Vec<i64> = all["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["createTime"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "createTime descending"
    );
    // Defaults: BATCH, 10 per page; past the end: empty.
    let (_, b) = get(&sim, &http, "/jobs").await;
    assert_eq!(b["jobs"].as_array().unwrap().len(), 10);
    let (_, b) = get(&sim, &http, "/jobs?offset=3").await;
    assert_eq!(
        (b["total"].as_u64(), b["jobs"].as_array().unwrap().len()),
        (Some(25), 0)
    );
    // The other reading (a switch): `offset` counts records.
    let records = DataArtsSim::builder()
        .seed(3)
        .batch_jobs(25)
        .realtime_jobs(3, 2)
        .readings([Reading::RecordOffset])
        .start()
        .await
        .unwrap();
    let (_, b) = get(&records, &http, "/jobs?limit=10&offset=3").await;
    let got: Vec<&str> = b["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, names[3..13]);
    // Real-time jobs.
    let (_, b) = get(&sim, &http, "/jobs?jobType=REAL_TIME").await;
    assert_eq!(b["total"], 5);
    let rt: Vec<&Value> = b["jobs"].as_array().unwrap().iter().collect();
    assert_eq!(
        rt.iter()
            .map(|j| j["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        sim.job_names(JobType::RealTime)
    );
    for j in &rt {
        assert!(j["name"].as_str().unwrap().starts_with("rt_"));
        assert!(j["startTime"].is_i64());
        assert_eq!(j.get("endTime").is_some(), j["status"] == "STOPPED", "{j}");
        assert!(j.get("lastInstanceStatus").is_none());
    }
    assert_eq!(rt.iter().filter(|j| j["status"] == "NORMAL").count(), 3);
    // jobName: a case-sensitive substring.
    let (_, b) = get(&sim, &http, "/jobs?jobName=batch_001&limit=100").await;
    assert_eq!(b["total"], 10);
    let (_, b) = get(&sim, &http, "/jobs?jobName=BATCH").await;
    assert_eq!(b["total"], 0);
    // Invalid parameters.
    for bad in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "offset=-1",
        "jobType=STREAMING",
    ] {
        let (s, b) = get(&sim, &http, &format!("/jobs?{bad}")).await;
        assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");
    }
}

#[tokio::test]
async fn instance_list_pages_250_items_once_each() {
    let sim = DataArtsSim::builder()
        .seeded_epoch()
        .seed(5)
        .batch_jobs(8)
        .instances(250)
        .running_instances(7)
        .start()
        .await
        .unwrap();
    let http = client();
    let mut seen = Vec::new();
    let mut items = Vec::new();
    // Windows of at most 7 days (HSDK list_job_instances_request.py), newest
    // first, each paged by page number, back 8 weeks from the epoch.
    const WEEK: i64 = 7 * 86_400_000;
    let now = ms("2024-06-19T04:00:00Z").timestamp_millis() + 60_000;
    for k in 0..8 {
        let (lo, hi) = (now - (k + 1) * WEEK + 1, now - k * WEEK);
        for page in 0.. {
            let (s, b) = get(
                &sim,
                &http,
                &format!(
                    "/jobs/instances/detail?limit=100&offset={page}&minPlanTime={lo}&maxPlanTime={hi}"
                ),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            let got = b["instances"].as_array().unwrap();
            for i in got {
                seen.push(format!(
                    "{}/{}",
                    i["jobName"].as_str().unwrap(),
                    i["instanceId"]
                ));
                items.push(i.clone());
            }
            if (page + 1) * 100 >= b["total"].as_u64().unwrap() {
                break;
            }
        }
    }
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 250);
    assert_eq!(seen, sim.instance_ids(None));
    for w in items.windows(2) {
        let key = |i: &Value| {
            (
                i["planTime"].as_i64().unwrap(),
                i["instanceId"].as_u64().unwrap(),
            )
        };
        assert!(key(&w[0]) > key(&w[1]), "planTime desc, then id desc");
    }
    let base = set(&[
        "jobName",
        "jobInstanceName",
        "status",
        "planTime",
        "startTime",
        "instanceId",
        "jobId",
        "submitTime",
        "instanceType",
        "forceSuccess",
        "ignoreSuccess",
        "version",
    ]);
    let mut statuses = BTreeSet::new();
    for i in &items {
        let status = i["status"].as_str().unwrap();
        statuses.insert(status.to_owned());
        let mut want = base.clone();
        if ["success", "fail", "manual-stop"].contains(&status) {
            want.insert("endTime".to_owned());
            want.insert("executeTime".to_owned());
            assert!(i["executeTime"].as_i64().unwrap() >= 0, "{i}");
        }
        assert_eq!(keys(i), want, "{i}");
        assert!(i["instanceId"].as_u64().unwrap() > 340_000_000);
        assert_eq!(i["jobInstanceName"], i["jobName"]);
        assert!([0, 2, 5].contains(&i["instanceType"].as_u64().unwrap()));
        assert!(i["submitTime"].as_i64() <= i["planTime"].as_i64());
    }
    assert!(statuses.len() >= 4, "a mix of statuses: {statuses:?}");
    assert_eq!(sim.instance_ids(Some("running")).len(), 7);
    let (_, b) = get(
        &sim,
        &http,
        &format!(
            "/jobs/instances/detail?status=running&limit=100&minPlanTime={}",
            now - WEEK
        ),
    )
    .await;
    assert_eq!(b["total"], 7);
    // The newest seven are the running ones.
    assert!(items[..7].iter().all(|i| i["status"] == "running"));
    // Defaults: 10 a page, planned today (from 00:00 UTC) until now.
    let midnight = ms("2024-06-19T00:00:00Z").timestamp_millis();
    let today: Vec<&Value> = items
        .iter()
        .filter(|i| i["planTime"].as_i64().unwrap() >= midnight)
        .collect();
    assert!(!today.is_empty() && today.len() < 250);
    let (_, b) = get(&sim, &http, "/jobs/instances/detail").await;
    assert_eq!(b["total"], today.len());
    assert_eq!(
        b["instances"].as_array().unwrap().len(),
        today.len().min(10)
    );
    let (s, b) = get(&sim, &http, "/jobs/instances/detail?limit=1000").await;
    assert_eq!(
        (s, b["instances"].as_array().unwrap().len()),
        (200, today.len())
    );
    // A range over 7 days is refused, even one made by the defaults.
    let eight = now - 8 * 86_400_000;
    for bad in [
        "limit=1001",
        "limit=0",
        "offset=x",
        "minPlanTime=yesterday",
        "preciseQuery=maybe",
        &format!("minPlanTime={eight}&maxPlanTime={now}"),
        &format!("minPlanTime={eight}"),
        &format!("minPlanTime=0&maxPlanTime={}", WEEK + 1),
    ] {
        let (s, b) = get(&sim, &http, &format!("/jobs/instances/detail?{bad}")).await;
        assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");
    }
    // Batch jobs report their newest instance.
    let (_, jobs) = get(&sim, &http, "/jobs?limit=100").await;
    for j in jobs["jobs"].as_array().unwrap() {
        let name = j["name"].as_str().unwrap();
        let newest = items.iter().find(|i| i["jobName"] == name).unwrap();
        assert_eq!(j["lastInstanceStatus"], newest["status"], "{j}");
        assert_eq!(j.get("lastInstanceEndTime"), newest.get("endTime"));
    }
}

#[tokio::test]
async fn instance_filters() {
    let t = |s: &str| ms(s);
    let sim = DataArtsSim::builder()
        .seeded_epoch()
        .insert_job(JobSeed::batch("etl_orders", "SCHEDULING"))
        .insert_job(JobSeed::batch("etl_orders_v2", "SCHEDULING"))
        .insert_job(JobSeed::batch("report", "PAUSED"))
        .insert_instance(
            InstanceSeed::new("etl_orders", "success")
                .with_id(9001)
                .with_plan_time(t("2024-06-18T01:00:00Z")),
        )
        .insert_instance(
            InstanceSeed::new("etl_orders", "running")
                .with_id(9002)
                .with_plan_time(t("2024-06-18T02:00:00Z")),
        )
        .insert_instance(
            InstanceSeed::new("etl_orders_v2", "fail")
                .with_id(9003)
                .with_plan_time(t("2024-06-18T02:00:00Z"))
                .with_instance_type(2),
        )
        .insert_instance(
            InstanceSeed::new("report", "running")
                .with_id(9004)
                .with_plan_time(t("2024-06-18T03:00:00Z")),
        )
        .start()
        .await
        .unwrap();
    let http = client();
    let ids = |q: String| {
        let (sim, http) = (&sim, &http);
        async move {
            let (s, b) = get(sim, http, &format!("/jobs/instances/detail?limit=100&{q}")).await;
            assert_eq!(s, 200, "{b}");
            let v: Vec<u64> = b["instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["instanceId"].as_u64().unwrap())
                .collect();
            assert_eq!(b["total"], v.len());
            v
        }
    };
    let at = |s: &str| t(s).timestamp_millis();
    // Without a window, only today's (2024-06-19) instances: none here.
    let (_, b) = get(&sim, &http, "/jobs/instances/detail").await;
    assert_eq!(b["total"], 0);
    let from = at("2024-06-17T00:00:00Z");
    let ids = |q: String| {
        let q = if q.contains("minPlanTime") {
            q
        } else {
            format!("minPlanTime={from}&{q}")
        };
        ids(q)
    };
    assert_eq!(ids(String::new()).await, [9004, 9003, 9002, 9001]);
    assert_eq!(ids("status=running".into()).await, [9004, 9002]);
    assert_eq!(ids("status=waiting".into()).await, Vec::<u64>::new());
    // Inclusive bounds on planTime.
    let two = at("2024-06-18T02:00:00Z");
    assert_eq!(ids(format!("minPlanTime={two}")).await, [9004, 9003, 9002]);
    assert_eq!(ids(format!("maxPlanTime={two}")).await, [9003, 9002, 9001]);
    assert_eq!(
        ids(format!("minPlanTime={two}&maxPlanTime={two}")).await,
        [9003, 9002]
    );
    assert_eq!(ids(format!("minPlanTime={}", two + 1)).await, [9004]);
    // jobName: substring, or exact with preciseQuery.
    assert_eq!(ids("jobName=etl_orders".into()).await, [9003, 9002, 9001]);
    assert_eq!(
        ids("jobName=etl_orders&preciseQuery=true".into()).await,
        [9002, 9001]
    );
    assert_eq!(ids("jobName=orders_v".into()).await, [9003]);
    assert_eq!(ids("jobName=ETL".into()).await, Vec::<u64>::new());
    assert_eq!(ids("instanceType=2".into()).await, [9003]);
    assert_eq!(
        ids(format!("jobName=etl&status=running&maxPlanTime={two}")).await,
        [9002]
    );
}

// ----- errors ----------------------------------------------------------------

#[tokio::test]
async fn not_found_and_wrong_type_are_http_400() {
    let sim = DataArtsSim::builder()
        .realtime_jobs(1, 0)
        .insert_job(JobSeed::batch("b1", "SCHEDULING"))
        .insert_job(JobSeed::batch("b2", "SCHEDULING"))
        .insert_instance(InstanceSeed::new("b1", "running").with_id(34_765))
        .start()
        .await
        .unwrap();
    let http = client();
    let nf = "The job does not exists.";
    for (m, rest) in [
        (Method::GET, "/jobs/nope"),
        (Method::GET, "/jobs/nope/status"),
        (Method::POST, "/jobs/nope/stop"),
        (Method::POST, "/jobs/nope/start"),
        (Method::POST, "/jobs/nope/run-immediate"),
        (Method::GET, "/jobs/nope/instances/34765"),
        (Method::POST, "/jobs/nope/instances/34765/stop"),
        (Method::GET, "/jobs/B1"),
    ] {
        let (s, b, h) = send_full(tok(&sim, &http, m, &p(&sim, rest))).await;
        assert_dlf(s, &b, "DLF.0100", nf);
        assert_eq!(h["content-type"], "application/json;charset=UTF-8");
    }
    let inf = "The job instance does not exist.";
    for (m, rest) in [
        (Method::GET, "/jobs/b1/instances/1"),
        (Method::GET, "/jobs/b1/instances/abc"),
        (Method::GET, "/jobs/b1/instances/-1"),
        (Method::GET, "/jobs/b2/instances/34765"),
        (
            Method::POST,
            "/jobs/b1/instances/99999999999999999999999/stop",
        ),
        (Method::POST, "/jobs/b2/instances/34765/stop"),
    ] {
        let (s, b) = send(tok(&sim, &http, m, &p(&sim, rest))).await;
        assert_dlf(s, &b, "DLF.0137", inf);
    }
    let (s, b) = get(&sim, &http, "/jobs/b1/instances/34765").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("running")));
    // Job-type mismatches.
    let (s, b) = get(&sim, &http, "/jobs/b1/status").await;
    assert_dlf(s, &b, "DLF.0136", "This API is only for real-time jobs.");
    let rt = sim.job_names(JobType::RealTime)[0].clone();
    let (s, b) = post(&sim, &http, &format!("/jobs/{rt}/run-immediate")).await;
    assert_dlf(s, &b, "DLF.0136", "This API is only for batch jobs.");
    // Stops that reached the handler are counted by path segment.
    assert_eq!(sim.stop_requests("nope"), 1);
    assert_eq!(sim.stop_requests("nope/34765"), 1);
    assert_eq!(sim.stop_requests("b2/34765"), 1);
    assert_eq!(sim.total_stop_requests(), 4);
    assert_eq!(
        sim.instance_json("b1", 34_765).unwrap()["status"],
        "running"
    );
}

/// Routing, parameter checks, `jobParams` bodies, instance ids and
/// `executeTime` in minutes, each through the wire.
#[tokio::test]
async fn routes_parameters_bodies_and_ids() {
    let sim = DataArtsSim::builder()
        .project_id("p q")
        .insert_job(JobSeed::batch("my job", "SCHEDULING"))
        .insert_job(JobSeed::batch("a/b", "SCHEDULING"))
        .insert_job(JobSeed::batch("j", "SCHEDULING"))
        .insert_instance(InstanceSeed::new("j", "running").with_id(34_765))
        .start()
        .await
        .unwrap();
    let http = client();
    let base = "/v1/p%20q/jobs";
    let at = |m: Method, path: &str| tok(&sim, &http, m, path);
    assert_eq!(send(at(Method::GET, base)).await.0, 200, "project decoded");
    let (s, b) = send(at(Method::GET, &format!("{base}/instances/detail"))).await;
    assert!(s == 200 && b["instances"].is_array(), "{b}");
    let (s, b) = send(at(Method::GET, &format!("{base}/my%20job"))).await;
    assert_eq!((s, b["name"].as_str()), (200, Some("my job")));
    let (s, b) = send(at(Method::POST, &format!("{base}/instances/stop"))).await;
    assert_dlf(s, &b, "DLF.0100", "The job does not exists.");
    assert_eq!(sim.stop_requests("instances"), 1, "a job named instances");
    let inf = "The job instance does not exist.";
    for (m, rest) in [
        (Method::POST, "/j/instances/12/stop"),
        (Method::GET, "/a%2Fb/instances/x"),
    ] {
        let (s, b) = send(at(m, &format!("{base}{rest}"))).await;
        assert_dlf(s, &b, "DLF.0137", inf);
    }
    for id in ["1e3", "-1", "+1", "%201", "99999999999999999999999"] {
        let (s, b) = send(at(Method::GET, &format!("{base}/j/instances/{id}"))).await;
        assert_dlf(s, &b, "DLF.0137", inf);
    }
    let (s, b) = send(at(Method::GET, &format!("{base}/j/instances/34765"))).await;
    assert_eq!((s, b["instanceId"].as_u64()), (200, Some(34_765)));
    for (m, path) in [
        (Method::POST, base.to_owned()),
        (Method::GET, format!("{base}/j/stop")),
        (Method::DELETE, format!("{base}/j")),
        (Method::GET, format!("{base}/")),
        (Method::GET, "/v1//jobs".to_owned()),
        (Method::GET, "/v2/p%20q/jobs".to_owned()),
        (Method::GET, format!("{base}/j/instances/1/stop/x")),
    ] {
        let (s, b) = send(at(m.clone(), &path)).await;
        assert_apigw(s, &b, 404, "APIGW.0101");
    }
    // Query parameters.
    let query = |rest: &str, q: &str| send(at(Method::GET, &format!("{base}{rest}?{q}")));
    for q in ["", "limit=100&offset=5&jobType=REAL_TIME"] {
        assert_eq!(query("", q).await.0, 200, "{q}");
    }
    for q in [
        "limit=0",
        "limit=101",
        "limit=x",
        "offset=-1",
        "jobType=batch",
        "limit=1.5",
    ] {
        let (s, b) = query("", q).await;
        assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");
    }
    let detail = "/instances/detail";
    for q in [
        "limit=1000&preciseQuery=TRUE",
        "minPlanTime=-5&maxPlanTime=0",
    ] {
        assert_eq!(query(detail, q).await.0, 200, "{q}");
    }
    for q in [
        "limit=1001",
        "minPlanTime=x",
        "preciseQuery=yes",
        "instanceType=a",
    ] {
        let (s, b) = query(detail, q).await;
        assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");
    }
    // `jobParams` bodies of run-immediate.
    let run = format!("{base}/j/run-immediate");
    for body in [
        "",
        "  \n",
        "{}",
        r#"{"jobParams":[{"name":"a","value":"1"}]}"#,
    ] {
        let (s, b) = send(at(Method::POST, &run).body(body)).await;
        assert!(s == 200 && b["instanceId"].is_u64(), "{body:?}: {b}");
    }
    for body in [
        "[]",
        "nope",
        r#"{"jobParams":{}}"#,
        r#"{"jobParams":[{"value":"1"}]}"#,
    ] {
        let (s, b) = send(at(Method::POST, &run).body(body)).await;
        assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");
    }
    // `executeTime` in minutes, one decimal, never negative.
    let t0 = ms("2024-06-19T01:00:00Z");
    let mut builder = DataArtsSim::builder()
        .insert_job(JobSeed::batch("b", "SCHEDULING"))
        .readings([Reading::ExecuteTimeMinutes]);
    for (id, secs) in [(1, 0), (2, -5), (3, 90), (4, 61)] {
        builder = builder.insert_instance(
            InstanceSeed::new("b", "success")
                .with_id(id)
                .with_start_time(t0)
                .with_end_time(t0 + chrono::Duration::seconds(secs)),
        );
    }
    let minutes = builder.start().await.unwrap();
    for (id, want) in [(1, 0.0), (2, 0.0), (3, 1.5), (4, 1.0)] {
        let d = minutes.instance_json("b", id).unwrap();
        assert_eq!(d["executeTime"].as_f64(), Some(want), "{d}");
    }
}

// ----- stops -----------------------------------------------------------------

#[tokio::test]
async fn realtime_job_stops_through_stopping_and_starts_again() {
    let sim = DataArtsSim::builder()
        .realtime_jobs(2, 1)
        .stop_delay(Duration::from_millis(300))
        .start_delay(Duration::from_millis(250))
        .start()
        .await
        .unwrap();
    let http = client();
    let name = sim
        .job_names(JobType::RealTime)
        .into_iter()
        .find(|n| sim.raw_state(n).as_deref() == Some("NORMAL"))
        .unwrap();
    let status = |name: String| {
        let (sim, http) = (&sim, &http);
        async move { get(sim, http, &format!("/jobs/{name}/status")).await.1 }
    };
    let st = status(name.clone()).await;
    assert_eq!(st["name"], name.as_str());
    assert_eq!(st["status"], "NORMAL");
    // HSDK show_job_status_response.py: string times, `starttime`.
    let num = |v: &Value| v.as_str().unwrap().parse::<i64>().unwrap();
    assert!(
        num(&st["starttime"]) > 0 && num(&st["lastUpdateTime"]) > 0,
        "{st}"
    );
    assert!(st.get("startTime").is_none() && st.get("endTime").is_none());
    assert_eq!(
        keys(&st),
        set(&[
            "name",
            "status",
            "nodes",
            "starttime",
            "lastUpdateTime",
            "createUser",
            "lastModifiyUser"
        ])
    );
    let node = &st["nodes"][0];
    assert_eq!(node["status"], "running");
    assert_eq!(node["lastInstanceStatus"], "waiting");
    assert!(node["nodeType"].is_string());
    assert!(
        node["name"].as_str().unwrap().contains("_Flink_Job_"),
        "{node}"
    );

    let resp = tok(
        &sim,
        &http,
        Method::POST,
        &p(&sim, &format!("/jobs/{name}/stop")),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(resp.headers().get("content-type").is_none());
    assert!(resp.bytes().await.unwrap().is_empty(), "204, no body");
    assert_eq!(status(name.clone()).await["status"], "STOPPING");
    let (s, b) = post(&sim, &http, &format!("/jobs/{name}/stop")).await;
    assert_dlf(s, &b, "DLF.0102", "The job is not running.");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let st = status(name.clone()).await;
    assert_eq!(st["status"], "STOPPED");
    assert!(num(&st["endTime"]) >= num(&st["starttime"]));
    let (_, l) = get(
        &sim,
        &http,
        &format!("/jobs?jobType=REAL_TIME&jobName={name}"),
    )
    .await;
    assert_eq!(l["jobs"][0]["status"], "STOPPED");
    // One last-update time: the stop's end, in the list as in `/status`.
    assert_eq!(st["lastUpdateTime"], st["endTime"]);
    let listed = l["jobs"][0]["lastUpdateTime"].as_i64();
    assert_eq!(listed, Some(num(&st["lastUpdateTime"])));
    let (s, b) = post(&sim, &http, &format!("/jobs/{name}/stop")).await;
    assert_dlf(s, &b, "DLF.0102", "The job is not running.");
    assert_eq!(sim.stop_requests(&name), 3);

    // Start: STARTING, then NORMAL; starting a running job is refused.
    let (s, _) = send(
        tok(
            &sim,
            &http,
            Method::POST,
            &p(&sim, &format!("/jobs/{name}/start")),
        )
        .json(&json!({"jobParams": [{"name": "p", "value": "1", "paramType": "variable"}]})),
    )
    .await;
    assert_eq!(s, 204);
    let st = status(name.clone()).await;
    assert_eq!(st["status"], "STARTING");
    assert!(st.get("endTime").is_none());
    let (s, b) = post(&sim, &http, &format!("/jobs/{name}/start")).await;
    assert_dlf(s, &b, "DLF.0103", "The job is already running.");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(name.clone()).await["status"], "NORMAL");

    // EXCEPTION (a fault) is stoppable; advance() skips the delay.
    assert!(sim.set_status(&name, "EXCEPTION"));
    assert_eq!(status(name.clone()).await["status"], "EXCEPTION");
    assert_eq!(
        post(&sim, &http, &format!("/jobs/{name}/stop")).await.0,
        204
    );
    assert!(sim.advance(&name));
    assert_eq!(sim.raw_state(&name).as_deref(), Some("STOPPED"));
    assert!(!sim.advance(&name));
    assert!(!sim.set_status("nope", "NORMAL"));
}

#[tokio::test]
async fn detail_and_status_time_formats_are_switches() {
    // HSDK show_job_response.py: createTime int; OTC viewing_job_details.rst
    // example: "1695642745000". HSDK show_job_status_response.py: times are
    // strings; OTC calls them "Date".
    let build = |readings: &[Reading]| {
        DataArtsSim::builder()
            .insert_job(
                JobSeed::realtime("rt", "STOPPED").with_create_time(ms("2024-06-18T01:02:03Z")),
            )
            .readings(readings.to_vec())
            .start()
    };
    let http = client();
    let a = build(&[]).await.unwrap();
    let b = build(&[Reading::CreateTimeString, Reading::StatusTimeDates])
        .await
        .unwrap();
    let t = ms("2024-06-18T01:02:03Z").timestamp_millis();
    assert_eq!(a.job_json("rt").unwrap()["createTime"], t);
    assert_eq!(b.job_json("rt").unwrap()["createTime"], t.to_string());
    let (_, st) = get(&a, &http, "/jobs/rt/status").await;
    assert_eq!(st["starttime"], t.to_string());
    assert_eq!(st["endTime"], t.to_string());
    let (_, st) = get(&b, &http, "/jobs/rt/status").await;
    assert_eq!(st["starttime"], "2024-06-18T01:02:03.000Z");
    assert_eq!(st["endTime"], "2024-06-18T01:02:03.000Z");
    // executeTime: ms (HSDK), or minutes as in the OTC example.
    let minutes = DataArtsSim::builder()
        .insert_job(JobSeed::batch("b", "SCHEDULING"))
        .insert_instance(
            InstanceSeed::new("b", "success")
                .with_id(1)
                .with_start_time(ms("2024-06-19T01:00:00Z"))
                .with_end_time(ms("2024-06-19T01:00:18Z")),
        )
        .readings([Reading::ExecuteTimeMinutes])
        .start()
        .await
        .unwrap();
    assert_eq!(minutes.instance_json("b", 1).unwrap()["executeTime"], 0.3);
    for sim in [&a, &b] {
        let d = sim.job_json("rt").unwrap();
        assert_eq!(d["processType"], "REAL_TIME");
        assert!(
            d.get("status").is_none() && d.get("jobType").is_none(),
            "{d}"
        );
    }
}

#[tokio::test]
async fn batch_job_stop_is_immediate() {
    let sim = DataArtsSim::builder()
        .insert_job(JobSeed::batch("sched", "SCHEDULING"))
        .insert_job(JobSeed::batch("paused", "PAUSED"))
        .insert_job(JobSeed::batch("stopped", "STOPPED"))
        .start()
        .await
        .unwrap();
    let http = client();
    for name in ["sched", "paused"] {
        let (s, b) = post(&sim, &http, &format!("/jobs/{name}/stop")).await;
        assert_eq!((s, b), (204, Value::Null));
        assert_eq!(sim.raw_state(name).as_deref(), Some("STOPPED"));
    }
    let (s, b) = post(&sim, &http, "/jobs/stopped/stop").await;
    assert_dlf(s, &b, "DLF.0102", "The job is not running.");
    let (s, _) = post(&sim, &http, "/jobs/stopped/start").await;
    assert_eq!(s, 204);
    assert_eq!(sim.raw_state("stopped").as_deref(), Some("SCHEDULING"));
    let (s, b) = post(&sim, &http, "/jobs/stopped/start").await;
    assert_dlf(s, &b, "DLF.0103", "The job is already running.");
    let (s, b) =
        send(tok(&sim, &http, Method::POST, &p(&sim, "/jobs/sched/start")).body("[1]")).await;
    assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");
    // The detail view: HSDK show_job_response.py, no status, no jobType.
    let d = sim.job_json("sched").unwrap();
    assert_eq!(
        keys(&d),
        set(&[
            "name",
            "nodes",
            "schedule",
            "params",
            "directory",
            "downstreamJobs",
            "processType",
            "id",
            "createTime",
            "singleNodeJobFlag",
            "lastUpdateUser",
            "logPath",
            "basicConfig",
            "description",
            "cleanOverdueDays",
            "cleanWaitingJob",
            "emptyRunningJob",
            "version",
        ])
        .union(&if d["singleNodeJobFlag"] == true {
            set(&["singleNodeJobType"])
        } else {
            set(&[])
        })
        .cloned()
        .collect::<BTreeSet<_>>()
    );
    assert_eq!(d["processType"], "BATCH");
    assert!(d["createTime"].is_i64() && d["id"].is_u64() && d["version"].is_string());
    assert!(!d["nodes"].as_array().unwrap().is_empty());
    assert_eq!(d["schedule"]["type"], "CRON");
    assert_eq!(sim.total_stop_requests(), 3);

    // The not-running code is configurable.
    let other = DataArtsSim::builder()
        .not_running_code("DLF.9999")
        .insert_job(JobSeed::batch("stopped", "STOPPED"))
        .start()
        .await
        .unwrap();
    let (s, b) = post(&other, &http, "/jobs/stopped/stop").await;
    assert_dlf(s, &b, "DLF.9999", "The job is not running.");
}

#[tokio::test]
async fn instance_stop_running_waiting_and_finished() {
    let job = "job_a";
    let seeds = [
        (5001, "running"),
        (5002, "waiting"),
        (5003, "success"),
        (5004, "fail"),
        (5005, "pause"),
        (5006, "manual-stop"),
    ];
    let mut b = DataArtsSim::builder().insert_job(JobSeed::batch(job, "SCHEDULING"));
    for (id, status) in seeds {
        b = b.insert_instance(InstanceSeed::new(job, status).with_id(id));
    }
    let sim = b.clone().start().await.unwrap();
    let http = client();
    let stop = |id: u64| {
        let (sim, http) = (&sim, &http);
        async move { post(sim, http, &format!("/jobs/{job}/instances/{id}/stop")).await }
    };
    assert!(
        sim.instance_json(job, 5001)
            .unwrap()
            .get("endTime")
            .is_none()
    );
    assert_eq!(stop(5001).await, (204, Value::Null));
    let d = sim.instance_json(job, 5001).unwrap();
    assert_eq!(d["status"], "manual-stop");
    assert!(d["endTime"].as_i64() >= d["startTime"].as_i64());
    let (s, b2) = stop(5001).await;
    assert_dlf(s, &b2, "DLF.0102", "The job instance is not running.");
    // Waiting: canceled (an inference; switchable).
    assert_eq!(stop(5002).await.0, 204);
    assert_eq!(
        sim.instance_json(job, 5002).unwrap()["status"],
        "manual-stop"
    );
    for id in [5003, 5004, 5005, 5006] {
        let before = sim.instance_json(job, id).unwrap();
        let (s, body) = stop(id).await;
        assert_dlf(s, &body, "DLF.0102", "The job instance is not running.");
        assert_eq!(sim.instance_json(job, id).unwrap(), before);
    }
    assert_eq!(sim.stop_requests("job_a/5001"), 2);
    assert_eq!(sim.total_stop_requests(), 7);
    // InstanceDetail shape.
    let d = sim.instance_json(job, 5003).unwrap();
    assert_eq!(
        keys(&d),
        set(&[
            "jobName",
            "instanceId",
            "status",
            "planTime",
            "startTime",
            "endTime",
            "executeTime",
            "total",
            "instanceType",
            "forceSuccess",
            "ignoreSuccess",
            "nodes"
        ])
    );
    assert_eq!(d["total"], d["nodes"].as_array().unwrap().len());
    for n in d["nodes"].as_array().unwrap() {
        assert!(keys(n).is_superset(&set(&[
            "nodeName",
            "status",
            "planTime",
            "startTime",
            "type",
            "retryTimes",
            "instanceId"
        ])));
        assert_eq!(n["status"], "success");
    }
    let (s, over_http) = get(&sim, &http, &format!("/jobs/{job}/instances/5003")).await;
    assert_eq!((s, &over_http), (200, &d));

    let strict = b
        .readings([Reading::WaitingStopRejected])
        .start()
        .await
        .unwrap();
    let (s, body) = post(&strict, &http, &format!("/jobs/{job}/instances/5002/stop")).await;
    assert_dlf(s, &body, "DLF.0102", "The job instance is not running.");
    assert_eq!(
        strict.instance_json(job, 5002).unwrap()["status"],
        "waiting"
    );
    assert!(strict.set_status(&format!("{job}/5002"), "running"));
    assert_eq!(
        post(&strict, &http, &format!("/jobs/{job}/instances/5002/stop"))
            .await
            .0,
        204
    );
    assert!(!strict.set_status(&format!("{job}/1"), "running"));
}

// ----- progress ----------------------------------------------------------------

#[tokio::test]
async fn run_immediate_progresses_on_its_own() {
    let sim = DataArtsSim::builder()
        .batch_jobs(1)
        .instances(3)
        .running_instances(1)
        .instance_durations(Duration::from_millis(200), Duration::from_millis(400))
        .start()
        .await
        .unwrap();
    let http = client();
    let job = sim.job_names(JobType::Batch)[0].clone();
    let (s, b, h) = send_full(tok(
        &sim,
        &http,
        Method::POST,
        &p(&sim, &format!("/jobs/{job}/run-immediate")),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(h["content-type"], "application/json;charset=UTF-8");
    assert_eq!(keys(&b), set(&["instanceId"]));
    let id = b["instanceId"].as_u64().unwrap();
    let d = sim.instance_json(&job, id).unwrap();
    assert_eq!(d["status"], "waiting");
    assert_eq!(
        sim.instance_ids(None)[0],
        format!("{job}/{id}"),
        "the newest"
    );
    let (_, l) = get(&sim, &http, "/jobs/instances/detail?limit=1").await;
    assert_eq!(l["instances"][0]["instanceType"], 2);
    assert_eq!(l["instances"][0]["instanceId"], id);
    assert!(d.get("executeTime").is_none(), "not before it ends");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let d = sim.instance_json(&job, id).unwrap();
    assert_eq!(d["status"], "running");
    assert!(d["startTime"].as_i64().unwrap() >= d["planTime"].as_i64().unwrap() + 200);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let d = sim.instance_json(&job, id).unwrap();
    assert_eq!(d["status"], "success");
    assert_eq!(
        d["endTime"].as_i64().unwrap() - d["startTime"].as_i64().unwrap(),
        400
    );
    // HSDK job_instance.py: milliseconds, an int.
    assert_eq!(d["executeTime"], 400);
    let (_, j) = get(&sim, &http, &format!("/jobs?jobName={job}")).await;
    assert_eq!(j["jobs"][0]["lastInstanceStatus"], "success");
    // Seeded running instances keep running by default.
    assert_eq!(sim.instance_ids(Some("running")).len(), 1);
    let (s, b) = send(
        tok(
            &sim,
            &http,
            Method::POST,
            &p(&sim, &format!("/jobs/{job}/run-immediate")),
        )
        .json(&json!({"jobParams": "nope"})),
    )
    .await;
    assert_dlf(s, &b, "DLF.3051", "The request parameter is invalid.");

    // Opt-in: seeded ones finish too; a fail share.
    let sim = DataArtsSim::builder()
        .batch_jobs(2)
        .instances(6)
        .running_instances(2)
        .insert_instance(InstanceSeed::new("job_batch_0001", "waiting").with_id(1))
        .seeded_instances_finish_after(Some(Duration::from_millis(100)))
        .instance_durations(Duration::from_millis(50), Duration::from_millis(50))
        .instance_fail_percent(100)
        .start()
        .await
        .unwrap();
    let http = client();
    let (_, b) = post(&sim, &http, "/jobs/job_batch_0002/run-immediate").await;
    let id = b["instanceId"].as_u64().unwrap();
    assert_eq!(sim.instance_ids(Some("running")).len(), 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(sim.instance_ids(Some("running")).is_empty());
    assert!(sim.instance_ids(Some("waiting")).is_empty());
    assert_eq!(
        sim.instance_json("job_batch_0002", id).unwrap()["status"],
        "fail"
    );
    assert_eq!(
        sim.instance_json("job_batch_0001", 1).unwrap()["status"],
        "fail"
    );
}

// ----- faults ----------------------------------------------------------------

#[tokio::test]
async fn throttling_and_injected_errors_have_gateway_bodies() {
    let sim = DataArtsSim::builder().batch_jobs(1).start().await.unwrap();
    let http = client();
    sim.faults()
        .add(FaultRule::new(Route::get("/v1/*/jobs"), Fault::too_many_requests(Some(1))).times(1));
    let (s, b, h) = send_full(tok(&sim, &http, Method::GET, &p(&sim, "/jobs"))).await;
    assert_apigw(s, &b, 429, "APIGW.0308");
    assert_eq!(h["retry-after"], "1");
    assert!(
        b["error_msg"].as_str().unwrap().starts_with(
            "The throttling threshold has been reached: policy user over ratelimit,limit:"
        ),
        "{b}"
    );
    assert_eq!(get(&sim, &http, "/jobs").await.0, 200);
    for (status, check) in [
        (401, Some("APIGW.0301")),
        (404, Some("APIGW.0101")),
        (502, Some("APIGW.0202")),
        (503, Some("APIGW.0202")),
        (504, Some("APIGW.0203")),
        (500, None),
    ] {
        sim.faults()
            .add(FaultRule::new(Route::post("/v1/*/jobs/*/stop"), Fault::status(status)).times(1));
        let (s, b) = post(&sim, &http, "/jobs/job_batch_0001/stop").await;
        match check {
            Some(code) => assert_apigw(s, &b, status, code),
            None => assert_eq!((s, b["error_code"].as_str()), (500, Some("DLF.0001"))),
        }
    }
    assert_eq!(sim.total_stop_requests(), 0, "faults answered first");

    // The rate limit counts per AK or token.
    let limited = DataArtsSim::builder()
        .batch_jobs(1)
        .rate_limit(Some(RateLimit {
            per_second: 2,
            retry_after: Some(1),
        }))
        .start()
        .await
        .unwrap();
    let path = p(&limited, "/jobs");
    for _ in 0..2 {
        assert_eq!(send(tok(&limited, &http, Method::GET, &path)).await.0, 200);
    }
    let (s, b) = send(tok(&limited, &http, Method::GET, &path)).await;
    assert_apigw(s, &b, 429, "APIGW.0308");
    assert!(b["error_msg"].as_str().unwrap().contains("limit:2,"), "{b}");
    let (s, _) = send(signed(&limited, &http, Method::GET, &path, b"")).await;
    assert_eq!(s, 200, "the AK is another account");
}

// ----- the framework ---------------------------------------------------------

/// `Sims::start` seeds DataArts as the `jobstop-sim` binary did, and the
/// vendor-free handle answers for it.
#[tokio::test]
async fn started_by_sims_as_the_binary_seeded_it() {
    use jobstop_sim::dataarts::DataArts;
    use jobstop_sim::{Sims, SimsOptions};

    let opts = SimsOptions::default().with_seed(4).with_population(3, 13);
    let sims = Sims::start(&["dataarts"], &opts).await.unwrap();
    let any = sims.by_name("dataarts").unwrap();
    let sim = sims.get::<DataArts>().unwrap();
    // The binary's rule: `running` real-time jobs and running instances,
    // `finished` more instances over max(3, finished / 4) batch jobs, 2
    // stopped real-time jobs.
    let by_hand = DataArtsSim::builder()
        .seed(4)
        .realtime_jobs(3, 2)
        .batch_jobs(3)
        .instances(16)
        .running_instances(3)
        .start()
        .await
        .unwrap();
    assert_eq!(
        sim.job_names(JobType::RealTime),
        by_hand.job_names(JobType::RealTime)
    );
    assert_eq!(
        sim.job_names(JobType::Batch),
        by_hand.job_names(JobType::Batch)
    );
    assert_eq!(sim.instance_ids(None), by_hand.instance_ids(None));
    assert_eq!(sim.instance_ids(Some("running")).len(), 3);
    let normal = sim.job_names(JobType::RealTime);
    let normal: Vec<_> = normal
        .iter()
        .filter(|j| sim.raw_state(j).as_deref() == Some("NORMAL"))
        .collect();
    assert_eq!(
        (normal.len(), sim.job_names(JobType::RealTime).len()),
        (3, 5)
    );
    // Ids: real-time jobs, then instances; raw states as stored.
    let mut ids = sim.job_names(JobType::RealTime);
    ids.extend(sim.instance_ids(None));
    assert_eq!(any.ids(), ids);
    let run = sim.instance_ids(Some("running"))[0].clone();
    assert_eq!(any.raw_state(&run).as_deref(), Some("running"));
    assert_eq!(any.raw_state(normal[0]).as_deref(), Some("NORMAL"));
    assert_eq!(any.raw_state("nope"), None);
    assert_eq!(any.raw_state("nope/1"), None);
    assert_eq!(any.raw_state(&format!("{run}x")), None);
    // Settings: AK/SK exported; the token and IAM sets as alternatives.
    assert_eq!(any.vendor(), "dataarts");
    let (ak, sk) = (sim.ak().to_owned(), sim.sk().to_owned());
    assert_eq!(any.settings()[2..], [("ak", ak), ("sk", sk)]);
    let keys: Vec<&str> = any.alternatives().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["token", "iam_url", "username", "password", "domain"]);
    assert!(any.alternatives().contains(&("iam_url", sim.iam_url())));
    assert_eq!(sim.auth_server().expect("IAM").base_url(), sim.iam_url());
    // A stop through the wire is counted through the vendor-free handle.
    let http = client();
    let (job, id) = split_run(&run);
    let (s, _) = post(sim, &http, &format!("/jobs/{job}/instances/{id}/stop")).await;
    assert_eq!(s, 204);
    assert_eq!(any.raw_state(&run).as_deref(), Some("manual-stop"));
    assert_eq!((any.stop_requests(&run), any.total_stop_requests()), (1, 1));
    let dbg = format!("{any:?}");
    assert!(dbg.contains("dataarts") && !dbg.contains(sim.sk()), "{dbg}");
    // IAM's injected errors are Keystone-shaped.
    let iam = sim.auth_server().expect("IAM").faults();
    iam.add(FaultRule::new(Route::any(), Fault::status(503)).times(1));
    let tokens = format!("{}/v3/auth/tokens", sim.iam_url());
    let (s, b) = send(http.post(&tokens).json(&json!({}))).await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(b["error"]["code"], 503, "{b}");
    assert_eq!(b["error"]["title"], "Service Unavailable", "{b}");
    sims.shutdown().await;
}

// ----- determinism -----------------------------------------------------------

#[tokio::test]
async fn same_seed_same_data() {
    let build = |seed: u64| {
        DataArtsSim::builder()
            .seeded_epoch()
            .seed(seed)
            .realtime_jobs(2, 2)
            .batch_jobs(5)
            .instances(30)
            .start()
    };
    let (a, b, c) = (
        build(7).await.unwrap(),
        build(7).await.unwrap(),
        build(8).await.unwrap(),
    );
    assert_eq!(a.instance_ids(None), b.instance_ids(None));
    assert_ne!(a.instance_ids(None), c.instance_ids(None));
    assert_eq!(
        a.job_names(JobType::RealTime),
        b.job_names(JobType::RealTime)
    );
    assert_eq!(a.job_names(JobType::Batch), b.job_names(JobType::Batch));
    assert_eq!(
        a.instance_ids(Some("running")).len(),
        3,
        "a tenth by default"
    );
    for name in a
        .job_names(JobType::RealTime)
        .into_iter()
        .chain(a.job_names(JobType::Batch))
    {
        assert_eq!(a.job_json(&name), b.job_json(&name));
    }
    for run in a.instance_ids(None) {
        let (job, id) = split_run(&run);
        assert_eq!(a.instance_json(&job, id), b.instance_json(&job, id));
    }
    // Credentials too, and the project id.
    assert_eq!(
        (a.project_id(), a.ak(), a.sk(), a.token()),
        (b.project_id(), b.ak(), b.sk(), b.token())
    );
    assert_ne!(a.ak(), c.ak());
    assert_eq!(a.password(), b.password());
    assert_eq!(a.project_id().len(), 32);
    assert_eq!(a.ak().len(), 20);
    assert_eq!(a.sk().len(), 40);
    // Seeded times are before the epoch; the first job's createTime too.
    let epoch = jobstop_sim::default_epoch().timestamp_millis();
    for run in a.instance_ids(None) {
        let (job, id) = split_run(&run);
        let d = a.instance_json(&job, id).unwrap();
        assert!(d["planTime"].as_i64().unwrap() <= epoch);
        assert!(a.job_json(&job).unwrap()["createTime"].as_i64() < d["planTime"].as_i64());
    }
    // Env.
    let env = a.env();
    assert_eq!(env.len(), 4, "no workspace variable for default");
    assert_eq!(
        env[2],
        ("JOBSTOP_DATAARTS_AK".to_owned(), a.ak().to_owned())
    );
    assert_eq!(
        env[3],
        ("JOBSTOP_DATAARTS_SK".to_owned(), a.sk().to_owned())
    );
    // Debug never shows secrets.
    let dbg = format!(
        "{a:?} {:?}",
        DataArtsSim::builder()
            .seeded_epoch()
            .static_token("sekrit-token")
            .ak_sk("AKSEKRIT", "sekrit-sk")
            .iam_user("u", "sekrit-pw", "d")
    );
    for secret in [a.token(), a.sk(), a.ak(), a.password(), "sekrit"] {
        assert!(!dbg.contains(secret), "{secret} in {dbg}");
    }
}

#[tokio::test]
async fn junk_requests_always_get_an_answer() {
    let sim = DataArtsSim::builder()
        .batch_jobs(2)
        .realtime_jobs(1, 1)
        .instances(5)
        .start()
        .await
        .unwrap();
    let http = client();
    let mut rng = jobstop_sim::SplitMix64::new(11);
    let segments = [
        "v1",
        "jobs",
        "instances",
        "detail",
        "stop",
        "start",
        "status",
        "run-immediate",
        "job_batch_0001",
        "%FF",
        "%2F",
        "",
        "..",
        "%",
        "a%20b",
        "34765",
        "-1",
        "\u{e9}",
    ];
    let queries = [
        "limit=",
        "limit=5",
        "offset=x",
        "jobType=",
        "minPlanTime=9999999999999999999",
        "maxPlanTime=-1",
        "preciseQuery=true",
        "status=running",
        "jobName=%FF",
        "&&=&",
    ];
    let auths = [
        "SDK-HMAC-SHA256 Access=x, SignedHeaders=x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=, SignedHeaders=;;;, Signature=",
        "SDK-HMAC-SHA256",
        "Basic Zm9vOmJhcg==",
    ];
    for i in 0..150 {
        let n = rng.below(6) as usize;
        let mut path = String::new();
        for k in 0..n {
            let seg = if k == 1 {
                sim.project_id()
            } else {
                rng.pick(&segments).copied().unwrap()
            };
            path.push('/');
            path.push_str(seg);
        }
        if rng.chance(50) {
            path.push('?');
            path.push_str(rng.pick(&queries).copied().unwrap());
        }
        let method = [Method::GET, Method::POST, Method::PUT][i % 3].clone();
        let url = format!(
            "{}{}",
            sim.base_url(),
            if path.is_empty() { "/" } else { &path }
        );
        let mut rb = http.request(method, url);
        rb = match i % 4 {
            0 => rb.header("X-Auth-Token", sim.token()),
            1 => rb
                .header("Authorization", *rng.pick(&auths).unwrap())
                .header("X-Sdk-Date", "20240619T040000Z"),
            2 => rb.header("X-Auth-Token", ""),
            _ => rb,
        };
        if rng.chance(30) {
            rb = rb.header("workspace", "   ");
        }
        if rng.chance(40) {
            rb = rb.body(["{", "[]", r#"{"jobParams":[1]}"#, "\u{0}"][i % 4]);
        }
        let resp = rb.send().await.unwrap();
        assert!(resp.status().as_u16() >= 200, "{path}");
    }
    // The IAM endpoint too.
    for body in [
        "",
        "{}",
        r#"{"auth":{}}"#,
        r#"{"auth":{"identity":{"methods":"password"}}}"#,
        "[1,2]",
    ] {
        let (s, _) = send(
            http.post(format!("{}/v3/auth/tokens", sim.iam_url()))
                .body(body),
        )
        .await;
        assert_eq!(s, 400, "{body}");
    }
}

// ----- the reference signer (published vectors, canonical forms) -----------

mod signing_reference {
    use jobstop_sim::dataarts::signing::*;

    const DATE: &str = "20060102T150405Z";

    fn vector(method: &str, path: &str, query: &str, body: &[u8]) -> (String, String) {
        let headers = [("X-Sdk-Date", DATE)];
        let canonical = canonical_request(method, path, query, &headers, &["x-sdk-date"], body);
        let sig = signature("SecretKey", &string_to_sign(DATE, &canonical));
        (canonical, sig)
    }

    #[test]
    fn published_vector_get() {
        let (canonical, sig) = vector("GET", "/path", "limit=1", b"");
        assert_eq!(
            canonical,
            "GET\n/path/\nlimit=1\nx-sdk-date:20060102T150405Z\n\nx-sdk-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sig,
            "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
        );
    }

    #[test]
    fn published_vector_post() {
        let (_, sig) = vector(
            "POST",
            "/path",
            "key=value",
            b"{\"Name\":\"test\",\"Id\":1}\n",
        );
        assert_eq!(
            sig,
            "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"
        );
        // And through `sign`.
        let auth = sign(
            "AccessKey",
            "SecretKey",
            "POST",
            "/path?key=value",
            &[("x-sdk-date", DATE)],
            b"{\"Name\":\"test\",\"Id\":1}\n",
        );
        assert_eq!(
            auth,
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, \
             Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"
        );
        let parsed = parse_authorization(&auth).unwrap();
        assert_eq!(parsed.access, "AccessKey");
        assert_eq!(parsed.signed_headers, ["x-sdk-date"]);
    }

    #[test]
    fn uri_segments_are_decoded_then_escaped() {
        assert_eq!(canonical_uri("/v1/p/jobs"), "/v1/p/jobs/");
        assert_eq!(canonical_uri("/v1/p/jobs/"), "/v1/p/jobs/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a%20b/c d/%7Ex~"), "/a%20b/c%20d/~x~/");
        assert_eq!(canonical_uri("/a%2Fb/%e4%b8%ad"), "/a%2Fb/%E4%B8%AD/");
        assert_eq!(canonical_uri("/j%2bk/x+y"), "/j%2Bk/x%2By/");
    }

    #[test]
    fn query_is_decoded_sorted_and_escaped() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=3&a=1&c"), "a=1&a=3&b=2&c=");
        assert_eq!(
            canonical_query("jobName=my+job&x=%2a&&y=a%20b"),
            "jobName=my%20job&x=%2A&y=a%20b"
        );
    }

    #[test]
    fn headers_block_ends_with_a_newline() {
        let h = [
            ("Host", "127.0.0.1:8080"),
            ("X-Sdk-Date", " 20060102T150405Z "),
            ("x-multi", "b"),
            ("X-Multi", "a"),
        ];
        assert_eq!(
            canonical_headers(&h, &["host", "x-multi", "x-sdk-date"]),
            "host:127.0.0.1:8080\nx-multi:a\nx-multi:b\nx-sdk-date:20060102T150405Z\n"
        );
    }

    #[test]
    fn unsigned_payload_replaces_the_body_hash() {
        let h = [
            ("X-Sdk-Date", DATE),
            ("X-Sdk-Content-Sha256", UNSIGNED_PAYLOAD),
        ];
        let c = canonical_request("post", "/x", "", &h, &["x-sdk-date"], b"anything");
        assert!(c.starts_with("POST\n"));
        assert!(c.ends_with("\nx-sdk-date\nUNSIGNED-PAYLOAD"), "{c}");
    }

    #[test]
    fn dates_and_bad_authorizations() {
        let t = parse_sdk_date(DATE).unwrap();
        assert_eq!(sdk_date(t), DATE);
        assert!(parse_sdk_date("2006-01-02T15:04:05Z").is_none());
        assert!(parse_sdk_date("").is_none());
        for bad in [
            "",
            "Bearer x",
            "SDK-HMAC-SHA256",
            "SDK-HMAC-SHA256x Access=a, SignedHeaders=h, Signature=s",
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=h",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=h, Signature=s",
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=;, Signature=s",
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=h, Signature=s, junk",
        ] {
            assert!(parse_authorization(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn junk_never_panics() {
        let alphabet: Vec<char> = "%/?&=+ aZ09~.-_\u{e9}\u{1F600}%2F%zz".chars().collect();
        let mut rng = jobstop_sim::SplitMix64::new(5);
        for _ in 0..5_000 {
            let len = rng.below(24) as usize;
            let s: String = (0..len).map(|_| *rng.pick(&alphabet).unwrap()).collect();
            let _ = canonical_uri(&s);
            let _ = canonical_query(&s);
            let _ = parse_authorization(&s);
            let _ = parse_sdk_date(&s);
            let _ = sign("a", "b", "GET", &s, &[("X-Sdk-Date", &s)], s.as_bytes());
        }
    }
}

#[tokio::test]
async fn seed_data_parses_and_fills_the_fixed_detail_fields() {
    let data: Value =
        serde_json::from_str(include_str!("../data/dataarts/seed.json")).expect("seed.json");
    assert!(data["_source"].is_string());
    for key in [
        "realtime_names",
        "batch_nodes",
        "realtime_nodes",
        "users",
        "paths",
        "intervals_minutes",
    ] {
        assert!(!data[key].as_array().unwrap().is_empty(), "{key}");
    }
    for key in ["batch_statuses", "instance_types", "finished_statuses"] {
        let shares = data[key].as_array().unwrap();
        assert_eq!(shares.last().unwrap()[1], 100, "{key} ends at 100");
    }
    let sim = DataArtsSim::builder()
        .realtime_jobs(12, 0)
        .batch_jobs(3)
        .instances(40)
        .start()
        .await
        .unwrap();
    let names: Vec<&str> = data["realtime_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for name in sim.job_names(JobType::RealTime) {
        let base = name.strip_suffix("_2").unwrap_or(&name);
        assert!(names.contains(&base), "{name}");
    }
    let statuses = [
        "success",
        "fail",
        "manual-stop",
        "running-exception",
        "pause",
    ];
    for run in sim.instance_ids(None) {
        let (job, id) = run.split_once('/').unwrap();
        let i = sim.instance_json(job, id.parse().unwrap()).unwrap();
        let s = i["status"].as_str().unwrap();
        assert!(s == "running" || statuses.contains(&s), "{s}");
        assert!([0, 2, 5].contains(&i["instanceType"].as_u64().unwrap()));
    }
    let job = sim.job_names(JobType::Batch)[0].clone();
    let detail = sim.job_json(&job).unwrap();
    for (k, v) in data["job_detail_defaults"].as_object().unwrap() {
        assert_eq!(&detail[k], v, "{k}");
    }
    for (k, v) in data["basic_config_defaults"].as_object().unwrap() {
        assert_eq!(&detail["basicConfig"][k], v, "{k}");
    }
    assert!(detail["basicConfig"]["owner"].is_string());
    for node in detail["nodes"].as_array().unwrap() {
        for (k, v) in data["node_defaults"].as_object().unwrap() {
            assert_eq!(&node[k], v, "{k}");
        }
        assert!(node["name"].is_string() && node["location"]["y"] == 120);
    }
}

#[tokio::test]
async fn module_example_counts_hold() {
    // What the module docs' example checked before it moved to the README.
    let sim = DataArtsSim::builder()
        .seed(7)
        .realtime_jobs(2, 1)
        .batch_jobs(4)
        .instances(20)
        .running_instances(3)
        .start()
        .await
        .unwrap();
    assert_eq!(sim.job_names(JobType::RealTime).len(), 3);
    assert_eq!(sim.job_names(JobType::Batch).len(), 4);
    assert_eq!(sim.instance_ids(Some("running")).len(), 3);
    let run = &sim.instance_ids(None)[0];
    let (job, id) = run.split_once('/').unwrap();
    let detail = sim.instance_json(job, id.parse().unwrap()).unwrap();
    assert_eq!(detail["jobName"], job);
}

#[test]
fn seeds_and_run_objects_do_what_their_docs_said() {
    // What the rustdoc examples of `JobSeed`, `InstanceSeed` and
    // `run_objects` checked.
    use jobstop_sim::dataarts::run_objects;
    let rt = JobSeed::realtime("rt_weird", "EXCEPTION");
    assert_eq!(rt.job_type, JobType::RealTime);
    let batch = JobSeed::batch("nightly", "PAUSED")
        .with_workspace("ws-2")
        .with_owner("ana");
    assert_eq!(batch.job_type, JobType::Batch);
    assert_eq!(batch.workspace.as_deref(), Some("ws-2"));
    assert_eq!(batch.owner.as_deref(), Some("ana"));
    let seed = InstanceSeed::new("job_batch_0001", "running").with_id(34_765);
    assert_eq!(seed.status, "running");
    assert_eq!(seed.instance_id, Some(34_765));
    let mut list = json!({"total": 2, "instances": [{"instanceId": 1}, {"instanceId": 2}]});
    assert_eq!(run_objects(&mut list).len(), 2);
    let mut one = json!({"name": "rt", "status": "NORMAL", "nodes": []});
    assert_eq!(run_objects(&mut one).len(), 1);
}
