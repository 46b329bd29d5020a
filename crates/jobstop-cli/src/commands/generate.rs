//! `jobstop completions <shell>` and `jobstop man`: generated from the same
//! command-line definition the parser uses, so they never fall behind it.

use clap::CommandFactory;
use clap_complete::Shell;

use super::Ctx;
use crate::cli::Cli;
use crate::error::CliError;
use crate::exit::EXIT_OK;

/// Prints the completion script for `shell` on stdout.
pub(super) fn completions(ctx: &Ctx, shell: Shell) -> Result<i32, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jobstop", &mut script);
    ctx.out.write(&String::from_utf8_lossy(&script))?;
    Ok(EXIT_OK)
}

/// Prints the manual page (roff) on stdout.
pub(super) fn man(ctx: &Ctx) -> Result<i32, CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| CliError::Usage(format!("the manual page could not be rendered: {e}")))?;
    ctx.out.write(&String::from_utf8_lossy(&page))?;
    Ok(EXIT_OK)
}
