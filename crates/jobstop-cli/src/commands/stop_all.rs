//! `jobstop stop-all`: plan, confirm, stop, stream the answers. The part
//! after planning ([`carry_out`]) is shared with `jobstop sweep`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;

use futures::StreamExt;
use jobstop::ops::{
    BulkOptions, BulkResult, PlannedStop, StopPlan, StopSwitch, execute_stops_until, plan_stops,
};
use jobstop::{Registry, RunState, StopRequest};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Ctx;
use crate::cli::{BulkArgs, StopAllArgs};
use crate::error::{CliError, report_error};
use crate::exit::{EXIT_INTERRUPTED, EXIT_OTHER, exit_code, worst};
use crate::output::{
    Cell, JsonArray, OutputError, Progress, Table, Term, error_json, one_line, run_json, time_cell,
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
    let accounts = super::selected(&registry, &args.selector.accounts)?;
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
/// `--yes`), stops every planned run with `request`, writing one answer as
/// each arrives, and sums up. Returns the worst exit code.
///
/// What a person reads is bounded whatever the plan's size: the counts per
/// account and per state and the first [`SHOWN_ROWS`] rows. `--output json`
/// writes every planned stop (a dry run) or every answer as a streamed
/// array, `--output jsonl` one per line; the summary goes to stderr then.
/// On a terminal, a progress bar on stderr counts the answers by outcome
/// (never with JSON output, never off a terminal).
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
            first.id.escape_for_display(),
            one_line(&first.vendor_state)
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
            if plan.stops.is_empty() {
                errln!("dry run: nothing to stop{skipped}");
            } else {
                errln!(
                    "dry run: would stop {}{skipped}; nothing was stopped",
                    count(plan)
                );
            }
            if ctx.jsonl() {
                for p in &plan.stops {
                    out.json(&plan_json(p))?;
                }
            } else {
                let mut array = JsonArray::start(out)?;
                for p in &plan.stops {
                    array.push(&plan_json(p))?;
                }
                array.finish()?;
            }
        } else if plan.stops.is_empty() {
            out.line(format_args!("dry run: nothing to stop{skipped}"))?;
        } else {
            out.line(format_args!(
                "dry run: would stop {}{skipped}; nothing was stopped",
                count(plan)
            ))?;
            out.line(show_plan(plan, &ctx.term, "--output json"))?;
        }
        return Ok(worst(codes));
    }

    if plan.stops.is_empty() {
        if ctx.jsonl() {
            errln!("nothing to stop{skipped}");
        } else if ctx.json() {
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
        show_plan(plan, &ctx.term, "--dry-run --output json")
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
    // nothing. (JSON Lines has nothing to write before the first answer: a
    // dead stdout is found there, and no stop is started after it.)
    let mut array = if ctx.json() && !ctx.jsonl() {
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
    if args.wait {
        options = options.with_wait(super::wait::wait_options(args.timeout));
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
        .map(|p| p.id.as_str().chars().count())
        .max()
        .unwrap_or(0);

    let total = plan.stops.len();
    let mut tally = Tally::default();
    let switch = StopSwitch::new();
    let mut interrupts = Interrupts::listen();
    let mut halted: Option<Halted> = None;
    let mut gave_up_at: Option<Instant> = None;
    let progress = Progress::bar(ctx.progress(), total, "stopping");
    progress.set_message(tally.counts());
    let mut stream = execute_stops_until(registry, plan, &options, switch.clone());
    loop {
        let next = tokio::select! {
            biased;
            name = interrupts.recv() => {
                if halted.is_some() {
                    let in_flight = switch.started().saturating_sub(tally.answered());
                    progress.finish();
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
                progress.suspend(|| errln!(
                    "jobstop: {name}: no new stop is started; waiting up to {} for the \
                     {in_flight} stop(s) in flight ({name} again to exit at once)",
                    format_duration(GRACE)
                ));
                halted = Some(Halted::Signal(name));
                continue;
            }
            () = sleep_until_some(gave_up_at) => None,
            next = stream.next() => next,
        };
        let Some(result) = next else { break };
        tally.add(&result);
        let written = progress.suspend(|| {
            if let Err(e) = &result.result {
                report_error(Some(&result.account), e);
                codes.push(exit_code(e));
            }
            if let Some(e) = &result.wait_error {
                report_error(Some(&result.account), e);
                codes.push(exit_code(e));
            }
            if matches!(halted, Some(Halted::Output(_))) {
                return Ok(());
            }
            match &mut array {
                Some(array) => array.push(&result_json(&result, ctx.raw)),
                None if ctx.jsonl() => out.json(&result_json(&result, ctx.raw)),
                None => out.line(result_line(&ctx.term, &result, account_width, id_width)),
            }
        });
        if let Err(e) = written {
            switch.halt();
            gave_up_at.get_or_insert_with(|| Instant::now() + GRACE);
            halted = Some(Halted::Output(e));
        }
        progress.set_position(tally.answered());
        progress.set_message(tally.counts());
    }
    drop(stream);
    progress.finish();

    let started = switch.started();
    let unknown = started.saturating_sub(tally.answered());
    let not_started = total.saturating_sub(started);
    let summary = tally.summary(total, not_started, unknown);
    let summary = match &halted {
        Some(Halted::Signal(name)) => format!("interrupted by {name}: {summary}"),
        _ => summary,
    };
    match halted {
        None | Some(Halted::Signal(_)) => {
            if let Some(array) = array {
                array.finish()?;
                errln!("{summary}");
            } else if ctx.jsonl() {
                errln!("{summary}");
            } else {
                out.line(&summary)?;
            }
            Ok(if halted.is_some() {
                EXIT_INTERRUPTED
            } else {
                worst(codes)
            })
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
        Err(e) => ("failed", Some("31"), e.kind().name().replace('_', " ")),
    };
    let detail = match (&result.final_run, &result.wait_error) {
        (Some(end), _) => format!(
            "{detail}; ended {} ({}){}",
            end.state,
            one_line(&end.vendor_state),
            if result.stop_won == Some(true) {
                ", stop won"
            } else {
                ", finished before the stop"
            }
        ),
        (None, Some(e)) => match e.context().last_state {
            Some(state) => format!(
                "{detail}; not ended: {} (last seen {state})",
                e.kind().name().replace('_', " ")
            ),
            None => format!("{detail}; not ended: {}", e.kind().name().replace('_', " ")),
        },
        (None, None) => detail,
    };
    format!(
        "{}  {:<aw$}  {:<iw$}  {}",
        term.paint(&format!("{status:<6}"), color),
        one_line(&result.account),
        one_line(result.planned.id.as_str()),
        detail,
        aw = account_width,
        iw = id_width,
    )
}

/// How many planned runs a person is shown (the confirmation, a dry run's
/// table); the counts above them cover every one.
const SHOWN_ROWS: usize = 20;

/// How many accounts get a line of counts each; the others are summed up.
const SHOWN_ACCOUNTS: usize = 20;

/// How many planned stops are in each state.
type StateCounts = BTreeMap<RunState, usize>;

/// `N run(s) on M account(s) (a running, b queued)`.
fn count(plan: &StopPlan) -> String {
    let accounts: BTreeSet<&str> = plan.stops.iter().map(|p| p.account.as_str()).collect();
    let mut states = StateCounts::new();
    for p in &plan.stops {
        *states.entry(p.state).or_default() += 1;
    }
    format!(
        "{} run(s) on {} account(s) ({})",
        plan.stops.len(),
        accounts.len(),
        by_state(&states)
    )
}

/// `3 running, 1 queued`.
fn by_state(states: &StateCounts) -> String {
    states
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan as a person reads it, bounded whatever its size: one line of
/// counts per account (at most [`SHOWN_ACCOUNTS`]; the others summed up on
/// one line), then the first [`SHOWN_ROWS`] planned runs as a table and
/// `… and N more (ALL lists every one)`.
fn show_plan(plan: &StopPlan, term: &Term, all: &str) -> String {
    let mut accounts: BTreeMap<&str, StateCounts> = BTreeMap::new();
    for p in &plan.stops {
        *accounts
            .entry(p.account.as_str())
            .or_default()
            .entry(p.state)
            .or_default() += 1;
    }
    let width = accounts
        .keys()
        .take(SHOWN_ACCOUNTS)
        .map(|a| one_line(a).chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (account, states) in accounts.iter().take(SHOWN_ACCOUNTS) {
        text.push_str(&format!(
            "  {:<width$}  {} ({})\n",
            one_line(account),
            states.values().sum::<usize>(),
            by_state(states)
        ));
    }
    if accounts.len() > SHOWN_ACCOUNTS {
        let mut rest = StateCounts::new();
        for states in accounts.values().skip(SHOWN_ACCOUNTS) {
            for (state, n) in states {
                *rest.entry(*state).or_default() += n;
            }
        }
        text.push_str(&format!(
            "  … and {} more account(s): {} run(s) ({})\n",
            accounts.len() - SHOWN_ACCOUNTS,
            rest.values().sum::<usize>(),
            by_state(&rest)
        ));
    }
    let mut t = Table::new(&["ACCOUNT", "ID", "STATE", "NAME", "CREATED"]);
    for p in plan.stops.iter().take(SHOWN_ROWS) {
        t.push(vec![
            Cell::plain(p.account.clone()),
            Cell::plain(p.id.as_str()),
            Cell::state(p.state),
            Cell::plain(p.name.clone().unwrap_or_else(|| "-".to_owned())),
            time_cell(p.created_at),
        ]);
    }
    text.push_str(t.render(term).trim_end());
    if plan.stops.len() > SHOWN_ROWS {
        text.push_str(&format!(
            "\n… and {} more ({all} lists every one)",
            plan.stops.len() - SHOWN_ROWS
        ));
    }
    text
}

/// One planned stop as JSON, for a dry run:
/// `{"account","run_id","run":{"id","name","state","vendor_state","created_at","account"}}`.
fn plan_json(p: &PlannedStop) -> Value {
    json!({
        "account": p.account,
        "run_id": p.id.as_str(),
        "run": {
            "id": p.id.as_str(),
            "name": p.name,
            "state": p.state,
            "vendor_state": p.vendor_state,
            "created_at": p.created_at,
            "account": p.account,
        },
    })
}

/// One answer as JSON: `{"account","run_id","outcome","run"}` or
/// `{"account","run_id","error":{…}}`.
fn result_json(result: &BulkResult, raw: bool) -> Value {
    match &result.result {
        Ok(outcome) => {
            let mut v = json!({
                "account": result.account,
                "run_id": result.planned.id.as_str(),
                "outcome": outcome.as_str(),
                "run": run_json(outcome.run(), &result.account, raw),
            });
            if let Some(end) = &result.final_run {
                v["final"] = run_json(end, &result.account, raw);
                v["stop_won"] = json!(result.stop_won);
            }
            if let Some(e) = &result.wait_error {
                v["wait_error"] = error_json(e);
            }
            v
        }
        Err(e) => json!({
            "account": result.account,
            "run_id": result.planned.id.as_str(),
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
    /// With --wait: the final state of each run that ended, and how many
    /// ended because of their stop.
    ended: BTreeMap<RunState, usize>,
    stop_won: usize,
    /// With --wait: runs whose stop was answered but which did not end in
    /// time (or could not be watched).
    not_ended: usize,
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
        if let Some(end) = &r.final_run {
            *self.ended.entry(end.state).or_default() += 1;
            if r.stop_won == Some(true) {
                self.stop_won += 1;
            }
        } else if r.wait_error.is_some() {
            self.not_ended += 1;
        }
    }

    /// The counts for the progress bar: `3 stopped · 5 requested · …`.
    fn counts(&self) -> String {
        format!(
            "{} stopped · {} requested · {} already finished · {} failed",
            self.stopped, self.requested, self.already_finished, self.failed
        )
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
        if !self.ended.is_empty() || self.not_ended > 0 {
            let ended: usize = self.ended.values().sum();
            let states = self
                .ended
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect::<Vec<_>>()
                .join(", ");
            let states = if states.is_empty() {
                String::new()
            } else {
                format!(" ({states})")
            };
            text.push_str(&format!(
                "; {ended} ended{states}, {} by their stop, {} not ended in time",
                self.stop_won, self.not_ended
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop::RunId;

    /// `accounts` accounts, the k-th with k + 1 running runs and one queued.
    fn plan(accounts: usize) -> StopPlan {
        let mut plan = StopPlan::default();
        for a in 0..accounts {
            let name = format!("acct-{a:02}");
            for i in 0..=a {
                plan.stops.push(
                    PlannedStop::new(&name, RunId::new(format!("{a}-{i}")), RunState::Running)
                        .with_name(format!("run {i}")),
                );
            }
            plan.stops.push(PlannedStop::new(
                &name,
                RunId::new(format!("{a}-q")),
                RunState::Queued,
            ));
        }
        plan
    }

    const PLAIN: Term = Term {
        color: false,
        progress: false,
    };

    #[test]
    fn a_small_plan_is_shown_whole() {
        let plan = plan(2);
        assert_eq!(
            count(&plan),
            "5 run(s) on 2 account(s) (2 queued, 3 running)"
        );
        let shown = show_plan(&plan, &PLAIN, "--output json");
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "  acct-00  2 (1 queued, 1 running)");
        assert_eq!(lines[1], "  acct-01  3 (1 queued, 2 running)");
        assert!(lines[2].starts_with("ACCOUNT  ID "), "{shown}");
        assert_eq!(lines.len(), 3 + 5, "{shown}");
        assert!(!shown.contains("more"), "{shown}");
    }

    #[test]
    fn a_big_plan_shows_counts_and_the_first_rows_only() {
        // 25 accounts: 1 + 2 + … + 25 running runs and 25 queued ones.
        let plan = plan(25);
        let total = (1..=25).sum::<usize>() + 25;
        assert_eq!(plan.stops.len(), total);
        let shown = show_plan(&plan, &PLAIN, "--output json");
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(
            lines.len(),
            SHOWN_ACCOUNTS + 1 + 1 + SHOWN_ROWS + 1,
            "{shown}"
        );
        assert_eq!(lines[0], "  acct-00  2 (1 queued, 1 running)");
        // Accounts 20 to 24: 21 + … + 25 running, 5 queued.
        let rest_running: usize = (21..=25).sum();
        assert_eq!(
            lines[SHOWN_ACCOUNTS],
            format!(
                "  … and 5 more account(s): {} run(s) (5 queued, {rest_running} running)",
                rest_running + 5
            )
        );
        let rows = lines.iter().filter(|l| l.starts_with("acct-")).count();
        assert_eq!(rows, SHOWN_ROWS);
        assert_eq!(
            lines.last().copied(),
            Some(
                format!(
                    "… and {} more (--output json lists every one)",
                    total - SHOWN_ROWS
                )
                .as_str()
            )
        );
    }
}
