//! No token, secret key, request signature, password or IAM token in any
//! log line, error or `Debug` output, for all three auth modes (IAM token,
//! AK/SK signing, IAM user and password). In a test binary of its own, so
//! that no other test runs while the tracing subscriber captures.
//!
//! Each mode runs one scenario against the simulator: first use (the IAM
//! token request, for the IAM user), list, status, a 401 on the way (a new
//! IAM token, or an `Unauthenticated` error for the static token and AK/SK),
//! a 500 on the way (on an API call, and on the IAM token request), a dropped
//! connection, stop, an unknown run, and a controller with a wrong
//! credential. The simulator's request log masks `Authorization`,
//! `X-Auth-Token` and `X-Subject-Token`, so a relay in front of each of its
//! servers keeps the raw traffic: every `SDK-HMAC-SHA256` signature the
//! client sent and every IAM token it received is searched for too, not only
//! the configured credentials.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_core::{ErrorKind, JobController, ListQuery, RunId, RunState, StopRequest};
use jobstop_dataarts::DataArtsBuilder;
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};

use jobstop_testkit::wiretap::{Sinks, Tap, credentials_on_the_wire, of_kind};

// ----- the scenario ------------------------------------------------------

const WRONG_TOKEN: &str = "wrong-iam-token-3e8b51";
const WRONG_SK: &str = "wrong-secret-key-a40c92";
const WRONG_PASSWORD: &str = "wrong-password-1f6d07";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Token,
    AkSk,
    IamPassword,
}

fn client_config() -> ClientConfig {
    ClientConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
    )
}

fn builder(sim: &DataArtsSim, taps: &[Tap; 2], mode: Mode, right: bool) -> DataArtsBuilder {
    let b = DataArtsBuilder::new()
        .with_base_url(taps[0].url(&sim.base_url()))
        .with_project_id(sim.project_id())
        .with_client_config(client_config());
    match (mode, right) {
        (Mode::Token, true) => b.with_token(sim.token()),
        (Mode::Token, false) => b.with_token(WRONG_TOKEN),
        (Mode::AkSk, true) => b.with_access_key(sim.ak(), sim.sk()),
        (Mode::AkSk, false) => b.with_access_key(sim.ak(), WRONG_SK),
        (Mode::IamPassword, _) => b.with_iam_url(taps[1].url(&sim.iam_url())).with_iam_user(
            sim.username(),
            if right {
                sim.password()
            } else {
                WRONG_PASSWORD
            },
            sim.domain(),
        ),
    }
}

