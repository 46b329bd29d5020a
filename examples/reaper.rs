//! A reaper: stops the runs older than 30 minutes on every account of a
//! config file, waits for each to end, and sums up. Offline against the
//! embedded simulators: `cargo run --example reaper`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use jobstop::chrono::Utc;
use jobstop::ops::{BulkOptions, Selector, execute_stops, plan_stops};
use jobstop::{Registry, WaitOptions};
use jobstop_sim::{Sims, SimsOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One simulator per vendor; their clock set to now (whatever their
    // default), so "older than" means what it says.
    let options = SimsOptions::default()
        .with_epoch(Utc::now())
        .with_stop_delay(Duration::from_millis(300));
    let sims = Sims::start(Sims::vendors(), &options).await?;
    let config = accounts_toml(&sims);

    // What a reaper does with its own config file.
    let registry = Registry::from_toml_str(&config, |_| None)?;
    let accounts: Vec<_> = registry.accounts().collect();
    let old = Selector::new().with_older_than(Duration::from_secs(30 * 60));
    let plan = plan_stops(&accounts, &old).await;
    for (account, error) in &plan.errors {
        println!("{account}: not listed: {error}");
    }
    println!(
        "{} run(s) older than 30 minutes on {} account(s)",
        plan.stops.len(),
        accounts.len()
    );

    let wait = WaitOptions::default().with_timeout(Duration::from_secs(60));
    let bulk = BulkOptions::default()
        .with_per_account_rate(20)
        .with_wait(wait);
    let mut results = execute_stops(&registry, &plan, &bulk);
    let (mut by_state, mut won, mut failed) = (BTreeMap::new(), 0, 0);
    while let Some(r) = results.next().await {
        if let Some(end) = &r.final_run {
            *by_state.entry(end.state).or_insert(0) += 1;
            won += usize::from(r.stop_won == Some(true));
            println!("{:<12} {}: {}", r.account, r.run_id(), end.state);
        } else if let Some(error) = r.error() {
            failed += 1;
            println!("{:<12} {}: {error}", r.account, r.run_id());
        }
    }
    println!("ended: {by_state:?}; {won} by our stop; {failed} failed or not ended in time");
    Ok(())
}

/// A config file's `[accounts.*]` tables, one per simulator (its settings).
fn accounts_toml(sims: &Sims) -> String {
    let mut text = String::new();
    for sim in sims.iter() {
        text.push_str(&format!("[accounts.{0}]\nvendor = \"{0}\"\n", sim.vendor()));
        for (key, value) in sim.settings() {
            text.push_str(&format!("{key} = {value:?}\n"));
        }
    }
    text
}
