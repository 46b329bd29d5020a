//! `jobstop status`.

use jobstop::{Run, RunId};

use super::Ctx;
use crate::cli::StatusArgs;
use crate::error::CliError;
use crate::exit::EXIT_OK;
use crate::output::{Cell, Table, Term, run_json, time_cell};

pub(super) async fn run(ctx: &Ctx, args: StatusArgs) -> Result<i32, CliError> {
    let registry = ctx.accounts()?;
    let account = registry.get(&args.account).map_err(|error| CliError::Api {
        account: None,
        error,
    })?;
    let run = account
        .controller
        .status(&RunId::new(args.run_id))
        .await
        .map_err(|e| CliError::api(&account.name, e))?;
    if ctx.json() {
        ctx.out.json(&run_json(&run, &account.name, ctx.raw))?;
    } else {
        ctx.out.line(format_args!(
            "{}",
            describe(&run, &account.name, &ctx.term).trim_end()
        ))?;
    }
    Ok(EXIT_OK)
}

/// A run as `key  value` lines.
pub(super) fn describe(run: &Run, account: &str, term: &Term) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut t = Table::new(&["FIELD", "VALUE"]);
    let mut row = |k: &'static str, v: Cell| t.push(vec![Cell::plain(k), v]);
    row("account", Cell::plain(account));
    row("vendor", Cell::plain(run.vendor.as_str()));
    row("id", Cell::plain(run.id.as_str()));
    row("name", Cell::plain(or_dash(&run.name)));
    row("kind", Cell::plain(or_dash(&run.kind)));
    row("state", Cell::state(run.state));
    row("vendor state", Cell::plain(run.vendor_state.clone()));
    row("created", time_cell(run.created_at));
    row("started", time_cell(run.started_at));
    row("ended", time_cell(run.ended_at));
    row("owner", Cell::plain(or_dash(&run.owner)));
    if let Some(e) = &run.error {
        let mut text = e.message.clone().unwrap_or_else(|| "-".to_owned());
        if let Some(code) = &e.code {
            text.push_str(&format!(" ({code})"));
        }
        row("error", Cell::plain(text));
    }
    // Drop the header line: this is a key/value listing.
    let rendered = t.render(term);
    rendered
        .split_once('\n')
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default()
}
