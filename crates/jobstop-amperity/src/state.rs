//! Amperity's workflow states → [`RunState`].
//!
//! The wire values are lowercase keywords (`running`, `canceled`, …); the
//! docs' tables list UI labels (`In progress`, `Running with failures`). Both
//! are accepted: the value is lowercased and space, `_` and `-` are treated
//! alike before lookup. Anything else is [`RunState::Unknown`], with the raw
//! string kept in `Run::vendor_state`.

use jobstop_core::RunState;

/// Every known spelling (normalized: lowercase, words joined by `-`) and its state.
pub(crate) const STATE_TABLE: &[(&str, RunState)] = &[
    ("scheduled", RunState::Queued),
    ("queued", RunState::Queued),
    ("pending", RunState::Queued),
    ("started", RunState::Running),
    ("running", RunState::Running),
    ("in-progress", RunState::Running),
    ("finalizing", RunState::Running),
    ("running-with-failures", RunState::Running),
    ("paused", RunState::Paused),
    ("stopping", RunState::Stopping),
    ("canceling", RunState::Stopping),
    ("cancelling", RunState::Stopping),
    ("stopped", RunState::Stopped),
    ("canceled", RunState::Stopped),
    ("cancelled", RunState::Stopped),
    ("succeeded", RunState::Succeeded),
    ("failed", RunState::Failed),
];

/// Lowercases and joins words with `-`, so `In progress`, `in_progress` and
/// `IN-PROGRESS` are the same key.
pub(crate) fn normalize(raw: &str) -> String {
    raw.trim()
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// The normalized state for a wire value.
pub fn map_state(raw: &str) -> RunState {
    let key = normalize(raw);
    STATE_TABLE
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(RunState::Unknown, |(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_documented_spelling() {
        let cases = [
            ("scheduled", RunState::Queued),
            ("Scheduled", RunState::Queued),
            ("started", RunState::Running),
            ("Started", RunState::Running),
            ("running", RunState::Running),
            ("Running", RunState::Running),
            ("In progress", RunState::Running),
            ("in_progress", RunState::Running),
            ("in-progress", RunState::Running),
            ("finalizing", RunState::Running),
            ("Running with failures", RunState::Running),
            ("running-with-failures", RunState::Running),
            ("running_with_failures", RunState::Running),
            ("paused", RunState::Paused),
            ("Paused", RunState::Paused),
            ("stopping", RunState::Stopping),
            ("Stopping", RunState::Stopping),
            ("canceling", RunState::Stopping),
            ("Canceling", RunState::Stopping),
            ("cancelling", RunState::Stopping),
            ("stopped", RunState::Stopped),
            ("Stopped", RunState::Stopped),
            ("canceled", RunState::Stopped),
            ("Canceled", RunState::Stopped),
            ("cancelled", RunState::Stopped),
            ("succeeded", RunState::Succeeded),
            ("Succeeded", RunState::Succeeded),
            ("SUCCEEDED", RunState::Succeeded),
            ("failed", RunState::Failed),
            ("Failed", RunState::Failed),
            ("  failed ", RunState::Failed),
            ("skipped", RunState::Unknown),
            ("up for retry", RunState::Unknown),
            ("", RunState::Unknown),
            ("succeeded!", RunState::Unknown),
        ];
        for (raw, want) in cases {
            assert_eq!(map_state(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn table_keys_are_normalized() {
        for (k, _) in STATE_TABLE {
            assert_eq!(normalize(k), *k);
        }
    }

    proptest! {
        #[test]
        fn any_string_maps_without_panicking(raw in any::<String>()) {
            let _ = map_state(&raw);
        }

        #[test]
        fn separators_and_case_do_not_matter(i in 0..STATE_TABLE.len(), upper in any::<bool>(), sep in "[ _-]") {
            let (key, state) = STATE_TABLE[i];
            let mut raw = key.replace('-', &sep);
            if upper { raw = raw.to_uppercase(); }
            prop_assert_eq!(map_state(&raw), state);
        }
    }
}
