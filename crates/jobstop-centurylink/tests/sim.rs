//! The CenturyLink adapter against the Runner simulator, over loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use jobstop_centurylink::{CenturyLinkBuilder, CenturyLinkController, KIND_EXECUTION};
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, ListQuery, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions,
};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::centurylink::{CenturyLinkSim, CenturyLinkSimBuilder, ExecutionSeed, JobSeed};
use jobstop_sim::{Fault, FaultRule, Route};
use jobstop_testkit::Fixture;

fn fast_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(5)
            .with_budget(Duration::from_secs(10))
            .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    )
}

fn from_vars(vars: Vec<(String, String)>) -> CenturyLinkController {
    CenturyLinkBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .with_client_config(fast_config())
        .build()
        .unwrap()
}

fn logins(sim: &CenturyLinkSim) -> u64 {
    sim.logins()
}

#[tokio::test]
async fn conformance() {
    conformance_under(|b| b).await;
}

/// The conformance kit against a simulator with 3 jobs of 6 executions, 3 of
/// them running, under the reading `reading` sets.
async fn conformance_under(reading: impl FnOnce(CenturyLinkSimBuilder) -> CenturyLinkSimBuilder) {
    let sim = reading(
        CenturyLinkSim::builder()
            .seed(4)
            .jobs(3)
            .executions_per_job(6)
            .running(3)
            .stop_delay(Duration::from_millis(100))
            .kill_delay(Duration::from_millis(100)),
    )
    .start()
    .await
    .unwrap();
    let ctrl = from_vars(sim.env());
    let running = sim.execution_ids_with_status("RUNNING");
    let done = sim.execution_ids_with_status("SUCCESS");
    let fx = Fixture::new(
        RunId::new(running[0].clone()),
        RunId::new(done[0].clone()),
        RunId::new("00000000-0000-0000-0000-000000000000/00000000-0000-0000-0000-000000000001"),
    )
    .with_page_size(4)
    .with_second_running(RunId::new(running[1].clone()))
    .with_wait(
        WaitOptions::default()
            .with_timeout(Duration::from_secs(10))
            .with_intervals(Duration::from_millis(20), Duration::from_millis(200)),
    );
    jobstop_testkit::run_all(&ctrl, &fx).await;
}

#[tokio::test]
async fn one_login_many_calls_and_one_relogin_after_expiry() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(3)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    assert_eq!(logins(&sim), 0, "no login before the first call");
    let id = RunId::new(sim.ids()[0].clone());
    for _ in 0..10 {
        ctrl.status(&id).await.unwrap();
    }
    ctrl.list(&ListQuery::new()).await.unwrap();
    assert_eq!(logins(&sim), 1);
    sim.expire_tokens();
    ctrl.status(&id).await.unwrap();
    assert_eq!(logins(&sim), 2, "exactly one new login");
    assert_eq!(ctrl.account_alias().await.unwrap(), sim.account_alias());
}

#[tokio::test]
async fn wrong_password_is_unauthenticated() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(1)
        .start()
        .await
        .unwrap();
    let mut vars = sim.env();
    for (k, v) in vars.iter_mut() {
        if k == "JOBSTOP_CENTURYLINK_PASSWORD" {
            *v = "not-the-password".to_owned();
        }
    }
    let err = from_vars(vars)
        .status(&RunId::new(sim.ids()[0].clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.vendor_message().unwrap().contains("didn't recognize"));
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
}

