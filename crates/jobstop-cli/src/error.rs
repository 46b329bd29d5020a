//! How a command fails, and the exit code that says so.

use jobstop::Error;
use jobstop::ops::exit_code;

/// Success.
pub(crate) const EXIT_OK: i32 = 0;
/// Any error without a more precise code.
pub(crate) const EXIT_OTHER: i32 = 1;
/// A usage or configuration error.
pub(crate) const EXIT_USAGE: i32 = 2;

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
                eprintln!("jobstop: {msg}");
                EXIT_USAGE
            }
            CliError::Api { account, error } => {
                report_error(account.as_deref(), &error);
                exit_code(&error)
            }
            CliError::Other(msg) => {
                eprintln!("jobstop: {msg}");
                EXIT_OTHER
            }
        }
    }
}

/// One line on stderr: `jobstop: <account>: <error>`. The core error's
/// `Display` names the vendor, operation, run, HTTP status, vendor code and
/// message and request id, and never holds a secret.
pub(crate) fn report_error(account: Option<&str>, error: &Error) {
    match account {
        Some(a) => eprintln!("jobstop: {}: {error}", crate::output::one_line(a)),
        None => eprintln!("jobstop: {error}"),
    }
}

/// The worst of several exit codes: the highest (0 when there are none).
pub(crate) fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes.into_iter().max().unwrap_or(EXIT_OK)
}
