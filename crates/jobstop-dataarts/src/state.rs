//! DataArts Factory states → [`RunState`].
//!
//! Three tables, one per kind of run:
//!
//! | kind | DataArts | jobstop |
//! |---|---|---|
//! | batch instance | `waiting` | `queued` |
//! | | `running` | `running` |
//! | | `pause`, `running-exception` | `paused` (suspended, not ended) |
//! | | `success` | `succeeded` |
//! | | `fail` | `failed` |
//! | | `manual-stop` | `stopped` |
//! | real-time job | `STARTING` | `queued` |
//! | | `NORMAL` | `running` |
//! | | `STOPPING` | `stopping` |
//! | | `STOPPED` | `stopped` |
//! | | `EXCEPTION` | `failed` |
//! | batch job (a schedule) | `SCHEDULING` | `running` |
//! | | `PAUSED` | `paused` |
//! | | `STOPPED` | `stopped` |
//!
//! Values are compared exactly, as DataArts writes them; anything else is
//! `unknown` with the raw value kept.

use jobstop_core::RunState;

/// Batch job instance `status`.
pub(crate) const INSTANCE: &[(&str, RunState)] = &[
    ("waiting", RunState::Queued),
    ("running", RunState::Running),
    ("pause", RunState::Paused),
    ("running-exception", RunState::Paused),
    ("success", RunState::Succeeded),
    ("fail", RunState::Failed),
    ("manual-stop", RunState::Stopped),
];

/// Real-time job `status`.
pub(crate) const REALTIME_JOB: &[(&str, RunState)] = &[
    ("STARTING", RunState::Queued),
    ("NORMAL", RunState::Running),
    ("STOPPING", RunState::Stopping),
    ("STOPPED", RunState::Stopped),
    ("EXCEPTION", RunState::Failed),
];

/// Batch job `status` (the schedule).
pub(crate) const BATCH_JOB: &[(&str, RunState)] = &[
    ("SCHEDULING", RunState::Running),
    ("PAUSED", RunState::Paused),
    ("STOPPED", RunState::Stopped),
];

fn lookup(table: &[(&str, RunState)], raw: &str) -> RunState {
    table
        .iter()
        .find(|(k, _)| *k == raw)
        .map_or(RunState::Unknown, |(_, s)| *s)
}

/// The state of a batch job instance.
pub fn instance_state(raw: &str) -> RunState {
    lookup(INSTANCE, raw)
}

/// The state of a real-time job.
pub fn realtime_job_state(raw: &str) -> RunState {
    lookup(REALTIME_JOB, raw)
}

/// The state of a batch job's schedule.
pub fn batch_job_state(raw: &str) -> RunState {
    lookup(BATCH_JOB, raw)
}

/// The one instance status for a normalized state, when there is exactly
/// one (so the `status` filter can be sent to the server).
pub(crate) fn instance_status_for(state: RunState) -> Option<&'static str> {
    let mut found = INSTANCE
        .iter()
        .filter(|(_, s)| *s == state)
        .map(|(k, _)| *k);
    match (found.next(), found.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tables() {
        type Case = (fn(&str) -> RunState, &'static str, RunState);
        let cases: &[Case] = &[
            (instance_state, "waiting", RunState::Queued),
            (instance_state, "running", RunState::Running),
            (instance_state, "pause", RunState::Paused),
            (instance_state, "running-exception", RunState::Paused),
            (instance_state, "success", RunState::Succeeded),
            (instance_state, "fail", RunState::Failed),
            (instance_state, "manual-stop", RunState::Stopped),
            (instance_state, "skip", RunState::Unknown),
            (instance_state, "RUNNING", RunState::Unknown),
            (realtime_job_state, "STARTING", RunState::Queued),
            (realtime_job_state, "NORMAL", RunState::Running),
            (realtime_job_state, "STOPPING", RunState::Stopping),
            (realtime_job_state, "STOPPED", RunState::Stopped),
            (realtime_job_state, "EXCEPTION", RunState::Failed),
            (realtime_job_state, "SCHEDULING", RunState::Unknown),
            (batch_job_state, "SCHEDULING", RunState::Running),
            (batch_job_state, "PAUSED", RunState::Paused),
            (batch_job_state, "STOPPED", RunState::Stopped),
            (batch_job_state, "NORMAL", RunState::Unknown),
        ];
        for (f, raw, want) in cases {
            assert_eq!(f(raw), *want, "{raw}");
        }
    }

    #[test]
    fn pushdown_only_when_one_value() {
        assert_eq!(instance_status_for(RunState::Running), Some("running"));
        assert_eq!(instance_status_for(RunState::Stopped), Some("manual-stop"));
        assert_eq!(instance_status_for(RunState::Paused), None);
        assert_eq!(instance_status_for(RunState::Stopping), None);
    }

    proptest! {
        #[test]
        fn any_string_maps_without_panicking(raw in any::<String>()) {
            let _ = (instance_state(&raw), realtime_job_state(&raw), batch_job_state(&raw));
        }
    }
}
