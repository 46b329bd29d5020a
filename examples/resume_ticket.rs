//! A stop written down as a ticket: send the stop, save the ticket (JSON),
//! "crash", then resume from the saved ticket and wait for the end, without
//! sending a second stop. Offline: `cargo run --example resume_ticket`.

use std::time::Duration;

use jobstop::ticket::{StopTicket, resume, start_stop};
use jobstop::{Registry, RunId, StopRequest, WaitOptions};
use jobstop_sim::amperity::AmperitySim;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = AmperitySim::builder()
        .seed(6)
        .running(1)
        .stop_delay(Duration::from_millis(800))
        .start()
        .await?;
    let env = sim.env();
    let registry =
        Registry::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))?;
    let id = RunId::new(sim.ids()[0].clone());

    let ticket = start_stop(
        &registry,
        "amperity",
        id.clone(),
        StopRequest::graceful(),
        Duration::from_secs(60),
    )
    .await?;
    let saved = ticket.to_json();
    println!("ticket after the stop was sent:\n{saved}");
    drop(ticket); // the process "dies" here

    let ticket = StopTicket::from_json(&saved)?;
    let wait = WaitOptions::default()
        .with_intervals(Duration::from_millis(100), Duration::from_millis(500));
    let (done, run) = resume(&registry, ticket, &wait, |t| {
        println!("  update: {:?}, last state {:?}", t.stop, t.last_state)
    })
    .await?;
    println!(
        "{}: {} after {} poll(s); stops sent in all: {} (the simulator saw {})",
        run.id,
        run.vendor_state,
        done.polls,
        done.stops_sent,
        sim.stop_requests(id.as_str())
    );
    Ok(())
}
