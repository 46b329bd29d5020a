//! The Amperity adapter against the Amperity simulator, over loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use jobstop_amperity::{AmperityBuilder, AmperityController};
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, ListQuery, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions,
};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::amperity::{AmperitySim, RunSeed, TerminalStop};
use jobstop_sim::{Fault, FaultRule, Route};
use jobstop_testkit::Fixture;

fn fast_config() -> ClientConfig {
    ClientConfig::default()
        .with_attempt_timeout(Duration::from_secs(5))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(6)
                .with_budget(Duration::from_secs(15))
                .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
}

fn controller(sim: &AmperitySim) -> AmperityController {
    AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .with_client_config(fast_config())
        .build()
        .unwrap()
}

fn oauth_controller(sim: &AmperitySim) -> AmperityController {
    AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_client_credentials(sim.client_id(), sim.client_secret())
        .with_client_config(fast_config())
        .build()
        .unwrap()
}

fn short_wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(200))
}

async fn first_with_state(ctrl: &AmperityController, state: RunState) -> Vec<RunId> {
    ctrl.list_all(ListQuery::new().with_state(state).with_page_size(100))
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn conformance() {
    // Under both refusals a stop on a finished run may get: 400 (OA3, the
    // default) and 409 (responses.rst). (With `TerminalStop::Ok` a second
    // stop within a minute of the cancel reads as `Stopped`: see the README.)
    for terminal in [TerminalStop::BadRequest, TerminalStop::Conflict] {
        conformance_with(terminal).await;
    }
}

async fn conformance_with(terminal: TerminalStop) {
    let sim = AmperitySim::builder()
        .seed(11)
        .running(12)
        .finished(30)
        .stop_delay(Duration::from_millis(100))
        .terminal_stop(terminal)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let running = first_with_state(&ctrl, RunState::Running).await;
    let succeeded = first_with_state(&ctrl, RunState::Succeeded).await;
    assert!(running.len() >= 2 && !succeeded.is_empty());
    let fx = Fixture::new(
        running[0].clone(),
        succeeded[0].clone(),
        RunId::new("wf-20990101-00000-NoSuch"),
    )
    .with_page_size(7)
    .with_second_running(running[1].clone())
    .with_wait(short_wait());
    let reports = jobstop_testkit::run_all(&ctrl, &fx).await;
    assert!(reports.iter().any(|r| r.name == "stop_running"));
}

#[tokio::test]
async fn paging_across_many_pages_returns_each_run_once() {
    let sim = AmperitySim::builder()
        .seed(3)
        .running(20)
        .finished(43)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut query = ListQuery::new().with_page_size(10);
    loop {
        let page = ctrl.list(&query).await.unwrap();
        pages += 1;
        assert!(page.runs.len() <= 10);
        seen.extend(page.runs.into_iter().map(|r| r.id.into_string()));
        match page.next_cursor {
            Some(c) => query = query.with_cursor(c),
            None => break,
        }
    }
    assert!(pages >= 5, "only {pages} pages");
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a run was listed twice");
    let expected: HashSet<_> = sim.ids().into_iter().collect();
    assert_eq!(unique, expected);
    // Every list request carried a limit of 10, and all but the first a next_token.
    let lists: Vec<_> = sim
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.target.starts_with("/api/workflow/runs?"))
        .collect();
    assert_eq!(lists.len(), pages);
    assert!(lists.iter().all(|r| r.target.contains("limit=10")));
    assert!(
        lists
            .iter()
            .skip(1)
            .all(|r| r.target.contains("next_token="))
    );
}

