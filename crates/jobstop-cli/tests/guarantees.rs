//! The stop guarantees, end to end: the real `jobstop` binary against
//! simulators started here.
//!
//! - a `stop --wait --ticket` killed mid-wait (SIGKILL) is finished by
//!   `resume` without a second stop request;
//! - a ticket whose stop answer was lost is resent (Amperity's stop is
//!   idempotent); an unknown ticket version is refused (exit 2);
//! - `sweep` plans and stops exactly the runs with the prefix that are older
//!   than the grace period, and `--dry-run` stops nothing.
//!
//! Like `tests/cli.rs`, each invocation gets an environment cleared of
//! `JOBSTOP_*`, an empty config folder and a closed stdin (not a terminal).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use jobstop_sim::amperity::{AmperitySim, RunSeed};
use serde_json::{Value, json};

mod support;

use support::{Out, command};

fn scratch() -> PathBuf {
    support::scratch("guarantees")
}

async fn jobstop(home: &Path, args: &[&str], env: &[(String, String)]) -> Out {
    support::run(home, args, env).await
}

/// The ticket at `path`, if the file exists. It is written atomically, so
/// whenever it exists it must be a whole ticket.
fn read_ticket(path: &Path) -> Option<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("a torn ticket ({e}):\n{text}")),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

