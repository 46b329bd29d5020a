//! `jobstop stop-all`: plan, confirm, stop, stream the answers. The part
//! after planning ([`carry_out`]) is shared with `jobstop sweep`.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use futures::StreamExt;
use jobstop::ops::{
    BulkOptions, BulkResult, StopPlan, StopSwitch, execute_stops_until, plan_stops,
};
use jobstop::{Registry, StopRequest};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Ctx;
use crate::cli::{BulkArgs, StopAllArgs};
use crate::error::{CliError, report_error};
use crate::exit::{EXIT_INTERRUPTED, EXIT_OTHER, exit_code, worst};
use crate::output::{
    Cell, JsonArray, OutputError, Table, Term, error_json, kind_name, one_line, run_json, time_cell,
};
use crate::signal::{GRACE, Interrupts};
use crate::{errln, format_duration};

/// With `--rate`, every request to each chosen account (the listing too,
/// not only the stops) waits for its turn at that rate, or at the account's
/// own `client.pace` where that is stricter.
pub(super) fn pace(accounts: &[&jobstop::Account], bulk: &BulkArgs) {
    if let Some(rate) = bulk.rate.and_then(std::num::NonZeroU32::new) {
        for account in accounts {
            account.tighten_pace(rate);
        }
    }
}

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
    pace(&accounts, &args.bulk);
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
/// `--yes`), stops every planned run with `request`, writing one line per
/// answer as it arrives, and sums up. Returns the worst exit code.
///
/// Once stops are being made, a SIGINT or SIGTERM, or an output that can no
/// longer be written, starts no new stop: the stops in flight get
/// [`GRACE`] to finish, every answer known is printed (where the output
/// still works) with a summary of what was not started, and the command
/// exits 130 (a signal), 141 (a closed pipe) or 1 (another write error). A
/// second signal exits at once.
pub(super) async fn carry_out(
    ctx: &Ctx,
    registry: &Registry,
    plan: &StopPlan,
    args: &BulkArgs,
    request: StopRequest,
) -> Result<i32, CliError> {
    let out = ctx.out;
    let mut codes: Vec<i32> = Vec::new();
    for (account, error) in &plan.errors {
        report_error(Some(account), error);
        codes.push(exit_code(error));
    }
    if let Some(first) = plan.not_stoppable.first() {
        crate::errln!(
            "jobstop: {} selected run(s) left alone: their vendor does not stop runs in their \
             state (e.g. {}: {} is {})",
            plan.not_stoppable.len(),
            one_line(&first.account),
            first.run.id.escape_for_display(),
            one_line(&first.run.vendor_state)
        );
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
            out.json(&plan_json(plan, ctx.raw))?;
        } else if plan.stops.is_empty() {
            out.line(format_args!("dry run: nothing to stop{skipped}"))?;
        } else {
            out.line(format_args!(
                "dry run: would stop {}{skipped}; nothing was stopped",
                count(plan)
            ))?;
            out.line(plan_table(plan).render(&ctx.term).trim_end())?;
        }
        return Ok(worst(codes));
    }

    if plan.stops.is_empty() {
        if ctx.json() {
            out.json(&Value::Array(Vec::new()))?;
        } else {
            out.line(format_args!("nothing to stop{skipped}"))?;
        }
        return Ok(worst(codes));
    }

    // The plan, where a person will read it before confirming: stdout for
    // tables, stderr when stdout is JSON for a program. A stdout that cannot
    // be written is found out here, before anything is stopped.
    let shown = format!(
        "will stop {}{skipped}:\n{}",
        count(plan),
        plan_table(plan).render(&ctx.term).trim_end()
    );
    let nothing_stopped = |error| CliError::Output {
        error,
        at_least: worst(codes.iter().copied()),
        note: Some("nothing was stopped".to_owned()),
    };
    if ctx.json() {
        errln!("{shown}");
    } else {
        out.line(&shown).map_err(nothing_stopped)?;
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
            errln!("jobstop: aborted; nothing was stopped");
            return Ok(EXIT_OTHER);
        }
    }
    // The JSON array opens before the first stop, so a dead stdout stops
    // nothing.
    let mut array = if ctx.json() {
        Some(JsonArray::start(out).map_err(nothing_stopped)?)
    } else {
        None
    };

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
    let mut tally = Tally::default();
    let switch = StopSwitch::new();
    let mut interrupts = Interrupts::listen();
    let mut halted: Option<Halted> = None;
    let mut gave_up_at: Option<Instant> = None;
    let mut stream = execute_stops_until(registry, plan, &options, switch.clone());
    loop {
        let next = tokio::select! {
            biased;
            name = interrupts.recv() => {
                if halted.is_some() {
                    let in_flight = switch.started().saturating_sub(tally.answered());
                    errln!(
                        "jobstop: {name} again: exiting at once; {} answered, {in_flight} \
                         stop(s) in flight (their outcome is unknown), {} not started",
                        tally.answered(),
                        total.saturating_sub(switch.started())
                    );
                    return Ok(EXIT_INTERRUPTED);
                }
                switch.halt();
                gave_up_at = Some(Instant::now() + GRACE);
                let in_flight = switch.started().saturating_sub(tally.answered());
                errln!(
                    "jobstop: {name}: no new stop is started; waiting up to {} for the \
                     {in_flight} stop(s) in flight ({name} again to exit at once)",
                    format_duration(GRACE)
                );
                halted = Some(Halted::Signal(name));
                continue;
            }
            () = sleep_until_some(gave_up_at) => None,
            next = stream.next() => next,
        };
        let Some(result) = next else { break };
        ctx.term.clear_progress();
        tally.add(&result);
        if let Err(e) = &result.result {
            report_error(Some(&result.account), e);
            codes.push(exit_code(e));
        }
        if !matches!(halted, Some(Halted::Output(_))) {
            let written = match &mut array {
                Some(array) => array.push(&result_json(&result, ctx.raw)),
                None => out.line(result_line(&ctx.term, &result, account_width, id_width)),
            };
            if let Err(e) = written {
                switch.halt();
                gave_up_at.get_or_insert_with(|| Instant::now() + GRACE);
                halted = Some(Halted::Output(e));
            }
        }
        ctx.term
            .progress(&format!("stopping: {}/{total} answered", tally.answered()));
    }
    drop(stream);
    ctx.term.clear_progress();

    let started = switch.started();
    let unknown = started.saturating_sub(tally.answered());
    let not_started = total.saturating_sub(started);
    let summary = tally.summary(total, not_started, unknown);
    match halted {
        None => {
            if let Some(array) = array {
                array.finish()?;
                errln!("{summary}");
            } else {
                out.line(&summary)?;
            }
            Ok(worst(codes))
        }
        Some(Halted::Signal(name)) => {
            let summary = format!("interrupted by {name}: {summary}");
            if let Some(array) = array {
                array.finish()?;
                errln!("{summary}");
            } else {
                out.line(&summary)?;
            }
            Ok(EXIT_INTERRUPTED)
        }
        Some(Halted::Output(error)) => Err(CliError::Output {
            error,
            at_least: worst(codes),
            note: Some(format!("no new stop was started: {summary}")),
        }),
    }
}

