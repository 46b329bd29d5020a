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
    ListQuery, Operation, Page, Result, Run, RunId, RunState, StopBehavior, StopOutcome,
    StopRequest, Vendor, WaitOptions,
};

fn wait(timeout_ms: u64) -> WaitOptions {
    WaitOptions::with_timeout(Duration::from_millis(timeout_ms))
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
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
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
