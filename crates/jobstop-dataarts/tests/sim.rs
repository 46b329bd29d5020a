//! The DataArts adapter against the DataArts simulator, over loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, ListQuery, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions,
};
use jobstop_dataarts::{
    DataArtsBuilder, DataArtsController, KIND_BATCH_INSTANCE, KIND_BATCH_JOB, KIND_REALTIME_JOB,
};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::dataarts::{DataArtsSim, InstanceSeed, JobSeed, JobType, Reading};
use jobstop_sim::{AnySim, Fault, FaultBody, FaultRule, Route};
use jobstop_testkit::Fixture;

fn fast_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(5)
            .with_budget(Duration::from_secs(10))
            .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    )
}

fn from_vars(vars: Vec<(String, String)>) -> DataArtsController {
    DataArtsBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .with_client_config(fast_config())
        .build()
        .unwrap()
}

fn wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(200))
}

async fn conformance_with(vars: impl Fn(&DataArtsSim) -> Vec<(String, String)>) {
    conformance_on(DataArtsSim::builder(), vars).await;
}

async fn conformance_on(
    builder: jobstop_sim::dataarts::DataArtsSimBuilder,
    vars: impl Fn(&DataArtsSim) -> Vec<(String, String)>,
) {
    let sim = builder
        .seed(9)
        .realtime_jobs(3, 2)
        .batch_jobs(4)
        .instances(30)
        .running_instances(5)
        .stop_delay(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(vars(&sim));
    let running = sim.instance_ids(Some("running"));
    let done = sim.instance_ids(Some("success"));
    let rt: Vec<String> = sim.job_names(JobType::RealTime);
    let rt_running = rt
        .iter()
        .find(|n| sim.raw_state(n).as_deref() == Some("NORMAL"))
        .unwrap()
        .clone();
    let fx = Fixture::new(
        RunId::new(running[0].clone()),
        RunId::new(done[0].clone()),
        RunId::new("no_such_job/1"),
    )
    .with_page_size(7)
    .with_second_running(RunId::new(rt_running))
    .with_wait(wait());
    jobstop_testkit::run_all(&ctrl, &fx).await;
}

#[tokio::test]
async fn conformance_with_a_token() {
    conformance_with(|sim| sim.env_token()).await;
}

#[tokio::test]
async fn conformance_with_ak_sk() {
    conformance_with(|sim| sim.env()).await;
}

/// The conformance suite again under the other documented readings: `offset`
/// as a record offset, `createTime` as a numeric string, status times as
/// date strings.
#[tokio::test]
async fn conformance_under_the_other_readings() {
    conformance_on(
        DataArtsSim::builder().readings([
            Reading::RecordOffset,
            Reading::CreateTimeString,
            Reading::StatusTimeDates,
        ]),
        |sim| sim.env(),
    )
    .await;
}

#[tokio::test]
async fn conformance_with_an_iam_user() {
    conformance_with(|sim| sim.env_iam()).await;
}

#[tokio::test]
async fn instances_list_across_pages_and_windows_exactly_once() {
    // 250 instances of 5 jobs reach up to 50 days back: 60 days of look-back
    // are 9 windows of 7 days.
    let sim = DataArtsSim::builder()
        .batch_jobs(5)
        .instances(250)
        .start()
        .await
        .unwrap();
    let vars = sim.env();
    let ctrl =
        DataArtsBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .with_client_config(fast_config())
            .with_instance_lookback(Duration::from_secs(60 * 86400))
            .build()
            .unwrap();
    let mut query = ListQuery::new()
        .with_kind(KIND_BATCH_INSTANCE)
        .with_page_size(100);
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
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), 250);
    assert_eq!(
        unique,
        sim.instance_ids(None).into_iter().collect::<HashSet<_>>()
    );
    // One page per window at least, plus one for each window of more than
    // 100 instances; one request for the server's time.
    assert!(pages <= 9 + 3, "{pages} pages");
    assert_eq!(sim.server().requests().len(), pages + 1);
}

