//! `jobstop list`.

use jobstop::ops::list_accounts;
use serde_json::Value;

use super::Ctx;
use crate::cli::ListArgs;
use crate::errln;
use crate::error::{CliError, report_error};
use crate::exit::{exit_code, worst};
use crate::output::{Cell, Table, run_json, time_cell};

pub(super) async fn run(ctx: &Ctx, args: ListArgs) -> Result<i32, CliError> {
    let registry = ctx.accounts()?;
    let accounts = registry
        .select(&args.selector.accounts)
        .map_err(|error| CliError::Api {
            account: None,
            error,
        })?;
    let selector = args.selector.selector().with_list_limits(ctx.list_limits);
    let limit = args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let listings = list_accounts(&accounts, &selector, limit).await;

    let mut codes = Vec::new();
    let mut json = Vec::new();
    let mut table = Table::new(&["ACCOUNT", "ID", "STATE", "KIND", "NAME", "CREATED"]);
    for listing in &listings {
        match &listing.result {
            Ok(runs) => {
                for run in runs {
                    if ctx.jsonl() {
                        ctx.out.line(run_json(run, &listing.account, ctx.raw))?;
                    } else if ctx.json() {
                        json.push(run_json(run, &listing.account, ctx.raw));
                    } else {
                        table.push(vec![
                            Cell::plain(listing.account.clone()),
                            Cell::plain(run.id.as_str()),
                            Cell::state(run.state),
                            Cell::plain(run.kind.clone().unwrap_or_else(|| "-".to_owned())),
                            Cell::plain(run.name.clone().unwrap_or_else(|| "-".to_owned())),
                            time_cell(run.created_at),
                        ]);
                    }
                }
            }
            Err(e) => {
                report_error(Some(&listing.account), e);
                codes.push(exit_code(e));
            }
        }
    }
    if ctx.jsonl() {
        // Every run is already out, one per line.
    } else if ctx.json() {
        ctx.out.json(&Value::Array(json))?;
    } else if table.is_empty() {
        if codes.is_empty() {
            errln!("no runs match");
        }
    } else {
        ctx.out
            .line(format_args!("{}", table.render(&ctx.term).trim_end()))?;
    }
    Ok(worst(codes))
}
