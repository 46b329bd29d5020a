//! Stops one Amperity workflow run and waits for it with a deadline,
//! reporting whether the stop won or the run finished first. Offline:
//! `cargo run --example stop_and_wait`.

use std::time::Duration;

use jobstop::amperity::AmperityBuilder;
use jobstop::{ErrorKind, JobControllerExt, RunId, StopRequest, WaitOptions};
use jobstop_sim::amperity::AmperitySim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = AmperitySim::builder()
        .seed(3)
        .running(2)
        .stop_delay(Duration::from_millis(500))
        .start()
        .await?;
    let env = sim.env();
    let amperity =
        AmperityBuilder::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .build()?;

    let id = RunId::new(sim.ids()[0].clone());
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(100), Duration::from_secs(1));
    let report = amperity
        .stop_and_wait(&id, &StopRequest::graceful(), &wait)
        .await?;
    println!(
        "{id}: stop {} → {} after {:?} ({} polls); stop won: {}",
        report.outcome.as_str(),
        report.final_run.vendor_state,
        report.elapsed,
        report.polls,
        report.stop_won
    );

    // A deadline too short to see the end is a typed timeout, with the last state seen.
    let other = RunId::new(sim.ids()[1].clone());
    let tight = WaitOptions::default()
        .with_timeout(Duration::from_millis(100))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(50));
    match amperity
        .stop_and_wait(&other, &StopRequest::graceful(), &tight)
        .await
    {
        Err(e) if e.kind() == ErrorKind::Timeout => println!("{other}: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
