//! How a command fails, and the exit code that says so.

use jobstop::Error;

use crate::errln;
use crate::exit::{EXIT_OK, EXIT_OTHER, EXIT_PIPE, EXIT_USAGE, exit_code};
use crate::output::OutputError;

/// A failed command. Its `Display` is the line printed on stderr after
/// `jobstop: ` (the whole line: the jobstop error or the output failure is
/// part of it, not a `source()`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or the situation is wrong (exit 2): `jobstop: <message>`.
    #[error("{0}")]
    Usage(String),
    /// A jobstop operation failed; `account` names where, when known:
    /// `jobstop: <account>: <error>`.
    #[error("{}{error}", account_prefix(.account.as_deref()))]
    Api {
        account: Option<String>,
        error: Error,
    },
    /// Something local failed (I/O, the runtime): exit 1. Only the
    /// simulator commands raise it.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    #[error("{0}")]
    Other(String),
    /// The output could not be written: a closed pipe ends quietly with
    /// [`EXIT_PIPE`]; any other failure is one line on stderr and exit 1, or
    /// `at_least` when that is worse (a failure met before), with `note`
    /// (what was done) after the error: `jobstop: <error>; <note>`.
    #[error("{error}{}", note_suffix(.note.as_deref()))]
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

    /// Prints the error (one line on stderr, none for a closed output) and
    /// returns the exit code.
    pub(crate) fn report(self) -> i32 {
        let code = match &self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Api { error, .. } => exit_code(error),
            CliError::Other(_) => EXIT_OTHER,
            CliError::Output {
                error: OutputError::Closed,
                ..
            } => return EXIT_PIPE,
            CliError::Output { at_least, .. } => EXIT_OTHER.max(*at_least),
        };
        errln!("jobstop: {self}");
        code
    }
}

/// `<account>: ` (on one line), or nothing when the account is not known.
fn account_prefix(account: Option<&str>) -> String {
    account
        .map(|a| format!("{}: ", crate::output::one_line(a)))
        .unwrap_or_default()
}

/// `; <note>`, or nothing.
fn note_suffix(note: Option<&str>) -> String {
    note.map(|n| format!("; {n}")).unwrap_or_default()
}

/// One line on stderr: `jobstop: <account>: <error>`. The core error's
/// `Display` names the vendor, operation, run, HTTP status, vendor code and
/// message and request id, and never holds a secret.
pub(crate) fn report_error(account: Option<&str>, error: &Error) {
    errln!("jobstop: {}{error}", account_prefix(account));
}

#[cfg(test)]
mod tests {
    use jobstop::{ErrorKind, Operation, Vendor};

    use super::*;

    #[test]
    fn display_is_the_line_after_jobstop() {
        let api = Error::new(ErrorKind::NotFound, "no such run")
            .with_vendor(Vendor::AMPERITY)
            .with_operation(Operation::Status)
            .with_http_status(404);
        assert_eq!(
            CliError::api("prod\neu", api).to_string(),
            "prod eu: amperity status: not found: no such run (HTTP 404)"
        );
        let bare = CliError::Api {
            account: None,
            error: Error::config("no accounts"),
        };
        assert_eq!(bare.to_string(), "configuration error: no accounts");
        assert_eq!(
            CliError::Usage("unknown account \"x\"".into()).to_string(),
            "unknown account \"x\""
        );
        assert_eq!(CliError::Other("boom".into()).to_string(), "boom");
        let full = CliError::Output {
            error: OutputError::Failed("No space left on device".into()),
            at_least: EXIT_OK,
            note: Some("2 stops were sent".into()),
        };
        assert_eq!(
            full.to_string(),
            "cannot write the output: No space left on device; 2 stops were sent"
        );
        assert_eq!(
            CliError::from(OutputError::Failed("x".into())).to_string(),
            "cannot write the output: x"
        );
    }

    #[test]
    fn report_returns_each_variant_s_code() {
        assert_eq!(CliError::Usage("u".into()).report(), EXIT_USAGE);
        assert_eq!(CliError::Other("o".into()).report(), EXIT_OTHER);
        assert_eq!(
            CliError::api("a", Error::new(ErrorKind::Refused, "no")).report(),
            7
        );
        assert_eq!(CliError::from(OutputError::Closed).report(), EXIT_PIPE);
        let worse = CliError::Output {
            error: OutputError::Failed("disk".into()),
            at_least: 6,
            note: None,
        };
        assert_eq!(worse.report(), 6);
        assert_eq!(
            CliError::from(OutputError::Failed("disk".into())).report(),
            EXIT_OTHER
        );
    }
}
