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
pub enum StopOutcome {
    /// The vendor accepted the stop; the run is not terminal yet.
    Requested(Run),
    /// The response already shows the run stopped.
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
    fn unknown_options_are_refused() {
        let req = StopRequest::graceful().with_option("expiryDuraton", 5);
        let err = req.check_options(&["expiryDuration"]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("expiryDuraton"));
        assert!(StopRequest::graceful().check_options(&[]).is_ok());
    }
}