#[tokio::test]
async fn filters_are_pushed_down_or_applied_locally() {
    let base = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let sim = AmperitySim::builder()
        .insert_run(
            RunSeed::new("running")
                .with_id("wf-a")
                .with_name("Nightly Load")
                .with_kind("courier.group/run")
                .with_created_at(base),
        )
        .insert_run(
            RunSeed::new("succeeded")
                .with_id("wf-b")
                .with_name("nightly export")
                .with_kind("courier.group/run")
                .with_created_at(base + chrono::Duration::hours(1)),
        )
        .insert_run(
            RunSeed::new("running")
                .with_id("wf-c")
                .with_name("Hourly")
                .with_kind("campaign.send")
                .with_created_at(base + chrono::Duration::hours(2)),
        )
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let ids = |q: ListQuery| {
        let ctrl = &ctrl;
        async move {
            let mut v: Vec<String> = ctrl
                .list_all(q)
                .map_ok(|r| r.id.into_string())
                .try_collect()
                .await
                .unwrap();
            v.sort();
            v
        }
    };
    assert_eq!(
        ids(ListQuery::new().with_kind("courier.group/run")).await,
        ["wf-a", "wf-b"]
    );
    assert_eq!(
        ids(ListQuery::new().with_name_contains("NIGHTLY")).await,
        ["wf-a", "wf-b"]
    );
    assert_eq!(
        ids(ListQuery::new().with_state(RunState::Running)).await,
        ["wf-a", "wf-c"]
    );
    assert_eq!(
        ids(ListQuery::new().with_created_after(base + chrono::Duration::hours(1))).await,
        ["wf-b", "wf-c"]
    );
    assert_eq!(
        ids(ListQuery::new().with_created_before(base + chrono::Duration::hours(1))).await,
        ["wf-a"]
    );
    let targets: Vec<String> = sim
        .server()
        .requests()
        .into_iter()
        .map(|r| r.target)
        .collect();
    assert!(
        targets
            .iter()
            .any(|t| t.contains("type=courier.group%2Frun")),
        "{targets:?}"
    );
    assert!(
        targets
            .iter()
            .any(|t| t.contains("created_from=2024-06-01T01%3A00%3A00.000Z")),
        "{targets:?}"
    );
    assert!(
        targets.iter().all(|t| !t.contains("state=")),
        "state is filtered locally: {targets:?}"
    );
}

#[tokio::test]
async fn every_state_spelling_maps_over_the_wire() {
    let table = [
        ("scheduled", RunState::Queued),
        ("started", RunState::Running),
        ("running", RunState::Running),
        ("In progress", RunState::Running),
        ("in_progress", RunState::Running),
        ("finalizing", RunState::Running),
        ("Running with failures", RunState::Running),
        ("running-with-failures", RunState::Running),
        ("paused", RunState::Paused),
        ("stopping", RunState::Stopping),
        ("canceling", RunState::Stopping),
        ("cancelling", RunState::Stopping),
        ("Stopped", RunState::Stopped),
        ("canceled", RunState::Stopped),
        ("cancelled", RunState::Stopped),
        ("succeeded", RunState::Succeeded),
        ("Failed", RunState::Failed),
        ("up_for_retry", RunState::Unknown),
        ("exploded", RunState::Unknown),
    ];
    let mut b = AmperitySim::builder();
    for (i, (raw, _)) in table.iter().enumerate() {
        b = b.insert_run(RunSeed::new(*raw).with_id(format!("wf-state-{i}")));
    }
    let sim = b.start().await.unwrap();
    let ctrl = controller(&sim);
    for (i, (raw, want)) in table.iter().enumerate() {
        let run = ctrl
            .status(&RunId::new(format!("wf-state-{i}")))
            .await
            .unwrap();
        assert_eq!(run.state, *want, "{raw}");
        assert_eq!(run.vendor_state, *raw);
    }
}

#[tokio::test]
async fn oauth_tokens_are_fetched_cached_and_refreshed() {
    let sim = AmperitySim::builder()
        .running(3)
        .token_ttl(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let ctrl = oauth_controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    ctrl.status(&id).await.unwrap();
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 1, "the token is cached");

    // The token runs out: refreshed ahead of expiry, with no 401 on the way.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 2);

    // The server forgets tokens early: one 401, one refresh, and the call succeeds.
    sim.expire_tokens();
    sim.server().clear_requests();
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 3);
    let statuses: Vec<u16> = sim
        .server()
        .requests()
        .iter()
        .filter(|r| r.target.starts_with("/api/workflow/runs/"))
        .filter_map(|r| r.status)
        .collect();
    assert_eq!(statuses, [401, 200]);
}

