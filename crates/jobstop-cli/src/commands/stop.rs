//! `jobstop stop`.

use std::time::Duration;

use jobstop::{
    Error, ErrorKind, JobController, Operation, Polled, Run, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions, poll_until,
};
use serde_json::Value;
use tokio::time::Instant;

use super::Ctx;
use super::wait::{Waiting, wait_options};
use crate::cli::StopArgs;
use crate::error::{CliError, report_error};
use crate::exit::{EXIT_INTERRUPTED, EXIT_OK};
use crate::output::{Progress, one_line, outcome_json, run_json};
use crate::signal::{GRACE, Interrupts};
use crate::{errln, format_duration};

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

    if args.wait
        && let Some(path) = args.ticket
    {
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

    // From the moment the stop is sent, SIGINT and SIGTERM are ours: the
    // stop's answer is awaited for a little longer and printed.
    let mut interrupts = Interrupts::listen();
    let start = Instant::now();
    // With --wait, the stop call itself counts against the deadline.
    let deadline = args.wait.then(|| start.checked_add(args.timeout)).flatten();
    let stop = ctrl.stop(&id, &request);
    tokio::pin!(stop);
    // On a terminal (and not with JSON output): a spinner on stderr, with
    // the run's state once the stop is answered.
    let progress = Progress::spinner(
        ctx.progress(),
        format!(
            "{}: stopping {}",
            one_line(&account.name),
            id.escape_for_display()
        ),
    );
    let answer = tokio::select! {
        answer = &mut stop => answer,
        () = sleep_until_some(deadline) => {
            progress.finish();
            let error = Error::new(
                ErrorKind::Timeout,
                format!(
                    "the stop call had not answered when the wait's deadline ({}) passed; \
                     it may or may not have been applied",
                    format_duration(args.timeout)
                ),
            )
            .with_vendor(ctrl.vendor())
            .with_operation(Operation::Wait)
            .with_run_id(id.clone())
            .with_elapsed(start.elapsed());
            return Err(CliError::api(&account.name, error));
        }
        name = interrupts.recv() => {
            progress.finish();
            errln!(
                "jobstop: {name}: waiting up to {} for the stop's answer ({name} again to \
                 exit at once)",
                format_duration(GRACE)
            );
            tokio::select! {
                answer = &mut stop => {
                    if let Ok(outcome) = &answer {
                        print_outcome(ctx, &account.name, outcome)?;
                    } else if let Err(e) = &answer {
                        report_error(Some(&account.name), e);
                    }
                }
                () = tokio::time::sleep(GRACE) => errln!(
                    "jobstop: {}: no answer to the stop of {} yet; it may or may not have \
                     been applied",
                    one_line(&account.name),
                    id.escape_for_display()
                ),
                _ = interrupts.recv() => {}
            }
            return Ok(EXIT_INTERRUPTED);
        }
    };
    let outcome = answer.map_err(|e| CliError::api(&account.name, e))?;

    if !args.wait {
        progress.finish();
        print_outcome(ctx, &account.name, &outcome)?;
        return Ok(EXIT_OK);
    }
    // The stop's answer is printed as soon as it is known (stderr in JSON,
    // where stdout holds one document, written at the end).
    progress.suspend(|| {
        if ctx.json() {
            errln!("{}", describe_outcome(&account.name, &outcome));
            Ok(())
        } else {
            ctx.out.line(describe_outcome(&account.name, &outcome))
        }
    })?;

    let wait = wait_options(args.timeout);
    let label = format!(
        "{}: waiting for {}",
        one_line(&account.name),
        id.escape_for_display()
    );
    let deadline = deadline.unwrap_or_else(|| start + MAX_WAIT);
    let waited = wait_for_end(
        ctrl.as_ref(),
        &id,
        &outcome,
        &wait,
        start,
        deadline,
        &mut interrupts,
        &Waiting {
            progress: &progress,
            label: &label,
        },
    )
    .await;
    progress.finish();
    match waited {
        Waited::Ended(report) => {
            if ctx.json() {
                let mut map = outcome_json(&outcome, &account.name, ctx.raw);
                map.insert(
                    "final".to_owned(),
                    run_json(&report.final_run, &account.name, ctx.raw),
                );
                map.insert("stop_won".to_owned(), Value::Bool(report.stop_won));
                map.insert("polls".to_owned(), Value::from(report.polls));
                map.insert("elapsed_ms".to_owned(), millis(report.elapsed));
                ctx.out.json(&Value::Object(map))?;
            } else {
                ctx.out.line(describe_end(
                    &account.name,
                    &report.final_run,
                    report.stop_won,
                    report.elapsed,
                    report.polls,
                ))?;
            }
            Ok(EXIT_OK)
        }
        Waited::Failed(error) => {
            if ctx.json() {
                print_unfinished(ctx, &account.name, &outcome, None, start)?;
            }
            Err(CliError::api(&account.name, error))
        }
        Waited::Interrupted { name, last, polls } => {
            let state = last.as_ref().unwrap_or(outcome.run());
            if ctx.json() {
                print_unfinished(ctx, &account.name, &outcome, Some(polls), start)?;
            } else {
                ctx.out.line(format_args!(
                    "{}: interrupted by {name} while waiting: {} is {} ({}) after {} and {polls} \
                     status poll(s); the stop was {}",
                    one_line(&account.name),
                    id.escape_for_display(),
                    state.state,
                    one_line(&state.vendor_state),
                    format_duration(start.elapsed()),
                    outcome.as_str().replace('_', " "),
                ))?;
            }
            Ok(EXIT_INTERRUPTED)
        }
    }
}

