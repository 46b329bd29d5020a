//! `jobstop sweep`: the orphan sweep. Plans with
//! [`plan_sweep`](jobstop::ops::plan_sweep) (active runs whose name starts
//! with a prefix, older than a grace period), then shows, confirms and stops
//! exactly as `stop-all` does.

use jobstop::ops::{Selector, plan_sweep};
use jobstop::{Run, StopRequest};

use super::Ctx;
use super::stop_all::carry_out;
use crate::cli::SweepArgs;
use crate::error::CliError;

pub(super) async fn run(ctx: &Ctx, args: SweepArgs) -> Result<i32, CliError> {
    let registry = ctx.accounts()?;
    let accounts = super::selected(&registry, &args.accounts)?;
    let mut selector = Selector::new().with_list_limits(ctx.list_limits);
    if let Some(kind) = &args.kind {
        selector = selector.with_kind(kind.clone());
    }
    let prefix = args.name_prefix.as_str();
    super::stop_all::pace(&accounts, &args.bulk);
    let plan = plan_sweep(
        &accounts,
        &selector,
        |run| has_prefix(run, prefix),
        args.older_than,
    )
    .await;
    carry_out(ctx, &registry, &plan, &args.bulk, StopRequest::graceful()).await
}

/// Whether the run's name starts with `prefix` (exactly; a run without a
/// name is never claimed).
fn has_prefix(run: &Run, prefix: &str) -> bool {
    run.name.as_deref().is_some_and(|n| n.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop::{RunId, RunState, Vendor};

    #[test]
    fn the_prefix_is_exact_and_needs_a_name() {
        let mut run = Run::new(
            Vendor::AMPERITY,
            RunId::new("1"),
            RunState::Running,
            "running",
        );
        assert!(!has_prefix(&run, "etl-"));
        for (name, claimed) in [
            ("etl-nightly", true),
            ("etl-", true),
            ("ETL-nightly", false),
            ("nightly-etl-x", false),
            ("etl", false),
        ] {
            run.name = Some(name.to_owned());
            assert_eq!(has_prefix(&run, "etl-"), claimed, "{name}");
        }
    }
}
