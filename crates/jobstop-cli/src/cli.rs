//! The command line, as clap sees it.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use jobstop::ops::Selector;
use jobstop::{ListLimits, RunState};

use crate::duration::{parse_age, parse_duration};
use crate::time::parse_time;

/// The help's closing text, with or without the simulators' hint.
macro_rules! after_help {
    ($($tail:literal)?) => {
        concat!(
            "\
Accounts come from --config FILE, else $XDG_CONFIG_HOME/jobstop/config.toml
(~/.config/jobstop/config.toml) if it exists, else the JOBSTOP_<VENDOR>_*
environment variables (one account per vendor, named after it).

Exit codes: 0 success, 1 other error, 2 usage or configuration error, 3 run
not found, 4 authentication or permission, 5 deadline passed while waiting,
6 vendor unavailable or rate limited after retries, 7 the vendor refused the
stop (e.g. a run in a state it does not stop)."$(, $tail)?
        )
    };
}

#[cfg(feature = "sim")]
const AFTER_HELP: &str =
    after_help!("\n\nTry `jobstop demo` first: it runs against simulated vendors, offline.");
#[cfg(not(feature = "sim"))]
const AFTER_HELP: &str = after_help!();

/// List, inspect and stop jobs on many vendors' platforms.
#[derive(Debug, Parser)]
#[command(name = "jobstop", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Read accounts from this TOML file.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "JOBSTOP_CONFIG",
        help_heading = "Global options"
    )]
    pub(crate) config: Option<PathBuf>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table, help_heading = "Global options")]
    pub(crate) output: OutputFormat,

    /// Include each run's raw vendor JSON (`raw`) in JSON output.
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) raw: bool,

    /// Log jobstop's requests and retries to stderr (never secrets).
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub(crate) verbose: bool,

    /// Read at most N pages per account's listing (list, stop-all, sweep);
    /// a listing that still goes on fails that account (default 10000).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "JOBSTOP_LIST_MAX_PAGES",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Global options"
    )]
    pub(crate) list_max_pages: Option<u64>,

    /// Give each account's listing at most this long (list, stop-all,
    /// sweep); a listing that has not ended fails that account (default 10m).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        env = "JOBSTOP_LIST_TIMEOUT",
        value_parser = parse_duration,
        help_heading = "Global options"
    )]
    pub(crate) list_timeout: Option<Duration>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// `--list-max-pages` and `--list-timeout` over the library's defaults.
    pub(crate) fn list_limits(&self) -> ListLimits {
        let mut limits = ListLimits::default();
        if let Some(n) = self.list_max_pages {
            limits = limits.with_max_pages(n);
        }
        if let Some(d) = self.list_timeout {
            limits = limits.with_deadline(d);
        }
        limits
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people (colored on a terminal).
    Table,
    /// JSON for programs.
    Json,
    /// One compact JSON value per line, for `jq` and log pipelines: one run
    /// per line for `list`, one answer per line for `stop-all` and `sweep`;
    /// other commands print their one document on one line.
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show the configured accounts (secrets are never shown).
    Accounts,
    /// List runs across accounts.
    List(ListArgs),
    /// Show one run.
    Status(StatusArgs),
    /// Stop one run.
    Stop(StopArgs),
    /// Stop every selected run across accounts (plan, confirm, stop).
    StopAll(StopAllArgs),
    /// Stop the orphans: active runs whose name starts with a prefix and that
    /// are older than a grace period (plan, confirm, stop).
    Sweep(SweepArgs),
    /// Continue a stop from its ticket file (`stop --wait --ticket FILE`)
    /// and wait until the run has ended.
    Resume(ResumeArgs),
    /// Run list, status and stop against simulated vendors, offline, in seconds.
    #[cfg(feature = "sim")]
    Demo,
    /// Serve simulated vendors on 127.0.0.1 until Ctrl-C and print the
    /// `export JOBSTOP_…` lines that point jobstop at them.
    #[cfg(feature = "sim")]
    Sim(SimArgs),
    /// Print a shell completion script (e.g. `jobstop completions bash >
    /// ~/.local/share/bash-completion/completions/jobstop`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, in roff (e.g. `jobstop man | man -l -`).
    Man,
}

