//! The conformance kit against the in-memory controller: it passes with every
//! stop behaviour, and controllers that break the contract are caught.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use jobstop_core::{
    Capabilities, ErrorKind, InMemoryController, JobController, ListQuery, Page, Result, Run,
    RunId, RunState, StopBehavior, StopOutcome, StopRequest, Vendor, WaitOptions,
};
use jobstop_testkit::{CHECKS, CheckOutcome, CheckReport, Fixture, run_all};

/// 120 runs in mixed states; the running run sits on page 5 of 6 (page size 20).
fn seeded(behavior: StopBehavior) -> (InMemoryController, Fixture) {
    let ctrl = InMemoryController::new().with_stop_behavior(behavior);
    let ids = ctrl.seed(120, RunState::Running);
    for (i, id) in ids.iter().enumerate() {
        let state = match i % 6 {
            0 => RunState::Succeeded,
            1 => RunState::Failed,
            2 => RunState::Stopped,
            3 => RunState::Queued,
            4 => RunState::Running,
            _ => RunState::Paused,
        };
        ctrl.set_state(id, state).expect("seeded id");
    }
    let fx = Fixture::new(ids[88].clone(), ids[6].clone(), "mem-999999")
        .with_page_size(20)
        .with_second_running(ids[112].clone())
        .with_wait(
            WaitOptions::default()
                .with_timeout(Duration::from_secs(2))
                .with_intervals(Duration::from_millis(1), Duration::from_millis(10)),
        );
    assert_eq!(ctrl.runs()[88].state, RunState::Running);
    assert_eq!(ctrl.runs()[112].state, RunState::Running);
    (ctrl, fx)
}

fn assert_all_passed(report: &[CheckReport]) {
    let names: Vec<&str> = report.iter().map(|c| c.name).collect();
    assert_eq!(names, CHECKS);
    for c in report {
        assert_eq!(c.outcome, CheckOutcome::Passed, "{}", c.name);
    }
}

async fn passes(behavior: StopBehavior) {
    let (ctrl, fx) = seeded(behavior);
    let report = run_all(&ctrl, &fx).await;
    assert_all_passed(&report);
    // Both runs the kit stopped are left stopped.
    let runs = ctrl.runs();
    for id in [Some(&fx.running), fx.second_running.as_ref()]
        .into_iter()
        .flatten()
    {
        let run = runs.iter().find(|r| r.id == *id).expect("seeded run");
        assert_eq!(run.state, RunState::Stopped, "{id}");
    }
}

#[tokio::test]
async fn in_memory_default_stop_passes() {
    passes(StopBehavior::AfterPolls(1)).await;
}

#[tokio::test]
async fn in_memory_immediate_stop_passes() {
    passes(StopBehavior::Immediate).await;
}

