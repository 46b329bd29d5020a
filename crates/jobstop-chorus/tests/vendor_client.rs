//! Chorus's official Python client, `alpine` (PyPI, "Alpine Web API
//! Client", pinned in `jobstop-testkit/python/vendor-clients.txt`), against
//! the Chorus simulator over loopback: it logs in with its
//! `?session_id=NULL` form login, lists a workspace's workfiles through every
//! page (its paging goes in a JSON body on the GET, and it stops when
//! `pagination.total == pagination.page`), reads a workfile, looks one up by
//! name, gets its not-found error and logs out. The script is
//! `tests/vendor_client/alpine_client.py`; it fails (and so does this test)
//! when Python or the client is missing.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use jobstop_chorus::ChorusBuilder;
use jobstop_core::{JobController, RunId};
use jobstop_sim::chorus::{ChorusSim, ChorusWire};
use jobstop_testkit::python::run_vendor_script;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alpine_client_logs_in_lists_every_page_and_reads_a_workfile() {
    // Under both published readings of the JSON.
    for wire in [ChorusWire::TibcoPage, ChorusWire::RailsPresenters] {
        alpine_client(wire).await;
    }
}

async fn alpine_client(wire: ChorusWire) {
    let sim = ChorusSim::builder()
        .wire(wire)
        .seed(31)
        .running(2)
        .idle(3)
        .other_files(2)
        .start()
        .await
        .unwrap();
    let ws = sim.workspace_id();
    let all = sim.ids_in(ws);
    assert_eq!(all.len(), 7);
    let target = sim.ids_with_status("running")[0].clone();
    let mut env = sim.env();
    env.push(("ALPINE_PER_PAGE".into(), "2".into()));
    env.push(("ALPINE_WORKFILE_ID".into(), target.clone()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vendor_client/alpine_client.py");
    let out = run_vendor_script(&script, &env).await;
    let lines = out.json_lines();
    let field = |name: &str| -> Value {
        lines
            .iter()
            .find_map(|l| l.get(name).cloned())
            .unwrap_or_else(|| panic!("no `{name}` line in\n{}\n{}", out.stdout, out.stderr))
    };
    assert!(!out.stdout.contains(sim.password()));
    for sid in sim.session_ids() {
        assert!(
            !out.stdout.contains(&sid),
            "the script printed a session id"
        );
    }

    // The login: the client reads response.session_id and response.user.id.
    assert_eq!(
        field("login"),
        json!({"user_id": 1_000_002, "token_is_40_hex": true})
    );
    assert_eq!(sim.logins(), 1);

    // Every workfile of the workspace, each once, in the listing's order
    // (the client sends no file_type: workflows and other files).
    let listed = field("listed");
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].to_string())
        .collect();
    assert_eq!(ids, all);
    for f in listed.as_array().unwrap() {
        let id = f["id"].to_string();
        let want = sim.workfile_json(&id).unwrap();
        assert_eq!(f["status"], want["status"], "{id}");
        assert_eq!(f["file_name"], want["file_name"], "{id}");
        assert_eq!(f["file_type"], want["file_type"], "{id}");
        assert_eq!(f["workspace_id"], json!(ws), "{id}");
    }

    // The read, as GET /api/workfiles/:id shows it.
    let read = field("read");
    let want = sim.workfile_json(&target).unwrap();
    assert_eq!(read["id"].to_string(), target);
    assert_eq!(read["status"], "running");
    assert_eq!(read["file_name"], want["file_name"]);
    let keys: Vec<String> = want.as_object().unwrap().keys().cloned().collect();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(read["keys"], json!(keys_sorted));
    assert!(keys.iter().any(|k| k == "version_info"));
    assert_eq!(field("get_id").to_string(), target);
    assert_eq!(field("not_found"), json!(true));
    assert_eq!(field("logout"), json!(200));
    // The client's one read wrote one OpenWorkfileEvent; its 404 none.
    assert_eq!(sim.open_workfile_events(), 1);
    assert_eq!(sim.open_workfile_events_for(&target), 1);

    // What the client sent: the NULL-session login, then its paging in JSON
    // bodies on GETs, each with the session id in the query.
    let sent = field("requests");
    let sent = sent.as_array().unwrap();
    assert_eq!(sent[0]["method"], "POST");
    assert_eq!(sent[0]["path"], "/api/sessions");
    assert_eq!(sent[0]["session_id_null"], true);
    assert_eq!(sent[0]["status"], 201);
    let pages: Vec<(u64, u64)> = sent
        .iter()
        .filter(|r| r["path"] == json!(format!("/api/workspaces/{ws}/workfiles")))
        .map(|r| {
            assert_eq!(r["status"], 200);
            assert_eq!(r["query_keys"], json!(["session_id"]));
            assert_eq!(r["json_body"]["order"], "file_name");
            assert_eq!(r["json_body"]["no_published_worklets"], true);
            (
                r["json_body"]["page"].as_u64().unwrap(),
                r["json_body"]["per_page"].as_u64().unwrap(),
            )
        })
        .collect();
    // get_list pages by 2 (7 files: 4 pages); get_id lists by its default 100.
    assert_eq!(pages, vec![(1, 2), (2, 2), (3, 2), (4, 2), (1, 100)]);
    let last = sent.last().unwrap();
    assert_eq!(
        (
            last["method"].as_str(),
            last["path"].as_str(),
            last["status"].as_u64()
        ),
        (Some("DELETE"), Some("/api/sessions"), Some(200))
    );

    // jobstop reads the same workfile the same way, through the listing
    // once it has seen it (no further event).
    let ctrl =
        ChorusBuilder::from_lookup(|k| sim.env().into_iter().find(|(n, _)| n == k).map(|(_, v)| v))
            .build()
            .unwrap();
    let id = RunId::new(target.clone());
    let run = ctrl.status(&id).await.unwrap();
    assert_eq!(run.name.as_deref(), want["file_name"].as_str());
    assert_eq!(sim.open_workfile_events(), 2);
    let again = ctrl.status(&id).await.unwrap();
    assert_eq!(again.state, run.state);
    assert_eq!(sim.open_workfile_events(), 2);
}