#[tokio::test]
async fn bad_credentials_are_typed() {
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let id = RunId::new(sim.ids()[0].clone());
    let wrong_token = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token("not-the-token")
        .with_client_config(fast_config())
        .build()
        .unwrap();
    assert_eq!(
        wrong_token.status(&id).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    let wrong_secret = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_client_credentials(sim.client_id(), "wrong-secret")
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let err = wrong_secret.status(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!err.to_string().contains("wrong-secret"));
    let wrong_tenant = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant("someone-else")
        .with_token(sim.token())
        .with_client_config(fast_config())
        .build()
        .unwrap();
    assert_eq!(
        wrong_tenant.status(&id).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let wrong_version = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .with_api_version("2019-01-01")
        .with_client_config(fast_config())
        .build()
        .unwrap();
    assert_eq!(
        wrong_version.status(&id).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn stop_outcomes() {
    let old = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let sim = AmperitySim::builder()
        .insert_run(RunSeed::new("running").with_id("wf-busy"))
        .insert_run(
            RunSeed::new("running")
                .with_id("wf-idle")
                .with_no_task_running(),
        )
        .insert_run(RunSeed::new("succeeded").with_id("wf-done"))
        .insert_run(RunSeed::new("scheduled").with_id("wf-queued"))
        .stop_delay(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let g = StopRequest::graceful();

    let o = ctrl.stop(&RunId::new("wf-busy"), &g).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::Requested(r) if r.state == RunState::Stopping),
        "{o:?}"
    );
    // A second stop while canceling is fine.
    let o = ctrl.stop(&RunId::new("wf-busy"), &g).await.unwrap();
    assert!(matches!(o, StopOutcome::Requested(_)), "{o:?}");
    let report = ctrl
        .stop_and_wait(&RunId::new("wf-busy"), &g, &short_wait())
        .await
        .unwrap();
    assert_eq!(report.final_run.state, RunState::Stopped);
    assert_eq!(report.final_run.vendor_state, "canceled");
    assert!(report.final_run.ended_at.is_some());
    assert_eq!(
        report
            .final_run
            .error
            .as_ref()
            .and_then(|e| e.message.as_deref()),
        Some("Workflow manually stopped")
    );
    // Once canceled, the simulator answers 400 (its default, as OA3 lists no
    // 409 for stop-workflow) and the adapter reads the run.
    let o = ctrl.stop(&RunId::new("wf-busy"), &g).await.unwrap();
    assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{o:?}");

    let o = ctrl.stop(&RunId::new("wf-idle"), &g).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::Stopped(r) if r.vendor_state == "canceled"),
        "{o:?}"
    );
    let o = ctrl.stop(&RunId::new("wf-queued"), &g).await.unwrap();
    assert!(matches!(o, StopOutcome::Stopped(_)), "{o:?}");
    let o = ctrl.stop(&RunId::new("wf-done"), &g).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::AlreadyFinished(r) if r.state == RunState::Succeeded),
        "{o:?}"
    );

    let err = ctrl.stop(&RunId::new("wf-nope"), &g).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.http_status(), Some(404));
    let err = ctrl
        .stop(&RunId::new("wf-busy"), &StopRequest::force())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let err = ctrl
        .stop(
            &RunId::new("wf-busy"),
            &StopRequest::graceful().with_option("now", true),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // The variant that answers 200 with the unchanged run: an old cancel is
    // reported as already finished, not as our stop.
    let sim = AmperitySim::builder()
        .insert_run(
            RunSeed::new("canceled")
                .with_id("wf-old")
                .with_created_at(old)
                .with_ended_at(old + chrono::Duration::minutes(5)),
        )
        .insert_run(RunSeed::new("failed").with_id("wf-failed"))
        .terminal_stop(TerminalStop::Ok)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    for id in ["wf-old", "wf-failed"] {
        let o = ctrl.stop(&RunId::new(id), &g).await.unwrap();
        assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{id}: {o:?}");
    }
}

#[tokio::test]
async fn the_token_request_carries_x_amperity_tenant() {
    // amperity/amperity-docs amperity_reference/source/api.rst: the token
    // call's header is X-Amperity-Tenant (the simulator refuses it without).
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let ctrl = oauth_controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.token_grants(), 1);
    let log = sim.server().requests();
    let token_calls: Vec<_> = log
        .iter()
        .filter(|r| r.path() == "/api/v0/oauth2/token")
        .collect();
    assert_eq!(token_calls.len(), 1);
    assert_eq!(token_calls[0].method, "POST");
    assert_eq!(token_calls[0].status, Some(200));
    assert_eq!(token_calls[0].header("x-amperity-tenant"), Some("acme"));
}

