//! The `size` the simulator receives for each page size asked, over
//! loopback. With no size named a listing asks for the largest page Runner
//! documents, 100 (KB `Runner/job-service.md`: "between 1 to 100"), for both
//! the job list and each job's executions; a larger size is clamped to 100,
//! which the simulator (like Runner) would otherwise refuse
//! (`jobstop-sim`'s `centurylink::routes` tests).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use futures::TryStreamExt;
use jobstop_centurylink::{CenturyLinkBuilder, CenturyLinkController};
use jobstop_core::{JobControllerExt, ListQuery};
use jobstop_sim::centurylink::CenturyLinkSim;

fn controller(sim: &CenturyLinkSim) -> CenturyLinkController {
    let vars = sim.env();
    CenturyLinkBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .build()
        .unwrap()
}

fn param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `size`s of the job-list and executions requests, in order.
fn sizes(sim: &CenturyLinkSim) -> (Vec<String>, Vec<String>) {
    let (mut jobs, mut executions) = (Vec::new(), Vec::new());
    for r in sim.server().requests() {
        let size = param(&r.target, "size").unwrap_or_default();
        if r.path().ends_with("/executions") {
            executions.push(size);
        } else if r.method == "GET" {
            jobs.push(size);
        }
    }
    (jobs, executions)
}

/// A whole listing of 2 jobs of 150 executions with `size` named (or none):
/// the sizes sent.
async fn listing(size: Option<u32>) -> (Vec<String>, Vec<String>) {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .executions_per_job(150)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let mut query = ListQuery::new();
    query.page_size = size;
    let runs: Vec<_> = ctrl.list_all(query).try_collect().await.unwrap();
    assert_eq!(runs.len(), 300);
    let (jobs, executions) = sizes(&sim);
    assert!(
        jobs.iter().all(|s| s == "100"),
        "job pages of 100: {jobs:?}"
    );
    (jobs, executions)
}

fn each(n: usize, size: &str) -> Vec<String> {
    vec![size.to_owned(); n]
}

#[tokio::test]
async fn no_size_named_asks_for_the_documented_maximum_of_100() {
    let (_, executions) = listing(None).await;
    assert_eq!(executions, each(4, "100"), "two pages per job");
}

#[tokio::test]
async fn a_named_size_is_passed_through() {
    let (_, executions) = listing(Some(60)).await;
    assert_eq!(executions, each(6, "60"), "three pages per job");
}

#[tokio::test]
async fn a_size_above_100_is_clamped() {
    let (_, executions) = listing(Some(1000)).await;
    assert_eq!(executions, each(4, "100"));
}
