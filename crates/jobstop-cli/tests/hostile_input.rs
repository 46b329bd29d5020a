//! Issue 16, the operator's own input: the real `jobstop` binary given ages
//! past the calendar, ticket paths that name devices, FIFOs or planted
//! symlinks, config files that are FIFOs, endless or too large, and stops a
//! vendor refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use jobstop_sim::amperity::AmperitySim;

mod support;

use support::{Out, scratch};

async fn jobstop_in(home: &Path, args: &[&str], env: &[(String, String)]) -> Out {
    support::run(home, args, env).await
}

async fn amperity() -> AmperitySim {
    AmperitySim::builder()
        .seed(16)
        .running(3)
        .finished(2)
        .start()
        .await
        .unwrap()
}

/// `--older-than 100000000d` used to panic (exit 101) computing a date before
/// the calendar's first; now the age is refused before anything is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_age_past_the_calendar_is_refused_not_a_panic() {
    let sim = amperity().await;
    let home = scratch("age");
    for args in [
        &["stop-all", "--older-than", "100000000d", "--dry-run"][..],
        &[
            "sweep",
            "--name-prefix",
            "x",
            "--older-than",
            "100000000d",
            "--dry-run",
        ][..],
    ] {
        let out = jobstop_in(&home, args, &sim.env()).await;
        out.expect_code(2);
        assert!(
            out.stderr.contains("at most 36500d"),
            "{args:?}: the error names the bound: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    // The largest age accepted works: nothing is that old.
    let out = jobstop_in(
        &home,
        &["stop-all", "--older-than", "36500d", "--dry-run"],
        &sim.env(),
    )
    .await;
    out.expect_code(0);
    assert!(out.stdout.contains("nothing to stop"), "{}", out.stdout);
}
