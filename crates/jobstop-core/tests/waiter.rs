//! The public waiter: `wait_until_terminal`, `wait_until` and `poll_until`,
//! on paused time (the schedule is exact).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use jobstop_core::{
    Capabilities, Error, ErrorKind, JobController, JobControllerExt, ListQuery, Operation, Page,
    Result, Run, RunId, RunState, StopOutcome, StopRequest, Vendor, WaitOptions, poll_until,
};
use tokio::time::Instant;

/// Answers status polls from a script (one entry per poll, the last one
/// repeated) and records when each poll came, in ms from its creation.
#[derive(Debug)]
struct Script {
    start: Instant,
    answers: Vec<std::result::Result<RunState, ErrorKind>>,
    at_ms: Mutex<Vec<u64>>,
}

impl Script {
    fn new(answers: Vec<std::result::Result<RunState, ErrorKind>>) -> Self {
        Script {
            start: Instant::now(),
            answers,
            at_ms: Mutex::new(Vec::new()),
        }
    }
    fn polls_at(&self) -> Vec<u64> {
        self.at_ms.lock().expect("lock").clone()
    }
}

#[async_trait]
impl JobController for Script {
    fn vendor(&self) -> Vendor {
        Vendor::new("script")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn list(&self, _q: &ListQuery) -> Result<Page> {
        Ok(Page::new(vec![], None))
    }
    async fn status(&self, id: &RunId) -> Result<Run> {
        let n = {
            let mut at = self.at_ms.lock().expect("lock");
            at.push(u64::try_from(self.start.elapsed().as_millis()).expect("ms"));
            at.len() - 1
        };
        let answer = self.answers[n.min(self.answers.len() - 1)];
        match answer {
            Ok(state) => Ok(Run::new(
                Vendor::new("script"),
                id.clone(),
                state,
                state.as_str(),
            )),
            Err(kind) => Err(Error::new(kind, "scripted failure")),
        }
    }
    async fn stop(&self, id: &RunId, _r: &StopRequest) -> Result<StopOutcome> {
        Ok(StopOutcome::Requested(Run::new(
            Vendor::new("script"),
            id.clone(),
            RunState::Stopping,
            "stopping",
        )))
    }
}

fn opts(timeout_ms: u64, min_ms: u64, max_ms: u64) -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_millis(timeout_ms))
        .with_min_interval(Duration::from_millis(min_ms))
        .with_max_interval(Duration::from_millis(max_ms))
        .with_multiplier(2.0)
}

#[tokio::test(start_paused = true)]
async fn polls_back_off_from_min_to_max_and_poll_once_more_at_the_deadline() {
    let ctrl = Script::new(vec![Ok(RunState::Running)]);
    let err = ctrl
        .wait_until_terminal(&RunId::new("r"), &opts(1000, 100, 400))
        .await
        .expect_err("never terminal");
    // At once, then +100, +200, +400 (capped), +400, and the deadline.
    assert_eq!(ctrl.polls_at(), vec![0, 100, 300, 700, 1000]);
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.operation(), Some(Operation::Wait));
    assert_eq!(err.context().last_state, Some(RunState::Running));
    assert_eq!(err.context().attempts, Some(5));
    assert_eq!(err.context().elapsed, Some(Duration::from_millis(1000)));
}

#[tokio::test(start_paused = true)]
async fn a_run_that_ends_at_the_deadline_is_seen() {
    // The fifth poll, at the deadline, is the first to see the end.
    let mut answers = vec![Ok(RunState::Running); 4];
    answers.push(Ok(RunState::Succeeded));
    let ctrl = Script::new(answers);
    let run = ctrl
        .wait_until_terminal(&RunId::new("r"), &opts(1000, 100, 400))
        .await
        .expect("ended at the deadline");
    assert_eq!(run.state, RunState::Succeeded);
    assert_eq!(ctrl.polls_at(), vec![0, 100, 300, 700, 1000]);
}

#[tokio::test(start_paused = true)]
async fn the_predicate_form_returns_the_first_run_it_holds_for() {
    let ctrl = Script::new(vec![
        Ok(RunState::Queued),
        Ok(RunState::Running),
        Ok(RunState::Succeeded),
    ]);
    let run = ctrl
        .wait_until(&RunId::new("r"), &opts(1000, 10, 10), |r: &Run| {
            r.state == RunState::Running
        })
        .await
        .expect("running");
    assert_eq!(run.state, RunState::Running);
    assert_eq!(ctrl.polls_at(), vec![0, 10]);
}

