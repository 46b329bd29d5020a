//! Token lifetimes at the edges, over loopback: the simulator's OAuth token
//! endpoint answers `expires_in` rewritten to `0` or to `10^19` seconds.
//! The first must not cost a token fetch per call; the second must not
//! panic (it overflowed the clock).
#![allow(clippy::unwrap_used)]

use jobstop_amperity::AmperityBuilder;
use jobstop_core::{JobController, ListQuery};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;

/// Lists `calls` times through OAuth with the token answer's `expires_in`
/// set to `expires_in`, and returns how many token requests the simulator
/// received.
async fn token_requests_for(expires_in: Value, calls: usize) -> usize {
    let sim = AmperitySim::builder().running(2).start().await.unwrap();
    sim.faults().add(FaultRule::new(
        Route::post_prefix("/v0/oauth2/token"),
        Fault::map_json("expires_in", move |body| {
            body["expires_in"] = expires_in.clone();
        }),
    ));
    let vars = sim.oauth_env();
    let ctrl =
        AmperityBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .build()
            .unwrap();
    for _ in 0..calls {
        let page = ctrl.list(&ListQuery::new()).await.unwrap();
        assert_eq!(page.runs.len(), 2);
    }
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/oauth2/token"))
        .count()
}

#[tokio::test]
async fn a_token_lifetime_past_the_clock_is_accepted_and_reused() {
    assert_eq!(
        token_requests_for(Value::from(10_000_000_000_000_000_000_u64), 3).await,
        1
    );
    assert_eq!(token_requests_for(Value::from(u64::MAX), 3).await, 1);
}

#[tokio::test]
async fn a_token_that_expires_at_once_is_not_fetched_for_every_call() {
    // Five calls well within MIN_TOKEN_REUSE (1 s) of the fetch.
    assert_eq!(token_requests_for(Value::from(0), 5).await, 1);
}
