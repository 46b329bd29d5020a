//! Helpers shared by the checks: panic context, descriptions, listing loops.

use std::collections::HashMap;
use std::fmt;

use futures::TryStreamExt;
use jobstop_core::{
    Cursor, Error, ErrorKind, JobController, JobControllerExt, ListQuery, Operation, Page, Run,
    RunId, StopOutcome, Vendor,
};

use crate::Fixture;

/// The most pages one listing may take before the kit calls it endless.
const MAX_PAGES: usize = 10_000;

/// Says which vendor and check a message is about: `conformance <vendor>: <check>`.
#[derive(Debug, Clone)]
pub(crate) struct Cx {
    pub(crate) vendor: Vendor,
    pub(crate) check: &'static str,
}

impl fmt::Display for Cx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conformance {}: {}", self.vendor, self.check)
    }
}

/// Starts a check: validates the fixture and returns the message context.
pub(crate) fn start(ctrl: &dyn JobController, fx: &Fixture, check: &'static str) -> Cx {
    let cx = Cx {
        vendor: ctrl.vendor(),
        check,
    };
    assert!(
        fx.page_size >= 1,
        "{cx}: bad fixture: page_size must be at least 1"
    );
    let mut named = vec![
        ("running", &fx.running),
        ("finished", &fx.finished),
        ("unknown", &fx.unknown),
    ];
    if let Some(second) = &fx.second_running {
        named.push(("second_running", second));
    }
    for (i, (a, x)) in named.iter().enumerate() {
        for (b, y) in &named[i + 1..] {
            assert!(
                x != y,
                "{cx}: bad fixture: `{a}` and `{b}` are the same id {}",
                id(x)
            );
        }
    }
    cx
}

/// An id, safe for one line.
pub(crate) fn id(id: &RunId) -> String {
    format!("{:?}", id.escape_for_display().to_string())
}

/// A run in one line: id, state, vendor state and the filterable fields.
pub(crate) fn run(r: &Run) -> String {
    let mut s = format!(
        "run {} [vendor {}, state {}, vendor_state {:?}",
        id(&r.id),
        r.vendor,
        r.state,
        r.vendor_state
    );
    if let Some(k) = &r.kind {
        s.push_str(&format!(", kind {k:?}"));
    }
    if let Some(n) = &r.name {
        s.push_str(&format!(", name {n:?}"));
    }
    if let Some(t) = &r.created_at {
        s.push_str(&format!(", created_at {t:?}"));
    }
    s.push(']');
    s
}

/// An outcome in one line: the variant and its run.
pub(crate) fn outcome(o: &StopOutcome) -> String {
    format!("{}({})", o.as_str(), run(o.run()))
}

/// The filters of a query in one line.
pub(crate) fn query(q: &ListQuery) -> String {
    let mut parts = Vec::new();
    if !q.states.is_empty() {
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        parts.push(format!("states {{{}}}", states.join(", ")));
    }
    if let Some(k) = &q.kind {
        parts.push(format!("kind {k:?}"));
    }
    if let Some(n) = &q.name_contains {
        parts.push(format!("name_contains {n:?}"));
    }
    if let Some(t) = &q.created_after {
        parts.push(format!("created_after {t:?}"));
    }
    if let Some(t) = &q.created_before {
        parts.push(format!("created_before {t:?}"));
    }
    if let Some(n) = q.page_size {
        parts.push(format!("page_size {n}"));
    }
    if parts.is_empty() {
        "no filter".to_owned()
    } else {
        parts.join(", ")
    }
}

/// An error in one line, with its kind spelled out.
pub(crate) fn error(e: &Error) -> String {
    format!("[{:?}] {e}", e.kind())
}

/// Unwraps a result or panics saying which call failed and how.
pub(crate) fn ok<T>(cx: &Cx, what: &str, result: jobstop_core::Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{cx}: {what} failed: {}", error(&e)),
    }
}

/// Asserts a run carries the controller's vendor.
pub(crate) fn assert_vendor(cx: &Cx, what: &str, r: &Run) {
    assert!(
        r.vendor == cx.vendor,
        "{cx}: {what} returned {} whose vendor is {:?}, expected {:?}",
        run(r),
        r.vendor.as_str(),
        cx.vendor.as_str()
    );
}

/// Status of a fixture run, checked to be the run asked for.
pub(crate) async fn status(cx: &Cx, ctrl: &dyn JobController, which: &str, rid: &RunId) -> Run {
    let what = format!("status of {which} run {}", id(rid));
    let r = ok(cx, &what, ctrl.status(rid).await);
    assert!(
        r.id == *rid,
        "{cx}: {what} returned a different run: {}",
        run(&r)
    );
    assert_vendor(cx, &what, &r);
    r
}

