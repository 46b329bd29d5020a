//! The extension trait: waits, listings and bulk stops.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use jobstop_core::{
    Capabilities, Cursor, ErrorKind, InMemoryController, JobController, JobControllerExt,
    ListBound, ListLimits, ListQuery, Operation, Page, Result, Run, RunId, RunState, StopBehavior,
    StopOutcome, StopRequest, Vendor, WaitOptions,
};

fn wait(timeout_ms: u64) -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_millis(timeout_ms))
        .with_intervals(Duration::from_millis(10), Duration::from_millis(80))
}

#[tokio::test(start_paused = true)]
async fn wait_times_out_with_elapsed_polls_and_last_state() {
    let ctrl = InMemoryController::new().with_stop_behavior(StopBehavior::Manual);
    let id = ctrl.seed(1, RunState::Running).remove(0);
    let err = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait(1000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.operation(), Some(Operation::Wait));
    assert_eq!(err.context().last_state, Some(RunState::Stopping));
    let elapsed = err.context().elapsed.unwrap();
    assert!(
        elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_millis(1100),
        "{elapsed:?}"
    );
    // 10, 20, 40, 80, 80, … ms: 10+20+40 = 70, then 80 ms steps up to 1000 → 3 + 12 polls (last at the deadline).
    let polls = err.context().attempts.unwrap();
    assert_eq!(polls, 15, "polls: {polls}");
    assert!(err.to_string().contains("last state stopping"), "{err}");
}

/// A controller whose run turns terminal on a chosen poll.
#[derive(Debug)]
struct Scripted {
    polls: AtomicU32,
    terminal_on_poll: u32,
    final_state: RunState,
    fail_polls: u32,
}

fn run(state: RunState) -> Run {
    Run::new(
        Vendor::new("scripted"),
        RunId::new("r"),
        state,
        state.as_str(),
    )
}

