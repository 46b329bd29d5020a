//! Reading a workfile (`GET /api/workfiles/:id`) writes an `OpenWorkfileEvent`
//! to the workspace's activity stream on the real server (hey-jude/chorus
//! `components/api/app/controllers/api/workfiles_controller.rb#show`); the
//! workspace listing (`#index`) writes none. These tests count the
//! simulator's events while jobstop polls, check that the listing path finds
//! exactly the asked-for workfile although Chorus matches names with `LIKE`,
//! and that a stop during an engine failure is an error, never `Stopped`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, ListQuery, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions,
};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::chorus::{ChorusSim, ChorusWire, WorkfileSeed};

fn fast_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_budget(Duration::from_secs(5))
            .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
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

/// GETs of one workfile (`/api/workfiles/{id}`) in the request log.
fn shows(sim: &ChorusSim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().starts_with("/api/workfiles/"))
        .count()
}

/// GETs of the workspace listing in the request log, with their queries.
fn listings(sim: &ChorusSim) -> Vec<String> {
    sim.server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path().starts_with("/api/workspaces/"))
        .map(|r| r.target)
        .collect()
}

/// Polls frequent enough that a wait of ~600 ms makes many of them.
fn wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(15), Duration::from_millis(30))
}

/// A workflow the engine does not stop at once (it answers the stop with a
/// non-200, so Chorus answers 202 `running`) and that finishes on its own
/// after `finish_after`: `stop_and_wait` has to poll.
async fn slow_stop_sim(wire: ChorusWire) -> ChorusSim {
    let sim = ChorusSim::builder()
        .wire(wire)
        .running(3)
        .idle(4)
        .other_files(2)
        .finish_after(Some(Duration::from_millis(700)))
        .start()
        .await
        .unwrap();
    sim.fail_next_engine_stops(1);
    sim
}

/// Both published readings of the JSON (the TIBCO page, the Rails
/// presenters).
const WIRES: [ChorusWire; 2] = [ChorusWire::TibcoPage, ChorusWire::RailsPresenters];

#[tokio::test]
async fn stop_and_wait_after_a_listing_writes_no_activity_event() {
    for wire in WIRES {
        after_a_listing(wire).await;
    }
}

async fn after_a_listing(wire: ChorusWire) {
    let sim = slow_stop_sim(wire).await;
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids_with_status("running")[0].clone());
    let listed = ctrl.list(&ListQuery::new()).await.unwrap();
    assert!(listed.runs.iter().any(|r| r.id == id));
    let (events, gets) = (sim.open_workfile_events(), shows(&sim));
    let lists = listings(&sim).len();

    let report = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait())
        .await
        .unwrap();
    assert!(
        matches!(report.outcome, StopOutcome::Requested(_)),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.final_run.state, RunState::Idle);
    assert!(report.polls >= 5, "only {} polls", report.polls);
    assert_eq!(
        sim.open_workfile_events() - events,
        0,
        "{} polls wrote OpenWorkfileEvents",
        report.polls
    );
    assert_eq!(shows(&sim), gets, "no GET /api/workfiles/:id at all");
    println!(
        "{wire:?}, listed first: {} polls, {} OpenWorkfileEvents, {} listing requests",
        report.polls,
        sim.open_workfile_events() - events,
        listings(&sim).len() - lists
    );
    // One listing request per status read: the read before the stop and
    // one per poll.
    assert_eq!(listings(&sim).len() - lists, report.polls as usize + 1);
    for target in &listings(&sim)[lists..] {
        assert!(target.contains("name_pattern="), "{target}");
        assert!(target.contains("file_type=work_flow"), "{target}");
    }
}

#[tokio::test]
async fn stop_and_wait_of_a_bare_id_writes_one_event_whatever_the_polls() {
    for wire in WIRES {
        of_a_bare_id(wire).await;
    }
}

async fn of_a_bare_id(wire: ChorusWire) {
    let sim = slow_stop_sim(wire).await;
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids_with_status("running")[1].clone());
    let report = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait())
        .await
        .unwrap();
    assert_eq!(report.final_run.state, RunState::Idle);
    assert!(report.polls >= 5, "only {} polls", report.polls);
    // The read before the stop is the only one that does not know the
    // workflow's name yet; every poll goes through the listing.
    assert_eq!(sim.open_workfile_events(), 1, "{} polls", report.polls);
    assert_eq!(sim.open_workfile_events_for(id.as_str()), 1);
    println!(
        "{wire:?}, bare id: {} polls, {} OpenWorkfileEvent(s), {} GET /api/workfiles/:id, {} listing requests",
        report.polls,
        sim.open_workfile_events(),
        shows(&sim),
        listings(&sim).len()
    );
    // And a later status of it costs none.
    let run = ctrl.status(&id).await.unwrap();
    assert_eq!(run.state, RunState::Idle);
    assert_eq!(sim.open_workfile_events(), 1);
}

