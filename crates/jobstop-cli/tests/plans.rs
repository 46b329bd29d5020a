//! Bulk stops at tenant scale, through the real `jobstop` binary against the
//! Amperity simulator on loopback:
//!
//! - what a person reads of a plan is bounded: counts per account and state,
//!   the first 20 rows and "… and N more", whatever the plan's size, while
//!   `--output json` and `--output jsonl` list every planned stop;
//! - `--output jsonl` writes one line per stop as each ends (the summary on
//!   stderr), for `stop-all` and `sweep` alike;
//! - the progress bar is never drawn where stderr is not a terminal (nor
//!   with JSON output), and is drawn under a pseudo-terminal (`script`)
//!   without cutting the lines printed meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use jobstop_sim::amperity::{AmperitySim, RunSeed};
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

mod support;

use support::{Out, command, command_of, scratch};

/// Amperity's stop route.
const STOP: &str = "/workflow/runs/*/stop";

/// How many planned rows a person is shown.
const SHOWN_ROWS: usize = 20;

async fn jobstop(args: &[&str], env: &[(String, String)]) -> Out {
    support::run(&scratch("plans"), args, env).await
}

/// An Amperity simulator with `running` running runs and a few finished.
async fn amperity(seed: u64, running: usize) -> AmperitySim {
    AmperitySim::builder()
        .seed(seed)
        .running(running)
        .finished(5)
        .start()
        .await
        .unwrap()
}

/// The lines of a dry run's table that are planned rows (they start with
/// an account's name).
fn plan_rows<'a>(stdout: &'a str, accounts: &[&str]) -> Vec<&'a str> {
    stdout
        .lines()
        .filter(|l| accounts.iter().any(|a| l.starts_with(&format!("{a} "))))
        .collect()
}

