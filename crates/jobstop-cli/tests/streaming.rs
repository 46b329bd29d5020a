//! `jobstop list` streams: the real binary against the simulators on
//! loopback.
//!
//! - `--output json` is the same document the library's listing gives (same
//!   runs, same fields, each account's runs in its listing's order), and
//!   `--output jsonl` is that document one run per line;
//! - `--limit N` asks for exactly ceil(N / page) pages (counted in the
//!   simulator's request log), never one more;
//! - the table has its header once, then every run in its account's order;
//! - a failing account is reported on stderr beside the others' runs, with
//!   its exit code;
//! - a reader that goes away, or SIGINT, ends the listing at once: no
//!   further page is asked for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jobstop::ops::{Selector, list_accounts};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::time::Instant;

mod support;

use support::{Out, command, scratch};

/// Amperity's list route (as faults name it).
const AMPERITY_LIST: &str = "/workflow/runs";

async fn jobstop(args: &[&str], env: &[(String, String)]) -> Out {
    support::run(&scratch("streaming"), args, env).await
}

/// An Amperity simulator with `finished` finished and `running` running runs.
async fn amperity(finished: usize, running: usize) -> AmperitySim {
    AmperitySim::builder()
        .seed(18)
        .finished(finished)
        .running(running)
        .start()
        .await
        .unwrap()
}

/// The list requests an Amperity simulator received, and the page size the
/// first one asked for (its `limit`).
fn list_requests(sim: &AmperitySim) -> (usize, Option<usize>) {
    let lists: Vec<_> = sim
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path().ends_with(AMPERITY_LIST))
        .collect();
    let page = lists.first().and_then(|r| {
        r.target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("limit="))
            .and_then(|v| v.parse().ok())
    });
    (lists.len(), page)
}

