//! What an interrupted operator, a closed pipe, a full disk and a hanging
//! stop do to the real `jobstop` binary, against simulators on loopback:
//!
//! - SIGINT or SIGTERM in the middle of `stop-all --yes` starts no new stop,
//!   lets the stops in flight finish, prints every answer (exactly the stops
//!   the simulator applied) and a summary, and exits 130; a second SIGINT
//!   exits at once;
//! - `stop --wait` prints the stop's answer before waiting, and SIGINT while
//!   waiting still reports it (exit 130);
//! - a stdout whose reader went away ends the command quietly (exit 141, no
//!   panic); a stdout that cannot be written (`/dev/full`) is reported on
//!   stderr, exits 1 and stops nothing more;
//! - `stop --wait --timeout 2s` whose stop call hangs exits 5 at the deadline.
//!
//! Signals are sent with the `kill` command.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdout};
use tokio::time::Instant;

mod support;

use support::{Out, command, scratch};

/// Amperity's stop route.
const STOP: &str = "/workflow/runs/*/stop";

/// An Amperity simulator with `running` runs whose stops take `latency` to
/// be applied and answered.
async fn sim(running: usize, latency: Duration) -> AmperitySim {
    let sim = AmperitySim::builder()
        .seed(16)
        .running(running)
        .start()
        .await
        .unwrap();
    sim.faults()
        .add(FaultRule::new(Route::post(STOP), Fault::Latency(latency)));
    sim
}

/// The runs the simulator applied a stop to.
fn applied(sim: &AmperitySim) -> BTreeSet<String> {
    sim.ids()
        .into_iter()
        .filter(|id| sim.stop_requests(id) > 0)
        .collect()
}

/// How many stop requests reached the simulator (before their latency).
fn stops_received(sim: &AmperitySim) -> usize {
    sim.server()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.target.ends_with("/stop"))
        .count()
}

fn kill(child: &Child, signal: &str) {
    let pid = child.id().expect("the child is running").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("cannot run kill");
    assert!(status.success(), "kill {signal} {pid}: {status}");
}