/// Filters shared by `list` and `stop-all`.
#[derive(Debug, Args)]
pub(crate) struct SelectorArgs {
    /// Only this account (repeatable; default: all).
    #[arg(long = "account", short = 'a', value_name = "ACCOUNT")]
    pub(crate) accounts: Vec<String>,

    /// Only runs in this state (repeatable or comma-separated): queued,
    /// running, paused, stopping, stopped, succeeded, failed, idle, unknown.
    #[arg(long = "state", value_name = "STATE", value_delimiter = ',', value_parser = parse_state)]
    pub(crate) states: Vec<RunState>,

    /// Only runs of this kind (exactly as the vendor names it).
    #[arg(long, value_name = "KIND")]
    pub(crate) kind: Option<String>,

    /// Only runs whose name contains this text (ignoring case).
    #[arg(long, value_name = "TEXT")]
    pub(crate) name_contains: Option<String>,

    /// Only runs created at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(crate) created_after: Option<DateTime<Utc>>,

    /// Only runs created before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(crate) created_before: Option<DateTime<Utc>>,
}

impl SelectorArgs {
    pub(crate) fn selector(&self) -> Selector {
        let mut s = Selector::new();
        for state in &self.states {
            s = s.with_state(*state);
        }
        if let Some(k) = &self.kind {
            s = s.with_kind(k.clone());
        }
        if let Some(n) = &self.name_contains {
            s = s.with_name_contains(n.clone());
        }
        if let Some(t) = self.created_after {
            s = s.with_created_after(t);
        }
        if let Some(t) = self.created_before {
            s = s.with_created_before(t);
        }
        s
    }
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) selector: SelectorArgs,

    /// At most this many runs per account.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The account's name (see `jobstop accounts`).
    pub(crate) account: String,
    /// The run's id, in the vendor's format.
    pub(crate) run_id: String,
}

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// The account's name (see `jobstop accounts`).
    pub(crate) account: String,
    /// The run's id, in the vendor's format.
    pub(crate) run_id: String,

    /// Wait until the run has ended.
    #[arg(long)]
    pub(crate) wait: bool,

    /// With --wait: give up after this long (e.g. 30s, 5m, 1h30m, 250ms).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "wait", default_value = "5m")]
    pub(crate) timeout: Duration,

    /// Force the stop (a kill) where the vendor has such a mode.
    #[arg(long)]
    pub(crate) force: bool,

    /// With --wait: write the stop down in FILE (JSON, replaced atomically
    /// after the stop is sent and after every poll), so `jobstop resume FILE`
    /// can finish the wait if this process dies.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub(crate) ticket: Option<PathBuf>,
}

/// How a bulk stop is carried out; shared by `stop-all` and `sweep`.
#[derive(Debug, Args)]
pub(crate) struct BulkArgs {
    /// Show what would be stopped and stop nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Stops in flight at once, across accounts.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub(crate) concurrency: u64,

    /// At most N requests per second per account (list pages, stops and
    /// read-backs alike; an account's own `client.pace` wins where stricter).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: Option<u32>,

    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,

    /// After each stop, wait until the run has ended (its polls at the
    /// account's pace, like the stops) and show its final state.
    #[arg(long)]
    pub(crate) wait: bool,