/// The stop requests and run reads the simulator received, as
/// `(method, status)` in order.
fn stop_and_reads(sim: &AmperitySim) -> Vec<(String, Option<u16>)> {
    sim.server()
        .requests()
        .into_iter()
        .filter(|r| r.path().starts_with("/api/workflow/runs/"))
        .map(|r| (r.method.clone(), r.status))
        .collect()
}

#[tokio::test]
async fn a_400_on_a_finished_run_is_already_finished() {
    // OA3's stop-workflow lists 200/400/401/403/404/500 and no 409: the
    // simulator's default answers a stop on a finished run with 400.
    for switch in [TerminalStop::BadRequest, TerminalStop::Conflict] {
        let sim = AmperitySim::builder()
            .insert_run(RunSeed::new("succeeded").with_id("wf-done"))
            .insert_run(RunSeed::new("canceled").with_id("wf-gone"))
            .insert_run(RunSeed::new("failed").with_id("wf-bad"))
            .terminal_stop(switch)
            .start()
            .await
            .unwrap();
        let ctrl = controller(&sim);
        for (id, state) in [
            ("wf-done", RunState::Succeeded),
            ("wf-gone", RunState::Stopped),
            ("wf-bad", RunState::Failed),
        ] {
            sim.server().clear_requests();
            let o = ctrl
                .stop(&RunId::new(id), &StopRequest::graceful())
                .await
                .unwrap();
            assert!(
                matches!(&o, StopOutcome::AlreadyFinished(r) if r.state == state),
                "{switch:?} {id}: {o:?}"
            );
            let code = if switch == TerminalStop::Conflict {
                409
            } else {
                400
            };
            assert_eq!(
                stop_and_reads(&sim),
                [
                    ("POST".to_owned(), Some(code)),
                    ("GET".to_owned(), Some(200))
                ],
                "{switch:?} {id}: one stop, one read-back"
            );
        }
    }
}

#[tokio::test]
async fn a_400_on_a_running_run_is_an_error() {
    let sim = AmperitySim::builder()
        .insert_run(RunSeed::new("running").with_id("wf-busy"))
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    sim.faults().add(
        FaultRule::new(
            Route::post_prefix("/workflow/runs/wf-busy/stop"),
            Fault::status(400),
        )
        .times(1),
    );
    let err = ctrl
        .stop(&RunId::new("wf-busy"), &StopRequest::graceful())
        .await
        .unwrap_err();
    // The vendor's refusal of a stop, not the caller's mistake.
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(
        stop_and_reads(&sim),
        [
            ("POST".to_owned(), Some(400)),
            ("GET".to_owned(), Some(200))
        ],
        "the run was read back once and found running"
    );
    assert_eq!(sim.run_json("wf-busy").unwrap()["state"], "running");
    // When the read-back fails too, the 400 is still the answer.
    sim.faults().add(
        FaultRule::new(
            Route::post_prefix("/workflow/runs/wf-busy/stop"),
            Fault::status(400),
        )
        .times(1),
    );
    sim.faults()
        .add(FaultRule::new(Route::get_prefix("/workflow/runs/"), Fault::status(404)).times(1));
    let err = ctrl
        .stop(&RunId::new("wf-busy"), &StopRequest::graceful())
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(400), "{err}");
}

#[tokio::test]
async fn a_rate_limit_storm_is_ridden_out() {
    let sim = AmperitySim::builder().running(2).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::too_many_requests(None)).times(3));
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::too_many_requests(Some(0))).times(1));
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::status(503)).times(1));
    let run = ctrl.status(&id).await.unwrap();
    assert_eq!(run.id, id);
    let statuses: Vec<u16> = sim
        .server()
        .requests()
        .iter()
        .filter_map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 429, 429, 503, 200]);

    // The documented 10 requests/second limit, with 30 concurrent stops and
    // a retry policy patient enough for 3 s of backlog.
    let sim = AmperitySim::builder().running(30).start().await.unwrap();
    sim.faults().rate_limit(10);
    let ctrl = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .with_client_config(
            ClientConfig::default().with_retry(
                RetryPolicy::default()
                    .with_max_attempts(12)
                    .with_budget(Duration::from_secs(20))
                    .with_backoff(Duration::from_millis(100), Duration::from_secs(1)),
            ),
        )
        .build()
        .unwrap();
    let ids: Vec<RunId> = sim.ids().into_iter().map(RunId::new).collect();
    let g = StopRequest::graceful();
    let started = std::time::Instant::now();
    let results: Vec<_> = ctrl.stop_many(ids.clone(), &g, 30).collect().await;
    assert_eq!(results.len(), 30);
    for r in &results {
        assert!(r.result.is_ok(), "{}: {:?}", r.id, r.result);
    }
    let throttled = sim
        .server()
        .requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count();
    assert!(throttled > 0, "the limit was never hit");
    assert!(started.elapsed() < Duration::from_secs(14));
    for id in &ids {
        assert!(sim.stop_requests(id.as_str()) >= 1);
    }
}

