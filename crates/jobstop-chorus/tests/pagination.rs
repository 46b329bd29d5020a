//! A Chorus server whose `pagination.total` never ends (a huge page count)
//! cannot hold a listing: an empty page is the last, and so is the page that
//! reaches `records`. Before, the adapter followed `total` page after empty
//! page, forever.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use futures::TryStreamExt;
use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::{JobControllerExt, ListQuery, Run};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;

/// A hung listing fails the test after this long.
const OUTER: Duration = Duration::from_secs(20);

fn controller(sim: &ChorusSim) -> ChorusController {
    ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id(sim.workspace_id().to_string())
        .with_client_config(
            ClientConfig::default().with_retry(
                RetryPolicy::default()
                    .with_max_attempts(2)
                    .with_budget(Duration::from_secs(5)),
            ),
        )
        .build()
        .unwrap()
}

/// GETs of the workspace listing in the request log.
fn listings(sim: &ChorusSim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().starts_with("/api/workspaces/"))
        .count()
}

/// The listing of 8 workflows, 5 a page, with `rewrite` applied to every
/// list answer; the runs, and how many list requests it took.
async fn list_with(rewrite: fn(&mut Value)) -> (Vec<Run>, usize) {
    let sim = ChorusSim::builder()
        .seed(31)
        .running(3)
        .idle(5)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    sim.faults().add(FaultRule::new(
        Route::get_prefix("/api/workspaces/"),
        Fault::map_json("endless total", rewrite),
    ));
    let before = listings(&sim);
    let runs: Vec<Run> = tokio::time::timeout(
        OUTER,
        ctrl.list_all(ListQuery::new().with_page_size(5))
            .try_collect(),
    )
    .await
    .expect("the listing followed an endless `total` (hung)")
    .unwrap();
    (runs, listings(&sim) - before)
}

#[tokio::test]
async fn an_endless_total_with_records_ends_at_the_records() {
    let (runs, requests) = list_with(|body| {
        body["pagination"]["total"] = Value::from(1_000_000_000_u64);
    })
    .await;
    assert_eq!(runs.len(), 8);
    assert_eq!(requests, 2, "page 2 reaches the 8 records");
}

#[tokio::test]
async fn an_endless_total_without_records_ends_at_the_empty_page() {
    let (runs, requests) = list_with(|body| {
        body["pagination"]["total"] = Value::from(1_000_000_000_u64);
        if let Some(p) = body["pagination"].as_object_mut() {
            p.remove("records");
        }
    })
    .await;
    assert_eq!(runs.len(), 8);
    assert_eq!(requests, 3, "page 3 is empty, and the last");
}
