//! `jobstop stop-all`: plan, confirm, stop, stream the answers. The part
//! after planning ([`carry_out`]) is shared with `jobstop sweep`.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use futures::StreamExt;
use jobstop::ops::{BulkOptions, BulkResult, StopPlan, execute_stops, exit_code, plan_stops};
use jobstop::{Registry, StopRequest};
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::{BulkArgs, StopAllArgs};
use crate::error::{CliError, EXIT_OTHER, report_error, worst};
use crate::outln;
use crate::output::{
    Cell, Table, error_json, kind_name, one_line, print_json, run_json, time_cell,
};

pub(super) async fn run(ctx: &Ctx, args: StopAllArgs) -> Result<i32, CliError> {
    let registry = ctx.accounts()?;
    let accounts = registry
        .select(&args.selector.accounts)
        .map_err(|error| CliError::Api {
            account: None,
            error,
        })?;
    let mut selector = args.selector.selector().with_list_limits(ctx.list_limits);
    if let Some(age) = args.older_than {
        selector = selector.with_older_than(age);
    }
    let plan = plan_stops(&accounts, &selector).await;
    let request = if args.force {
        StopRequest::force()
    } else {
        StopRequest::graceful()
    };
    carry_out(ctx, &registry, &plan, &args.bulk, request).await
}

/// Everything after planning: reports the accounts that could not be
/// listed, shows the plan (and stops there with `--dry-run`), confirms
/// (a prompt on a terminal unless `--yes`; refused off a terminal without
/// `--yes`), stops every planned run with `request`, streaming one line per
/// answer, and sums up. Returns the worst exit code.
pub(super) async fn carry_out(
    ctx: &Ctx,
    registry: &Registry,
    plan: &StopPlan,
    args: &BulkArgs,
    request: StopRequest,
) -> Result<i32, CliError> {
    let mut codes: Vec<i32> = Vec::new();
    for (account, error) in &plan.errors {
        report_error(Some(account), error);
        codes.push(exit_code(error));
    }
    let skipped = if plan.errors.is_empty() {
        String::new()
    } else {
        format!(
            " ({} account(s) could not be listed; nothing is stopped there)",
            plan.errors.len()
        )
    };

    if args.dry_run {
        if ctx.json() {
            print_json(&plan_json(plan, ctx.raw));
        } else if plan.stops.is_empty() {
            outln!("dry run: nothing to stop{skipped}");
        } else {
            outln!(
                "dry run: would stop {}{skipped}; nothing was stopped",
                count(plan)
            );
            outln!("{}", plan_table(plan).render(&ctx.term).trim_end());
        }
        return Ok(worst(codes));
    }

    if plan.stops.is_empty() {
        if ctx.json() {
            print_json(&Value::Array(Vec::new()));
        } else {
            outln!("nothing to stop{skipped}");
        }
        return Ok(worst(codes));
    }

    // The plan, where a person will read it before confirming: stdout for
    // tables, stderr when stdout is JSON for a program.
    let shown = format!(
        "will stop {}{skipped}:\n{}",
        count(plan),
        plan_table(plan).render(&ctx.term).trim_end()
    );
    if ctx.json() {
        eprintln!("{shown}");
    } else {
        outln!("{shown}");
    }

    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(format!(
                "refusing to stop {} without confirmation: stdin is not a terminal; \
                 pass --yes to confirm (or --dry-run to only look)",
                count(plan)
            )));
        }
        if !confirm(&format!("Stop {}? [y/N] ", count(plan))).await {
            eprintln!("jobstop: aborted; nothing was stopped");
            return Ok(EXIT_OTHER);
        }
    }

    let mut options = BulkOptions::default()
        .with_concurrency(usize::try_from(args.concurrency).unwrap_or(usize::MAX))
        .with_request(request);
    if let Some(rate) = args.rate {
        options = options.with_per_account_rate(rate);
    }

    // Column widths are known from the plan, so streamed lines align.
    let account_width = plan
        .stops
        .iter()
        .map(|p| p.account.chars().count())
        .max()
        .unwrap_or(0);
    let id_width = plan
        .stops
        .iter()
        .map(|p| p.run.id.as_str().chars().count())
        .max()
        .unwrap_or(0);

    let total = plan.stops.len();
    let mut done = 0usize;
    let mut tally = Tally::default();
    let mut json = Vec::new();
    let mut stream = execute_stops(registry, plan, &options);
    while let Some(result) = stream.next().await {
        done += 1;
        ctx.term.clear_progress();
        tally.add(&result);
        if let Err(e) = &result.result {
            report_error(Some(&result.account), e);
            codes.push(exit_code(e));
        }
        if ctx.json() {
            json.push(result_json(&result, ctx.raw));
        } else {
            let (status, color, detail) = match &result.result {
                Ok(outcome) => (
                    "ok",
                    Some("32"),
                    format!(
                        "{}: now {} ({})",
                        outcome.as_str(),
                        outcome.run().state,
                        one_line(&outcome.run().vendor_state)
                    ),
                ),
                Err(e) => ("failed", Some("31"), kind_name(e.kind()).replace('_', " ")),
            };
            outln!(
                "{}  {:<aw$}  {:<iw$}  {}",
                ctx.term.paint(&format!("{status:<6}"), color),
                one_line(&result.account),
                one_line(result.run.id.as_str()),
                detail,
                aw = account_width,
                iw = id_width,
            );
        }
        ctx.term
            .progress(&format!("stopping: {done}/{total} answered"));
    }
    drop(stream);
    ctx.term.clear_progress();

    let summary = tally.summary(total);
    if ctx.json() {
        print_json(&Value::Array(json));
        eprintln!("{summary}");
    } else {
        outln!("{summary}");
    }
    Ok(worst(codes))
}

