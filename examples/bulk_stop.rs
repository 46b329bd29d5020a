//! A bulk stop across accounts: plan (a dry run that stops nothing), then
//! execute with bounded concurrency and a per-account rate limit, printing
//! one line per run as each answer arrives. Offline:
//! `cargo run --example bulk_stop`.

use std::time::Duration;

use futures::StreamExt;
use jobstop::ops::{BulkOptions, Selector, execute_stops, plan_stops};
use jobstop::{Registry, RunState};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let amperity = AmperitySim::builder()
        .seed(8)
        .running(12)
        .finished(10)
        .start()
        .await?;
    let runner = CenturyLinkSim::builder()
        .seed(9)
        .jobs(3)
        .executions_per_job(4)
        .running(4)
        .start()
        .await?;
    let env: Vec<(String, String)> = amperity.env().into_iter().chain(runner.env()).collect();
    let registry =
        Registry::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))?;

    let selector = Selector::new()
        .with_state(RunState::Running)
        .with_older_than(Duration::from_secs(60));
    let accounts = registry.all();
    let plan = plan_stops(&accounts, &selector).await;
    println!("plan: {} run(s) to stop", plan.stops.len());
    for (account, error) in &plan.errors {
        println!("  {account}: could not list: {error}");
    }

    let options = BulkOptions::default()
        .with_concurrency(8)
        .with_per_account_rate(10);
    let mut results = execute_stops(&registry, &plan, &options);
    let (mut ok, mut failed) = (0, 0);
    while let Some(r) = results.next().await {
        match &r.result {
            Ok(outcome) => {
                ok += 1;
                println!(
                    "  {:<12} {:<76} {}",
                    r.account,
                    r.run_id().to_string(),
                    outcome.as_str()
                );
            }
            Err(e) => {
                failed += 1;
                println!(
                    "  {:<12} {:<76} error: {e}",
                    r.account,
                    r.run_id().to_string()
                );
            }
        }
    }
    println!("{ok} stopped or requested, {failed} failed");
    Ok(())
}
