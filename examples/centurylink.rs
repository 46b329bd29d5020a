//! Starts the CenturyLink Runner simulator (and its login service) on
//! loopback, logs in with a username and password, lists running executions,
//! stops one gracefully and kills another. Offline:
//! `cargo run --example centurylink`.

use std::time::Duration;

use futures::TryStreamExt;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::{JobControllerExt, ListQuery, RunState, StopRequest, WaitOptions};
use jobstop_sim::centurylink::CenturyLinkSim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = CenturyLinkSim::builder()
        .seed(7)
        .jobs(3)
        .executions_per_job(4)
        .running(3)
        .stop_delay(Duration::from_millis(400))
        .kill_delay(Duration::from_millis(200))
        .start()
        .await?;
    println!(
        "Runner simulator at {} (login at {})",
        sim.base_url(),
        sim.login_url()
    );

    // The same variables an operator would export: a username and password.
    let env = sim.env();
    let runner = CenturyLinkBuilder::from_lookup(|k| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .build()?;

    let running: Vec<_> = runner
        .list_all(ListQuery::new().with_state(RunState::Running))
        .try_collect()
        .await?;
    println!("{} running execution(s):", running.len());
    for run in &running {
        println!(
            "  {}  {}  {}",
            run.id,
            run.vendor_state,
            run.name.as_deref().unwrap_or("-")
        );
    }
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(30))
        .with_intervals(Duration::from_millis(100), Duration::from_secs(1));
    let requests = [
        (
            "stop",
            StopRequest::graceful().with_option("expiryDuration", 5),
        ),
        ("kill", StopRequest::force()),
    ];
    for (run, (what, request)) in running.iter().zip(requests) {
        println!("{what} {} …", run.id);
        let report = runner.stop_and_wait(&run.id, &request, &wait).await?;
        println!(
            "  answered {} ({}); now {} ({}), stop won: {}",
            report.outcome.as_str(),
            report.outcome.run().vendor_state,
            report.final_run.state,
            report.final_run.vendor_state,
            report.stop_won
        );
    }
    Ok(())
}
