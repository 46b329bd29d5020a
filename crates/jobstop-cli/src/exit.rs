//! The process exit codes: the library returns errors, the CLI chooses the
//! code that says how a command ended.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other error |
//! | 2 | configuration or invalid input (usage) |
//! | 3 | run not found |
//! | 4 | authentication or permission |
//! | 5 | the deadline passed while waiting for a run |
//! | 6 | vendor unavailable, unreachable, rate limited or timing out after retries |
//! | 7 | the vendor refused the stop ([`ErrorKind::Refused`], e.g. a run in a state it does not stop) |
//! | 130 | interrupted (SIGINT or SIGTERM): what was known was printed |
//! | 141 | the output's reader went away (a broken pipe) |

use jobstop::{Error, ErrorKind, Operation};

/// Success.
pub(crate) const EXIT_OK: i32 = 0;
/// Any error without a more precise code.
pub(crate) const EXIT_OTHER: i32 = 1;
/// A usage or configuration error.
pub(crate) const EXIT_USAGE: i32 = 2;
/// The run does not exist.
const EXIT_NOT_FOUND: i32 = 3;
/// Authentication or permission.
const EXIT_AUTH: i32 = 4;
/// The deadline passed while waiting for a run.
const EXIT_WAIT_TIMEOUT: i32 = 5;
/// The vendor is unavailable, unreachable, rate limited or timing out after
/// the HTTP layer's retries.
const EXIT_UNAVAILABLE: i32 = 6;
/// The vendor refused the stop.
const EXIT_REFUSED: i32 = 7;
/// Interrupted (SIGINT or SIGTERM): what was known was printed.
pub(crate) const EXIT_INTERRUPTED: i32 = 130;
/// The output's reader went away (a broken pipe): 128 + SIGPIPE, what a
/// shell reports for a program the signal ended.
pub(crate) const EXIT_PIPE: i32 = 141;

/// The exit code for a failed jobstop operation (see the module's table).
pub(crate) fn exit_code(err: &Error) -> i32 {
    match err.kind() {
        ErrorKind::Config | ErrorKind::InvalidInput => EXIT_USAGE,
        ErrorKind::Refused => EXIT_REFUSED,
        ErrorKind::NotFound => EXIT_NOT_FOUND,
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => EXIT_AUTH,
        ErrorKind::Timeout if err.operation() == Some(Operation::Wait) => EXIT_WAIT_TIMEOUT,
        ErrorKind::Unavailable
        | ErrorKind::RateLimited
        | ErrorKind::Timeout
        | ErrorKind::Transport => EXIT_UNAVAILABLE,
        _ => EXIT_OTHER,
    }
}

/// The worst of several exit codes: the highest (0 when there are none).
pub(crate) fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes.into_iter().max().unwrap_or(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let e = |k| Error::new(k, "x");
        assert_eq!(exit_code(&e(ErrorKind::NotFound)), 3);
        assert_eq!(exit_code(&e(ErrorKind::PermissionDenied)), 4);
        assert_eq!(exit_code(&e(ErrorKind::Unauthenticated)), 4);
        assert_eq!(
            exit_code(&e(ErrorKind::Timeout).with_operation(Operation::Wait)),
            5
        );
        assert_eq!(
            exit_code(&e(ErrorKind::Timeout).with_operation(Operation::Stop)),
            6
        );
        assert_eq!(exit_code(&e(ErrorKind::Unavailable)), 6);
        assert_eq!(exit_code(&e(ErrorKind::RateLimited)), 6);
        assert_eq!(exit_code(&e(ErrorKind::Transport)), 6);
        assert_eq!(exit_code(&e(ErrorKind::Config)), 2);
        assert_eq!(exit_code(&e(ErrorKind::Conflict)), 1);
        assert_eq!(exit_code(&e(ErrorKind::Refused)), 7);
        assert_eq!(exit_code(&e(ErrorKind::InvalidInput)), 2);
        assert_eq!(exit_code(&e(ErrorKind::EndlessListing)), 1);
    }

    #[test]
    fn the_worst_code_is_the_highest() {
        assert_eq!(worst([]), EXIT_OK);
        assert_eq!(worst([EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_OTHER]), 7);
    }
}
