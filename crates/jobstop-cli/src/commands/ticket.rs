//! Resumable stops: `jobstop stop --wait --ticket FILE` and
//! `jobstop resume FILE`.
//!
//! The ticket ([`StopTicket`]) is written to FILE right after the stop is
//! sent and after every update, each time atomically: the JSON goes to a
//! temporary file in the same folder, which is then renamed over FILE, so
//! a process killed at any moment leaves either the previous ticket or the
//! new one, never a torn file.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use jobstop::ops::exit_code;
use jobstop::ticket::{StopPhase, StopTicket, resume, start_stop};
use jobstop::{ErrorKind, Operation, Registry, Run, RunId, StopRequest};
use serde_json::json;

use super::Ctx;
use super::stop::{wait_options, with_progress};
use crate::cli::ResumeArgs;
use crate::error::{CliError, EXIT_OK, report_error};
use crate::outln;
use crate::output::{one_line, print_json, run_json};

/// Timeouts beyond this are treated as this (a deadline past the year
/// 262143 cannot be represented, and a century is forever enough).
const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `jobstop stop ACCOUNT RUN_ID --wait --ticket FILE`: sends the stop with
/// [`start_stop`], saves the ticket, then waits with [`resume`], saving
/// every update.
pub(super) async fn stop_with_ticket(
    ctx: &Ctx,
    registry: &Registry,
    account: &str,
    id: RunId,
    request: StopRequest,
    timeout: Duration,
    path: PathBuf,
) -> Result<i32, CliError> {
    // A ticket that cannot be written is found out before anything is sent.
    check_writable(&path).map_err(|e| {
        CliError::Usage(format!(
            "cannot write the ticket {}: {e}; nothing was stopped",
            path.display()
        ))
    })?;
    let ticket = start_stop(registry, account, id, request, timeout.min(MAX_TIMEOUT))
        .await
        .map_err(|e| CliError::api(account, e))?;
    let mut file = TicketFile::new(path);
    file.save(&ticket);
    if !ctx.json() {
        outln!("{}", describe_sent(&ticket, &file.path));
    }
    follow(ctx, registry, ticket, file).await
}

/// `jobstop resume FILE [--timeout D]`.
pub(super) async fn run(ctx: &Ctx, args: ResumeArgs) -> Result<i32, CliError> {
    let shown = args.file.display().to_string();
    let text = fs::read_to_string(&args.file)
        .map_err(|e| CliError::Usage(format!("cannot read the ticket {shown}: {e}")))?;
    let mut ticket = StopTicket::from_json(&text)
        .map_err(|e| CliError::Usage(format!("{shown}: {}", e.message())))?;
    let registry = ctx.accounts()?;
    let account = registry
        .get(&ticket.account)
        .map_err(|error| CliError::Api {
            account: None,
            error,
        })?;
    let name = account.name.clone();

    if let StopPhase::Final { stop_won, .. } = ticket.stop {
        // Nothing left to do: show the run as it is. (Not through `resume`,
        // which would forget that an `already_finished` answer means the
        // stop did not win.)
        let run = account
            .controller
            .status(&ticket.run_id)
            .await
            .map_err(|e| CliError::api(&name, e))?;
        if !ctx.json() {
            outln!("{name}: the ticket {shown} is already final");
        }
        print_result(ctx, &ticket, &run, stop_won);
        return Ok(EXIT_OK);
    }
    if let Some(timeout) = args.timeout {
        ticket.deadline = deadline_in(timeout);
    }
    if matches!(ticket.stop, StopPhase::AnswerLost { .. })
        && !account.controller.capabilities().stop_is_idempotent
    {
        eprintln!(
            "jobstop: {name}: the answer to the stop of {} was lost and {}'s stop is not \
             idempotent: it is not sent again; waiting for the run to end",
            ticket.run_id.escape_for_display(),
            account.controller.vendor()
        );
    }
    follow(ctx, &registry, ticket, TicketFile::new(args.file)).await
}

