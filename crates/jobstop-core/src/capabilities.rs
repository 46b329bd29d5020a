//! What a controller can do, and where it filters.

use serde::{Deserialize, Serialize};

use crate::{Run, RunState};

/// Where a list filter is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Filtering {
    /// The vendor applies it: fewer runs cross the network.
    Server,
    /// The adapter applies it to each page it receives.
    Local,
    /// The filter cannot be applied (the vendor has no such field); a query
    /// using it is refused with `Unsupported`.
    Unsupported,
}

impl Filtering {
    /// Whether the filter can be used at all.
    pub fn is_supported(self) -> bool {
        !matches!(self, Filtering::Unsupported)
    }
}

/// What a controller supports, so callers (and the conformance kit) can
/// adapt instead of guessing.
///
/// ```
/// use jobstop_core::{Capabilities, Filtering};
///
/// let caps = Capabilities::new()
///     .with_state_filter(Filtering::Server)
///     .with_async_stop(true);
/// assert!(caps.stop_is_async);
/// assert!(!caps.force_stop);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Where [`ListQuery::states`](crate::ListQuery::states) is applied.
    pub state_filter: Filtering,
    /// Where `created_after`/`created_before` are applied.
    pub created_filter: Filtering,
    /// Where [`ListQuery::kind`](crate::ListQuery::kind) is applied.
    pub kind_filter: Filtering,
    /// Where [`ListQuery::name_contains`](crate::ListQuery::name_contains) is applied.
    pub name_filter: Filtering,
    /// Whether pages can carry a total count.
    pub total_count: bool,
    /// The largest page size the vendor accepts.
    pub max_page_size: u32,
    /// Whether a stop may return before the run is stopped
    /// ([`StopOutcome::Requested`](crate::StopOutcome::Requested)).
    pub stop_is_async: bool,
    /// Whether [`StopMode::Force`](crate::StopMode::Force) does something
    /// different from a graceful stop.
    pub force_stop: bool,
    /// Whether sending the same stop twice is harmless on the vendor's side,
    /// so a stop whose answer was lost may be sent again.
    pub stop_is_idempotent: bool,
    /// The states the vendor accepts a stop in, for runs of any kind not in
    /// [`stoppable_states_by_kind`](Self::stoppable_states_by_kind). Default:
    /// every [stoppable](RunState::is_stoppable) state (queued, running,
    /// paused).
    #[serde(default = "default_stoppable_states")]
    pub stoppable_states: Vec<RunState>,
    /// Per run kind ([`Run::kind`]), where the vendor's rule differs: the
    /// states it accepts a stop in (e.g. DataArts refuses to stop a paused
    /// batch instance with `DLF.0102`).
    #[serde(default)]
    pub stoppable_states_by_kind: Vec<(String, Vec<RunState>)>,
}

fn default_stoppable_states() -> Vec<RunState> {
    RunState::ALL
        .into_iter()
        .filter(|s| s.is_stoppable())
        .collect()
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::new()
    }
}

impl Capabilities {
    /// Conservative defaults: every filter local, no totals, page size 100,
    /// asynchronous idempotent stop, no force mode.
    pub fn new() -> Self {
        Capabilities {
            state_filter: Filtering::Local,
            created_filter: Filtering::Local,
            kind_filter: Filtering::Local,
            name_filter: Filtering::Local,
            total_count: false,
            max_page_size: 100,
            stop_is_async: true,
            force_stop: false,
            stop_is_idempotent: true,
            stoppable_states: default_stoppable_states(),
            stoppable_states_by_kind: Vec::new(),
        }
    }

    /// Sets where the state filter is applied.
    pub fn with_state_filter(mut self, f: Filtering) -> Self {
        self.state_filter = f;
        self
    }

    /// Sets where the creation-time filter is applied.
    pub fn with_created_filter(mut self, f: Filtering) -> Self {
        self.created_filter = f;
        self
    }

    /// Sets where the kind filter is applied.
    pub fn with_kind_filter(mut self, f: Filtering) -> Self {
        self.kind_filter = f;
        self
    }

    /// Sets where the name filter is applied.
    pub fn with_name_filter(mut self, f: Filtering) -> Self {
        self.name_filter = f;
        self
    }

    /// Sets whether totals are available.
    pub fn with_total_count(mut self, yes: bool) -> Self {
        self.total_count = yes;
        self
    }

    /// Sets the largest page size.
    pub fn with_max_page_size(mut self, n: u32) -> Self {
        self.max_page_size = n;
        self
    }

    /// Sets whether stop is asynchronous.
    pub fn with_async_stop(mut self, yes: bool) -> Self {
        self.stop_is_async = yes;
        self
    }

    /// Sets whether a force mode exists.
    pub fn with_force_stop(mut self, yes: bool) -> Self {
        self.force_stop = yes;
        self
    }

    /// Sets whether stop is idempotent.
    pub fn with_idempotent_stop(mut self, yes: bool) -> Self {
        self.stop_is_idempotent = yes;
        self
    }

    /// Sets the states a stop is accepted in, for every kind without its
    /// own rule.
    pub fn with_stoppable_states(mut self, states: impl IntoIterator<Item = RunState>) -> Self {
        self.stoppable_states = states.into_iter().collect();
        self
    }

    /// Sets the states a stop is accepted in for runs of `kind`.
    pub fn with_stoppable_states_for_kind(
        mut self,
        kind: impl Into<String>,
        states: impl IntoIterator<Item = RunState>,
    ) -> Self {
        let kind = kind.into();
        self.stoppable_states_by_kind.retain(|(k, _)| *k != kind);
        self.stoppable_states_by_kind
            .push((kind, states.into_iter().collect()));
        self
    }

    /// Whether the vendor accepts a stop of `run` in its current state: the
    /// state is [stoppable](RunState::is_stoppable) and in the states
    /// declared for the run's kind (or for every kind). Bulk stops plan only
    /// such runs.
    ///
    /// ```
    /// use jobstop_core::{Capabilities, Run, RunId, RunState, Vendor};
    ///
    /// let caps = Capabilities::new()
    ///     .with_stoppable_states_for_kind("instance", [RunState::Queued, RunState::Running]);
    /// let mut run = Run::new(Vendor::IN_MEMORY, RunId::new("1"), RunState::Paused, "pause");
    /// assert!(caps.can_stop(&run));
    /// run.kind = Some("instance".into());
    /// assert!(!caps.can_stop(&run));
    /// ```
    pub fn can_stop(&self, run: &Run) -> bool {
        if !run.state.is_stoppable() {
            return false;
        }
        let by_kind = run.kind.as_deref().and_then(|kind| {
            self.stoppable_states_by_kind
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, states)| states)
        });
        by_kind
            .unwrap_or(&self.stoppable_states)
            .contains(&run.state)
    }

    /// Refuses a query that uses a filter this controller cannot apply.
    pub fn check_query(&self, query: &crate::ListQuery) -> crate::Result<()> {
        let refuse = |what: &str| {
            Err(crate::Error::unsupported(format!(
                "this controller cannot filter by {what}"
            )))
        };
        if !query.states.is_empty() && !self.state_filter.is_supported() {
            return refuse("state");
        }
        if (query.created_after.is_some() || query.created_before.is_some())
            && !self.created_filter.is_supported()
        {
            return refuse("creation time");
        }
        if query.kind.is_some() && !self.kind_filter.is_supported() {
            return refuse("kind");
        }
        if query.name_contains.is_some() && !self.name_filter.is_supported() {
            return refuse("name");
        }
        Ok(())
    }
}