/// What the library lists for the same environment: per account, each run
/// as `list` prints it (the core serialization without `raw`, plus
/// `account`), in listing order.
async fn library_listing(env: &[(String, String)]) -> BTreeMap<String, Vec<Value>> {
    let registry = jobstop::Registry::from_lookup(|k| {
        env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    let accounts = registry.all();
    let mut out = BTreeMap::new();
    for listing in list_accounts(&accounts, &Selector::new(), None).await {
        let runs = listing.result.unwrap();
        let runs = runs
            .iter()
            .map(|run| {
                let mut v = serde_json::to_value(run).unwrap();
                let map = v.as_object_mut().unwrap();
                map.remove("raw");
                map.insert("account".into(), Value::String(listing.account.clone()));
                v
            })
            .collect();
        out.insert(listing.account, runs);
    }
    out
}

/// Runs grouped by their `account`, each group in printed order.
fn by_account(runs: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in runs {
        out.entry(r["account"].as_str().unwrap().to_owned())
            .or_default()
            .push(r.clone());
    }
    out
}

/// The four simulators, Amperity with several pages of runs.
async fn four_sims() -> (
    Vec<(String, String)>,
    AmperitySim,
    Vec<Box<dyn std::any::Any>>,
) {
    let amp = amperity(230, 7).await;
    let chorus = ChorusSim::builder()
        .seed(18)
        .running(2)
        .idle(3)
        .start()
        .await
        .unwrap();
    let dataarts = DataArtsSim::builder()
        .seed(18)
        .realtime_jobs(2, 1)
        .batch_jobs(3)
        .instances(12)
        .running_instances(2)
        .start()
        .await
        .unwrap();
    let centurylink = CenturyLinkSim::builder()
        .seed(18)
        .jobs(3)
        .executions_per_job(2)
        .running(2)
        .start()
        .await
        .unwrap();
    let mut env = amp.env();
    env.extend(chorus.env());
    env.extend(dataarts.env());
    env.extend(centurylink.env());
    (
        env,
        amp,
        vec![Box::new(chorus), Box::new(dataarts), Box::new(centurylink)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_json_and_jsonl_are_the_library_s_listing() {
    let (env, _amp, _others) = four_sims().await;
    let want = library_listing(&env).await;
    assert_eq!(want.len(), 4);
    assert!(want["amperity"].len() > 200, "several pages");

    let out = jobstop(&["list", "--output", "json"], &env).await;
    out.expect_code(0);
    let doc = out.json();
    let runs = doc.as_array().expect("an array");
    assert_eq!(by_account(runs), want, "same runs, fields and order");

    let out = jobstop(&["list", "--output", "jsonl"], &env).await;
    out.expect_code(0);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let total: usize = want.values().map(Vec::len).sum();
    assert_eq!(lines.len(), total);
    assert_eq!(by_account(&lines), want);
}

/// `list --limit N --output jsonl` against `sim` alone: the lines printed,
/// and the list requests it sent (with the page size).
async fn list_with_limit(sim: &AmperitySim, limit: usize) -> (usize, (usize, Option<usize>)) {
    sim.server().clear_requests();
    let limit = limit.to_string();
    let out = jobstop(
        &["list", "--limit", &limit, "--output", "jsonl"],
        &sim.env(),
    )
    .await;
    out.expect_code(0);
    (out.stdout.lines().count(), list_requests(sim))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_asks_for_no_page_past_the_last_run_it_prints() {
    let sim = amperity(400, 0).await;
    let (printed, (requests, page)) = list_with_limit(&sim, 1).await;
    assert_eq!((printed, requests), (1, 1));
    let page = page.expect("the first request names its page size");
    assert!(page * 3 < 400, "page {page}: the listing has more pages");
    for limit in [page - 1, page, page + 1, 2 * page, 2 * page + 1] {
        let (printed, (requests, _)) = list_with_limit(&sim, limit).await;
        assert_eq!(printed, limit);
        assert_eq!(
            requests,
            limit.div_ceil(page),
            "--limit {limit}, {page} per page"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_has_one_header_and_every_row_in_order() {
    let one = amperity(180, 5).await;
    let two = ChorusSim::builder()
        .seed(18)
        .running(3)
        .idle(40)
        .start()
        .await
        .unwrap();
    let mut env = one.env();
    env.extend(two.env());
    let want = library_listing(&env).await;

    let out = jobstop(&["list"], &env).await;
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["ACCOUNT", "ID", "STATE", "KIND", "NAME", "CREATED"]
    );
    assert!(
        lines[1..].iter().all(|l| !l.starts_with("ACCOUNT")),
        "the header once:\n{}",
        out.stdout
    );
    let mut printed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in &lines[1..] {
        let mut cells = line.split_whitespace();
        let account = cells.next().unwrap().to_owned();
        let id = cells.next().unwrap().to_owned();
        printed.entry(account).or_default().push(id);
    }
    let want_ids: BTreeMap<String, Vec<String>> = want
        .iter()
        .map(|(a, runs)| {
            let ids = runs
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            (a.clone(), ids)
        })
        .collect();
    assert_eq!(printed, want_ids);
    // The first rows settled the widths: every row's state starts where the
    // header's STATE does (ids and accounts fit: they are all as wide).
    let at = lines[0].find("STATE").unwrap();
    for line in &lines[1..] {
        let state = line.get(at..).unwrap_or_default();
        assert!(
            [
                "running",
                "succeeded",
                "failed",
                "stopped",
                "idle",
                "queued"
            ]
            .iter()
            .any(|s| state.starts_with(s)),
            "misaligned: {line:?}"
        );
    }

    // Nothing selected: the message on stderr, nothing on stdout.
    let out = jobstop(&["list", "--name-contains", "no-such-run-anywhere"], &env).await;
    out.expect_code(0);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("no runs match"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_account_is_reported_beside_the_others_runs() {
    let good = amperity(120, 3).await;
    let bad = ChorusSim::builder()
        .seed(18)
        .running(1)
        .start()
        .await
        .unwrap();
    bad.faults()
        .add(FaultRule::new(Route::any(), Fault::status(503)));
    let mut env = good.env();
    env.extend(bad.env());
    let want = library_listing(&good.env()).await;

    for format in ["json", "jsonl", "table"] {
        let out = jobstop(&["list", "--output", format], &env).await;
        out.expect_code(6);
        assert!(
            out.stderr.contains("jobstop: chorus: ") && out.stderr.contains("503"),
            "{format}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("no runs match"), "{}", out.stderr);
        let ids: Vec<String> = match format {
            "json" => out.json().as_array().unwrap().iter().map(id).collect(),
            "jsonl" => out
                .stdout
                .lines()
                .map(|l| id(&serde_json::from_str(l).unwrap()))
                .collect(),
            _ => out
                .stdout
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
                .collect(),
        };
        let want_ids: Vec<String> = want["amperity"].iter().map(id).collect();
        assert_eq!(ids, want_ids, "{format}");
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Waits (at most 20 s) for the child to exit; its code.
async fn exit_code(child: &mut tokio::process::Child) -> i32 {
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("jobstop still runs after 20 s")
        .unwrap();
    status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_the_listing_at_once() {
    // 20+ pages, each answered after 150 ms.
    let sim = amperity(2000, 0).await;
    sim.faults().add(FaultRule::new(
        Route::get(AMPERITY_LIST),
        Fault::Latency(Duration::from_millis(150)),
    ));
    for format in ["jsonl", "json", "table"] {
        sim.server().clear_requests();
        let mut child = command(
            &scratch("streaming"),
            &["list", "--output", format],
            &sim.env(),
        )
        .spawn()
        .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // `jobstop list | head -2`.
        for _ in 0..2 {
            lines.next_line().await.unwrap().expect("a line");
        }
        drop(lines);
        let code = exit_code(&mut child).await;
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        assert_eq!(code, 141, "{format}: {text}");
        assert!(!text.contains("panicked"), "{format}: {text}");
        assert!(!text.contains("cannot write"), "quiet: {format}: {text}");
        let (requests, page) = list_requests(&sim);
        let pages = 2000usize.div_ceil(page.unwrap());
        // The first page (which the pipe's buffer may have taken whole) and
        // the one whose first run met the closed pipe; not the rest.
        assert!(
            requests <= 3 && requests < pages,
            "{format}: {requests} of {pages} pages asked for"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_closes_the_json_array_and_exits_130() {
    let sim = amperity(2000, 0).await;
    sim.faults().add(FaultRule::new(
        Route::get(AMPERITY_LIST),
        Fault::Latency(Duration::from_millis(300)),
    ));
    let mut child = command(
        &scratch("streaming"),
        &["list", "--output", "json"],
        &sim.env(),
    )
    .spawn()
    .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    // The `[` and the first run.
    for _ in 0..2 {
        stdout.read_line(&mut text).await.unwrap();
    }
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let at = Instant::now();
    let code = exit_code(&mut child).await;
    assert!(at.elapsed() < Duration::from_secs(5), "{:?}", at.elapsed());
    stdout.read_to_string(&mut text).await.unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).await.unwrap();
    assert_eq!(code, 130, "{err}");
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let printed = doc.as_array().unwrap().len();
    assert!(printed > 0);
    assert!(
        err.contains(&format!(
            "jobstop: SIGINT: listing stopped; {printed} run(s) printed"
        )),
        "{err}"
    );
    let (requests, page) = list_requests(&sim);
    assert!(
        requests < 2000usize.div_ceil(page.unwrap()),
        "{requests} pages asked for"
    );
    let ids: BTreeSet<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), printed, "no run twice");
}
