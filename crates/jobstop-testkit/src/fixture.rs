//! What the checks run against.

use std::time::Duration;

use jobstop_core::{RunId, WaitOptions};

/// The runs and settings the checks use on one account.
///
/// Build it with [`Fixture::new`] and the `with_*` setters:
///
/// ```
/// use std::time::Duration;
/// use jobstop_core::WaitOptions;
/// use jobstop_testkit::Fixture;
///
/// let fx = Fixture::new("run-17", "run-3", "run-does-not-exist")
///     .with_page_size(10)
///     .with_second_running("run-18")
///     .with_wait(
///         WaitOptions::default().with_timeout(Duration::from_secs(5))
///             .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
///     );
/// assert_eq!(fx.page_size, 10);
/// assert!(fx.kind.is_none());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fixture {
    /// A run that is active (queued, running or paused) when the suite
    /// starts. The stop checks stop it.
    pub running: RunId,
    /// A run that is already terminal (stopped, succeeded, failed or idle).
    pub finished: RunId,
    /// A well-formed id the vendor does not know.
    pub unknown: RunId,
    /// The page size for every listing; small enough that an unfiltered
    /// listing of the account takes at least two pages. Default 2.
    pub page_size: u32,
    /// How `stop_and_wait` polls. Default: 60 s timeout, polls every 10 ms
    /// growing to 1 s.
    pub wait: WaitOptions,
    /// The kind for the kind filter check; `None` uses the running run's kind.
    pub kind: Option<String>,
    /// The text for the name filter check; `None` derives one from the
    /// running run's name (the name without its first character).
    pub name_fragment: Option<String>,
    /// A second active run, for the force-stop check (which stops it).
    /// `None` skips that check.
    pub second_running: Option<RunId>,
}

impl Fixture {
    /// A fixture with the three required ids and defaults for the rest.
    pub fn new(
        running: impl Into<RunId>,
        finished: impl Into<RunId>,
        unknown: impl Into<RunId>,
    ) -> Self {
        Fixture {
            running: running.into(),
            finished: finished.into(),
            unknown: unknown.into(),
            page_size: 2,
            wait: WaitOptions::default()
                .with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(10), Duration::from_secs(1)),
            kind: None,
            name_fragment: None,
            second_running: None,
        }
    }

    /// Sets the page size used by every listing.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Sets how `stop_and_wait` polls.
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// Sets the kind for the kind filter check.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the text for the name filter check.
    pub fn with_name_fragment(mut self, fragment: impl Into<String>) -> Self {
        self.name_fragment = Some(fragment.into());
        self
    }

    /// Sets a second active run for the force-stop check.
    pub fn with_second_running(mut self, id: impl Into<RunId>) -> Self {
        self.second_running = Some(id.into());
        self
    }
}
