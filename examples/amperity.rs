//! Starts the Amperity simulator on loopback, lists running workflows, stops
//! one and waits for it to end. Offline: `cargo run --example amperity`.

use std::time::Duration;

use futures::TryStreamExt;
use jobstop::amperity::AmperityBuilder;
use jobstop::{JobController, JobControllerExt, ListQuery, RunState, StopRequest, WaitOptions};
use jobstop_sim::amperity::AmperitySim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = AmperitySim::builder()
        .seed(7)
        .running(4)
        .finished(8)
        .stop_delay(Duration::from_millis(400))
        .start()
        .await?;
    println!("Amperity simulator at {}", sim.base_url());

    // The same variables an operator would export for the real service.
    let env = sim.env();
    let amperity = AmperityBuilder::from_lookup(|k| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .build()?;

    let running: Vec<_> = amperity
        .list_all(ListQuery::new().with_state(RunState::Running))
        .try_collect()
        .await?;
    println!("{} running workflow(s):", running.len());
    for run in &running {
        println!(
            "  {:<26} {:<9} {}",
            run.id,
            run.vendor_state,
            run.name.as_deref().unwrap_or("-")
        );
    }

    let Some(target) = running.first() else {
        return Ok(());
    };
    println!(
        "stopping {} ({}) …",
        target.id,
        target.name.as_deref().unwrap_or("-")
    );
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(30))
        .with_intervals(Duration::from_millis(100), Duration::from_secs(1));
    let report = amperity
        .stop_and_wait(&target.id, &StopRequest::graceful(), &wait)
        .await?;
    println!(
        "stop answered {} ({}); after {} poll(s) it is {} ({}), stop won: {}",
        report.outcome.as_str(),
        report.outcome.run().vendor_state,
        report.polls,
        report.final_run.state,
        report.final_run.vendor_state,
        report.stop_won
    );
    let status = amperity.status(&target.id).await?;
    assert_eq!(status.state, RunState::Stopped);
    Ok(())
}