/// Why a bulk stop stopped starting stops.
enum Halted {
    /// SIGINT or SIGTERM.
    Signal(&'static str),
    /// The output could not be written.
    Output(OutputError),
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One answer as a table line: `ok      ACCOUNT  RUN_ID  requested: now …`.
fn result_line(term: &Term, result: &BulkResult, account_width: usize, id_width: usize) -> String {
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
    format!(
        "{}  {:<aw$}  {:<iw$}  {}",
        term.paint(&format!("{status:<6}"), color),
        one_line(&result.account),
        one_line(result.run.id.as_str()),
        detail,
        aw = account_width,
        iw = id_width,
    )
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
            // An outcome added later: accepted, not known to be over.
            Ok(_) => self.requested += 1,
            Err(_) => self.failed += 1,
        }
    }

    fn answered(&self) -> usize {
        self.requested + self.stopped + self.already_finished + self.failed
    }

    /// `N of M run(s) answered: …`, and, when the bulk stop was cut short,
    /// how many runs were never started and how many stops were still in
    /// flight when jobstop stopped waiting for them.
    fn summary(&self, total: usize, not_started: usize, unknown: usize) -> String {
        let mut text = format!(
            "{} of {total} run(s) answered: {} stopped, {} stop requested, {} already finished, {} failed",
            self.answered(),
            self.stopped,
            self.requested,
            self.already_finished,
            self.failed
        );
        if not_started > 0 {
            text.push_str(&format!("; {not_started} not started"));
        }
        if unknown > 0 {
            text.push_str(&format!(
                "; {unknown} still in flight when jobstop stopped waiting (they may or may not \
                 have been applied)"
            ));
        }
        text
    }
}

/// Asks on stderr and reads one line from the terminal.
async fn confirm(prompt: &str) -> bool {
    crate::output::err_text(format_args!("{prompt}"));
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
