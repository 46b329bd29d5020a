//! One pace per account that every request waits on: the list pages and the
//! read-backs of a bulk stop count against it as the stops do, and a
//! `client.pace` from a config file paces its own account only. Over
//! loopback, against Amperity simulators that answer 429 past a rolling
//! one-second window per tenant: a 429 in a simulator's log is a second in
//! which jobstop sent that account more than its limit.
//!
//! The client paces under the simulator's limit (4 against 5 per second), so
//! that scheduling jitter on a loaded machine cannot push a sixth request
//! into one second (six turns at 4 per second span 1.3 s), while a client
//! pacing the stops alone sends about 8 per second (each stop is followed by
//! a read of the run) and is answered 429.

#![cfg(feature = "amperity")]
#![allow(clippy::unwrap_used)]

mod support;
use support::amperity_table;

use std::num::NonZeroU32;
use std::time::Duration;

use futures::StreamExt;
use jobstop::ops::{BulkOptions, BulkResult, Selector, execute_stops, plan_stops};
use jobstop::{JobController, Registry, RunId, RunState, StopOutcome};
use jobstop_sim::amperity::AmperitySim;

const LIMIT: u32 = 5;
const PACE: u32 = 4;

async fn sim(tenant: &str, running: usize) -> AmperitySim {
    AmperitySim::builder()
        .tenant(tenant)
        .running(running)
        .rate_limit_per_second(Some(LIMIT))
        .start()
        .await
        .unwrap()
}

fn too_many(sim: &AmperitySim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_read_backs_count_against_the_rate() {
    let (a, b) = (sim("tenant-a", 6).await, sim("tenant-b", 6).await);
    let text = format!(
        "{}{}",
        amperity_table("a", &a, ""),
        amperity_table("b", &b, "")
    );
    let registry = Registry::from_toml_str(&text, |_| None).unwrap();
    let accounts = registry.all();
    let rate = NonZeroU32::new(PACE).unwrap();
    for account in &accounts {
        assert!(account.tighten_pace(rate), "an HTTP adapter has a pacer");
    }
    let plan = plan_stops(&accounts, &Selector::new().with_state(RunState::Running)).await;
    assert_eq!(plan.stops.len(), 12);
    // Every run ends before its stop arrives: each stop is refused (400) and
    // read back, two requests per run.
    for sim in [&a, &b] {
        for id in sim.ids() {
            assert!(sim.set_state(&id, "succeeded"));
        }
    }
    let options = BulkOptions::default()
        .with_concurrency(8)
        .with_per_account_rate(PACE);
    let results: Vec<BulkResult> = execute_stops(&registry, &plan, &options).collect().await;
    assert_eq!(results.len(), 12);
    for r in &results {
        assert!(
            matches!(r.result, Ok(StopOutcome::AlreadyFinished(_))),
            "{:?}",
            r.result
        );
    }
    for sim in [&a, &b] {
        let log = sim.server().requests();
        let reads = log
            .iter()
            .filter(|r| r.method == "GET" && r.path().contains("/workflow/runs/"))
            .count();
        let stops = log.iter().filter(|r| r.method == "POST").count();
        assert_eq!((stops, reads), (6, 6), "one stop and one read per run");
        assert_eq!(
            too_many(sim),
            0,
            "{} was sent more than its limit",
            sim.tenant()
        );
        for id in sim.ids() {
            assert_eq!(sim.stop_requests(&id), 1, "{id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_pace_applies_to_its_account_only() {
    let (paced, free) = (sim("tenant-p", 1).await, sim("tenant-f", 1).await);
    let text = format!(
        "{}{}",
        amperity_table("paced", &paced, &format!("pace = {PACE}")),
        amperity_table("free", &free, "")
    );
    let registry = Registry::from_toml_str(&text, |_| None).unwrap();
    let pacer = |name: &str| registry.get(name).unwrap().controller.pacer().unwrap();
    assert_eq!(pacer("paced").interval(), Duration::from_micros(262_500));
    assert!(pacer("free").is_unlimited());
    assert!(!pacer("paced").same_schedule(&pacer("free")));

    // Twelve reads at once on each account: the paced one spreads them
    // over three seconds, the other sends them together and is refused.
    for (name, sim) in [("paced", &paced), ("free", &free)] {
        let ctrl = &registry.get(name).unwrap().controller;
        let id = RunId::new(sim.ids()[0].clone());
        let reads = (0..12).map(|_| ctrl.status(&id));
        let _ = futures::future::join_all(reads).await;
    }
    assert_eq!(too_many(&paced), 0);
    assert!(too_many(&free) > 0, "the unpaced account was not limited");
}
