//! The `jobstop` command line: list, inspect and stop jobs on many vendors'
//! platforms through one interface.
//!
//! This library is the whole CLI; the `jobstop` binary only calls [`run`].
//! See the crate's README for the command reference.
//!
//! ```no_run
//! let code = jobstop_cli::run(["jobstop", "demo"]);
//! std::process::exit(code);
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
// Output goes through `output::Output` (stdout) and `errln!` (stderr), which
// return or ignore write errors instead of panicking.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::ffi::OsString;

mod cli;
mod commands;
mod duration;
mod error;
mod exit;
mod output;
mod signal;
#[cfg(feature = "sim")]
mod sims;
mod time;

pub use duration::{DurationError, MAX_AGE, format_duration, parse_age, parse_duration};
pub use time::parse_time;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::{EXIT_OK, EXIT_OTHER, EXIT_USAGE};

/// Writes one line on stdout through [`output::Output::stdout`]. A write
/// error is kept there and reported when the command ends; code that must
/// stop at the first failure (a bulk stop) calls [`output::Output`] itself.
macro_rules! outln {
    () => {{
        let _ = $crate::output::Output::stdout().line("");
    }};
    ($($arg:tt)*) => {{
        let _ = $crate::output::Output::stdout().line(format_args!($($arg)*));
    }};
}
pub(crate) use outln;

/// Writes one line on stderr, never panicking (unlike `eprintln!`): a
/// failing stderr is ignored.
macro_rules! errln {
    ($($arg:tt)*) => {{
        $crate::output::err_line(format_args!($($arg)*))
    }};
}
pub(crate) use errln;

/// Runs the command line `args` (the program name first) and returns the
/// process exit code:
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | any other error |
/// | 2 | usage or configuration error (bad flags included) |
/// | 3 | run not found |
/// | 4 | authentication or permission |
/// | 5 | the deadline passed while waiting for a run to stop |
/// | 6 | the vendor is unavailable or rate limited after retries |
/// | 7 | the vendor refused the stop (e.g. a run in a state it does not stop) |
/// | 130 | interrupted (SIGINT or SIGTERM) during a stop: what was known was printed |
/// | 141 | the output's reader went away (a broken pipe); nothing more is printed |
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    if cli.verbose {
        init_tracing();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("jobstop: cannot start the async runtime: {e}");
            return EXIT_OTHER;
        }
    };
    let code = runtime.block_on(commands::dispatch(cli));
    // Do not wait for stray tasks (idle connections) on the way out.
    runtime.shutdown_background();
    code
}

/// `--verbose`: debug events of jobstop's own crates on stderr. Other crates
/// (the HTTP stack) stay silent, so nothing but jobstop's redacted events is
/// ever printed.
fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;

    let directives = [
        "off",
        "jobstop=debug",
        "jobstop_cli=debug",
        "jobstop_core=debug",
        "jobstop_http=debug",
        "jobstop_amperity=debug",
        "jobstop_chorus=debug",
        "jobstop_dataarts=debug",
        "jobstop_centurylink=debug",
    ]
    .join(",");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
