//! The Chorus adapter against the Chorus simulator, over loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, ListQuery, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions,
};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::chorus::ChorusSim;
use jobstop_testkit::Fixture;

fn fast_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(5)
            .with_budget(Duration::from_secs(10))
            .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    )
}

fn controller(sim: &ChorusSim) -> ChorusController {
    ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id(sim.workspace_id().to_string())
        .with_client_config(fast_config())
        .build()
        .unwrap()
}

fn logins(sim: &ChorusSim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path() == "/api/sessions")
        .count()
}

#[tokio::test]
async fn conformance() {
    let sim = ChorusSim::builder()
        .seed(5)
        .running(6)
        .idle(12)
        .other_files(5)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let running = sim.ids_with_status("running");
    let idle = sim.ids_with_status("idle");
    let fx = Fixture::new(
        RunId::new(running[0].clone()),
        RunId::new(idle[0].clone()),
        RunId::new("987654321"),
    )
    .with_page_size(5)
    .with_second_running(RunId::new(running[1].clone()))
    .with_wait(
        WaitOptions::default()
            .with_timeout(Duration::from_secs(10))
            .with_intervals(Duration::from_millis(20), Duration::from_millis(200)),
    );
    jobstop_testkit::run_all(&ctrl, &fx).await;
}

#[tokio::test]
async fn one_login_for_many_calls() {
    let sim = ChorusSim::builder()
        .running(3)
        .idle(3)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    assert_eq!(logins(&sim), 0, "building logs in lazily");
    let id = RunId::new(sim.ids()[0].clone());
    for _ in 0..10 {
        ctrl.status(&id).await.unwrap();
    }
    ctrl.list(&ListQuery::new()).await.unwrap();
    assert_eq!(sim.logins(), 1);
    assert_eq!(logins(&sim), 1);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once() {
    let sim = ChorusSim::builder().running(2).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    ctrl.status(&id).await.unwrap();
    sim.expire_sessions();
    sim.server().clear_requests();
    let run = ctrl.status(&id).await.unwrap();
    assert_eq!(run.id, id);
    let seen: Vec<(String, Option<u16>)> = sim
        .server()
        .requests()
        .iter()
        .map(|r| (format!("{} {}", r.method, r.path()), r.status))
        .collect();
    // The first status read the workfile and learnt its name; the second
    // reads it through the workspace listing (no activity event).
    let wf = format!("GET /api/workspaces/{}/workfiles", sim.workspace_id());
    assert_eq!(
        seen,
        vec![
            (wf.clone(), Some(401)),
            ("POST /api/sessions".to_owned(), Some(201)),
            (wf, Some(200)),
        ]
    );
    // A stop after expiry too: the session id travels in the form body.
    sim.expire_sessions();
    ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    assert_eq!(sim.logins(), 3);
}

#[tokio::test]
async fn wrong_credentials_fail_at_once() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let ctrl = ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), "not-the-password")
        .with_workspace_id(sim.workspace_id().to_string())
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let err = ctrl
        .status(&RunId::new(sim.ids()[0].clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.vendor_code(), Some("username_or_password.INVALID"));
    assert_eq!(sim.server().requests().len(), 1, "no retry loop");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
}

#[tokio::test]
async fn a_given_session_id_is_used_and_not_renewed() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let session = sim.new_session();
    let ctrl = ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_session_id(session.clone())
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let id = RunId::new(sim.ids()[0].clone());
    ctrl.status(&id).await.unwrap();
    assert_eq!(sim.logins(), 0);
    sim.expire_sessions();
    let err = ctrl.status(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!format!("{err} {err:?}").contains(&session));
    // Without a workspace, listing is a configuration error, not a request.
    sim.server().clear_requests();
    let err = ctrl.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(sim.server().requests().is_empty());
}

#[tokio::test]
async fn an_empty_workspace_lists_nothing_and_ends() {
    let sim = ChorusSim::builder()
        .empty_workspace(1000099)
        .start()
        .await
        .unwrap();
    let ctrl = ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id("1000099")
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let page = ctrl.list(&ListQuery::new()).await.unwrap();
    assert!(page.runs.is_empty());
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.total, Some(0));
    let all: Vec<_> = ctrl.list_all(ListQuery::new()).try_collect().await.unwrap();
    assert!(all.is_empty());
}