#[tokio::test]
async fn default_listing_skips_schedules() {
    let sim = DataArtsSim::builder()
        .realtime_jobs(2, 1)
        .batch_jobs(3)
        .instances(4)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    let all: Vec<_> = ctrl
        .list_all(ListQuery::new().with_page_size(2))
        .try_collect()
        .await
        .unwrap();
    let kinds: HashSet<_> = all.iter().map(|r| r.kind.clone().unwrap()).collect();
    assert_eq!(
        kinds,
        HashSet::from([KIND_REALTIME_JOB.to_owned(), KIND_BATCH_INSTANCE.to_owned()])
    );
    assert_eq!(all.len(), 3 + 4);
    let schedules: Vec<_> = ctrl
        .list_all(ListQuery::new().with_kind(KIND_BATCH_JOB))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(schedules.len(), 3);
    assert!(
        schedules
            .iter()
            .all(|r| r.kind.as_deref() == Some(KIND_BATCH_JOB))
    );
    // A state filter with one instance status is sent to the server.
    let running: Vec<_> = ctrl
        .list_all(
            ListQuery::new()
                .with_kind(KIND_BATCH_INSTANCE)
                .with_state(RunState::Running),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(running.iter().all(|r| r.state == RunState::Running));
    assert!(
        sim.server()
            .requests()
            .iter()
            .any(|r| r.target.contains("status=running"))
    );
}

#[tokio::test]
async fn not_found_is_typed_with_code_and_message() {
    let sim = DataArtsSim::builder()
        .instances(2)
        .batch_jobs(1)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    let err = ctrl.status(&RunId::new("no_such_job")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.vendor_code(), Some("DLF.0100"));
    assert_eq!(err.vendor_message(), Some("The job does not exists."));
    let job = sim.job_names(JobType::Batch)[0].clone();
    let err = ctrl
        .status(&RunId::new(format!("{job}/999999999")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.vendor_code(), Some("DLF.0137"));
    let err = ctrl
        .stop(
            &RunId::new(format!("{job}/999999999")),
            &StopRequest::graceful(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn stop_outcomes() {
    let sim = DataArtsSim::builder()
        .realtime_jobs(1, 1)
        .batch_jobs(2)
        .instances(10)
        .running_instances(2)
        .stop_delay(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let g = StopRequest::graceful();

    // A finished instance: the stop is refused (400) and the read shows it over.
    let done = RunId::new(sim.instance_ids(Some("success"))[0].clone());
    let o = ctrl.stop(&done, &g).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::AlreadyFinished(r) if r.state == RunState::Succeeded),
        "{o:?}"
    );

    // A running instance: 204, read back manual-stop.
    let running = RunId::new(sim.instance_ids(Some("running"))[0].clone());
    let o = ctrl.stop(&running, &g).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::Stopped(r) if r.vendor_state == "manual-stop"),
        "{o:?}"
    );

    // A real-time job: STOPPING, then STOPPED.
    let rt = sim
        .job_names(JobType::RealTime)
        .into_iter()
        .find(|n| sim.raw_state(n).as_deref() == Some("NORMAL"))
        .map(RunId::new)
        .unwrap();
    let report = ctrl.stop_and_wait(&rt, &g, &wait()).await.unwrap();
    assert!(
        matches!(&report.outcome, StopOutcome::Requested(r) if r.vendor_state == "STOPPING"),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.final_run.vendor_state, "STOPPED");
    assert!(report.stop_won);
    let o = ctrl.stop(&rt, &g).await.unwrap();
    assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{o:?}");

    // A batch job (schedule), named explicitly: SCHEDULING → STOPPED.
    let batch = RunId::new(sim.job_names(JobType::Batch)[0].clone());
    let before = ctrl.status(&batch).await.unwrap();
    if before.state == RunState::Running {
        let o = ctrl.stop(&batch, &g).await.unwrap();
        assert!(
            matches!(&o, StopOutcome::Stopped(r) if r.kind.as_deref() == Some(KIND_BATCH_JOB)),
            "{o:?}"
        );
    }
    let err = ctrl
        .stop(&running, &StopRequest::force())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

/// DataArts' own rules on top of the kernel's: only a 400 is its refusal
/// (read back), and an accepted stop whose read-back fails still reports
/// the run as a batch instance when the id names one.
#[tokio::test]
async fn refusals_are_400s_and_an_unread_instance_keeps_its_kind() {
    let sim = DataArtsSim::builder()
        .instances(4)
        .running_instances(2)
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env());
    let g = StopRequest::graceful();
    let running = sim.instance_ids(Some("running"));
    let stops = |sim: &DataArtsSim| {
        let log = sim.server().requests();
        let methods: Vec<String> = log.iter().map(|r| r.method.clone()).collect();
        sim.server().clear_requests();
        methods
    };

    // A 409 (a conflict, by its status alone) is not DataArts' refusal:
    // the error stands, nothing is read.
    let id = RunId::new(running[0].clone());
    let conflict = Fault::status_with(409, FaultBody::Empty);
    sim.faults()
        .add(FaultRule::new(Route::post_prefix("/v1/"), conflict).times(1));
    stops(&sim);
    let err = ctrl.stop(&id, &g).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.run_id(), Some(&id));
    assert_eq!(stops(&sim), ["POST"]);

    // A 400 is: the run is read back, and a running one is Refused.
    sim.faults().clear();
    sim.faults()
        .add(FaultRule::new(Route::post_prefix("/v1/"), Fault::status(400)).times(1));
    let err = ctrl.stop(&id, &g).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(stops(&sim), ["POST", "GET"]);

    // Accepted, but the read-back fails: Requested, state unknown, and the
    // id still says it is a batch instance.
    sim.faults().clear();
    sim.faults()
        .add(FaultRule::new(Route::get_prefix("/v1/"), Fault::status(403)).times(1));
    let o = ctrl.stop(&id, &g).await.unwrap();
    let StopOutcome::Requested(run) = &o else {
        panic!("{o:?}");
    };
    assert_eq!(
        (&run.id, run.state, run.kind.as_deref()),
        (&id, RunState::Unknown, Some(KIND_BATCH_INSTANCE))
    );
    assert_eq!(stops(&sim), ["POST", "GET"]);
}

#[tokio::test]
async fn workspace_header_on_every_request() {
    let sim = DataArtsSim::builder()
        .workspace("ws-42")
        .instances(3)
        .realtime_jobs(1, 0)
        .start()
        .await
        .unwrap();
    let vars = sim.env();
    assert!(
        vars.iter()
            .any(|(k, v)| k == "JOBSTOP_DATAARTS_WORKSPACE" && v == "ws-42")
    );
    let ctrl = from_vars(vars);
    let all: Vec<_> = ctrl.list_all(ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(all.len(), 4);
    ctrl.status(&all[0].id).await.unwrap();
    ctrl.stop(&all[0].id, &StopRequest::graceful())
        .await
        .unwrap();
    let reqs = sim.server().requests();
    assert!(reqs.len() >= 4);
    for r in &reqs {
        assert_eq!(r.header("workspace"), Some("ws-42"), "{}", r.target);
        assert!(r.header("authorization").is_some(), "{}", r.target);
        assert!(r.header("x-sdk-date").is_some(), "{}", r.target);
    }
    // Without the workspace, the jobs are not visible.
    let mut other = sim.env();
    other.retain(|(k, _)| k != "JOBSTOP_DATAARTS_WORKSPACE");
    let ctrl = from_vars(other);
    assert!(
        ctrl.list(&ListQuery::new().with_kind(KIND_BATCH_INSTANCE))
            .await
            .unwrap()
            .runs
            .is_empty()
    );
}

#[tokio::test]
async fn throttling_with_retry_after_is_waited_out() {
    let sim = DataArtsSim::builder().instances(2).start().await.unwrap();
    let ctrl = from_vars(sim.env());
    let id = RunId::new(sim.instance_ids(None)[0].clone());
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::too_many_requests(Some(1))).times(1));
    let started = Instant::now();
    ctrl.status(&id).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    let statuses: Vec<Option<u16>> = sim.server().requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses[0], Some(429));
}

