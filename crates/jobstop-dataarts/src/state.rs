//! DataArts Factory states → [`RunState`].
//!
//! Three tables, one per kind of run. The value lists come from the Huawei
//! Cloud Python SDK's model docstrings (`huaweicloudsdkdgc/v1/model/`
//! `job_instance.py`, `show_job_status_response.py`, `job_result.py`); the
//! OTC pages list fewer values.
//!
//! | kind | DataArts | jobstop |
//! |---|---|---|
//! | batch instance | `waiting` | `queued` |
//! | | `waiting-confirm` | `queued` |
//! | | `running` | `running` |
//! | | `pause`, `running-exception`, `freeze` | `paused` (suspended, not ended) |
//! | | `success`, `forceSuccess`, `ignoreSuccess` | `succeeded` |
//! | | `skip-by-depend` | `stopped` |
//! | | `fail` | `failed` |
//! | | `manual-stop` | `stopped` |
//! | real-time job | `STARTING`, `INIT` | `queued` |
//! | | `NORMAL`, `OVERLOAD` | `running` |
//! | | `PAUSE` | `paused` |
//! | | `STOPPING` | `stopping` |
//! | | `STOPPED`, `DISABLE` | `stopped` |
//! | | `EXCEPTION`, `ABNORMAL` | `failed` |
//! | batch job (a schedule) | `SCHEDULING` | `running` |
//! | | `PAUSED` | `paused` |
//! | | `STOPPED` | `stopped` |
//!
//! The values the docs leave open, and why:
//!
//! - `forceSuccess` ("强制成功", forced success) and `ignoreSuccess` ("忽略失败",
//!   failure ignored) are finished runs the console counts as successful
//!   (OTC `instance_monitoring.rst`: "Successful (including Forcibly
//!   successful and Failure ignored)").
//! - `freeze` ("冻结", frozen; the console's "Frozen"): the instance is held
//!   and runs when thawed, so it is suspended, not over: `paused`.
//! - `skip-by-depend` ("跳过", skipped): the instance was skipped because of
//!   its dependencies and will not run; it is over without running or
//!   failing. jobstop has no "skipped" state; `stopped` (ended without
//!   completing, not a failure) is the nearest.
//! - `waiting-confirm` ("待确认执行", waiting for a confirmation to run): not
//!   started, waiting: `queued`.
//! - `PAUSE` ("暂停", paused): `paused`.
//! - `ABNORMAL` ("运行异常/失败", running abnormally / failed): `failed`, like
//!   `EXCEPTION`.
//! - `DISABLE` ("节点禁用", node disabled): the job is switched off and does
//!   not run; it is not a failure: `stopped`.
//! - `OVERLOAD` ("繁忙", busy): the job runs, under load: `running`.
//! - `INIT` ("初始化", initialising): not running yet: `queued`.
//!
//! Values are compared exactly, as DataArts writes them; anything else is
//! `unknown` with the raw value kept.

use jobstop_core::RunState;

/// Batch job instance `status`.
pub(crate) const INSTANCE: &[(&str, RunState)] = &[
    ("waiting", RunState::Queued),
    ("waiting-confirm", RunState::Queued),
    ("running", RunState::Running),
    ("pause", RunState::Paused),
    ("running-exception", RunState::Paused),
    ("freeze", RunState::Paused),
    ("success", RunState::Succeeded),
    ("forceSuccess", RunState::Succeeded),
    ("ignoreSuccess", RunState::Succeeded),
    ("skip-by-depend", RunState::Stopped),
    ("fail", RunState::Failed),
    ("manual-stop", RunState::Stopped),
];

/// Real-time job `status`.
pub(crate) const REALTIME_JOB: &[(&str, RunState)] = &[
    ("STARTING", RunState::Queued),
    ("INIT", RunState::Queued),
    ("NORMAL", RunState::Running),
    ("OVERLOAD", RunState::Running),
    ("PAUSE", RunState::Paused),
    ("STOPPING", RunState::Stopping),
    ("STOPPED", RunState::Stopped),
    ("DISABLE", RunState::Stopped),
    ("EXCEPTION", RunState::Failed),
    ("ABNORMAL", RunState::Failed),
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
            (instance_state, "forceSuccess", RunState::Succeeded),
            (instance_state, "ignoreSuccess", RunState::Succeeded),
            (instance_state, "freeze", RunState::Paused),
            (instance_state, "skip-by-depend", RunState::Stopped),
            (instance_state, "waiting-confirm", RunState::Queued),
            (instance_state, "skip", RunState::Unknown),
            (instance_state, "RUNNING", RunState::Unknown),
            (realtime_job_state, "STARTING", RunState::Queued),
            (realtime_job_state, "NORMAL", RunState::Running),
            (realtime_job_state, "STOPPING", RunState::Stopping),
            (realtime_job_state, "STOPPED", RunState::Stopped),
            (realtime_job_state, "EXCEPTION", RunState::Failed),
            (realtime_job_state, "PAUSE", RunState::Paused),
            (realtime_job_state, "ABNORMAL", RunState::Failed),
            (realtime_job_state, "DISABLE", RunState::Stopped),
            (realtime_job_state, "OVERLOAD", RunState::Running),
            (realtime_job_state, "INIT", RunState::Queued),
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
        assert_eq!(instance_status_for(RunState::Failed), Some("fail"));
        assert_eq!(instance_status_for(RunState::Stopped), None);
        assert_eq!(instance_status_for(RunState::Succeeded), None);
        assert_eq!(instance_status_for(RunState::Paused), None);
        assert_eq!(instance_status_for(RunState::Stopping), None);
    }

    #[test]
    fn every_documented_value_is_mapped() {
        // HSDK job_instance.py: 12 instance statuses; show_job_status_response.py: 10.
        let instance = [
            "waiting",
            "running",
            "success",
            "forceSuccess",
            "ignoreSuccess",
            "freeze",
            "skip-by-depend",
            "waiting-confirm",
            "fail",
            "running-exception",
            "pause",
            "manual-stop",
        ];
        let realtime = [
            "STARTING",
            "NORMAL",
            "EXCEPTION",
            "STOPPING",
            "STOPPED",
            "PAUSE",
            "ABNORMAL",
            "DISABLE",
            "OVERLOAD",
            "INIT",
        ];
        assert_eq!((INSTANCE.len(), REALTIME_JOB.len()), (12, 10));
        for v in instance {
            assert_ne!(instance_state(v), RunState::Unknown, "{v}");
        }
        for v in realtime {
            assert_ne!(realtime_job_state(v), RunState::Unknown, "{v}");
        }
        for v in [
            "success",
            "forceSuccess",
            "ignoreSuccess",
            "skip-by-depend",
            "fail",
            "manual-stop",
        ] {
            assert!(instance_state(v).is_terminal(), "{v}");
        }
    }

    proptest! {
        #[test]
        fn any_string_maps_without_panicking(raw in any::<String>()) {
            let _ = (instance_state(&raw), realtime_job_state(&raw), batch_job_state(&raw));
        }
    }
}
