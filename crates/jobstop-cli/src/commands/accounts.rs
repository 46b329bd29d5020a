//! `jobstop accounts`.

use serde_json::json;

use super::Ctx;
use crate::errln;
use crate::error::CliError;
use crate::exit::EXIT_OK;
use crate::output::{Cell, Table};

/// Prints name, vendor and base URL of every account. Credentials are never
/// printed: an account holds them only inside its controller, whose `Debug`
/// masks them, and nothing here reads them.
pub(super) fn run(ctx: &Ctx) -> Result<i32, CliError> {
    let registry = ctx.registry()?;
    if ctx.json() {
        let list: Vec<_> = registry
            .accounts()
            .map(|a| {
                json!({
                    "name": a.name,
                    "vendor": a.vendor.as_str(),
                    "base_url": a.base_url,
                    "credentials": "***",
                })
            })
            .collect();
        ctx.out.json(&serde_json::Value::Array(list))?;
        return Ok(EXIT_OK);
    }
    if registry.is_empty() {
        errln!(
            "jobstop: {}",
            super::no_accounts_hint(ctx.config.as_deref())
        );
        return Ok(EXIT_OK);
    }
    let mut table = Table::new(&["ACCOUNT", "VENDOR", "BASE URL", "CREDENTIALS"]);
    for a in registry.accounts() {
        table.push(vec![
            Cell::plain(a.name.clone()),
            Cell::plain(a.vendor.as_str()),
            Cell::plain(a.base_url.clone()),
            Cell::plain("***"),
        ]);
    }
    ctx.out
        .line(format_args!("{}", table.render(&ctx.term).trim_end()))?;
    Ok(EXIT_OK)
}