#[tokio::test]
async fn damaged_answers_are_typed_errors() {
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    let cases: Vec<(Fault, ErrorKind, &str)> = vec![
        (
            Fault::TruncatedJson,
            ErrorKind::InvalidResponse,
            "not the expected JSON",
        ),
        (
            Fault::NonJson,
            ErrorKind::InvalidResponse,
            "not the expected JSON",
        ),
        (Fault::EmptyOk, ErrorKind::InvalidResponse, "empty body"),
        (
            Fault::html(502),
            ErrorKind::Unavailable,
            "HTML page \"502 Bad Gateway\"",
        ),
        (Fault::status(500), ErrorKind::Unavailable, "500"),
        (
            Fault::CloseMidBody,
            ErrorKind::Transport,
            "reading the response body",
        ),
        (
            Fault::CloseBeforeHeaders,
            ErrorKind::Transport,
            "before a response",
        ),
    ];
    for (fault, kind, needle) in cases {
        sim.faults().clear();
        sim.faults().add(FaultRule::new(
            Route::get_prefix("/workflow/runs/"),
            fault.clone(),
        ));
        let err = ctrl.status(&id).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{fault:?}: {err}");
        assert!(err.to_string().contains(needle), "{fault:?}: {err}");
        assert!(!err.to_string().contains(sim.token()));
    }
    sim.faults().clear();
    // Wrong content type on a good body is still read; a huge body is capped.
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::WrongContentType).times(1));
    assert!(
        ctrl.status(&id).await.is_err(),
        "a JSON body labelled HTML is refused"
    );
    let small = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .with_client_config(fast_config().with_body_limit(64 * 1024))
        .build()
        .unwrap();
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::oversized(1024 * 1024)).times(1));
    let err = small.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("limit"), "{err}");
}

#[tokio::test]
async fn ids_are_one_path_segment() {
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    for (id, target) in [
        ("a/b", "/api/workflow/runs/a%2Fb?view=verbose"),
        (
            "../../v0/oauth2/token",
            "/api/workflow/runs/..%2F..%2Fv0%2Foauth2%2Ftoken?view=verbose",
        ),
        (
            "x?view=overview#y",
            "/api/workflow/runs/x%3Fview%3Doverview%23y?view=verbose",
        ),
        ("100%", "/api/workflow/runs/100%25?view=verbose"),
        ("wf-é", "/api/workflow/runs/wf-%C3%A9?view=verbose"),
    ] {
        sim.server().clear_requests();
        let err = ctrl.status(&RunId::new(id)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{id}");
        let reqs = sim.server().requests();
        assert_eq!(reqs.len(), 1, "{id}");
        assert_eq!(reqs[0].target, target);
    }
    sim.server().clear_requests();
    for bad in ["", ".", "..", "a b", "a\r\nb", "a\0b", &"x".repeat(300)] {
        let err = ctrl.status(&RunId::new(bad)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        let err = ctrl
            .stop(&RunId::new(bad), &StopRequest::graceful())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert!(
        sim.server().requests().is_empty(),
        "refused ids sent nothing"
    );
}

#[tokio::test]
async fn from_env_reads_the_simulator_variables() {
    let sim = AmperitySim::builder().running(2).start().await.unwrap();
    for vars in [sim.env(), sim.oauth_env()] {
        let ctrl = AmperityBuilder::from_lookup(|k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .build()
        .unwrap();
        let page = ctrl.list(&ListQuery::new()).await.unwrap();
        assert_eq!(page.runs.len(), 2);
    }
}

#[tokio::test]
async fn one_connection_for_many_calls() {
    let sim = AmperitySim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    for _ in 0..50 {
        ctrl.status(&id).await.unwrap();
    }
    assert!(
        sim.server().connections() <= 2,
        "{} connections",
        sim.server().connections()
    );
}