/// Longer than any `--timeout` (which saturates at 100 years): the deadline
/// when `start + timeout` cannot be represented.
const MAX_WAIT: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The stop's answer, printed: a sentence, or `{"account","outcome","run"}`.
fn print_outcome(ctx: &Ctx, account: &str, outcome: &StopOutcome) -> Result<(), CliError> {
    if ctx.json() {
        ctx.out
            .json(&Value::Object(outcome_json(outcome, account, ctx.raw)))?;
    } else {
        ctx.out.line(describe_outcome(account, outcome))?;
    }
    Ok(())
}

/// A wait that did not see the end, in JSON: the stop's answer with
/// `"final": null` and, when interrupted, `"interrupted": true`.
fn print_unfinished(
    ctx: &Ctx,
    account: &str,
    outcome: &StopOutcome,
    polls: Option<u32>,
    start: Instant,
) -> Result<(), CliError> {
    let mut map = outcome_json(outcome, account, ctx.raw);
    map.insert("final".to_owned(), Value::Null);
    map.insert("stop_won".to_owned(), Value::Null);
    if let Some(polls) = polls {
        map.insert("polls".to_owned(), Value::from(polls));
    }
    map.insert("elapsed_ms".to_owned(), millis(start.elapsed()));
    map.insert("interrupted".to_owned(), Value::Bool(polls.is_some()));
    ctx.out.json(&Value::Object(map))?;
    Ok(())
}

fn millis(d: Duration) -> Value {
    Value::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The run is terminal.
struct Ended {
    final_run: Run,
    stop_won: bool,
    polls: u32,
    elapsed: Duration,
}

/// How [`wait_for_end`] ended.
enum Waited {
    /// The run is terminal.
    Ended(Ended),
    /// The deadline passed (a `Timeout` of the `Wait` operation) or a status
    /// call failed for good.
    Failed(Error),
    /// SIGINT or SIGTERM: the last state seen and the polls made.
    Interrupted {
        name: &'static str,
        last: Option<Run>,
        polls: u32,
    },
}

/// Polls the run after its stop was answered with `outcome` until it is
/// terminal, the deadline passes or a signal arrives, showing each state
/// seen on `waiting`: the library's polling loop (`jobstop::poll_until`, as
/// `JobControllerExt::stop_and_wait` uses after its stop call), with the
/// signals on top.
#[allow(clippy::too_many_arguments)]
async fn wait_for_end(
    ctrl: &dyn JobController,
    id: &RunId,
    outcome: &StopOutcome,
    wait: &WaitOptions,
    start: Instant,
    deadline: Instant,
    interrupts: &mut Interrupts,
    waiting: &Waiting<'_>,
) -> Waited {
    let already = matches!(outcome, StopOutcome::AlreadyFinished(_));
    let first = outcome.run().clone();
    waiting.show(first.state, Some(&first.vendor_state), 0);
    // What the poll saw last, readable after a signal drops the poll.
    let seen = std::cell::RefCell::new((first.clone(), 0_u32));
    let poll = poll_until(
        ctrl,
        id,
        wait,
        deadline,
        Some(first),
        |run| run.state.is_terminal(),
        |run| {
            let mut seen = seen.borrow_mut();
            seen.1 += 1;
            waiting.show(run.state, Some(&run.vendor_state), seen.1);
            seen.0 = run.clone();
        },
    );
    let polled = tokio::select! {
        polled = poll => polled,
        name = interrupts.recv() => {
            let (last, polls) = seen.into_inner();
            return Waited::Interrupted { name, last: Some(last), polls };
        }
    };
    match polled {
        Ok(Polled {
            run: Some(last),
            reached: true,
            polls,
            ..
        }) => Waited::Ended(Ended {
            stop_won: !already && matches!(last.state, RunState::Stopped | RunState::Idle),
            final_run: last,
            polls,
            elapsed: start.elapsed(),
        }),
        Ok(polled) => Waited::Failed(polled.timeout_error(
            ctrl.vendor(),
            id,
            "the run did not reach a terminal state before the deadline",
            start,
        )),
        Err(e) => Waited::Failed(e),
    }
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
        other => format!(
            "{account}: stop of {id}: {}; it is {} ({})",
            other.as_str(),
            run.state,
            vendor_state
        ),
    }
}

/// One sentence on how a wait ended (the demo's).
#[cfg(feature = "sim")]
pub(super) fn describe_report(account: &str, report: &jobstop::StopReport) -> String {
    describe_end(
        account,
        &report.final_run,
        report.stop_won,
        report.elapsed,
        report.polls,
    )
}

/// One sentence on how a wait ended: the run as last seen, whether the stop
/// won, the time and polls it took.
fn describe_end(account: &str, run: &Run, stop_won: bool, elapsed: Duration, polls: u32) -> String {
    let how = if stop_won {
        "the stop took effect"
    } else {
        "the run ended on its own, not because of this stop"
    };
    format!(
        "{account}: {} is {} ({}) after {} and {} status poll(s); {how}",
        run.id.escape_for_display(),
        run.state,
        one_line(&run.vendor_state),
        format_duration(elapsed),
        polls,
    )
}
