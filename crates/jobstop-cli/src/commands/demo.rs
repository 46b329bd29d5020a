//! `jobstop demo`: list → status → stop --wait on each simulated vendor.

use std::collections::HashMap;
use std::time::Duration;

use jobstop::ops::{Selector, list_accounts};
use jobstop::{Account, JobControllerExt, Registry, RunState, StopRequest};

use super::Ctx;
use super::stop::{describe_outcome, describe_report};
use super::wait::wait_options;
use crate::error::{CliError, report_error};
use crate::exit::{EXIT_OK, EXIT_OTHER};
use crate::outln;
use crate::output::{Cell, Table, one_line};
use crate::sims::Sims;
use jobstop_sim::SimsOptions;

pub(super) async fn run(ctx: &Ctx) -> Result<i32, CliError> {
    let opts = SimsOptions::default()
        .with_seed(7)
        .with_population(2, 4)
        .with_stop_delay(Duration::from_millis(300))
        // The fixed epoch: the demo prints the same ids and times every run.
        .with_seeded_epoch();
    outln!(
        "Starting simulated Amperity, Chorus, DataArts and CenturyLink servers on 127.0.0.1 \
         (nothing leaves this machine)…"
    );
    let sims = Sims::start(&opts)
        .await
        .map_err(|e| CliError::Other(format!("cannot start the simulators: {e}")))?;
    let code = walk(ctx, &sims).await;
    sims.shutdown().await;
    code
}

async fn walk(ctx: &Ctx, sims: &Sims) -> Result<i32, CliError> {
    // The same JOBSTOP_* variables an operator would export, read through
    // the same code as `Registry::from_env`.
    let env: HashMap<String, String> = sims
        .env()
        .map_err(|error| CliError::Api {
            account: None,
            error,
        })?
        .into_iter()
        .collect();
    let registry =
        Registry::from_lookup(|k| env.get(k).cloned()).map_err(|error| CliError::Api {
            account: None,
            error,
        })?;
    outln!(
        "{} accounts, one per vendor, from the simulators' JOBSTOP_* variables:",
        registry.len()
    );
    for a in registry.accounts() {
        outln!("  {:<12} {}", a.name, a.base_url);
    }

    let mut failures = 0;
    for account in registry.accounts() {
        outln!();
        outln!("{}", ctx.term.bold(&format!("== {} ==", account.name)));
        if let Err(e) = walk_one(ctx, account).await {
            report_error(Some(&account.name), &e);
            failures += 1;
        }
    }
    outln!();
    if failures == 0 {
        outln!(
            "Done: on every vendor a running job was listed, inspected, stopped and seen stopped."
        );
        outln!(
            "Next: `jobstop sim` serves these simulators until Ctrl-C and prints the \
             `export JOBSTOP_…` lines;"
        );
        outln!(
            "paste them into another shell and try `jobstop list`, `jobstop stop-all --dry-run`."
        );
        Ok(EXIT_OK)
    } else {
        outln!("{failures} vendor(s) failed; see the errors above.");
        Ok(EXIT_OTHER)
    }
}

async fn walk_one(ctx: &Ctx, account: &Account) -> jobstop::Result<()> {
    let name = &account.name;
    let selector = Selector::new().with_state(RunState::Running);
    let listing = list_accounts(&[account], &selector, Some(3))
        .await
        .into_iter()
        .next()
        .map(|l| l.result)
        .unwrap_or_else(|| Ok(Vec::new()))?;
    outln!(
        "$ jobstop list --account {name} --state running --limit 3   ({} found)",
        listing.len()
    );
    let mut table = Table::new(&["ID", "STATE", "NAME"]);
    for run in &listing {
        table.push(vec![
            Cell::plain(run.id.as_str()),
            Cell::state(run.state),
            Cell::plain(run.name.clone().unwrap_or_else(|| "-".to_owned())),
        ]);
    }
    if !table.is_empty() {
        for line in table.render(&ctx.term).lines() {
            outln!("    {line}");
        }
    }
    let Some(target) = listing.first() else {
        outln!("  nothing is running here");
        return Ok(());
    };

    let id = &target.id;
    outln!("$ jobstop status {name} {}", id.escape_for_display());
    let run = account.controller.status(id).await?;
    outln!(
        "    {} is {} (the vendor says {:?}), kind {}, created {}",
        one_line(run.name.as_deref().unwrap_or("the run")),
        ctx.term.state(run.state),
        one_line(&run.vendor_state),
        one_line(run.kind.as_deref().unwrap_or("-")),
        run.created_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".to_owned())
    );

    outln!("$ jobstop stop {name} {} --wait", id.escape_for_display());
    let wait = wait_options(Duration::from_secs(20))
        .with_intervals(Duration::from_millis(100), Duration::from_millis(500));
    let report = account
        .controller
        .stop_and_wait(id, &StopRequest::graceful(), &wait)
        .await?;
    outln!("    {}", describe_outcome(name, &report.outcome));
    outln!("    {}", describe_report(name, &report));
    Ok(())
}