#[tokio::test]
async fn bad_keys_and_tokens_are_unauthenticated_without_a_loop() {
    let sim = DataArtsSim::builder().instances(1).start().await.unwrap();
    let id = RunId::new(sim.instance_ids(None)[0].clone());
    let mut vars = sim.env();
    for (k, v) in vars.iter_mut() {
        if k == "JOBSTOP_DATAARTS_SK" {
            *v = "wrong-secret-key".to_owned();
        }
    }
    let err = from_vars(vars).status(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.vendor_code(), Some("APIGW.0301"));
    assert_eq!(sim.server().requests().len(), 1);

    let mut vars = sim.env_token();
    for (k, v) in vars.iter_mut() {
        if k == "JOBSTOP_DATAARTS_TOKEN" {
            *v = "not-a-token".to_owned();
        }
    }
    assert_eq!(
        from_vars(vars).status(&id).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );

    let mut vars = sim.env_iam();
    for (k, v) in vars.iter_mut() {
        if k == "JOBSTOP_DATAARTS_PASSWORD" {
            *v = "wrong-password".to_owned();
        }
    }
    let err = from_vars(vars).status(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!format!("{err} {err:?}").contains("wrong-password"));
}

#[tokio::test]
async fn iam_tokens_are_refreshed_before_expiry_and_after_a_401() {
    let sim = DataArtsSim::builder()
        .instances(1)
        .token_ttl(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_iam());
    let id = RunId::new(sim.instance_ids(None)[0].clone());
    ctrl.status(&id).await.unwrap();
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 2);
    sim.expire_tokens();
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 3);
}

