//! The real `jobstop` binary against a server whose listing never ends: every
//! page hands out a fresh cursor (`jobstop_sim::endless`). `list`, `stop-all`
//! and `sweep` must end with a clear error naming the bound and a non-zero
//! exit, never run on (before, they ran until memory ran out).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jobstop_sim::AnySim;
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::endless::EndlessRuns;

mod support;

use support::{Out, scratch};

/// The adapter's default page size, so the rewritten pages are full.
const PAGE: usize = 50;

/// An Amperity simulator with two pages of runs (the endless rule learns the
/// filters' token from the first), listing forever.
async fn endless_amperity(runs: EndlessRuns) -> AmperitySim {
    let sim = AmperitySim::builder()
        .seed(16)
        .running(60)
        .finished(10)
        .start()
        .await
        .unwrap();
    sim.faults().add(sim.endless(PAGE, runs));
    sim
}

async fn jobstop(args: &[&str], sim: &AmperitySim) -> Out {
    support::run(&scratch("endless"), args, &sim.env()).await
}

/// List requests the simulator answered.
fn list_requests(sim: &AmperitySim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().ends_with("/workflow/runs"))
        .count()
}

/// Stop requests the simulator received.
fn stop_requests(sim: &AmperitySim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path() != "/api/v0/oauth2/token")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_ends_with_a_clear_error_when_pages_repeat() {
    let sim = endless_amperity(EndlessRuns::Same).await;
    // Default limits: the second page repeats the first page's runs.
    let out = jobstop(&["list"], &sim).await;
    out.expect_code(1);
    assert!(
        out.stderr.starts_with("jobstop: amperity: amperity list: endless listing: page 2 holds exactly the runs of the page before it"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_eq!(list_requests(&sim), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_ends_at_the_page_budget_in_json() {
    let sim = endless_amperity(EndlessRuns::New).await;
    let out = jobstop(
        &["--output", "json", "list", "--list-max-pages", "20"],
        &sim,
    )
    .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains(
            "endless listing: the listing still named a next page after 20 pages, its page budget"
        ),
        "{}",
        out.stderr
    );
    // `list` streams: the runs of the 20 pages read were printed as they
    // came, each once, and the array is closed.
    let doc = out.json();
    let runs = doc.as_array().expect("an array");
    assert_eq!(runs.len(), 20 * PAGE, "the pages read, and no more");
    let ids: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), runs.len(), "no run twice");
    assert_eq!(list_requests(&sim), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_budget_comes_from_the_environment_too() {
    let sim = endless_amperity(EndlessRuns::New).await;
    let mut env = sim.env();
    env.push(("JOBSTOP_LIST_MAX_PAGES".to_owned(), "7".to_owned()));
    let out = support::run(&scratch("endless"), &["list"], &env).await;
    out.expect_code(1);
    assert!(out.stderr.contains("after 7 pages"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_timeout_ends_a_listing() {
    let sim = endless_amperity(EndlessRuns::New).await;
    // Every page slower than the deadline's share: the listing cannot
    // finish in 300 ms.
    sim.faults().add(jobstop_sim::FaultRule::new(
        jobstop_sim::Route::get("/workflow/runs"),
        jobstop_sim::Fault::latency_ms(100),
    ));
    let out = jobstop(&["list", "--list-timeout", "300ms"], &sim).await;
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("endless listing: the listing had not ended 300ms after it started"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_and_sweep_stop_nothing_on_an_endless_account() {
    let sim = endless_amperity(EndlessRuns::New).await;
    let out = jobstop(&["stop-all", "--yes", "--list-max-pages", "10"], &sim).await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("after 10 pages, its page budget"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("nothing to stop (1 account(s) could not be listed"),
        "{}",
        out.stdout
    );
    let out = jobstop(
        &[
            "sweep",
            "--name-prefix",
            "ci-",
            "--older-than",
            "0s",
            "--yes",
            "--list-max-pages",
            "10",
        ],
        &sim,
    )
    .await;
    out.expect_code(1);
    assert!(out.stderr.contains("endless listing"), "{}", out.stderr);
    assert_eq!(stop_requests(&sim), 0, "nothing was stopped");
}

/// The figures in the report: how long `jobstop list` takes to reach the
/// default page budget (10,000 pages of 50 new runs) against an endless
/// server on loopback, and its peak memory, measured with `/usr/bin/time`.
/// `cargo test -p jobstop-cli --test endless -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: about a minute"]
async fn figures_for_the_default_page_budget() {
    let sim = endless_amperity(EndlessRuns::New).await;
    let home = scratch("endless-figures");
    let mut cmd = tokio::process::Command::new("/usr/bin/time");
    cmd.args(["-f", "elapsed %e s, max RSS %M KiB", support::BIN, "list"])
        .stdin(std::process::Stdio::null())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .envs(sim.env());
    for (k, _) in std::env::vars() {
        if k.starts_with("JOBSTOP_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().await.expect("cannot run /usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    eprintln!("list requests: {}", list_requests(&sim));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("after 10000 pages"), "{stderr}");
}
