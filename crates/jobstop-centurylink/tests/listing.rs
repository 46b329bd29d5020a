//! Listing executions reads the job list once per listing, not before every
//! page of executions; a resumed cursor and jobs created or deleted
//! mid-listing still list every execution exactly once. Over loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;

use chrono::{Duration, Utc};
use futures::TryStreamExt;
use jobstop_centurylink::{CenturyLinkBuilder, CenturyLinkController};
use jobstop_core::{JobController, JobControllerExt, ListQuery, Page, Run};
use jobstop_sim::centurylink::{CenturyLinkSim, ExecutionSeed, JobSeed};

fn controller(sim: &CenturyLinkSim) -> CenturyLinkController {
    let vars = sim.env();
    CenturyLinkBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .build()
        .unwrap()
}

async fn sim(jobs: usize, per_job: usize) -> CenturyLinkSim {
    CenturyLinkSim::builder()
        .jobs(jobs)
        .executions_per_job(per_job)
        .start()
        .await
        .unwrap()
}

/// Runner requests received since the last clear: `(job-list pages,
/// executions pages)`.
fn requests(sim: &CenturyLinkSim) -> (usize, usize) {
    let all = sim.server().requests();
    let executions = all
        .iter()
        .filter(|r| r.path().ends_with("/executions"))
        .count();
    (all.len() - executions, executions)
}

/// Every execution in the order a listing gives them: job by job in the job
/// list's order, each job's executions newest first.
fn expected(sim: &CenturyLinkSim) -> Vec<String> {
    let all = sim.ids();
    sim.job_ids()
        .iter()
        .flat_map(|job| {
            let prefix = format!("{job}/");
            all.iter()
                .filter(move |id| id.starts_with(&prefix))
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ids(runs: &[Run]) -> Vec<String> {
    runs.iter().map(|r| r.id.as_str().to_owned()).collect()
}

/// The job's display name as the simulator serves it (`name`, else
/// `description`).
fn job_name(sim: &CenturyLinkSim, job: &str) -> Option<String> {
    let doc = sim.job_json(job)?;
    doc["name"]
        .as_str()
        .or(doc["description"].as_str())
        .map(str::to_owned)
}

/// Follows `query` page by page on `ctrl` for at most `pages` pages: the
/// runs, and the cursor left (if any).
async fn pages(
    ctrl: &CenturyLinkController,
    mut query: ListQuery,
    pages: usize,
) -> (Vec<Run>, Option<ListQuery>) {
    let mut runs = Vec::new();
    for _ in 0..pages {
        let Page {
            runs: got,
            next_cursor,
            ..
        } = ctrl.list(&query).await.unwrap();
        runs.extend(got);
        match next_cursor {
            Some(c) => query = query.with_cursor(c),
            None => return (runs, None),
        }
    }
    (runs, Some(query))
}

#[tokio::test]
async fn a_listing_reads_the_job_list_once_and_lists_the_same_runs() {
    let sim = sim(3, 150).await;
    let ctrl = controller(&sim);
    sim.server().clear_requests();
    let runs: Vec<Run> = ctrl
        .list_all(ListQuery::new().with_page_size(100))
        .try_collect()
        .await
        .unwrap();
    // Two pages of executions per job and one page of jobs: 7 requests
    // (it was 12: the job list before each of the 6 pages of executions).
    assert_eq!(requests(&sim), (1, 6));
    assert_eq!(ids(&runs), expected(&sim));
    for run in &runs {
        let job = run.id.as_str().split('/').next().unwrap();
        assert_eq!(run.name, job_name(&sim, job), "{}", run.id);
    }
    // Another page size pages differently and lists the same runs.
    sim.server().clear_requests();
    let small: Vec<Run> = ctrl
        .list_all(ListQuery::new().with_page_size(40))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(requests(&sim), (1, 12));
    assert_eq!(ids(&small), ids(&runs));
}

#[tokio::test]
async fn more_than_a_page_of_jobs_reads_each_page_of_jobs_once() {
    let sim = sim(130, 2).await;
    let ctrl = controller(&sim);
    sim.server().clear_requests();
    let runs: Vec<Run> = ctrl.list_all(ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(requests(&sim), (2, 130));
    assert_eq!(ids(&runs), expected(&sim));
}

#[tokio::test]
async fn a_resumed_cursor_reads_the_job_list_once_more_and_goes_on() {
    let sim = sim(3, 150).await;
    let want = expected(&sim);
    let first = controller(&sim);
    let (mut runs, rest) = pages(&first, ListQuery::new().with_page_size(100), 3).await;
    // Another controller (as another process) has no page of jobs kept: it
    // reads the job list once and finds the cursor's job by id.
    let second = controller(&sim);
    sim.server().clear_requests();
    let (more, end) = pages(&second, rest.unwrap(), 10).await;
    assert!(end.is_none());
    assert_eq!(requests(&sim), (1, 3));
    runs.extend(more);
    assert_eq!(ids(&runs), want);
}

#[tokio::test]
async fn a_job_created_mid_listing_shifts_nothing() {
    let sim = sim(3, 150).await;
    let want = expected(&sim);
    let ctrl = controller(&sim);
    let (mut runs, rest) = pages(&ctrl, ListQuery::new().with_page_size(100), 3).await;
    // A new job, first in the job list, with executions.
    let job = sim.insert_job(
        JobSeed::default()
            .with_name("created mid-listing")
            .with_created_time(Utc::now() + Duration::days(1)),
    );
    sim.insert_execution(ExecutionSeed::new(job.clone(), "RUNNING"))
        .unwrap();
    // Resumed elsewhere, the page of jobs read again holds the new job
    // first: the cursor's job is found by id, not by its old index.
    let (more, end) = pages(&controller(&sim), rest.unwrap(), 10).await;
    assert!(end.is_none());
    runs.extend(more);
    assert_eq!(ids(&runs), want, "each run once, none of the new job");
    let unique: HashSet<String> = ids(&runs).into_iter().collect();
    assert_eq!(unique.len(), runs.len());
}

#[tokio::test]
async fn a_job_deleted_mid_listing_is_skipped_and_the_listing_goes_on() {
    let sim = sim(3, 150).await;
    let jobs = sim.job_ids();
    let want = expected(&sim);
    let ctrl = controller(&sim);
    // The first page of the first job.
    let (mut runs, rest) = pages(&ctrl, ListQuery::new().with_page_size(100), 1).await;
    assert_eq!(runs.len(), 100);
    // The job being listed and the last one go.
    assert!(sim.remove_job(&jobs[0]));
    assert!(sim.remove_job(&jobs[2]));
    sim.server().clear_requests();
    let (more, end) = pages(&ctrl, rest.unwrap(), 10).await;
    assert!(end.is_none());
    // Their pages of executions answer 404 and end them; no job list again.
    assert_eq!(requests(&sim), (0, 4));
    runs.extend(more);
    let second = format!("{}/", jobs[1]);
    let kept: Vec<String> = want
        .iter()
        .filter(|id| id.starts_with(&format!("{}/", jobs[0])))
        .take(100)
        .chain(want.iter().filter(|id| id.starts_with(&second)))
        .cloned()
        .collect();
    assert_eq!(ids(&runs), kept);
}
