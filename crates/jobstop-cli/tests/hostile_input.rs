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

/// A running run of the simulator.
fn running_id(sim: &AmperitySim) -> String {
    sim.ids()
        .into_iter()
        .find(|id| {
            sim.run_json(id)
                .is_some_and(|r| r["state"] == "running" || r["status"] == "running")
        })
        .expect("a running run")
}

/// `--ticket` on a FIFO used to be replaced by the rename (and, as root,
/// `--ticket /dev/null` replaced `/dev/null`): anything but a regular file
/// or a new path is refused before the stop is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_path_that_is_no_regular_file_is_refused_before_the_stop() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    let sim = amperity().await;
    let home = scratch("ticket-kinds");
    let fifo = home.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let id = running_id(&sim);
    let null_before = std::fs::metadata("/dev/null").unwrap();
    let fifo_text = fifo.to_str().unwrap().to_owned();
    for target in [fifo_text.as_str(), "/dev/null"] {
        let out = jobstop_in(
            &home,
            &[
                "stop",
                "amperity",
                &id,
                "--wait",
                "--timeout",
                "5s",
                "--ticket",
                target,
            ],
            &sim.env(),
        )
        .await;
        out.expect_code(2);
        assert!(
            out.stderr.contains("not a regular file") && out.stderr.contains("nothing was stopped"),
            "{target}: {}",
            out.stderr
        );
    }
    assert_eq!(sim.total_stop_requests(), 0, "no stop was sent");
    let fifo_after = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(fifo_after.file_type().is_fifo(), "the FIFO is still a FIFO");
    let null_after = std::fs::metadata("/dev/null").unwrap();
    assert!(null_after.file_type().is_char_device());
    assert_eq!(
        (null_after.ino(), null_after.rdev()),
        (null_before.ino(), null_before.rdev()),
        "/dev/null is the same device node"
    );
}
