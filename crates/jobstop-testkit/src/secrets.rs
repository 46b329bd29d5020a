//! One secret-hygiene scenario for every adapter: no credential in any log
//! line, error, or `Debug` output, across every auth mode.
//!
//! An adapter describes itself with a [`SecretScenario`] (its auth modes,
//! how to build a controller for each mode against its simulator, its login
//! counter, where to inject faults, the secrets to look for) and calls
//! [`check_secret_hygiene`] from a test binary of its own (the tracing
//! capture must not see other tests).
//!
//! Each mode runs one scenario against the simulator, through a relay
//! ([`Tap`]) in front of each of its servers:
//!
//! 1. the builder's and the controller's `Debug`;
//! 2. first use (a login, for a mode that logs in) and list, page by page up
//!    to a running run: exactly one login (none for a given credential);
//! 3. status;
//! 4. for a mode that logs in: expired credentials cause exactly one new
//!    login;
//! 5. a 401 on the way: a mode that logs in logs in again and succeeds (one
//!    more login); a given credential fails with `Unauthenticated`;
//! 6. a connection dropped before any answer on every attempt: `Transport`;
//! 7. a 500 on the stop route, and (logging in) a 500 on the login route,
//!    each applied exactly once;
//! 8. stop, and an unknown run (`NotFound`);
//! 9. where the vendor says so ([`SecretScenario::given_credential_expires`]):
//!    expired credentials: a login again succeeds, a given credential fails
//!    with `Unauthenticated`;
//! 10. a controller built with a wrong credential: its builder's and its own
//!     `Debug`, and a list failing with `Unauthenticated`.
//!
//! Then, over everything recorded (every `Debug`, every error's `Display`
//! and `Debug` and those of its causes, every captured log line): the logs
//! show `http attempt` and `credentials refreshed after 401`; the vendor's
//! own traffic checks hold ([`SecretScenario::check_traffic`], on what the
//! relays saw); no secret of [`SecretScenario::secrets`] and no credential
//! seen on the wire appears anywhere; and no sink shows a
//! [`SecretScenario::markers`] string (such as `Bearer `).

use std::collections::BTreeSet;
use std::fmt;

use jobstop_core::{ErrorKind, JobController, ListQuery, RunId, RunState, StopRequest};
use jobstop_sim::{Fault, FaultRule, Faults, Route};

use crate::LogCapture;
use crate::wiretap::{Sinks, Tap, credentials_on_the_wire};

/// Which credential a controller is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The one the simulator accepts.
    Right,
    /// One it refuses (the vendor's test picks a value to search for).
    Wrong,
}

/// What [`check_secret_hygiene`] needs to know about one vendor: its auth
/// modes, how to build a controller for each against its simulator, its login
/// counter, where its faults go, and the secrets to look for.
pub trait SecretScenario {
    /// One auth mode (static token, OAuth, password, …); its `Debug` labels
    /// every sink.
    type Mode: Copy + fmt::Debug;
    /// The adapter's builder (its `Debug` is searched too).
    type Builder: fmt::Debug;
    /// The adapter's controller.
    type Controller: JobController + fmt::Debug;

    /// The auth modes, in the order they run.
    fn modes(&self) -> Vec<Self::Mode>;

    /// Whether `mode` logs in (OAuth client credentials, a password, an IAM
    /// user) and so renews its credential itself; otherwise the credential is
    /// given and a 401 is final.
    fn logs_in(&self, mode: Self::Mode) -> bool;

    /// The URL of each simulator server the controller talks to; a relay is
    /// started in front of each, in this order.
    fn upstreams(&self) -> Vec<String>;

    /// A builder for `mode` with `credential`, pointing at the relays (`taps`,
    /// one per [`upstreams`](Self::upstreams) entry, in order).
    fn builder(&self, taps: &[Tap], mode: Self::Mode, credential: Credential) -> Self::Builder;

    /// Builds the controller.
    fn build(&self, builder: Self::Builder) -> jobstop_core::Result<Self::Controller>;

