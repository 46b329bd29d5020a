//! Tenant and version headers on every call, and no token or client secret
//! in any log line, error or `Debug` output. In a test binary of its own, so
//! that no other test runs while the tracing subscriber captures.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_amperity::{AmperityBuilder, AmperityController};
use jobstop_core::{JobController, ListQuery, RunId, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultRule, Route};

fn oauth_controller(sim: &AmperitySim) -> AmperityController {
    AmperityBuilder::new()
        .with_base_url(sim.base_url())
        .with_tenant(sim.tenant())
        .with_client_credentials(sim.client_id(), sim.client_secret())
        .with_client_config(
            ClientConfig::default().with_retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
            ),
        )
        .build()
        .unwrap()
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
    let ctrl = oauth_controller(&sim);
    let id = RunId::new(sim.ids()[0].clone());
    let mut texts = vec![format!("{ctrl:?}")];
    ctrl.list(&ListQuery::new()).await.unwrap();
    ctrl.status(&id).await.unwrap();
    sim.expire_tokens();
    sim.faults()
        .add(FaultRule::new(Route::any(), Fault::status(500)).times(1));
    let err = ctrl.stop(&id, &StopRequest::graceful()).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    let err = ctrl.status(&RunId::new("wf-missing")).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));

    for r in sim.server().requests() {
        if r.target.starts_with("/api/v0/oauth2/token") {
            continue;
        }
        let h = |n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("amperity-tenant"), Some(sim.tenant()), "{}", r.target);
        assert_eq!(h("api-version"), Some("2024-04-01"), "{}", r.target);
        assert_eq!(h("authorization"), Some("***"), "{}", r.target);
        assert!(h("user-agent").is_some_and(|ua| ua.starts_with("jobstop/")));
    }
    let logs = logs.contents();
    assert!(logs.contains("http attempt"));
    texts.push(logs);
    let everything = texts.join("\n");
    for secret in [sim.token(), sim.client_secret()] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(!everything.contains("Bearer "), "a bearer token leaked");
}
