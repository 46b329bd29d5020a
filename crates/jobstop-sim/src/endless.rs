//! Listings that never end, to prove that a client bounds its own: one
//! [`FaultRule`] per vendor ([`VendorSim::endless`](crate::VendorSim::endless)) that rewrites the simulator's list answers
//! ([`Fault::MapJson`]) so that every page announces a next page with a
//! cursor never handed out before, and no page is ever empty.
//!
//! Each page holds the runs of the first non-empty answer the rule saw
//! (repeated to `page_size` where the vendor's client takes a short page as
//! the last), either as they are ([`EndlessRuns::Same`]: a client that checks
//! for progress stops at the second page) or with every id changed per page
//! ([`EndlessRuns::New`]: only a page budget or a deadline stops it).
//!
//! | vendor | route | how the listing goes on |
//! |---|---|---|
//! | Amperity | `GET /workflow/runs` (under the `/api` prefix) | a fresh `next_token` (valid, pointing before the first run) on every page; the listing must have a second page for the rule to learn the filters' token ([`Amperity`](crate::amperity::Amperity)) |
//! | Chorus | `GET /api/workspaces/…` | `pagination.total` one more than `page`, no `records` ([`Chorus`](crate::chorus::Chorus)) |
//! | DataArts | `GET /v1/{project}/jobs` | `total` of 10¹² (the job listings never end; [`DataArts`](crate::dataarts::DataArts)) |
//! | CenturyLink | `GET /jobs/{alias}/{job}/executions` | `totalSize` of 10¹² ([`CenturyLink`](crate::centurylink::CenturyLink)) |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use jobstop_sim::AnySim;
//! use jobstop_sim::chorus::ChorusSim;
//! use jobstop_sim::endless::EndlessRuns;
//!
//! let sim = ChorusSim::builder().running(3).start().await.unwrap();
//! sim.faults().add(sim.endless(50, EndlessRuns::New));
//! // Every listing of the workspace now goes on forever.
//! # }
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::{Fault, FaultRule, Route, lock};

/// What the pages of an endless listing hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndlessRuns {
    /// The same runs on every page.
    Same,
    /// Other runs on every page (every id field changed with the page's
    /// number).
    New,
}

/// The rule of a vendor whose client pages while the listing's `total` is
/// not reached: every page's `items` filled by [`Pages`] (whose run ids are
/// in `ids`) and its `total` set to 10¹², a total no listing reaches.
#[cfg_attr(
    not(any(feature = "dataarts", feature = "centurylink")),
    allow(dead_code)
)]
pub(crate) fn huge_total(
    page_size: usize,
    runs: EndlessRuns,
    ids: &'static [&'static str],
    items: &'static str,
    total: &'static str,
    route: Route,
) -> FaultRule {
    let pages = Pages::new(page_size, runs, ids);
    let fault = Fault::map_json(format!("endless {total}"), move |body| {
        if let Some(items) = body.get_mut(items) {
            pages.fill(items);
        }
        if let Some(obj) = body.as_object_mut() {
            obj.insert(total.into(), Value::from(1_000_000_000_000_u64));
        }
    });
    FaultRule::new(route, fault)
}

/// The state one rule keeps between answers.
pub(crate) struct Pages {
    served: AtomicU64,
    first: Mutex<Vec<Value>>,
    page_size: usize,
    runs: EndlessRuns,
    ids: &'static [&'static str],
}

impl Pages {
    pub(crate) fn new(page_size: usize, runs: EndlessRuns, ids: &'static [&'static str]) -> Self {
        Pages {
            served: AtomicU64::new(0),
            first: Mutex::new(Vec::new()),
            page_size: page_size.max(1),
            runs,
            ids,
        }
    }

    /// Replaces `items` with this page's runs; returns the page's number.
    pub(crate) fn fill(&self, items: &mut Value) -> u64 {
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        let mut first = lock(&self.first);
        if first.is_empty()
            && let Some(a) = items.as_array().filter(|a| !a.is_empty())
        {
            first.clone_from(a);
        }
        if first.is_empty() {
            return n;
        }
        let mut page: Vec<Value> = first.iter().cycle().take(self.page_size).cloned().collect();
        if self.runs == EndlessRuns::New {
            for item in &mut page {
                renumber(item, self.ids, n);
            }
        }
        *items = Value::Array(page);
        n
    }
}

/// Changes every id field of `item` with `n`: a number gains `n × 10⁹`, a
/// string of digits gains the digits of `n`, another string `-n`.
fn renumber(item: &mut Value, fields: &[&str], n: u64) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    for field in fields {
        let Some(v) = obj.get_mut(*field) else {
            continue;
        };
        match v {
            Value::Number(num) => {
                if let Some(x) = num.as_u64() {
                    *v = Value::from(x.wrapping_add(n.wrapping_mul(1_000_000_000)));
                }
            }
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.push_str(&n.to_string());
            }
            Value::String(s) => s.push_str(&format!("-{n}")),
            _ => {}
        }
    }
}
