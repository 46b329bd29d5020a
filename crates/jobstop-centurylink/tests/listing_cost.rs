//! What listing 10,000 executions costs: requests and wall time, printed (no
//! timed assertion). Run with
//! `cargo test -p jobstop-centurylink --test listing_cost -- --ignored --nocapture`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Instant;

use futures::TryStreamExt;
use jobstop_centurylink::CenturyLinkBuilder;
use jobstop_core::{JobControllerExt, ListQuery};
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::{Fault, FaultRule, Route};

const JOBS: usize = 100;
const PER_JOB: usize = 100;

/// Lists every execution with no page size named, with `latency_ms` added
/// to every request, and prints what it took.
async fn measure(latency_ms: u64) {
    let sim = CenturyLinkSim::builder()
        .jobs(JOBS)
        .executions_per_job(PER_JOB)
        .start()
        .await
        .unwrap();
    let vars = sim.env();
    let ctrl = CenturyLinkBuilder::from_lookup(|k| {
        vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .build()
    .unwrap();
    if latency_ms > 0 {
        let latency = Fault::latency_ms(latency_ms);
        sim.faults().add(FaultRule::new(Route::any(), latency));
    }
    sim.server().clear_requests();
    let started = Instant::now();
    let runs: usize = ctrl
        .list_all(ListQuery::new())
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    let wall = started.elapsed();
    let requests = sim.server().requests();
    let executions = requests
        .iter()
        .filter(|r| r.path().ends_with("/executions"))
        .count();
    assert_eq!(runs, JOBS * PER_JOB);
    println!(
        "centurylink executions: {runs} runs, {} requests ({executions} executions pages, \
         {} job-list pages), {:.3} s wall, {latency_ms} ms added per request",
        requests.len(),
        requests.len() - executions,
        wall.as_secs_f64()
    );
}

#[tokio::test]
#[ignore = "prints figures; run by hand"]
async fn listing_ten_thousand_executions() {
    measure(0).await;
    measure(5).await;
}
