//! An orchestrator's task runner: each task watches a vendor run it started
//! and holds a `RunGuard` on it. When the task dies (aborted, failed, or its
//! cancellation token fired on SIGTERM) the guard stops the run; when the
//! task succeeds it disarms the guard. Offline: `cargo run --example task_runner`.

use std::sync::Arc;
use std::time::Duration;

use jobstop::amperity::AmperityBuilder;
use jobstop::guard::{CancellationToken, GuardHandle, GuardOutcome, RunGuard};
use jobstop::{JobController, RunId, WaitOptions};
use jobstop_sim::amperity::AmperitySim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = AmperitySim::builder()
        .running(4)
        .stop_delay(Duration::from_millis(200))
        .start()
        .await?;
    let env = sim.env();
    let vendor: Arc<dyn JobController> = Arc::new(
        AmperityBuilder::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .build()?,
    );
    let runs: Vec<RunId> = sim.ids().into_iter().map(RunId::new).collect();
    // The guard's stop and wait take 30 s at most; poll every 50–500 ms.
    let guard_for = |id: &RunId| {
        let (guard, handle) = RunGuard::new(vendor.clone(), id.clone());
        let wait = WaitOptions::default()
            .with_intervals(Duration::from_millis(50), Duration::from_millis(500));
        (
            guard.with_deadline(Duration::from_secs(30)).with_wait(wait),
            handle,
        )
    };

    // 1. The orchestrator aborts a task that hangs (a timeout fired, say).
    let (guard, handle) = guard_for(&runs[0]);
    let task = tokio::spawn(work(guard, Step::Hang));
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    report("aborted", &runs[0], handle).await;

    // 2. The task fails: its guard goes out of scope.
    let (guard, handle) = guard_for(&runs[1]);
    let result = tokio::spawn(work(guard, Step::Fail)).await?;
    println!("task 2 returned {result:?}");
    report("failed", &runs[1], handle).await;

    // 3. The task succeeds: it disarms its guard and the run keeps going.
    let (guard, handle) = guard_for(&runs[2]);
    tokio::spawn(work(guard, Step::Succeed)).await??;
    report("succeeded", &runs[2], handle).await;

    // 4. SIGTERM: the orchestrator cancels its token and drains the handles.
    let shutdown = CancellationToken::new();
    let (guard, handle) = guard_for(&runs[3]);
    let _held = tokio::spawn(work(guard.cancel_on(shutdown.clone()), Step::Hang));
    shutdown.cancel();
    report("cancelled", &runs[3], handle).await;

    for id in &runs {
        println!("{id}: now {}", vendor.status(id).await?.vendor_state);
    }
    Ok(())
}

enum Step {
    Hang,
    Fail,
    Succeed,
}

/// One orchestrator task: watches its vendor run, does its work, and ends.
async fn work(guard: RunGuard, step: Step) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(20)).await; // the task's work
    match step {
        Step::Hang => std::future::pending().await,
        Step::Fail => Err("the downstream step failed".into()), // drops the guard
        Step::Succeed => {
            guard.disarm();
            Ok(())
        }
    }
}

async fn report(how: &str, id: &RunId, handle: GuardHandle) {
    match handle.outcome().await {
        GuardOutcome::Disarmed => println!("task {how}: {id} kept running (guard disarmed)"),
        GuardOutcome::Stopped(r) => println!(
            "task {how}: {id} stopped by its guard → {} (stop won: {})",
            r.final_run.vendor_state, r.stop_won
        ),
        GuardOutcome::StopFailed(e) => println!("task {how}: the stop of {id} failed: {e}"),
        other => println!("task {how}: {id}: {other:?}"),
    }
}
