//! No password or bearer token in any log line, error or `Debug` output. In
//! a test binary of its own, so that no other test runs while the tracing
//! subscriber captures.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_centurylink::CenturyLinkBuilder;
use jobstop_core::{JobController, ListQuery, RunId, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::{Fault, FaultRule, Route};

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
    let mut texts = Vec::new();
    for vars in [sim.env_login(), sim.env_token()] {
        let builder = CenturyLinkBuilder::from_lookup(|k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .with_client_config(
            ClientConfig::default().with_retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
            ),
        );
        texts.push(format!("{builder:?}"));
        let ctrl = builder.build().unwrap();
        texts.push(format!("{ctrl:?}"));
        ctrl.list(&ListQuery::new()).await.unwrap();
        let id = RunId::new(sim.execution_ids_with_status("RUNNING")[0].clone());
        ctrl.status(&id).await.unwrap();
        sim.expire_tokens();
        sim.faults()
            .add(FaultRule::new(Route::any(), Fault::status(500)).times(1));
        if let Err(err) = ctrl.status(&id).await {
            texts.push(format!("{err} {err:?}"));
        }
        let _ = ctrl.stop(&id, &StopRequest::graceful()).await;
        let err = ctrl.status(&RunId::new("a/b")).await.unwrap_err();
        texts.push(format!("{err} {err:?}"));
    }
    texts.push(logs.contents());
    let everything = texts.join("\n");
    assert!(everything.contains("http attempt"));
    assert!(!everything.contains(sim.password()), "the password leaked");
    assert!(!everything.contains(sim.token()), "the static token leaked");
    for token in sim.issued_tokens() {
        assert!(!everything.contains(&token), "a bearer token leaked");
    }
    assert!(
        !everything.contains("Bearer "),
        "an authorization header leaked"
    );
}
