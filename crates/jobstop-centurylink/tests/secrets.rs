//! No password or bearer token in any log line, error or `Debug` output,
//! for both auth modes (username/password login, a given bearer token): the
//! test kit's secret-hygiene scenario ([`jobstop_testkit::secrets`]), in a
//! test binary of its own so that no other test runs while the tracing
//! subscriber captures. The list goes page by page (one job's executions a
//! page) up to a running execution. The simulator's request log masks
//! credentials, so the kit's relays (one before the API, one before the
//! login) keep the raw traffic: every bearer token the login issued is
//! searched for too.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use jobstop_centurylink::{CenturyLinkBuilder, CenturyLinkController};
use jobstop_core::RunId;
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::{Faults, Route};
use jobstop_testkit::secrets::{Credential, SecretScenario, check_secret_hygiene};
use jobstop_testkit::wiretap::{Tap, of_kind};

const WRONG_PASSWORD: &str = "wrong-password-6a2f90";
const WRONG_TOKEN: &str = "wrong-bearer-token-c81e37";

#[derive(Clone, Copy, Debug)]
enum Mode {
    Password,
    Token,
}

struct Vendor(CenturyLinkSim);

impl SecretScenario for Vendor {
    type Mode = Mode;
    type Builder = CenturyLinkBuilder;
    type Controller = CenturyLinkController;

    fn modes(&self) -> Vec<Mode> {
        vec![Mode::Password, Mode::Token]
    }
    fn logs_in(&self, mode: Mode) -> bool {
        matches!(mode, Mode::Password)
    }
    fn upstreams(&self) -> Vec<String> {
        vec![self.0.base_url(), self.0.login_url()]
    }
    fn builder(&self, taps: &[Tap], mode: Mode, credential: Credential) -> CenturyLinkBuilder {
        let sim = &self.0;
        let right = credential == Credential::Right;
        let b = CenturyLinkBuilder::new()
            .with_base_url(taps[0].url(&sim.base_url()))
            .with_client_config(
                ClientConfig::default().with_retry(
                    RetryPolicy::default()
                        .with_max_attempts(3)
                        .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
                ),
            );
        match mode {
            Mode::Password => b
                .with_login_url(taps[1].url(&sim.login_url()))
                .with_password(
                    sim.username(),
                    if right {
                        sim.password()
                    } else {
                        WRONG_PASSWORD
                    },
                ),
            Mode::Token => b
                .with_account_alias(sim.account_alias())
                .with_token(if right { sim.token() } else { WRONG_TOKEN }),
        }
    }
    fn build(&self, b: CenturyLinkBuilder) -> jobstop_core::Result<CenturyLinkController> {
        b.build()
    }
    fn logins(&self) -> u64 {
        self.0.logins()
    }
    fn expire_credentials(&self) {
        self.0.expire_tokens();
    }
    fn faults(&self) -> &Faults {
        self.0.faults()
    }
    fn stop_route(&self) -> Route {
        Route::post("/jobs/*/*/executions/*/stop")
    }
    fn login_route(&self) -> (&Faults, Route) {
        let route = Route::post("/v2/authentication/login");
        (self.0.login_server().faults(), route)
    }
    fn unknown_run(&self) -> RunId {
        RunId::new("nojob/noexecution")
    }
    fn check_traffic(&self, wire: &BTreeSet<(String, String)>) {
        let sim = &self.0;
        let bearers = of_kind(wire, "authorization credential");
        assert!(bearers.contains(sim.token()) && bearers.contains(WRONG_TOKEN));
        let issued = sim.issued_tokens();
        assert!(issued.len() >= 3, "{} logins", issued.len());
        let answered = of_kind(wire, "bearerToken");
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
        let passwords = of_kind(wire, "password");
        assert!(passwords.contains(sim.password()) && passwords.contains(WRONG_PASSWORD));
    }
    fn secrets(&self) -> Vec<(String, String)> {
        let mut secrets: Vec<(String, String)> = vec![
            ("the password".into(), self.0.password().into()),
            ("the static token".into(), self.0.token().into()),
            ("the wrong password".into(), WRONG_PASSWORD.into()),
            ("the wrong token".into(), WRONG_TOKEN.into()),
        ];
        let issued = self.0.issued_tokens().into_iter();
        secrets.extend(issued.map(|t| ("an issued token".into(), t)));
        secrets
    }
    fn markers(&self) -> Vec<&'static str> {
        vec!["Bearer "]
    }
}

#[tokio::test]
async fn no_password_or_token_anywhere() {
    let sim = CenturyLinkSim::builder()
        .jobs(2)
        .executions_per_job(3)
        .running(2)
        .start()
        .await
        .unwrap();
    check_secret_hygiene(&Vendor(sim)).await;
}