#[tokio::test]
async fn seven_pages_list_each_workfile_once() {
    let sim = ChorusSim::builder()
        .running(10)
        .idle(25)
        .other_files(9)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let mut query = ListQuery::new().with_page_size(5);
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = ctrl.list(&query).await.unwrap();
        pages += 1;
        assert_eq!(page.total, Some(35));
        ids.extend(page.runs.iter().map(|r| r.id.as_str().to_owned()));
        assert!(
            page.runs
                .iter()
                .all(|r| r.kind.as_deref() == Some("work_flow"))
        );
        match page.next_cursor {
            Some(c) => query = query.with_cursor(c),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(unique, sim.ids().into_iter().collect::<HashSet<_>>());
    // Filters applied locally across the pages.
    let running: Vec<_> = ctrl
        .list_all(
            ListQuery::new()
                .with_state(RunState::Running)
                .with_page_size(5),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(running.len(), 10);
}

#[tokio::test]
async fn stop_outcomes() {
    let sim = ChorusSim::builder()
        .running(3)
        .idle(1)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let running = sim.ids_with_status("running");
    let idle = RunId::new(sim.ids_with_status("idle")[0].clone());
    let g = StopRequest::graceful();

    let o = ctrl
        .stop(&RunId::new(running[0].clone()), &g)
        .await
        .unwrap();
    assert!(
        matches!(&o, StopOutcome::Stopped(r) if r.state == RunState::Idle),
        "{o:?}"
    );
    let o = ctrl
        .stop(&RunId::new(running[0].clone()), &g)
        .await
        .unwrap();
    assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{o:?}");
    let before = sim.total_stop_requests();
    let o = ctrl.stop(&idle, &g).await.unwrap();
    assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{o:?}");
    assert_eq!(
        sim.total_stop_requests(),
        before,
        "no stop sent for an idle workfile"
    );

    // The engine answers, but not 200: Chorus answers 202 and the workfile
    // stays running.
    sim.fail_next_engine_stops(2);
    let id = RunId::new(running[1].clone());
    let o = ctrl.stop(&id, &g).await.unwrap();
    assert!(
        matches!(&o, StopOutcome::Requested(r) if r.state == RunState::Running),
        "{o:?}"
    );
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_millis(300))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(50));
    let err = ctrl.stop_and_wait(&id, &g, &wait).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.context().last_state, Some(RunState::Running));
    let o = ctrl.stop(&id, &g).await.unwrap();
    assert!(matches!(o, StopOutcome::Stopped(_)), "{o:?}");

    // The stop carried the session id in its body, not its URL.
    let stops: Vec<_> = sim
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/stop"))
        .collect();
    assert!(!stops.is_empty());
    assert!(
        stops.iter().all(|r| !r.target.contains("session_id")),
        "{stops:?}"
    );

    let err = ctrl.stop(&RunId::new("999999999"), &g).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.vendor_code(), Some("NOT_FOUND"));
    let err = ctrl
        .stop(&RunId::new(running[2].clone()), &StopRequest::force())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_foreign_workspace_is_permission_denied() {
    let sim = ChorusSim::builder()
        .running(1)
        .foreign_workspace(1000777, 2)
        .start()
        .await
        .unwrap();
    let ctrl = ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id("1000777")
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let err = ctrl.list(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.http_status(), Some(403));
}

#[tokio::test]
async fn ids_are_integers_checked_before_any_request() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    for bad in [
        "",
        "abc",
        "-1",
        "1e3",
        "12 ",
        " 12",
        "1/2",
        "../1",
        "%31",
        "１２",
        &"9".repeat(20),
    ] {
        let err = ctrl.status(&RunId::new(bad)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        let err = ctrl
            .stop(&RunId::new(bad), &StopRequest::graceful())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert!(sim.server().requests().is_empty());
}
