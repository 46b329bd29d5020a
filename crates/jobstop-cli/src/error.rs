//! How a command fails, and the exit code that says so.

use jobstop::Error;

use crate::errln;
use crate::exit::{EXIT_OK, EXIT_OTHER, EXIT_PIPE, EXIT_USAGE, exit_code};
use crate::output::OutputError;

/// A failed command.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The command line or the situation is wrong (exit 2): `jobstop: <message>`.
    Usage(String),
    /// A jobstop operation failed; `account` names where, when known.
    Api {
        account: Option<String>,
        error: Error,
    },
    /// Something local failed (I/O, the runtime): exit 1.
    Other(String),
    /// The output could not be written: a closed pipe ends quietly with
    /// [`EXIT_PIPE`]; any other failure is one line on stderr and exit 1, or
    /// `at_least` when that is worse (a failure met before), with `note`
    /// (what was done) after the error.
    Output {
        error: OutputError,
        at_least: i32,
        note: Option<String>,
    },
}

impl From<OutputError> for CliError {
    fn from(error: OutputError) -> Self {
        CliError::Output {
            error,
            at_least: EXIT_OK,
            note: None,
        }
    }
}

impl CliError {
    pub(crate) fn api(account: &str, error: Error) -> Self {
        CliError::Api {
            account: Some(account.to_owned()),
            error,
        }
    }

    /// Prints the error (one line on stderr) and returns the exit code.
    pub(crate) fn report(self) -> i32 {
        match self {
            CliError::Usage(msg) => {
                errln!("jobstop: {msg}");
                EXIT_USAGE
            }
            CliError::Api { account, error } => {
                report_error(account.as_deref(), &error);
                exit_code(&error)
            }
            CliError::Other(msg) => {
                errln!("jobstop: {msg}");
                EXIT_OTHER
            }
            CliError::Output {
                error: OutputError::Closed,
                ..
            } => EXIT_PIPE,
            CliError::Output {
                error,
                at_least,
                note,
            } => {
                match note {
                    Some(note) => errln!("jobstop: {error}; {note}"),
                    None => errln!("jobstop: {error}"),
                }
                EXIT_OTHER.max(at_least)
            }
        }
    }
}

/// One line on stderr: `jobstop: <account>: <error>`. The core error's
/// `Display` names the vendor, operation, run, HTTP status, vendor code and
/// message and request id, and never holds a secret.
pub(crate) fn report_error(account: Option<&str>, error: &Error) {
    match account {
        Some(a) => errln!("jobstop: {}: {error}", crate::output::one_line(a)),
        None => errln!("jobstop: {error}"),
    }
}
