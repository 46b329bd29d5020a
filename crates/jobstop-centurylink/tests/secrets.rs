//! No password or bearer token in any log line, error or `Debug` output,
//! for both auth modes (username/password login, a given bearer token). In a
//! test binary of its own, so that no other test runs while the tracing
//! subscriber captures.
//!
//! Each mode runs one scenario against the simulator: first use (the login,
//! for the password), list, status, a 401 on the way (a new login, or an
//! `Unauthenticated` error for the given token), a 500 on the way (on an API
//! call, and on the login), a dropped connection, stop, an unknown run, and
//! a controller with a wrong credential. The simulator's request log masks
//! credentials, so a relay in front of each of its servers keeps the raw
//! traffic: every bearer token the login issued is searched for too, not
//! only the configured credentials.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_centurylink::CenturyLinkBuilder;
use jobstop_core::{ErrorKind, JobController, ListQuery, RunId, RunState, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::{Fault, FaultRule, Route};

use jobstop_testkit::wiretap::{Sinks, Tap, credentials_on_the_wire, of_kind};

// ----- the scenario ------------------------------------------------------

const WRONG_PASSWORD: &str = "wrong-password-6a2f90";
const WRONG_TOKEN: &str = "wrong-bearer-token-c81e37";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Password,
    Token,
}

fn client_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
    )
}

fn builder(sim: &CenturyLinkSim, taps: &[Tap; 2], mode: Mode, right: bool) -> CenturyLinkBuilder {
    let b = CenturyLinkBuilder::new()
        .with_base_url(taps[0].url(&sim.base_url()))
        .with_client_config(client_config());
    match (mode, right) {
        (Mode::Password, _) => b
            .with_login_url(taps[1].url(&sim.login_url()))
            .with_password(
                sim.username(),
                if right {
                    sim.password()
                } else {
                    WRONG_PASSWORD
                },
            ),
        (Mode::Token, _) => b
            .with_account_alias(sim.account_alias())
            .with_token(if right { sim.token() } else { WRONG_TOKEN }),
    }
}

/// Login, list, status, a 401, a dropped connection, a 500, stop, an unknown
/// run, and a wrong credential, in `mode`.
async fn scenario(sim: &CenturyLinkSim, taps: &[Tap; 2], mode: Mode, sinks: &mut Sinks) {
    let m = format!("{mode:?}");
    let login = mode == Mode::Password;
    let logins = || sim.logins();
    let b = builder(sim, taps, mode, true);
    sinks.debug(&format!("{m}: builder"), &b);
    let ctrl = b.build().unwrap();
    sinks.debug(&format!("{m}: controller"), &ctrl);

    // Login (for the password) and list, page by page (one job's executions
    // a page) up to a running execution.
    let before = logins();
    let mut query = ListQuery::new();
    let id = loop {
        let page = ctrl.list(&query).await.unwrap();
        sinks.debug(&format!("{m}: list page"), &page);
        if let Some(r) = page.runs.iter().find(|r| r.state == RunState::Running) {
            break r.id.clone();
        }
        query = query.with_cursor(page.next_cursor.unwrap());
    };
    assert_eq!(logins(), before + u64::from(login), "{m}: login");
    sinks.debug(&format!("{m}: status"), &ctrl.status(&id).await.unwrap());

    // A 401 on the way: the password logs in again and carries on; a given
    // token cannot be renewed, so the call fails.
    if login {
        sim.expire_tokens();
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

    // A connection dropped before any answer, on every attempt.
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::CloseBeforeHeaders));
    let err = sinks.failed(&format!("{m}: dropped"), ctrl.status(&id).await);
    assert_eq!(err.kind(), ErrorKind::Transport, "{m}: {err}");
    sim.faults().clear();

    // A 500 on the way: on the stop, and (password) on the login.
    let rule = sim.faults().add(
        FaultRule::new(
            Route::post("/jobs/*/*/executions/*/stop"),
            Fault::status(500),
        )
        .times(1),
    );
    sinks.failed(
        &format!("{m}: 500 on stop"),
        ctrl.stop(&id, &StopRequest::graceful()).await,
    );
    assert_eq!(sim.faults().applied(rule), 1);
    if login {
        sim.expire_tokens();
        let rule = sim.login_server().faults().add(
            FaultRule::new(Route::post("/v2/authentication/login"), Fault::status(500)).times(1),
        );
        sinks.failed(&format!("{m}: 500 on the login"), ctrl.status(&id).await);
        assert_eq!(sim.login_server().faults().applied(rule), 1);
    }

    // Stop, and an unknown run.
    let stopped = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    sinks.debug(&format!("{m}: stop"), &stopped);
    let err = sinks.failed(
        &format!("{m}: unknown run"),
        ctrl.status(&RunId::new("nojob/noexecution")).await,
    );
    assert_eq!(err.kind(), ErrorKind::NotFound, "{m}: {err}");

    // A wrong credential: the login (password) or the API (token) refuses
    // it.
    let b = builder(sim, taps, mode, false);
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
async fn no_password_or_token_anywhere() {
    let logs = jobstop_testkit::LogCapture::start();

    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .executions_per_job(3)
        .running(2)
        .start()
        .await
        .unwrap();
    let taps = [Tap::start(&sim.base_url()), Tap::start(&sim.login_url())];
    let mut sinks = Sinks::default();
    for mode in [Mode::Password, Mode::Token] {
        scenario(&sim, &taps, mode, &mut sinks).await;
    }

    // What the client sent and received: the configured credentials, and
    // every bearer token the login issued.
    let mut messages = taps[0].messages();
    messages.extend(taps[1].messages());
    let wire = credentials_on_the_wire(&messages);
    let bearers = of_kind(&wire, "authorization credential");
    assert!(bearers.contains(sim.token()) && bearers.contains(WRONG_TOKEN));
    let issued = sim.issued_tokens();
    assert!(issued.len() >= 3, "{} logins", issued.len());
    let answered = of_kind(&wire, "bearerToken");
    for t in &issued {
        assert!(
            answered.contains(t.as_str()),
            "the relay missed a login answer"
        );
        assert!(
            bearers.contains(t.as_str()),
            "an issued token was never used"
        );
    }
    let passwords = of_kind(&wire, "password");
    assert!(passwords.contains(sim.password()) && passwords.contains(WRONG_PASSWORD));

    let logs = logs.contents();
    assert!(logs.contains("http attempt"), "no events captured");
    assert!(logs.contains("credentials refreshed after 401"));
    sinks.logs(&logs);
    let mut secrets: Vec<(String, String)> = vec![
        ("the password".into(), sim.password().into()),
        ("the static token".into(), sim.token().into()),
        ("the wrong password".into(), WRONG_PASSWORD.into()),
        ("the wrong token".into(), WRONG_TOKEN.into()),
    ];
    secrets.extend(issued.into_iter().map(|t| ("an issued token".into(), t)));
    secrets.extend(
        wire.into_iter()
            .map(|(kind, v)| (format!("{kind} seen on the wire"), v)),
    );
    sinks.assert_free_of(&secrets);
    for (sink, text) in sinks.iter() {
        assert!(
            !text.contains("Bearer "),
            "an Authorization value leaked into {sink}: {text}"
        );
    }
}
