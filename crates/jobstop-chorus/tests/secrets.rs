//! No password or session id in any log line, error or `Debug` output, for
//! both auth modes (username/password login, a given session id): the test
//! kit's secret-hygiene scenario ([`jobstop_testkit::secrets`]), with the
//! expired-session step, in a test binary of its own so that no other test
//! runs while the tracing subscriber captures. The simulator's request log
//! masks credentials, so the kit's relay keeps the raw traffic: every session
//! id (and CSRF token and cookie) the client really sent or received is
//! searched for too, and every session id the simulator issued.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::RunId;
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::{Faults, Route};
use jobstop_testkit::secrets::{Credential, SecretScenario, check_secret_hygiene};
use jobstop_testkit::wiretap::{Tap, of_kind};

const WRONG_PASSWORD: &str = "wrong-password-9c4e21";
const WRONG_SESSION: &str = "wrong-session-0b7d5a";

#[derive(Clone, Copy, Debug)]
enum Mode {
    Password,
    SessionId,
}

struct Vendor(ChorusSim);

impl SecretScenario for Vendor {
    type Mode = Mode;
    type Builder = ChorusBuilder;
    type Controller = ChorusController;

    fn modes(&self) -> Vec<Mode> {
        vec![Mode::Password, Mode::SessionId]
    }
    fn logs_in(&self, mode: Mode) -> bool {
        matches!(mode, Mode::Password)
    }
    fn upstreams(&self) -> Vec<String> {
        vec![self.0.base_url()]
    }
    fn builder(&self, taps: &[Tap], mode: Mode, credential: Credential) -> ChorusBuilder {
        let sim = &self.0;
        let b = ChorusBuilder::new()
            .with_base_url(taps[0].url(&sim.base_url()))
            .with_workspace_id(sim.workspace_id().to_string())
            .with_client_config(
                ClientConfig::default().with_retry(
                    RetryPolicy::default()
                        .with_max_attempts(3)
                        .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
                ),
            );
        match (mode, credential) {
            (Mode::Password, Credential::Right) => b.with_password(sim.username(), sim.password()),
            (Mode::Password, Credential::Wrong) => b.with_password(sim.username(), WRONG_PASSWORD),
            (Mode::SessionId, Credential::Right) => b.with_session_id(sim.new_session()),
            (Mode::SessionId, Credential::Wrong) => b.with_session_id(WRONG_SESSION),
        }
    }
    fn build(&self, b: ChorusBuilder) -> jobstop_core::Result<ChorusController> {
        b.build()
    }
    fn logins(&self) -> u64 {
        self.0.logins()
    }
    fn expire_credentials(&self) {
        self.0.expire_sessions();
    }
    fn faults(&self) -> &Faults {
        self.0.faults()
    }
    // The stop's session id is in the form body.
    fn stop_route(&self) -> Route {
        Route::post("/api/workfiles/*/stop")
    }
    fn login_route(&self) -> (&Faults, Route) {
        (self.0.faults(), Route::post("/api/sessions"))
    }
    fn unknown_run(&self) -> RunId {
        RunId::new("123456789")
    }
    fn given_credential_expires(&self) -> bool {
        true
    }
    fn check_traffic(&self, wire: &BTreeSet<(String, String)>) {
        let sim = &self.0;
        let passwords = of_kind(wire, "password");
        assert!(passwords.contains(sim.password()) && passwords.contains(WRONG_PASSWORD));
        let sessions = of_kind(wire, "session_id");
        assert!(sessions.contains(WRONG_SESSION));
        let issued = sim.session_ids();
        assert!(issued.len() >= 6, "{} sessions", issued.len());
        for s in &issued {
            assert!(
                sessions.contains(s.as_str()),
                "the relay missed a session id"
            );
        }
    }
    fn secrets(&self) -> Vec<(String, String)> {
        let mut secrets: Vec<(String, String)> = vec![
            ("the password".into(), self.0.password().into()),
            ("the wrong password".into(), WRONG_PASSWORD.into()),
            ("the wrong session id".into(), WRONG_SESSION.into()),
        ];
        let issued = self.0.session_ids().into_iter();
        secrets.extend(issued.map(|s| ("an issued session id".into(), s)));
        secrets
    }
    fn markers(&self) -> Vec<&'static str> {
        vec!["session_id="]
    }
    fn allowed(&self) -> Vec<&'static str> {
        vec!["session_id=NULL"]
    }
}

#[tokio::test]
async fn no_password_or_session_id_anywhere() {
    let sim = ChorusSim::builder()
        .running(3)
        .idle(2)
        .start()
        .await
        .unwrap();
    check_secret_hygiene(&Vendor(sim)).await;
}
