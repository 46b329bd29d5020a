//! `jobstop sim`: serve the simulators until Ctrl-C.

use std::time::Duration;

use crate::cli::SimArgs;
use crate::error::CliError;
use crate::exit::EXIT_OK;
use crate::outln;
use crate::sims::{Sims, shell_quote};
use jobstop_sim::SimsOptions;

pub(super) async fn run(args: SimArgs) -> Result<i32, CliError> {
    let mut opts = SimsOptions::default()
        .with_seed(args.seed)
        .with_population(args.running, args.finished)
        .with_stop_delay(Duration::from_millis(300));
    if args.fixed_epoch {
        opts = opts.with_seeded_epoch();
    }
    let sims = Sims::start(&opts)
        .await
        .map_err(|e| CliError::Other(format!("cannot start the simulators: {e}")))?;
    let sections = sims
        .sections()
        .map_err(|e| CliError::Other(format!("cannot name the simulators' settings: {e}")))?;
    for s in sections {
        outln!("# {}: {}", s.vendor, s.base_url);
        for (k, v) in &s.env {
            outln!("export {k}={}", shell_quote(v));
        }
        for (k, v) in &s.alternatives {
            outln!("# export {k}={}", shell_quote(v));
        }
        outln!();
    }
    outln!(
        "# serving (seed {}); paste the exports into another shell and try\n\
         #   jobstop accounts; jobstop list --state running; jobstop stop-all --dry-run\n\
         # Ctrl-C to stop",
        opts.seed
    );
    let waited = tokio::signal::ctrl_c().await;
    sims.shutdown().await;
    waited
        .map(|()| EXIT_OK)
        .map_err(|e| CliError::Other(format!("cannot wait for Ctrl-C: {e}")))
}
