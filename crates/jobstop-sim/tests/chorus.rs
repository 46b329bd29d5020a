#![allow(clippy::unwrap_used)]
//! The Chorus simulator over real HTTP: login, session id vs cookie, CSRF,
//! expiry, listing and paging, filters, show/run/stop, the engine switches,
//! ids, permissions, faults and determinism.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use jobstop_sim::chorus::{ChorusSim, WorkfileSeed, run_objects};
use jobstop_sim::{Fault, FaultRule, MASK, Route};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn url(sim: &ChorusSim, path: &str) -> String {
    format!("{}{path}", sim.base_url())
}

/// Status, headers and JSON body (`Null` if empty or not JSON), plus the raw
/// body length.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    len: usize,
}

async fn send(rb: RequestBuilder) -> Answer {
    answer(rb.send().await.unwrap()).await
}

async fn answer(resp: Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        len: bytes.len(),
    }
}

impl Answer {
    /// The `_chorus_session` value set by this answer.
    fn cookie(&self) -> Option<String> {
        let line = self.headers.get("set-cookie")?.to_str().ok()?;
        let value = line.strip_prefix("_chorus_session=")?.split(';').next()?;
        Some(value.to_owned())
    }

    fn assert_empty(&self, status: u16) {
        assert_eq!(self.status, status);
        assert_eq!(self.len, 0, "empty body expected: {}", self.body);
    }
}

