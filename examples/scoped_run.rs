//! A run started elsewhere is tied to a scope: if the code that owns it fails
//! (returns early with an error, panics, or is cancelled), the guard is
//! dropped and stops the run in the background and
//! reports how it ended; on success the guard is disarmed and nothing is
//! sent. Offline: `cargo run --example scoped_run`.

use std::sync::Arc;
use std::time::Duration;

use jobstop::amperity::AmperityBuilder;
use jobstop::guard::{GuardOutcome, RunGuard};
use jobstop::{JobController, RunId, WaitOptions};
use jobstop_sim::amperity::AmperitySim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = AmperitySim::builder()
        .seed(5)
        .running(2)
        .stop_delay(Duration::from_millis(300))
        .start()
        .await?;
    let env = sim.env();
    let amperity: Arc<dyn JobController> = Arc::new(
        AmperityBuilder::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .build()?,
    );
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(30))
        .with_intervals(Duration::from_millis(50), Duration::from_millis(500));

    // 1. The owner succeeds and hands the run over: disarm, nothing is sent.
    let kept = RunId::new(sim.ids()[0].clone());
    let (guard, handle) = RunGuard::new(amperity.clone(), kept.clone());
    guard.disarm();
    println!(
        "{kept}: {:?}; still {}",
        handle.outcome().await,
        amperity.status(&kept).await?.vendor_state
    );

    // 2. The owner fails: its guard goes out of scope and stops the run.
    let orphan = RunId::new(sim.ids()[1].clone());
    let (guard, handle) = RunGuard::new(amperity.clone(), orphan.clone());
    if let Err(e) = supervise(guard.with_wait(wait).with_deadline(Duration::from_secs(30))).await {
        println!("the owner failed: {e}");
    }
    match handle.outcome().await {
        GuardOutcome::Stopped(report) => println!(
            "{orphan}: stopped by its guard: {} → {} (stop won: {})",
            report.outcome.as_str(),
            report.final_run.vendor_state,
            report.stop_won
        ),
        GuardOutcome::StopFailed(e) => println!("{orphan}: the guard's stop failed: {e}"),
        other => println!("{orphan}: {other:?}"),
    }
    Ok(())
}

/// Watches a run and fails half-way, as orchestrator code does.
async fn supervise(guard: RunGuard) -> Result<(), &'static str> {
    let _guard = guard;
    tokio::time::sleep(Duration::from_millis(50)).await;
    Err("the downstream step failed")
}