fn count(plan: &StopPlan) -> String {
    let accounts: BTreeSet<&str> = plan.stops.iter().map(|p| p.account.as_str()).collect();
    format!(
        "{} run(s) on {} account(s)",
        plan.stops.len(),
        accounts.len()
    )
}

fn plan_table(plan: &StopPlan) -> Table {
    let mut t = Table::new(&["ACCOUNT", "ID", "STATE", "NAME", "CREATED"]);
    for p in &plan.stops {
        t.push(vec![
            Cell::plain(p.account.clone()),
            Cell::plain(p.run.id.as_str()),
            Cell::state(p.run.state),
            Cell::plain(p.run.name.clone().unwrap_or_else(|| "-".to_owned())),
            time_cell(p.run.created_at),
        ]);
    }
    t
}

/// The dry run's JSON: one entry per planned stop.
fn plan_json(plan: &StopPlan, raw: bool) -> Value {
    Value::Array(
        plan.stops
            .iter()
            .map(|p| {
                json!({
                    "account": p.account,
                    "run_id": p.run.id.as_str(),
                    "run": run_json(&p.run, &p.account, raw),
                })
            })
            .collect(),
    )
}

/// One answer as JSON: `{"account","run_id","outcome","run"}` or
/// `{"account","run_id","error":{…}}`.
fn result_json(result: &BulkResult, raw: bool) -> Value {
    match &result.result {
        Ok(outcome) => json!({
            "account": result.account,
            "run_id": result.run.id.as_str(),
            "outcome": outcome.as_str(),
            "run": run_json(outcome.run(), &result.account, raw),
        }),
        Err(e) => json!({
            "account": result.account,
            "run_id": result.run.id.as_str(),
            "error": error_json(e),
        }),
    }
}

#[derive(Default)]
struct Tally {
    requested: usize,
    stopped: usize,
    already_finished: usize,
    failed: usize,
}

impl Tally {
    fn add(&mut self, r: &BulkResult) {
        match &r.result {
            Ok(jobstop::StopOutcome::Requested(_)) => self.requested += 1,
            Ok(jobstop::StopOutcome::Stopped(_)) => self.stopped += 1,
            Ok(jobstop::StopOutcome::AlreadyFinished(_)) => self.already_finished += 1,
            Err(_) => self.failed += 1,
        }
    }

    fn summary(&self, total: usize) -> String {
        format!(
            "{} of {total} run(s) answered: {} stopped, {} stop requested, {} already finished, {} failed",
            self.requested + self.stopped + self.already_finished + self.failed,
            self.stopped,
            self.requested,
            self.already_finished,
            self.failed
        )
    }
}

/// Asks on stderr and reads one line from the terminal.
async fn confirm(prompt: &str) -> bool {
    eprint!("{prompt}");
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
