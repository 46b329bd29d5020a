//! The kit's own tests: every check passes on a well-behaved controller, the
//! capability gates skip and still assert, and a lying controller is caught.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use jobstop_core::{
    Capabilities, Error, Filtering, InMemoryController, JobController, ListQuery, Page, Result,
    Run, RunId, RunState, StopBehavior, StopMode, StopOutcome, StopRequest, Vendor, WaitOptions,
};
use jobstop_testkit::{CHECKS, CheckOutcome, Fixture, run_all};

fn account(ctrl: &InMemoryController) -> Fixture {
    let ids = ctrl.seed(40, RunState::Running);
    for (i, id) in ids.iter().enumerate() {
        let state = match i % 4 {
            0 => RunState::Succeeded,
            1 => RunState::Failed,
            2 => RunState::Running,
            _ => RunState::Queued,
        };
        ctrl.set_state(id, state).expect("seeded id");
    }
    Fixture::new(ids[30].clone(), ids[4].clone(), "mem-404")
        .with_page_size(9)
        .with_second_running(ids[34].clone())
        .with_wait(
            WaitOptions::default()
                .with_timeout(Duration::from_secs(2))
                .with_intervals(Duration::from_millis(1), Duration::from_millis(5)),
        )
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn in_memory_passes_every_check() {
    let ctrl = InMemoryController::new();
    let fx = account(&ctrl);
    let report = run_all(&ctrl, &fx).await;
    let names: Vec<&str> = report.iter().map(|c| c.name).collect();
    assert_eq!(names, CHECKS);
    for c in &report {
        assert_eq!(c.outcome, CheckOutcome::Passed, "{}", c.name);
    }
    assert_eq!(ctrl.runs()[30].state, RunState::Stopped);
    assert_eq!(ctrl.runs()[34].state, RunState::Stopped);
}

#[test]
fn run_all_is_send() {
    fn send<T: Send>(_: T) {}
    let ctrl = InMemoryController::new();
    let fx = Fixture::new("a", "b", "c");
    send(run_all(&ctrl, &fx));
}

/// The in-memory controller with no filters, no force mode, synchronous stops
/// and no totals, refusing what it cannot do as the contract says.
#[derive(Debug)]
struct Limited {
    inner: InMemoryController,
    /// Lies: claims filters are unsupported but applies them anyway.
    ignore_refusals: bool,
}

#[async_trait]
impl JobController for Limited {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_state_filter(Filtering::Unsupported)
            .with_created_filter(Filtering::Unsupported)
            .with_kind_filter(Filtering::Unsupported)
            .with_name_filter(Filtering::Unsupported)
            .with_total_count(false)
            .with_async_stop(false)
            .with_force_stop(false)
    }
    async fn list(&self, query: &ListQuery) -> Result<Page> {
        if !self.ignore_refusals {
            self.capabilities().check_query(query)?;
        }
        let mut page = self.inner.list(query).await?;
        page.total = None;
        Ok(page)
    }
    async fn status(&self, id: &RunId) -> Result<Run> {
        self.inner.status(id).await
    }
    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        if request.mode == StopMode::Force {
            return Err(Error::unsupported("no force stop here"));
        }
        self.inner.stop(id, request).await
    }
}

fn limited(ignore_refusals: bool) -> (Limited, Fixture) {
    let inner = InMemoryController::new()
        .with_vendor(Vendor::new("limited"))
        .with_stop_behavior(StopBehavior::Immediate);
    let fx = account(&inner);
    (
        Limited {
            inner,
            ignore_refusals,
        },
        fx,
    )
}

#[tokio::test]
async fn unsupported_capabilities_skip_but_still_assert() {
    let (ctrl, fx) = limited(false);
    let report = run_all(&ctrl, &fx).await;
    for c in &report {
        let filter = c.name.ends_with("_filter");
        match &c.outcome {
            CheckOutcome::Skipped(why) => {
                assert!(filter, "{} skipped: {why}", c.name);
                assert!(why.contains("refused with Unsupported"), "{why}");
            }
            CheckOutcome::Passed => assert!(!filter, "{} passed", c.name),
        }
    }
    assert_eq!(ctrl.inner.runs()[34].state, RunState::Stopped);
}

#[tokio::test]
async fn a_filter_claimed_unsupported_but_applied_is_caught() {
    let (ctrl, fx) = limited(true);
    let err = AssertUnwindSafe(run_all(&ctrl, &fx))
        .catch_unwind()
        .await
        .unwrap_err();
    let msg = panic_text(&*err);
    assert!(
        msg.starts_with("conformance limited: state_filter: capabilities() says the state filter"),
        "{msg}"
    );
}

#[tokio::test]
async fn no_second_running_skips_force_stop() {
    let ctrl = InMemoryController::new();
    let mut fx = account(&ctrl);
    fx.second_running = None;
    let outcome = jobstop_testkit::check_force_stop(&ctrl, &fx).await;
    assert_eq!(
        outcome,
        CheckOutcome::Skipped("the fixture has no second_running".to_owned())
    );
}

#[tokio::test]
async fn a_fixture_naming_one_run_twice_is_refused() {
    let ctrl = InMemoryController::new();
    let fx = account(&ctrl);
    let bad = Fixture::new(fx.running.clone(), fx.running.clone(), "mem-404");
    let err = AssertUnwindSafe(jobstop_testkit::check_status(&ctrl, &bad))
        .catch_unwind()
        .await
        .unwrap_err();
    let msg = panic_text(&*err);
    assert!(msg.contains("bad fixture"), "{msg}");
}

#[tokio::test]
async fn a_single_page_account_is_explained() {
    let ctrl = InMemoryController::new();
    let fx = account(&ctrl).with_page_size(100);
    let err = AssertUnwindSafe(jobstop_testkit::check_pages(&ctrl, &fx))
        .catch_unwind()
        .await
        .unwrap_err();
    let msg = panic_text(&*err);
    assert!(msg.contains("lower the fixture's page_size"), "{msg}");
}
