//! Four vendors behind one registry: starts the four simulators on loopback,
//! builds a `Registry` from a TOML config naming one account per vendor (plus
//! a second Amperity account), and lists what runs everywhere, concurrently.
//! Offline: `cargo run --example multi_vendor`.

use jobstop::ops::{Selector, list_accounts};
use jobstop::{Registry, RunState};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::DataArtsSim;

fn toml_table(name: &str, vendor: &str, vars: &[(String, String)], prefix: &str) -> String {
    let mut out = format!("[accounts.{name}]\nvendor = \"{vendor}\"\n");
    for (k, v) in vars {
        let key = k.trim_start_matches(prefix).to_ascii_lowercase();
        out.push_str(&format!("{key} = \"{v}\"\n"));
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let amperity = AmperitySim::builder()
        .seed(1)
        .running(3)
        .finished(4)
        .start()
        .await?;
    let amperity_eu = AmperitySim::builder()
        .seed(2)
        .tenant("acme-eu")
        .running(1)
        .start()
        .await?;
    let chorus = ChorusSim::builder()
        .seed(3)
        .running(2)
        .idle(3)
        .start()
        .await?;
    let dataarts = DataArtsSim::builder()
        .seed(4)
        .realtime_jobs(1, 1)
        .instances(6)
        .running_instances(2)
        .start()
        .await?;
    let runner = CenturyLinkSim::builder()
        .seed(5)
        .jobs(2)
        .executions_per_job(3)
        .running(2)
        .start()
        .await?;

    // A config file as an operator would write it (secrets inline here only
    // because they are the simulators'; real configs use `*_env` keys).
    let config = [
        toml_table(
            "amperity-us",
            "amperity",
            &amperity.env(),
            "JOBSTOP_AMPERITY_",
        ),
        toml_table(
            "amperity-eu",
            "amperity",
            &amperity_eu.env(),
            "JOBSTOP_AMPERITY_",
        ),
        toml_table("chorus", "chorus", &chorus.env(), "JOBSTOP_CHORUS_"),
        toml_table("dataarts", "dataarts", &dataarts.env(), "JOBSTOP_DATAARTS_"),
        toml_table(
            "runner",
            "centurylink",
            &runner.env(),
            "JOBSTOP_CENTURYLINK_",
        ),
    ]
    .join("\n");
    let registry = Registry::from_toml_str(&config, |_| None)?;
    for account in registry.accounts() {
        println!(
            "{:<12} {:<12} {}",
            account.name, account.vendor, account.base_url
        );
    }

    let accounts = registry.all();
    let selector = Selector::new().with_state(RunState::Running);
    println!("\nrunning everywhere:");
    for listing in list_accounts(&accounts, &selector, None).await {
        match listing.result {
            Ok(runs) => {
                for run in runs {
                    println!(
                        "  {:<12} {:<60} {}",
                        listing.account,
                        run.id.to_string(),
                        run.vendor_state
                    );
                }
            }
            Err(e) => println!("  {:<12} error: {e}", listing.account),
        }
    }
    Ok(())
}