/// Each line of `stdout` as JSON.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_plan_shows_counts_and_the_first_rows_and_json_lists_every_one() {
    let big = amperity(31, 230).await;
    let small = AmperitySim::builder()
        .seed(32)
        .tenant("second")
        .running(3)
        .start()
        .await
        .unwrap();
    let home = scratch("plans");
    let config = home.join("jobstop.toml");
    std::fs::write(
        &config,
        format!(
            "[accounts.amp-big]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"{}\"\n\
             token_env = \"BIG_TOKEN\"\n\n\
             [accounts.amp-small]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"second\"\n\
             token_env = \"SMALL_TOKEN\"\n",
            big.base_url(),
            big.tenant(),
            small.base_url(),
        ),
    )
    .unwrap();
    let env = vec![
        ("BIG_TOKEN".to_owned(), big.token().to_owned()),
        ("SMALL_TOKEN".to_owned(), small.token().to_owned()),
    ];
    let path = config.to_str().unwrap().to_owned();
    let jobstop = |args: &[&str]| {
        let args: Vec<String> = ["--config", path.as_str()]
            .iter()
            .chain(args)
            .map(|a| (*a).to_owned())
            .collect();
        let (home, env) = (home.clone(), env.clone());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            support::run(&home, &args, &env).await
        }
    };
    let names = ["amp-big", "amp-small"];
    let total = 233;

    let out = jobstop(&["stop-all", "--dry-run"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "dry run: would stop {total} run(s) on 2 account(s) ({total} running)"
        )),
        "{}",
        out.stdout
    );
    // One line of counts per account, then the first rows and the rest.
    for (name, n) in names.iter().zip([230, 3]) {
        let counted = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("  {name} ")))
            .unwrap_or_else(|| panic!("no counts for {name}: {}", out.stdout));
        let words: Vec<&str> = counted.split_whitespace().collect();
        assert!(
            words.contains(&n.to_string().as_str()) && counted.contains(&format!("{n} running")),
            "{counted}"
        );
    }
    assert_eq!(
        plan_rows(&out.stdout, &names).len(),
        SHOWN_ROWS,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("… and {} more", total - SHOWN_ROWS)),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.lines().count() < SHOWN_ROWS + 10,
        "bounded: {}",
        out.stdout
    );

    // The confirmation is bounded the same way (refused: stdin is no
    // terminal and there is no --yes).
    let out = jobstop(&["stop-all"]).await;
    out.expect_code(2);
    assert_eq!(
        plan_rows(&out.stdout, &names).len(),
        SHOWN_ROWS,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.lines().count() < SHOWN_ROWS + 10,
        "{}",
        out.stdout
    );

    // JSON lists every planned stop, once.
    let out = jobstop(&["stop-all", "--dry-run", "--output", "json"]).await;
    let plan = out.expect_code(0).json();
    let plan = plan.as_array().unwrap();
    assert_eq!(plan.len(), total);
    let ids: BTreeSet<&str> = plan.iter().map(|p| p["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), total);
    for p in plan {
        assert_eq!(p["run"]["state"], "running", "{p}");
        assert_eq!(p["run"]["id"], p["run_id"], "{p}");
        assert!(p["run"]["created_at"].is_string(), "{p}");
        assert!(
            p["run"].get("raw").is_none(),
            "a plan keeps no raw JSON: {p}"
        );
    }
    assert!(
        out.stderr.contains(&format!("would stop {total} run(s)")),
        "{}",
        out.stderr
    );

    // JSON Lines: one planned stop per line, nothing else on stdout.
    let out = jobstop(&["stop-all", "--dry-run", "--output", "jsonl"]).await;
    out.expect_code(0);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), total);
    let line_ids: BTreeSet<&str> = lines
        .iter()
        .map(|p| p["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(line_ids, ids);
    assert!(
        out.stderr.contains(&format!("would stop {total} run(s)")),
        "{}",
        out.stderr
    );
    assert_eq!(big.total_stop_requests() + small.total_stop_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_writes_one_result_per_stop_as_each_ends() {
    let sim = amperity(33, 6).await;
    sim.faults().add(FaultRule::new(
        Route::post(STOP),
        Fault::Latency(Duration::from_millis(400)),
    ));
    let mut child = command(
        &scratch("plans"),
        &[
            "stop-all",
            "--yes",
            "--concurrency",
            "1",
            "--output",
            "jsonl",
        ],
        &sim.env(),
    )
    .spawn()
    .expect("cannot start jobstop");
    let stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(l)) = lines.next_line().await {
            text.push_str(&l);
            text.push('\n');
        }
        text
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("no line while stopping")
        .unwrap()
        .expect("stdout ended");
    // The first answer is out while the others are still being stopped.
    let applied_then = sim.total_stop_requests();
    assert!(
        applied_then < 6,
        "{applied_then} stops applied at the first line"
    );
    assert_eq!(child.try_wait().unwrap(), None, "still stopping");
    let mut all = vec![first];
    while let Some(l) = lines.next_line().await.unwrap() {
        all.push(l);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    let stderr = stderr.await.unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let results = json_lines(&all.join("\n"));
    assert_eq!(results.len(), 6, "one line per stop: {all:?}");
    let printed: BTreeSet<String> = results
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "requested", "{r}");
            assert_eq!(r["account"], "amperity", "{r}");
            r["run_id"].as_str().unwrap().to_owned()
        })
        .collect();
    let applied: BTreeSet<String> = sim
        .ids()
        .into_iter()
        .filter(|id| sim.stop_requests(id) == 1)
        .collect();
    assert_eq!(printed, applied);
    assert_eq!(sim.total_stop_requests(), 6);
    assert!(
        stderr.contains("6 of 6 run(s) answered"),
        "summary on stderr: {stderr}"
    );
}

/// A simulator with `n` old runs named `etl-…` and a few others.
async fn sweepable(n: usize) -> AmperitySim {
    let now = Utc::now();
    let mut b = AmperitySim::builder().seed(34).epoch(now);
    for i in 0..n {
        b = b.insert_run(
            RunSeed::new("running")
                .with_name(format!("etl-{i}"))
                .with_created_at(now - chrono::Duration::hours(3)),
        );
    }
    for i in 0..3 {
        b = b.insert_run(
            RunSeed::new("running")
                .with_name(format!("report-{i}"))
                .with_created_at(now - chrono::Duration::hours(3)),
        );
    }
    b.start().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_plan_is_bounded_and_jsonl_answers_each_claimed_run() {
    let sim = sweepable(45).await;
    let env = sim.env();
    let sweep = ["sweep", "--name-prefix", "etl-", "--older-than", "1h"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        sweep.iter().chain(extra).copied().collect::<Vec<&str>>()
    };

    let out = jobstop(&with(&["--dry-run"]), &env).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("dry run: would stop 45 run(s) on 1 account(s) (45 running)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        plan_rows(&out.stdout, &["amperity"]).len(),
        SHOWN_ROWS,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("… and 25 more"), "{}", out.stdout);
    assert!(!out.stdout.contains("report-"), "{}", out.stdout);

    let out = jobstop(&with(&["--dry-run", "--output", "jsonl"]), &env).await;
    out.expect_code(0);
    let planned = json_lines(&out.stdout);
    assert_eq!(planned.len(), 45);
    assert!(
        planned
            .iter()
            .all(|p| p["run"]["name"].as_str().unwrap().starts_with("etl-")),
        "{}",
        out.stdout
    );
    assert_eq!(sim.total_stop_requests(), 0);

    let out = jobstop(&with(&["--yes", "--output", "jsonl"]), &env).await;
    out.expect_code(0);
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 45);
    let ids: BTreeSet<&str> = results
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 45);
    for r in &results {
        assert_eq!(r["outcome"], "requested", "{r}");
        let id = r["run_id"].as_str().unwrap();
        let name = sim.run_json(id).unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(name.starts_with("etl-"), "{name}");
        assert_eq!(sim.stop_requests(id), 1, "{name}");
    }
    assert_eq!(sim.total_stop_requests(), 45);
    assert!(
        out.stderr.contains("45 of 45 run(s) answered"),
        "{}",
        out.stderr
    );
}

