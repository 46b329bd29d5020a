//! One module per command.

use std::path::{Path, PathBuf};

use jobstop::{ListLimits, Registry};

use crate::cli::{Cli, Command, OutputFormat};
use crate::error::CliError;
use crate::output::{Output, Term};

mod accounts;
#[cfg(feature = "sim")]
mod demo;
mod generate;
mod list;
#[cfg(feature = "sim")]
mod sim;
mod status;
mod stop;
mod stop_all;
mod sweep;
// Its `outln!`/`print_json` output reaches `Output::stdout` (a failure is
// reported when the command ends); its warnings go through `errln!`.
mod ticket;
mod wait;

/// What every command gets.
pub(crate) struct Ctx {
    pub(crate) format: OutputFormat,
    pub(crate) raw: bool,
    pub(crate) term: Term,
    /// Where the command's output goes (stdout).
    pub(crate) out: &'static Output,
    /// How far each account's listing may go (`--list-max-pages`,
    /// `--list-timeout`).
    pub(crate) list_limits: ListLimits,
    config: Option<PathBuf>,
}

impl Ctx {
    /// Whether the output is JSON (`--output json` or `jsonl`).
    pub(crate) fn json(&self) -> bool {
        matches!(self.format, OutputFormat::Json | OutputFormat::Jsonl)
    }

    /// Whether to show a progress bar: only where stderr is a terminal, the
    /// output is not JSON or JSON Lines (a program reads it) and `--verbose`
    /// is off (its events go to stderr too).
    pub(crate) fn progress(&self) -> bool {
        self.term.progress && !self.json()
    }

    /// Whether the output is one JSON value per line (`--output jsonl`).
    pub(crate) fn jsonl(&self) -> bool {
        self.format == OutputFormat::Jsonl
    }

    /// The accounts: `--config FILE`, else the default config file if it
    /// exists, else the environment.
    pub(crate) fn registry(&self) -> Result<Registry, CliError> {
        let file = match (&self.config, Registry::default_config_path()) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(path)) if path.exists() => Some(path),
            (None, _) => None,
        };
        let loaded = match file {
            Some(path) => Registry::load_config_file(&path).map(|loaded| {
                // Inline secrets in a file others can read: warned about on
                // stderr, as ssh does for keys (not refused).
                if let Some(warning) = loaded.warning() {
                    crate::errln!("jobstop: warning: {warning}");
                }
                loaded.registry
            }),
            None => Registry::from_env(),
        };
        loaded.map_err(|error| CliError::Api {
            account: None,
            error,
        })
    }

    /// Like [`registry`](Self::registry), refusing an empty one.
    pub(crate) fn accounts(&self) -> Result<Registry, CliError> {
        let registry = self.registry()?;
        if registry.is_empty() {
            return Err(CliError::Usage(no_accounts_hint(self.config.as_deref())));
        }
        Ok(registry)
    }
}

/// The accounts named by `--account` (repeatable), or every account when
/// none is named: the CLI's "no `--account` means all", spelled out since
/// [`Registry::select`] with no names selects none.
pub(crate) fn selected<'r>(
    registry: &'r Registry,
    names: &[String],
) -> Result<Vec<&'r jobstop::Account>, CliError> {
    if names.is_empty() {
        return Ok(registry.all());
    }
    registry.select(names).map_err(|error| CliError::Api {
        account: None,
        error,
    })
}

fn no_accounts_hint(config: Option<&Path>) -> String {
    match config {
        Some(path) => format!("no accounts in {}", path.display()),
        None => {
            let default = Registry::default_config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.config/jobstop/config.toml".to_owned());
            let hint = if cfg!(feature = "sim") {
                " (try `jobstop demo`, or `jobstop sim` for simulated vendors)"
            } else {
                ""
            };
            format!(
                "no accounts configured: write {default}, pass --config FILE, or set \
                 JOBSTOP_<VENDOR>_* variables{hint}"
            )
        }
    }
}

pub(crate) async fn dispatch(cli: Cli) -> i32 {
    Output::stdout().set_compact(cli.output == OutputFormat::Jsonl);
    let mut term = Term::detect();
    // `--verbose` writes debug events to stderr as they happen; a bar drawn
    // there would cut them.
    term.progress &= !cli.verbose;
    let ctx = Ctx {
        list_limits: cli.list_limits(),
        format: cli.output,
        raw: cli.raw,
        term,
        out: Output::stdout(),
        config: cli.config,
    };
    let result = match cli.command {
        Command::Accounts => accounts::run(&ctx),
        Command::List(args) => list::run(&ctx, args).await,
        Command::Status(args) => status::run(&ctx, args).await,
        Command::Stop(args) => stop::run(&ctx, args).await,
        Command::StopAll(args) => stop_all::run(&ctx, args).await,
        Command::Sweep(args) => sweep::run(&ctx, args).await,
        Command::Resume(args) => ticket::run(&ctx, args).await,
        #[cfg(feature = "sim")]
        Command::Demo => demo::run(&ctx).await,
        #[cfg(feature = "sim")]
        Command::Sim(args) => sim::run(args).await,
        Command::Completions { shell } => generate::completions(&ctx, shell),
        Command::Man => generate::man(&ctx),
    };
    // A write error a command went on after (it had nothing better to do)
    // still decides how the command ends.
    let result = match (result, ctx.out.failure()) {
        (Ok(code), Some(error)) => Err(CliError::Output {
            error,
            at_least: code,
            note: None,
        }),
        (result, _) => result,
    };
    match result {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}