/// Checks what any successful stop must look like: the same id, the
/// controller's vendor, and a state that agrees with the variant
/// (`requested` is not terminal; `stopped` and `already_finished` are).
pub(crate) fn assert_outcome_shape(cx: &Cx, what: &str, rid: &RunId, o: &StopOutcome) {
    let r = o.run();
    assert!(
        r.id == *rid,
        "{cx}: {what} of {} returned a different run: {}",
        id(rid),
        outcome(o)
    );
    assert_vendor(cx, what, r);
    match o {
        StopOutcome::Requested(_) => assert!(
            !r.state.is_terminal(),
            "{cx}: {what} of {} returned requested, which means `not terminal yet`, \
             with a terminal run: {}; the adapter should answer stopped or already_finished",
            id(rid),
            outcome(o)
        ),
        StopOutcome::Stopped(_) | StopOutcome::AlreadyFinished(_) => assert!(
            r.state.is_terminal(),
            "{cx}: {what} of {} returned {} with a run that is not terminal: {}",
            id(rid),
            o.as_str(),
            outcome(o)
        ),
        _ => panic!(
            "{cx}: {what} of {} returned an outcome this kit does not know: {}",
            id(rid),
            o.as_str()
        ),
    }
}

/// Checks an error is `NotFound` for `rid` from `operation`, with one-line
/// `Display`, and with context (where set) that names this call.
pub(crate) fn assert_not_found(cx: &Cx, what: &str, rid: &RunId, operation: Operation, e: &Error) {
    assert!(
        e.kind() == ErrorKind::NotFound,
        "{cx}: {what} of unknown id {} must fail with NotFound, got {}",
        id(rid),
        error(e)
    );
    if let Some(got) = e.run_id() {
        assert!(
            got == rid,
            "{cx}: {what} of unknown id {}: the NotFound error names run {} instead: {}",
            id(rid),
            id(got),
            error(e)
        );
    }
    if let Some(v) = e.vendor() {
        assert!(
            *v == cx.vendor,
            "{cx}: {what} of unknown id {}: the error names vendor {:?}, expected {:?}: {}",
            id(rid),
            v.as_str(),
            cx.vendor.as_str(),
            error(e)
        );
    }
    if let Some(op) = e.operation() {
        assert!(
            op == operation,
            "{cx}: {what} of unknown id {}: the error names operation {op}, expected {operation}: {}",
            id(rid),
            error(e)
        );
    }
    let shown = e.to_string();
    assert!(
        !shown.is_empty() && !shown.contains('\n') && !shown.contains('\r'),
        "{cx}: {what} of unknown id {}: the error's Display must be one non-empty line, got {shown:?}",
        id(rid)
    );
}

/// Follows cursors page by page, as a caller would, and returns every page.
///
/// Panics on an error, on a cursor handed back twice (the listing would never
/// end) and past [`MAX_PAGES`] pages.
pub(crate) async fn pages(cx: &Cx, ctrl: &dyn JobController, first: ListQuery) -> Vec<Page> {
    let mut out: Vec<Page> = Vec::new();
    let mut seen: HashMap<Cursor, usize> = HashMap::new();
    let mut q = first;
    loop {
        let n = out.len() + 1;
        let what = match &q.cursor {
            None => format!("list page 1 ({})", query(&q)),
            Some(c) => format!("list page {n} ({}, cursor {:?})", query(&q), c.as_str()),
        };
        let page = ok(cx, &what, ctrl.list(&q).await);
        let next = page.next_cursor.clone();
        out.push(page);
        let Some(cursor) = next else {
            return out;
        };
        if let Some(earlier) = seen.insert(cursor.clone(), n) {
            panic!(
                "{cx}: {what} returned next_cursor {:?}, which page {earlier} already returned: \
                 following cursors would never end",
                cursor.as_str()
            );
        }
        assert!(
            n < MAX_PAGES,
            "{cx}: the listing ({}) did not end after {MAX_PAGES} pages",
            query(&q)
        );
        q.cursor = Some(cursor);
    }
}

/// Every run of a listing through [`JobControllerExt::list_all`].
pub(crate) async fn list_all(cx: &Cx, ctrl: &dyn JobController, q: ListQuery) -> Vec<Run> {
    let what = format!("list_all ({})", query(&q));
    let runs: jobstop_core::Result<Vec<Run>> = ctrl.list_all(q).try_collect().await;
    ok(cx, &what, runs)
}

/// Asserts no id appears twice in `runs`.
pub(crate) fn assert_unique(cx: &Cx, what: &str, runs: &[Run]) {
    let mut at: HashMap<&RunId, usize> = HashMap::new();
    for (i, r) in runs.iter().enumerate() {
        if let Some(first) = at.insert(&r.id, i) {
            panic!(
                "{cx}: {what}: run {} appears twice (positions {first} and {i} of {})",
                id(&r.id),
                runs.len()
            );
        }
    }
}
