//! The `per_page` the simulator receives for each page size asked, over
//! loopback. Chorus documents no largest `per_page` (will_paginate behind
//! `ApiController#paginate`); a listing that names no size asks for 100, as
//! the vendor's Python client does (`Workfile.get_list(per_page=100)`), and a
//! larger size is clamped to 100.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::{JobController, ListQuery};
use jobstop_sim::chorus::ChorusSim;

fn controller(sim: &ChorusSim) -> ChorusController {
    ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id(sim.workspace_id().to_string())
        .build()
        .unwrap()
}

/// The `per_page` of every listing request the simulator received, in order.
fn per_pages(sim: &ChorusSim) -> Vec<String> {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().ends_with("/workfiles"))
        .map(|r| param(&r.target, "per_page").unwrap_or_default())
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

/// One page with `size` named (or none): the `per_page` sent and the runs
/// served.
async fn one_page(size: Option<u32>) -> (Vec<String>, usize) {
    let sim = ChorusSim::builder().idle(250).start().await.unwrap();
    let ctrl = controller(&sim);
    let mut query = ListQuery::new();
    query.page_size = size;
    let page = ctrl.list(&query).await.unwrap();
    (per_pages(&sim), page.runs.len())
}

#[tokio::test]
async fn no_size_named_asks_for_100_as_the_vendor_client_does() {
    assert_eq!(one_page(None).await, (vec!["100".to_owned()], 100));
}

#[tokio::test]
async fn a_named_size_is_passed_through() {
    assert_eq!(one_page(Some(7)).await, (vec!["7".to_owned()], 7));
    assert_eq!(one_page(Some(50)).await, (vec!["50".to_owned()], 50));
}

#[tokio::test]
async fn a_size_above_100_is_clamped_and_0_counts_as_1() {
    assert_eq!(one_page(Some(101)).await, (vec!["100".to_owned()], 100));
    assert_eq!(one_page(Some(5000)).await, (vec!["100".to_owned()], 100));
    assert_eq!(one_page(Some(0)).await, (vec!["1".to_owned()], 1));
}
