//! Resumable stop tickets: a stop in progress, written down so any process
//! can finish waiting for it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jobstop_core::{
    Error, ErrorKind, JobController, Operation, Result, Run, RunId, RunState, StopOutcome,
    StopRequest, WaitOptions, poll_until,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::registry::Registry;

/// The version of the ticket's JSON form this build writes and reads.
pub const TICKET_VERSION: u32 = 1;

/// Where a stop stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopPhase {
    /// Nothing sent yet.
    NotSent,
    /// The stop was sent and the vendor's answer never arrived (a timeout or
    /// a dropped connection): it may or may not have been accepted.
    AnswerLost {
        /// When it was sent.
        sent_at: DateTime<Utc>,
    },
    /// The vendor answered the stop.
    Accepted {
        /// When it was sent.
        sent_at: DateTime<Utc>,
        /// `requested`, `stopped` or `already_finished`.
        outcome: String,
    },
    /// The run reached a terminal state.
    Final {
        /// The terminal state.
        state: RunState,
        /// Whether it ended because of this stop (not by finishing first).
        stop_won: bool,
    },
}

/// One stop in progress, as a serializable record.
///
/// The JSON form (field names as below, `version` first) is stable within a
/// version; [`resume`] refuses a version it does not know.
///
/// ```json
/// {"version":1,"account":"amperity","run_id":"wf-…","request":{"mode":"graceful","options":{}},
///  "deadline":"2026-11-26T05:30:00Z","stops_sent":1,"polls":3,"last_state":"stopping",
///  "stop":{"phase":"accepted","sent_at":"2026-11-26T05:25:00Z","outcome":"requested"}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopTicket {
    /// The form's version ([`TICKET_VERSION`]).
    pub version: u32,
    /// The account (as named in the [`Registry`]).
    pub account: String,
    /// The run.
    pub run_id: RunId,
    /// The stop request (mode and options).
    pub request: StopRequest,
    /// When waiting gives up.
    pub deadline: DateTime<Utc>,
    /// How many stop requests were sent.
    pub stops_sent: u32,
    /// How many status polls were made.
    pub polls: u32,
    /// The last state seen.
    pub last_state: Option<RunState>,
    /// Where the stop stands.
    pub stop: StopPhase,
}

impl StopTicket {
    /// A ticket for a stop not sent yet.
    pub fn new(
        account: impl Into<String>,
        run_id: RunId,
        request: StopRequest,
        deadline: DateTime<Utc>,
    ) -> Self {
        StopTicket {
            version: TICKET_VERSION,
            account: account.into(),
            run_id,
            request,
            deadline,
            stops_sent: 0,
            polls: 0,
            last_state: None,
            stop: StopPhase::NotSent,
        }
    }

