//! `jobstop accounts`.

use jobstop::http::Shown;
use serde_json::json;

use super::Ctx;
use crate::errln;
use crate::error::CliError;
use crate::exit::EXIT_OK;
use crate::output::{Cell, Table};

/// Prints name, vendor, base URL and settings of every account. The settings
/// come from the vendor's config table ([`jobstop::Account::settings`]):
/// secrets appear only as `set`, never their values.
pub(super) fn run(ctx: &Ctx) -> Result<i32, CliError> {
    let registry = ctx.registry()?;
    if ctx.json() {
        let list: Vec<_> = registry
            .accounts()
            .map(|a| {
                let settings: serde_json::Map<String, serde_json::Value> = a
                    .settings
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Shown::Unset => serde_json::Value::Null,
                            shown => serde_json::Value::String(shown.to_string()),
                        };
                        (k.clone(), v)
                    })
                    .collect();
                json!({
                    "name": a.name,
                    "vendor": a.vendor.as_str(),
                    "base_url": a.base_url,
                    "settings": settings,
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
    let mut table = Table::new(&["ACCOUNT", "VENDOR", "BASE URL", "SETTINGS"]);
    for a in registry.accounts() {
        let settings: Vec<String> = a
            .settings
            .iter()
            .filter(|(k, v)| v.is_set() && k != "base_url")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        table.push(vec![
            Cell::plain(a.name.clone()),
            Cell::plain(a.vendor.as_str()),
            Cell::plain(a.base_url.clone()),
            Cell::plain(settings.join(" ")),
        ]);
    }
    ctx.out
        .line(format_args!("{}", table.render(&ctx.term).trim_end()))?;
    Ok(EXIT_OK)
}