#[tokio::test]
async fn in_memory_stop_after_three_polls_passes() {
    passes(StopBehavior::AfterPolls(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_passes_through_an_arc_dyn_on_a_multi_thread_runtime() {
    let (ctrl, fx) = seeded(StopBehavior::AfterPolls(2));
    let ctrl: std::sync::Arc<dyn JobController> = std::sync::Arc::new(ctrl);
    let report = tokio::spawn(async move { run_all(&*ctrl, &fx).await })
        .await
        .unwrap();
    assert_all_passed(&report);
}

/// One way of breaking the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `list` ignores the cursor and hands back the same next cursor forever.
    SameCursorForever,
    /// `list` drops the state filter.
    IgnoresStateFilter,
    /// `list` filters names locally and ends the listing at the first page
    /// with no match.
    NameFilterLosesPages,
    /// `status` of an unknown id reports `Unavailable` instead of `NotFound`.
    UnavailableForUnknown,
    /// `stop` of an unknown id pretends it stopped.
    StopsUnknownIds,
    /// `stop` of a finished run reports `Stopped`.
    RestopsFinishedRuns,
    /// The wrapper claims stops are synchronous, but they are not.
    ClaimsSyncStop,
}

/// The in-memory controller with one fault. `JobController` is implemented
/// by hand (the shape `#[async_trait]` produces), as this crate does not
/// depend on `async-trait`.
#[derive(Debug)]
struct Broken {
    inner: InMemoryController,
    fault: Fault,
}

impl JobController for Broken {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }

    fn capabilities(&self) -> Capabilities {
        let caps = self.inner.capabilities();
        if self.fault == Fault::ClaimsSyncStop {
            caps.with_async_stop(false)
        } else {
            caps
        }
    }

    fn list<'s, 'q, 'f>(&'s self, query: &'q ListQuery) -> BoxFuture<'f, Result<Page>>
    where
        's: 'f,
        'q: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            match self.fault {
                Fault::SameCursorForever => {
                    let mut q = query.clone();
                    q.cursor = None;
                    self.inner.list(&q).await
                }
                Fault::IgnoresStateFilter => {
                    let mut q = query.clone();
                    q.states.clear();
                    self.inner.list(&q).await
                }
                Fault::NameFilterLosesPages if query.name_contains.is_some() => {
                    // Filters each unfiltered page locally, and wrongly takes
                    // an empty result for the end of the listing.
                    let mut q = query.clone();
                    q.name_contains = None;
                    let mut page = self.inner.list(&q).await?;
                    page.runs.retain(|r| query.matches(r));
                    page.total = None;
                    if page.runs.is_empty() {
                        page.next_cursor = None;
                    }
                    Ok(page)
                }
                _ => self.inner.list(query).await,
            }
        })
    }

    fn status<'s, 'i, 'f>(&'s self, id: &'i RunId) -> BoxFuture<'f, Result<Run>>
    where
        's: 'f,
        'i: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            match self.inner.status(id).await {
                Err(e)
                    if e.kind() == ErrorKind::NotFound
                        && self.fault == Fault::UnavailableForUnknown =>
                {
                    Err(e.with_kind(ErrorKind::Unavailable))
                }
                other => other,
            }
        })
    }

    fn stop<'s, 'i, 'r, 'f>(
        &'s self,
        id: &'i RunId,
        request: &'r StopRequest,
    ) -> BoxFuture<'f, Result<StopOutcome>>
    where
        's: 'f,
        'i: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            match (self.fault, self.inner.stop(id, request).await) {
                (Fault::StopsUnknownIds, Err(e)) if e.kind() == ErrorKind::NotFound => {
                    let run = Run::new(self.vendor(), id.clone(), RunState::Stopped, "stopped");
                    Ok(StopOutcome::Stopped(run))
                }
                (Fault::RestopsFinishedRuns, Ok(StopOutcome::AlreadyFinished(run))) => {
                    Ok(StopOutcome::Stopped(run))
                }
                (_, other) => other,
            }
        })
    }
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Runs the whole kit on a broken controller and returns the panic message.
async fn caught(fault: Fault) -> String {
    let (inner, fx) = seeded(StopBehavior::AfterPolls(1));
    let ctrl = Broken { inner, fault };
    match AssertUnwindSafe(run_all(&ctrl, &fx)).catch_unwind().await {
        Ok(report) => panic!("the kit passed a controller with {fault:?}: {report:?}"),
        Err(p) => panic_text(&*p),
    }
}

#[tokio::test]
async fn the_kit_catches_broken_controllers() {
    let cases = [
        (Fault::SameCursorForever, "pages", "already returned"),
        (
            Fault::IgnoresStateFilter,
            "state_filter",
            "does not match the filter",
        ),
        (Fault::NameFilterLosesPages, "name_filter", "leaves it out"),
        (
            Fault::UnavailableForUnknown,
            "unknown_id",
            "must fail with NotFound",
        ),
        (
            Fault::StopsUnknownIds,
            "unknown_id",
            "must fail with NotFound",
        ),
        (
            Fault::RestopsFinishedRuns,
            "stop_finished",
            "must return already_finished",
        ),
        (
            Fault::ClaimsSyncStop,
            "stop_running",
            "stop_is_async is false",
        ),
    ];
    for (fault, check, says) in cases {
        let msg = caught(fault).await;
        let prefix = format!("conformance in-memory: {check}: ");
        assert!(msg.starts_with(&prefix), "{fault:?}: {msg}");
        assert!(msg.contains(says), "{fault:?}: {msg}");
    }
}

#[tokio::test]
async fn a_stop_that_never_completes_times_out_with_the_last_state() {
    let (ctrl, fx) = seeded(StopBehavior::Manual);
    let fx = fx.with_wait(
        WaitOptions::default()
            .with_timeout(Duration::from_millis(100))
            .with_intervals(Duration::from_millis(1), Duration::from_millis(10)),
    );
    let err = AssertUnwindSafe(jobstop_testkit::check_stop_running(&ctrl, &fx))
        .catch_unwind()
        .await
        .unwrap_err();
    let msg = panic_text(&*err);
    assert!(
        msg.starts_with(
            "conformance in-memory: stop_running: stop_and_wait after two stops failed"
        ),
        "{msg}"
    );
    assert!(msg.contains("[Timeout]"), "{msg}");
    assert!(msg.contains("last state stopping"), "{msg}");
}

#[tokio::test]
async fn errors_are_not_swallowed() {
    // A controller whose listing fails: the kit reports the call and the error.
    let (ctrl, fx) = seeded(StopBehavior::Immediate);
    ctrl.fail_next(jobstop_core::Operation::List, ErrorKind::Unavailable);
    let err = AssertUnwindSafe(jobstop_testkit::check_pages(&ctrl, &fx))
        .catch_unwind()
        .await
        .unwrap_err();
    let msg = panic_text(&*err);
    assert!(
        msg.starts_with(
            "conformance in-memory: pages: list page 1 (page_size 20) failed: [Unavailable]"
        ),
        "{msg}"
    );
}