/// Login, list, status, a 401, a dropped connection, a 500, stop, an unknown
/// run, and a wrong credential, in `mode`.
async fn scenario(sim: &DataArtsSim, taps: &[Tap; 2], mode: Mode, sinks: &mut Sinks) {
    let m = format!("{mode:?}");
    let iam = mode == Mode::IamPassword;
    let grants = || sim.token_grants();
    let b = builder(sim, taps, mode, true);
    sinks.debug(&format!("{m}: builder"), &b);
    let ctrl = b.build().unwrap();
    sinks.debug(&format!("{m}: controller"), &ctrl);

    // Login (the IAM token request, for the IAM user) and list.
    let before = grants();
    let page = ctrl.list(&ListQuery::new()).await.unwrap();
    assert_eq!(grants(), before + u64::from(iam), "{m}: login");
    sinks.debug(&format!("{m}: list page"), &page);
    let id = page
        .runs
        .iter()
        .find(|r| r.state == RunState::Running)
        .map(|r| r.id.clone())
        .unwrap();
    sinks.debug(&format!("{m}: status"), &ctrl.status(&id).await.unwrap());

    // A 401 on the way: the IAM user fetches a new token and carries on; a
    // static token or a signature cannot be renewed, so the call fails.
    if iam {
        sim.expire_tokens();
        ctrl.status(&id).await.unwrap();
        assert_eq!(grants(), before + 2, "{m}: login after expiry");
    }
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::any(), Fault::status(401)).times(1));
    let result = ctrl.status(&id).await;
    assert_eq!(sim.faults().applied(rule), 1);
    if iam {
        result.unwrap();
        assert_eq!(grants(), before + 3, "{m}: login after a 401");
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

    // A 500 on the way: on the stop, and (IAM user) on the token request.
    let rule = sim
        .faults()
        .add(FaultRule::new(Route::post_prefix("/v1/"), Fault::status(500)).times(1));
    sinks.failed(
        &format!("{m}: 500 on stop"),
        ctrl.stop(&id, &StopRequest::graceful()).await,
    );
    assert_eq!(sim.faults().applied(rule), 1);
    if iam {
        sim.expire_tokens();
        let rule = sim
            .iam_server()
            .faults()
            .add(FaultRule::new(Route::post("/v3/auth/tokens"), Fault::status(500)).times(1));
        sinks.failed(&format!("{m}: 500 on the login"), ctrl.status(&id).await);
        assert_eq!(sim.iam_server().faults().applied(rule), 1);
    }

    // Stop, and an unknown run.
    let stopped = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    sinks.debug(&format!("{m}: stop"), &stopped);
    let err = sinks.failed(
        &format!("{m}: unknown run"),
        ctrl.status(&RunId::new("missing_job")).await,
    );
    assert_eq!(err.kind(), ErrorKind::NotFound, "{m}: {err}");

    // A wrong credential: the API (token, AK/SK) or IAM (password) answers
    // 401.
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
async fn no_secret_anywhere() {
    let logs = jobstop_testkit::LogCapture::start();

    let sim = DataArtsSim::builder()
        .realtime_jobs(3, 0)
        .instances(4)
        .running_instances(3)
        .start()
        .await
        .unwrap();
    let taps = [Tap::start(&sim.base_url()), Tap::start(&sim.iam_url())];
    let mut sinks = Sinks::default();
    for mode in [Mode::Token, Mode::AkSk, Mode::IamPassword] {
        scenario(&sim, &taps, mode, &mut sinks).await;
    }

    // What the client sent and received: the configured credentials, every
    // signature, and every IAM token granted.
    let mut messages = taps[0].messages();
    messages.extend(taps[1].messages());
    let wire = credentials_on_the_wire(&messages);
    let tokens_sent = of_kind(&wire, "x-auth-token header");
    assert!(tokens_sent.contains(sim.token()) && tokens_sent.contains(WRONG_TOKEN));
    let granted = of_kind(&wire, "x-subject-token header");
    assert_eq!(
        granted.len() as u64,
        sim.token_grants(),
        "the relay missed a grant"
    );
    assert!(
        granted.is_subset(&tokens_sent),
        "a granted token was never used"
    );
    let signatures = of_kind(&wire, "signature");
    assert!(signatures.len() >= 5, "{} signatures", signatures.len());
    assert!(signatures.iter().all(|s| s.len() == 64), "{signatures:?}");
    let passwords = of_kind(&wire, "password");
    assert!(passwords.contains(sim.password()) && passwords.contains(WRONG_PASSWORD));
    assert_eq!(
        sim.signature_failures(),
        1,
        "only the wrong SK fails to verify"
    );

    let logs = logs.contents();
    assert!(logs.contains("http attempt"), "no events captured");
    assert!(logs.contains("credentials refreshed after 401"));
    sinks.logs(&logs);
    let mut secrets: Vec<(String, String)> = vec![
        ("the static token".into(), sim.token().into()),
        ("the secret key".into(), sim.sk().into()),
        ("the IAM password".into(), sim.password().into()),
        ("the wrong token".into(), WRONG_TOKEN.into()),
        ("the wrong secret key".into(), WRONG_SK.into()),
        ("the wrong IAM password".into(), WRONG_PASSWORD.into()),
    ];
    secrets.extend(
        wire.into_iter()
            .map(|(kind, v)| (format!("{kind} seen on the wire"), v)),
    );
    sinks.assert_free_of(&secrets);
    for (sink, text) in sinks.iter() {
        assert!(
            !text.contains("Signature=") && !text.contains("SDK-HMAC-SHA256 Access"),
            "an Authorization value leaked into {sink}: {text}"
        );
    }
}
