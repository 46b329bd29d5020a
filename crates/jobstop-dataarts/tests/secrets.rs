//! No token, secret key, request signature, password or IAM token in any
//! log line, error or `Debug` output, for all three auth modes (IAM token,
//! AK/SK signing, IAM user and password): the test kit's secret-hygiene
//! scenario ([`jobstop_testkit::secrets`]), in a test binary of its own so
//! that no other test runs while the tracing subscriber captures. The
//! simulator's request log masks `Authorization`, `X-Auth-Token` and
//! `X-Subject-Token`, so the kit's relays (one before the API, one before
//! IAM) keep the raw traffic: every `SDK-HMAC-SHA256` signature the client
//! sent and every IAM token it received is searched for too.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use jobstop_core::RunId;
use jobstop_dataarts::{DataArtsBuilder, DataArtsController};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Faults, Route};
use jobstop_testkit::secrets::{Credential, SecretScenario, check_secret_hygiene};
use jobstop_testkit::wiretap::{Tap, of_kind};

const WRONG_TOKEN: &str = "wrong-iam-token-3e8b51";
const WRONG_SK: &str = "wrong-secret-key-a40c92";
const WRONG_PASSWORD: &str = "wrong-password-1f6d07";

#[derive(Clone, Copy, Debug)]
enum Mode {
    Token,
    AkSk,
    IamPassword,
}

struct Vendor(DataArtsSim);

impl SecretScenario for Vendor {
    type Mode = Mode;
    type Builder = DataArtsBuilder;
    type Controller = DataArtsController;

    fn modes(&self) -> Vec<Mode> {
        vec![Mode::Token, Mode::AkSk, Mode::IamPassword]
    }
    fn logs_in(&self, mode: Mode) -> bool {
        matches!(mode, Mode::IamPassword)
    }
    fn upstreams(&self) -> Vec<String> {
        vec![self.0.base_url(), self.0.iam_url()]
    }
    fn builder(&self, taps: &[Tap], mode: Mode, credential: Credential) -> DataArtsBuilder {
        let sim = &self.0;
        let right = credential == Credential::Right;
        let b = DataArtsBuilder::new()
            .with_base_url(taps[0].url(&sim.base_url()))
            .with_project_id(sim.project_id())
            .with_client_config(
                ClientConfig::default().with_retry(
                    RetryPolicy::default()
                        .with_max_attempts(3)
                        .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
                ),
            );
        match mode {
            Mode::Token => b.with_token(if right { sim.token() } else { WRONG_TOKEN }),
            Mode::AkSk => b.with_access_key(sim.ak(), if right { sim.sk() } else { WRONG_SK }),
            Mode::IamPassword => b.with_iam_url(taps[1].url(&sim.iam_url())).with_iam_user(
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
    fn build(&self, b: DataArtsBuilder) -> jobstop_core::Result<DataArtsController> {
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
        Route::post_prefix("/v1/")
    }
    fn login_route(&self) -> (&Faults, Route) {
        (
            self.0.auth_server().expect("IAM").faults(),
            Route::post("/v3/auth/tokens"),
        )
    }
    fn unknown_run(&self) -> RunId {
        RunId::new("missing_job")
    }
    fn check_traffic(&self, wire: &BTreeSet<(String, String)>) {
        let sim = &self.0;
        let tokens_sent = of_kind(wire, "x-auth-token header");
        assert!(tokens_sent.contains(sim.token()) && tokens_sent.contains(WRONG_TOKEN));
        let granted = of_kind(wire, "x-subject-token header");
        assert_eq!(
            granted.len() as u64,
            sim.token_grants(),
            "the relay missed a grant"
        );
        assert!(
            granted.is_subset(&tokens_sent),
            "a granted token was never used"
        );
        let signatures = of_kind(wire, "signature");
        assert!(signatures.len() >= 5, "{} signatures", signatures.len());
        assert!(signatures.iter().all(|s| s.len() == 64), "{signatures:?}");
        let passwords = of_kind(wire, "password");
        assert!(passwords.contains(sim.password()) && passwords.contains(WRONG_PASSWORD));
        assert_eq!(
            sim.signature_failures(),
            1,
            "only the wrong SK fails to verify"
        );
    }
    fn secrets(&self) -> Vec<(String, String)> {
        vec![
            ("the static token".into(), self.0.token().into()),
            ("the secret key".into(), self.0.sk().into()),
            ("the IAM password".into(), self.0.password().into()),
            ("the wrong token".into(), WRONG_TOKEN.into()),
            ("the wrong secret key".into(), WRONG_SK.into()),
            ("the wrong IAM password".into(), WRONG_PASSWORD.into()),
        ]
    }
    fn markers(&self) -> Vec<&'static str> {
        vec!["Signature=", "SDK-HMAC-SHA256 Access"]
    }
}

#[tokio::test]
async fn no_secret_anywhere() {
    let sim = DataArtsSim::builder()
        .realtime_jobs(3, 0)
        .instances(4)
        .running_instances(3)
        .start()
        .await
        .unwrap();
    check_secret_hygiene(&Vendor(sim)).await;
}