#[tokio::test]
async fn a_token_with_an_alias_works_and_a_wrong_alias_is_denied() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(2)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    assert_eq!(ctrl.list(&ListQuery::new()).await.unwrap().runs.len(), 2);
    let mut vars = sim.env_token();
    for (k, v) in vars.iter_mut() {
        if k == "JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS" {
            *v = "OTHER".to_owned();
        }
    }
    assert_eq!(
        from_vars(vars)
            .list(&ListQuery::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn stop_sends_exactly_the_expiry_body_and_force_kills() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(4)
        .running(2)
        .stop_delay(Duration::from_millis(100))
        .kill_delay(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let running = sim.execution_ids_with_status("RUNNING");
    let (a, b) = (
        RunId::new(running[0].clone()),
        RunId::new(running[1].clone()),
    );

    let o = ctrl
        .stop(
            &a,
            &StopRequest::graceful().with_option("expiryDuration", 5),
        )
        .await
        .unwrap();
    assert!(
        matches!(&o, StopOutcome::Requested(r) if r.vendor_state == "STOPPING"),
        "{o:?}"
    );
    let o = ctrl.stop(&b, &StopRequest::force()).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::Requested(r) if r.vendor_state == "KILLING"),
        "{o:?}"
    );
    let bodies = sim.stop_bodies();
    assert_eq!(
        bodies,
        vec![
            (
                a.as_str().to_owned(),
                "stop".to_owned(),
                r#"{"expiryDuration":5}"#.to_owned()
            ),
            (
                b.as_str().to_owned(),
                "kill".to_owned(),
                r#"{"expiryDuration":0}"#.to_owned()
            ),
        ]
    );
    assert_eq!(sim.kill_requests(b.as_str()), 1);
    assert_eq!(sim.stop_requests(b.as_str()), 0);
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(100));
    let report = ctrl
        .stop_and_wait(&b, &StopRequest::force(), &wait)
        .await
        .unwrap();
    assert_eq!(report.final_run.vendor_state, "KILLED");
    assert_eq!(report.final_run.state, RunState::Stopped);
    assert!(report.final_run.ended_at.is_some());

    // A finished execution: 400, then one read.
    let done = RunId::new(sim.execution_ids_with_status("SUCCESS")[0].clone());
    let o = ctrl.stop(&done, &StopRequest::graceful()).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::AlreadyFinished(r) if r.state == RunState::Succeeded),
        "{o:?}"
    );
    let err = ctrl
        .stop(
            &a,
            &StopRequest::graceful().with_option("expiryDuration", "soon"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn every_document_variant_is_the_same_run() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(3)
        .running(1)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let ids = sim.ids();
    let mut seen = Vec::new();
    for (camel, flat, repo) in [
        (false, false, false),
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (true, true, true),
    ] {
        sim.reconfigure(|o| {
            o.camel_case(camel)
                .flat_timers(flat)
                .repository_log_object(repo)
        });
        let mut runs = Vec::new();
        for id in &ids {
            let run = ctrl.status(&RunId::new(id.clone())).await.unwrap();
            runs.push(run.without_raw());
        }
        let listed: Vec<_> = ctrl
            .list_all(ListQuery::new())
            .map_ok(jobstop_core::Run::without_raw)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), ids.len());
        seen.push(runs);
    }
    for other in &seen[1..] {
        assert_eq!(other, &seen[0]);
    }
    // Epoch-millisecond timers become the same instants as the document's.
    let doc = sim.execution_json(&ids[0]).unwrap();
    let start = doc["timers"][0]["start"]
        .as_i64()
        .or_else(|| doc["start"].as_i64())
        .unwrap();
    let run = &seen[0][0];
    assert_eq!(run.started_at, Utc.timestamp_millis_opt(start).single());
    assert_eq!(run.kind.as_deref(), Some(KIND_EXECUTION));
}

#[tokio::test]
async fn three_jobs_of_150_executions_list_exactly_once() {
    let sim = CenturyLinkSim::builder()
        .jobs(3)
        .executions_per_job(150)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let mut query = ListQuery::new().with_page_size(100);
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = ctrl.list(&query).await.unwrap();
        pages += 1;
        ids.extend(page.runs.into_iter().map(|r| r.id.into_string()));
        match page.next_cursor {
            Some(c) => query = query.with_cursor(c),
            None => break,
        }
    }
    assert_eq!(pages, 6, "two pages per job");
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), 450);
    assert_eq!(unique, sim.ids().into_iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn ids_are_checked_before_any_request() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(1)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    for bad in [
        "", "job", "a/b/c", "a/", "/b", "a b/c", "../x", "a/b?c", "a/%2F",
    ] {
        assert_eq!(
            ctrl.status(&RunId::new(bad)).await.unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
        assert_eq!(
            ctrl.stop(&RunId::new(bad), &StopRequest::graceful())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    }
    // Options other than expiryDuration are refused before any request too.
    let good = RunId::new("job/execution");
    for request in [StopRequest::graceful(), StopRequest::force()] {
        let err = ctrl
            .stop(&good, &request.with_option("expiry", 5))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.run_id(), Some(&good));
    }
    assert!(sim.server().requests().is_empty());
    let err = ctrl.status(&RunId::new("nojob/noexec")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn unavailable_is_retried() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(1)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    sim.faults().add(
        jobstop_sim::FaultRule::new(jobstop_sim::Route::any(), jobstop_sim::Fault::status(503))
            .times(2),
    );
    sim.faults().add(
        jobstop_sim::FaultRule::new(jobstop_sim::Route::any(), jobstop_sim::Fault::status(504))
            .times(1),
    );
    ctrl.list(&ListQuery::new()).await.unwrap();
}

#[tokio::test]
async fn repeated_status_reads_the_job_once() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(2)
        .running(1)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    let id = RunId::new(sim.execution_ids_with_status("RUNNING")[0].clone());
    for _ in 0..5 {
        let run = ctrl.status(&id).await.unwrap();
        assert!(run.name.is_some());
    }
    let job_reads = sim
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.path().contains("/executions"))
        .count();
    assert_eq!(
        job_reads, 1,
        "the job is read once, then its name is remembered"
    );
    assert_eq!(sim.server().requests().len(), 6);
}

