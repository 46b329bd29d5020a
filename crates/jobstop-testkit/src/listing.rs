//! Paging checks.

use std::collections::HashMap;

use jobstop_core::{JobController, ListQuery, RunId};

use crate::support::{self, id};
use crate::{CheckOutcome, Fixture};

/// Pages of an unfiltered listing with `fx.page_size`, followed by cursor
/// until `next_cursor` is `None`.
///
/// Asserts that:
/// - the first page has a next cursor, so the listing has at least two pages;
/// - no page holds more than `page_size` runs (pages may be short or empty);
/// - no cursor comes back twice (the listing ends);
/// - no run id appears twice across the pages;
/// - every run carries `ctrl.vendor()`;
/// - `fx.running` and `fx.finished` are both listed;
/// - a page carries a total only if `capabilities().total_count`, and any total
///   equals the number of runs listed.
pub async fn check_pages(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "pages");
    let caps = ctrl.capabilities();
    let q = ListQuery::new().with_page_size(fx.page_size);
    let pages = support::pages(&cx, ctrl, q).await;

    let first = &pages[0];
    assert!(
        first.next_cursor.is_some(),
        "{cx}: the first page (page_size {}) has {} runs and no next_cursor, so the listing has \
         one page; the conformance run needs at least two: lower the fixture's page_size or add \
         runs to the account (or the adapter drops the vendor's cursor)",
        fx.page_size,
        first.runs.len()
    );

    let mut where_seen: HashMap<&RunId, usize> = HashMap::new();
    let mut count: u64 = 0;
    for (i, page) in pages.iter().enumerate() {
        let n = i + 1;
        assert!(
            page.runs.len() <= fx.page_size as usize,
            "{cx}: page {n} holds {} runs, more than the page_size {} asked for (first ids: {})",
            page.runs.len(),
            fx.page_size,
            page.runs
                .iter()
                .take(5)
                .map(|r| id(&r.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for r in &page.runs {
            support::assert_vendor(&cx, &format!("list page {n}"), r);
            if let Some(earlier) = where_seen.insert(&r.id, n) {
                panic!(
                    "{cx}: run {} appears on page {earlier} and again on page {n}: every run must \
                     appear once across the pages of one listing",
                    id(&r.id)
                );
            }
            count += 1;
        }
        if let Some(total) = page.total {
            assert!(
                caps.total_count,
                "{cx}: page {n} carries a total ({total}) but capabilities().total_count is false"
            );
        }
    }
    for (i, page) in pages.iter().enumerate() {
        if let Some(total) = page.total {
            assert!(
                total == count,
                "{cx}: page {} reports total {total} but the unfiltered listing returned {count} \
                 runs over {} pages",
                i + 1,
                pages.len()
            );
        }
    }
    for (which, rid) in [("running", &fx.running), ("finished", &fx.finished)] {
        assert!(
            where_seen.contains_key(rid),
            "{cx}: the fixture's {which} run {} is not in the unfiltered listing ({count} runs over \
             {} pages of page_size {}): pages were skipped, or the fixture names a run this \
             account cannot list",
            id(rid),
            pages.len(),
            fx.page_size
        );
    }
    CheckOutcome::Passed
}

/// [`JobControllerExt::list_all`](jobstop_core::JobControllerExt::list_all)
/// returns exactly the runs of the pages, in the same order.
///
/// Lists page by page with `fx.page_size`, then through `list_all` with the
/// same query, and compares the two id sequences.
pub async fn check_list_all(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "list_all");
    let q = ListQuery::new().with_page_size(fx.page_size);
    let pages = support::pages(&cx, ctrl, q.clone()).await;
    let paged: Vec<&RunId> = pages
        .iter()
        .flat_map(|p| p.runs.iter().map(|r| &r.id))
        .collect();
    let all = support::list_all(&cx, ctrl, q).await;
    let streamed: Vec<&RunId> = all.iter().map(|r| &r.id).collect();
    if paged != streamed {
        let at = paged
            .iter()
            .zip(&streamed)
            .position(|(a, b)| a != b)
            .unwrap_or(paged.len().min(streamed.len()));
        let show = |v: Option<&&RunId>| v.map_or_else(|| "<end>".to_owned(), |r| id(r));
        panic!(
            "{cx}: list_all returned {} runs but the {} pages hold {}; they first differ at \
             position {at}: list_all has {}, the pages have {}",
            streamed.len(),
            pages.len(),
            paged.len(),
            show(streamed.get(at)),
            show(paged.get(at))
        );
    }
    CheckOutcome::Passed
}