    /// With --wait: give up on a run this long after its stop was answered
    /// (e.g. 30s, 5m, 1h30m, 250ms).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "wait", default_value = "5m")]
    pub(crate) timeout: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct StopAllArgs {
    #[command(flatten)]
    pub(crate) selector: SelectorArgs,

    /// Only runs created at least this long ago (e.g. 30m, 2h, 1d; at most
    /// 36500d).
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub(crate) older_than: Option<Duration>,

    /// Force the stops where the vendor has such a mode.
    #[arg(long)]
    pub(crate) force: bool,

    #[command(flatten)]
    pub(crate) bulk: BulkArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SweepArgs {
    /// Only runs whose name starts with this text (exactly, case included).
    #[arg(long, value_name = "PREFIX", value_parser = parse_prefix)]
    pub(crate) name_prefix: String,

    /// The grace period: only runs created at least this long ago
    /// (e.g. 30m, 2h, 1d; at most 36500d).
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub(crate) older_than: Duration,

    /// Only this account (repeatable; default: all).
    #[arg(long = "account", short = 'a', value_name = "ACCOUNT")]
    pub(crate) accounts: Vec<String>,

    /// Only runs of this kind (exactly as the vendor names it).
    #[arg(long, value_name = "KIND")]
    pub(crate) kind: Option<String>,

    #[command(flatten)]
    pub(crate) bulk: BulkArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The ticket file written by `stop --wait --ticket FILE`.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// Wait at most this long from now (replaces the ticket's deadline;
    /// default: keep the ticket's deadline).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Seed for ids, names, times and credentials.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Active runs per simulator (CenturyLink: at most 4).
    #[arg(long, default_value_t = 5)]
    pub(crate) running: usize,

    /// Finished runs per simulator.
    #[arg(long, default_value_t = 20)]
    pub(crate) finished: usize,

    /// Start the simulated clocks at the current time (the default; kept
    /// for scripts that pass it).
    #[arg(long, conflicts_with = "fixed_epoch")]
    pub(crate) now: bool,

    /// Start the simulated clocks at 2024-06-19T04:00:00Z instead of the
    /// current time, so ids and times are the same on every run.
    #[arg(long)]
    pub(crate) fixed_epoch: bool,
}

/// A sweep's name prefix: an empty one would claim every named run.
fn parse_prefix(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the prefix must not be empty (it would claim every named run)".to_owned());
    }
    Ok(s.to_owned())
}

fn parse_state(s: &str) -> Result<RunState, String> {
    s.parse::<RunState>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_selectors_and_durations() {
        let cli = Cli::try_parse_from([
            "jobstop",
            "stop-all",
            "--state",
            "running,queued",
            "--account",
            "a",
            "-a",
            "b",
            "--older-than",
            "1h30m",
            "--created-after",
            "2024-06-01",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.output, OutputFormat::Json);
        let Command::StopAll(args) = cli.command else {
            panic!("not stop-all");
        };
        assert_eq!(args.selector.accounts, ["a", "b"]);
        assert_eq!(args.older_than, Some(Duration::from_secs(5400)));
        let s = args.selector.selector();
        assert!(s.states.contains(&RunState::Running) && s.states.contains(&RunState::Queued));
        assert!(s.created_after.is_some());
    }

    #[cfg(feature = "sim")]
    #[test]
    fn sim_clock_flags() {
        let sim = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            let Command::Sim(a) = cli.command else {
                panic!("not sim");
            };
            (a.now, a.fixed_epoch)
        };
        assert_eq!(sim(&["jobstop", "sim"]), (false, false));
        assert_eq!(sim(&["jobstop", "sim", "--now"]), (true, false));
        assert_eq!(sim(&["jobstop", "sim", "--fixed-epoch"]), (false, true));
        assert!(Cli::try_parse_from(["jobstop", "sim", "--now", "--fixed-epoch"]).is_err());
    }

    #[test]
    fn refuses_bad_values() {
        for args in [
            &[
                "jobstop",
                "stop",
                "a",
                "1",
                "--wait",
                "--timeout",
                "5 minutes",
            ][..],
            &["jobstop", "stop", "a", "1", "--timeout", "5m"],
            &["jobstop", "list", "--state", "runing"],
            &["jobstop", "list", "--created-after", "yesterday"],
            &["jobstop", "list", "--limit", "0"],
            &["jobstop", "stop-all", "--concurrency", "0"],
            &["jobstop", "--output", "yaml", "list"],
            &["jobstop", "status", "a"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert!(err.use_stderr(), "{args:?}");
        }
    }
}
