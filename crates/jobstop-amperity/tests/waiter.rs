//! The public waiter over HTTP, against the Amperity simulator on loopback.

use std::time::Duration;

use jobstop_amperity::AmperityBuilder;
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, RunId, RunState, StopRequest, WaitOptions,
};
use jobstop_sim::amperity::AmperitySim;

#[tokio::test]
async fn wait_until_terminal_polls_a_stopping_run_to_its_end_and_times_out_on_a_running_one() {
    let sim = AmperitySim::builder()
        .seed(3)
        .running(2)
        .stop_delay(Duration::from_millis(300))
        .start()
        .await
        .expect("sim");
    let ctrl = AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .build()
        .expect("controller");
    let ids = sim.ids();
    let stopping = RunId::new(ids[0].clone());
    let running = RunId::new(ids[1].clone());
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(100));

    // The stop is sent on its own; the waiter only watches.
    ctrl.stop(&stopping, &StopRequest::graceful())
        .await
        .expect("stop");
    let stops = sim.total_stop_requests();
    let before = sim.server().requests().len();
    let run = ctrl
        .wait_until_terminal(&stopping, &wait)
        .await
        .expect("ends");
    assert_eq!(run.state, RunState::Stopped);
    let polls = sim.server().requests().len() - before;
    assert!(polls >= 2, "the run was stopping at first: {polls} polls");
    assert_eq!(sim.total_stop_requests(), stops, "waiting sends no stop");

    // A run nobody stops: a typed timeout with the last state seen.
    let tight = wait.clone().with_timeout(Duration::from_millis(200));
    let err = ctrl
        .wait_until_terminal(&running, &tight)
        .await
        .expect_err("still running");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.context().last_state, Some(RunState::Running));
    assert!(err.context().attempts.unwrap_or(0) >= 2);
}
