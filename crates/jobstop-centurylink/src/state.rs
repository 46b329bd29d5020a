//! Runner execution `status` → [`RunState`].
//!
//! | Runner | jobstop |
//! |---|---|
//! | `PENDING`, `INITIALIZING` | `queued` |
//! | `RUNNING` | `running` |
//! | `STOPPING`, `KILLING` | `stopping` |
//! | `STOPPED`, `KILLED` | `stopped` |
//! | `SUCCESS` | `succeeded` |
//! | `FAILURE`, `INIT_FAILURE` | `failed` |
//! | anything else | `unknown` (raw kept) |
//!
//! Values are compared exactly (Runner writes them uppercase).

use jobstop_core::RunState;

/// Every documented value and its state.
pub(crate) const STATE_TABLE: &[(&str, RunState)] = &[
    ("PENDING", RunState::Queued),
    ("INITIALIZING", RunState::Queued),
    ("RUNNING", RunState::Running),
    ("STOPPING", RunState::Stopping),
    ("KILLING", RunState::Stopping),
    ("STOPPED", RunState::Stopped),
    ("KILLED", RunState::Stopped),
    ("SUCCESS", RunState::Succeeded),
    ("FAILURE", RunState::Failed),
    ("INIT_FAILURE", RunState::Failed),
];

/// The normalized state of an execution `status`.
pub fn map_state(raw: &str) -> RunState {
    STATE_TABLE
        .iter()
        .find(|(k, _)| *k == raw)
        .map_or(RunState::Unknown, |(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        for (raw, want) in STATE_TABLE {
            assert_eq!(map_state(raw), *want);
        }
        for other in ["running", "EXPIRED", "TIMEOUT", "", "SUCCESS "] {
            assert_eq!(map_state(other), RunState::Unknown, "{other:?}");
        }
    }

    proptest! {
        #[test]
        fn any_string_maps_without_panicking(raw in any::<String>()) {
            let _ = map_state(&raw);
        }
    }
}
