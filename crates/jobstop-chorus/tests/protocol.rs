//! The Chorus rules that differ from the kernel's defaults, and the lean
//! run, against the simulator over loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::{ErrorKind, JobController, ListQuery, Operation, RunId, RunState, StopRequest};
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;

fn controller(sim: &ChorusSim) -> ChorusController {
    ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id(sim.workspace_id().to_string())
        .build()
        .unwrap()
}

/// `(method, path)` of every request after the first `skip`, logins left out.
fn requests_since(sim: &ChorusSim, skip: usize) -> Vec<(String, String)> {
    let all = sim.server().requests();
    all.into_iter()
        .skip(skip)
        .filter(|r| r.path() != "/api/sessions")
        .map(|r| (r.method.clone(), r.path().to_owned()))
        .collect()
}

/// Chorus reads the workfile before it stops it, so a stop's error is the
/// stop's answer: the kernel's read-back of a refused stop (409, 400) does
/// not apply, and no second read is made.
#[tokio::test]
async fn a_stop_answered_409_is_not_read_back() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids_with_status("running")[0].clone());
    sim.faults().add(
        FaultRule::new(
            Route::post(&format!("/api/workfiles/{id}/stop")),
            Fault::status(409),
        )
        .times(1),
    );
    let before = sim.server().requests().len();
    let err = ctrl
        .stop(&id, &StopRequest::graceful())
        .await
        .expect_err("409");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(err.operation(), Some(Operation::Stop));
    assert_eq!(err.run_id(), Some(&id));
    let seen = requests_since(&sim, before);
    assert_eq!(
        seen.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
        ["GET", "POST"],
        "one read before the stop, none after: {seen:?}"
    );
}

/// The read before a stop is checked to be the workfile asked for (the
/// kernel checks only the reads it makes itself); no stop is sent otherwise.
#[tokio::test]
async fn a_stop_whose_read_shows_another_workfile_is_not_sent() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids_with_status("running")[0].clone());
    sim.faults().add(FaultRule::new(
        Route::get(&format!("/api/workfiles/{id}")),
        Fault::map_json("another id", |body| {
            body["response"]["id"] = Value::from(42)
        }),
    ));
    let before = sim.total_stop_requests();
    let err = ctrl
        .stop(&id, &StopRequest::graceful())
        .await
        .expect_err("another workfile");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert_eq!(err.operation(), Some(Operation::Stop));
    assert_eq!(sim.total_stop_requests(), before, "no stop sent");
    let err = ctrl.status(&id).await.expect_err("another workfile");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
}

/// `Page::total` is Chorus's `records` only when no filter is in use: every
/// filter is applied locally, so `records` counts runs a filtered page may
/// not hold, even when this page's runs all match.
#[tokio::test]
async fn a_filtered_page_has_no_total_even_when_every_run_matches() {
    let sim = ChorusSim::builder().running(4).start().await.unwrap();
    let ctrl = controller(&sim);
    let page = ctrl
        .list(&ListQuery::new().with_page_size(2))
        .await
        .unwrap();
    assert_eq!((page.runs.len(), page.total), (2, Some(4)));
    let running = ListQuery::new()
        .with_page_size(2)
        .with_state(RunState::Running);
    let page = ctrl.list(&running).await.unwrap();
    assert_eq!(page.runs.len(), 2, "every run matches");
    assert_eq!(page.total, None);
}

/// A listed run keeps the item's JSON as the server sent it, fields the
/// adapter does not read included, and a status keeps the workfile's.
#[tokio::test]
async fn runs_keep_the_vendors_json() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    sim.faults().add(FaultRule::new(
        Route::get_prefix("/api/"),
        Fault::map_json("odd extra field", |body| {
            let items = match body["response"].as_array_mut() {
                Some(items) => items.iter_mut().collect::<Vec<_>>(),
                None => vec![&mut body["response"]],
            };
            for item in items {
                item["x_extra"] = serde_json::json!({"n": [1, "two", null]});
                item["file_name"] = Value::from(7);
            }
        }),
    ));
    let page = ctrl.list(&ListQuery::new()).await.unwrap();
    let run = &page.runs[0];
    assert_eq!(run.name, None, "a file_name of another type is absent");
    let raw = run.raw_value();
    assert_eq!(raw["x_extra"]["n"][1], "two");
    assert_eq!(
        raw["id"].as_u64().map(|n| n.to_string()).as_deref(),
        Some(run.id.as_str())
    );
    let status = ctrl.status(&run.id).await.unwrap();
    assert_eq!(status.raw_value()["x_extra"]["n"][1], "two");
}
