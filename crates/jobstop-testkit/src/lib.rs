#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use jobstop_core::{JobController, Vendor};

mod filters;
mod fixture;
pub mod fuzz;
mod listing;
mod logs;
pub mod python;
pub mod secrets;
mod status;
mod stop;
mod support;
pub mod wiretap;

pub use filters::{check_created_filter, check_kind_filter, check_name_filter, check_state_filter};
pub use fixture::Fixture;
pub use listing::{check_list_all, check_pages};
pub use logs::LogCapture;
pub use status::{check_status, check_unknown_id};
pub use stop::{check_force_stop, check_stop_finished, check_stop_many, check_stop_running};

/// How a check that did not panic ended.
///
/// A check that finds a controller breaking the contract panics with a message
/// naming the vendor, the check, the ids and the states involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Every assertion of the check held.
    Passed,
    /// The check could not run in full, for the reason given (a capability the
    /// controller does not have, or something the fixture does not provide).
    /// Whatever could still be asserted was.
    Skipped(String),
}

/// One line of [`run_all`]'s summary.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// The check's name, as printed (`pages`, `stop_running`, …).
    pub name: &'static str,
    /// How it ended.
    pub outcome: CheckOutcome,
}

/// The checks in the order [`run_all`] runs them: read-only checks first, then
/// the ones that stop runs.
pub const CHECKS: [&str; 12] = [
    "pages",
    "list_all",
    "state_filter",
    "kind_filter",
    "name_filter",
    "created_filter",
    "status",
    "unknown_id",
    "stop_finished",
    "stop_running",
    "force_stop",
    "stop_many",
];

async fn step(
    vendor: &Vendor,
    name: &'static str,
    check: impl Future<Output = CheckOutcome>,
    out: &mut Vec<CheckReport>,
) {
    match AssertUnwindSafe(check).catch_unwind().await {
        Ok(outcome) => {
            match &outcome {
                CheckOutcome::Passed => eprintln!("conformance {vendor}: {name} ok"),
                CheckOutcome::Skipped(why) => {
                    eprintln!("conformance {vendor}: {name} skipped ({why})")
                }
            }
            out.push(CheckReport { name, outcome });
        }
        Err(panic) => {
            eprintln!("conformance {vendor}: {name} FAILED");
            std::panic::resume_unwind(panic)
        }
    }
}

/// Runs every check against `ctrl` in a safe order ([`CHECKS`]): the read-only
/// checks, then the stops. Prints one line per check to stderr
/// (`conformance <vendor>: <check> ok` or `… skipped (<reason>)`, and
/// `… FAILED` before a failing check's panic goes on), and returns the same as
/// a list.
///
/// Panics at the first check that fails. It stops `fx.running` and
/// `fx.second_running`, so a fixture serves one run.
pub async fn run_all(ctrl: &dyn JobController, fx: &Fixture) -> Vec<CheckReport> {
    let vendor = ctrl.vendor();
    let v = &vendor;
    let mut out = Vec::with_capacity(CHECKS.len());
    step(v, "pages", check_pages(ctrl, fx), &mut out).await;
    step(v, "list_all", check_list_all(ctrl, fx), &mut out).await;
    step(v, "state_filter", check_state_filter(ctrl, fx), &mut out).await;
    step(v, "kind_filter", check_kind_filter(ctrl, fx), &mut out).await;
    step(v, "name_filter", check_name_filter(ctrl, fx), &mut out).await;
    step(
        v,
        "created_filter",
        check_created_filter(ctrl, fx),
        &mut out,
    )
    .await;
    step(v, "status", check_status(ctrl, fx), &mut out).await;
    step(v, "unknown_id", check_unknown_id(ctrl, fx), &mut out).await;
    step(v, "stop_finished", check_stop_finished(ctrl, fx), &mut out).await;
    step(v, "stop_running", check_stop_running(ctrl, fx), &mut out).await;
    step(v, "force_stop", check_force_stop(ctrl, fx), &mut out).await;
    step(v, "stop_many", check_stop_many(ctrl, fx), &mut out).await;
    debug_assert_eq!(out.len(), CHECKS.len());
    out
}