    /// Whether the run has reached its final state.
    pub fn is_final(&self) -> bool {
        matches!(self.stop, StopPhase::Final { .. })
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        // A ticket holds only strings, numbers and maps with string keys.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads the JSON form, refusing unknown versions.
    pub fn from_json(text: &str) -> Result<StopTicket> {
        let raw: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input(format!("a stop ticket is not valid JSON: {e}")))?;
        match raw.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(TICKET_VERSION) => {}
            Some(v) => {
                return Err(Error::invalid_input(format!(
                    "stop ticket version {v} is not supported (this build reads version {TICKET_VERSION})"
                )));
            }
            None => return Err(Error::invalid_input("a stop ticket has no version")),
        }
        serde_json::from_value(raw)
            .map_err(|e| Error::invalid_input(format!("a stop ticket is malformed: {e}")))
    }

    fn finish(&mut self, run: &Run) {
        self.last_state = Some(run.state);
        if self.is_final() {
            // Already decided; a later read does not change how it ended.
            return;
        }
        if run.state.is_terminal() {
            let already = matches!(&self.stop, StopPhase::Accepted { outcome, .. } if outcome == "already_finished");
            let stop_won = !already && matches!(run.state, RunState::Stopped | RunState::Idle);
            self.stop = StopPhase::Final {
                state: run.state,
                stop_won,
            };
        }
    }

    /// The time left before the ticket's deadline (zero once it passed).
    fn left(&self) -> Duration {
        (self.deadline - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    async fn send(&mut self, ctrl: &dyn JobController) -> Result<()> {
        let sent_at = Utc::now();
        let resent_after_loss = matches!(self.stop, StopPhase::AnswerLost { .. });
        self.stops_sent += 1;
        // The stop call is bounded by the ticket's deadline: a stop that
        // hangs past it may still have been applied, so its answer counts as
        // lost (and `resume` judges it by the run's state).
        let answer =
            match tokio::time::timeout(self.left(), ctrl.stop(&self.run_id, &self.request)).await {
                Ok(answer) => answer,
                Err(_) => {
                    self.stop = StopPhase::AnswerLost { sent_at };
                    return Ok(());
                }
            };
        match answer {
            Ok(outcome) => {
                // A resend finding the run already stopped most likely finds
                // our first, unanswered stop's work: count it as ours.
                let name = match &outcome {
                    StopOutcome::AlreadyFinished(run)
                        if resent_after_loss && run.state == RunState::Stopped =>
                    {
                        "stopped"
                    }
                    other => other.as_str(),
                };
                self.stop = StopPhase::Accepted {
                    sent_at,
                    outcome: name.to_owned(),
                };
                let run = outcome.run().clone();
                self.finish(&run);
                Ok(())
            }
            // No answer: the stop may have been applied. Remember that.
            Err(e) if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => {
                self.stop = StopPhase::AnswerLost { sent_at };
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// How long a status poll may run past the ticket's deadline.
const POLL_GRACE: Duration = Duration::from_secs(2);

/// Sends the stop and returns the ticket recording it; pass the ticket to
/// [`resume`] (in this process or another) to wait for the end.
pub async fn start_stop(
    registry: &Registry,
    account: &str,
    run_id: RunId,
    request: StopRequest,
    timeout: Duration,
) -> Result<StopTicket> {
    let ctrl = &registry.get(account)?.controller;
    let deadline = chrono::Duration::from_std(timeout)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut ticket = StopTicket::new(account, run_id, request, deadline);
    ticket.send(ctrl.as_ref()).await?;
    Ok(ticket)
}

/// Continues a stop from its ticket until the run is terminal or the
/// ticket's deadline passes, calling `on_update` after every step (to save
/// the ticket, so a killed process can be resumed again).
///
/// A second stop is sent only when none was sent, or when the first one's
/// answer was lost and the vendor's stop is idempotent
/// ([`Capabilities::stop_is_idempotent`](jobstop_core::Capabilities)); an
/// accepted stop is never sent again. Past the deadline the error is
/// [`ErrorKind::Timeout`] with the last state seen.
pub async fn resume(
    registry: &Registry,
    mut ticket: StopTicket,
    wait: &WaitOptions,
    mut on_update: impl FnMut(&StopTicket),
) -> Result<(StopTicket, Run)> {
    if ticket.version != TICKET_VERSION {
        return Err(Error::invalid_input(format!(
            "stop ticket version {} is not supported (this build reads version {TICKET_VERSION})",
            ticket.version
        )));
    }
    let ctrl = registry.get(&ticket.account)?.controller.clone();
    if ticket.is_final() {
        // Nothing left to do but report the run as it is now.
        let run = ctrl.status(&ticket.run_id).await?;
        ticket.polls += 1;
        ticket.finish(&run);
        on_update(&ticket);
        return Ok((ticket, run));
    }
    let resend = match &ticket.stop {
        StopPhase::NotSent => true,
        StopPhase::AnswerLost { .. } => ctrl.capabilities().stop_is_idempotent,
        _ => false,
    };
    if resend && !ticket.left().is_zero() {
        ticket.send(ctrl.as_ref()).await?;
        on_update(&ticket);
    }
    // The library's one polling loop, to the ticket's deadline: the first
    // poll at once, each answer recorded in the ticket and shown to the
    // caller.
    let deadline = Instant::now() + ticket.left();
    // A status poll runs at most a moment past the deadline: a hanging read
    // cannot hold the wait past it.
    let wait = wait
        .clone()
        .with_poll_timeout(wait.poll_timeout.min(POLL_GRACE));
    let polls_before = ticket.polls;
    let polled = poll_until(
        ctrl.as_ref(),
        &ticket.run_id.clone(),
        &wait,
        deadline,
        None,
        |r: &Run| r.state.is_terminal(),
        |r: &Run| {
            ticket.polls += 1;
            ticket.finish(r);
            on_update(&ticket);
        },
    )
    .await?;
    ticket.polls = polls_before.saturating_add(polled.polls);
    match polled.run {
        Some(run) if polled.reached => Ok((ticket, run)),
        _ => {
            let mut err = Error::new(
                ErrorKind::Timeout,
                "the run did not reach a terminal state before the ticket's deadline",
            )
            .with_vendor(ctrl.vendor())
            .with_operation(Operation::Wait)
            .with_run_id(ticket.run_id.clone())
            .with_attempts(ticket.polls);
            if let Some(s) = ticket.last_state {
                err = err.with_last_state(s);
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Account;
    use jobstop_core::{InMemoryController, StopBehavior};
    use std::sync::Arc;

    fn registry(ctrl: Arc<InMemoryController>) -> Registry {
        let mut r = Registry::new();
        r.insert(Account::new("mem", "memory://", ctrl)).unwrap();
        r
    }

    fn fast() -> WaitOptions {
        WaitOptions::default()
            .with_timeout(Duration::from_secs(5))
            .with_intervals(Duration::from_millis(1), Duration::from_millis(5))
    }

    #[tokio::test]
    async fn a_ticket_round_trips_and_resumes_without_a_second_stop() {
        let ctrl =
            Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::AfterPolls(3)));
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let reg = registry(ctrl.clone());
        let ticket = start_stop(
            &reg,
            "mem",
            id.clone(),
            StopRequest::graceful(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert!(
            matches!(&ticket.stop, StopPhase::Accepted { outcome, .. } if outcome == "requested")
        );
        let json = ticket.to_json();
        assert!(json.contains("\"version\": 1"), "{json}");
        let back = StopTicket::from_json(&json).unwrap();
        assert_eq!(back, ticket);
        let mut updates = 0;
        let (done, run) = resume(&reg, back, &fast(), |_| updates += 1).await.unwrap();
        assert_eq!(run.state, RunState::Stopped);
        assert_eq!(
            done.stop,
            StopPhase::Final {
                state: RunState::Stopped,
                stop_won: true
            }
        );
        assert_eq!(ctrl.stop_calls(), 1, "an accepted stop is never sent again");
        assert!(updates >= 1);
    }

    #[tokio::test]
    async fn a_lost_answer_is_resent_only_for_idempotent_stops() {
        let ctrl = Arc::new(InMemoryController::new());
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let reg = registry(ctrl.clone());
        let mut ticket = StopTicket::new(
            "mem",
            id,
            StopRequest::graceful(),
            Utc::now() + chrono::Duration::seconds(5),
        );
        ticket.stop = StopPhase::AnswerLost {
            sent_at: Utc::now(),
        };
        ticket.stops_sent = 1;
        let (done, _) = resume(&reg, ticket, &fast(), |_| {}).await.unwrap();
        assert_eq!(done.stops_sent, 2);
        assert_eq!(ctrl.stop_calls(), 1);
    }

    #[tokio::test]
    async fn a_run_that_finished_first_is_not_won() {
        let ctrl = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Manual));
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let reg = registry(ctrl.clone());
        let ticket = start_stop(
            &reg,
            "mem",
            id.clone(),
            StopRequest::graceful(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        ctrl.set_state(&id, RunState::Succeeded).unwrap();
        let (done, _) = resume(&reg, ticket, &fast(), |_| {}).await.unwrap();
        assert_eq!(
            done.stop,
            StopPhase::Final {
                state: RunState::Succeeded,
                stop_won: false
            }
        );
    }

    #[tokio::test]
    async fn a_final_ticket_keeps_its_verdict_and_huge_timeouts_do_not_panic() {
        let ctrl = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let reg = registry(ctrl.clone());
        let ticket = start_stop(
            &reg,
            "mem",
            id,
            StopRequest::graceful(),
            Duration::from_secs(u64::MAX),
        )
        .await
        .unwrap();
        assert_eq!(ticket.deadline, DateTime::<Utc>::MAX_UTC);
        let mut final_ticket = ticket.clone();
        final_ticket.stop = StopPhase::Final {
            state: RunState::Stopped,
            stop_won: false,
        };
        let (done, _) = resume(&reg, final_ticket, &fast(), |_| {}).await.unwrap();
        assert_eq!(
            done.stop,
            StopPhase::Final {
                state: RunState::Stopped,
                stop_won: false
            }
        );
        assert_eq!(ctrl.stop_calls(), 1);
    }

    #[tokio::test]
    async fn a_resend_after_a_lost_answer_that_finds_the_run_stopped_counts_as_won() {
        let ctrl = Arc::new(InMemoryController::new());
        let id = ctrl.seed(1, RunState::Running).remove(0);
        ctrl.set_state(&id, RunState::Stopped).unwrap(); // the lost stop did its work
        let reg = registry(ctrl);
        let mut ticket = StopTicket::new(
            "mem",
            id,
            StopRequest::graceful(),
            Utc::now() + chrono::Duration::seconds(5),
        );
        ticket.stop = StopPhase::AnswerLost {
            sent_at: Utc::now(),
        };
        let (done, _) = resume(&reg, ticket, &fast(), |_| {}).await.unwrap();
        assert_eq!(
            done.stop,
            StopPhase::Final {
                state: RunState::Stopped,
                stop_won: true
            }
        );
    }

    #[tokio::test]
    async fn deadlines_and_versions() {
        let ctrl = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Manual));
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let reg = registry(ctrl);
        let ticket = start_stop(
            &reg,
            "mem",
            id,
            StopRequest::graceful(),
            Duration::from_millis(30),
        )
        .await
        .unwrap();
        let err = resume(&reg, ticket.clone(), &fast(), |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.context().last_state, Some(RunState::Stopping));
        let json = ticket.to_json().replace("\"version\": 1", "\"version\": 7");
        let err = StopTicket::from_json(&json).unwrap_err();
        assert!(
            err.to_string().contains("version 7 is not supported"),
            "{err}"
        );
        assert!(StopTicket::from_json("{}").is_err());
    }
}
