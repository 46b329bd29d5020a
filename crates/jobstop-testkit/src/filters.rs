//! List filter checks, each gated by `capabilities()`.

use std::collections::HashSet;

use jobstop_core::{ErrorKind, JobController, ListQuery, Run, RunId, RunState};

use crate::support::{self, Cx, id};
use crate::{CheckOutcome, Fixture};

/// Lists `q` through `list_all` and asserts every run matches it (by
/// [`ListQuery::matches`]), carries the vendor and appears once; and that every
/// run of `unfiltered` that matches `q` and passes `stable` is included.
async fn filtered(
    cx: &Cx,
    ctrl: &dyn JobController,
    q: ListQuery,
    unfiltered: &[Run],
    stable: impl Fn(&Run) -> bool,
) -> Vec<Run> {
    let label = support::query(&q);
    let runs = support::list_all(cx, ctrl, q.clone()).await;
    support::assert_unique(cx, &format!("list_all ({label})"), &runs);
    for r in &runs {
        support::assert_vendor(cx, &format!("list_all ({label})"), r);
        assert!(
            q.matches(r),
            "{cx}: list_all ({label}) returned {}, which does not match the filter",
            support::run(r)
        );
    }
    let got: HashSet<&RunId> = runs.iter().map(|r| &r.id).collect();
    for r in unfiltered {
        if q.matches(r) && stable(r) {
            assert!(
                got.contains(&r.id),
                "{cx}: {} is in the unfiltered listing and matches ({label}), but the filtered \
                 listing ({} runs) leaves it out",
                support::run(r),
                runs.len()
            );
        }
    }
    runs
}

/// Asserts that a query using a filter the controller declares unsupported is
/// refused with `ErrorKind::Unsupported`.
async fn refused(cx: &Cx, ctrl: &dyn JobController, q: ListQuery, filter: &str) {
    let label = support::query(&q);
    match ctrl.list(&q).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => {}
        Err(e) => panic!(
            "{cx}: capabilities() says the {filter} filter is Unsupported, so list ({label}) must \
             fail with Unsupported, but it failed with {}",
            support::error(&e)
        ),
        Ok(page) => panic!(
            "{cx}: capabilities() says the {filter} filter is Unsupported, so list ({label}) must \
             fail with Unsupported, but it returned a page of {} runs",
            page.runs.len()
        ),
    }
}

fn assert_includes(cx: &Cx, label: &str, runs: &[Run], which: &str, r: &Run) {
    assert!(
        runs.iter().any(|x| x.id == r.id),
        "{cx}: list_all ({label}) returned {} runs without the fixture's {which} {}",
        runs.len(),
        support::run(r)
    );
}

async fn running_run(cx: &Cx, ctrl: &dyn JobController, fx: &Fixture) -> Run {
    let r = support::status(cx, ctrl, "running", &fx.running).await;
    assert!(
        r.state.is_active(),
        "{cx}: bad fixture: the running run must be active when the suite starts, but status \
         says {}",
        support::run(&r)
    );
    r
}

fn unfiltered_query(fx: &Fixture) -> ListQuery {
    ListQuery::new().with_page_size(fx.page_size)
}

/// The state filter returns only runs in the asked states, including the
/// fixture's runs in those states.
///
/// Lists the running run's state (normally `{running}`) and asserts every run
/// is in it and `fx.running` is included; then the running and finished runs'
/// two states together, asserting both runs are included. Terminal runs of the
/// unfiltered listing in the asked states must all be included (active runs may
/// change state between listings, so they are not required).
///
/// If `capabilities().state_filter` is `Unsupported`, asserts a state query is
/// refused with `Unsupported` and reports the check skipped.
pub async fn check_state_filter(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "state_filter");
    if !ctrl.capabilities().state_filter.is_supported() {
        let q = unfiltered_query(fx).with_state(RunState::Running);
        refused(&cx, ctrl, q, "state").await;
        return CheckOutcome::Skipped(
            "state filter unsupported; a state query is refused with Unsupported".to_owned(),
        );
    }
    let running = running_run(&cx, ctrl, fx).await;
    let finished = support::status(&cx, ctrl, "finished", &fx.finished).await;
    assert!(
        finished.state.is_terminal(),
        "{cx}: bad fixture: the finished run must be terminal, but status says {}",
        support::run(&finished)
    );
    let all = support::list_all(&cx, ctrl, unfiltered_query(fx)).await;
    let stable = |r: &Run| r.state.is_terminal();

    let q = unfiltered_query(fx).with_state(running.state);
    let label = support::query(&q);
    let runs = filtered(&cx, ctrl, q, &all, stable).await;
    assert_includes(&cx, &label, &runs, "running", &running);

    let q = unfiltered_query(fx).with_states([running.state, finished.state]);
    let label = support::query(&q);
    let runs = filtered(&cx, ctrl, q, &all, stable).await;
    assert_includes(&cx, &label, &runs, "running", &running);
    assert_includes(&cx, &label, &runs, "finished", &finished);
    CheckOutcome::Passed
}