#[async_trait]
impl JobController for Scripted {
    fn vendor(&self) -> Vendor {
        Vendor::new("scripted")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn list(&self, _q: &ListQuery) -> Result<Page> {
        Ok(Page::new(vec![], None))
    }
    async fn status(&self, _id: &RunId) -> Result<Run> {
        let n = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.fail_polls {
            return Err(jobstop_core::Error::new(ErrorKind::Unavailable, "flaky"));
        }
        Ok(run(if n >= self.terminal_on_poll {
            self.final_state
        } else {
            RunState::Stopping
        }))
    }
    async fn stop(&self, _id: &RunId, _r: &StopRequest) -> Result<StopOutcome> {
        Ok(StopOutcome::Requested(run(RunState::Stopping)))
    }
}

#[tokio::test(start_paused = true)]
async fn the_last_poll_happens_at_the_deadline() {
    // Polls at 10, 30, 70, 150, 230, 310 (deadline 300 → clipped to 300): the 6th poll is at the deadline.
    let ctrl = Scripted {
        polls: AtomicU32::new(0),
        terminal_on_poll: 6,
        final_state: RunState::Stopped,
        fail_polls: 0,
    };
    let report = ctrl
        .stop_and_wait(&RunId::new("r"), &StopRequest::graceful(), &wait(300))
        .await
        .unwrap();
    assert_eq!(report.final_run.state, RunState::Stopped);
    assert_eq!(report.polls, 6);
    assert!(report.stop_won);
    assert_eq!(report.elapsed, Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn a_run_that_finished_first_is_not_reported_stopped() {
    for final_state in [RunState::Succeeded, RunState::Failed] {
        let ctrl = Scripted {
            polls: AtomicU32::new(0),
            terminal_on_poll: 2,
            final_state,
            fail_polls: 0,
        };
        let report = ctrl
            .stop_and_wait(&RunId::new("r"), &StopRequest::graceful(), &wait(5000))
            .await
            .unwrap();
        assert_eq!(report.final_run.state, final_state);
        assert!(!report.stop_won);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["stop_won"], false);
        assert_eq!(json["final"]["state"], final_state.as_str());
        assert_eq!(json["outcome"]["outcome"], "requested");
    }
}

#[tokio::test(start_paused = true)]
async fn retryable_poll_errors_are_polled_through() {
    let ctrl = Scripted {
        polls: AtomicU32::new(0),
        terminal_on_poll: 1,
        final_state: RunState::Stopped,
        fail_polls: 3,
    };
    let report = ctrl
        .stop_and_wait(&RunId::new("r"), &StopRequest::graceful(), &wait(5000))
        .await
        .unwrap();
    assert_eq!(report.polls, 4);
    assert!(report.stop_won);
}

#[tokio::test]
async fn already_finished_runs_return_without_polling() {
    let ctrl = InMemoryController::new();
    let id = ctrl.seed(1, RunState::Succeeded).remove(0);
    let report = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait(1000))
        .await
        .unwrap();
    assert!(matches!(report.outcome, StopOutcome::AlreadyFinished(_)));
    assert!(!report.stop_won);
    assert_eq!(report.polls, 0);
}

#[tokio::test]
async fn wait_propagates_non_retryable_errors() {
    let ctrl = InMemoryController::new().with_stop_behavior(StopBehavior::Manual);
    let id = ctrl.seed(1, RunState::Running).remove(0);
    ctrl.fail_next(Operation::Status, ErrorKind::PermissionDenied);
    let err = ctrl
        .stop_and_wait(&id, &StopRequest::graceful(), &wait(1000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

/// Returns the same cursor forever.
#[derive(Debug)]
struct Looping;

#[async_trait]
impl JobController for Looping {
    fn vendor(&self) -> Vendor {
        Vendor::new("looping")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn list(&self, _q: &ListQuery) -> Result<Page> {
        Ok(Page::new(
            vec![run(RunState::Running)],
            Some(Cursor::new("same")),
        ))
    }
    async fn status(&self, _id: &RunId) -> Result<Run> {
        Ok(run(RunState::Running))
    }
    async fn stop(&self, _id: &RunId, _r: &StopRequest) -> Result<StopOutcome> {
        Ok(StopOutcome::Requested(run(RunState::Stopping)))
    }
}

#[tokio::test]
async fn list_all_detects_cursor_loops() {
    let items: Vec<Result<Run>> = Looping.list_all(ListQuery::new()).collect().await;
    assert_eq!(
        items.len(),
        2,
        "the first page, then the error, then the stream ends"
    );
    assert!(items[0].is_ok());
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EndlessListing);
    assert_eq!(err.list_bound(), Some(ListBound::NoProgress));
}

/// A listing that never ends: every page names a fresh next cursor
/// (`n+1`), with runs chosen by the mode.
#[derive(Debug)]
struct Endless {
    mode: EndlessMode,
    pages: AtomicU32,
}

#[derive(Debug, Clone, Copy)]
enum EndlessMode {
    /// Two new runs on every page.
    NewRuns,
    /// The same two runs on every page.
    SameRuns,
    /// No runs (as after local filtering).
    Empty,
    /// Cursors cycle through `0..period` (each page's runs are new).
    Cycle(u64),
    /// New runs, each page taking this long.
    Slow(Duration),
    /// Ends after this many pages (two new runs each).
    Ends(u64),
}

impl Endless {
    fn new(mode: EndlessMode) -> Self {
        Endless {
            mode,
            pages: AtomicU32::new(0),
        }
    }
    fn pages(&self) -> u32 {
        self.pages.load(Ordering::SeqCst)
    }
}

fn named(id: String) -> Run {
    Run::new(
        Vendor::new("endless"),
        RunId::new(id),
        RunState::Running,
        "running",
    )
}

#[async_trait]
impl JobController for Endless {
    fn vendor(&self) -> Vendor {
        Vendor::new("endless")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn list(&self, q: &ListQuery) -> Result<Page> {
        let served = u64::from(self.pages.fetch_add(1, Ordering::SeqCst));
        let n: u64 = q.cursor.as_ref().map_or(0, |c| c.as_str().parse().unwrap());
        let new_runs = vec![named(format!("r{served}a")), named(format!("r{served}b"))];
        let (runs, next) = match self.mode {
            EndlessMode::NewRuns => (new_runs, n + 1),
            EndlessMode::SameRuns => (vec![named("a".into()), named("b".into())], n + 1),
            EndlessMode::Empty => (vec![], n + 1),
            EndlessMode::Cycle(period) => (new_runs, (n + 1) % period),
            EndlessMode::Slow(d) => {
                tokio::time::sleep(d).await;
                (new_runs, n + 1)
            }
            EndlessMode::Ends(pages) => {
                let next = (n + 1 < pages).then(|| Cursor::new((n + 1).to_string()));
                return Ok(Page::new(new_runs, next));
            }
        };
        Ok(Page::new(runs, Some(Cursor::new(next.to_string()))))
    }
    async fn status(&self, _id: &RunId) -> Result<Run> {
        Ok(run(RunState::Running))
    }
    async fn stop(&self, _id: &RunId, _r: &StopRequest) -> Result<StopOutcome> {
        Ok(StopOutcome::Requested(run(RunState::Stopping)))
    }
}

/// Collects a bounded listing: the runs before the error, and the error.
async fn drain(ctrl: &Endless, limits: ListLimits) -> (usize, jobstop_core::Error) {
    let mut stream = ctrl.list_all_with_limits(ListQuery::new(), limits);
    let mut runs = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => runs += 1,
            Err(e) => {
                assert!(stream.next().await.is_none(), "the error ends the stream");
                return (runs, e);
            }
        }
    }
    panic!("the endless listing ended without an error after {runs} runs")
}

#[tokio::test]
async fn fresh_cursors_forever_end_at_the_page_budget() {
    let ctrl = Endless::new(EndlessMode::NewRuns);
    let (runs, err) = drain(&ctrl, ListLimits::default().with_max_pages(50)).await;
    assert_eq!(err.kind(), ErrorKind::EndlessListing);
    assert_eq!(err.list_bound(), Some(ListBound::Pages(50)));
    assert_eq!(err.operation(), Some(Operation::List));
    assert!(!err.is_retryable());
    assert_eq!(runs, 100, "every page read is yielded before the error");
    assert_eq!(ctrl.pages(), 50, "no page is asked for past the budget");
    let text = err.to_string();
    assert!(
        text.starts_with("endless list: endless listing: the listing still named a next page after 50 pages, its page budget"),
        "{text}"
    );
}

#[tokio::test]
async fn the_default_page_budget_ends_an_endless_listing() {
    let ctrl = Endless::new(EndlessMode::Empty);
    let items: Vec<Result<Run>> = ctrl.list_all(ListQuery::new()).collect().await;
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(
        err.list_bound(),
        Some(ListBound::Pages(ListLimits::DEFAULT_MAX_PAGES))
    );
    assert_eq!(u64::from(ctrl.pages()), ListLimits::DEFAULT_MAX_PAGES);
}

#[tokio::test]
async fn a_listing_of_exactly_the_budget_passes() {
    let ctrl = Endless::new(EndlessMode::Ends(5));
    let runs: Vec<Run> = ctrl
        .list_all_with_limits(ListQuery::new(), ListLimits::default().with_max_pages(5))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(runs.len(), 10);
    let ctrl = Endless::new(EndlessMode::Ends(6));
    let (runs, err) = drain(&ctrl, ListLimits::default().with_max_pages(5)).await;
    assert_eq!((runs, err.list_bound()), (10, Some(ListBound::Pages(5))));
}

#[tokio::test]
async fn the_same_runs_again_are_no_progress() {
    let ctrl = Endless::new(EndlessMode::SameRuns);
    let (runs, err) = drain(&ctrl, ListLimits::default()).await;
    assert_eq!(err.kind(), ErrorKind::EndlessListing);
    assert_eq!(err.list_bound(), Some(ListBound::NoProgress));
    assert_eq!(runs, 2, "the first page only");
    assert_eq!(ctrl.pages(), 2);
    assert!(
        err.to_string()
            .contains("page 2 holds exactly the runs of the page before it"),
        "{err}"
    );
}

#[tokio::test]
async fn empty_pages_are_not_no_progress() {
    // Local filtering can leave many pages in a row empty; only the page
    // budget ends this one.
    let ctrl = Endless::new(EndlessMode::Empty);
    let (_, err) = drain(&ctrl, ListLimits::default().with_max_pages(30)).await;
    assert_eq!(err.list_bound(), Some(ListBound::Pages(30)));
}

#[tokio::test]
async fn a_cursor_cycle_is_no_progress() {
    let ctrl = Endless::new(EndlessMode::Cycle(7));
    let (runs, err) = drain(&ctrl, ListLimits::default()).await;
    assert_eq!(err.list_bound(), Some(ListBound::NoProgress));
    // The first page names cursor 1, the next ones 2…6 and 0; the page at
    // cursor 0 (the 8th) names cursor 1 again, and its runs are not yielded.
    assert_eq!(ctrl.pages(), 8);
    assert_eq!(runs, 14);
    assert!(err.to_string().contains("already followed"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_ends_a_slow_endless_listing() {
    let ctrl = Endless::new(EndlessMode::Slow(Duration::from_millis(300)));
    let limits = ListLimits::default().with_deadline(Duration::from_secs(1));
    let start = tokio::time::Instant::now();
    let (runs, err) = drain(&ctrl, limits).await;
    assert_eq!(err.kind(), ErrorKind::EndlessListing);
    assert_eq!(
        err.list_bound(),
        Some(ListBound::Deadline(Duration::from_secs(1)))
    );
    // Pages at 300, 600, 900 ms; the fourth is cut off at the deadline.
    assert_eq!(runs, 6);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert!(
        err.to_string()
            .contains("had not ended 1.0s after it started"),
        "{err}"
    );
}

#[tokio::test]
async fn list_all_is_lazy_and_filters() {
    let ctrl = InMemoryController::new();
    ctrl.seed(30, RunState::Running);
    ctrl.seed(30, RunState::Failed);
    let mut stream = ctrl.list_all(ListQuery::new().with_page_size(7));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.id.as_str(), "mem-1");
    drop(stream);
    let failed: Vec<Run> = ctrl
        .list_all(
            ListQuery::new()
                .with_state(RunState::Failed)
                .with_page_size(7),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(failed.len(), 30);
    assert!(failed.iter().all(|r| r.state == RunState::Failed));
}

#[tokio::test]
async fn stop_many_answers_every_id_exactly_once() {
    let ctrl = Arc::new(InMemoryController::new());
    let mut ids = ctrl.seed(50, RunState::Running);
    ids.push(RunId::new("missing"));
    ids.push(ids[0].clone());
    let dynamic: Arc<dyn JobController> = ctrl.clone();
    let req = StopRequest::graceful();
    let results: Vec<_> = dynamic.stop_many(ids.clone(), &req, 8).collect().await;
    let mut counts: HashMap<RunId, usize> = HashMap::new();
    for r in &results {
        *counts.entry(r.id.clone()).or_default() += 1;
    }
    let mut expected: HashMap<RunId, usize> = HashMap::new();
    for id in &ids {
        *expected.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(counts, expected);
    let missing = results.iter().find(|r| r.id.as_str() == "missing").unwrap();
    assert_eq!(
        missing.result.as_ref().unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(ctrl.stop_calls(), 52);
}

/// A controller whose stop call never answers.
#[derive(Debug)]
struct HangingStop;

#[async_trait]
impl JobController for HangingStop {
    fn vendor(&self) -> Vendor {
        Vendor::new("hanging")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn list(&self, _q: &ListQuery) -> Result<Page> {
        Ok(Page::new(Vec::new(), None))
    }
    async fn status(&self, _id: &RunId) -> Result<Run> {
        Ok(run(RunState::Running))
    }
    async fn stop(&self, _id: &RunId, _r: &StopRequest) -> Result<StopOutcome> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_stop_call_ends_at_the_wait_deadline() {
    let start = tokio::time::Instant::now();
    let (id, request, options) = (RunId::new("r"), StopRequest::graceful(), wait(2000));
    let waited = HangingStop.stop_and_wait(&id, &request, &options);
    let err = tokio::time::timeout(Duration::from_secs(60), waited)
        .await
        .expect("stop_and_wait outlived its deadline by a minute")
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(2000));
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.operation(), Some(Operation::Wait));
    assert!(err.to_string().contains("stop call"), "{err}");
}