#[tokio::test]
async fn ids_are_checked_and_encoded() {
    let sim = DataArtsSim::builder().instances(1).start().await.unwrap();
    let ctrl = from_vars(sim.env());
    for bad in ["", "a/", "/1", "a/b", "a/1/2", "a/-1", " a", "a\r\n", ".."] {
        let err = ctrl.status(&RunId::new(bad)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert!(sim.server().requests().is_empty());
    let err = ctrl.status(&RunId::new("a?b#c%d")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let reqs = sim.server().requests();
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].target.ends_with("/jobs/a%3Fb%23c%25d"),
        "{}",
        reqs[0].target
    );
}

// ----- fidelity to the real service (HSDK models) ---------------------------

fn with_lookback(sim: &DataArtsSim, lookback: Option<Duration>) -> DataArtsController {
    let vars = sim.env();
    let mut b =
        DataArtsBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .with_client_config(fast_config());
    if let Some(l) = lookback {
        b = b.with_instance_lookback(l);
    }
    b.build().unwrap()
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// Item 1: the job detail has `processType` and no `status`: a real-time
/// job's state comes from `/status`, a batch job's from the job list (exact
/// name), also when the detail lacks `processType`, and for stop read-backs.
#[tokio::test]
async fn job_status_without_status_in_the_detail() {
    let sim = DataArtsSim::builder()
        .insert_job(JobSeed::realtime("rt_orders", "NORMAL"))
        .insert_job(JobSeed::batch("etl", "PAUSED"))
        .insert_job(JobSeed::batch("etl_v2", "SCHEDULING"))
        .insert_job(JobSeed::batch("my_etl", "STOPPED"))
        .readings([Reading::CreateTimeString])
        .stop_delay(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    assert!(sim.job_json("etl").unwrap().get("status").is_none());
    let ctrl = from_vars(sim.env());
    let rt = ctrl.status(&RunId::new("rt_orders")).await.unwrap();
    assert_eq!(
        (rt.kind.as_deref(), rt.state, rt.vendor_state.as_str()),
        (Some(KIND_REALTIME_JOB), RunState::Running, "NORMAL")
    );
    assert!(rt.created_at.is_some(), "createTime as a numeric string");
    assert!(rt.started_at.is_some(), "starttime as a string");
    // `jobName=etl` also matches etl_v2 and my_etl: the exact name wins.
    let etl = ctrl.status(&RunId::new("etl")).await.unwrap();
    assert_eq!(
        (etl.kind.as_deref(), etl.state, etl.vendor_state.as_str()),
        (Some(KIND_BATCH_JOB), RunState::Paused, "PAUSED")
    );
    assert_eq!(etl.raw_value()["listed"]["name"], "etl");
    assert_eq!(etl.raw_value()["job"]["processType"], "BATCH");
    // A detail without processType still finds both kinds.
    sim.faults().add(FaultRule::new(
        Route::get("/v1/*/jobs/*"),
        Fault::map_json("no processType", |b| {
            if let Some(o) = b.as_object_mut() {
                o.remove("processType");
            }
        }),
    ));
    assert_eq!(
        ctrl.status(&RunId::new("etl_v2")).await.unwrap().state,
        RunState::Running
    );
    assert_eq!(
        ctrl.status(&RunId::new("rt_orders"))
            .await
            .unwrap()
            .vendor_state,
        "NORMAL"
    );
    // Stop read-backs go the same way.
    let o = ctrl
        .stop(&RunId::new("rt_orders"), &StopRequest::graceful())
        .await
        .unwrap();
    assert!(
        matches!(&o, StopOutcome::Requested(r) if r.vendor_state == "STOPPING"),
        "{o:?}"
    );
    let o = ctrl
        .stop(&RunId::new("etl_v2"), &StopRequest::graceful())
        .await
        .unwrap();
    assert!(
        matches!(&o, StopOutcome::Stopped(r) if r.kind.as_deref() == Some(KIND_BATCH_JOB)),
        "{o:?}"
    );
    let o = ctrl
        .stop(&RunId::new("my_etl"), &StopRequest::graceful())
        .await
        .unwrap();
    assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{o:?}");
}

/// Item 2: string times and `starttime`, epoch ms or a date; an odd time is
/// absent, never an error, and the raw answer keeps it.
#[tokio::test]
async fn realtime_status_times_are_read_leniently() {
    let created = at("2024-06-18T01:02:03Z");
    for format in [None, Some(Reading::StatusTimeDates)] {
        let sim = DataArtsSim::builder()
            .insert_job(JobSeed::realtime("rt", "STOPPED").with_create_time(created))
            .readings(format)
            .start()
            .await
            .unwrap();
        let ctrl = from_vars(sim.env_token());
        let run = ctrl.status(&RunId::new("rt")).await.unwrap();
        assert_eq!(run.started_at, Some(created), "{format:?}");
        assert_eq!(run.ended_at, Some(created), "{format:?}");
        assert_eq!(run.state, RunState::Stopped);
        sim.faults().add(FaultRule::new(
            Route::get("/v1/*/jobs/rt/status"),
            Fault::map_json("odd times", |b| {
                b["starttime"] = "sometime".into();
                b["endTime"] = serde_json::json!({"odd": true});
                b["lastUpdateTime"] = "".into();
            }),
        ));
        let run = ctrl.status(&RunId::new("rt")).await.unwrap();
        assert_eq!((run.started_at, run.ended_at), (None, None));
        assert_eq!(run.raw_value()["status"]["starttime"], "sometime");
        assert_eq!(run.vendor_state, "STOPPED");
    }
}

/// Item 3: all 12 instance statuses are mapped; stopping any finished one
/// (forceSuccess included) is AlreadyFinished.
#[tokio::test]
async fn every_instance_status_is_mapped_and_finished_ones_are_already_finished() {
    let statuses = [
        ("waiting", RunState::Queued),
        ("running", RunState::Running),
        ("success", RunState::Succeeded),
        ("forceSuccess", RunState::Succeeded),
        ("ignoreSuccess", RunState::Succeeded),
        ("freeze", RunState::Paused),
        ("skip-by-depend", RunState::Stopped),
        ("waiting-confirm", RunState::Queued),
        ("fail", RunState::Failed),
        ("running-exception", RunState::Paused),
        ("pause", RunState::Paused),
        ("manual-stop", RunState::Stopped),
    ];
    let mut b = DataArtsSim::builder()
        .seeded_epoch()
        .insert_job(JobSeed::batch("job_a", "SCHEDULING"));
    for (i, (status, _)) in statuses.iter().enumerate() {
        b = b.insert_instance(
            InstanceSeed::new("job_a", *status)
                .with_id(7000 + i as u64)
                .with_plan_time(at("2024-06-19T03:00:00Z")),
        );
    }
    let sim = b.start().await.unwrap();
    let ctrl = from_vars(sim.env());
    let listed: Vec<_> = ctrl
        .list_all(ListQuery::new().with_kind(KIND_BATCH_INSTANCE))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 12);
    for (i, (status, state)) in statuses.iter().enumerate() {
        let id = RunId::new(format!("job_a/{}", 7000 + i));
        let run = listed.iter().find(|r| r.id == id).unwrap();
        assert_eq!((run.vendor_state.as_str(), run.state), (*status, *state));
        if state.is_terminal() {
            let o = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
            assert!(
                matches!(&o, StopOutcome::AlreadyFinished(r) if r.vendor_state == *status),
                "{status}: {o:?}"
            );
        }
    }
}

/// Item 4: the server lists today's instances unless told otherwise; jobstop
/// looks back 28 days by default (configurable), through windows of at most 7
/// days, so an instance started days ago that still runs is listed.
#[tokio::test]
async fn instances_are_listed_through_windows_with_a_lookback() {
    // The simulator's clock starts at 2024-06-19T04:00:00Z.
    let sim = DataArtsSim::builder()
        .seeded_epoch()
        .insert_job(JobSeed::batch("long", "SCHEDULING"))
        .insert_instance(
            InstanceSeed::new("long", "running")
                .with_id(1)
                .with_plan_time(at("2024-06-16T04:00:00Z")),
        )
        .insert_instance(
            InstanceSeed::new("long", "running")
                .with_id(2)
                .with_plan_time(at("2024-06-09T04:00:00Z")),
        )
        .insert_instance(
            InstanceSeed::new("long", "success")
                .with_id(3)
                .with_plan_time(at("2024-05-20T04:00:00Z")),
        )
        .start()
        .await
        .unwrap();
    let ids = |ctrl: DataArtsController, q: ListQuery| async move {
        let runs: Vec<_> = ctrl.list_all(q).try_collect().await.unwrap();
        runs.into_iter()
            .map(|r| r.id.into_string())
            .collect::<Vec<_>>()
    };
    let q = || ListQuery::new().with_kind(KIND_BATCH_INSTANCE);
    // Default: 28 days back from the server's clock: the 3- and 10-day-old
    // ones, not the 30-day-old one.
    assert_eq!(
        ids(with_lookback(&sim, None), q()).await,
        ["long/1", "long/2"]
    );
    // 7 days: one window, the 3-day-old one.
    assert_eq!(
        ids(
            with_lookback(&sim, Some(Duration::from_secs(7 * 86400))),
            q()
        )
        .await,
        ["long/1"]
    );
    // 14 days: two windows.
    sim.server().clear_requests();
    assert_eq!(
        ids(
            with_lookback(&sim, Some(Duration::from_secs(14 * 86400))),
            q()
        )
        .await,
        ["long/1", "long/2"]
    );
    let windows: Vec<(i64, i64)> = sim
        .server()
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/instances/detail"))
        .map(|r| {
            let v = |k: &str| -> i64 {
                r.target
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix(&format!("{k}=")))
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            (v("minPlanTime"), v("maxPlanTime"))
        })
        .collect();
    assert_eq!(windows.len(), 2, "{windows:?}");
    assert!(windows.iter().all(|(lo, hi)| hi - lo < 7 * 86_400_000));
    assert_eq!(windows[1].1 + 1, windows[0].0, "adjacent, newest first");
    // An explicit range maps onto windows too, and every answer was a 200.
    assert_eq!(
        ids(
            with_lookback(&sim, None),
            q().with_created_after(at("2024-05-01T00:00:00Z"))
                .with_created_before(at("2024-06-17T00:00:00Z"))
        )
        .await,
        ["long/1", "long/2", "long/3"]
    );
    assert!(
        sim.server()
            .requests()
            .iter()
            .all(|r| r.status == Some(200))
    );
    // The environment (and so the TOML key `instance_lookback`) sets it too.
    let mut vars = sim.env();
    vars.push((
        "JOBSTOP_DATAARTS_INSTANCE_LOOKBACK".to_owned(),
        "40d".to_owned(),
    ));
    assert_eq!(
        ids(from_vars(vars), q()).await,
        ["long/1", "long/2", "long/3"]
    );
}

/// Item 5: `offset` is a page number (documented) or a record offset (a
/// third-party reading): every job and every instance is listed exactly
/// once under both, with a linear number of requests.
#[tokio::test]
async fn listings_are_exact_under_both_offset_readings() {
    for reading in [None, Some(Reading::RecordOffset)] {
        let sim = DataArtsSim::builder()
            .seeded_epoch()
            .seed(12)
            .batch_jobs(230)
            .realtime_jobs(7, 5)
            .readings(reading)
            .start()
            .await
            .unwrap();
        let mut b = DataArtsSim::builder()
            .seeded_epoch()
            .seed(13)
            .readings(reading);
        b = b.insert_job(JobSeed::batch("many", "SCHEDULING"));
        for i in 0..2345u64 {
            b = b.insert_instance(
                InstanceSeed::new("many", "running")
                    .with_id(100_000 + i)
                    .with_plan_time(
                        at("2024-06-19T03:00:00Z") - chrono::Duration::minutes(i as i64),
                    ),
            );
        }
        let inst = b.start().await.unwrap();
        for (sim, kind, page, want) in [
            (&sim, KIND_BATCH_JOB, 100u32, 230usize),
            (&sim, KIND_REALTIME_JOB, 5, 12),
            (&inst, KIND_BATCH_INSTANCE, 1000, 2345),
            (&inst, KIND_BATCH_INSTANCE, 1, 40),
        ] {
            sim.server().clear_requests();
            let ctrl = from_vars(sim.env());
            let mut q = ListQuery::new().with_kind(kind).with_page_size(page);
            let mut ids = Vec::new();
            while ids.len() < want {
                let p = ctrl.list(&q).await.unwrap();
                ids.extend(p.runs.into_iter().map(|r| r.id.into_string()));
                match p.next_cursor {
                    Some(c) => q = q.with_cursor(c),
                    None => break,
                }
            }
            if page > 1 {
                let unique: HashSet<_> = ids.iter().collect();
                assert_eq!(
                    (ids.len(), unique.len()),
                    (want, want),
                    "{reading:?} {kind}"
                );
                let requests = sim.server().requests().len();
                let pages = want.div_ceil(page as usize);
                eprintln!("{reading:?} {kind}: {want} runs, page {page}: {requests} requests");
                assert!(
                    requests <= pages + 2,
                    "{reading:?} {kind}: {requests} requests for {pages} pages"
                );
            } else {
                // One record a page: both readings are the same.
                let unique: HashSet<_> = ids.iter().collect();
                assert_eq!(unique.len(), ids.len(), "{reading:?}");
            }
        }
    }
}

/// The other error bodies the Huawei SDK's error handler reads
/// (`huaweicloudsdkcore/exceptions/exception_handler.py`): `errorCode` /
/// `errorMsg`, and a top-level `code` / `message`.
#[tokio::test]
async fn sdk_error_body_variants_are_decoded() {
    use jobstop_sim::FaultBody;
    let sim = DataArtsSim::builder().instances(1).start().await.unwrap();
    let ctrl = from_vars(sim.env());
    let id = RunId::new(sim.instance_ids(None)[0].clone());
    for (body, kind, code, message) in [
        (
            serde_json::json!({"errorCode": "DLF.0137", "errorMsg": "no such instance"}),
            ErrorKind::NotFound,
            "DLF.0137",
            "no such instance",
        ),
        (
            serde_json::json!({"code": "DLF.6888", "message": "Invalid account permissions."}),
            ErrorKind::PermissionDenied,
            "DLF.6888",
            "Invalid account permissions.",
        ),
    ] {
        sim.faults().clear();
        sim.faults().add(FaultRule::new(
            Route::any(),
            Fault::status_with(400, FaultBody::Json(body)),
        ));
        let err = ctrl.status(&id).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.vendor_code(), err.vendor_message()),
            (kind, Some(code), Some(message))
        );
    }
}

