//! Tenant and version headers on every call, and no credential in any log
//! line, error or `Debug` output, for both auth modes (static token, OAuth
//! client credentials): the test kit's secret-hygiene scenario
//! ([`jobstop_testkit::secrets`]), in a test binary of its own so that no
//! other test runs while the tracing subscriber captures. The simulator's
//! request log masks credentials, so the kit's relay keeps the raw traffic:
//! every access token the token endpoint granted is searched for too.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use jobstop_amperity::{AmperityBuilder, AmperityController};
use jobstop_core::RunId;
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Faults, Route};
use jobstop_testkit::secrets::{Credential, SecretScenario, check_secret_hygiene};
use jobstop_testkit::wiretap::{Tap, of_kind};

const WRONG_TOKEN: &str = "wrong-static-token-5d1c0e";
const WRONG_CLIENT_SECRET: &str = "wrong-client-secret-77a9f3";

#[derive(Clone, Copy, Debug)]
enum Mode {
    StaticToken,
    ClientCredentials,
}

struct Vendor(AmperitySim);

impl SecretScenario for Vendor {
    type Mode = Mode;
    type Builder = AmperityBuilder;
    type Controller = AmperityController;

    fn modes(&self) -> Vec<Mode> {
        vec![Mode::StaticToken, Mode::ClientCredentials]
    }
    fn logs_in(&self, mode: Mode) -> bool {
        matches!(mode, Mode::ClientCredentials)
    }
    fn upstreams(&self) -> Vec<String> {
        vec![self.0.base_url()]
    }
    fn builder(&self, taps: &[Tap], mode: Mode, credential: Credential) -> AmperityBuilder {
        let sim = &self.0;
        let right = credential == Credential::Right;
        let b = AmperityBuilder::new()
            .with_base_url(taps[0].url(&sim.base_url()))
            .with_tenant(sim.tenant())
            .with_client_config(
                ClientConfig::default().with_retry(
                    RetryPolicy::default()
                        .with_max_attempts(3)
                        .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
                ),
            );
        match mode {
            Mode::StaticToken => b.with_token(if right { sim.token() } else { WRONG_TOKEN }),
            Mode::ClientCredentials => b.with_client_credentials(
                sim.client_id(),
                if right {
                    sim.client_secret()
                } else {
                    WRONG_CLIENT_SECRET
                },
            ),
        }
    }
    fn build(&self, b: AmperityBuilder) -> jobstop_core::Result<AmperityController> {
        b.build()
    }
    fn logins(&self) -> u64 {
        self.0.token_grants()
    }
    fn expire_credentials(&self) {
        self.0.expire_tokens();
    }
    fn faults(&self) -> &Faults {
        self.0.faults()
    }
    fn stop_route(&self) -> Route {
        Route::any()
    }
    fn login_route(&self) -> (&Faults, Route) {
        (self.0.faults(), Route::post("/v0/oauth2/token"))
    }
    fn unknown_run(&self) -> RunId {
        RunId::new("wf-missing")
    }
    fn check_traffic(&self, wire: &BTreeSet<(String, String)>) {
        let sim = &self.0;
        for r in sim.server().requests() {
            if r.target.starts_with("/api/v0/oauth2/token") {
                continue;
            }
            let t = &r.target;
            assert_eq!(r.header("amperity-tenant"), Some(sim.tenant()), "{t}");
            assert_eq!(r.header("api-version"), Some("2024-04-01"), "{t}");
            assert_eq!(r.header("authorization"), Some("***"), "{t}");
            assert!(
                r.header("user-agent")
                    .is_some_and(|ua| ua.starts_with("jobstop/"))
            );
        }
        let secrets_sent = of_kind(wire, "client_secret");
        assert!(
            secrets_sent.contains(sim.client_secret())
                && secrets_sent.contains(WRONG_CLIENT_SECRET)
        );
        let granted = of_kind(wire, "access_token");
        assert_eq!(
            granted.len() as u64,
            sim.token_grants(),
            "the relay missed a grant"
        );
        let bearers = of_kind(wire, "authorization credential");
        assert!(bearers.contains(sim.token()) && bearers.contains(WRONG_TOKEN));
        assert!(
            granted.is_subset(&bearers),
            "a granted token was never used"
        );
    }
    fn secrets(&self) -> Vec<(String, String)> {
        vec![
            ("the static token".into(), self.0.token().into()),
            ("the client secret".into(), self.0.client_secret().into()),
            ("the wrong static token".into(), WRONG_TOKEN.into()),
            ("the wrong client secret".into(), WRONG_CLIENT_SECRET.into()),
        ]
    }
    fn markers(&self) -> Vec<&'static str> {
        vec!["Bearer "]
    }
}

#[tokio::test]
async fn headers_on_every_call_and_no_secret_anywhere() {
    let sim = AmperitySim::builder()
        .running(3)
        .finished(3)
        .start()
        .await
        .unwrap();
    check_secret_hygiene(&Vendor(sim)).await;
}
