//! Tenant and version headers on every call, and no credential in any log
//! line, error or `Debug` output, for both auth modes (static token, OAuth
//! client credentials). In a test binary of its own, so that no other test
//! runs while the tracing subscriber captures.
//!
//! Each mode runs one scenario against the simulator: first use (the OAuth
//! token request), list, status, a 401 on the way (a re-fetched token, or an
//! `Unauthenticated` error for the static token), a 500 on the way (on an
//! API call, and on the token request), a dropped connection, stop, an
//! unknown run, and a controller with a wrong credential. The simulator's
//! request log masks credentials, so a relay in front of it keeps the raw
//! traffic: every token the client really sent or received is searched for
//! too, not only the configured ones.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_amperity::AmperityBuilder;
use jobstop_core::{ErrorKind, JobController, ListQuery, RunId, RunState, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultRule, Route};

use jobstop_testkit::wiretap::{Sinks, Tap, credentials_on_the_wire, of_kind};

// ----- the scenario ------------------------------------------------------

const WRONG_TOKEN: &str = "wrong-static-token-5d1c0e";
const WRONG_CLIENT_SECRET: &str = "wrong-client-secret-77a9f3";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    StaticToken,
    ClientCredentials,
}

fn client_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
    )
}

fn builder(sim: &AmperitySim, tap: &Tap, mode: Mode, right: bool) -> AmperityBuilder {
    let b = AmperityBuilder::new()
        .with_base_url(tap.url(&sim.base_url()))
        .with_tenant(sim.tenant())
        .with_client_config(client_config());
    match (mode, right) {
        (Mode::StaticToken, true) => b.with_token(sim.token()),
        (Mode::StaticToken, false) => b.with_token(WRONG_TOKEN),
        (Mode::ClientCredentials, true) => {
            b.with_client_credentials(sim.client_id(), sim.client_secret())
        }
        (Mode::ClientCredentials, false) => {
            b.with_client_credentials(sim.client_id(), WRONG_CLIENT_SECRET)
        }
    }
}

/// Login, list, status, a 401, a 500, a dropped connection, stop, an unknown
/// run, and a wrong credential, in `mode`.
async fn scenario(sim: &AmperitySim, tap: &Tap, mode: Mode, sinks: &mut Sinks) {
    let m = format!("{mode:?}");
    let oauth = mode == Mode::ClientCredentials;
    let grants = || sim.token_grants();
    let b = builder(sim, tap, mode, true);
    sinks.debug(&format!("{m}: builder"), &b);
    let ctrl = b.build().unwrap();
    sinks.debug(&format!("{m}: controller"), &ctrl);

    // Login (the token request, for OAuth) and list.
    let before = grants();
    let page = ctrl.list(&ListQuery::new()).await.unwrap();
    assert_eq!(grants(), before + u64::from(oauth), "{m}: login");
    sinks.debug(&format!("{m}: list page"), &page);
    let id = page
        .runs
        .iter()
        .find(|r| r.state == RunState::Running)
        .map(|r| r.id.clone())
        .unwrap();
    sinks.debug(&format!("{m}: status"), &ctrl.status(&id).await.unwrap());

    // A 401 on the way: OAuth fetches a new token and carries on; the static
    // token cannot be renewed, so the call fails.
    if oauth {
        sim.expire_tokens();
        ctrl.status(&id).await.unwrap();
        assert_eq!(grants(), before + 2, "{m}: re-login after expiry");
    }
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::any(), Fault::status(401)).times(1));
    let result = ctrl.status(&id).await;
    assert_eq!(sim.faults().applied(rule), 1);
    if oauth {
        result.unwrap();
        assert_eq!(grants(), before + 3, "{m}: re-login after a 401");
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

    // A 500 on the way: on the stop, and (OAuth) on the token request.
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::any(), Fault::status(500)).times(1));
    sinks.failed(
        &format!("{m}: 500 on stop"),
        ctrl.stop(&id, &StopRequest::graceful()).await,
    );
    assert_eq!(sim.faults().applied(rule), 1);
    if oauth {
        sim.expire_tokens();
        let rule = sim
            .faults()
            .add(FaultRule::new(Route::post("/v0/oauth2/token"), Fault::status(500)).times(1));
        sinks.failed(&format!("{m}: 500 on the token"), ctrl.status(&id).await);
        assert_eq!(sim.faults().applied(rule), 1);
    }

    // Stop, and an unknown run.
    let stopped = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    sinks.debug(&format!("{m}: stop"), &stopped);
    let err = sinks.failed(
        &format!("{m}: unknown run"),
        ctrl.status(&RunId::new("wf-missing")).await,
    );
    assert_eq!(err.kind(), ErrorKind::NotFound, "{m}: {err}");

    // A wrong credential: the API (static) or the token endpoint (OAuth)
    // answers 401.
    let b = builder(sim, tap, mode, false);
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
async fn headers_on_every_call_and_no_secret_anywhere() {
    let logs = jobstop_testkit::LogCapture::start();

    let sim = AmperitySim::builder()
        .running(3)
        .finished(3)
        .start()
        .await
        .unwrap();
    let tap = Tap::start(&sim.base_url());
    let mut sinks = Sinks::default();
    for mode in [Mode::StaticToken, Mode::ClientCredentials] {
        scenario(&sim, &tap, mode, &mut sinks).await;
    }

    for r in sim.server().requests() {
        if r.target.starts_with("/api/v0/oauth2/token") {
            continue;
        }
        assert_eq!(
            r.header("amperity-tenant"),
            Some(sim.tenant()),
            "{}",
            r.target
        );
        assert_eq!(r.header("api-version"), Some("2024-04-01"), "{}", r.target);
        assert_eq!(r.header("authorization"), Some("***"), "{}", r.target);
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("jobstop/"))
        );
    }

    // What the client sent and received: the configured credentials, and
    // every access token the token endpoint granted.
    let wire = credentials_on_the_wire(&tap.messages());
    let secrets_sent = of_kind(&wire, "client_secret");
    assert!(
        secrets_sent.contains(sim.client_secret()) && secrets_sent.contains(WRONG_CLIENT_SECRET)
    );
    let granted = of_kind(&wire, "access_token");
    assert_eq!(
        granted.len() as u64,
        sim.token_grants(),
        "the relay missed a grant"
    );
    let bearers = of_kind(&wire, "authorization credential");
    assert!(bearers.contains(sim.token()) && bearers.contains(WRONG_TOKEN));
    assert!(
        granted.is_subset(&bearers),
        "a granted token was never used"
    );

    let logs = logs.contents();
    assert!(logs.contains("http attempt"), "no events captured");
    assert!(logs.contains("credentials refreshed after 401"));
    sinks.logs(&logs);
    let mut secrets: Vec<(String, String)> = vec![
        ("the static token".into(), sim.token().into()),
        ("the client secret".into(), sim.client_secret().into()),
        ("the wrong static token".into(), WRONG_TOKEN.into()),
        ("the wrong client secret".into(), WRONG_CLIENT_SECRET.into()),
    ];
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
