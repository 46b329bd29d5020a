//! Bulk stop and wait, a plan of the user's own, an owned (spawnable)
//! execution and the selector's page size, over loopback against Amperity
//! simulators.

#![cfg(feature = "amperity")]
#![allow(clippy::unwrap_used)]

mod support;
use support::amperity_table;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jobstop::ops::{
    BulkOptions, BulkResult, PlannedStop, Selector, StopPlan, StopSwitch, execute_stops,
    execute_stops_owned, plan_stops,
};
use jobstop::{Registry, RunId, RunState, WaitOptions};
use jobstop_sim::amperity::AmperitySim;

async fn sim(tenant: &str, running: usize, limit: Option<u32>) -> AmperitySim {
    AmperitySim::builder()
        .tenant(tenant)
        .running(running)
        .stop_delay(Duration::from_millis(300))
        .rate_limit_per_second(limit)
        .start()
        .await
        .unwrap()
}

fn wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_secs(20))
        .with_intervals(Duration::from_millis(50), Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_stop_with_wait_reports_every_run_ended_and_whether_its_stop_won() {
    let (a, b) = (
        sim("tenant-a", 4, None).await,
        sim("tenant-b", 3, None).await,
    );
    let registry = Registry::from_toml_str(
        &format!(
            "{}{}",
            amperity_table("a", &a, ""),
            amperity_table("b", &b, "")
        ),
        |_| None,
    )
    .unwrap();
    let accounts: Vec<_> = registry.accounts().collect();
    let plan = plan_stops(&accounts, &Selector::new().with_state(RunState::Running)).await;
    assert_eq!(plan.stops.len(), 7);
    // One run succeeds between the plan and its stop: its stop cannot win.
    let finished = b.ids()[0].clone();
    assert!(b.set_state(&finished, "succeeded"));

    let options = BulkOptions::default().with_concurrency(2).with_wait(wait());
    let results: Vec<BulkResult> = execute_stops(&registry, &plan, &options).collect().await;
    assert_eq!(results.len(), 7);
    for r in &results {
        assert!(r.result.is_ok(), "{:?}", r.result);
        assert!(r.wait_error.is_none(), "{:?}", r.wait_error);
        let end = r.final_run.as_ref().expect("waited to the end");
        assert!(end.state.is_terminal());
        // The two simulators hold the same ids: the account tells them apart.
        if r.account == "b" && r.run_id().as_str() == finished {
            assert_eq!(end.state, RunState::Succeeded);
            assert_eq!(r.stop_won, Some(false));
        } else {
            assert_eq!(end.state, RunState::Stopped, "{}", r.run_id());
            assert_eq!(r.stop_won, Some(true));
        }
        assert_eq!(r.final_state(), Some(end.state));
    }
    // Without a wait, nothing is polled for and nothing is claimed.
    let c = sim("tenant-c", 2, None).await;
    let registry = Registry::from_toml_str(&amperity_table("c", &c, ""), |_| None).unwrap();
    let accounts: Vec<_> = registry.accounts().collect();
    let plan = plan_stops(&accounts, &Selector::new()).await;
    let results: Vec<BulkResult> = execute_stops(&registry, &plan, &BulkOptions::default())
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| r.final_run.is_none() && r.stop_won.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_polls_of_a_bulk_wait_keep_to_the_accounts_pace() {
    // The simulator answers 429 past 5 requests a second; the account paces
    // at 4. Eight runs stopped and polled every 20 ms would be far more.
    let s = sim("tenant-r", 8, Some(5)).await;
    let registry = Registry::from_toml_str(&amperity_table("r", &s, "pace = 4"), |_| None).unwrap();
    let accounts: Vec<_> = registry.accounts().collect();
    let plan = plan_stops(&accounts, &Selector::new()).await;
    assert_eq!(plan.stops.len(), 8);
    let fast = WaitOptions::default()
        .with_timeout(Duration::from_secs(60))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(20));
    let options = BulkOptions::default().with_concurrency(8).with_wait(fast);
    let results: Vec<BulkResult> = execute_stops(&registry, &plan, &options).collect().await;
    assert_eq!(results.len(), 8);
    for r in &results {
        assert_eq!(
            r.final_state(),
            Some(RunState::Stopped),
            "{:?}",
            r.wait_error
        );
    }
    let log = s.server().requests();
    let polls = log
        .iter()
        .filter(|r| r.method == "GET" && r.path().contains("/workflow/runs/"))
        .count();
    assert!(polls >= 8, "every run was polled: {polls}");
    let too_many = log.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(too_many, 0, "a poll went past the account's pace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_of_ones_own_runs_spawned_with_an_owned_execution() {
    let s = sim("tenant-o", 5, None).await;
    let registry =
        Arc::new(Registry::from_toml_str(&amperity_table("o", &s, ""), |_| None).unwrap());
    // The user's own listing: three of the five runs.
    let plan: StopPlan = s.ids()[..3]
        .iter()
        .map(|id| PlannedStop::new("o", RunId::new(id.clone()), RunState::Running))
        .collect();
    let options = BulkOptions::default().with_wait(wait());
    let stream = execute_stops_owned(registry.clone(), plan, options, StopSwitch::new());
    let results: Vec<BulkResult> = tokio::spawn(stream.collect()).await.unwrap();
    assert_eq!(results.len(), 3);
    for r in &results {
        assert_eq!(r.final_state(), Some(RunState::Stopped));
        assert_eq!(r.stop_won, Some(true));
    }
    for (i, id) in s.ids().iter().enumerate() {
        assert_eq!(s.stop_requests(id), u64::from(i < 3), "{id}");
    }
}

#[tokio::test]
async fn the_selectors_page_size_sets_how_many_list_requests_are_sent() {
    let s = sim("tenant-p", 45, None).await;
    let registry = Registry::from_toml_str(&amperity_table("p", &s, ""), |_| None).unwrap();
    let accounts: Vec<_> = registry.accounts().collect();
    let lists = || {
        s.server()
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path().ends_with("/workflow/runs"))
            .count()
    };
    for (size, expected) in [(10, 5), (20, 3), (45, 1), (100, 1)] {
        s.server().clear_requests();
        let plan = plan_stops(&accounts, &Selector::new().with_page_size(size)).await;
        assert_eq!(plan.stops.len(), 45);
        assert_eq!(lists(), expected, "page size {size}");
    }
}
