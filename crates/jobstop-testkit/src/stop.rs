//! Stop checks. These change the account: run them after the read-only ones.

use std::collections::HashMap;

use futures::StreamExt;
use jobstop_core::{
    ErrorKind, JobController, JobControllerExt, Operation, Run, RunId, RunState, StopOutcome,
    StopReport, StopRequest,
};

use crate::support::{self, Cx, id};
use crate::{CheckOutcome, Fixture};

async fn active_run(cx: &Cx, ctrl: &dyn JobController, which: &str, rid: &RunId) -> Run {
    let r = support::status(cx, ctrl, which, rid).await;
    assert!(
        r.state.is_active(),
        "{cx}: bad fixture: the {which} run must be active when this check starts, but status \
         says {} (did an earlier check or another test stop it?)",
        support::run(&r)
    );
    r
}

/// The answer to the first stop of an active run: `requested` or `stopped`,
/// and `stopped` only when the controller's stop is synchronous.
fn assert_accepted(cx: &Cx, what: &str, before: &Run, o: &StopOutcome, stop_is_async: bool) {
    support::assert_outcome_shape(cx, what, &before.id, o);
    match o {
        StopOutcome::Requested(_) | StopOutcome::Stopped(_) => {}
        StopOutcome::AlreadyFinished(_) => panic!(
            "{cx}: {what} of {} returned already_finished, but status just before said it was {} \
             (vendor_state {:?}): expected requested or stopped; got {}",
            id(&before.id),
            before.state,
            before.vendor_state,
            support::outcome(o)
        ),
        _ => panic!(
            "{cx}: {what}: an outcome this kit does not know: {}",
            o.as_str()
        ),
    }
    if !stop_is_async {
        assert!(
            matches!(o, StopOutcome::Stopped(_)),
            "{cx}: capabilities().stop_is_async is false, so {what} of an active run must return \
             stopped, got {}",
            support::outcome(o)
        );
    }
}

/// A `stop_and_wait` report of a run this check stopped: terminal, the same
/// run, ended stopped (or idle), and `stop_won` consistent with the outcome.
fn assert_report(cx: &Cx, what: &str, rid: &RunId, report: &StopReport) {
    support::assert_outcome_shape(cx, what, rid, &report.outcome);
    let fin = &report.final_run;
    assert!(
        fin.id == *rid,
        "{cx}: {what} of {} reported a different final run: {}",
        id(rid),
        support::run(fin)
    );
    support::assert_vendor(cx, what, fin);
    assert!(
        fin.state.is_terminal(),
        "{cx}: {what} of {} returned a final run that is not terminal: {}",
        id(rid),
        support::run(fin)
    );
    let ended_stopped = matches!(fin.state, RunState::Stopped | RunState::Idle);
    assert!(
        ended_stopped,
        "{cx}: {what}: {} accepted the stop but ended {} (vendor_state {:?}), not stopped or \
         idle: it finished on its own first, or the adapter maps the vendor's stopped state \
         wrongly",
        id(rid),
        fin.state,
        fin.vendor_state
    );
    let already = matches!(report.outcome, StopOutcome::AlreadyFinished(_));
    let expected = !already && ended_stopped;
    assert!(
        report.stop_won == expected,
        "{cx}: {what} of {} reported stop_won {} with outcome {} and final state {}; expected {}",
        id(rid),
        report.stop_won,
        report.outcome.as_str(),
        fin.state,
        expected
    );
}

/// Stopping a terminal run is success: `already_finished`, and the run is
/// unchanged.
///
/// Stops `fx.finished` gracefully and asserts the outcome is `already_finished`
/// with the same id, the controller's vendor and the terminal state `status`
/// reported just before.
pub async fn check_stop_finished(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "stop_finished");
    let before = support::status(&cx, ctrl, "finished", &fx.finished).await;
    assert!(
        before.state.is_terminal(),
        "{cx}: bad fixture: the finished run must be terminal, but status says {}",
        support::run(&before)
    );
    let what = format!("stop of the finished run {}", id(&fx.finished));
    let o = support::ok(
        &cx,
        &what,
        ctrl.stop(&fx.finished, &StopRequest::graceful()).await,
    );
    support::assert_outcome_shape(&cx, "stop", &fx.finished, &o);
    assert!(
        matches!(o, StopOutcome::AlreadyFinished(_)),
        "{cx}: {what} (status just before: {}) must return already_finished, got {}",
        before.state,
        support::outcome(&o)
    );
    assert!(
        o.run().state == before.state,
        "{cx}: {what} changed its state from {} to {}: stopping a finished run must leave it as \
         it was; got {}",
        before.state,
        o.run().state,
        support::outcome(&o)
    );
    CheckOutcome::Passed
}

