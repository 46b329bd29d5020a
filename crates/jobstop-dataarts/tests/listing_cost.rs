//! What listing 10,000 batch instances costs: requests and wall time, printed
//! (no timed assertion). Run with
//! `cargo test -p jobstop-dataarts --test listing_cost -- --ignored --nocapture`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use jobstop_core::{JobControllerExt, ListQuery};
use jobstop_dataarts::{DataArtsBuilder, KIND_BATCH_INSTANCE};
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};

const RUNS: usize = 10_000;

/// Lists every batch instance with no page size named, with `latency_ms`
/// added to every request, and prints what it took.
async fn measure(latency_ms: u64) {
    // 1,000 jobs of 10 instances each: the oldest daily one is 10 days back.
    let sim = DataArtsSim::builder()
        .batch_jobs(1000)
        .instances(RUNS)
        .start()
        .await
        .unwrap();
    let vars = sim.env_token();
    let ctrl =
        DataArtsBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .with_instance_lookback(Duration::from_secs(14 * 24 * 3600))
            .build()
            .unwrap();
    if latency_ms > 0 {
        let latency = Fault::latency_ms(latency_ms);
        sim.faults().add(FaultRule::new(Route::any(), latency));
    }
    sim.server().clear_requests();
    let query = ListQuery::new().with_kind(KIND_BATCH_INSTANCE);
    let started = Instant::now();
    let runs: usize = ctrl
        .list_all(query)
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    let wall = started.elapsed();
    let requests = sim.server().requests();
    let pages = requests
        .iter()
        .filter(|r| r.path().ends_with("/jobs/instances/detail"))
        .count();
    assert_eq!(runs, RUNS);
    println!(
        "dataarts batch instances: {runs} runs, {} requests ({pages} instance pages), \
         {:.3} s wall, {latency_ms} ms added per request",
        requests.len(),
        wall.as_secs_f64()
    );
}

#[tokio::test]
#[ignore = "prints figures; run by hand"]
async fn listing_ten_thousand_instances() {
    measure(0).await;
    measure(5).await;
}