fn state(sim: &AmperitySim, id: &str) -> String {
    sim.run_json(id).unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_killed_mid_wait_is_resumed_without_a_second_stop() {
    let sim = AmperitySim::builder()
        .seed(21)
        .running(2)
        .stop_delay(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let env = sim.env();
    let id = sim.ids()[0].clone();
    let home = scratch();
    let ticket = home.join("stop.ticket");
    let ticket_arg = ticket.to_str().unwrap();

    let mut child = command(
        &home,
        &[
            "stop",
            "amperity",
            &id,
            "--wait",
            "--ticket",
            ticket_arg,
            "--timeout",
            "60s",
        ],
        &env,
    )
    .spawn()
    .expect("cannot start jobstop");

    // Wait until the ticket says the stop was accepted.
    let started = tokio::time::Instant::now();
    let saved = loop {
        if let Some(t) = read_ticket(&ticket).filter(|t| t["stop"]["phase"] == "accepted") {
            break t;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "jobstop ended ({status}) before the ticket was accepted\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no accepted ticket after 10 s: {:?}",
            read_ticket(&ticket)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["account"], "amperity");
    assert_eq!(saved["run_id"], id.as_str());
    assert_eq!(saved["stop"]["outcome"], "requested");
    assert_eq!(saved["stops_sent"], 1);

    // Kill it (SIGKILL: no chance to clean up) while the run is canceling.
    child.kill().await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(9), "{status}");
    }
    assert_eq!(state(&sim, &id), "canceling", "the run has not ended yet");
    assert_eq!(sim.stop_requests(&id), 1);

    // Another process finishes the wait from the ticket.
    let out = jobstop(&home, &["resume", ticket_arg, "--output", "json"], &env).await;
    let done = out.expect_code(0).json();
    assert_eq!(done["final"]["id"], id.as_str());
    assert_eq!(done["final"]["state"], "stopped");
    assert_eq!(done["final"]["vendor_state"], "canceled");
    assert_eq!(done["final"]["account"], "amperity");
    assert_eq!(done["stop_won"], true);
    assert_eq!(done["ticket"]["stop"]["phase"], "final");
    assert_eq!(done["ticket"]["stops_sent"], 1);
    assert_eq!(state(&sim, &id), "canceled");
    assert_eq!(sim.stop_requests(&id), 1, "exactly one stop request");
    assert_eq!(
        sim.total_stop_requests(),
        1,
        "the other run was not touched"
    );

    // The file was kept up to date: it holds the final ticket.
    let last = read_ticket(&ticket).unwrap();
    assert_eq!(last["stop"]["phase"], "final");
    assert_eq!(last["stop"]["stop_won"], true);
    assert_eq!(last, done["ticket"]);

    // Resuming a final ticket only shows the run again; the table form says so.
    let out = jobstop(&home, &["resume", ticket_arg], &env).await;
    out.expect_code(0);
    assert!(out.stdout.contains("already final"), "{}", out.stdout);
    assert!(
        out.stdout.contains("the stop took effect"),
        "{}",
        out.stdout
    );
    assert_eq!(sim.stop_requests(&id), 1);
}

/// A ticket as an older process would have left it.
fn ticket_json(run_id: &str, stop: Value, deadline_secs: i64) -> String {
    let now = Utc::now();
    serde_json::to_string_pretty(&json!({
        "version": 1,
        "account": "amperity",
        "run_id": run_id,
        "request": {"mode": "graceful", "options": {}},
        "deadline": (now + chrono::Duration::seconds(deadline_secs)).to_rfc3339(),
        "stops_sent": 1,
        "polls": 0,
        "last_state": "running",
        "stop": stop,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_are_resent_and_unknown_versions_refused() {
    let sim = AmperitySim::builder()
        .seed(22)
        .running(3)
        .start()
        .await
        .unwrap();
    let env = sim.env();
    let ids = sim.ids();
    let home = scratch();
    let sent_at = Utc::now().to_rfc3339();

    // The first stop's answer was lost (it never arrived here): Amperity's
    // stop is idempotent, so resume sends it, then waits for the end.
    let lost = home.join("lost.ticket");
    std::fs::write(
        &lost,
        ticket_json(
            &ids[0],
            json!({"phase": "answer_lost", "sent_at": sent_at}),
            60,
        ),
    )
    .unwrap();
    let out = jobstop(
        &home,
        &["resume", lost.to_str().unwrap(), "--output", "json"],
        &env,
    )
    .await;
    let done = out.expect_code(0).json();
    assert_eq!(done["final"]["state"], "stopped");
    assert_eq!(done["stop_won"], true);
    assert_eq!(done["ticket"]["stops_sent"], 2, "the lost one and this one");
    assert_eq!(sim.stop_requests(&ids[0]), 1);
    assert_eq!(read_ticket(&lost).unwrap()["stop"]["phase"], "final");

    // An unknown version: refused before anything is sent, naming it.
    let future = home.join("future.ticket");
    let text = ticket_json(
        &ids[1],
        json!({"phase": "answer_lost", "sent_at": sent_at}),
        60,
    )
    .replace("\"version\": 1", "\"version\": 99");
    assert!(text.contains("\"version\": 99"));
    std::fs::write(&future, text).unwrap();
    let out = jobstop(&home, &["resume", future.to_str().unwrap()], &env).await;
    out.expect_code(2);
    assert!(out.stderr.contains("version 99"), "{}", out.stderr);
    assert!(out.stderr.contains("future.ticket"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    // No such file, not JSON, an account that is not configured: exit 2.
    let missing = home.join("missing.ticket");
    jobstop(&home, &["resume", missing.to_str().unwrap()], &env)
        .await
        .expect_code(2);
    let garbage = home.join("garbage.ticket");
    std::fs::write(&garbage, "{\"version\": 1, \"account\":").unwrap();
    jobstop(&home, &["resume", garbage.to_str().unwrap()], &env)
        .await
        .expect_code(2);
    let elsewhere = home.join("elsewhere.ticket");
    std::fs::write(
        &elsewhere,
        ticket_json(&ids[1], json!({"phase": "not_sent"}), 60)
            .replace("\"account\": \"amperity\"", "\"account\": \"prod\""),
    )
    .unwrap();
    let out = jobstop(&home, &["resume", elsewhere.to_str().unwrap()], &env).await;
    out.expect_code(2);
    assert!(out.stderr.contains("prod"), "{}", out.stderr);
    assert_eq!(sim.stop_requests(&ids[1]), 0);

    // An accepted stop is never sent again; past its deadline the wait
    // gives up with exit 5 and says how to go on.
    let late = home.join("late.ticket");
    std::fs::write(
        &late,
        ticket_json(
            &ids[2],
            json!({"phase": "accepted", "sent_at": sent_at, "outcome": "requested"}),
            -1,
        ),
    )
    .unwrap();
    let out = jobstop(&home, &["resume", late.to_str().unwrap()], &env).await;
    out.expect_code(5);
    assert!(out.stderr.contains("jobstop: amperity: "), "{}", out.stderr);
    assert!(out.stderr.contains("--timeout"), "{}", out.stderr);
    assert_eq!(sim.stop_requests(&ids[2]), 0);
    assert_eq!(state(&sim, &ids[2]), "running");
    assert_eq!(sim.total_stop_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_stops_exactly_the_old_prefixed_runs() {
    // The simulator's clock starts at the real "now" rather than in 2024:
    // `--older-than` is measured against the machine running jobstop, so a
    // run created "just now" by a 2024 clock would be two years old here.
    let now = Utc::now();
    let ago = |minutes: i64| now - chrono::Duration::minutes(minutes);
    let sim = AmperitySim::builder()
        .seed(23)
        .epoch(now)
        .insert_run(
            RunSeed::new("running")
                .with_name("etl-orders")
                .with_kind("ingest/run")
                .with_created_at(ago(120)),
        )
        .insert_run(
            RunSeed::new("running")
                .with_name("etl-customers")
                .with_kind("campaign.send")
                .with_created_at(ago(26 * 60)),
        )
        // Prefixed, active, but inside the grace period.
        .insert_run(RunSeed::new("running").with_name("etl-fresh"))
        .insert_run(
            RunSeed::new("running")
                .with_name("etl-almost")
                .with_created_at(ago(50)),
        )
        // Prefixed and old, but finished.
        .insert_run(
            RunSeed::new("succeeded")
                .with_name("etl-done")
                .with_created_at(ago(180)),
        )
        // Old and active, without the prefix.
        .insert_run(
            RunSeed::new("running")
                .with_name("nightly-etl-x")
                .with_created_at(ago(120)),
        )
        .insert_run(
            RunSeed::new("running")
                .with_name("ETL-upper")
                .with_created_at(ago(120)),
        )
        .insert_run(
            RunSeed::new("running")
                .with_name("report")
                .with_created_at(ago(120)),
        )
        .start()
        .await
        .unwrap();
    let env = sim.env();
    let home = scratch();
    let by_name: BTreeMap<String, String> = sim
        .ids()
        .into_iter()
        .map(|id| {
            let name = sim.run_json(&id).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned();
            (name, id)
        })
        .collect();
    assert_eq!(by_name.len(), 8);
    let claimed: BTreeSet<&str> = BTreeSet::from(["etl-orders", "etl-customers"]);
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .iter()
            .map(|r| {
                let id = r["run_id"].as_str().unwrap();
                by_name
                    .iter()
                    .find(|(_, i)| i.as_str() == id)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| panic!("unknown id {id}"))
            })
            .collect()
    };
    let sweep = ["sweep", "--name-prefix", "etl-", "--older-than", "1h"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        sweep.iter().chain(extra).copied().collect::<Vec<&str>>()
    };

    // Dry runs: the plan, and not one stop request.
    let out = jobstop(&home, &with(&["--dry-run", "--output", "json"]), &env).await;
    let plan = out.expect_code(0).json();
    assert_eq!(
        names(&plan),
        claimed.iter().map(|n| (*n).to_owned()).collect()
    );
    let out = jobstop(&home, &with(&["--dry-run"]), &env).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("dry run: would stop 2 run(s) on 1 account(s)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("etl-orders") && !out.stdout.contains("etl-fresh"),
        "{}",
        out.stdout
    );
    let out = jobstop(
        &home,
        &with(&["--kind", "ingest/run", "--dry-run", "--output", "json"]),
        &env,
    )
    .await;
    assert_eq!(
        names(&out.expect_code(0).json()),
        BTreeSet::from(["etl-orders".to_owned()])
    );
    // A longer grace period claims fewer runs.
    let out = jobstop(
        &home,
        &[
            "sweep",
            "--name-prefix",
            "etl-",
            "--older-than",
            "1d",
            "--dry-run",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_eq!(
        names(&out.expect_code(0).json()),
        BTreeSet::from(["etl-customers".to_owned()])
    );
    assert_eq!(sim.total_stop_requests(), 0, "dry runs stop nothing");

    // Without --yes off a terminal: refused, nothing stopped. An empty
    // prefix would claim everything: refused too.
    let out = jobstop(&home, &with(&[]), &env).await;
    out.expect_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    jobstop(
        &home,
        &["sweep", "--name-prefix", "", "--older-than", "1h", "--yes"],
        &env,
    )
    .await
    .expect_code(2);
    jobstop(&home, &["sweep", "--name-prefix", "etl-", "--yes"], &env)
        .await
        .expect_code(2);
    assert_eq!(sim.total_stop_requests(), 0);

    // For real: exactly the claimed runs, each once.
    let out = jobstop(
        &home,
        &with(&[
            "--yes",
            "--concurrency",
            "1",
            "--rate",
            "20",
            "--output",
            "json",
        ]),
        &env,
    )
    .await;
    let results = out.expect_code(0).json();
    assert_eq!(
        names(&results),
        claimed.iter().map(|n| (*n).to_owned()).collect()
    );
    assert_eq!(results.as_array().unwrap().len(), 2);
    for r in results.as_array().unwrap() {
        assert_eq!(r["outcome"], "requested", "{r}");
        assert_eq!(r["account"], "amperity", "{r}");
    }
    assert!(out.stderr.contains("2 of 2"), "summary: {}", out.stderr);
    for (name, id) in &by_name {
        let expected = u64::from(claimed.contains(name.as_str()));
        assert_eq!(sim.stop_requests(id), expected, "{name}");
        let now = state(&sim, id);
        if claimed.contains(name.as_str()) {
            assert!(now == "canceling" || now == "canceled", "{name}: {now}");
        } else if name == "etl-done" {
            assert_eq!(now, "succeeded");
        } else {
            assert_eq!(now, "running", "{name}");
        }
    }
    assert_eq!(sim.total_stop_requests(), 2);

    // A second sweep finds nothing: the claimed runs are canceling or canceled.
    let out = jobstop(&home, &with(&["--yes"]), &env).await;
    out.expect_code(0);
    assert!(out.stdout.contains("nothing to stop"), "{}", out.stdout);
    assert_eq!(sim.total_stop_requests(), 2);
}
