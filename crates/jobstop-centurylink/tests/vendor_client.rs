//! The vendor's own client against the simulator: `clc-sdk` (PyPI, the
//! CenturyLink Cloud Python SDK) logs in on the simulator's login server,
//! and the bearer token it holds works on the Runner simulator, from Python
//! (`requests` and the SDK's own `API.Call`) and from this adapter.
//!
//! Runs `tests/vendor_client/clc_sdk_login.py` with the pinned clients'
//! interpreter (`jobstop_testkit::python`); it fails, never skips, when
//! Python or the SDK is missing.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use jobstop_centurylink::CenturyLinkBuilder;
use jobstop_core::{JobController, ListQuery, RunId, RunState, StopOutcome, StopRequest};
use jobstop_sim::centurylink::{BAD_CREDENTIALS, CenturyLinkSim, LOGIN_PATH};
use jobstop_testkit::python::run_vendor_script;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clc_sdk_logs_in_and_its_token_works_on_the_runner() {
    let sim = CenturyLinkSim::builder()
        .seed(9)
        .account_alias("SDKA")
        .location_alias("UC1")
        .jobs(3)
        .executions_per_job(2)
        .running(1)
        .stop_delay(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let login_root = sim.login_url().trim_end_matches(LOGIN_PATH).to_owned();
    let env = vec![
        ("CLC_ENDPOINT_URL_V2".to_owned(), login_root),
        ("CLC_USERNAME".to_owned(), sim.username().to_owned()),
        ("CLC_PASSWORD".to_owned(), sim.password().to_owned()),
        ("RUNNER_BASE_URL".to_owned(), sim.base_url()),
    ];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vendor_client/clc_sdk_login.py");
    let out = run_vendor_script(&script, &env).await;
    let lines = out.json_lines();
    let step = |name: &str| -> Value {
        lines
            .iter()
            .find(|l| l["step"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} line in:\n{}\n{}", out.stdout, out.stderr))
    };
    assert_eq!(step("done")["step"], "done");

    // The SDK read the login answer's fields, and holds tokens the
    // simulator issued: one per successful login (JSON and form bodies).
    let issued = sim.issued_tokens();
    let login = step("login");
    assert_eq!(login["alias"], "SDKA");
    assert_eq!(login["location"], "UC1");
    let token = login["token"].as_str().unwrap().to_owned();
    assert!(issued.contains(&token));
    let session = step("get_session");
    assert_eq!(
        (&session["alias"], &session["location"]),
        (&login["alias"], &login["location"])
    );
    assert!(issued.contains(&session["token"].as_str().unwrap().to_owned()));
    assert_eq!(sim.logins(), 2);
    assert_eq!(sim.login_attempts(), 3);
    let bad = step("bad_password");
    assert!(
        bad["error"].as_str().unwrap().contains(BAD_CREDENTIALS),
        "{bad}"
    );
    // The login server saw the SDK's two body encodings.
    let types: BTreeSet<String> = sim
        .login_server()
        .requests()
        .iter()
        .filter_map(|r| r.header("content-type").map(str::to_owned))
        .collect();
    assert!(
        types.iter().any(|t| t.starts_with("application/json")),
        "{types:?}"
    );
    assert!(
        types
            .iter()
            .any(|t| t.starts_with("application/x-www-form-urlencoded")),
        "{types:?}"
    );

    // Its token on the Runner.
    let jobs: BTreeSet<String> = sim.job_ids().into_iter().collect();
    let listed = step("list_jobs");
    assert_eq!(listed["status"], 200);
    assert_eq!(listed["total"], 3);
    let ids = |v: &Value| -> BTreeSet<String> {
        v["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&listed), jobs);
    let execs = step("list_executions");
    let job = execs["job"].as_str().unwrap().to_owned();
    for e in execs["executions"].as_array().unwrap() {
        let run = format!("{job}/{}", e[0].as_str().unwrap());
        assert_eq!(sim.execution_json(&run).unwrap()["status"], e[1]);
    }
    assert_eq!(step("session_token")["status"], 200);
    let wrong = step("wrong_token");
    assert_eq!(wrong["status"], 401);
    assert_eq!(
        wrong["body"],
        serde_json::json!({"message": "Unauthorized"})
    );
    let call = step("sdk_call_list_jobs");
    assert_eq!(ids(&call), jobs);
    let missing = step("sdk_call_404");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["message"], "Job not found");
    // Every Runner request but the deliberately wrong one carried a live token.
    let statuses: Vec<Option<u16>> = sim.server().requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(401)).count(),
        1,
        "{statuses:?}"
    );

    // The same token in this adapter: list, status and stop.
    let ctrl = CenturyLinkBuilder::new()
        .with_base_url(sim.base_url())
        .with_token(token)
        .with_account_alias("SDKA")
        .build()
        .unwrap();
    let page = ctrl.list(&ListQuery::new()).await.unwrap();
    assert!(!page.runs.is_empty());
    let running = sim.execution_ids_with_status("RUNNING")[0].clone();
    let run = ctrl.status(&RunId::new(running.clone())).await.unwrap();
    assert_eq!(run.state, RunState::Running);
    let o = ctrl
        .stop(&RunId::new(running.clone()), &StopRequest::graceful())
        .await
        .unwrap();
    assert!(matches!(o, StopOutcome::Requested(_)), "{o:?}");
    assert_eq!(sim.stop_requests(&running), 1);
    assert_eq!(
        sim.logins(),
        2,
        "the adapter used the SDK's token, no login"
    );
}
