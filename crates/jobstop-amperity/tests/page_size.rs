//! The `limit` the simulator receives for each page size asked, over
//! loopback. Amperity documents no largest `limit` (OA3
//! `components.parameters.Limit` is a bare integer), so a listing that names
//! no size asks for the adapter's default of 50, and a larger size is
//! clamped to 100.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use jobstop_amperity::{AmperityBuilder, AmperityController};
use jobstop_core::{JobController, ListQuery};
use jobstop_sim::amperity::AmperitySim;

fn controller(sim: &AmperitySim) -> AmperityController {
    AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .build()
        .unwrap()
}

/// The `limit` of every listing request the simulator received, in order.
fn limits(sim: &AmperitySim) -> Vec<String> {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().ends_with("/workflow/runs"))
        .map(|r| param(&r.target, "limit").unwrap_or_default())
        .collect()
}

fn param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// One page with `size` named (or none): the `limit` sent and the runs served.
async fn one_page(size: Option<u32>) -> (Vec<String>, usize) {
    let sim = AmperitySim::builder().finished(250).start().await.unwrap();
    let ctrl = controller(&sim);
    let mut query = ListQuery::new();
    query.page_size = size;
    let page = ctrl.list(&query).await.unwrap();
    (limits(&sim), page.runs.len())
}

#[tokio::test]
async fn no_size_named_asks_for_the_default_of_50() {
    assert_eq!(one_page(None).await, (vec!["50".to_owned()], 50));
}

#[tokio::test]
async fn a_named_size_is_passed_through() {
    assert_eq!(one_page(Some(7)).await, (vec!["7".to_owned()], 7));
    assert_eq!(one_page(Some(100)).await, (vec!["100".to_owned()], 100));
}

#[tokio::test]
async fn a_size_above_100_is_clamped_and_0_counts_as_1() {
    assert_eq!(one_page(Some(101)).await, (vec!["100".to_owned()], 100));
    assert_eq!(one_page(Some(5000)).await, (vec!["100".to_owned()], 100));
    assert_eq!(one_page(Some(0)).await, (vec!["1".to_owned()], 1));
}