    /// How many logins (token grants, sessions) the simulator has answered.
    fn logins(&self) -> u64;

    /// Makes the simulator expire every credential it issued.
    fn expire_credentials(&self);

    /// The API server's fault rules.
    fn faults(&self) -> &Faults;

    /// The route of the stop call, for a 500 on it.
    fn stop_route(&self) -> Route;

    /// The fault rules of the server that answers logins and the login route,
    /// for a 500 on a login (asked only when a mode logs in).
    fn login_route(&self) -> (&Faults, Route);

    /// A run id the vendor does not know.
    fn unknown_run(&self) -> RunId;

    /// Whether to run step 9: the simulator expires even a given credential,
    /// so a mode that does not log in must fail with `Unauthenticated`.
    fn given_credential_expires(&self) -> bool {
        false
    }

    /// The vendor's own checks on the traffic, after every mode ran: `wire`
    /// holds every (kind, credential) the relays saw, from
    /// [`credentials_on_the_wire`] (`of_kind` picks one kind).
    fn check_traffic(&self, wire: &BTreeSet<(String, String)>);

    /// Every secret to look for, labelled, asked after every mode ran: the
    /// configured credentials (right and wrong) and those the simulator
    /// issued. What the relays saw is searched for too.
    fn secrets(&self) -> Vec<(String, String)>;

    /// Strings no sink may show (such as `Bearer `).
    fn markers(&self) -> Vec<&'static str>;

