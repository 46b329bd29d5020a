//! The `limit` the simulator receives for each page size asked, over
//! loopback. With no size named a listing asks for the largest page DataArts
//! documents: 100 jobs (OTC `viewing_a_job_list.rst`, 1 to 100) and 1,000
//! instances (OTC `viewing_a_job_instance_list.rst`, 1 to 1000); a larger
//! size is clamped to those, which the simulator (like DataArts) would
//! otherwise refuse (`jobstop-sim`'s `dataarts::routes` tests).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use futures::TryStreamExt;
use jobstop_core::{JobController, JobControllerExt, ListQuery};
use jobstop_dataarts::{DataArtsBuilder, DataArtsController, KIND_BATCH_JOB};
use jobstop_sim::dataarts::DataArtsSim;

fn controller(sim: &DataArtsSim) -> DataArtsController {
    let vars = sim.env_token();
    DataArtsBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
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

/// The `limit`s the simulator received, by source: real-time job pages,
/// batch job pages (not the one-record clock probe) and instance pages.
#[derive(Debug, Default, PartialEq)]
struct Limits {
    realtime: Vec<String>,
    batch: Vec<String>,
    instances: Vec<String>,
}

fn limits(sim: &DataArtsSim) -> Limits {
    let mut out = Limits::default();
    for r in sim.server().requests() {
        let limit = param(&r.target, "limit").unwrap_or_default();
        if r.path().ends_with("/jobs/instances/detail") {
            out.instances.push(limit);
        } else if r.path().ends_with("/jobs") && param(&r.target, "jobName").is_none() {
            match param(&r.target, "jobType").as_deref() {
                Some("REAL_TIME") => out.realtime.push(limit),
                _ if limit != "1" => out.batch.push(limit),
                _ => {}
            }
        }
    }
    out
}

async fn sim() -> DataArtsSim {
    DataArtsSim::builder()
        .realtime_jobs(2, 1)
        .batch_jobs(3)
        .instances(40)
        .start()
        .await
        .unwrap()
}

/// A whole default listing (real-time jobs, then instances) and a batch-job
/// listing with `size` named (or none): the limits sent.
async fn listing(size: Option<u32>) -> Limits {
    let sim = sim().await;
    let ctrl = controller(&sim);
    let mut query = ListQuery::new();
    query.page_size = size;
    let runs: Vec<_> = ctrl.list_all(query.clone()).try_collect().await.unwrap();
    assert_eq!(runs.len(), 3 + 40, "every real-time job and instance");
    let batch = ctrl.list(&query.with_kind(KIND_BATCH_JOB)).await.unwrap();
    assert_eq!(batch.runs.len(), 3);
    limits(&sim)
}

fn each(n: usize, limit: &str) -> Vec<String> {
    vec![limit.to_owned(); n]
}

#[tokio::test]
async fn no_size_named_asks_for_the_documented_maximum_of_each_list() {
    let got = listing(None).await;
    assert_eq!(
        got,
        Limits {
            realtime: each(1, "100"),
            batch: each(1, "100"),
            instances: each(got.instances.len().max(1), "1000"),
        }
    );
}

#[tokio::test]
async fn a_named_size_is_passed_through() {
    let got = listing(Some(7)).await;
    assert!(got.instances.len() >= 6, "{got:?}");
    assert_eq!(
        got,
        Limits {
            realtime: each(1, "7"),
            batch: each(1, "7"),
            instances: each(got.instances.len(), "7"),
        }
    );
}

#[tokio::test]
async fn a_size_above_a_lists_maximum_is_clamped_to_it() {
    let got = listing(Some(500)).await;
    assert_eq!(
        got,
        Limits {
            realtime: each(1, "100"),
            batch: each(1, "100"),
            instances: each(got.instances.len().max(1), "500"),
        }
    );
    let got = listing(Some(5000)).await;
    assert_eq!(
        got,
        Limits {
            realtime: each(1, "100"),
            batch: each(1, "100"),
            instances: each(got.instances.len().max(1), "1000"),
        }
    );
}