/// Run ids built with `instance_id` and `job_id` address that instance and
/// that job for `status` and `stop`, a `%` in a job name included (it is
/// percent-encoded on the wire); a name holding `/` is refused.
#[tokio::test]
async fn ids_built_from_parts_round_trip_through_status_and_stop() {
    let sim = DataArtsSim::builder()
        .insert_job(JobSeed::batch("plain_job", "NORMAL"))
        .insert_job(JobSeed::batch("50%_job", "NORMAL"))
        .insert_instance(InstanceSeed::new("plain_job", "running").with_id(41))
        .insert_instance(InstanceSeed::new("50%_job", "running").with_id(42))
        .start()
        .await
        .unwrap();
    let ctrl = from_vars(sim.env_token());
    for (job, n) in [("plain_job", 41), ("50%_job", 42)] {
        let id = jobstop_dataarts::instance_id(job, n).expect("valid parts");
        assert_eq!(id.as_str(), format!("{job}/{n}"));
        let run = ctrl.status(&id).await.expect("status");
        assert_eq!(run.id, id);
        assert_eq!(run.state, RunState::Running, "{job}");
        let outcome = ctrl
            .stop(&id, &StopRequest::graceful())
            .await
            .expect("stop");
        assert_eq!(outcome.run().id, id);
        assert_eq!(sim.stop_requests(id.as_str()), 1, "the stop reached {id}");
        let job_run = ctrl
            .status(&jobstop_dataarts::job_id(job).expect("job id"))
            .await
            .expect("job status");
        assert_eq!(job_run.id.as_str(), job);
    }
    assert_eq!(
        jobstop_dataarts::instance_id("plain_job/41", 1)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}
