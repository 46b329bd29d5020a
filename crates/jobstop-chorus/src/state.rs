//! Chorus workfile `status` → [`RunState`].
//!
//! A workfile carries one status, `idle` or `running` (`AlpineWorkfile::IDLE`
//! and `RUNNING`); there is no per-run record, so a workfile at rest is
//! [`RunState::Idle`]: nothing is running and no outcome is known.

use jobstop_core::RunState;

/// Every known value and its state.
pub(crate) const STATE_TABLE: &[(&str, RunState)] =
    &[("running", RunState::Running), ("idle", RunState::Idle)];

/// The normalized state for a workfile `status` (compared exactly, as Chorus
/// writes it: lowercase).
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
        assert_eq!(map_state("running"), RunState::Running);
        assert_eq!(map_state("idle"), RunState::Idle);
        for other in ["Running", "IDLE", "queued", "stopping", "", " idle"] {
            assert_eq!(map_state(other), RunState::Unknown, "{other:?}");
        }
    }

    proptest! {
        #[test]
        fn any_string_maps_without_panicking(raw in any::<String>()) {
            let s = map_state(&raw);
            prop_assert!(s == RunState::Unknown || raw == "running" || raw == "idle");
        }
    }
}
