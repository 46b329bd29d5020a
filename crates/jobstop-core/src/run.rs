//! The normalized run model.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{RunId, Vendor};

/// The normalized state of a run.
///
/// Every adapter maps its vendor's state strings onto these, keeping the raw
/// string in [`Run::vendor_state`]. A value the adapter does not recognise
/// becomes [`RunState::Unknown`]; it is never guessed.
///
/// | state | active | terminal | stoppable |
/// |---|---|---|---|
/// | `queued` | yes | | yes |
/// | `running` | yes | | yes |
/// | `paused` | yes | | yes |
/// | `stopping` | yes | | |
/// | `stopped` | | yes | |
/// | `succeeded` | | yes | |
/// | `failed` | | yes | |
/// | `idle` | | yes | |
/// | `unknown` | | | |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Accepted or scheduled, not started yet.
    Queued,
    /// Running.
    Running,
    /// Suspended; may resume.
    Paused,
    /// A stop was accepted and is taking effect.
    Stopping,
    /// Ended because it was stopped.
    Stopped,
    /// Ended successfully.
    Succeeded,
    /// Ended with a failure.
    Failed,
    /// The entity exists and nothing is running, but no run outcome is known
    /// (a Chorus workfile at rest).
    Idle,
    /// A vendor value this adapter does not recognise; see [`Run::vendor_state`].
    Unknown,
}

impl RunState {
    /// All states, in declaration order.
    pub const ALL: [RunState; 9] = [
        RunState::Queued,
        RunState::Running,
        RunState::Paused,
        RunState::Stopping,
        RunState::Stopped,
        RunState::Succeeded,
        RunState::Failed,
        RunState::Idle,
        RunState::Unknown,
    ];

    /// Queued, running, paused or stopping: the run still holds resources.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunState::Queued | RunState::Running | RunState::Paused | RunState::Stopping
        )
    }

    /// Stopped, succeeded, failed or idle: nothing more will happen without a new start.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunState::Stopped | RunState::Succeeded | RunState::Failed | RunState::Idle
        )
    }

    /// Queued, running or paused: a stop request would change something.
    ///
    /// A `stopping` run is already being stopped; stopping it again is allowed
    /// and harmless but is not needed.
    pub fn is_stoppable(self) -> bool {
        matches!(
            self,
            RunState::Queued | RunState::Running | RunState::Paused
        )
    }

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Stopping => "stopping",
            RunState::Stopped => "stopped",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Idle => "idle",
            RunState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for RunState {
    type Err = ParseRunStateError;

    /// Parses the snake_case name (case-insensitive). Used for filters typed
    /// by people; vendor strings go through each adapter's own state table.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        RunState::ALL
            .into_iter()
            .find(|st| st.as_str() == lower)
            .ok_or_else(|| ParseRunStateError {
                input: s.chars().take(40).collect(),
            })
    }
}

/// A string that names no [`RunState`] (from `str::parse`). It converts into
/// an [`Error`](crate::Error) of kind `InvalidInput`, so `?` works in
/// functions returning [`Result`](crate::Result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRunStateError {
    input: String,
}

impl fmt::Display for ParseRunStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown run state {:?}; expected one of queued, running, paused, \
             stopping, stopped, succeeded, failed, idle, unknown",
            self.input
        )
    }
}

impl std::error::Error for ParseRunStateError {}

/// Who a run's failure is attributed to, where the vendor says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Attribution {
    /// The user or their configuration (Amperity `customer`).
    User,
    /// The vendor's platform.
    Platform,
}

/// Why a run ended badly, as the vendor reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunError {
    /// The vendor's message.
    pub message: Option<String>,
    /// The vendor's error code or type.
    pub code: Option<String>,
    /// Who the vendor blames.
    pub attribution: Option<Attribution>,
}

impl RunError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        RunError {
            message: Some(message.into()),
            ..RunError::default()
        }
    }

    /// Sets the vendor code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the attribution.
    pub fn with_attribution(mut self, attribution: Attribution) -> Self {
        self.attribution = Some(attribution);
        self
    }
}

/// One run on one vendor's platform, normalized.
///
/// Serialized as JSON with these snake_case field names and RFC 3339 UTC
/// timestamps; `raw` holds the vendor's own JSON object for whatever was not
/// normalized.
///
/// The normalized fields are public and stay so: new ones may be added (the
/// struct is `#[non_exhaustive]`), none will change type. The vendor's JSON
/// is kept as it arrived, undecoded, behind [`raw`](Self::raw) and
/// [`raw_value`](Self::raw_value): reading a listing does not build a JSON
/// tree per run, and how it is stored may change without breaking callers.
///
/// ```
/// use jobstop_core::{Run, RunId, RunState, Vendor};
///
/// let run = Run::new(Vendor::AMPERITY, RunId::new("wf-1"), RunState::Running, "running")
///     .with_name("Nightly");
/// let json = serde_json::to_value(&run).unwrap();
/// assert_eq!(json["state"], "running");
/// assert_eq!(json["vendor"], "amperity");
/// assert_eq!(json["name"], "Nightly");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Run {
    /// The vendor the run lives on.
    pub vendor: Vendor,
    /// The run's id, in the adapter's documented format.
    pub id: RunId,
    /// A human-readable name (workflow, workfile or job name).
    pub name: Option<String>,
    /// What kind of thing this run is, in the vendor's words
    /// (e.g. `courier.group/run`, `work_flow`, `real_time_job`, `execution`).
    pub kind: Option<String>,
    /// The normalized state.
    pub state: RunState,
    /// The state string exactly as the vendor sent it.
    pub vendor_state: String,
    /// When the run was created or scheduled.
    pub created_at: Option<DateTime<Utc>>,
    /// When the run started executing.
    pub started_at: Option<DateTime<Utc>>,
    /// When the run ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why the run failed or was stopped, if the vendor says.
    pub error: Option<RunError>,
    /// Who owns or launched the run.
    pub owner: Option<String>,
    /// The vendor's JSON object, as received, undecoded.
    #[serde(default)]
    raw: Option<Box<RawValue>>,
}