/// The kind filter returns exactly the runs of that kind.
///
/// The kind is `fx.kind`, or else the running run's kind (skipped if it has
/// none). Every returned run has that kind; every run of that kind in the
/// unfiltered listing is returned; the running run is included when its kind
/// matches.
///
/// If `capabilities().kind_filter` is `Unsupported`, asserts a kind query is
/// refused with `Unsupported` and reports the check skipped.
pub async fn check_kind_filter(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "kind_filter");
    let running = running_run(&cx, ctrl, fx).await;
    let kind = fx.kind.clone().or_else(|| running.kind.clone());
    if !ctrl.capabilities().kind_filter.is_supported() {
        let probe = kind.unwrap_or_else(|| "jobstop-conformance".to_owned());
        refused(&cx, ctrl, unfiltered_query(fx).with_kind(probe), "kind").await;
        return CheckOutcome::Skipped(
            "kind filter unsupported; a kind query is refused with Unsupported".to_owned(),
        );
    }
    let Some(kind) = kind else {
        return CheckOutcome::Skipped(
            "no kind to filter by: the fixture sets none and the running run has none".to_owned(),
        );
    };
    let all = support::list_all(&cx, ctrl, unfiltered_query(fx)).await;
    let q = unfiltered_query(fx).with_kind(kind.clone());
    let label = support::query(&q);
    let runs = filtered(&cx, ctrl, q, &all, |_| true).await;
    if running.kind.as_deref() == Some(kind.as_str()) {
        assert_includes(&cx, &label, &runs, "running", &running);
    }
    CheckOutcome::Passed
}

/// Swaps the case of ASCII letters, leaving everything else alone.
fn swap_ascii_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The name filter is a case-insensitive substring match.
///
/// The text is `fx.name_fragment`, or else the running run's name without its
/// first character (so a prefix-only match fails); skipped if neither exists.
/// Lists with the text as is and with the case of its ASCII letters swapped;
/// each time every returned run's name contains the text ignoring case, every
/// such run of the unfiltered listing is returned, and the running run is
/// included when its name matches.
///
/// If `capabilities().name_filter` is `Unsupported`, asserts a name query is
/// refused with `Unsupported` and reports the check skipped.
pub async fn check_name_filter(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "name_filter");
    let running = running_run(&cx, ctrl, fx).await;
    let derived = running.name.as_deref().map(|name| {
        let mut chars = name.chars();
        if name.chars().count() >= 2 {
            chars.next();
        }
        chars.as_str().to_owned()
    });
    let text = fx.name_fragment.clone().or(derived);
    if !ctrl.capabilities().name_filter.is_supported() {
        let probe = text.unwrap_or_else(|| "jobstop-conformance".to_owned());
        refused(
            &cx,
            ctrl,
            unfiltered_query(fx).with_name_contains(probe),
            "name",
        )
        .await;
        return CheckOutcome::Skipped(
            "name filter unsupported; a name query is refused with Unsupported".to_owned(),
        );
    }
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return CheckOutcome::Skipped(
            "no name to filter by: the fixture sets none and the running run has none".to_owned(),
        );
    };
    let all = support::list_all(&cx, ctrl, unfiltered_query(fx)).await;
    let mut texts = vec![text.clone()];
    let swapped = swap_ascii_case(&text);
    if swapped != text {
        texts.push(swapped);
    }
    for t in texts {
        let q = unfiltered_query(fx).with_name_contains(t);
        let label = support::query(&q);
        let runs = filtered(&cx, ctrl, q.clone(), &all, |_| true).await;
        if q.matches(&running) {
            assert_includes(&cx, &label, &runs, "running", &running);
        }
    }
    CheckOutcome::Passed
}

/// `created_after` is inclusive and `created_before` exclusive.
///
/// Takes the running run's `created_at` (skipped if it has none). Listing
/// with `created_after` = it returns only runs created at or after it,
/// including the running run; with `created_before` = it, only runs created
/// before it, excluding the running run. Either way every such run of the
/// unfiltered listing is returned.
///
/// If `capabilities().created_filter` is `Unsupported`, asserts both queries
/// are refused with `Unsupported` and reports the check skipped.
pub async fn check_created_filter(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "created_filter");
    let running = running_run(&cx, ctrl, fx).await;
    if !ctrl.capabilities().created_filter.is_supported() {
        let t = running.created_at.unwrap_or_default();
        refused(
            &cx,
            ctrl,
            unfiltered_query(fx).with_created_after(t),
            "created",
        )
        .await;
        refused(
            &cx,
            ctrl,
            unfiltered_query(fx).with_created_before(t),
            "created",
        )
        .await;
        return CheckOutcome::Skipped(
            "creation-time filter unsupported; created_after and created_before queries are refused \
             with Unsupported"
                .to_owned(),
        );
    }
    let Some(t) = running.created_at else {
        return CheckOutcome::Skipped(format!(
            "the running run {} has no created_at",
            id(&running.id)
        ));
    };
    let all = support::list_all(&cx, ctrl, unfiltered_query(fx)).await;

    let q = unfiltered_query(fx).with_created_after(t);
    let label = support::query(&q);
    let runs = filtered(&cx, ctrl, q, &all, |_| true).await;
    assert_includes(&cx, &label, &runs, "running", &running);

    let q = unfiltered_query(fx).with_created_before(t);
    let label = support::query(&q);
    let runs = filtered(&cx, ctrl, q, &all, |_| true).await;
    assert!(
        !runs.iter().any(|r| r.id == running.id),
        "{cx}: list_all ({label}) includes the running {}: created_before is exclusive",
        support::run(&running)
    );
    CheckOutcome::Passed
}
