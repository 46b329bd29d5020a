//! `jobstop stop`.

use std::future::Future;
use std::time::Duration;

use jobstop::{JobControllerExt, RunId, StopOutcome, StopReport, StopRequest, WaitOptions};
use serde_json::Value;
use tokio::time::Instant;

use super::Ctx;
use crate::cli::StopArgs;
use crate::error::{CliError, EXIT_OK};
use crate::output::{Term, one_line, outcome_json, print_json, run_json};
use crate::{format_duration, outln};

/// How `--wait` polls: quickly at first, then every few seconds.
pub(super) fn wait_options(timeout: Duration) -> WaitOptions {
    WaitOptions::with_timeout(timeout)
        .with_intervals(Duration::from_millis(200), Duration::from_secs(5))
        .with_multiplier(1.5)
}

pub(super) async fn run(ctx: &Ctx, args: StopArgs) -> Result<i32, CliError> {
    let registry = ctx.accounts()?;
    let account = registry.get(&args.account).map_err(|error| CliError::Api {
        account: None,
        error,
    })?;
    let ctrl = &account.controller;
    let id = RunId::new(args.run_id);
    let request = if args.force {
        StopRequest::force()
    } else {
        StopRequest::graceful()
    };

    if !args.wait {
        let outcome = ctrl
            .stop(&id, &request)
            .await
            .map_err(|e| CliError::api(&account.name, e))?;
        if ctx.json() {
            print_json(&Value::Object(outcome_json(
                &outcome,
                &account.name,
                ctx.raw,
            )));
        } else {
            outln!("{}", describe_outcome(&account.name, &outcome));
        }
        return Ok(EXIT_OK);
    }

    if let Some(path) = args.ticket {
        return super::ticket::stop_with_ticket(
            ctx,
            &registry,
            &account.name,
            id,
            request,
            args.timeout,
            path,
        )
        .await;
    }

    let wait = wait_options(args.timeout);
    let label = format!("{}: stopping {}", account.name, id.escape_for_display());
    let report = with_progress(&ctx.term, &label, ctrl.stop_and_wait(&id, &request, &wait))
        .await
        .map_err(|e| CliError::api(&account.name, e))?;
    if ctx.json() {
        let mut map = outcome_json(&report.outcome, &account.name, ctx.raw);
        map.insert(
            "final".to_owned(),
            run_json(&report.final_run, &account.name, ctx.raw),
        );
        map.insert("stop_won".to_owned(), Value::Bool(report.stop_won));
        map.insert("polls".to_owned(), Value::from(report.polls));
        map.insert(
            "elapsed_ms".to_owned(),
            Value::from(u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX)),
        );
        print_json(&Value::Object(map));
    } else {
        outln!("{}", describe_outcome(&account.name, &report.outcome));
        outln!("{}", describe_report(&account.name, &report));
    }
    Ok(EXIT_OK)
}

/// Runs `fut`, showing `label` and the time spent on stderr while it runs
/// (on a terminal only).
pub(super) async fn with_progress<T>(term: &Term, label: &str, fut: impl Future<Output = T>) -> T {
    if !term.progress {
        return fut.await;
    }
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tokio::pin!(fut);
    let out = loop {
        tokio::select! {
            out = &mut fut => break out,
            _ = tick.tick() => {
                term.progress(&format!("{label} … {:.1}s", start.elapsed().as_secs_f64()));
            }
        }
    };
    term.clear_progress();
    out
}

/// One sentence on what a stop call did.
pub(super) fn describe_outcome(account: &str, outcome: &StopOutcome) -> String {
    let run = outcome.run();
    let id = run.id.escape_for_display();
    let vendor_state = one_line(&run.vendor_state);
    match outcome {
        StopOutcome::Requested(_) => format!(
            "{account}: stop of {id} requested; it is {} ({}) now",
            run.state, vendor_state
        ),
        StopOutcome::Stopped(_) => format!(
            "{account}: {id} stopped; it is {} ({})",
            run.state, vendor_state
        ),
        StopOutcome::AlreadyFinished(_) => format!(
            "{account}: {id} had already finished: {} ({}); nothing to stop",
            run.state, vendor_state
        ),
    }
}

/// One sentence on how a wait ended.
pub(super) fn describe_report(account: &str, report: &StopReport) -> String {
    let run = &report.final_run;
    let how = if report.stop_won {
        "the stop took effect"
    } else {
        "the run ended on its own, not because of this stop"
    };
    format!(
        "{account}: {} is {} ({}) after {} and {} status poll(s); {how}",
        run.id.escape_for_display(),
        run.state,
        one_line(&run.vendor_state),
        format_duration(report.elapsed),
        report.polls,
    )
}
