//! Stop guarantees against the simulators: scoped runs, escalation, lost
//! races. (Resumable tickets across processes are proven by the CLI's tests,
//! which kill a real child process mid-wait.)

#![cfg(all(feature = "amperity", feature = "centurylink"))]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::escalate::{StepKind, StopPolicy, stop_with_policy};
use jobstop::guard::{CancellationToken, GuardOutcome, RunGuard};
use jobstop::{
    ErrorKind, JobController, JobControllerExt, RunId, RunState, StopMode, StopRequest, WaitOptions,
};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;

fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(100))
}

async fn amperity(stop_delay_ms: u64) -> (AmperitySim, Arc<dyn JobController>) {
    let sim = AmperitySim::builder()
        .running(4)
        .stop_delay(Duration::from_millis(stop_delay_ms))
        .start()
        .await
        .unwrap();
    let ctrl = AmperityBuilder::from_lookup(lookup(sim.env()))
        .build()
        .unwrap();
    (sim, Arc::new(ctrl))
}

#[tokio::test]
async fn a_dropped_guard_stops_its_run() {
    let (sim, ctrl) = amperity(100).await;
    let id = RunId::new(sim.ids()[0].clone());
    let handle = {
        let (guard, handle) = RunGuard::new(ctrl.clone(), id.clone());
        let guard = guard
            .with_wait(wait())
            .with_deadline(Duration::from_secs(10));
        // The task that owned the run panics; unwinding drops the guard.
        let task = tokio::spawn(async move {
            let _guard = guard;
            panic!("the orchestrator's task failed");
        });
        assert!(task.await.is_err());
        handle
    };
    match handle.outcome().await {
        GuardOutcome::Stopped(report) => {
            assert_eq!(report.final_run.state, RunState::Stopped);
            assert!(report.stop_won);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.stop_requests(id.as_str()), 1);
}

#[tokio::test]
async fn a_disarmed_guard_sends_nothing() {
    let (sim, ctrl) = amperity(100).await;
    let id = RunId::new(sim.ids()[0].clone());
    let (guard, handle) = RunGuard::new(ctrl.clone(), id.clone());
    guard.disarm();
    assert!(matches!(handle.outcome().await, GuardOutcome::Disarmed));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sim.total_stop_requests(), 0);
    assert_eq!(ctrl.status(&id).await.unwrap().state, RunState::Running);
}

#[tokio::test]
async fn a_cancelled_token_fires_the_guard() {
    let (sim, ctrl) = amperity(50).await;
    let id = RunId::new(sim.ids()[1].clone());
    let token = CancellationToken::new();
    let (guard, handle) = RunGuard::new(ctrl.clone(), id.clone());
    let held = guard
        .with_wait(wait())
        .with_deadline(Duration::from_secs(10))
        .cancel_on(token.clone());
    token.cancel();
    assert!(matches!(
        handle.outcome().await,
        GuardOutcome::Stopped(r) if r.stop_won
    ));
    assert_eq!(sim.stop_requests(id.as_str()), 1);
    drop(held); // already fired: nothing more is sent
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sim.stop_requests(id.as_str()), 1);
}

#[test]
fn a_guard_dropped_outside_any_runtime_still_stops() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sim, ctrl) = rt.block_on(amperity(50));
    let id = RunId::new(sim.ids()[2].clone());
    // Outside the runtime: no panic, no blocking; the stop runs on a thread.
    let (guard, handle) = RunGuard::new(ctrl, id.clone());
    drop(
        guard
            .with_wait(wait())
            .with_deadline(Duration::from_secs(10)),
    );
    let outcome = rt.block_on(handle.outcome());
    assert!(
        matches!(&outcome, GuardOutcome::Stopped(r) if r.stop_won),
        "{outcome:?}"
    );
    assert_eq!(sim.stop_requests(id.as_str()), 1);
}

#[tokio::test]
async fn escalation_kills_only_after_the_graceful_wait_and_only_where_supported() {
    let sim = CenturyLinkSim::builder()
        .jobs(1)
        .executions_per_job(3)
        .running(2)
        .stop_delay(Duration::from_secs(30))
        .kill_delay(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let runner = CenturyLinkBuilder::from_lookup(lookup(sim.env_token()))
        .build()
        .unwrap();
    let id = RunId::new(sim.execution_ids_with_status("RUNNING")[0].clone());
    let policy = StopPolicy::new(
        Duration::from_millis(300),
        Duration::from_secs(5),
        Duration::from_secs(10),
    )
    .with_poll_interval(Duration::from_millis(50));
    let e = stop_with_policy(&runner, &id, &policy).await.unwrap();
    assert!(e.forced);
    assert!(e.stop_won);
    assert_eq!(e.final_run.vendor_state, "KILLED");
    let force = e
        .steps
        .iter()
        .find(|s| {
            matches!(
                s.kind,
                StepKind::Sent {
                    mode: StopMode::Force,
                    ..
                }
            )
        })
        .unwrap();
    assert!(force.at_ms >= 300, "forced after {} ms", force.at_ms);
    assert!(matches!(
        e.steps[0].kind,
        StepKind::Sent {
            mode: StopMode::Graceful,
            ..
        }
    ));
    assert_eq!(
        (
            sim.stop_requests(id.as_str()),
            sim.kill_requests(id.as_str())
        ),
        (1, 1)
    );

    // Amperity has no forced stop: the record says so and nothing is pretended.
    let (asim, amp) = amperity(30_000).await;
    let aid = RunId::new(asim.ids()[0].clone());
    let short = StopPolicy::new(
        Duration::from_millis(200),
        Duration::from_millis(200),
        Duration::from_millis(600),
    )
    .with_poll_interval(Duration::from_millis(50));
    let err = stop_with_policy(amp.as_ref(), &aid, &short)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.context().last_state, Some(RunState::Stopping));
    assert_eq!(asim.stop_requests(aid.as_str()), 1);
}

#[tokio::test]
async fn a_run_that_finished_first_is_reported_as_such() {
    let (sim, ctrl) = amperity(60_000).await;
    let id = RunId::new(sim.ids()[0].clone());
    let outcome = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    assert_eq!(outcome.run().state, RunState::Stopping);
    // The run completes on its own before the cancel takes effect.
    sim.set_state(id.as_str(), "succeeded");
    let report = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait())
        .await
        .unwrap();
    assert_eq!(report.final_run.state, RunState::Succeeded);
    assert!(
        !report.stop_won,
        "a run that succeeded is never reported as stopped"
    );

    let other = RunId::new(sim.ids()[1].clone());
    let (guard, handle) = RunGuard::new(ctrl.clone(), other.clone());
    let guard = guard
        .with_wait(wait())
        .with_deadline(Duration::from_secs(10));
    sim.set_state(other.as_str(), "failed");
    drop(guard);
    match handle.outcome().await {
        GuardOutcome::Stopped(report) => {
            assert_eq!(report.final_run.state, RunState::Failed);
            assert!(!report.stop_won);
        }
        other => panic!("{other:?}"),
    }
}
