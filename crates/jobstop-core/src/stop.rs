//! Stop requests and outcomes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Run;

/// How hard to stop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopMode {
    /// Ask the run to stop, letting it clean up.
    #[default]
    Graceful,
    /// Kill it, where the vendor has a separate kill call
    /// ([`Capabilities::force_stop`](crate::Capabilities::force_stop)); a
    /// controller without one refuses with `Unsupported` rather than pretend.
    Force,
}

/// A stop request: the mode and vendor-specific options.
///
/// ```
/// use jobstop_core::{StopMode, StopRequest};
///
/// let req = StopRequest::graceful().with_option("expiryDuration", 5);
/// assert_eq!(req.mode, StopMode::Graceful);
/// assert_eq!(req.options["expiryDuration"], 5);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopRequest {
    /// Graceful or forced.
    pub mode: StopMode,
    /// Vendor options, documented by each adapter; unknown keys are refused.
    pub options: BTreeMap<String, serde_json::Value>,
}

impl StopRequest {
    /// A graceful stop with no options.
    pub fn graceful() -> Self {
        StopRequest::default()
    }

    /// A forced stop with no options.
    pub fn force() -> Self {
        StopRequest {
            mode: StopMode::Force,
            options: BTreeMap::new(),
        }
    }

    /// Adds a vendor option.
    pub fn with_option(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Refuses options outside `allowed`, so a typo is not silently ignored.
    pub fn check_options(&self, allowed: &[&str]) -> crate::Result<()> {
        for key in self.options.keys() {
            if !allowed.contains(&key.as_str()) {
                let allowed = if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                };
                return Err(crate::Error::invalid_input(format!(
                    "unknown stop option {key:?} (supported: {allowed})"
                )));
            }
        }
        Ok(())
    }
}

/// What a stop call achieved. Each variant carries the run as known after the
/// call.
///
/// Serialized as `{"outcome": "requested" | "stopped" | "already_finished", "run": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "run", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopOutcome {
    /// The vendor accepted the stop; the run is not terminal yet.
    Requested(Run),
    /// The response already shows the run stopped, or an earlier attempt of
    /// this call, whose answer was lost, stopped it (the vendor refused the
    /// repeat on a run now terminal; see [`StopOutcome::after_refusal`]).
    Stopped(Run),
    /// The run was terminal before we asked. Stopping a finished run is
    /// success, not an error.
    AlreadyFinished(Run),
}

impl StopOutcome {
    /// The run as known after the call.
    pub fn run(&self) -> &Run {
        match self {
            StopOutcome::Requested(r)
            | StopOutcome::Stopped(r)
            | StopOutcome::AlreadyFinished(r) => r,
        }
    }

    /// Consumes the outcome, returning the run.
    pub fn into_run(self) -> Run {
        match self {
            StopOutcome::Requested(r)
            | StopOutcome::Stopped(r)
            | StopOutcome::AlreadyFinished(r) => r,
        }
    }

    /// What a stop the vendor refused (409, or a 400 some vendors use for a
    /// run they cannot stop) achieved, from the run read back after the
    /// refusal. One rule for every adapter:
    ///
    /// - the run is terminal and an earlier attempt of the same stop may have
    ///   reached the vendor with its answer lost
    ///   ([`Error::had_unanswered_attempt`](crate::Error::had_unanswered_attempt)
    ///   on `refusal`): that attempt stopped it, so [`Stopped`](Self::Stopped),
    ///   never "it ended on its own";
    /// - the run is terminal otherwise: [`AlreadyFinished`](Self::AlreadyFinished);
    /// - the run is stopping: [`Requested`](Self::Requested);
    /// - anything else (still running, or the read-back failed): the refusal,
    ///   as [`Refused`](crate::ErrorKind::Refused) rather than `InvalidInput`
    ///   (a stop carries nothing of the caller's but a run id checked before
    ///   sending, so its refusal is the vendor's, never a usage error); after
    ///   a lost answer its message says so.
    ///
    /// ```
    /// use jobstop_core::{Error, ErrorKind, Run, RunId, RunState, StopOutcome, Vendor};
    ///
    /// let run = Run::new(Vendor::IN_MEMORY, RunId::new("1"), RunState::Stopped, "stopped");
    /// let refusal = Error::new(ErrorKind::Conflict, "not running").with_http_status(409);
    /// let o = StopOutcome::after_refusal(Ok(run.clone()), refusal).unwrap();
    /// assert_eq!(o.as_str(), "already_finished");
    ///
    /// let refusal = Error::new(ErrorKind::Conflict, "not running").with_unanswered_attempt();
    /// let o = StopOutcome::after_refusal(Ok(run), refusal).unwrap();
    /// assert_eq!(o.as_str(), "stopped");
    /// ```
    pub fn after_refusal(
        read_back: crate::Result<Run>,
        refusal: crate::Error,
    ) -> crate::Result<Self> {
        let lost = refusal.had_unanswered_attempt();
        match read_back {
            Ok(run) if run.state.is_terminal() && lost => {
                tracing::info!(
                    run_id = %run.id.escape_for_display(),
                    "the stop was refused on a finished run after an attempt whose answer was lost: \
                     that attempt stopped it"
                );
                Ok(StopOutcome::Stopped(run))
            }
            Ok(run) if run.state.is_terminal() => Ok(StopOutcome::AlreadyFinished(run)),
            Ok(run) if run.state == crate::RunState::Stopping => Ok(StopOutcome::Requested(run)),
            _ if refusal.kind() == crate::ErrorKind::InvalidInput => {
                Err(refusal.with_kind(crate::ErrorKind::Refused))
            }
            _ => Err(refusal),
        }
    }

