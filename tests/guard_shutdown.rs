//! A guarded run is stopped when the runtime its task runs on shuts down
//! (dropped, or `shutdown_timeout`): the stop moves to a fallback thread,
//! exactly one stop reaches the simulator, and the handle reports the stop,
//! never `Disarmed`. The simulator runs on a runtime of its own.

#![cfg(feature = "amperity")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use jobstop::amperity::AmperityBuilder;
use jobstop::guard::{GuardOutcome, RunGuard};
use jobstop::{JobController, RunId, RunState, WaitOptions};
use jobstop_sim::amperity::AmperitySim;
use tokio::runtime::{Builder, Runtime};

fn wait() -> WaitOptions {
    WaitOptions::default().with_intervals(Duration::from_millis(20), Duration::from_millis(100))
}

enum Shutdown {
    Drop,
    Timeout,
}

fn dying_runtime(multi_thread: bool) -> Runtime {
    let mut b = if multi_thread {
        Builder::new_multi_thread()
    } else {
        Builder::new_current_thread()
    };
    if multi_thread {
        b.worker_threads(1);
    }
    b.enable_all().build().unwrap()
}

fn a_runtime_shutting_down_with_a_guarded_task_stops_the_run(how: Shutdown, multi_thread: bool) {
    let sim_rt = Runtime::new().unwrap();
    let sim = sim_rt
        .block_on(
            AmperitySim::builder()
                .running(2)
                .stop_delay(Duration::from_millis(50))
                .start(),
        )
        .unwrap();
    let env = sim.env();
    let ctrl: Arc<dyn JobController> = Arc::new(
        AmperityBuilder::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .build()
            .unwrap(),
    );
    let id = RunId::new(sim.ids()[0].clone());

    let (guard, handle) = RunGuard::new(ctrl.clone(), id.clone());
    let guard = guard
        .with_deadline(Duration::from_secs(20))
        .with_wait(wait());
    let dying = dying_runtime(multi_thread);
    let (watching, started) = tokio::sync::oneshot::channel();
    let task_ctrl = ctrl.clone();
    let task_id = id.clone();
    // The orchestrator's task: holds the guard and watches the run, forever.
    dying.spawn(async move {
        let _guard = guard;
        let run = task_ctrl.status(&task_id).await.unwrap();
        watching.send(run.state).unwrap();
        std::future::pending::<()>().await;
    });
    let state = if multi_thread {
        started.blocking_recv().unwrap()
    } else {
        // A current-thread runtime runs its tasks only inside block_on.
        dying.block_on(started).unwrap()
    };
    assert_eq!(state, RunState::Running);
    match how {
        Shutdown::Drop => drop(dying),
        Shutdown::Timeout => dying.shutdown_timeout(Duration::from_millis(100)),
    }

    let outcome = sim_rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), handle.outcome()).await })
        .expect("the guard reports within its deadline");
    match &outcome {
        GuardOutcome::Stopped(report) => {
            assert_eq!(report.final_run.state, RunState::Stopped);
            assert!(report.stop_won);
        }
        other => panic!("expected the stop's report, got {other:?}"),
    }
    // Exactly one stop, and nothing more arrives later.
    sim_rt.block_on(async { tokio::time::sleep(Duration::from_millis(200)).await });
    assert_eq!(sim.stop_requests(id.as_str()), 1);
    assert_eq!(sim.total_stop_requests(), 1);
    let state = sim_rt.block_on(ctrl.status(&id)).unwrap().state;
    assert!(
        matches!(state, RunState::Stopped | RunState::Stopping),
        "{state:?}"
    );
}

#[test]
fn a_dropped_multi_thread_runtime_stops_its_guarded_run() {
    a_runtime_shutting_down_with_a_guarded_task_stops_the_run(Shutdown::Drop, true);
}

#[test]
fn a_multi_thread_runtime_shut_down_with_a_timeout_stops_its_guarded_run() {
    a_runtime_shutting_down_with_a_guarded_task_stops_the_run(Shutdown::Timeout, true);
}

#[test]
fn a_dropped_current_thread_runtime_stops_its_guarded_run() {
    a_runtime_shutting_down_with_a_guarded_task_stops_the_run(Shutdown::Drop, false);
}
