//! Escalation: a graceful stop, then a forced one where the vendor has it,
//! inside one deadline, with every step recorded.

use std::time::Duration;

use jobstop_core::{
    Error, ErrorKind, JobController, Operation, Result, Run, RunId, RunState, StopMode,
    StopOutcome, StopRequest, WaitOptions, poll_until,
};
use serde::Serialize;
use tokio::time::Instant;

/// How to stop a run that may not want to stop.
///
/// A graceful stop is sent and the run is watched for up to `graceful_wait`;
/// if it is still not terminal, a forced stop is sent where the controller
/// has one ([`Capabilities::force_stop`](jobstop_core::Capabilities): the
/// CenturyLink adapter's kill; Amperity, Chorus and DataArts have none) and
/// the run is watched for up to `force_wait`. Everything stays inside
/// `deadline`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StopPolicy {
    /// How long to wait after the graceful stop (T1).
    pub graceful_wait: Duration,
    /// How long to wait after the forced stop (T2).
    pub force_wait: Duration,
    /// The limit for the whole escalation.
    pub deadline: Duration,
    /// The interval between status polls.
    pub poll_interval: Duration,
    /// Vendor options sent with both stops.
    pub request: StopRequest,
}

impl Default for StopPolicy {
    fn default() -> Self {
        StopPolicy {
            graceful_wait: Duration::from_secs(120),
            force_wait: Duration::from_secs(120),
            deadline: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
            request: StopRequest::graceful(),
        }
    }
}

impl StopPolicy {
    /// A policy with these waits and deadline.
    pub fn new(graceful_wait: Duration, force_wait: Duration, deadline: Duration) -> Self {
        StopPolicy {
            graceful_wait,
            force_wait,
            deadline,
            ..StopPolicy::default()
        }
    }

    /// Sets the poll interval.
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }
}

/// One thing the escalation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepKind {
    /// A stop was sent; `outcome` is what the vendor answered.
    Sent {
        /// `graceful` or `force`.
        mode: StopMode,
        /// `requested`, `stopped` or `already_finished`.
        outcome: String,
    },
    /// A stop was sent and refused.
    Refused {
        /// `graceful` or `force`.
        mode: StopMode,
        /// The error, one line.
        error: String,
    },
    /// The run's state at a poll.
    Seen {
        /// The normalized state.
        state: RunState,
        /// The vendor's value.
        vendor_state: String,
    },
    /// Escalation was due, but the controller has no forced stop.
    ForceUnsupported,
}

/// A step and when it happened (since the escalation started).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Step {
    /// Milliseconds since the start.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: StepKind,
}

/// How an escalation ended.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Escalation {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The run in its terminal state.
    #[serde(rename = "final")]
    pub final_run: Run,
    /// Whether it ended because of a stop (not by finishing first).
    pub stop_won: bool,
    /// Whether a forced stop was sent.
    pub forced: bool,
}

struct Recorder {
    start: Instant,
    steps: Vec<Step>,
}

impl Recorder {
    fn push(&mut self, kind: StepKind) {
        let at_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.steps.push(Step { at_ms, kind });
    }
}

/// Stops `id` following `policy`. Past the deadline the error is
/// [`ErrorKind::Timeout`] (operation `wait`) with the last state seen.
pub async fn stop_with_policy(
    ctrl: &dyn JobController,
    id: &RunId,
    policy: &StopPolicy,
) -> Result<Escalation> {
    let mut rec = Recorder {
        start: Instant::now(),
        steps: Vec::new(),
    };
    let deadline = rec.start + policy.deadline;
    let mut already = false;
    let mut last = send(ctrl, id, policy, StopMode::Graceful, &mut rec, &mut already).await?;
    let mut forced = false;
    let phase_end = (rec.start + policy.graceful_wait).min(deadline);
    last = watch(ctrl, id, last, phase_end, policy.poll_interval, &mut rec).await?;
    if !last.state.is_terminal() && Instant::now() < deadline {
        if ctrl.capabilities().force_stop {
            forced = true;
            let after = send(ctrl, id, policy, StopMode::Force, &mut rec, &mut already).await?;
            let phase_end = (Instant::now() + policy.force_wait).min(deadline);
            last = watch(ctrl, id, after, phase_end, policy.poll_interval, &mut rec).await?;
        } else {
            rec.push(StepKind::ForceUnsupported);
            last = watch(ctrl, id, last, deadline, policy.poll_interval, &mut rec).await?;
        }
    }
    if !last.state.is_terminal() {
        return Err(Error::new(
            ErrorKind::Timeout,
            "the run did not reach a terminal state within the escalation deadline",
        )
        .with_vendor(ctrl.vendor())
        .with_operation(Operation::Wait)
        .with_run_id(id.clone())
        .with_elapsed(rec.start.elapsed())
        .with_last_state(last.state));
    }
    let stop_won = !already && matches!(last.state, RunState::Stopped | RunState::Idle);
    Ok(Escalation {
        steps: rec.steps,
        final_run: last,
        stop_won,
        forced,
    })
}

