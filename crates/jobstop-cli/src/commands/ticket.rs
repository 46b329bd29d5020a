//! Resumable stops: `jobstop stop --wait --ticket FILE` and
//! `jobstop resume FILE`.
//!
//! The ticket ([`StopTicket`]) is written to FILE right after the stop is
//! sent and after every update, each time atomically: the JSON goes to a
//! temporary file in the same folder, which is then renamed over FILE, so
//! a process killed at any moment leaves either the previous ticket or the
//! new one, never a torn file. FILE must be a regular file or a new path
//! (a device, FIFO, socket, folder or symbolic link is refused before the
//! stop is sent); the temporary file has a random name and is created
//! exclusively (`O_EXCL`, so never through a planted link), mode `0600`.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use jobstop::ticket::{StopPhase, StopTicket, resume, start_stop};
use jobstop::{ErrorKind, Operation, Registry, Run, RunId, StopRequest};
use serde_json::json;

use super::Ctx;
use super::wait::{Waiting, wait_options};
use crate::cli::ResumeArgs;
use crate::error::{CliError, report_error};
use crate::exit::{EXIT_OK, exit_code};
use crate::outln;
use crate::output::{Progress, one_line, print_json, run_json};

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
    file.save(&ticket, &Progress::none());
    if !ctx.json() {
        outln!("{}", describe_sent(&ticket, &file.path));
    }
    follow(ctx, registry, ticket, file).await
}

