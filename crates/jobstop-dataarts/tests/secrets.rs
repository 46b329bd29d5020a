//! No secret key, token or password in any log line, error or `Debug`
//! output. In a test binary of its own, so that no other test runs while the
//! tracing subscriber captures.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_core::{JobController, ListQuery, RunId, StopRequest};
use jobstop_dataarts::DataArtsBuilder;
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};

#[tokio::test]
async fn no_secret_anywhere() {
    let logs = jobstop_testkit::LogCapture::start();

    let sim = DataArtsSim::builder()
        .realtime_jobs(1, 0)
        .instances(4)
        .running_instances(3)
        .start()
        .await
        .unwrap();
    let mut texts = Vec::new();
    for vars in [sim.env_aksk(), sim.env_token(), sim.env_iam()] {
        let builder = DataArtsBuilder::from_lookup(|k| {
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
        let running = sim.instance_ids_with_status("running");
        let id = RunId::new(running[0].clone());
        ctrl.status(&id).await.unwrap();
        sim.expire_tokens();
        sim.faults()
            .add(FaultRule::new(Route::any(), Fault::status(500)).times(1));
        let err = ctrl.status(&id).await.unwrap_err();
        texts.push(format!("{err} {err:?}"));
        sim.faults()
            .add(FaultRule::new(Route::any(), Fault::status(401)).times(1));
        if let Err(err) = ctrl.status(&id).await {
            texts.push(format!("{err} {err:?}"));
        }
        let _ = ctrl.stop(&id, &StopRequest::graceful()).await;
        let err = ctrl.status(&RunId::new("missing_job")).await.unwrap_err();
        texts.push(format!("{err} {err:?}"));
    }
    texts.push(logs.contents());
    let everything = texts.join("\n");
    assert!(everything.contains("http attempt"));
    for secret in [sim.sk(), sim.token(), sim.password()] {
        assert!(!everything.contains(secret), "a secret leaked");
    }
    assert!(!everything.contains("Signature="), "a signature leaked");
    assert!(
        !everything.contains("SDK-HMAC-SHA256 Access"),
        "an authorization header leaked"
    );
}
