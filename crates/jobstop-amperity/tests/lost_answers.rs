//! A stop that took effect but whose answer was lost,
//! against the simulator over loopback: the stop is sent again, Amperity
//! refuses it (400 in the OpenAPI reading, 409 in `responses.rst`'s), and
//! the run read back says what the lost attempt did. The fault matrix runs
//! the same faults for every vendor; these tests pin the two answers that
//! were false: `already_finished` for a run jobstop stopped, and an input
//! error (exit 2) for a refusal that stands after a lost answer.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_amperity::{AmperityBuilder, AmperityController};
use jobstop_core::{ErrorKind, JobController, RunId, RunState, StopOutcome, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::amperity::{AmperitySim, AmperitySimBuilder, RunSeed, TerminalStop};
use jobstop_sim::{Fault, FaultRule, Route};

fn controller(sim: &AmperitySim) -> AmperityController {
    AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_token(sim.token())
        .with_client_config(
            ClientConfig::default()
                .with_attempt_timeout(Duration::from_millis(300))
                .with_retry(
                    RetryPolicy::default()
                        .with_budget(Duration::from_secs(5))
                        .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
                ),
        )
        .build()
        .unwrap()
}

/// Stops a running run whose first stop answer is cut after the simulator
/// applied it (`fault`), and returns the outcome and the stops the
/// simulator received.
async fn stop_with_lost_answer(
    sim: impl FnOnce(AmperitySimBuilder) -> AmperitySimBuilder,
    fault: Fault,
) -> (jobstop_core::Result<StopOutcome>, u64) {
    let sim = sim(AmperitySim::builder()).start().await.unwrap();
    let id = sim.insert_run(RunSeed::new("running"));
    sim.faults()
        .add(FaultRule::new(Route::post_prefix("/"), fault).times(1));
    let result = controller(&sim)
        .stop(&RunId::new(id.clone()), &StopRequest::graceful())
        .await;
    (result, sim.stop_requests(&id))
}

#[tokio::test]
async fn a_refusal_on_a_run_the_lost_attempt_stopped_is_stopped_not_already_finished() {
    for reading in [TerminalStop::BadRequest, TerminalStop::Conflict] {
        for fault in [
            Fault::CloseAfterHandler,
            Fault::SlowAnswer(Duration::from_millis(600)),
        ] {
            let (result, stops) = stop_with_lost_answer(
                |b| b.terminal_stop(reading).stop_delay(Duration::ZERO),
                fault.clone(),
            )
            .await;
            let outcome = result.unwrap();
            assert!(
                matches!(outcome, StopOutcome::Stopped(_)),
                "{reading:?} {fault:?}: {outcome:?}"
            );
            assert_eq!(outcome.run().state, RunState::Stopped);
            assert_eq!(stops, 2, "the stop and its repeat");
        }
    }
}

#[tokio::test]
async fn a_400_that_stands_after_a_lost_answer_is_not_an_input_error() {
    // The lost attempt stopped the run; the repeat is refused with 400, and
    // the read-back that would tell fails (every GET answers 500). The
    // refusal stands, but it is not "invalid input" (exit 2): the input is
    // the one the vendor may just have acted on, and the error says so.
    let sim = AmperitySim::builder()
        .stop_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let id = sim.insert_run(RunSeed::new("running"));
    sim.faults()
        .add(FaultRule::new(Route::post_prefix("/"), Fault::CloseAfterHandler).times(1));
    sim.faults()
        .add(FaultRule::new(Route::get_prefix("/"), Fault::status(500)));
    let err = controller(&sim)
        .stop(&RunId::new(id.clone()), &StopRequest::graceful())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert_eq!(err.http_status(), Some(400), "{err}");
    assert!(err.had_unanswered_attempt(), "{err}");
    assert!(err.to_string().contains("its answer was lost"), "{err}");
    assert_eq!(sim.stop_requests(&id), 2);
}

#[tokio::test]
async fn an_unfaulted_stop_of_a_finished_run_is_still_already_finished() {
    let sim = AmperitySim::builder().start().await.unwrap();
    let id = sim.insert_run(RunSeed::new("succeeded"));
    let outcome = controller(&sim)
        .stop(&RunId::new(id), &StopRequest::graceful())
        .await
        .unwrap();
    assert!(
        matches!(outcome, StopOutcome::AlreadyFinished(_)),
        "{outcome:?}"
    );
}
