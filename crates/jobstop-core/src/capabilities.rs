//! What a controller can do, and where it filters.

use serde::{Deserialize, Serialize};

/// Where a list filter is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Where `created_from`/`created_to` are applied.
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
        if (query.created_from.is_some() || query.created_to.is_some())
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