async fn send(
    ctrl: &dyn JobController,
    id: &RunId,
    policy: &StopPolicy,
    mode: StopMode,
    rec: &mut Recorder,
    already: &mut bool,
) -> Result<Run> {
    let mut request = policy.request.clone();
    request.mode = mode;
    match ctrl.stop(id, &request).await {
        Ok(outcome) => {
            rec.push(StepKind::Sent {
                mode,
                outcome: outcome.as_str().to_owned(),
            });
            if matches!(outcome, StopOutcome::AlreadyFinished(_)) && mode == StopMode::Graceful {
                *already = true;
            }
            Ok(outcome.into_run())
        }
        Err(e) => {
            rec.push(StepKind::Refused {
                mode,
                error: e.to_string(),
            });
            Err(e)
        }
    }
}

/// Polls until the run is terminal or `until` passes (the library's one
/// polling loop, at a fixed interval), recording every state seen.
async fn watch(
    ctrl: &dyn JobController,
    id: &RunId,
    last: Run,
    until: Instant,
    every: Duration,
    rec: &mut Recorder,
) -> Result<Run> {
    let wait = WaitOptions::default()
        .with_intervals(every, every)
        .with_multiplier(1.0);
    let polled = poll_until(
        ctrl,
        id,
        &wait,
        until,
        Some(last.clone()),
        |r: &Run| r.state.is_terminal(),
        |r: &Run| {
            rec.push(StepKind::Seen {
                state: r.state,
                vendor_state: r.vendor_state.clone(),
            })
        },
    )
    .await?;
    Ok(polled.run.unwrap_or(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{Capabilities, InMemoryController, ListQuery, Page, StopBehavior};

    fn policy(t1: u64, t2: u64, total: u64) -> StopPolicy {
        StopPolicy::new(
            Duration::from_millis(t1),
            Duration::from_millis(t2),
            Duration::from_millis(total),
        )
        .with_poll_interval(Duration::from_millis(10))
    }

    #[tokio::test(start_paused = true)]
    async fn force_only_after_the_graceful_wait() {
        let ctrl = InMemoryController::new().with_stop_behavior(StopBehavior::Manual);
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let e = stop_with_policy(&ctrl, &id, &policy(200, 200, 1000))
            .await
            .unwrap();
        assert!(e.forced);
        assert!(e.stop_won);
        let force_at = e
            .steps
            .iter()
            .find(|s| {
                matches!(
                    s.kind,
                    StepKind::Sent {
                        mode: StopMode::Force,
                        ..
                    }
                )
            })
            .map(|s| s.at_ms)
            .unwrap();
        assert!(force_at >= 200, "forced at {force_at} ms");
        assert_eq!(ctrl.stop_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_force_when_graceful_works() {
        let ctrl = InMemoryController::new().with_stop_behavior(StopBehavior::AfterPolls(2));
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let e = stop_with_policy(&ctrl, &id, &policy(200, 200, 1000))
            .await
            .unwrap();
        assert!(!e.forced);
        assert_eq!(ctrl.stop_calls(), 1);
    }

    /// The in-memory controller without a forced stop.
    #[derive(Debug)]
    struct NoForce(InMemoryController);

    #[jobstop_core::async_trait]
    impl JobController for NoForce {
        fn vendor(&self) -> jobstop_core::Vendor {
            self.0.vendor()
        }
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities().with_force_stop(false)
        }
        async fn list(&self, q: &ListQuery) -> Result<Page> {
            self.0.list(q).await
        }
        async fn status(&self, id: &RunId) -> Result<Run> {
            self.0.status(id).await
        }
        async fn stop(&self, id: &RunId, r: &StopRequest) -> Result<StopOutcome> {
            self.0.stop(id, r).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn vendors_without_force_say_so_and_time_out_honestly() {
        let inner = InMemoryController::new().with_stop_behavior(StopBehavior::Manual);
        let id = inner.seed(1, RunState::Running).remove(0);
        let ctrl = NoForce(inner);
        let err = stop_with_policy(&ctrl, &id, &policy(100, 100, 300))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.context().last_state, Some(RunState::Stopping));
        assert_eq!(ctrl.0.stop_calls(), 1, "no force sent");
    }
}