#[tokio::test]
async fn only_a_400_is_a_refusal_read_back() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(2)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    let done = RunId::new(sim.execution_ids_with_status("SUCCESS")[0].clone());
    // A 409 is not Runner's refusal: it is the answer, and nothing is read.
    sim.faults()
        .add(FaultRule::new(Route::post_prefix("/jobs/"), Fault::status(409)).times(1));
    let err = ctrl
        .stop(&done, &StopRequest::graceful())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        runner_requests(&sim).len(),
        1,
        "{:?}",
        runner_requests(&sim)
    );
    // A 400 on a finished execution is read back: already finished.
    sim.server().clear_requests();
    let o = ctrl.stop(&done, &StopRequest::graceful()).await.unwrap();
    assert_eq!(o.as_str(), "already_finished");
    let requests = runner_requests(&sim);
    assert_eq!(requests[0].2, Some(400), "{requests:?}");
    assert!(requests[1..].iter().all(|r| r.0 == "GET"), "{requests:?}");
}

/// `(method, path)` of every Runner request, in order.
fn runner_requests(sim: &CenturyLinkSim) -> Vec<(String, String, Option<u16>)> {
    sim.server()
        .requests()
        .into_iter()
        .map(|r| (r.method.clone(), r.path().to_owned(), r.status))
        .collect()
}

#[tokio::test]
async fn without_the_single_execution_get_the_job_list_finds_the_execution() {
    // The single-execution GET is only in the Runner JS SDK, not in
    // CenturyLinkCloud/PublicKB Runner/job-service.md.
    let sim = CenturyLinkSim::builder()
        .insert_job(
            JobSeed::default()
                .with_id("j1")
                .with_name("patch-linux-fleet"),
        )
        .jobs(1)
        .executions_per_job(250)
        .execution_get(false)
        .stop_delay(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    // The oldest execution of a job with 250: on the third list page.
    let big = sim.job_ids().into_iter().find(|j| j != "j1").unwrap();
    let oldest = sim
        .ids()
        .into_iter()
        .rfind(|r| r.starts_with(&format!("{big}/")))
        .unwrap();
    let running = sim
        .insert_execution(ExecutionSeed::new("j1", "RUNNING"))
        .unwrap();
    let done = sim
        .insert_execution(ExecutionSeed::new("j1", "SUCCESS"))
        .unwrap();
    let ctrl = from_vars(sim.env());
    let alias = sim.account_alias().to_owned();

    let run = ctrl.status(&RunId::new(running.clone())).await.unwrap();
    assert_eq!(run.id.as_str(), running);
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.name.as_deref(), Some("patch-linux-fleet"));
    let (job, ex) = running.split_once('/').unwrap();
    let reqs = runner_requests(&sim);
    assert!(
        reqs.contains(&(
            "GET".into(),
            format!("/jobs/{alias}/{job}/executions/{ex}"),
            Some(404)
        )),
        "{reqs:?}"
    );
    assert!(
        reqs.contains(&(
            "GET".into(),
            format!("/jobs/{alias}/{job}/executions"),
            Some(200)
        )),
        "{reqs:?}"
    );

    // Found once through the list: the missing GET is not tried again.
    sim.server().clear_requests();
    let run = ctrl.status(&RunId::new(oldest.clone())).await.unwrap();
    assert_eq!(run.id.as_str(), oldest);
    let reqs = runner_requests(&sim);
    assert!(
        reqs.iter().all(|(_, p, s)| *s == Some(200)
            && (p.ends_with("/executions") || !p.contains("/executions"))),
        "{reqs:?}"
    );
    let pages = sim
        .server()
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/executions"))
        .count();
    assert_eq!(pages, 3, "pages of 100 until found");

    // Unknown executions and jobs are NotFound, after reading the list.
    for missing in [
        format!("j1/{}", "00000000-0000-0000-0000-000000000009"),
        "nojob/00000000-0000-0000-0000-000000000009".to_owned(),
    ] {
        let err = ctrl.status(&RunId::new(missing.clone())).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{missing}: {err}");
    }

    // Stop: a refused stop of a finished execution is read back through the
    // list; a running one is stopped and waited for.
    let o = ctrl
        .stop(&RunId::new(done.clone()), &StopRequest::graceful())
        .await
        .unwrap();
    assert!(
        matches!(&o, StopOutcome::AlreadyFinished(r) if r.state == RunState::Succeeded),
        "{o:?}"
    );
    let report = ctrl
        .stop_and_wait(
            &RunId::new(running.clone()),
            &StopRequest::graceful(),
            &WaitOptions::default()
                .with_timeout(Duration::from_secs(10))
                .with_intervals(Duration::from_millis(20), Duration::from_millis(100)),
        )
        .await
        .unwrap();
    assert_eq!(report.final_run.state, RunState::Stopped);
}