/// Waits for the ticket's run to end, saving every update, and prints the
/// result. Past the deadline: the error, a hint on resuming, exit 5.
async fn follow(
    ctx: &Ctx,
    registry: &Registry,
    ticket: StopTicket,
    mut file: TicketFile,
) -> Result<i32, CliError> {
    let account = ticket.account.clone();
    let left = (ticket.deadline - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    let label = format!(
        "{}: waiting for {}",
        one_line(&account),
        ticket.run_id.escape_for_display()
    );
    let wait = wait_options(left);
    let result = with_progress(
        &ctx.term,
        &label,
        resume(registry, ticket, &wait, |t| file.save(t)),
    )
    .await;
    match result {
        Ok((ticket, run)) => {
            let stop_won = matches!(ticket.stop, StopPhase::Final { stop_won: true, .. });
            print_result(ctx, &ticket, &run, stop_won);
            Ok(EXIT_OK)
        }
        Err(e) => {
            report_error(Some(&account), &e);
            if e.kind() == ErrorKind::Timeout && e.operation() == Some(Operation::Wait) {
                eprintln!(
                    "jobstop: the ticket {} is saved; `jobstop resume {} --timeout DURATION` \
                     waits again (no second stop is sent for an accepted one)",
                    file.path.display(),
                    file.path.display()
                );
            }
            Ok(exit_code(&e))
        }
    }
}

/// The end: a sentence for people, or `{"ticket","final","stop_won"}`.
fn print_result(ctx: &Ctx, ticket: &StopTicket, run: &Run, stop_won: bool) {
    if ctx.json() {
        print_json(&json!({
            "ticket": ticket,
            "final": run_json(run, &ticket.account, ctx.raw),
            "stop_won": stop_won,
        }));
        return;
    }
    let how = if stop_won {
        "the stop took effect"
    } else {
        "the run ended on its own, not because of this stop"
    };
    outln!(
        "{}: {} is {} ({}) after {} status poll(s) and {} stop request(s) in all; {how}",
        one_line(&ticket.account),
        run.id.escape_for_display(),
        run.state,
        one_line(&run.vendor_state),
        ticket.polls,
        ticket.stops_sent,
    );
}

/// One sentence on the stop just sent, naming the ticket.
fn describe_sent(ticket: &StopTicket, path: &Path) -> String {
    let account = one_line(&ticket.account);
    let id = ticket.run_id.escape_for_display();
    let now = ticket
        .last_state
        .map(|s| format!("; it is {s} now"))
        .unwrap_or_default();
    let what = match &ticket.stop {
        StopPhase::Accepted { outcome, .. } if outcome == "already_finished" => {
            format!("{id} had already finished{now}; nothing to stop")
        }
        StopPhase::Accepted { outcome, .. } if outcome == "stopped" => {
            format!("{id} stopped{now}")
        }
        StopPhase::Accepted { .. } => format!("stop of {id} requested{now}"),
        StopPhase::AnswerLost { .. } => {
            format!("the answer to the stop of {id} was lost (it may or may not have been applied)")
        }
        StopPhase::Final { stop_won: true, .. } => format!("{id} stopped{now}"),
        StopPhase::Final { .. } => format!("{id} had already finished{now}; nothing to stop"),
        _ => format!("stop of {id} sent"),
    };
    format!(
        "{account}: {what}; ticket saved in {} (if this is interrupted, `jobstop resume {}` \
         continues)",
        path.display(),
        path.display()
    )
}

/// A deadline `timeout` from now (at most [`MAX_TIMEOUT`]).
fn deadline_in(timeout: Duration) -> chrono::DateTime<Utc> {
    let timeout =
        chrono::Duration::from_std(timeout.min(MAX_TIMEOUT)).unwrap_or(chrono::Duration::zero());
    Utc::now() + timeout
}

/// Where the ticket is saved; warns once if saving fails (the wait goes on,
/// and the file may be behind).
struct TicketFile {
    path: PathBuf,
    warned: bool,
}

impl TicketFile {
    fn new(path: PathBuf) -> Self {
        TicketFile {
            path,
            warned: false,
        }
    }

    fn save(&mut self, ticket: &StopTicket) {
        let Err(e) = write_atomically(&self.path, &ticket.to_json()) else {
            return;
        };
        if !self.warned {
            self.warned = true;
            eprintln!(
                "jobstop: cannot save the ticket {}: {e}; still waiting, but the file may be \
                 out of date",
                self.path.display()
            );
        }
    }
}

/// The temporary file [`write_atomically`] uses for `path`: a hidden file
/// in the same folder (a rename is atomic only within one file system).
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(temp))
}

/// Replaces `path` with `contents` atomically: written and synced to a
/// temporary file in the same folder, then renamed over `path`.
pub(crate) fn write_atomically(path: &Path, contents: &str) -> io::Result<()> {
    let temp = temp_path(path)?;
    let written = (|| {
        let mut f = File::create(&temp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Whether a ticket can be written at `path`: not a folder, and its folder
/// takes a new file.
fn check_writable(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a folder",
        ));
    }
    let temp = temp_path(path)?;
    File::create(&temp)?;
    fs::remove_file(&temp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("jobstop-ticket-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary_behind() {
        let d = dir();
        let path = d.join("t.json");
        write_atomically(&path, "one").unwrap();
        write_atomically(&path, "two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["t.json"]);
        check_writable(&path).unwrap();
        assert!(check_writable(&d).is_err(), "a folder is no ticket");
        assert!(check_writable(&d.join("missing/t.json")).is_err());
        assert!(write_atomically(&d.join("missing/t.json"), "x").is_err());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn deadlines_never_overflow() {
        let far = deadline_in(Duration::from_secs(u64::MAX));
        assert!(far > Utc::now() + chrono::Duration::days(365 * 99));
    }
}