    /// The snake_case name of the variant.
    pub fn as_str(&self) -> &'static str {
        match self {
            StopOutcome::Requested(_) => "requested",
            StopOutcome::Stopped(_) => "stopped",
            StopOutcome::AlreadyFinished(_) => "already_finished",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RunId, RunState, Vendor};

    #[test]
    fn outcome_json_shape() {
        let run = Run::new(
            Vendor::IN_MEMORY,
            RunId::new("1"),
            RunState::Stopping,
            "stopping",
        );
        let v = serde_json::to_value(StopOutcome::Requested(run.clone())).unwrap();
        assert_eq!(v["outcome"], "requested");
        assert_eq!(v["run"]["id"], "1");
        let v = serde_json::to_value(StopOutcome::AlreadyFinished(run)).unwrap();
        assert_eq!(v["outcome"], "already_finished");
    }

    #[test]
    fn a_refused_stop_is_read_by_the_run_and_by_whether_an_answer_was_lost() {
        use crate::{Error, ErrorKind};
        let run = |state| Run::new(Vendor::IN_MEMORY, RunId::new("1"), state, "x");
        let refusal = || Error::new(ErrorKind::InvalidInput, "not running").with_http_status(400);
        let lost = || refusal().with_unanswered_attempt();
        let name = |r: crate::Result<StopOutcome>| r.map(|o| o.as_str()).map_err(|e| e.kind());

        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Stopped)),
                refusal()
            )),
            Ok("already_finished")
        );
        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Stopped)),
                lost()
            )),
            Ok("stopped")
        );
        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Succeeded)),
                lost()
            )),
            Ok("stopped")
        );
        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Stopping)),
                lost()
            )),
            Ok("requested")
        );
        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Stopping)),
                refusal()
            )),
            Ok("requested")
        );
        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Running)),
                refusal()
            )),
            Err(ErrorKind::Refused)
        );
        assert_eq!(
            name(StopOutcome::after_refusal(
                Ok(run(RunState::Running)),
                lost()
            )),
            Err(ErrorKind::Refused)
        );
        let failed = || Err(Error::new(ErrorKind::Unavailable, "500"));
        assert_eq!(
            name(StopOutcome::after_refusal(failed(), lost())),
            Err(ErrorKind::Refused)
        );
        assert_eq!(
            name(StopOutcome::after_refusal(failed(), refusal())),
            Err(ErrorKind::Refused)
        );
        let gone = || Err(Error::new(ErrorKind::NotFound, "gone"));
        assert_eq!(
            name(StopOutcome::after_refusal(gone(), refusal())),
            Err(ErrorKind::Refused)
        );
        let e = StopOutcome::after_refusal(failed(), lost()).unwrap_err();
        assert!(e.to_string().contains("its answer was lost"), "{e}");
    }

    #[test]
    fn unknown_options_are_refused() {
        let req = StopRequest::graceful().with_option("expiryDuraton", 5);
        let err = req.check_options(&["expiryDuration"]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("expiryDuraton"));
        assert!(StopRequest::graceful().check_options(&[]).is_ok());
    }
}
