//! No password or session id in any log line, error or `Debug` output, for
//! both auth modes (username/password login, a given session id). In a test
//! binary of its own, so that no other test runs while the tracing
//! subscriber captures.
//!
//! Each mode runs one scenario against the simulator: first use (the login,
//! for the password), list, status, a 401 on the way (a new login, or an
//! `Unauthenticated` error for a given session), a 500 on the way (on an API
//! call, and on the login), a dropped connection, stop, an unknown run, an
//! expired session, and a controller with a wrong credential. The
//! simulator's request log masks credentials, so a relay in front of it keeps
//! the raw traffic: every session id (and CSRF token and cookie) the client
//! really sent or received is searched for too, not only the configured
//! ones.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_chorus::ChorusBuilder;
use jobstop_core::{ErrorKind, JobController, ListQuery, RunId, RunState, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::{Fault, FaultRule, Route};

use jobstop_testkit::wiretap::{Sinks, Tap, credentials_on_the_wire, of_kind};

// ----- the scenario ------------------------------------------------------

const WRONG_PASSWORD: &str = "wrong-password-9c4e21";
const WRONG_SESSION: &str = "wrong-session-0b7d5a";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Password,
    SessionId,
}

fn client_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
    )
}

fn builder(sim: &ChorusSim, tap: &Tap, mode: Mode, session: Option<&str>) -> ChorusBuilder {
    let b = ChorusBuilder::new()
        .with_base_url(tap.url(&sim.base_url()))
        .with_workspace_id(sim.workspace_id().to_string())
        .with_client_config(client_config());
    match (mode, session) {
        (Mode::Password, Some(_)) => b.with_password(sim.username(), sim.password()),
        (Mode::Password, None) => b.with_password(sim.username(), WRONG_PASSWORD),
        (Mode::SessionId, Some(s)) => b.with_session_id(s),
        (Mode::SessionId, None) => b.with_session_id(WRONG_SESSION),
    }
}

/// Login, list, status, a 401, a dropped connection, a 500, stop, an unknown
/// run, an expired session, and a wrong credential, in `mode`.
async fn scenario(sim: &ChorusSim, tap: &Tap, mode: Mode, sinks: &mut Sinks) {
    let m = format!("{mode:?}");
    let login = mode == Mode::Password;
    let given = if login {
        String::new()
    } else {
        sim.new_session()
    };
    let logins = || sim.logins();
    let b = builder(sim, tap, mode, Some(&given));
    sinks.debug(&format!("{m}: builder"), &b);
    let ctrl = b.build().unwrap();
    sinks.debug(&format!("{m}: controller"), &ctrl);

    // Login (for the password) and list.
    let before = logins();
    let page = ctrl.list(&ListQuery::new()).await.unwrap();
    assert_eq!(logins(), before + u64::from(login), "{m}: login");
    sinks.debug(&format!("{m}: list page"), &page);
    let id = page
        .runs
        .iter()
        .find(|r| r.state == RunState::Running)
        .map(|r| r.id.clone())
        .unwrap();
    sinks.debug(&format!("{m}: status"), &ctrl.status(&id).await.unwrap());

    // A 401 on the way: the password logs in again and carries on; a given
    // session cannot be renewed, so the call fails.
    if login {
        sim.expire_sessions();
        ctrl.status(&id).await.unwrap();
        assert_eq!(logins(), before + 2, "{m}: login after expiry");
    }
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::any(), Fault::status(401)).times(1));
    let result = ctrl.status(&id).await;
    assert_eq!(sim.faults().applied(rule), 1);
    if login {
        result.unwrap();
        assert_eq!(logins(), before + 3, "{m}: login after a 401");
    } else {
        let err = sinks.failed(&format!("{m}: 401"), result);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{m}: {err}");
    }

    // A connection dropped before any answer, on every attempt (the session
    // id is in the query of this GET).
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::CloseBeforeHeaders));
    let err = sinks.failed(&format!("{m}: dropped"), ctrl.status(&id).await);
    assert_eq!(err.kind(), ErrorKind::Transport, "{m}: {err}");
    sim.faults().clear();

    // A 500 on the way: on the stop (whose session id is in the form body),
    // and (password) on the login.
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::post("/api/workfiles/*/stop"), Fault::status(500)).times(1));
    sinks.failed(
        &format!("{m}: 500 on stop"),
        ctrl.stop(&id, &StopRequest::graceful()).await,
    );
    assert_eq!(sim.faults().applied(rule), 1);
    if login {
        sim.expire_sessions();
        let rule = sim
            .faults()
            .add(FaultRule::new(Route::post("/api/sessions"), Fault::status(500)).times(1));
        sinks.failed(&format!("{m}: 500 on the login"), ctrl.status(&id).await);
        assert_eq!(sim.faults().applied(rule), 1);
    }

    // Stop, and an unknown run.
    let stopped = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    sinks.debug(&format!("{m}: stop"), &stopped);
    let err = sinks.failed(
        &format!("{m}: unknown run"),
        ctrl.status(&RunId::new("123456789")).await,
    );
    assert_eq!(err.kind(), ErrorKind::NotFound, "{m}: {err}");

    // The session expires: the password logs in again; a given session is
    // refused for good.
    sim.expire_sessions();
    let result = ctrl.status(&id).await;
    if login {
        result.unwrap();
    } else {
        let err = sinks.failed(&format!("{m}: expired"), result);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{m}: {err}");
    }

    // A wrong credential: the login (password) or the API (session) answers
    // 401.
    let b = builder(sim, tap, mode, None);
    sinks.debug(&format!("{m} (wrong credential): builder"), &b);
    let wrong = b.build().unwrap();
    sinks.debug(&format!("{m} (wrong credential): controller"), &wrong);
    let err = sinks.failed(
        &format!("{m} (wrong credential): list"),
        wrong.list(&ListQuery::new()).await,
    );
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{m}: {err}");
}