/// Logs in with a form; returns the session id and the cookie.
async fn login(sim: &ChorusSim, http: &Client) -> (String, String) {
    let a = send(
        http.post(url(sim, "/api/sessions?session_id=NULL"))
            .form(&[("username", sim.username()), ("password", sim.password())]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let sid = a.body["response"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (sid, a.cookie().unwrap())
}

/// `GET path` with `?session_id=` (the adapter's style for GETs).
async fn get(sim: &ChorusSim, http: &Client, sid: &str, path: &str) -> Answer {
    let sep = if path.contains('?') { '&' } else { '?' };
    send(http.get(url(sim, &format!("{path}{sep}session_id={sid}")))).await
}

/// `POST path` with `session_id` in a form body (the adapter's style for
/// POSTs).
async fn post(sim: &ChorusSim, http: &Client, sid: &str, path: &str) -> Answer {
    send(http.post(url(sim, path)).form(&[("session_id", sid)])).await
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `2019-04-03T22:09:35Z`: whole seconds, UTC.
fn is_timestamp(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// The seed page's stop body keys.
const ACTION_KEYS: &[&str] = &[
    "id",
    "workspace",
    "file_name",
    "file_type",
    "latest_version_id",
    "is_deleted",
    "recent_comments",
    "comment_count",
    "tags",
    "entity_type",
    "entity_subtype",
    "user_modified_at",
    "status",
    "description",
    "link_url",
    "owner",
    "associated_worklets",
    "execution_locations",
    "dataset_ids",
    "complete_json",
];

#[tokio::test]
async fn login_by_form_json_and_wrapped_json() {
    // By default a login needs `?session_id=NULL` (or a CSRF token).
    let strict = ChorusSim::builder()
        .username("jane")
        .password("s3cret")
        .start()
        .await
        .unwrap();
    let a = send(
        client()
            .post(url(&strict, "/api/sessions"))
            .form(&[("username", "jane"), ("password", "s3cret")]),
    )
    .await;
    assert_eq!(a.status, 403);
    let a = send(
        client()
            .post(url(&strict, "/api/sessions?session_id=NULL"))
            .form(&[("username", "jane"), ("password", "s3cret")]),
    )
    .await;
    assert_eq!(a.status, 201);

    let sim = ChorusSim::builder()
        .username("jane")
        .password("s3cret")
        .login_requires_csrf(false)
        .start()
        .await
        .unwrap();
    let http = client();
    let attempts = [
        http.post(url(&sim, "/api/sessions"))
            .form(&[("username", "jane"), ("password", "s3cret")]),
        http.post(url(&sim, "/api/sessions?session_id=NULL"))
            .form(&[("username", "jane"), ("password", "s3cret")]),
        http.post(url(&sim, "/api/sessions"))
            .json(&json!({"username": "jane", "password": "s3cret"})),
        http.post(url(&sim, "/api/sessions"))
            .json(&json!({"session": {"username": "jane", "password": "s3cret"}})),
        http.post(url(&sim, "/api/sessions")).form(&[
            ("session[username]", "jane"),
            ("session[password]", "s3cret"),
        ]),
        // The root mount answers too.
        http.post(url(&sim, "/sessions"))
            .form(&[("username", "jane"), ("password", "s3cret")]),
    ];
    let mut ids = HashSet::new();
    for rb in attempts {
        let a = send(rb).await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(
            a.headers["content-type"].to_str().unwrap(),
            "application/json; charset=utf-8"
        );
        assert_eq!(a.headers["x-request-id"].to_str().unwrap().len(), 36);
        assert!(
            a.headers["x-runtime"]
                .to_str()
                .unwrap()
                .parse::<f64>()
                .is_ok()
        );
        let r = &a.body["response"];
        assert_eq!(keys(r), set(&["session_id", "user", "complete_json"]));
        let sid = r["session_id"].as_str().unwrap();
        assert!(is_hex40(sid), "{sid}");
        assert!(ids.insert(sid.to_owned()));
        assert_eq!(r["user"]["id"], 1_000_002);
        assert_eq!(r["user"]["username"], "jane");
        assert_eq!(r["complete_json"], true);
        // Set-Cookie: _chorus_session=<blob>--<40 hex>; path=/; HttpOnly
        let line = a.headers["set-cookie"].to_str().unwrap();
        assert!(line.ends_with("; path=/; HttpOnly"), "{line}");
        let (blob, mac) = a
            .cookie()
            .unwrap()
            .rsplit_once("--")
            .map(|(b, m)| (b.to_owned(), m.to_owned()))
            .unwrap();
        assert!(blob.len() > 100 && is_hex40(&mac), "{line}");
    }
    assert_eq!(sim.logins(), 6);

    // Bad credentials: 401 with the documented body; nothing logged in.
    for rb in [
        http.post(url(&sim, "/api/sessions"))
            .form(&[("username", "jane"), ("password", "nope")]),
        http.post(url(&sim, "/api/sessions"))
            .json(&json!({"session": {"username": "joe", "password": "s3cret"}})),
        http.post(url(&sim, "/api/sessions"))
            .form(&[("username", "jane")]),
    ] {
        let a = send(rb).await;
        assert_eq!(a.status, 401);
        assert_eq!(
            a.body,
            json!({"errors":{"fields":{"username_or_password":{"INVALID":{}}}}})
        );
    }
    assert_eq!((sim.logins(), sim.login_attempts()), (6, 9));
    // Unparsable JSON: 400.
    let a = send(
        http.post(url(&sim, "/api/sessions"))
            .header("content-type", "application/json")
            .body("{nope"),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(a.body["errors"].is_object());
}

#[tokio::test]
async fn strict_login_needs_a_session_id_parameter_or_a_csrf_token() {
    let sim = ChorusSim::builder()
        .login_requires_csrf(true)
        .start()
        .await
        .unwrap();
    let http = client();
    let creds = [("username", sim.username()), ("password", sim.password())];
    send(http.post(url(&sim, "/api/sessions")).form(&creds))
        .await
        .assert_empty(403);
    assert_eq!(sim.login_attempts(), 0);
    // What the Python client does.
    let a = send(
        http.post(url(&sim, "/api/sessions?session_id=NULL"))
            .form(&creds),
    )
    .await;
    assert_eq!(a.status, 201);
    // The web client's way: a CSRF token from DELETE /sessions, then a
    // cookie login with X-CSRF-Token.
    let out = send(http.delete(url(&sim, "/api/sessions?session_id=NULL"))).await;
    assert_eq!(out.status, 200);
    let token = out.body["csrf_token"].as_str().unwrap().to_owned();
    let cookie = out.cookie().unwrap();
    let a = send(
        http.post(url(&sim, "/api/sessions"))
            .header("cookie", format!("_chorus_session={cookie}"))
            .header("x-csrf-token", &token)
            .form(&creds),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(sim.logins(), 2);
}

#[tokio::test]
async fn session_id_in_query_or_body_wins_over_the_cookie_and_needs_no_csrf() {
    let sim = ChorusSim::builder().running(3).start().await.unwrap();
    let http = client();
    let (sid, cookie) = login(&sim, &http).await;
    let ids = sim.ids();
    let list = format!("/api/workspaces/{}/workfiles", sim.workspace_id());

    // Query parameter.
    assert_eq!(get(&sim, &http, &sid, &list).await.status, 200);
    // Form body on a POST, no CSRF token needed.
    let a = post(
        &sim,
        &http,
        &sid,
        &format!("/api/workfiles/{}/stop", ids[0]),
    )
    .await;
    assert_eq!(
        (a.status, a.body["response"]["status"].as_str()),
        (202, Some("idle"))
    );
    // Query parameter on a POST.
    let a = send(http.post(url(
        &sim,
        &format!("/api/workfiles/{}/stop?session_id={sid}", ids[1]),
    )))
    .await;
    assert_eq!(a.status, 202);
    // JSON body.
    let a = send(
        http.post(url(&sim, &format!("/api/workfiles/{}/run", ids[1])))
            .json(&json!({"session_id": sid})),
    )
    .await;
    assert_eq!(
        (a.status, a.body["response"]["status"].as_str()),
        (202, Some("running"))
    );

    // Cookie only: GETs work and every answer re-issues the cookie; the old
    // value stays valid.
    let with = |c: &str| {
        http.get(url(&sim, &list))
            .header("cookie", format!("a=b; _chorus_session={c}"))
    };
    let a = send(with(&cookie)).await;
    assert_eq!(a.status, 200);
    let newer = a.cookie().unwrap();
    assert_ne!(newer, cookie);
    assert_eq!(send(with(&newer)).await.status, 200);
    assert_eq!(send(with(&cookie)).await.status, 200);
    // …but a cookie-only POST needs X-CSRF-Token: 403, empty, not counted.
    let stops = sim.total_stop_requests();
    let stop2 = url(&sim, &format!("/api/workfiles/{}/stop", ids[2]));
    let cookie_post = || {
        http.post(&stop2)
            .header("cookie", format!("_chorus_session={cookie}"))
    };
    send(cookie_post()).await.assert_empty(403);
    send(cookie_post().header("x-csrf-token", "forged"))
        .await
        .assert_empty(403);
    assert_eq!(sim.total_stop_requests(), stops);
    assert_eq!(sim.workfile_json(&ids[2]).unwrap()["status"], "running");
    let token = sim.csrf_token(&sid).unwrap();
    let a = send(cookie_post().header("x-csrf-token", &token)).await;
    assert_eq!(
        (a.status, a.body["response"]["status"].as_str()),
        (202, Some("idle"))
    );

    // A bad session_id wins over a good cookie: 401 (empty).
    send(with(&cookie).query(&[("session_id", "0000")]))
        .await
        .assert_empty(401);
    // Nothing at all: GET 401, POST 403 (CSRF is checked first), both empty.
    let a = send(
        http.get(url(&sim, &list))
            .header("accept", "application/json"),
    )
    .await;
    a.assert_empty(401);
    assert_eq!(
        a.headers["content-type"].to_str().unwrap(),
        "application/json; charset=utf-8"
    );
    send(http.post(&stop2)).await.assert_empty(403);
    send(http.post(&stop2).form(&[("session_id", "nope")]))
        .await
        .assert_empty(401);

    // GET /sessions: the current session or 401.
    let a = send(
        http.get(url(&sim, "/api/sessions"))
            .header("cookie", format!("_chorus_session={cookie}")),
    )
    .await;
    assert_eq!(a.body["response"]["session_id"], sid.as_str());
    send(http.get(url(&sim, "/api/sessions")))
        .await
        .assert_empty(401);
    // DELETE /sessions logs out and hands out a CSRF token.
    let a = send(http.delete(url(&sim, &format!("/api/sessions?session_id={sid}")))).await;
    assert_eq!(a.status, 200);
    assert_eq!(keys(&a.body), set(&["csrf_token"]));
    get(&sim, &http, &sid, &list).await.assert_empty(401);
    send(with(&cookie)).await.assert_empty(401);
}

#[tokio::test]
async fn sessions_slide_and_expire() {
    let sim = ChorusSim::builder()
        .session_timeout(Duration::from_millis(800))
        .idle(1)
        .start()
        .await
        .unwrap();
    let http = client();
    let list = format!("/api/workspaces/{}/workfiles", sim.workspace_id());
    let (sid, cookie) = login(&sim, &http).await;
    // Each request slides the expiry: alive 1 s after login.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(get(&sim, &http, &sid, &list).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    get(&sim, &http, &sid, &list).await.assert_empty(401);
    let by_cookie = send(
        http.get(url(&sim, &list))
            .header("cookie", format!("_chorus_session={cookie}")),
    )
    .await;
    by_cookie.assert_empty(401);

    // expire_sessions() forgets every session at once.
    let (sid, _) = login(&sim, &http).await;
    let made = sim.new_session();
    assert!(made.len() == 40 && made != sid);
    assert_eq!(get(&sim, &http, &made, &list).await.status, 200);
    assert_eq!(sim.logins(), 2, "new_session is not a login");
    sim.expire_sessions();
    get(&sim, &http, &sid, &list).await.assert_empty(401);
    get(&sim, &http, &made, &list).await.assert_empty(401);
    post(
        &sim,
        &http,
        &sid,
        &format!("/api/workfiles/{}/stop", sim.ids()[0]),
    )
    .await
    .assert_empty(401);
    assert_eq!(sim.total_stop_requests(), 0);
}

#[tokio::test]
async fn listing_envelope_pages_and_order() {
    let sim = ChorusSim::builder()
        .seed(5)
        .running(3)
        .idle(10)
        .other_files(7)
        .empty_workspace(1_000_020)
        .start()
        .await
        .unwrap();
    let http = client();
    let sid = sim.new_session();
    let ws = sim.workspace_id();
    let list = |q: String| {
        let (sim, http, sid) = (&sim, &http, &sid);
        async move {
            get(
                sim,
                http,
                sid,
                &format!("/api/workspaces/{ws}/workfiles?{q}"),
            )
            .await
        }
    };

    // 20 files, 3 a page: 7 pages; page 7 has 2; past the end: empty.
    let mut seen = Vec::new();
    for page in 1..=8u64 {
        let a = list(format!("per_page=3&page={page}")).await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.body["pagination"],
            json!({"page": page, "per_page": 3, "records": 20, "total": 7})
        );
        let items = a.body["response"].as_array().unwrap();
        let want = match page {
            1..=6 => 3,
            7 => 2,
            _ => 0,
        };
        assert_eq!(items.len(), want, "page {page}");
        seen.extend(items.iter().map(|w| w["id"].to_string()));
    }
    assert_eq!(
        seen,
        sim.ids_in(ws),
        "every file once, by lower(file_name), id"
    );
    assert_eq!(
        keys(&list(String::new()).await.body),
        set(&["response", "pagination"])
    );

    // Defaults: page 1, 50 a page.
    let a = list(String::new()).await;
    assert_eq!(
        a.body["pagination"],
        json!({"page": 1, "per_page": 50, "records": 20, "total": 1})
    );
    let names: Vec<String> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["file_name"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    // Any other order: user_modified_at descending.
    let a = list("order=last_modified".into()).await;
    let times: Vec<&str> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["user_modified_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // per_page=0: no items, total null.
    let a = list("per_page=0".into()).await;
    assert_eq!(a.body["response"], json!([]));
    assert_eq!(
        a.body["pagination"],
        json!({"page": 1, "per_page": 0, "records": 20, "total": null})
    );
    // An empty workspace has one (empty) page.
    let a = get(&sim, &http, &sid, "/api/workspaces/1000020/workfiles").await;
    assert_eq!(
        a.body,
        json!({"response": [], "pagination": {"page": 1, "per_page": 50, "records": 0, "total": 1}})
    );

    // file_type (case-insensitive value); list items carry version_info but
    // no execution_locations/dataset_ids.
    let a = list("file_type=work_flow&per_page=100".into()).await;
    assert_eq!(a.body["pagination"]["records"], 13);
    let b = list("file_type=WORK_FLOW&per_page=100".into()).await;
    assert_eq!(a.body, b.body);
    for w in a.body["response"].as_array().unwrap() {
        let mut expected: BTreeSet<String> = set(ACTION_KEYS);
        expected.remove("execution_locations");
        expected.remove("dataset_ids");
        expected.insert("version_info".into());
        assert_eq!(keys(w), expected, "{w}");
        assert_eq!(w["entity_subtype"], "alpine");
        assert!(["idle", "running"].contains(&w["status"].as_str().unwrap()));
        assert!(is_timestamp(w["user_modified_at"].as_str().unwrap()));
        assert!(is_timestamp(
            w["version_info"]["created_at"].as_str().unwrap()
        ));
        assert!(
            w["version_info"]["created_at"].as_str() <= w["version_info"]["updated_at"].as_str()
        );
        assert_eq!(w["workspace"]["id"], ws);
        assert!(
            w["workspace"].get("sandbox_info").is_none(),
            "succinct workspace"
        );
    }
    let ids: Vec<String> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].to_string())
        .collect();
    assert_eq!(ids, sim.ids());
    // Other files: always idle, no entity_subtype.
    let a = list("file_type=sql&per_page=100".into()).await;
    for w in a.body["response"].as_array().unwrap() {
        assert_eq!(
            (w["status"].as_str(), w["entity_subtype"].is_null()),
            (Some("idle"), true)
        );
    }
    assert_eq!(
        list("file_type=nope".into()).await.body["pagination"]["total"],
        1
    );

    // Unknown, non-numeric and bad parameters.
    for path in [
        "/api/workspaces/999/workfiles",
        "/api/workspaces/abc/workfiles",
    ] {
        let a = get(&sim, &http, &sid, path).await;
        assert_eq!(
            (a.status, &a.body),
            (404, &json!({"errors": {"record": "NOT_FOUND"}}))
        );
    }
    for q in ["page=0", "page=abc", "per_page=-1"] {
        let a = list(q.into()).await;
        assert_eq!(a.status, 422, "{q}");
        assert!(a.body["errors"]["fields"]["general"]["GENERIC"]["message"].is_string());
    }
}

/// The sorted file names a `name_pattern` listing returns, comma-joined.
async fn matching_names(http: &Client, sim: &ChorusSim, pattern: &str) -> String {
    let sid = sim.new_session();
    let path = format!("/api/workspaces/{}/workfiles", sim.workspace_id());
    let a = send(
        http.get(url(sim, &path))
            .query(&[("session_id", sid.as_str()), ("name_pattern", pattern)]),
    )
    .await;
    let mut v: Vec<String> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["file_name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v.join(",")
}

#[tokio::test]
async fn name_pattern_is_like_ignoring_case() {
    let seeds = ["alpine_flow", "Alpine Model", "churn", "a%b", "lineXflow"];
    let mut builder = ChorusSim::builder().case_sensitive_name_pattern(false);
    for name in seeds {
        builder = builder.insert_workfile(WorkfileSeed::new("idle").with_file_name(name));
    }
    let sim = builder.start().await.unwrap();
    let strict = seeds
        .iter()
        .fold(ChorusSim::builder(), |b, n| {
            b.insert_workfile(WorkfileSeed::new("idle").with_file_name(*n))
        })
        .start()
        .await
        .unwrap();
    let http = client();
    let names = |sim, pattern| matching_names(&http, sim, pattern);
    assert_eq!(names(&sim, "alpine").await, "Alpine Model,alpine_flow");
    assert_eq!(names(&sim, "ALPINE").await, "Alpine Model,alpine_flow");
    assert_eq!(names(&strict, "ALPINE").await, "");
    assert_eq!(names(&strict, "Alpine").await, "Alpine Model");
    // LIKE wildcards: `_` one character, `%` any run; `\` escapes.
    assert_eq!(names(&sim, "e_f").await, "alpine_flow,lineXflow");
    assert_eq!(names(&sim, "e\\_f").await, "alpine_flow");
    assert_eq!(names(&sim, "a%b").await, "a%b");
    assert_eq!(
        names(&sim, "").await,
        "Alpine Model,a%b,alpine_flow,churn,lineXflow"
    );
}

#[tokio::test]
async fn show_run_and_stop() {
    let sim = ChorusSim::builder()
        .running(2)
        .idle(1)
        .other_files(1)
        .insert_workfile(WorkfileSeed::new("queued").with_id(2_000_000))
        .insert_workfile(
            WorkfileSeed::new("running")
                .with_id(2_000_001)
                .with_engine_unavailable(true),
        )
        .start()
        .await
        .unwrap();
    let http = client();
    let sid = sim.new_session();
    let running = sim.ids_with_status("running");
    let idle = sim.ids_with_status("idle");
    assert_eq!((running.len(), idle.len()), (3, 1));
    let target = running.iter().find(|id| *id != "2000001").unwrap().clone();

    // Show: everything, version_info included.
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{target}")).await;
    assert_eq!(a.status, 200);
    assert_eq!(keys(&a.body), set(&["response"]));
    let w = &a.body["response"];
    let mut full = set(ACTION_KEYS);
    full.insert("version_info".into());
    assert_eq!(keys(w), full);
    assert_eq!(w["id"].to_string(), target);
    assert_eq!(w["status"], "running");
    assert_eq!(w["workspace"]["name"], "Public");
    assert!(w["workspace"]["sandbox_info"].is_object(), "full workspace");
    assert_eq!(w["execution_locations"][0]["entity_type"], "gpdb_database");
    assert_eq!(*w, sim.workfile_json(&target).unwrap());

    // Stop: 202 with the workfile, already idle (the seed page's key set).
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/stop")).await;
    assert_eq!(a.status, 202);
    assert_eq!(a.headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(keys(&a.body["response"]), set(ACTION_KEYS));
    assert_eq!(a.body["response"]["status"], "idle");
    assert_eq!(sim.workfile_json(&target).unwrap()["status"], "idle");
    // Stopping an idle workfile: 202 idle, never an error.
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/stop")).await;
    assert_eq!(
        (a.status, a.body["response"]["status"].as_str()),
        (202, Some("idle"))
    );
    assert_eq!(
        (sim.stop_requests(&target), sim.total_stop_requests()),
        (2, 2)
    );
    // Run: 202 running, no already-running guard.
    for _ in 0..2 {
        let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/run")).await;
        assert_eq!(
            (a.status, a.body["response"]["status"].as_str()),
            (202, Some("running"))
        );
    }

    // The engine unreachable: stop fails with Rails' 500 page (nil
    // `response.code` in `AlpineWorkfile#stop_now`), the workfile still
    // runs, and no stop answer says otherwise; run 422.
    sim.set_engine_unavailable(true);
    let stops_before = sim.stop_requests(&target);
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/stop")).await;
    assert_eq!(a.status, 500);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        a.headers
    );
    assert!(a.body.is_null(), "not JSON: {:?}", a.body);
    assert_eq!(sim.stop_requests(&target), stops_before + 1);
    assert_eq!(sim.workfile_json(&target).unwrap()["status"], "running");
    let a = post(
        &sim,
        &http,
        &sid,
        &format!("/api/workfiles/{}/run", idle[0]),
    )
    .await;
    assert_eq!(
        (a.status, &a.body),
        (422, &json!({"errors": {"record": "RUN_FAILED"}}))
    );
    sim.set_engine_unavailable(false);
    // The next two stops are not answered, the third is.
    sim.fail_next_engine_stops(2);
    for want in ["running", "running", "idle"] {
        let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/stop")).await;
        assert_eq!(a.body["response"]["status"], want);
    }
    // Per workfile.
    let a = post(&sim, &http, &sid, "/api/workfiles/2000001/stop").await;
    assert_eq!(a.status, 500);
    assert_eq!(sim.workfile_json("2000001").unwrap()["status"], "running");
    assert!(sim.set_engine_unavailable_for("2000001", false));
    let a = post(&sim, &http, &sid, "/api/workfiles/2000001/stop").await;
    assert_eq!(a.body["response"]["status"], "idle");
    assert!(sim.set_engine_unavailable_for(&idle[0], true));
    let a = post(
        &sim,
        &http,
        &sid,
        &format!("/api/workfiles/{}/run", idle[0]),
    )
    .await;
    assert_eq!(a.status, 422);
    // A raw unknown status is kept, and a stop makes it idle.
    assert_eq!(sim.workfile_json("2000000").unwrap()["status"], "queued");
    let a = post(&sim, &http, &sid, "/api/workfiles/2000000/stop").await;
    assert_eq!(a.body["response"]["status"], "idle");
    assert!(sim.set_status("2000000", "RUNNING"));
    assert_eq!(sim.workfile_json("2000000").unwrap()["status"], "RUNNING");
    assert!(!sim.set_status("999", "idle"));

    // Non-workflow files: show has version details; run does nothing; stop
    // fails like Chorus does (no stop_now there).
    let other = sim
        .ids_in(sim.workspace_id())
        .into_iter()
        .find(|id| !sim.ids().contains(id))
        .unwrap();
    let w = sim.workfile_json(&other).unwrap();
    assert!(w["version_info"]["version_num"].is_number() && w["entity_subtype"].is_null());
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{other}/run")).await;
    assert_eq!(
        (a.status, a.body["response"]["status"].as_str()),
        (202, Some("idle"))
    );
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{other}/stop")).await;
    assert_eq!(a.status, 500);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn running_workflows_finish_on_their_own_when_asked() {
    let sim = ChorusSim::builder()
        .running(2)
        .idle(1)
        .finish_after(Some(Duration::from_millis(300)))
        .start()
        .await
        .unwrap();
    let never = ChorusSim::builder().running(1).start().await.unwrap();
    let http = client();
    let sid = sim.new_session();
    let idle = sim.ids_with_status("idle")[0].clone();
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{idle}/run")).await;
    assert_eq!(a.body["response"]["status"], "running");
    let before = sim.workfile_json(&idle).unwrap()["version_info"]["updated_at"].clone();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sim.ids_with_status("running"), Vec::<String>::new());
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{idle}")).await;
    assert_eq!(a.body["response"]["status"], "idle");
    assert!(a.body["response"]["version_info"]["updated_at"].as_str() >= before.as_str());
    // set_status(id, "idle") does it at once, as the engine's callback
    // would; by default nothing finishes.
    assert_eq!(never.ids_with_status("running").len(), 1);
    let id = never.ids()[0].clone();
    assert!(never.set_status(&id, "idle"));
    assert_eq!(never.workfile_json(&id).unwrap()["status"], "idle");
}

#[tokio::test]
async fn unknown_non_numeric_and_encoded_ids_are_404() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let http = client();
    let sid = sim.new_session();
    let not_found = json!({"errors": {"record": "NOT_FOUND"}});
    for id in [
        "999",
        "abc",
        "1e3",
        "%2F",
        "%FF",
        "1000000abc",
        "-1",
        "99999999999999999999999",
    ] {
        let a = get(&sim, &http, &sid, &format!("/api/workfiles/{id}")).await;
        assert_eq!((a.status, &a.body), (404, &not_found), "{id}");
        for verb in ["run", "stop"] {
            let a = post(&sim, &http, &sid, &format!("/api/workfiles/{id}/{verb}")).await;
            assert_eq!((a.status, &a.body), (404, &not_found), "{verb} {id}");
        }
    }
    assert_eq!(sim.stop_requests("abc"), 1);
    assert_eq!(sim.stop_requests("/"), 1);
    assert_eq!(sim.total_stop_requests(), 8);
    // The routes also live at the root.
    let id = sim.ids()[0].clone();
    let a = get(&sim, &http, &sid, &format!("/workfiles/{id}")).await;
    assert_eq!(a.status, 200);
    // Unknown routes and methods: Rails's 404 page.
    for rb in [
        http.get(url(&sim, "/api/nope")),
        http.delete(url(
            &sim,
            &format!("/api/workfiles/{id}/stop?session_id={sid}"),
        )),
    ] {
        let a = send(rb).await;
        assert_eq!(a.status, 404);
        assert!(
            a.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn foreign_workspaces_are_forbidden() {
    let sim = ChorusSim::builder()
        .idle(1)
        .foreign_workspace(1_000_030, 3)
        .start()
        .await
        .unwrap();
    let http = client();
    let sid = sim.new_session();
    let foreign = sim.ids_in(1_000_030);
    assert_eq!(foreign.len(), 3);
    assert!(foreign.iter().all(|id| !sim.ids().contains(id)));
    let a = get(&sim, &http, &sid, "/api/workspaces/1000030/workfiles").await;
    assert_eq!(a.status, 403);
    // `present_forbidden`: the forbidden presentation is `{}`.
    assert_eq!(a.body, json!({"errors": {"model_data": {}}}));
    let running = foreign
        .iter()
        .find(|id| sim.workfile_json(id).unwrap()["status"] == "running")
        .unwrap()
        .clone();
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{running}")).await;
    assert_eq!(
        (a.status, &a.body),
        (403, &json!({"errors": {"model_data": {}}}))
    );
    for verb in ["run", "stop"] {
        let a = post(
            &sim,
            &http,
            &sid,
            &format!("/api/workfiles/{running}/{verb}"),
        )
        .await;
        assert_eq!(a.status, 403, "{verb}");
        assert_eq!(a.body, json!({"errors": {"model_data": {}}}));
    }
    assert_eq!(sim.workfile_json(&running).unwrap()["status"], "running");
    assert_eq!(sim.stop_requests(&running), 1);
}

#[tokio::test]
async fn faults_rate_limit_and_the_request_log() {
    let sim = ChorusSim::builder().running(3).start().await.unwrap();
    let http = client();
    let (sid, cookie) = login(&sim, &http).await;
    let ids = sim.ids();
    let stop = |id: &str| format!("/api/workfiles/{id}/stop");

    // A 503 before the handler: Chorus-shaped body, nothing stopped.
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::post("/api/workfiles/*/stop"), Fault::status(503)).times(1));
    let a = post(&sim, &http, &sid, &stop(&ids[0])).await;
    assert_eq!(a.status, 503);
    assert_eq!(
        a.body["errors"]["fields"]["general"]["GENERIC"]["message"],
        "Service Unavailable"
    );
    assert_eq!(
        (sim.faults().applied(rule), sim.total_stop_requests()),
        (1, 0)
    );
    assert_eq!(sim.workfile_json(&ids[0]).unwrap()["status"], "running");
    sim.faults()
        .add(FaultRule::new(Route::get_prefix("/api/workfiles/"), Fault::status(404)).times(1));
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{}", ids[0])).await;
    assert_eq!(a.body, json!({"errors": {"record": "NOT_FOUND"}}));
    // The stop takes effect but the answer is lost.
    sim.faults().add(
        FaultRule::new(
            Route::post("/api/workfiles/*/stop"),
            Fault::CloseAfterHandler,
        )
        .times(1),
    );
    assert!(
        http.post(url(&sim, &stop(&ids[0])))
            .form(&[("session_id", &sid)])
            .send()
            .await
            .is_err()
    );
    assert_eq!(sim.workfile_json(&ids[0]).unwrap()["status"], "idle");
    assert_eq!(sim.stop_requests(&ids[0]), 1);

    // Rate limit per session (query session_id or cookie).
    let other = sim.new_session();
    sim.faults().rate_limit(2);
    let list = format!("/api/workspaces/{}/workfiles", sim.workspace_id());
    let mut statuses = Vec::new();
    for s in [&sid, &sid, &sid, &other, &other] {
        statuses.push(get(&sim, &http, s, &list).await.status);
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200]);
    let a = send(
        http.get(url(&sim, &list))
            .header("cookie", format!("_chorus_session={cookie}")),
    )
    .await;
    assert_eq!(a.status, 429, "the cookie's session is the same account");
    sim.faults().set_rate_limit(None);

    // The log masks the session id (query), the cookie and the CSRF token,
    // never holds bodies (form session_id, password) or Set-Cookie values.
    let token = sim.csrf_token(&sid).unwrap();
    let a = send(
        http.post(url(&sim, &stop(&ids[1])))
            .header("cookie", format!("_chorus_session={cookie}"))
            .header("x-csrf-token", &token),
    )
    .await;
    assert_eq!(a.status, 202);
    let issued = a.cookie().unwrap();
    let log = sim.server().requests();
    let dump = format!("{log:?}");
    for secret in [
        sid.as_str(),
        other.as_str(),
        cookie.as_str(),
        issued.as_str(),
        token.as_str(),
        sim.password(),
    ] {
        assert!(!dump.contains(secret), "log leaks {secret}");
    }
    assert!(
        log.iter()
            .any(|r| r.target.contains(&format!("session_id={MASK}")))
    );
    let last = log.last().unwrap();
    assert_eq!(
        (last.header("cookie"), last.header("x-csrf-token")),
        (Some(MASK), Some(MASK))
    );
    assert_eq!(log[0].path(), "/api/sessions");
}

#[tokio::test]
async fn same_seed_same_workfiles() {
    let build = |seed| {
        ChorusSim::builder()
            .seeded_epoch()
            .seed(seed)
            .running(4)
            .idle(6)
            .other_files(3)
            .foreign_workspace(1_000_030, 2)
            .start()
    };
    let (a, b, c) = (
        build(7).await.unwrap(),
        build(7).await.unwrap(),
        build(8).await.unwrap(),
    );
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.ids_in(1_000_030), b.ids_in(1_000_030));
    assert_eq!(a.password(), b.password());
    assert_ne!(a.password(), c.password());
    let names = |s: &ChorusSim| -> Vec<Value> {
        s.ids_in(s.workspace_id())
            .iter()
            .map(|id| s.workfile_json(id).unwrap())
            .collect()
    };
    assert_eq!(names(&a), names(&b));
    assert_ne!(names(&a), names(&c));
    assert_eq!(a.ids().len(), 10);
    for id in a.ids() {
        let n: u64 = id.parse().unwrap();
        assert!((1_000_000..2_000_000).contains(&n), "{id}");
        let w = a.workfile_json(&id).unwrap();
        let modified = w["user_modified_at"].as_str().unwrap();
        assert!(
            is_timestamp(modified) && modified < "2024-06-19T04:00:00Z",
            "{modified}"
        );
    }
    // Env for the adapter.
    assert_eq!(
        a.env(),
        vec![
            ("JOBSTOP_CHORUS_BASE_URL".to_owned(), a.base_url()),
            (
                "JOBSTOP_CHORUS_USERNAME".to_owned(),
                "chorusadmin".to_owned()
            ),
            (
                "JOBSTOP_CHORUS_PASSWORD".to_owned(),
                a.password().to_owned()
            ),
            (
                "JOBSTOP_CHORUS_WORKSPACE_ID".to_owned(),
                "1000008".to_owned()
            ),
        ]
    );
    assert!(a.base_url().starts_with("http://127.0.0.1:") && !a.base_url().ends_with("/api"));
    let dbg = format!(
        "{a:?} {:?}",
        ChorusSim::builder().seeded_epoch().password("sekrit")
    );
    assert!(
        !dbg.contains(a.password()) && !dbg.contains("sekrit"),
        "{dbg}"
    );
    // The Date header follows the simulated clock.
    let http = client();
    let resp = http.get(url(&a, "/api/sessions")).send().await.unwrap();
    assert!(
        resp.headers()["date"]
            .to_str()
            .unwrap()
            .contains("19 Jun 2024 04:0")
    );
}

/// `GET /api/workfiles/:id` writes an `OpenWorkfileEvent` on every successful
/// call (hey-jude/chorus `components/api/app/controllers/api/
/// workfiles_controller.rb#show`, `log_workfile_opened_event`); the listing,
/// run and stop write none, and a 404 or 403 (raised before the event) none.
#[tokio::test]
async fn reading_a_workfile_writes_an_open_workfile_event() {
    let sim = ChorusSim::builder()
        .running(2)
        .idle(1)
        .foreign_workspace(1_000_777, 1)
        .start()
        .await
        .unwrap();
    let http = client();
    let sid = sim.new_session();
    let id = sim.ids_with_status("running")[0].clone();
    assert_eq!(sim.open_workfile_events(), 0);
    for n in 1..=3 {
        let a = get(&sim, &http, &sid, &format!("/api/workfiles/{id}")).await;
        assert_eq!(a.status, 200);
        assert_eq!(sim.open_workfile_events(), n);
        assert_eq!(sim.open_workfile_events_for(&id), n);
    }
    let ws = sim.workspace_id();
    let a = get(
        &sim,
        &http,
        &sid,
        &format!("/api/workspaces/{ws}/workfiles"),
    )
    .await;
    assert_eq!(a.status, 200);
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{id}/stop")).await;
    assert_eq!(a.status, 202);
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{id}/run")).await;
    assert_eq!(a.status, 202);
    let a = get(&sim, &http, &sid, "/api/workfiles/999999999").await;
    assert_eq!(a.status, 404);
    let foreign = sim.ids_in(1_000_777)[0].clone();
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{foreign}")).await;
    assert_eq!(a.status, 403);
    assert_eq!(sim.open_workfile_events(), 3);
    assert_eq!(sim.open_workfile_events_for(&foreign), 0);
}

/// The `alpine` client pages the workfile listing with a JSON body on a GET
/// (`alpine/workfile.py#get_list`: `{"no_published_worklets": true, "order":
/// "file_name", "per_page": 2, "page": 2}`, numbers as numbers); Rails parses
/// a JSON body whatever the method, and the query still wins over it.
#[tokio::test]
async fn listing_params_from_a_json_body_on_a_get() {
    let sim = ChorusSim::builder()
        .idle(3)
        .other_files(2)
        .start()
        .await
        .unwrap();
    let http = client();
    let sid = sim.new_session();
    let ws = sim.workspace_id();
    let all = sim.ids_in(ws);
    let page = |body: Value, query: &'static str| {
        let http = http.clone();
        let u = url(
            &sim,
            &format!("/api/workspaces/{ws}/workfiles?session_id={sid}{query}"),
        );
        async move {
            send(
                http.get(u)
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            )
            .await
        }
    };
    let a = page(
        json!({"no_published_worklets": true, "order": "file_name", "per_page": 2, "page": 2}),
        "",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["pagination"],
        json!({"page": 2, "per_page": 2, "records": 5, "total": 3})
    );
    let got: Vec<String> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].to_string())
        .collect();
    assert_eq!(got, all[2..4].to_vec());
    // The query wins over the body.
    let a = page(json!({"page": 2, "per_page": 2}), "&page=3").await;
    assert_eq!(a.body["pagination"]["page"], 3);
    assert_eq!(a.body["response"].as_array().unwrap().len(), 1);
    // An empty JSON body (what the client sends on its other GETs) is none.
    let a = send(
        http.get(url(
            &sim,
            &format!("/api/workfiles/{}?session_id={sid}", all[0]),
        ))
        .header("content-type", "application/json"),
    )
    .await;
    assert_eq!(a.status, 200);
}

// ---------------------------------------------------------------------------
// Wire fixtures: one per route, each naming the Rails controller and
// presenters it follows (see tests/fixtures/chorus/README.md for the shape
// language).

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/chorus");

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether `v` matches `shape`; every mismatch is pushed with its path.
fn shape_errors(shape: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    match shape {
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => {
            let ok = s[1..s.len() - 1].split('|').any(|t| match t {
                "string" => v.is_string(),
                "integer" => v.is_u64() || v.is_i64(),
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                "timestamp" => v.as_str().is_some_and(is_timestamp),
                "hex40" => v.as_str().is_some_and(is_hex40),
                "any" => true,
                other => panic!("unknown shape type {other} at {path}"),
            });
            if !ok {
                errs.push(format!("{path}: {v} is not {s}"));
            }
        }
        Value::Object(want) => {
            let Some(got) = v.as_object() else {
                errs.push(format!("{path}: {v} is not an object"));
                return;
            };
            for k in want.keys().filter(|k| !got.contains_key(*k)) {
                errs.push(format!("{path}.{k}: missing"));
            }
            for k in got.keys().filter(|k| !want.contains_key(*k)) {
                errs.push(format!("{path}.{k}: not in the fixture"));
            }
            for (k, s) in want {
                if let Some(x) = got.get(k) {
                    shape_errors(s, x, &format!("{path}.{k}"), errs);
                }
            }
        }
        Value::Array(want) => {
            let Some(got) = v.as_array() else {
                errs.push(format!("{path}: {v} is not an array"));
                return;
            };
            match want.first() {
                None if !got.is_empty() => errs.push(format!("{path}: not empty")),
                None => {}
                Some(_) if got.is_empty() => errs.push(format!("{path}: empty")),
                Some(s) => {
                    for (i, x) in got.iter().enumerate() {
                        shape_errors(s, x, &format!("{path}[{i}]"), errs);
                    }
                }
            }
        }
        exact => {
            if exact != v {
                errs.push(format!("{path}: {v} is not {exact}"));
            }
        }
    }
}

/// Checks answer `a` against fixture `name`; returns the name.
fn check_fixture(name: &'static str, a: &Answer) -> &'static str {
    let f = fixture(name);
    let follows = f["follows"].as_array().unwrap();
    assert!(
        !follows.is_empty()
            && follows.iter().all(|s| {
                let s = s.as_str().unwrap();
                s.contains("hey-jude/chorus ")
                    || s.contains("alpine")
                    || s.contains("TIBCO")
                    || s.contains("Rails")
            }),
        "{name}: every fixture names its sources"
    );
    assert_eq!(Some(u64::from(a.status)), f["status"].as_u64(), "{name}");
    let ct = f["content_type"].as_str().unwrap();
    if ct != "<any>" {
        assert_eq!(a.headers["content-type"], ct, "{name}");
    }
    match &f["body"] {
        Value::String(s) if s == "<html>" => {
            assert!(a.len > 0 && a.body.is_null(), "{name}: an HTML page");
        }
        Value::String(s) if s == "<empty>" => assert_eq!(a.len, 0, "{name}: no body"),
        shape => {
            let mut errs = Vec::new();
            shape_errors(shape, &a.body, "body", &mut errs);
            assert!(errs.is_empty(), "{name}:\n  {}", errs.join("\n  "));
        }
    }
    name
}

#[tokio::test]
async fn wire_fixtures() {
    use jobstop_sim::chorus::ChorusWire;

    let sim = ChorusSim::builder()
        .wire(ChorusWire::RailsPresenters)
        .running(2)
        .idle(2)
        .other_files(2)
        .foreign_workspace(1_000_030, 2)
        .insert_workfile(
            WorkfileSeed::new("running")
                .with_id(2_000_001)
                .with_engine_unavailable(true),
        )
        .start()
        .await
        .unwrap();
    let http = client();
    let ws = sim.workspace_id();
    let mut used = BTreeSet::new();

    let a = send(
        http.post(url(&sim, "/api/sessions?session_id=NULL"))
            .form(&[("username", sim.username()), ("password", sim.password())]),
    )
    .await;
    used.insert(check_fixture("sessions_create", &a));
    let sid = a.body["response"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = send(
        http.post(url(&sim, "/api/sessions?session_id=NULL"))
            .form(&[("username", sim.username()), ("password", "wrong")]),
    )
    .await;
    used.insert(check_fixture("sessions_create_invalid", &a));
    let a = get(&sim, &http, &sid, "/api/sessions").await;
    used.insert(check_fixture("sessions_show", &a));

    let a = get(
        &sim,
        &http,
        &sid,
        &format!("/api/workspaces/{ws}/workfiles?file_type=work_flow&page=1&per_page=2"),
    )
    .await;
    used.insert(check_fixture("workfiles_index", &a));

    let running = sim.ids_with_status("running");
    let target = running.iter().find(|id| *id != "2000001").unwrap().clone();
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{target}")).await;
    used.insert(check_fixture("workfiles_show", &a));
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/stop")).await;
    used.insert(check_fixture("workfiles_stop", &a));
    let a = post(&sim, &http, &sid, &format!("/api/workfiles/{target}/run")).await;
    used.insert(check_fixture("workfiles_run", &a));
    let a = post(&sim, &http, &sid, "/api/workfiles/2000001/stop").await;
    used.insert(check_fixture("workfiles_stop_engine_failure", &a));
    let a = post(&sim, &http, &sid, "/api/workfiles/2000001/run").await;
    used.insert(check_fixture("workfiles_run_failed", &a));
    let a = get(&sim, &http, &sid, "/api/workfiles/999999999").await;
    used.insert(check_fixture("not_found", &a));
    let foreign = sim.ids_in(1_000_030)[0].clone();
    let a = get(&sim, &http, &sid, &format!("/api/workfiles/{foreign}")).await;
    used.insert(check_fixture("forbidden", &a));
    let a = get(
        &sim,
        &http,
        &"0".repeat(40),
        &format!("/api/workfiles/{target}"),
    )
    .await;
    used.insert(check_fixture("unauthorized", &a));
    let a = send(http.delete(url(&sim, &format!("/api/sessions?session_id={sid}")))).await;
    used.insert(check_fixture("sessions_destroy", &a));

    // The seed page's reading.
    let tib = ChorusSim::builder().running(1).start().await.unwrap();
    let sid = tib.new_session();
    let id = tib.ids()[0].clone();
    let a = post(&tib, &http, &sid, &format!("/api/workfiles/{id}/stop")).await;
    used.insert(check_fixture("tibco_workfiles_stop", &a));
    // And the Rails reading's stop fixture does not describe it.
    let mut errs = Vec::new();
    shape_errors(
        &fixture("workfiles_stop")["body"],
        &a.body,
        "body",
        &mut errs,
    );
    assert!(!errs.is_empty());

    // Every fixture was checked.
    let on_disk: BTreeSet<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect();
    let used: BTreeSet<String> = used.into_iter().map(str::to_owned).collect();
    assert_eq!(on_disk, used);
}

/// How the Rails side parses a request, seen over HTTP (these were unit
/// tests of the private parsers): `params` prefer the query and the last of
/// repeated keys, credentials may be wrapped in `session[…]` or not, the
/// session cookie is found among others, ids are decimal digits only, and
/// `name_pattern` is a SQL `LIKE` with `\` escapes.
#[tokio::test]
async fn request_parsing_params_cookies_ids_and_like() {
    let names = ["alpine_flow", "lineXflow", "xa%", "xab", "café_é"];
    let sim = names
        .iter()
        .fold(
            ChorusSim::builder().case_sensitive_name_pattern(false),
            |b, n| b.insert_workfile(WorkfileSeed::new("running").with_file_name(*n)),
        )
        .insert_workfile(WorkfileSeed::new("running").with_id(7))
        .start()
        .await
        .unwrap();
    let http = client();
    // Credentials: `session[username]` beside a top-level `password`.
    let a = send(
        http.post(url(&sim, "/api/sessions?session_id=NULL"))
            .form(&[
                ("session[username]", sim.username()),
                ("password", sim.password()),
            ]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let sid = a.body["response"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = a.cookie().unwrap();
    // The query wins over the body, and the last repeated key wins.
    let show = url(&sim, "/api/workfiles/7");
    let with_query = |q: String| http.post(format!("{show}/run?{q}"));
    let a = send(with_query(format!("session_id={sid}")).form(&[("session_id", "bogus")])).await;
    assert_eq!(a.status, 202, "{}", a.body);
    send(with_query("session_id=bogus".into()).form(&[("session_id", sid.as_str())]))
        .await
        .assert_empty(401);
    let a = send(with_query(format!("session_id=bogus&session_id={sid}"))).await;
    assert_eq!(a.status, 202, "{}", a.body);
    send(with_query(format!("session_id={sid}&session_id=bogus")))
        .await
        .assert_empty(401);
    // The session cookie among other cookies.
    let a = send(
        http.get(show.clone())
            .header("cookie", format!("a=1; _chorus_session={cookie}; b=2")),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Ids: decimal digits, leading zeros allowed; no sign, no space.
    assert_eq!(
        get(&sim, &http, &sid, "/api/workfiles/007").await.status,
        200
    );
    for bad in ["+7", "%207", "7%20", "0x7"] {
        let a = get(&sim, &http, &sid, &format!("/api/workfiles/{bad}")).await;
        assert_eq!(a.status, 404, "{bad}");
    }
    // LIKE: `%` inside the pattern; a trailing `\` escapes the closing `%`;
    // case folding beyond ASCII.
    assert_eq!(matching_names(&http, &sim, "al%ow").await, "alpine_flow");
    assert_eq!(matching_names(&http, &sim, "ow%al").await, "");
    assert_eq!(matching_names(&http, &sim, "a\\").await, "xa%");
    assert_eq!(matching_names(&http, &sim, "É").await, "café_é");
}

/// Chorus through the framework: `Sims::start` maps the population onto
/// running and idle workflows plus 3 other files (as the binary does), and
/// `AnySim` answers ids, raw states, settings and stop counts; a stop the
/// engine accepts is immediate whatever `stop_delay` says.
#[tokio::test]
async fn through_the_framework() {
    use jobstop_sim::chorus::Chorus;
    use jobstop_sim::{Sims, SimsOptions};

    let opts = SimsOptions::default()
        .with_seed(7)
        .with_population(2, 4)
        .with_stop_delay(Duration::from_secs(3600));
    let sims = Sims::start(&["chorus"], &opts).await.unwrap();
    let any = sims.by_name("chorus").unwrap();
    let sim = sims.get::<Chorus>().unwrap();
    let direct = ChorusSim::builder()
        .seed(7)
        .running(2)
        .idle(4)
        .other_files(3)
        .start()
        .await
        .unwrap();
    assert_eq!(any.ids(), direct.ids());
    assert_eq!(any.ids().len(), 6);
    assert_eq!(sim.ids_in(sim.workspace_id()).len(), 9);
    assert_eq!(any.settings(), sim.settings());
    assert_eq!(
        any.settings().iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["base_url", "username", "password", "workspace_id"]
    );
    assert!(any.alternatives().is_empty());
    let id = sim.ids_with_status("running")[0].clone();
    assert_eq!(any.raw_state(&id).as_deref(), Some("running"));
    assert_eq!(any.raw_state("nope"), None);
    let http = client();
    let sid = sim.new_session();
    let a = post(sim, &http, &sid, &format!("/api/workfiles/{id}/stop")).await;
    assert_eq!(
        (a.status, &a.body["response"]["status"]),
        (202, &json!("idle"))
    );
    assert_eq!(any.raw_state(&id).as_deref(), Some("idle"));
    assert_eq!((any.stop_requests(&id), any.total_stop_requests()), (1, 1));
    assert!(sim.set_status(&id, "QUEUED"));
    assert_eq!(any.raw_state(&id).as_deref(), Some("QUEUED"));
}

/// `GET /sessions` (and HEAD) never reads the body: even a malformed JSON
/// body does not make it a 400, while the other routes answer 400.
#[tokio::test]
async fn session_show_ignores_its_body() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let http = client();
    let sid = sim.new_session();
    let bad = |rb: RequestBuilder| {
        rb.query(&[("session_id", sid.as_str())])
            .header("content-type", "application/json")
            .body("{nope")
    };
    for rb in [
        http.get(url(&sim, "/api/sessions")),
        http.head(url(&sim, "/api/sessions")),
    ] {
        assert_eq!(send(bad(rb)).await.status, 200);
    }
    let path = format!("/api/workfiles/{}", sim.ids()[0]);
    assert_eq!(send(bad(http.get(url(&sim, &path)))).await.status, 400);
}

/// The fixed presenter fields and seeded tables parse and name their source.
#[test]
fn data_files_parse() {
    let v: Value = serde_json::from_str(include_str!("../data/chorus/presenters.json")).unwrap();
    assert!(v["_source"].as_str().unwrap().contains("hey-jude/chorus"));
    assert_eq!(v["users"].as_array().unwrap().len(), 3);
    assert_eq!(v["flow_names"].as_array().unwrap().len(), 12);
    for key in ["user", "database", "workspace", "workfile", "version_info"] {
        assert!(v[key].is_object(), "{key}");
    }
}

/// What the module, seed and `run_objects` docs show.
#[tokio::test]
async fn handle_seed_and_run_objects_as_documented() {
    let sim = ChorusSim::builder()
        .seed(7)
        .running(2)
        .idle(3)
        .other_files(2);
    let sim = sim.start().await.expect("start");
    assert_eq!(sim.ids().len(), 5, "workflows of the member workspace");
    assert_eq!(sim.ids_with_status("running").len(), 2);
    assert!(!sim.base_url().ends_with("/api"), "the server root");
    let wf = sim.workfile_json(&sim.ids()[0]).unwrap();
    assert_eq!(wf["file_type"], "work_flow");
    assert_eq!(wf["workspace"]["id"], sim.workspace_id());
    let id = sim.insert_workfile(WorkfileSeed::new("queued").with_id(1_000_500));
    assert_eq!(id, "1000500");
    let mut list = json!({"response": [{"id": 1}, {"id": 2}], "pagination": {"page": 1}});
    assert_eq!(run_objects(&mut list).len(), 2);
    let mut one = json!({"response": {"id": 1, "status": "idle"}});
    assert_eq!(run_objects(&mut one).len(), 1);
    assert!(run_objects(&mut json!({"errors": {}})).is_empty());
}