/// What a progress bar or spinner would leave in a stream: a carriage
/// return, an escape sequence, or the bar's own words.
fn has_progress(text: &str) -> bool {
    text.contains('\r')
        || text.contains('\x1b')
        || text.contains("stopping [")
        || text.contains("waiting for")
        || text.contains(" · ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_progress_is_drawn_where_stderr_is_no_terminal() {
    let sim = sweepable(4).await;
    sim.faults().add(FaultRule::new(
        Route::post(STOP),
        Fault::Latency(Duration::from_millis(300)),
    ));
    let mut env = sim.env();
    // `stop --wait` on a run of its own (the stop-all stops the others).
    let single = AmperitySim::builder()
        .seed(38)
        .running(1)
        .stop_delay(Duration::from_millis(600))
        .start()
        .await
        .unwrap();
    let id = single.ids()[0].clone();
    for args in [
        &[
            "sweep",
            "--name-prefix",
            "report-",
            "--older-than",
            "1h",
            "--yes",
        ][..],
        &["stop-all", "--yes", "--concurrency", "1"][..],
        &["stop", "amperity", &id, "--wait", "--timeout", "30s"][..],
    ] {
        if args[0] == "stop" {
            env = single.env();
        }
        let out = jobstop(args, &env).await;
        assert!(
            out.code == 0 && !out.stdout.contains("nothing to stop"),
            "{args:?}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(!has_progress(&out.stderr), "{args:?}: {:?}", out.stderr);
        assert!(!has_progress(&out.stdout), "{args:?}: {:?}", out.stdout);
    }
    assert_eq!(sim.total_stop_requests(), 7);
    assert_eq!(single.stop_requests(&id), 1);
}

/// Runs `jobstop args…` under a pseudo-terminal (`script`), stdout and
/// stderr both on it; what the terminal received. `None` without `script`.
async fn under_a_terminal(args: &[&str], env: &[(String, String)]) -> Option<Out> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let line = std::iter::once(support::BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script_cmd = command_of(
        script,
        &scratch("plans-tty"),
        &["-q", "-e", "-f", "-c", &line, "/dev/null"],
        env,
    );
    script_cmd
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "160")
        .env("LINES", "50");
    let out = tokio::time::timeout(Duration::from_secs(30), script_cmd.output())
        .await
        .expect("jobstop under script took over 30 s")
        .expect("cannot run script");
    Some(Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_bar_is_drawn_on_a_terminal_without_cutting_lines() {
    let sim = amperity(35, 8).await;
    sim.faults().add(FaultRule::new(
        Route::post(STOP),
        Fault::Latency(Duration::from_millis(250)),
    ));
    let env = sim.env();
    let Some(out) = under_a_terminal(&["stop-all", "--yes", "--concurrency", "1"], &env).await
    else {
        eprintln!("skipped: `script` (util-linux) is not installed; no pseudo-terminal to test on");
        return;
    };
    out.expect_code(0);
    let screen = &out.stdout;
    assert!(screen.contains("stopping ["), "the bar: {screen:?}");
    assert!(
        screen.contains("requested · "),
        "counts per outcome: {screen:?}"
    );
    // Every answer's line is whole: the bar was cleared around it.
    for id in sim.ids().iter().filter(|id| sim.stop_requests(id) == 1) {
        let whole = screen.lines().any(|l| {
            let l = l.trim_end_matches('\r');
            let l = l.rsplit("\x1b[2K").next().unwrap_or(l);
            l.contains(&format!(" amperity  {id}  requested: now stopping"))
        });
        assert!(whole, "{id}: {screen:?}");
    }
    assert!(screen.contains("8 of 8 run(s) answered"), "{screen:?}");
    assert_eq!(sim.total_stop_requests(), 8);

    // `stop --wait`: a spinner while waiting.
    let slow = AmperitySim::builder()
        .seed(36)
        .running(1)
        .stop_delay(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let id = slow.ids()[0].clone();
    let out = under_a_terminal(
        &["stop", "amperity", &id, "--wait", "--timeout", "30s"],
        &slow.env(),
    )
    .await
    .expect("script was there a moment ago");
    out.expect_code(0);
    assert!(
        out.stdout.contains(&format!("amperity: waiting for {id}")),
        "{:?}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("amperity: waiting for {id}: stopping (canceling)")),
        "the state seen while waiting: {:?}",
        out.stdout
    );

    // JSON output: no bar, even on a terminal.
    let out = under_a_terminal(
        &["stop-all", "--yes", "--output", "jsonl"],
        &amperity(37, 3).await.env(),
    )
    .await
    .expect("script was there a moment ago");
    out.expect_code(0);
    assert!(!out.stdout.contains("stopping ["), "{:?}", out.stdout);
    assert!(!out.stdout.contains(" · "), "{:?}", out.stdout);
}

/// The figures for the report: peak memory of `jobstop stop-all --dry-run`
/// over 10,000 and 100,000 running DataArts batch instances on one account
/// (the simulator lives in the test process, not in the measured one), for
/// each output, measured with `/usr/bin/time`; stdout goes to `/dev/null`.
/// `cargo test --release -p jobstop-cli --test plans -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: minutes in a debug build"]
async fn figures_for_a_dry_run_over_many_runs() {
    for n in [10_000_usize, 100_000] {
        // At most 300 instances per job keeps every one within the
        // adapter's look-back (as the `list-memory` bench does).
        let sim = DataArtsSim::builder()
            .seed(39)
            .batch_jobs(n.div_ceil(300).max(50))
            .instances(n)
            .running_instances(n)
            .start()
            .await
            .unwrap();
        for output in ["table", "json", "jsonl"] {
            let args = [
                "-f",
                "%e %M",
                support::BIN,
                "stop-all",
                "--kind",
                "batch_instance",
                "--dry-run",
                "--output",
                output,
            ];
            let mut cmd = command_of(
                "/usr/bin/time",
                &scratch("plans-figures"),
                &args,
                &sim.env_token(),
            );
            // The table is bounded and read back; JSON goes to /dev/null.
            let table = output == "table";
            if !table {
                let devnull = std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/null")
                    .unwrap();
                cmd.stdout(std::process::Stdio::from(devnull));
            }
            let out = cmd.output().await.expect("cannot run /usr/bin/time");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            let headline = if table { &stdout } else { &stderr };
            // Not every instance is planned (some of the simulator's jobs
            // are paused or stopped): the count planned is reported.
            let planned: usize = headline
                .split("would stop ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|count| count.parse().ok())
                .unwrap_or_else(|| panic!("no plan: {stdout}\n{stderr}"));
            assert!(planned > n / 2, "{planned} of {n}");
            let last = stderr.lines().last().unwrap_or_default();
            let mut fields = last.split_whitespace();
            let secs: f64 = fields.next().unwrap().parse().unwrap();
            let kib: f64 = fields.next().unwrap().parse().unwrap();
            eprintln!(
                "stop-all --dry-run --output {output:<5} over {n:>6} instances ({planned} planned): \
                 {secs:6.2} s, peak RSS {:.1} MiB",
                kib / 1024.0
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_wait_shows_each_runs_final_state_and_sums_them_up() {
    let sim = amperity(41, 4).await;
    let out = jobstop(
        &[
            "stop-all",
            "--yes",
            "--wait",
            "--timeout",
            "30s",
            "--output",
            "jsonl",
        ],
        &sim.env(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 4, "{}", out.stdout);
    for r in &results {
        assert_eq!(r["final"]["state"], "stopped", "{r}");
        assert_eq!(r["stop_won"], true, "{r}");
    }
    assert!(
        out.stderr
            .contains("4 ended (4 stopped), 4 by their stop, 0 not ended in time"),
        "{}",
        out.stderr
    );

    // The table form: every line names the final state.
    let sim = amperity(42, 2).await;
    let out = jobstop(&["stop-all", "--yes", "--wait"], &sim.env()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ended = out
        .stdout
        .lines()
        .filter(|l| l.contains("; ended stopped (canceled), stop won"))
        .count();
    assert_eq!(ended, 2, "{}", out.stdout);

    // Too short a timeout: the run is reported as not ended, exit 5.
    let sim = AmperitySim::builder()
        .seed(43)
        .running(1)
        .stop_delay(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let out = jobstop(
        &["stop-all", "--yes", "--wait", "--timeout", "300ms"],
        &sim.env(),
    )
    .await;
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("not ended: timeout (last seen stopping)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("0 ended, 0 by their stop, 1 not ended in time"),
        "{}",
        out.stdout
    );
}
