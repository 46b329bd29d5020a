//! `jobstop list`: every selected account listed concurrently, each run
//! printed as it arrives and then forgotten.
//!
//! - `--output json`: one JSON array, written element by element (one run
//!   per line); the document is the same as if it had been built whole.
//! - `--output jsonl`: one run per line.
//! - table: the first rows that arrive together (an account's first page, at
//!   most [`TableStream::HOLD`]) fix the column widths and are printed under
//!   the header; every later row is printed as it comes, a wider cell pushing
//!   the rest of its row to the right (nothing is cut).
//!
//! Accounts' rows interleave, one whole row at a time. `--limit N` ends an
//! account's listing after N runs: no further page is asked for. A reader
//! that goes away (`jobstop list | head`) ends the listing at once (exit
//! 141); so does SIGINT or SIGTERM, after closing the output (the JSON array
//! gets its `]`) and saying on stderr how many runs were printed (exit 130);
//! a second signal exits at once.

use chrono::Utc;
use futures::{FutureExt, StreamExt, stream};
use jobstop::Run;
use jobstop::ops::account_runs;

use super::Ctx;
use crate::cli::ListArgs;
use crate::errln;
use crate::error::{CliError, report_error};
use crate::exit::{EXIT_INTERRUPTED, exit_code, worst};
use crate::output::{Cell, JsonArray, Output, OutputError, TableStream, run_json, time_cell};
use crate::signal::Interrupts;

/// The table's columns.
const HEADERS: [&str; 6] = ["ACCOUNT", "ID", "STATE", "KIND", "NAME", "CREATED"];

pub(super) async fn run(ctx: &Ctx, args: ListArgs) -> Result<i32, CliError> {
    let registry = ctx.accounts()?;
    let accounts = super::selected(&registry, &args.selector.accounts)?;
    let selector = args.selector.selector().with_list_limits(ctx.list_limits);
    let limit = args
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let now = Utc::now();

    // Each account's runs as they arrive, at most `limit` of them: `take`
    // stops polling the listing after the last one, so no further page is
    // asked for. `select_all` polls every account at once and hands out one
    // whole run at a time.
    let mut runs = stream::select_all(accounts.iter().map(|account| {
        let name = account.name.as_str();
        account_runs(account, &selector, now)
            .take(limit)
            .map(move |run| (name, run))
    }));

    let (signalled, mut interrupted) = tokio::sync::oneshot::channel::<&'static str>();
    let watcher = tokio::spawn(watch_interrupts(Interrupts::listen(), signalled));

    let mut printer = Printer::start(ctx)?;
    let mut codes: Vec<i32> = Vec::new();
    let mut halted_by: Option<&'static str> = None;
    let written = loop {
        // While the table's first rows are held, whatever is ready at once
        // joins them; the first wait settles the widths.
        let next = if printer.is_settling() {
            match runs.next().now_or_never() {
                Some(next) => next,
                None => match printer.settle(ctx) {
                    Ok(()) => continue,
                    Err(e) => break Err(e),
                },
            }
        } else {
            tokio::select! {
                biased;
                name = &mut interrupted => {
                    halted_by = name.ok();
                    break Ok(());
                }
                next = runs.next() => next,
            }
        };
        let Some((account, result)) = next else {
            break Ok(());
        };
        match result {
            Ok(run) => {
                if let Err(e) = printer.push(ctx, account, &run) {
                    break Err(e);
                }
            }
            Err(e) => {
                report_error(Some(account), &e);
                codes.push(exit_code(&e));
            }
        }
    };
    // No more requests: the listings in flight are dropped here.
    drop(runs);
    let finished = written.and_then(|()| printer.finish(ctx, codes.is_empty()));
    watcher.abort();
    match finished {
        Err(error) => Err(CliError::Output {
            error,
            at_least: worst(codes),
            note: None,
        }),
        Ok(printed) => match halted_by {
            Some(name) => {
                errln!("jobstop: {name}: listing stopped; {printed} run(s) printed");
                Ok(EXIT_INTERRUPTED)
            }
            None => Ok(worst(codes)),
        },
    }
}

/// Tells `signalled` about the first SIGINT or SIGTERM; exits the process
/// at the second (a listing stuck writing to a reader that does not read
/// still ends).
async fn watch_interrupts(
    mut interrupts: Interrupts,
    signalled: tokio::sync::oneshot::Sender<&'static str>,
) {
    let name = interrupts.recv().await;
    let _ = signalled.send(name);
    let again = interrupts.recv().await;
    errln!("jobstop: {again} again: exiting at once");
    std::process::exit(EXIT_INTERRUPTED);
}

/// Where the runs go, in the chosen `--output` format.
enum Printer<'a> {
    /// `--output json`: the array, open.
    Array(JsonArray<'a>),
    /// `--output jsonl`: one run per line; the count printed.
    Lines(&'a Output, usize),
    /// The table.
    Table(TableStream),
}

impl<'a> Printer<'a> {
    /// Opens the output (the JSON array's `[` is written at once, so a
    /// closed stdout is found before any request).
    fn start(ctx: &'a Ctx) -> Result<Self, OutputError> {
        Ok(if ctx.jsonl() {
            Printer::Lines(ctx.out, 0)
        } else if ctx.json() {
            Printer::Array(JsonArray::start(ctx.out)?)
        } else {
            Printer::Table(TableStream::new(&HEADERS))
        })
    }

    fn is_settling(&self) -> bool {
        matches!(self, Printer::Table(t) if t.is_settling())
    }

    fn settle(&mut self, ctx: &Ctx) -> Result<(), OutputError> {
        match self {
            Printer::Table(t) => t.settle(ctx.out, &ctx.term),
            _ => Ok(()),
        }
    }

    fn push(&mut self, ctx: &Ctx, account: &str, run: &Run) -> Result<(), OutputError> {
        match self {
            Printer::Array(array) => array.push(&run_json(run, account, ctx.raw)),
            Printer::Lines(out, count) => {
                out.line(run_json(run, account, ctx.raw))?;
                *count += 1;
                Ok(())
            }
            Printer::Table(table) => table.push(ctx.out, &ctx.term, row(account, run)),
        }
    }

    /// Closes the output: the array's `]`, the held table rows, or "no runs
    /// match" on stderr for an empty table when every account was listed.
    /// Returns how many runs were printed.
    fn finish(self, ctx: &Ctx, no_errors: bool) -> Result<usize, OutputError> {
        match self {
            Printer::Array(array) => {
                let count = array.len();
                array.finish()?;
                Ok(count)
            }
            Printer::Lines(_, count) => Ok(count),
            Printer::Table(mut table) => {
                table.settle(ctx.out, &ctx.term)?;
                if table.is_empty() && no_errors {
                    errln!("no runs match");
                }
                Ok(table.printed())
            }
        }
    }
}

/// One run as a table row.
fn row(account: &str, run: &Run) -> Vec<Cell> {
    vec![
        Cell::plain(account),
        Cell::plain(run.id.as_str()),
        Cell::state(run.state),
        Cell::plain(run.kind.as_deref().unwrap_or("-")),
        Cell::plain(run.name.as_deref().unwrap_or("-")),
        time_cell(run.created_at),
    ]
}