#[tokio::test]
async fn without_the_single_execution_get_the_kit_passes() {
    conformance_under(|b| b.execution_get(false).job_array(true)).await;
}

#[tokio::test]
async fn a_job_answered_as_a_one_element_array_still_names_the_run() {
    // CenturyLinkCloud/PublicKB Runner/job-service.md, "Get Job": the example
    // is `[ { …job… } ]`.
    let sim = CenturyLinkSim::builder()
        .insert_job(
            JobSeed::default()
                .with_id("j1")
                .with_name("rotate-tls-certs"),
        )
        .insert_execution(ExecutionSeed::new("j1", "RUNNING").with_id("e1"))
        .job_array(true)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let run = ctrl.status(&RunId::new("j1/e1")).await.unwrap();
    assert_eq!(run.name.as_deref(), Some("rotate-tls-certs"));
    let job_reads = sim
        .server()
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/j1") && r.status == Some(200))
        .count();
    assert_eq!(job_reads, 1, "the name came from the array answer");
}

#[tokio::test]
async fn an_executions_list_that_never_ends_does_not_hold_a_status_forever() {
    // A server whose executions list always claims more pages and always
    // holds other executions: the lookup gives up after a bounded number of
    // pages with InvalidResponse, instead of paging forever.
    let sim = CenturyLinkSim::builder()
        .insert_job(JobSeed::default().with_id("j1").with_name("endless"))
        .execution_get(false)
        .start()
        .await
        .unwrap();
    sim.faults().add(FaultRule::new(
        Route::any(),
        Fault::map_json("endless executions", |body| {
            if body.get("results").is_some() {
                body["totalSize"] = serde_json::json!(u64::MAX);
                body["results"] = serde_json::json!([
                    {"execution_id": "someone-else", "job_id": "j1", "status": "RUNNING"}
                ]);
            }
        }),
    ));
    let ctrl = from_vars(sim.env());
    let err = ctrl
        .status(&RunId::new("j1/not-listed"))
        .await
        .expect_err("the lookup must give up");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert!(err.to_string().contains("1000 pages"), "{err}");
}

/// A run id built with `execution_id` from a job id and an execution id
/// addresses that execution for `status` and `stop`; a part holding `/` or
/// `%` is refused before any request.
#[tokio::test]
async fn execution_ids_built_from_parts_round_trip_through_status_and_stop() {
    let sim = CenturyLinkSim::builder()
        .seed(7)
        .jobs(2)
        .executions_per_job(3)
        .running(2)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let listed = sim.execution_ids_with_status("RUNNING");
    let (job, execution) = listed[0].split_once('/').expect("job/execution");
    let id = jobstop_centurylink::execution_id(job, execution).expect("valid parts");
    assert_eq!(id.as_str(), listed[0]);
    let run = ctrl.status(&id).await.expect("status");
    assert_eq!(run.id, id);
    assert_eq!(run.state, RunState::Running);
    let outcome = ctrl
        .stop(&id, &StopRequest::graceful())
        .await
        .expect("stop");
    assert_eq!(outcome.run().id, id);
    assert_eq!(
        sim.stop_requests(&listed[0]),
        1,
        "the stop reached that execution"
    );
    for (j, e) in [(job, "x/y"), ("a/b", execution), (job, "%2F..%2F")] {
        let err = jobstop_centurylink::execution_id(j, e).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{j:?} {e:?}");
    }
}