/// The life of one graceful stop of an active run.
///
/// On `fx.running` (which must be active): the first stop returns `requested`
/// or `stopped` (only `stopped` if `!capabilities().stop_is_async`) for the same
/// id; a second stop right away is not an error; `stop_and_wait` then ends with
/// the run terminal, stopped or idle, and `stop_won` true exactly when the
/// final state is stopped/idle and its own stop call did not answer
/// `already_finished`; a last stop returns `already_finished`.
pub async fn check_stop_running(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "stop_running");
    let caps = ctrl.capabilities();
    let rid = &fx.running;
    let req = StopRequest::graceful();
    let before = active_run(&cx, ctrl, "running", rid).await;

    let what = "first stop";
    let o = support::ok(&cx, what, ctrl.stop(rid, &req).await);
    assert_accepted(&cx, what, &before, &o, caps.stop_is_async);

    let what = "second stop right after the first";
    let o = support::ok(&cx, what, ctrl.stop(rid, &req).await);
    support::assert_outcome_shape(&cx, what, rid, &o);

    let what = "stop_and_wait after two stops";
    let report = support::ok(&cx, what, ctrl.stop_and_wait(rid, &req, &fx.wait).await);
    assert_report(&cx, what, rid, &report);

    let what = "stop of the now-finished run";
    let o = support::ok(&cx, what, ctrl.stop(rid, &req).await);
    support::assert_outcome_shape(&cx, what, rid, &o);
    assert!(
        matches!(o, StopOutcome::AlreadyFinished(_)),
        "{cx}: {what} {} must return already_finished, got {}",
        id(rid),
        support::outcome(&o)
    );
    CheckOutcome::Passed
}

/// Force stop as `capabilities().force_stop` says, on `fx.second_running`
/// (skipped when the fixture has none). Leaves that run stopped either way.
///
/// - `force_stop` true: a `StopRequest::force()` returns `requested` or
///   `stopped`, a second force stop right away is not an error, and
///   `stop_and_wait` with the force request ends stopped.
/// - `force_stop` false: a force stop fails with `ErrorKind::Unsupported` and
///   leaves the run active; then two graceful stops sent at the same time both
///   succeed (at least one `requested` or `stopped`), and `stop_and_wait` ends
///   stopped.
pub async fn check_force_stop(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "force_stop");
    let Some(rid) = &fx.second_running else {
        return CheckOutcome::Skipped("the fixture has no second_running".to_owned());
    };
    let caps = ctrl.capabilities();
    let before = active_run(&cx, ctrl, "second_running", rid).await;

    if caps.force_stop {
        let req = StopRequest::force();
        let what = "force stop";
        let o = support::ok(&cx, what, ctrl.stop(rid, &req).await);
        assert_accepted(&cx, what, &before, &o, caps.stop_is_async);

        let what = "second force stop right after the first";
        let o = support::ok(&cx, what, ctrl.stop(rid, &req).await);
        support::assert_outcome_shape(&cx, what, rid, &o);

        let what = "stop_and_wait (force) after two force stops";
        let report = support::ok(&cx, what, ctrl.stop_and_wait(rid, &req, &fx.wait).await);
        assert_report(&cx, what, rid, &report);
        return CheckOutcome::Passed;
    }

    match ctrl.stop(rid, &StopRequest::force()).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => {}
        Err(e) => panic!(
            "{cx}: capabilities().force_stop is false, so a force stop of {} must fail with \
             Unsupported, but it failed with {}",
            id(rid),
            support::error(&e)
        ),
        Ok(o) => panic!(
            "{cx}: capabilities().force_stop is false, so a force stop of {} must be refused with \
             Unsupported rather than pretend, but it returned {}",
            id(rid),
            support::outcome(&o)
        ),
    }
    let after = support::status(&cx, ctrl, "second_running", rid).await;
    assert!(
        after.state.is_active(),
        "{cx}: a refused force stop must leave the run alone, but {} went from {} to {}",
        id(rid),
        before.state,
        support::run(&after)
    );

    let req = StopRequest::graceful();
    let (a, b) = futures::join!(ctrl.stop(rid, &req), ctrl.stop(rid, &req));
    let a = support::ok(&cx, "the first of two simultaneous stops", a);
    let b = support::ok(&cx, "the second of two simultaneous stops", b);
    for o in [&a, &b] {
        support::assert_outcome_shape(&cx, "one of two simultaneous stops", rid, o);
    }
    assert!(
        !(matches!(a, StopOutcome::AlreadyFinished(_))
            && matches!(b, StopOutcome::AlreadyFinished(_))),
        "{cx}: two simultaneous stops of the active {} both returned already_finished; one of \
         them must have been accepted: {} / {}",
        support::run(&after),
        support::outcome(&a),
        support::outcome(&b)
    );
    if !caps.stop_is_async {
        for o in [&a, &b] {
            assert!(
                !matches!(o, StopOutcome::Requested(_)),
                "{cx}: capabilities().stop_is_async is false, but a stop of {} returned {}",
                id(rid),
                support::outcome(o)
            );
        }
    }
    let what = "stop_and_wait after two simultaneous stops";
    let report = support::ok(&cx, what, ctrl.stop_and_wait(rid, &req, &fx.wait).await);
    assert_report(&cx, what, rid, &report);
    CheckOutcome::Passed
}