#[tokio::test(start_paused = true)]
async fn retryable_poll_errors_are_polled_through_and_the_last_state_kept() {
    let ctrl = Script::new(vec![
        Ok(RunState::Running),
        Err(ErrorKind::Unavailable),
        Err(ErrorKind::RateLimited),
        Ok(RunState::Stopped),
    ]);
    let run = ctrl
        .wait_until_terminal(&RunId::new("r"), &opts(1000, 10, 10))
        .await
        .expect("polled through");
    assert_eq!(run.state, RunState::Stopped);
    assert_eq!(ctrl.polls_at().len(), 4);

    // Failing polls up to the deadline: the timeout still names the last
    // state seen before them.
    let ctrl = Script::new(vec![Ok(RunState::Running), Err(ErrorKind::Unavailable)]);
    let err = ctrl
        .wait_until_terminal(&RunId::new("r"), &opts(50, 10, 10))
        .await
        .expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.context().last_state, Some(RunState::Running));
}

#[tokio::test(start_paused = true)]
async fn an_error_that_is_not_retryable_ends_the_wait_at_once() {
    let ctrl = Script::new(vec![Ok(RunState::Running), Err(ErrorKind::NotFound)]);
    let err = ctrl
        .wait_until_terminal(&RunId::new("r"), &opts(1000, 10, 10))
        .await
        .expect_err("not found");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(ctrl.polls_at(), vec![0, 10]);
}

#[tokio::test(start_paused = true)]
async fn poll_until_skips_polling_a_first_run_that_is_done_and_shows_every_answer() {
    let ctrl = Script::new(vec![Ok(RunState::Running), Ok(RunState::Stopped)]);
    let id = RunId::new("r");
    let done = Run::new(
        Vendor::new("script"),
        id.clone(),
        RunState::Failed,
        "failed",
    );
    let start = Instant::now();
    let polled = poll_until(
        &ctrl,
        &id,
        &opts(1000, 10, 10),
        start + Duration::from_secs(1),
        Some(done),
        |r: &Run| r.state.is_terminal(),
        |_: &Run| {},
    )
    .await
    .expect("no poll");
    assert!(polled.reached);
    assert_eq!(polled.polls, 0);
    assert!(ctrl.polls_at().is_empty());

    // A first run not done: the first poll waits the first interval.
    let mut seen = Vec::new();
    let first = Run::new(
        Vendor::new("script"),
        id.clone(),
        RunState::Stopping,
        "stopping",
    );
    let polled = poll_until(
        &ctrl,
        &id,
        &opts(1000, 10, 10),
        Instant::now() + Duration::from_secs(1),
        Some(first),
        |r: &Run| r.state.is_terminal(),
        |r: &Run| seen.push(r.state),
    )
    .await
    .expect("stopped");
    assert_eq!(seen, vec![RunState::Running, RunState::Stopped]);
    assert_eq!(polled.polls, 2);
    assert_eq!(ctrl.polls_at(), vec![10, 20]);

    // The deadline passing is an answer, not an error.
    let ctrl = Script::new(vec![Ok(RunState::Running)]);
    let polled = poll_until(
        &ctrl,
        &id,
        &opts(1000, 10, 10),
        Instant::now() + Duration::from_millis(25),
        None,
        |r: &Run| r.state.is_terminal(),
        |_: &Run| {},
    )
    .await
    .expect("deadline");
    assert!(!polled.reached);
    assert_eq!(polled.run.map(|r| r.state), Some(RunState::Running));
    assert_eq!(ctrl.polls_at(), vec![0, 10, 20, 25]);
}

#[test]
fn wait_options_are_set_with_setters() {
    let w = WaitOptions::default()
        .with_timeout(Duration::from_secs(7))
        .with_min_interval(Duration::from_secs(2))
        .with_max_interval(Duration::from_secs(1))
        .with_poll_timeout(Duration::from_secs(3));
    assert_eq!(w.timeout, Duration::from_secs(7));
    assert_eq!(w.min_interval, Duration::from_secs(2));
    assert_eq!(
        w.max_interval,
        Duration::from_secs(2),
        "never below the first"
    );
    assert_eq!(w.poll_timeout, Duration::from_secs(3));
}