#[tokio::test]
async fn the_listing_path_finds_exactly_the_asked_for_workfile() {
    // Chorus filters with `file_name LIKE '%name%'`: every decoy below
    // matches the target's pattern, and 150 of them sort before it, so the
    // target is on page 2 of 100.
    let mut b = ChorusSim::builder();
    for n in 0..150 {
        b = b.insert_workfile(WorkfileSeed::new("idle").with_file_name(format!("a flow {n:03}")));
    }
    let sim = b
        .insert_workfile(
            WorkfileSeed::new("running")
                .with_id(3_000_001)
                .with_file_name("flow"),
        )
        .insert_workfile(
            WorkfileSeed::new("idle")
                .with_id(3_000_002)
                .with_file_name("flow_2"),
        )
        .insert_workfile(
            WorkfileSeed::new("idle")
                .with_id(3_000_003)
                .with_file_name("Flow"),
        )
        // `_` is a LIKE wildcard: `a_b` also matches `aXb`.
        .insert_workfile(
            WorkfileSeed::new("running")
                .with_id(3_000_004)
                .with_file_name("a_b"),
        )
        .insert_workfile(
            WorkfileSeed::new("idle")
                .with_id(3_000_005)
                .with_file_name("aXb"),
        )
        // A backslash escapes in LIKE; jobstop doubles it.
        .insert_workfile(
            WorkfileSeed::new("running")
                .with_id(3_000_006)
                .with_file_name("back\\slash"),
        )
        // Not a workflow: never listed with file_type=work_flow.
        .insert_workfile(
            WorkfileSeed::new("idle")
                .with_id(3_000_007)
                .with_file_name("flow.sql")
                .with_file_type("sql"),
        )
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    // Learn the names from a full listing (no event).
    let mut cursor = None;
    loop {
        let mut q = ListQuery::new().with_page_size(100);
        q.cursor = cursor;
        let page = ctrl.list(&q).await.unwrap();
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(sim.open_workfile_events(), 0);
    sim.server().clear_requests();

    for (id, name, state) in [
        ("3000001", "flow", RunState::Running),
        ("3000002", "flow_2", RunState::Idle),
        ("3000003", "Flow", RunState::Idle),
        ("3000004", "a_b", RunState::Running),
        ("3000005", "aXb", RunState::Idle),
        ("3000006", "back\\slash", RunState::Running),
    ] {
        let run = ctrl.status(&RunId::new(id)).await.unwrap();
        assert_eq!(run.id.as_str(), id);
        assert_eq!(run.name.as_deref(), Some(name));
        assert_eq!(run.state, state, "{id}");
        assert_eq!(run.raw_value(), {
            // The listing shows the workfile as the list view does.
            let mut v = sim.workfile_json(id).unwrap();
            let obj = v.as_object_mut().unwrap();
            obj.remove("execution_locations");
            obj.remove("dataset_ids");
            let ws = obj.get_mut("workspace").unwrap();
            // List items carry the succinct workspace.
            *ws = run.raw_value()["workspace"].clone();
            v
        });
    }
    assert_eq!(
        sim.open_workfile_events(),
        0,
        "every status through the listing"
    );
    let targets = listings(&sim);
    assert!(
        targets.iter().any(|t| t.contains("page=2")),
        "the target on page 2 was found by paging: {targets:?}"
    );
    assert!(
        targets
            .iter()
            .any(|t| t.contains("name_pattern=back%5C%5Cslash")),
        "{targets:?}"
    );
    // At most MAX_LOOKUP_PAGES (3) listing requests per status, here 2 + 5.
    assert_eq!(targets.len(), 7, "{targets:?}");

    // A non-workflow id: not in the workflow listing, read directly.
    let run = ctrl.status(&RunId::new("3000007")).await.unwrap();
    assert_eq!(run.kind.as_deref(), Some("sql"));
    assert_eq!(sim.open_workfile_events(), 1);
}

#[tokio::test]
async fn a_workflow_beyond_the_lookup_pages_falls_back_to_one_read() {
    let mut b = ChorusSim::builder();
    for n in 0..320 {
        b = b.insert_workfile(WorkfileSeed::new("idle").with_file_name(format!("a flow {n:03}")));
    }
    let sim = b
        .insert_workfile(
            WorkfileSeed::new("running")
                .with_id(3_000_001)
                .with_file_name("flow"),
        )
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new("3000001");
    // Known from a show; the listing path gives up after 3 pages of 100.
    assert_eq!(ctrl.status(&id).await.unwrap().state, RunState::Running);
    assert_eq!(sim.open_workfile_events(), 1);
    sim.server().clear_requests();
    assert_eq!(ctrl.status(&id).await.unwrap().state, RunState::Running);
    assert_eq!(listings(&sim).len(), 3);
    assert_eq!(sim.open_workfile_events(), 2);
}

#[tokio::test]
async fn a_stop_during_an_engine_failure_is_an_error_never_stopped() {
    let sim = ChorusSim::builder()
        .running(2)
        .idle(1)
        .engine_unavailable(true)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let running = sim.ids_with_status("running");
    let id = RunId::new(running[0].clone());
    let err = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(err.http_status(), Some(500));
    assert!(sim.stop_requests(id.as_str()) >= 1);
    assert_eq!(sim.workfile_json(id.as_str()).unwrap()["status"], "running");

    let id = RunId::new(running[1].clone());
    let err = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // The stop of an idle workfile is not sent, so it is still AlreadyFinished.
    let idle = RunId::new(sim.ids_with_status("idle")[0].clone());
    let o = ctrl.stop(&idle, &StopRequest::graceful()).await.unwrap();
    assert!(matches!(o, StopOutcome::AlreadyFinished(_)), "{o:?}");
}

#[tokio::test]
async fn the_stop_answer_has_no_version_info() {
    let sim = ChorusSim::builder().running(1).start().await.unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    let before = ctrl.status(&id).await.unwrap();
    assert!(before.created_at.is_some(), "show carries version_info");
    let o = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    let StopOutcome::Stopped(run) = o else {
        panic!("{o:?}")
    };
    assert!(
        run.raw_value().get("version_info").is_none(),
        "{}",
        run.raw_value()
    );
    assert_eq!(run.created_at, None);
    assert_eq!(run.name, before.name);
}
