//! How a `--wait` polls and shows its progress, for `jobstop stop` (with or
//! without a ticket), `jobstop resume` and the demo.

use std::time::Duration;

use jobstop::{RunState, WaitOptions};

use crate::output::{Progress, one_line};

/// How `--wait` polls: quickly at first, then every few seconds.
pub(super) fn wait_options(timeout: Duration) -> WaitOptions {
    WaitOptions::default()
        .with_timeout(timeout)
        .with_intervals(Duration::from_millis(200), Duration::from_secs(5))
        .with_multiplier(1.5)
}

/// Where a wait shows how it goes: the spinner and its label.
pub(super) struct Waiting<'a> {
    pub(super) progress: &'a Progress,
    pub(super) label: &'a str,
}

impl Waiting<'_> {
    /// Shows the run's state as last seen (and the vendor's, if known) and
    /// the polls made so far.
    pub(super) fn show(&self, state: RunState, vendor_state: Option<&str>, polls: u32) {
        let vendor_state = vendor_state
            .map(|v| format!(" ({})", one_line(v)))
            .unwrap_or_default();
        self.progress.set_message(format!(
            "{}: {state}{vendor_state}, {polls} status poll(s)",
            self.label
        ));
    }
}
