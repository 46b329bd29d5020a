//! Starts the DataArts simulator on loopback and, signing every request with
//! AK/SK, lists what is running (real-time jobs and batch instances), stops a
//! real-time job and waits for it. Offline: `cargo run --example dataarts`.

use std::time::Duration;

use futures::TryStreamExt;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::{JobControllerExt, ListQuery, RunState, StopRequest, WaitOptions};
use jobstop_sim::dataarts::DataArtsSim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = DataArtsSim::builder()
        .seed(7)
        .realtime_jobs(2, 1)
        .batch_jobs(3)
        .instances(12)
        .running_instances(3)
        .stop_delay(Duration::from_millis(400))
        .start()
        .await?;
    println!("DataArts simulator at {}", sim.base_url());

    // The same variables an operator would export: AK/SK signing.
    let env = sim.env();
    let dataarts = DataArtsBuilder::from_lookup(|k| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .build()?;

    let running: Vec<_> = dataarts
        .list_all(ListQuery::new().with_state(RunState::Running))
        .try_collect()
        .await?;
    println!("{} running:", running.len());
    for run in &running {
        println!(
            "  {:<32} {:<15} {}",
            run.id,
            run.kind.as_deref().unwrap_or("-"),
            run.vendor_state
        );
    }

    let Some(job) = running
        .iter()
        .find(|r| r.kind.as_deref() == Some(jobstop::dataarts::KIND_REALTIME_JOB))
    else {
        return Ok(());
    };
    println!("stopping real-time job {} …", job.id);
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(30))
        .with_intervals(Duration::from_millis(100), Duration::from_secs(1));
    let report = dataarts
        .stop_and_wait(&job.id, &StopRequest::graceful(), &wait)
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
    Ok(())
}