/// Waits (at most `limit`) for `cond`, failing with `what`.
async fn until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads all of a pipe in the background.
fn drain<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    mut r: R,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Waits (at most `limit`) for the child to exit; its code (-1 when a signal
/// ended it).
async fn exit_code(child: &mut Child, limit: Duration) -> i32 {
    let status = tokio::time::timeout(limit, child.wait())
        .await
        .unwrap_or_else(|_| panic!("jobstop still runs after {limit:?}"))
        .unwrap();
    status.code().unwrap_or(-1)
}

struct Spawned {
    child: Child,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

fn spawn(args: &[&str], env: &[(String, String)]) -> Spawned {
    let mut child = command(&scratch("interruptions"), args, env)
        .spawn()
        .expect("cannot start jobstop");
    Spawned {
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
        child,
    }
}

/// Runs `args` to the end, stopping when the simulator has applied some
/// stops but not all: then `signal`; returns what it printed.
async fn interrupt_stop_all(sim: &AmperitySim, args: &[&str], signal: &str) -> (Out, Duration) {
    let mut s = spawn(args, &sim.env());
    let stdout = drain(s.stdout.take().unwrap());
    let stderr = drain(s.stderr.take().unwrap());
    until(Duration::from_secs(20), "two applied stops", || {
        sim.total_stop_requests() >= 2
    })
    .await;
    kill(&s.child, signal);
    let at = Instant::now();
    let code = exit_code(&mut s.child, Duration::from_secs(20)).await;
    let took = at.elapsed();
    let out = Out {
        code,
        stdout: stdout.await.unwrap(),
        stderr: stderr.await.unwrap(),
    };
    (out, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_stop_all_prints_exactly_what_was_applied_in_json() {
    let sim = sim(12, Duration::from_millis(800)).await;
    let (out, took) = interrupt_stop_all(
        &sim,
        &[
            "stop-all",
            "--yes",
            "--concurrency",
            "2",
            "--output",
            "json",
        ],
        "-INT",
    )
    .await;
    out.expect_code(130);
    assert!(
        took < Duration::from_secs(8),
        "the grace is bounded: {took:?}"
    );
    let results = out.json();
    let printed: BTreeSet<String> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["outcome"].is_string(), "{r}");
            r["run_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(results.as_array().unwrap().len(), printed.len());
    // Give any stop still on the wire the time to land, then compare.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let applied = applied(&sim);
    assert_eq!(printed, applied, "the record is what the vendor applied");
    assert!(applied.len() < 12, "no new stop after SIGINT: {applied:?}");
    assert_eq!(stops_received(&sim), applied.len());
    assert!(
        out.stderr.contains("interrupted by SIGINT")
            && out
                .stderr
                .contains(&format!("{} not started", 12 - applied.len())),
        "summary: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stop_all_prints_exactly_what_was_applied_in_a_table() {
    let sim = sim(12, Duration::from_millis(800)).await;
    let (out, _) =
        interrupt_stop_all(&sim, &["stop-all", "--yes", "--concurrency", "2"], "-TERM").await;
    out.expect_code(130);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let applied = applied(&sim);
    let printed: BTreeSet<String> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok "))
        .map(|l| l.split_whitespace().nth(2).unwrap().to_owned())
        .collect();
    assert_eq!(printed, applied, "{}", out.stdout);
    assert!(applied.len() < 12, "{applied:?}");
    let summary = out.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("interrupted by SIGTERM: ")
            && summary.contains(&format!("{} of 12 run(s) answered", applied.len()))
            && summary.contains("not started"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_exits_at_once() {
    // Stops that take far longer than the grace: only a second SIGINT ends
    // the command sooner.
    let sim = sim(6, Duration::from_secs(60)).await;
    let mut s = spawn(
        &[
            "stop-all",
            "--yes",
            "--concurrency",
            "2",
            "--output",
            "json",
        ],
        &sim.env(),
    );
    let stdout = drain(s.stdout.take().unwrap());
    let stderr = drain(s.stderr.take().unwrap());
    until(Duration::from_secs(20), "two stops in flight", || {
        stops_received(&sim) >= 2
    })
    .await;
    kill(&s.child, "-INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(&s.child, "-INT");
    let at = Instant::now();
    let code = exit_code(&mut s.child, Duration::from_secs(20)).await;
    let took = at.elapsed();
    let (stdout, stderr) = (stdout.await.unwrap(), stderr.await.unwrap());
    assert_eq!(code, 130, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        took < Duration::from_secs(3),
        "the grace is 5 s; the second SIGINT took {took:?}"
    );
    assert!(stderr.contains("SIGINT again"), "{stderr}");
    assert_eq!(
        stops_received(&sim),
        2,
        "no new stop after the first SIGINT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_wait_prints_the_answer_before_waiting_and_on_sigint() {
    let sim = AmperitySim::builder()
        .seed(16)
        .running(2)
        .stop_delay(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let ids = sim.ids();

    // Table: the answer is on stdout while the wait goes on.
    let mut s = spawn(
        &["stop", "amperity", &ids[0], "--wait", "--timeout", "60s"],
        &sim.env(),
    );
    let stderr = drain(s.stderr.take().unwrap());
    let mut lines = BufReader::new(s.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("no line on stdout while waiting")
        .unwrap()
        .unwrap_or_default();
    assert!(
        first.contains(&format!("stop of {} requested", ids[0])),
        "{first}"
    );
    assert_eq!(s.child.try_wait().unwrap(), None, "still waiting");
    kill(&s.child, "-INT");
    let code = exit_code(&mut s.child, Duration::from_secs(10)).await;
    let mut rest = String::new();
    while let Ok(Some(l)) = lines.next_line().await {
        rest.push_str(&l);
        rest.push('\n');
    }
    let stderr = stderr.await.unwrap();
    assert_eq!(code, 130, "stdout:\n{first}\n{rest}\nstderr:\n{stderr}");
    assert!(
        rest.contains("interrupted by SIGINT while waiting"),
        "{rest}"
    );
    assert!(rest.contains("canceling"), "the last state seen: {rest}");

    // JSON: one document with the stop's answer and no final state.
    let mut s = spawn(
        &[
            "stop",
            "amperity",
            &ids[1],
            "--wait",
            "--timeout",
            "60s",
            "--output",
            "json",
        ],
        &sim.env(),
    );
    let stdout = drain(s.stdout.take().unwrap());
    let stderr = drain(s.stderr.take().unwrap());
    until(Duration::from_secs(10), "the stop", || {
        sim.stop_requests(&ids[1]) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(&s.child, "-INT");
    let out = Out {
        code: exit_code(&mut s.child, Duration::from_secs(10)).await,
        stdout: stdout.await.unwrap(),
        stderr: stderr.await.unwrap(),
    };
    out.expect_code(130);
    let v: Value = out.json();
    assert_eq!(v["outcome"], "requested", "{v}");
    assert_eq!(v["run"]["id"], ids[1].as_str());
    assert_eq!(v["final"], Value::Null);
    assert_eq!(v["interrupted"], true);
    assert!(out.stderr.contains("stop of"), "{}", out.stderr);
    assert_eq!(sim.total_stop_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_quietly_with_141() {
    let sim = sim(8, Duration::from_millis(300)).await;

    // Closed before anything was written: nothing is stopped.
    for args in [
        &["list", "--output", "json"][..],
        &["list"][..],
        &["stop-all", "--yes", "--output", "json"][..],
        &["stop-all", "--yes"][..],
    ] {
        let mut s = spawn(args, &sim.env());
        drop(s.stdout.take());
        let stderr = drain(s.stderr.take().unwrap());
        let code = exit_code(&mut s.child, Duration::from_secs(20)).await;
        let stderr = stderr.await.unwrap();
        assert_eq!(code, 141, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cannot write"),
            "quiet: {args:?}: {stderr}"
        );
    }
    assert_eq!(sim.total_stop_requests(), 0, "nothing stopped");

    // Closed after the first line (`jobstop stop-all | head -1`): the
    // stops not yet started are never started.
    let mut s = spawn(
        &[
            "stop-all",
            "--yes",
            "--concurrency",
            "1",
            "--output",
            "json",
        ],
        &sim.env(),
    );
    let stderr = drain(s.stderr.take().unwrap());
    let mut lines = BufReader::new(s.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap_or_default();
    assert_eq!(first, "[");
    drop(lines);
    let code = exit_code(&mut s.child, Duration::from_secs(20)).await;
    let stderr = stderr.await.unwrap();
    assert_eq!(code, 141, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped = sim.total_stop_requests();
    assert!(
        (1..=2).contains(&stopped),
        "one stop answered into a closed pipe, at most one more in flight: {stopped}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_and_stops_nothing_more() {
    let sim = sim(4, Duration::from_millis(100)).await;
    for args in [
        &["stop-all", "--yes"][..],
        &["stop-all", "--yes", "--output", "json"][..],
        &["list", "--output", "json"][..],
        &["status", "amperity", &sim.ids()[0]][..],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        // (`output()` would pipe stdout again.)
        let mut child = command(&scratch("interruptions"), args, &sim.env())
            .stdout(Stdio::from(full))
            .spawn()
            .expect("cannot start jobstop");
        let stderr = drain(child.stderr.take().unwrap());
        let code = exit_code(&mut child, Duration::from_secs(20)).await;
        let stderr = stderr.await.unwrap();
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("jobstop: cannot write the output: ")
                && stderr.contains("No space left on device"),
            "{args:?}: {stderr}"
        );
        if args[0] == "stop-all" {
            assert!(stderr.contains("nothing was stopped"), "{stderr}");
        }
    }
    assert_eq!(
        sim.total_stop_requests(),
        0,
        "a stdout that cannot be written stops nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_wait_exits_5_at_the_deadline_when_the_stop_call_hangs() {
    let sim = sim(1, Duration::from_secs(60)).await;
    let id = sim.ids()[0].clone();
    let start = Instant::now();
    let out = support::run(
        &scratch("interruptions"),
        &["stop", "amperity", &id, "--wait", "--timeout", "2s"],
        &sim.env(),
    )
    .await;
    let took = start.elapsed();
    out.expect_code(5);
    assert!(
        took < Duration::from_secs(8),
        "exit 5 at the 2 s deadline, not after the stop call's own budget: {took:?}"
    );
    assert!(out.stderr.contains("deadline (2s)"), "{}", out.stderr);
    assert!(out.stderr.contains("wait"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_wait_with_a_ticket_exits_5_at_the_deadline_when_the_stop_call_hangs() {
    // The same hanging stop, with `--ticket`: the stop call is bounded by the
    // ticket's deadline, its answer is recorded as lost, and the command ends
    // at the deadline with exit 5, leaving a ticket `resume` can finish.
    let sim = sim(1, Duration::from_secs(60)).await;
    let id = sim.ids()[0].clone();
    let dir = scratch("interruptions");
    let ticket = dir.join("stop.ticket");
    let ticket_arg = ticket.to_string_lossy().into_owned();
    let start = Instant::now();
    let out = support::run(
        &dir,
        &[
            "stop",
            "amperity",
            &id,
            "--wait",
            "--timeout",
            "2s",
            "--ticket",
            &ticket_arg,
        ],
        &sim.env(),
    )
    .await;
    let took = start.elapsed();
    out.expect_code(5);
    assert!(
        took < Duration::from_secs(10),
        "exit 5 at the 2 s deadline, not after the stop call's own budget: {took:?}"
    );
    let saved = std::fs::read_to_string(&ticket).expect("the ticket was saved");
    assert!(saved.contains("answer_lost"), "{saved}");
}