/// [`JobControllerExt::stop_many`] answers every id exactly once.
///
/// Stops `[running, unknown, finished, running, finished, unknown]` (each id
/// twice) with a concurrency of 3 and asserts: one answer per input entry, as
/// many answers per id as the id appears; the unknown id answers `NotFound`;
/// the finished run answers `already_finished`; the running run (stopped by
/// then if [`check_stop_running`](crate::check_stop_running) ran) answers any
/// outcome for its own id.
pub async fn check_stop_many(ctrl: &dyn JobController, fx: &Fixture) -> CheckOutcome {
    let cx = support::start(ctrl, fx, "stop_many");
    let ids: Vec<RunId> = vec![
        fx.running.clone(),
        fx.unknown.clone(),
        fx.finished.clone(),
        fx.running.clone(),
        fx.finished.clone(),
        fx.unknown.clone(),
    ];
    let mut expected: HashMap<&RunId, usize> = HashMap::new();
    for i in &ids {
        *expected.entry(i).or_default() += 1;
    }
    let req = StopRequest::graceful();
    let results: Vec<_> = ctrl.stop_many(ids.clone(), &req, 3).collect().await;
    assert!(
        results.len() == ids.len(),
        "{cx}: stop_many of {} ids gave {} answers",
        ids.len(),
        results.len()
    );
    let mut got: HashMap<&RunId, usize> = HashMap::new();
    for r in &results {
        *got.entry(&r.id).or_default() += 1;
        let what = format!("stop_many's answer for {}", id(&r.id));
        if r.id == fx.unknown {
            match &r.result {
                Err(e) => support::assert_not_found(&cx, &what, &r.id, Operation::Stop, e),
                Ok(o) => panic!("{cx}: {what} must be NotFound, got {}", support::outcome(o)),
            }
        } else if r.id == fx.finished || r.id == fx.running {
            let o = match &r.result {
                Ok(o) => o,
                Err(e) => panic!("{cx}: {what} failed: {}", support::error(e)),
            };
            support::assert_outcome_shape(&cx, &what, &r.id, o);
            if r.id == fx.finished {
                assert!(
                    matches!(o, StopOutcome::AlreadyFinished(_)),
                    "{cx}: {what} (the finished run) must be already_finished, got {}",
                    support::outcome(o)
                );
            }
        } else {
            panic!(
                "{cx}: stop_many answered {}, which was not asked for",
                id(&r.id)
            );
        }
    }
    for (rid, n) in &expected {
        let g = got.get(rid).copied().unwrap_or(0);
        assert!(
            g == *n,
            "{cx}: stop_many was given {} {n} times but answered it {g} times",
            id(rid)
        );
    }
    CheckOutcome::Passed
}
