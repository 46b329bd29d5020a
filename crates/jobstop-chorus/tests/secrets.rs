//! No password or session id in any log line, error or `Debug` output. In a
//! test binary of its own, so that no other test runs while the tracing
//! subscriber captures.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use jobstop_chorus::{ChorusBuilder, ChorusController};
use jobstop_core::{JobController, ListQuery, RunId, StopRequest};
use jobstop_http::{ClientConfig, RetryPolicy};
use jobstop_sim::chorus::ChorusSim;

fn controller(sim: &ChorusSim) -> ChorusController {
    ChorusBuilder::new()
        .with_base_url(sim.base_url())
        .with_password(sim.username(), sim.password())
        .with_workspace_id(sim.workspace_id().to_string())
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
async fn no_password_or_session_id_anywhere() {
    let logs = jobstop_testkit::LogCapture::start();

    let sim = ChorusSim::builder()
        .running(3)
        .idle(2)
        .start()
        .await
        .unwrap();
    let ctrl = controller(&sim);
    let id = RunId::new(sim.ids_with_status("running")[0].clone());
    let mut texts = vec![format!("{ctrl:?}")];
    ctrl.list(&ListQuery::new()).await.unwrap();
    ctrl.status(&id).await.unwrap();
    sim.expire_sessions();
    sim.faults().add(
        jobstop_sim::FaultRule::new(jobstop_sim::Route::any(), jobstop_sim::Fault::status(500))
            .times(1),
    );
    let err = ctrl.status(&id).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    ctrl.stop(&id, &StopRequest::graceful()).await.unwrap();
    let err = ctrl.status(&RunId::new("123456789")).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    texts.push(logs.contents());
    let everything = texts.join("\n");
    assert!(everything.contains("http attempt"));
    assert!(!everything.contains(sim.password()), "the password leaked");
    for session in sim.session_ids() {
        assert!(!everything.contains(&session), "a session id leaked");
    }
    let without_login_marker = everything.replace("session_id=NULL", "");
    assert!(
        !without_login_marker.contains("session_id="),
        "a session parameter leaked"
    );
}
