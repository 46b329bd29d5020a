//! An account's `client` table (config file) and `JOBSTOP_<VENDOR>_CLIENT_*`
//! variables reach the controller the registry builds: pacing spaces the
//! calls, the attempt timeout reaches the HTTP layer. Over loopback, against
//! the Amperity simulator.

#![cfg(feature = "amperity")]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use jobstop::http::Shown;
use jobstop::{ErrorKind, Registry, RunId};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultRule, Route};

async fn sim() -> AmperitySim {
    AmperitySim::builder()
        .tenant("acme")
        .running(2)
        .start()
        .await
        .unwrap()
}

/// An `[accounts.amp]` table for `sim`, its token read through `token_env`,
/// with `client` as the body of its `[accounts.amp.client]` table.
fn toml(sim: &AmperitySim, client: &str) -> String {
    format!(
        "[accounts.amp]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"{}\"\n\
         token_env = \"AMP_TOKEN\"\n\n[accounts.amp.client]\n{client}\n",
        sim.base_url(),
        sim.tenant()
    )
}

fn env(sim: &AmperitySim) -> impl Fn(&str) -> Option<String> + use<> {
    let token = sim.token().to_owned();
    move |k| (k == "AMP_TOKEN").then(|| token.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toml_pace_spaces_the_registry_controllers_calls() {
    let sim = sim().await;
    let registry = Registry::from_toml_str(&toml(&sim, "pace = 10"), env(&sim)).unwrap();
    let account = registry.get("amp").unwrap();
    assert!(
        account
            .settings
            .contains(&("client.pace".to_owned(), Shown::Value("10".to_owned())))
    );
    assert!(
        account
            .settings
            .contains(&("token".to_owned(), Shown::SecretSet))
    );
    let id = RunId::new(sim.ids()[0].clone());
    let started = Instant::now();
    for _ in 0..6 {
        account.controller.status(&id).await.unwrap();
    }
    // Six calls at 10 per second: the first at once, the sixth five
    // intervals (of 105 ms) later.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toml_attempt_timeout_reaches_the_http_layer() {
    let sim = sim().await;
    let id = RunId::new(sim.ids()[0].clone());
    sim.faults().add(FaultRule::new(
        Route::any(),
        Fault::Latency(Duration::from_secs(3)),
    ));
    let text = toml(&sim, "attempt_timeout = \"200ms\"\nretries = 0");
    let registry = Registry::from_toml_str(&text, env(&sim)).unwrap();
    let started = Instant::now();
    let err = registry
        .get("amp")
        .unwrap()
        .controller
        .status(&id)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // The default attempt timeout (15 s) would have waited the 3 s out.
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_client_settings_reach_the_http_layer() {
    let sim = sim().await;
    let id = RunId::new(sim.ids()[0].clone());
    sim.faults().add(FaultRule::new(
        Route::any(),
        Fault::Latency(Duration::from_secs(3)),
    ));
    let mut vars = sim.env();
    vars.push((
        "JOBSTOP_AMPERITY_CLIENT_ATTEMPT_TIMEOUT".to_owned(),
        "200ms".to_owned(),
    ));
    vars.push(("JOBSTOP_AMPERITY_CLIENT_RETRIES".to_owned(), "0".to_owned()));
    let registry =
        Registry::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let started = Instant::now();
    let err = registry
        .get("amperity")
        .unwrap()
        .controller
        .status(&id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