impl PartialEq for Run {
    fn eq(&self, other: &Run) -> bool {
        self.vendor == other.vendor
            && self.id == other.id
            && self.name == other.name
            && self.kind == other.kind
            && self.state == other.state
            && self.vendor_state == other.vendor_state
            && self.created_at == other.created_at
            && self.started_at == other.started_at
            && self.ended_at == other.ended_at
            && self.error == other.error
            && self.owner == other.owner
            && self.raw.as_ref().map(|r| r.get()) == other.raw.as_ref().map(|r| r.get())
    }
}

impl Run {
    /// A run with the required fields; the rest start empty.
    pub fn new(
        vendor: Vendor,
        id: RunId,
        state: RunState,
        vendor_state: impl Into<String>,
    ) -> Self {
        Run {
            vendor,
            id,
            name: None,
            kind: None,
            state,
            vendor_state: vendor_state.into(),
            created_at: None,
            started_at: None,
            ended_at: None,
            error: None,
            owner: None,
            raw: None,
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the kind.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the creation time.
    pub fn with_created_at(mut self, t: DateTime<Utc>) -> Self {
        self.created_at = Some(t);
        self
    }

    /// Sets the start time.
    pub fn with_started_at(mut self, t: DateTime<Utc>) -> Self {
        self.started_at = Some(t);
        self
    }

    /// Sets the end time.
    pub fn with_ended_at(mut self, t: DateTime<Utc>) -> Self {
        self.ended_at = Some(t);
        self
    }

    /// Sets the error.
    pub fn with_error(mut self, error: RunError) -> Self {
        self.error = Some(error);
        self
    }

    /// Sets the owner.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Sets the vendor's JSON from a decoded value (serialized once here).
    pub fn with_raw(mut self, raw: serde_json::Value) -> Self {
        self.raw = match raw {
            serde_json::Value::Null => None,
            v => serde_json::value::to_raw_value(&v).ok(),
        };
        self
    }

    /// Sets the vendor's JSON as received, without decoding it.
    pub fn with_raw_json(mut self, raw: Box<RawValue>) -> Self {
        self.raw = Some(raw);
        self
    }

    /// The run without the vendor's JSON (to compare normalized fields only,
    /// or to keep less in memory).
    pub fn without_raw(mut self) -> Self {
        self.raw = None;
        self
    }

    /// The vendor's JSON as received, undecoded; `None` when the run was not
    /// read from a vendor's answer.
    ///
    /// ```
    /// use jobstop_core::{Run, RunId, RunState, Vendor};
    ///
    /// let run = Run::new(Vendor::CHORUS, RunId::new("7"), RunState::Idle, "idle")
    ///     .with_raw(serde_json::json!({"id": 7}));
    /// assert_eq!(run.raw().map(|r| r.get()), Some(r#"{"id":7}"#));
    /// assert_eq!(run.raw_value()["id"], 7);
    /// ```
    pub fn raw(&self) -> Option<&RawValue> {
        self.raw.as_deref()
    }

    /// The vendor's JSON, decoded now (`Null` when there is none). Each call
    /// decodes again; keep the value if you read it more than once.
    pub fn raw_value(&self) -> serde_json::Value {
        self.raw
            .as_deref()
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_match_the_table() {
        use RunState::*;
        let table = [
            (Queued, true, false, true),
            (Running, true, false, true),
            (Paused, true, false, true),
            (Stopping, true, false, false),
            (Stopped, false, true, false),
            (Succeeded, false, true, false),
            (Failed, false, true, false),
            (Idle, false, true, false),
            (Unknown, false, false, false),
        ];
        assert_eq!(table.len(), RunState::ALL.len());
        for (s, active, terminal, stoppable) in table {
            assert_eq!(s.is_active(), active, "{s}");
            assert_eq!(s.is_terminal(), terminal, "{s}");
            assert_eq!(s.is_stoppable(), stoppable, "{s}");
        }
    }

    #[test]
    fn serde_names_are_snake_case_and_round_trip() {
        for s in RunState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<RunState>(&json).unwrap(), s);
            assert_eq!(s.as_str().parse::<RunState>().unwrap(), s);
            assert_eq!(s.as_str().to_uppercase().parse::<RunState>().unwrap(), s);
        }
        assert!("runnin".parse::<RunState>().is_err());
    }

    #[test]
    fn run_json_shape() {
        let t = DateTime::parse_from_rfc3339("2024-06-19T14:41:08.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let run = Run::new(Vendor::CHORUS, RunId::new("7"), RunState::Idle, "idle")
            .with_created_at(t)
            .with_error(RunError::new("boom").with_attribution(Attribution::User))
            .with_raw(serde_json::json!({"id": 7}));
        let v = serde_json::to_value(&run).unwrap();
        assert_eq!(v["created_at"], "2024-06-19T14:41:08.123Z");
        assert_eq!(v["started_at"], serde_json::Value::Null);
        assert_eq!(v["error"]["attribution"], "user");
        assert_eq!(v["vendor_state"], "idle");
        assert_eq!(v["raw"]["id"], 7);
        let back: Run = serde_json::from_value(v).unwrap();
        assert_eq!(back, run);
    }
}