    /// Strings removed from each sink before [`markers`](Self::markers) are
    /// looked for (such as a parameter's harmless `NULL` value).
    fn allowed(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// Runs the scenario (see the [module docs](self)) for every mode of
/// `vendor`, then asserts that no secret reached any log line, error or
/// `Debug` output. Panics naming the mode, the step, and each leak.
///
/// Call it from a test binary of its own, on a current-thread runtime
/// (`#[tokio::test]`): it captures `tracing` output on the current thread.
pub async fn check_secret_hygiene<S: SecretScenario>(vendor: &S) {
    let logs = LogCapture::start();
    let taps: Vec<Tap> = vendor.upstreams().iter().map(|u| Tap::start(u)).collect();
    let mut sinks = Sinks::default();
    for mode in vendor.modes() {
        scenario(vendor, &taps, mode, &mut sinks).await;
    }

    let messages: Vec<(String, String)> = taps.iter().flat_map(Tap::messages).collect();
    let wire = credentials_on_the_wire(&messages);
    vendor.check_traffic(&wire);

    let logs = logs.contents();
    assert!(logs.contains("http attempt"), "no events captured");
    assert!(logs.contains("credentials refreshed after 401"));
    sinks.logs(&logs);
    let mut secrets = vendor.secrets();
    secrets.extend(
        wire.into_iter()
            .map(|(kind, v)| (format!("{kind} seen on the wire"), v)),
    );
    sinks.assert_free_of(&secrets);
    let (markers, allowed) = (vendor.markers(), vendor.allowed());
    for (sink, text) in sinks.iter() {
        let text = allowed
            .iter()
            .fold(text.to_owned(), |t, a| t.replace(a, ""));
        for marker in &markers {
            assert!(
                !text.contains(marker),
                "{marker:?} leaked into {sink}: {text}"
            );
        }
    }
}

/// Steps 1 to 10 in `mode`.
async fn scenario<S: SecretScenario>(vendor: &S, taps: &[Tap], mode: S::Mode, sinks: &mut Sinks) {
    let m = format!("{mode:?}");
    let login = vendor.logs_in(mode);
    let b = vendor.builder(taps, mode, Credential::Right);
    sinks.debug(&format!("{m}: builder"), &b);
    let ctrl = vendor
        .build(b)
        .expect("the builder accepts the right credential");
    sinks.debug(&format!("{m}: controller"), &ctrl);

    // Login (for a mode that logs in) and list, page by page up to a running
    // run.
    let before = vendor.logins();
    let mut query = ListQuery::new();
    let id = loop {
        let page = ctrl.list(&query).await.expect("list");
        sinks.debug(&format!("{m}: list page"), &page);
        if let Some(r) = page.runs.iter().find(|r| r.state == RunState::Running) {
            break r.id.clone();
        }
        let next = page
            .next_cursor
            .expect("a running run in the seeded account");
        query = query.with_cursor(next);
    };
    assert_eq!(vendor.logins(), before + u64::from(login), "{m}: login");
    let status = ctrl.status(&id).await.expect("status");
    sinks.debug(&format!("{m}: status"), &status);

    // A 401 on the way: a mode that logs in logs in again and carries on; a
    // given credential cannot be renewed, so the call fails.
    if login {
        vendor.expire_credentials();
        ctrl.status(&id).await.expect("status after expiry");
        assert_eq!(vendor.logins(), before + 2, "{m}: login after expiry");
    }
    let rule = vendor
        .faults()
        .add(FaultRule::new(Route::any(), Fault::status(401)).times(1));
    let result = ctrl.status(&id).await;
    assert_eq!(vendor.faults().applied(rule), 1, "{m}: the 401");
    if login {
        result.expect("status after a 401");
        assert_eq!(vendor.logins(), before + 3, "{m}: login after a 401");
    } else {
        let err = sinks.failed(&format!("{m}: 401"), result);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{m}: {err}");
    }

    // A connection dropped before any answer, on every attempt.
    vendor
        .faults()
        .add(FaultRule::new(Route::any(), Fault::CloseBeforeHeaders));
    let err = sinks.failed(&format!("{m}: dropped"), ctrl.status(&id).await);
    assert_eq!(err.kind(), ErrorKind::Transport, "{m}: {err}");
    vendor.faults().clear();

    // A 500 on the way: on the stop, and (logging in) on the login.
    let rule = vendor
        .faults()
        .add(FaultRule::new(vendor.stop_route(), Fault::status(500)).times(1));
    sinks.failed(
        &format!("{m}: 500 on stop"),
        ctrl.stop(&id, &StopRequest::graceful()).await,
    );
    assert_eq!(vendor.faults().applied(rule), 1, "{m}: the 500 on stop");
    if login {
        vendor.expire_credentials();
        let (faults, route) = vendor.login_route();
        let rule = faults.add(FaultRule::new(route, Fault::status(500)).times(1));
        sinks.failed(&format!("{m}: 500 on the login"), ctrl.status(&id).await);
        assert_eq!(faults.applied(rule), 1, "{m}: the 500 on the login");
    }

    // Stop, and an unknown run.
    let stopped = ctrl
        .stop(&id, &StopRequest::graceful())
        .await
        .expect("stop");
    sinks.debug(&format!("{m}: stop"), &stopped);
    let err = sinks.failed(
        &format!("{m}: unknown run"),
        ctrl.status(&vendor.unknown_run()).await,
    );
    assert_eq!(err.kind(), ErrorKind::NotFound, "{m}: {err}");

    // Where the simulator expires given credentials too: a login again
    // succeeds; a given credential is refused for good.
    if vendor.given_credential_expires() {
        vendor.expire_credentials();
        let result = ctrl.status(&id).await;
        if login {
            result.expect("status after expiry");
        } else {
            let err = sinks.failed(&format!("{m}: expired"), result);
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{m}: {err}");
        }
    }

    // A wrong credential: the login or the API refuses it.
    let b = vendor.builder(taps, mode, Credential::Wrong);
    sinks.debug(&format!("{m} (wrong credential): builder"), &b);
    let wrong = vendor
        .build(b)
        .expect("the builder accepts a wrong credential");
    sinks.debug(&format!("{m} (wrong credential): controller"), &wrong);
    let err = sinks.failed(
        &format!("{m} (wrong credential): list"),
        wrong.list(&ListQuery::new()).await,
    );
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{m}: {err}");
}
