//! Starts the Chorus simulator on loopback, lists running workflow
//! workfiles, stops one and waits. Offline: `cargo run --example chorus`.

use std::time::Duration;

use futures::TryStreamExt;
use jobstop::chorus::ChorusBuilder;
use jobstop::{JobController, JobControllerExt, ListQuery, RunState, StopRequest, WaitOptions};
use jobstop_sim::chorus::ChorusSim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = ChorusSim::builder()
        .seed(7)
        .running(3)
        .idle(5)
        .other_files(4)
        .start()
        .await?;
    println!("Chorus simulator at {}", sim.base_url());

    // The same variables an operator would export for a real server.
    let env = sim.env();
    let chorus = ChorusBuilder::from_lookup(|k| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .build()?;

    let workflows: Vec<_> = chorus.list_all(ListQuery::new()).try_collect().await?;
    println!("{} workflow workfile(s):", workflows.len());
    for run in &workflows {
        println!(
            "  {:<9} {:<8} {}",
            run.id,
            run.vendor_state,
            run.name.as_deref().unwrap_or("-")
        );
    }

    let Some(target) = workflows.iter().find(|r| r.state == RunState::Running) else {
        return Ok(());
    };
    println!(
        "stopping workfile {} ({}) …",
        target.id,
        target.name.as_deref().unwrap_or("-")
    );
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(30))
        .with_intervals(Duration::from_millis(100), Duration::from_secs(1));
    let report = chorus
        .stop_and_wait(&target.id, &StopRequest::graceful(), &wait)
        .await?;
    println!(
        "stop answered {} ({}); final state {}, stop won: {}",
        report.outcome.as_str(),
        report.outcome.run().vendor_state,
        report.final_run.state,
        report.stop_won
    );
    let again = chorus.stop(&target.id, &StopRequest::graceful()).await?;
    println!("stopping it again answers {}", again.as_str());
    Ok(())
}