#[tokio::test]
async fn no_password_or_session_id_anywhere() {
    let logs = jobstop_testkit::LogCapture::start();

    let sim = ChorusSim::builder()
        .running(3)
        .idle(2)
        .start()
        .await
        .unwrap();
    let tap = Tap::start(&sim.base_url());
    let mut sinks = Sinks::default();
    for mode in [Mode::Password, Mode::SessionId] {
        scenario(&sim, &tap, mode, &mut sinks).await;
    }

    // What the client sent and received: the configured credentials, and
    // every session id the simulator issued (and any cookie or CSRF token).
    let wire = credentials_on_the_wire(&tap.messages());
    let passwords = of_kind(&wire, "password");
    assert!(passwords.contains(sim.password()) && passwords.contains(WRONG_PASSWORD));
    let sessions = of_kind(&wire, "session_id");
    assert!(sessions.contains(WRONG_SESSION));
    let issued = sim.session_ids();
    assert!(issued.len() >= 6, "{} sessions", issued.len());
    for s in &issued {
        assert!(
            sessions.contains(s.as_str()),
            "the relay missed a session id"
        );
    }

    let logs = logs.contents();
    assert!(logs.contains("http attempt"), "no events captured");
    assert!(logs.contains("credentials refreshed after 401"));
    sinks.logs(&logs);
    let mut secrets: Vec<(String, String)> = vec![
        ("the password".into(), sim.password().into()),
        ("the wrong password".into(), WRONG_PASSWORD.into()),
        ("the wrong session id".into(), WRONG_SESSION.into()),
    ];
    secrets.extend(
        issued
            .into_iter()
            .map(|s| ("an issued session id".into(), s)),
    );
    secrets.extend(
        wire.into_iter()
            .map(|(kind, v)| (format!("{kind} seen on the wire"), v)),
    );
    sinks.assert_free_of(&secrets);
    for (sink, text) in sinks.iter() {
        let text = text.replace("session_id=NULL", "");
        assert!(
            !text.contains("session_id="),
            "a session parameter leaked into {sink}: {text}"
        );
    }
}
