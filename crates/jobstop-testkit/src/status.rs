//! Status and not-found checks.

use jobstop_core::{JobController, Operation, StopRequest};

use crate::support::{self, id};
use crate::{CheckOutcome, Fixture};

/// `status` reports the fixture's runs faithfully.
///
/// `status(fx.running)` returns that id with the controller's vendor, an
/// active state and a non-empty `vendor_state`; `status(fx.finished)` returns
/// that id in a terminal state with a non-empty `vendor_state`.
pub async fn check_status(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "status");
    let running = support::status(&cx, ctrl, "running", &fx.running).await;
    assert!(
        running.state.is_active(),
        "{cx}: status of the running run {} must be active (queued, running, paused or stopping), \
         got {}",
        id(&fx.running),
        support::run(&running)
    );
    let finished = support::status(&cx, ctrl, "finished", &fx.finished).await;
    assert!(
        finished.state.is_terminal(),
        "{cx}: status of the finished run {} must be terminal (stopped, succeeded, failed or \
         idle), got {}",
        id(&fx.finished),
        support::run(&finished)
    );
    for r in [&running, &finished] {
        assert!(
            !r.vendor_state.trim().is_empty(),
            "{cx}: status of {} has an empty vendor_state; it must keep the vendor's state string",
            support::run(r)
        );
    }
    CheckOutcome::Passed
}

/// An id the vendor does not know is `NotFound`, from `status` and from `stop`.
///
/// Each error must be `ErrorKind::NotFound` (not a success, not another kind);
/// where the error carries a run id, vendor or operation, they must be
/// `fx.unknown`, `ctrl.vendor()` and `status`/`stop`; its `Display` must be one
/// non-empty line.
pub async fn check_unknown_id(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "unknown_id");
    match ctrl.status(&fx.unknown).await {
        Ok(r) => panic!(
            "{cx}: status of unknown id {} must fail with NotFound, but returned {}",
            id(&fx.unknown),
            support::run(&r)
        ),
        Err(e) => support::assert_not_found(&cx, "status", &fx.unknown, Operation::Status, &e),
    }
    match ctrl.stop(&fx.unknown, &StopRequest::graceful()).await {
        Ok(o) => panic!(
            "{cx}: stop of unknown id {} must fail with NotFound, but returned {}",
            id(&fx.unknown),
            support::outcome(&o)
        ),
        Err(e) => support::assert_not_found(&cx, "stop", &fx.unknown, Operation::Stop, &e),
    }
    CheckOutcome::Passed
}
