//! List queries and pages.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Cursor, Run, RunState};

/// What to list.
///
/// Every filter is optional; an empty query lists everything the account can
/// see. Adapters push down to the vendor what its API supports and filter the
/// rest locally ([`Capabilities`](crate::Capabilities) says which), so a page
/// may hold fewer runs than `page_size`, or none, while a next cursor is still
/// returned: keep following the cursor until it is `None`, or use
/// [`JobControllerExt::list_all`](crate::JobControllerExt::list_all).
///
/// ```
/// use jobstop_core::{ListQuery, RunState};
///
/// let q = ListQuery::new()
///     .with_state(RunState::Running)
///     .with_name_contains("nightly")
///     .with_page_size(100);
/// assert!(q.states.contains(&RunState::Running));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only runs in one of these states (empty: any state).
    pub states: BTreeSet<RunState>,
    /// Only runs created at or after this time (the runtime's
    /// `Selector::created_after` has the same name and meaning; was
    /// `created_from`, which serialized queries may still use).
    #[serde(alias = "created_from")]
    pub created_after: Option<DateTime<Utc>>,
    /// Only runs created strictly before this time (was `created_to`).
    #[serde(alias = "created_to")]
    pub created_before: Option<DateTime<Utc>>,
    /// Only runs of this kind, compared exactly with [`Run::kind`].
    pub kind: Option<String>,
    /// Only runs whose name contains this text, ignoring case.
    pub name_contains: Option<String>,
    /// How many runs to ask the vendor for per page.
    ///
    /// `None`: the largest page the vendor documents (where it documents
    /// none, the adapter's own default; each adapter's README says which and
    /// names its source). A size above the vendor's maximum for what is
    /// listed (at most
    /// [`Capabilities::max_page_size`](crate::Capabilities::max_page_size))
    /// is clamped to it, never refused, whether the vendor would refuse it or
    /// serve fewer; `0` counts as 1.
    pub page_size: Option<u32>,
    /// Where to continue a previous listing.
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    /// An empty query: everything, first page.
    pub fn new() -> Self {
        ListQuery::default()
    }

    /// Adds a state to the state filter.
    pub fn with_state(mut self, state: RunState) -> Self {
        self.states.insert(state);
        self
    }

    /// Replaces the state filter.
    pub fn with_states(mut self, states: impl IntoIterator<Item = RunState>) -> Self {
        self.states = states.into_iter().collect();
        self
    }

    /// Only runs created at or after `t`.
    pub fn with_created_after(mut self, t: DateTime<Utc>) -> Self {
        self.created_after = Some(t);
        self
    }

    /// Only runs created strictly before `t`.
    pub fn with_created_before(mut self, t: DateTime<Utc>) -> Self {
        self.created_before = Some(t);
        self
    }

    /// Renamed [`with_created_after`](Self::with_created_after).
    #[deprecated(note = "renamed `with_created_after`")]
    pub fn with_created_from(self, t: DateTime<Utc>) -> Self {
        self.with_created_after(t)
    }

    /// Renamed [`with_created_before`](Self::with_created_before).
    #[deprecated(note = "renamed `with_created_before`")]
    pub fn with_created_to(self, t: DateTime<Utc>) -> Self {
        self.with_created_before(t)
    }

    /// Only runs of this kind.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only runs whose name contains `text` (case-insensitive).
    pub fn with_name_contains(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Continues from a cursor.
    pub fn with_cursor(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// Whether `run` passes every filter of this query.
    ///
    /// Adapters use this for the filters their vendor cannot apply. A run with
    /// no creation time fails a creation-time filter; a run with no name fails a
    /// name filter; a run with no kind fails a kind filter.
    pub fn matches(&self, run: &Run) -> bool {
        if !self.states.is_empty() && !self.states.contains(&run.state) {
            return false;
        }
        if self.created_after.is_some() || self.created_before.is_some() {
            let Some(created) = run.created_at else {
                return false;
            };
            if self.created_after.is_some_and(|from| created < from) {
                return false;
            }
            if self.created_before.is_some_and(|to| created >= to) {
                return false;
            }
        }
        if let Some(kind) = &self.kind
            && run.kind.as_deref() != Some(kind.as_str())
        {
            return false;
        }
        if let Some(needle) = &self.name_contains {
            let Some(name) = &run.name else {
                return false;
            };
            if !contains_ignore_case(name, needle) {
                return false;
            }
        }
        true
    }
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// How far one listing through
/// [`JobControllerExt::list_all_with_limits`](crate::JobControllerExt::list_all_with_limits)
/// may go before it ends with [`ErrorKind::EndlessListing`](crate::ErrorKind::EndlessListing).
///
/// A server that hands out a fresh cursor on every page would otherwise be
/// followed forever. The defaults are generous: 10,000 pages (a million runs
/// at 100 a page) and 10 minutes from the first page's request; a listing
/// within them is never cut short. Whatever the limits, a page that makes no
/// progress (a next cursor the listing already followed, or exactly the runs
/// of the page before) ends the listing too.
///
/// ```
/// use std::time::Duration;
/// use jobstop_core::ListLimits;
///
/// let limits = ListLimits::default()
///     .with_max_pages(500)
///     .with_deadline(Duration::from_secs(60));
/// assert_eq!(limits.max_pages, 500);
/// assert_eq!(ListLimits::default().max_pages, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ListLimits {
    /// The most pages one listing reads (at least 1): a listing that still
    /// names a next page after this many ends with
    /// [`ListBound::Pages`](crate::ListBound::Pages).
    pub max_pages: u64,
    /// The longest one listing may take, from its first page's request; it
    /// also bounds a page request in flight. Past it the listing ends with
    /// [`ListBound::Deadline`](crate::ListBound::Deadline).
    pub deadline: Duration,
}

impl ListLimits {
    /// The default page budget: 10,000 pages.
    pub const DEFAULT_MAX_PAGES: u64 = 10_000;
    /// The default deadline: 10 minutes.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(600);

    /// Sets the page budget (0 counts as 1).
    pub fn with_max_pages(mut self, pages: u64) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            max_pages: Self::DEFAULT_MAX_PAGES,
            deadline: Self::DEFAULT_DEADLINE,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page {
    /// The runs on this page, after every filter.
    pub runs: Vec<Run>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
    /// The total number of matching runs, when the vendor reports it and no
    /// local filtering made it inexact.
    pub total: Option<u64>,
}

impl Page {
    /// A page of runs.
    pub fn new(runs: Vec<Run>, next_cursor: Option<Cursor>) -> Self {
        Page {
            runs,
            next_cursor,
            total: None,
        }
    }

    /// Sets the total.
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RunId, Vendor};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    #[allow(deprecated)]
    fn created_after_and_before_keep_the_old_names_working() {
        let t = at("2024-01-02T00:00:00Z");
        assert_eq!(
            ListQuery::new().with_created_from(t),
            ListQuery::new().with_created_after(t)
        );
        assert_eq!(
            ListQuery::new().with_created_to(t),
            ListQuery::new().with_created_before(t)
        );
        let old: ListQuery = serde_json::from_str(
            r#"{"states":[],"created_from":"2024-01-02T00:00:00Z","created_to":"2024-01-02T00:00:00Z","kind":null,"name_contains":null,"page_size":null,"cursor":null}"#,
        )
        .expect("old field names");
        assert_eq!(old.created_after, Some(t));
        assert_eq!(old.created_before, Some(t));
        let new = serde_json::to_string(&old).expect("serialize");
        assert!(
            new.contains("\"created_after\"") && new.contains("\"created_before\""),
            "{new}"
        );
    }

    #[test]
    fn matches_applies_every_filter() {
        let run = Run::new(
            Vendor::IN_MEMORY,
            RunId::new("1"),
            RunState::Running,
            "running",
        )
        .with_name("Nightly Load")
        .with_kind("batch")
        .with_created_at(at("2024-01-02T00:00:00Z"));
        assert!(ListQuery::new().matches(&run));
        assert!(ListQuery::new().with_state(RunState::Running).matches(&run));
        assert!(!ListQuery::new().with_state(RunState::Failed).matches(&run));
        assert!(ListQuery::new().with_name_contains("nightly").matches(&run));
        assert!(!ListQuery::new().with_name_contains("daily").matches(&run));
        assert!(ListQuery::new().with_kind("batch").matches(&run));
        assert!(!ListQuery::new().with_kind("Batch").matches(&run));
        // from is inclusive, to is exclusive
        assert!(
            ListQuery::new()
                .with_created_after(at("2024-01-02T00:00:00Z"))
                .matches(&run)
        );
        assert!(
            !ListQuery::new()
                .with_created_before(at("2024-01-02T00:00:00Z"))
                .matches(&run)
        );
        assert!(
            ListQuery::new()
                .with_created_before(at("2024-01-02T00:00:01Z"))
                .matches(&run)
        );
        let unnamed = Run::new(
            Vendor::IN_MEMORY,
            RunId::new("2"),
            RunState::Running,
            "running",
        );
        assert!(!ListQuery::new().with_name_contains("x").matches(&unnamed));
        assert!(
            !ListQuery::new()
                .with_created_after(at("2020-01-01T00:00:00Z"))
                .matches(&unnamed)
        );
    }
}