/// `jobstop resume FILE [--timeout D]`.
pub(super) async fn run(ctx: &Ctx, args: ResumeArgs) -> Result<i32, CliError> {
    let shown = args.file.display().to_string();
    let text = read_ticket(&args.file)
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
        crate::errln!(
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
    // On a terminal (and not with JSON output): a spinner on stderr with the
    // run's state as each poll sees it.
    let progress = Progress::spinner(ctx.progress(), label.clone());
    let waiting = Waiting {
        progress: &progress,
        label: &label,
    };
    let result = resume(registry, ticket, &wait, |t| {
        file.save(t, &progress);
        if let Some(state) = t.last_state {
            waiting.show(state, None, t.polls);
        }
    })
    .await;
    progress.finish();
    match result {
        Ok((ticket, run)) => {
            let stop_won = matches!(ticket.stop, StopPhase::Final { stop_won: true, .. });
            print_result(ctx, &ticket, &run, stop_won);
            Ok(EXIT_OK)
        }
        Err(e) => {
            report_error(Some(&account), &e);
            if e.kind() == ErrorKind::Timeout && e.operation() == Some(Operation::Wait) {
                crate::errln!(
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

    /// Writes `ticket`; a failure is warned about once (clearing
    /// `progress` for the line).
    fn save(&mut self, ticket: &StopTicket, progress: &Progress) {
        let Err(e) = write_atomically(&self.path, &ticket.to_json()) else {
            return;
        };
        if !self.warned {
            self.warned = true;
            progress.suspend(|| {
                crate::errln!(
                    "jobstop: cannot save the ticket {}: {e}; still waiting, but the file may \
                     be out of date",
                    self.path.display()
                );
            });
        }
    }
}

/// Refuses a ticket path that is neither a regular file nor new: a device
/// (`/dev/null`), a FIFO, a socket, a folder or a symbolic link would be
/// replaced by the rename (as root, `--ticket /dev/null` replaced
/// `/dev/null`).
fn check_target(path: &Path) -> io::Result<()> {
    let what = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(meta) if meta.file_type().is_file() => return Ok(()),
        Ok(meta) => jobstop::describe_file_type(&meta.file_type()),
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is {what}, not a regular file (a ticket is written only to a regular file or a new path)"
        ),
    ))
}

/// Creates a new temporary file beside `path` (a rename is atomic only
/// within one file system): a hidden name with the process id and a random
/// part, created exclusively (`O_EXCL`: never an existing file, never
/// through a planted symbolic link) and readable by its owner only (`0600`).
fn create_temp(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut last = None;
    for _ in 0..8 {
        let mut temp = OsString::from(".");
        temp.push(name);
        temp.push(format!(
            ".{}.{:016x}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        let temp = path.with_file_name(temp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&temp) {
            Ok(f) => return Ok((temp, f)),
            // A name taken (by chance, or planted): draw another.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Replaces `path` with `contents` atomically: written and synced to a new
/// temporary file in the same folder ([`create_temp`]), then renamed over
/// `path`, which must be a regular file or new ([`check_target`]).
pub(crate) fn write_atomically(path: &Path, contents: &str) -> io::Result<()> {
    check_target(path)?;
    let (temp, mut f) = create_temp(path)?;
    let written = (|| {
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        fs::rename(&temp, path)
    })();
    drop(f);
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Whether a ticket can be written at `path`: a regular file or a new path,
/// and its folder takes a new file.
fn check_writable(path: &Path) -> io::Result<()> {
    check_target(path)?;
    let (temp, f) = create_temp(path)?;
    drop(f);
    fs::remove_file(&temp)
}

/// The most a ticket file may hold; tickets are a few hundred bytes.
const MAX_TICKET_BYTES: u64 = 1024 * 1024;

/// Reads a ticket: a regular file (a FIFO would block, `/dev/zero` never
/// ends) of at most [`MAX_TICKET_BYTES`].
fn read_ticket(path: &Path) -> io::Result<String> {
    let (bytes, _) = jobstop::read_small_regular_file(path, MAX_TICKET_BYTES, "a ticket")?;
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A fresh folder per test (tests run in parallel).
    fn dir(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("jobstop-ticket-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary_behind() {
        let d = dir("replace");
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

    /// Issue 16: the temporary name used to be `.{name}.{pid}.tmp`, opened
    /// with a create that follows symbolic links, so a link planted there
    /// truncated (and filled) its target.
    #[test]
    fn a_planted_symlink_at_the_old_temporary_name_truncates_nothing() {
        let d = dir("planted");
        let victim = d.join("victim");
        fs::write(&victim, "precious").unwrap();
        let path = d.join("t.json");
        let old_temp = d.join(format!(".t.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_temp).unwrap();
        check_writable(&path).unwrap();
        write_atomically(&path, "ticket").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&path).unwrap(), "ticket");
        assert!(
            fs::symlink_metadata(&path).unwrap().file_type().is_file(),
            "the ticket is a file of its own, not the planted link"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_temporary_file_is_new_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("private");
        let path = d.join("t.json");
        let (temp, _f) = create_temp(&path).unwrap();
        let (other, _g) = create_temp(&path).unwrap();
        assert_ne!(temp, other, "random names");
        assert_eq!(temp.parent(), Some(d.as_path()), "in the same folder");
        let mode = fs::metadata(&temp).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        // Exclusive: an existing name is never opened.
        let taken = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp);
        assert_eq!(taken.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        write_atomically(&path, "x").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the ticket keeps the temporary's mode");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn only_regular_files_or_new_paths_are_tickets() {
        use std::os::unix::fs::FileTypeExt;
        let d = dir("kinds");
        let fifo = d.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let link = d.join("link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        for (path, what) in [
            (Path::new("/dev/null"), "a character device"),
            (fifo.as_path(), "a FIFO"),
            (link.as_path(), "a symbolic link"),
            (d.as_path(), "a folder"),
        ] {
            let e = check_writable(path).unwrap_err().to_string();
            assert!(e.contains(what), "{}: {e}", path.display());
            assert!(write_atomically(path, "x").is_err(), "{}", path.display());
            let e = read_ticket(path).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{}: {e}", path.display());
        }
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        let e = read_ticket(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("character device"), "{e}");
        let big = d.join("big.json");
        fs::write(&big, vec![b' '; 1024 * 1024 + 1]).unwrap();
        let e = read_ticket(&big).unwrap_err().to_string();
        assert!(e.contains("1 MiB"), "{e}");
        check_writable(&d.join("new.json")).unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn deadlines_never_overflow() {
        let far = deadline_in(Duration::from_secs(u64::MAX));
        assert!(far > Utc::now() + chrono::Duration::days(365 * 99));
    }
}
