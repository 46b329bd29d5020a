//! Issue 16, the operator's own input: the real `jobstop` binary given ages
//! past the calendar, ticket paths that name devices, FIFOs or planted
//! symlinks, config files that are FIFOs, endless or too large, and stops a
//! vendor refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::dataarts::{DataArtsSim, InstanceSeed};

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

/// `--config` on a FIFO used to block forever and on `/dev/zero` to read
/// until memory ran out; a file over 1 MiB is refused too. Each is a
/// configuration error (exit 2) at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_is_no_regular_file_or_too_large_fails_fast() {
    let home = scratch("config-kinds");
    let fifo = home.join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let big = home.join("big.toml");
    // Valid TOML (a comment) just over the cap.
    let mut text = "#".repeat(1024 * 1024);
    text.push('\n');
    std::fs::write(&big, text).unwrap();
    for (path, says) in [
        (fifo.to_str().unwrap(), "it is a FIFO, not a regular file"),
        ("/dev/zero", "it is a character device, not a regular file"),
        (big.to_str().unwrap(), "larger than 1 MiB"),
    ] {
        let started = std::time::Instant::now();
        let out = jobstop_in(&home, &["--config", path, "accounts"], &[]).await;
        out.expect_code(2);
        assert!(
            out.stderr.contains("configuration error") && out.stderr.contains(says),
            "{path}: {}",
            out.stderr
        );
        // Generous: a blocked open would hit the helper's 30 s limit.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}

/// A config file holding a secret inline and readable by group or others
/// loaded silently; now it loads with a warning on stderr naming the
/// account and setting (never the value), as ssh does for keys. A private
/// file (0600), or one whose secrets come from `*_env`, loads silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readable_config_with_inline_secrets_warns() {
    use std::os::unix::fs::PermissionsExt;

    let sim = amperity().await;
    let home = scratch("config-secrets");
    let inline = home.join("inline.toml");
    std::fs::write(
        &inline,
        format!(
            "[accounts.prod]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"{}\"\ntoken = \"{}\"\n",
            sim.base_url(),
            sim.tenant(),
            sim.token()
        ),
    )
    .unwrap();
    let from_env = home.join("env.toml");
    std::fs::write(
        &from_env,
        format!(
            "[accounts.prod]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"{}\"\ntoken_env = \"PROD_TOKEN\"\n",
            sim.base_url(),
            sim.tenant()
        ),
    )
    .unwrap();
    let env = vec![("PROD_TOKEN".to_owned(), sim.token().to_owned())];
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    let run = |p: &Path| {
        let p = p.to_str().unwrap().to_owned();
        let home = home.clone();
        let env = env.clone();
        async move { jobstop_in(&home, &["--config", &p, "list"], &env).await }
    };

    for m in [0o644, 0o640, 0o604] {
        mode(&inline, m);
        let out = run(&inline).await;
        out.expect_code(0);
        assert!(
            out.stderr.contains("warning")
                && out.stderr.contains("prod.token")
                && out.stderr.contains(&format!("{m:04o}"))
                && out.stderr.contains("chmod 600"),
            "{m:o}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(sim.token()), "never the value");
    }
    mode(&inline, 0o600);
    let out = run(&inline).await;
    out.expect_code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    mode(&from_env, 0o644);
    let out = run(&from_env).await;
    out.expect_code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

/// A paused DataArts instance: its stop is refused with 400 `DLF.0102`.
async fn dataarts_with_a_paused_instance() -> (DataArtsSim, String, String) {
    let sim = DataArtsSim::builder()
        .seed(16)
        .insert_instance(InstanceSeed::new("nightly", "pause").with_id(7001))
        .insert_instance(InstanceSeed::new("nightly", "running").with_id(7002))
        .start()
        .await
        .unwrap();
    (sim, "nightly/7001".to_owned(), "nightly/7002".to_owned())
}

/// A vendor's refusal of a stop used to exit 2 ("usage or configuration
/// error"); it is `ErrorKind::Refused` and exits 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_the_vendor_refuses_exits_7_not_2() {
    let (sim, paused, _) = dataarts_with_a_paused_instance().await;
    let home = scratch("refused");
    let out = jobstop_in(&home, &["stop", "dataarts", &paused], &sim.env()).await;
    out.expect_code(7);
    assert!(
        out.stderr.contains("refused by the vendor") && out.stderr.contains("DLF.0102"),
        "{}",
        out.stderr
    );
    assert_eq!(sim.stop_requests(&paused), 1);
    let out = jobstop_in(
        &home,
        &["stop", "dataarts", &paused, "--output", "json"],
        &sim.env(),
    )
    .await;
    out.expect_code(7);
    // A run id refused before anything is sent is still the user's mistake.
    let out = jobstop_in(&home, &["stop", "dataarts", "nightly/x"], &sim.env()).await;
    out.expect_code(2);
}

/// `stop-all` used to plan (and send) a stop for a paused DataArts
/// instance, which the vendor refuses; the adapter's capabilities now say a
/// batch instance stops only when queued or running, so it is left alone
/// (and said so), while the running one is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_does_not_plan_stops_the_vendor_refuses() {
    let (sim, paused, running) = dataarts_with_a_paused_instance().await;
    let home = scratch("unstoppable");
    let dry = jobstop_in(
        &home,
        &[
            "stop-all",
            "--kind",
            "batch_instance",
            "--dry-run",
            "--output",
            "json",
        ],
        &sim.env(),
    )
    .await;
    dry.expect_code(0);
    assert!(!dry.stdout.contains(&paused), "{}", dry.stdout);
    assert!(dry.stdout.contains(&running), "{}", dry.stdout);
    let out = jobstop_in(
        &home,
        &["stop-all", "--kind", "batch_instance", "--yes"],
        &sim.env(),
    )
    .await;
    out.expect_code(0);
    assert!(
        out.stderr.contains("left alone") && out.stderr.contains(&paused),
        "{}",
        out.stderr
    );
    assert_eq!(sim.stop_requests(&paused), 0, "no stop the vendor refuses");
    assert_eq!(sim.stop_requests(&running), 1);
}
