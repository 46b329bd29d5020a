//! The real `jobstop` binary against the vendor simulators on loopback.
//!
//! Each test starts its own simulators on a multi-threaded runtime (so they
//! keep serving while the binary runs) and runs the binary with
//! `tokio::process`, its environment cleared of `JOBSTOP_*` and pointed at an
//! empty config folder, stdin closed (not a terminal).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Fault, FaultRule, Route};
use serde_json::Value;

mod support;

use support::{Out, scratch};

/// Runs `jobstop args…` with exactly `env` as its `JOBSTOP_*` variables and
/// an empty config folder.
async fn jobstop(args: &[&str], env: &[(String, String)]) -> Out {
    support::run(&scratch("cli"), args, env).await
}

/// Like [`jobstop`], with `home` as `HOME` and `home/config` as
/// `XDG_CONFIG_HOME`.
async fn jobstop_in(home: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Out {
    support::run(home, args, env).await
}

/// The four simulators, small, with their default (short) stop delays.
struct Sims {
    amperity: AmperitySim,
    chorus: ChorusSim,
    dataarts: DataArtsSim,
    centurylink: CenturyLinkSim,
}

impl Sims {
    async fn start() -> Sims {
        Sims {
            // Error bodies with responses.rst's request_id (the simulator's
            // default is OA3's bare ErrorResponse), so errors show one.
            amperity: AmperitySim::builder()
                .seed(3)
                .running(3)
                .finished(4)
                .with_request_ids(true)
                .start()
                .await
                .unwrap(),
            chorus: ChorusSim::builder()
                .seed(3)
                .running(2)
                .idle(3)
                .start()
                .await
                .unwrap(),
            dataarts: DataArtsSim::builder()
                .seed(3)
                .realtime_jobs(2, 1)
                .batch_jobs(3)
                .instances(6)
                .running_instances(2)
                .start()
                .await
                .unwrap(),
            centurylink: CenturyLinkSim::builder()
                .seed(3)
                .jobs(3)
                .executions_per_job(2)
                .running(2)
                .start()
                .await
                .unwrap(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.amperity.env();
        env.extend(self.chorus.env());
        env.extend(self.dataarts.env());
        env.extend(self.centurylink.env());
        env
    }

    /// Every stop (and kill) request any simulator's handler saw.
    fn stop_requests(&self) -> u64 {
        let cl: u64 = self
            .centurylink
            .ids()
            .iter()
            .map(|id| self.centurylink.stop_requests(id) + self.centurylink.kill_requests(id))
            .sum();
        self.amperity.total_stop_requests()
            + self.chorus.total_stop_requests()
            + self.dataarts.total_stop_requests()
            + cl
    }

    /// Every credential the simulators know or issued.
    fn secrets(&self) -> Vec<String> {
        let mut s = vec![
            self.amperity.token().to_owned(),
            self.amperity.client_secret().to_owned(),
            self.chorus.password().to_owned(),
            self.dataarts.sk().to_owned(),
            self.dataarts.token().to_owned(),
            self.dataarts.password().to_owned(),
            self.centurylink.password().to_owned(),
            self.centurylink.token().to_owned(),
        ];
        s.extend(self.chorus.session_ids());
        s.extend(self.centurylink.issued_tokens());
        s
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn with_var(mut env: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.to_owned()));
    env
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_status_and_stop_in_json() {
    let sims = Sims::start().await;
    let env = sims.env();

    // list: every account, `account` on each run, no `raw` unless asked.
    let out = jobstop(&["list", "--output", "json"], &env).await;
    out.expect_code(0);
    let runs = out.json();
    let accounts: BTreeSet<&str> = array(&runs)
        .iter()
        .map(|r| r["account"].as_str().unwrap())
        .collect();
    assert_eq!(
        accounts,
        BTreeSet::from(["amperity", "centurylink", "chorus", "dataarts"])
    );
    for r in array(&runs) {
        assert!(r.get("raw").is_none(), "raw without --raw: {r}");
        assert_eq!(
            r["account"], r["vendor"],
            "env accounts are named after vendors"
        );
        assert!(r["id"].is_string() && r["state"].is_string(), "{r}");
    }
    let amperity_ids: BTreeSet<&str> = array(&runs)
        .iter()
        .filter(|r| r["account"] == "amperity")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let sim_ids = sims.amperity.ids();
    assert_eq!(
        amperity_ids,
        sim_ids.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );

    // Filters and --raw.
    let out = jobstop(
        &[
            "list", "-a", "amperity", "--state", "running", "--raw", "--output", "json",
        ],
        &env,
    )
    .await;
    out.expect_code(0);
    let running = out.json();
    assert_eq!(array(&running).len(), 3);
    for r in array(&running) {
        assert_eq!(r["account"], "amperity");
        assert_eq!(r["state"], "running");
        assert!(r["raw"].is_object(), "--raw keeps the vendor JSON: {r}");
    }
    let out = jobstop(&["list", "--limit", "1", "--output", "json"], &env).await;
    assert_eq!(
        array(&out.expect_code(0).json()).len(),
        4,
        "one per account"
    );

    // The table form is aligned text with a header.
    let out = jobstop(&["list", "-a", "chorus"], &env).await;
    out.expect_code(0);
    assert!(out.stdout.starts_with("ACCOUNT  ID"), "{}", out.stdout);
    assert!(!out.stdout.contains('\x1b'), "no colors off a terminal");

    // status
    let id = array(&running)[0]["id"].as_str().unwrap().to_owned();
    let out = jobstop(&["status", "amperity", &id, "--output", "json"], &env).await;
    let run = out.expect_code(0).json();
    assert_eq!(run["id"], id.as_str());
    assert_eq!(run["account"], "amperity");
    assert_eq!(run["state"], "running");
    assert!(run.get("raw").is_none());

    // stop, no wait: the outcome and the run.
    let out = jobstop(&["stop", "amperity", &id, "--output", "json"], &env).await;
    let stop = out.expect_code(0).json();
    assert_eq!(stop["outcome"], "requested");
    assert_eq!(stop["run"]["id"], id.as_str());
    assert_eq!(stop["run"]["state"], "stopping");
    assert_eq!(stop["run"]["account"], "amperity");
    assert!(stop.get("final").is_none());
    assert_eq!(sims.amperity.stop_requests(&id), 1);

    // stop --wait: also the final run and whether the stop won.
    let other = array(&running)[1]["id"].as_str().unwrap().to_owned();
    let out = jobstop(
        &[
            "stop",
            "amperity",
            &other,
            "--wait",
            "--timeout",
            "20s",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    let report = out.expect_code(0).json();
    assert_eq!(report["outcome"], "requested");
    assert_eq!(report["final"]["state"], "stopped");
    assert_eq!(report["final"]["vendor_state"], "canceled");
    assert_eq!(report["final"]["account"], "amperity");
    assert_eq!(report["stop_won"], true);
    assert!(report["final"].get("raw").is_none());

    // Stopping a finished run is success.
    let out = jobstop(&["stop", "amperity", &other, "--output", "json"], &env).await;
    assert_eq!(out.expect_code(0).json()["outcome"], "already_finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_each_error_class() {
    let sims = Sims::start().await;
    let env = sims.env();

    // 3: unknown run.
    let out = jobstop(&["status", "amperity", "wf-20240101-00000-nosuch"], &env).await;
    out.expect_code(3);
    assert!(
        out.stderr.starts_with("jobstop: amperity: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("HTTP 404"), "{}", out.stderr);
    assert!(out.stderr.contains("request id"), "{}", out.stderr);
    assert_eq!(
        out.stderr.trim_end().lines().count(),
        1,
        "one line: {}",
        out.stderr
    );
    jobstop(&["stop", "chorus", "999999"], &env)
        .await
        .expect_code(3);

    // 4: a wrong token.
    let bad = with_var(env.clone(), "JOBSTOP_AMPERITY_TOKEN", "not-the-token");
    let out = jobstop(&["list", "-a", "amperity"], &bad).await;
    out.expect_code(4);
    assert!(out.stderr.contains("jobstop: amperity: "), "{}", out.stderr);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(!out.stderr.contains("not-the-token"), "{}", out.stderr);
    let bad = with_var(env.clone(), "JOBSTOP_CHORUS_PASSWORD", "wrong-password");
    jobstop(&["status", "chorus", "1000000"], &bad)
        .await
        .expect_code(4);

    // 2: usage and configuration errors.
    let out = jobstop(&["list", "--bogus"], &env).await;
    out.expect_code(2);
    let out = jobstop(&["status", "prod", "1"], &env).await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("unknown account \"prod\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("amperity, centurylink, chorus, dataarts"),
        "{}",
        out.stderr
    );
    let out = jobstop(
        &["stop", "amperity", "x", "--wait", "--timeout", "5 minutes"],
        &env,
    )
    .await;
    out.expect_code(2);
    assert!(out.stderr.contains("invalid duration"), "{}", out.stderr);
    jobstop(
        &["stop", "amperity", "x", "--wait", "--timeout", "1h1h"],
        &env,
    )
    .await
    .expect_code(2);
    jobstop(&["stop-all", "--older-than", "3"], &env)
        .await
        .expect_code(2);
    let dir = scratch("cli");
    let missing = dir.join("missing.toml");
    let out = jobstop(&["--config", missing.to_str().unwrap(), "accounts"], &env).await;
    out.expect_code(2);
    assert!(out.stderr.contains("missing.toml"), "{}", out.stderr);
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        "[accounts.x]\nvendor = \"amperity\"\ntokn = \"t\"\n",
    )
    .unwrap();
    let out = jobstop(&["--config", broken.to_str().unwrap(), "list"], &env).await;
    out.expect_code(2);
    assert!(out.stderr.contains("tokn"), "{}", out.stderr);
    let out = jobstop(&["list"], &[]).await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("no accounts configured"),
        "{}",
        out.stderr
    );
    assert_eq!(sims.stop_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_while_waiting_exits_5() {
    let slow = AmperitySim::builder()
        .seed(5)
        .running(1)
        .stop_delay(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let id = slow.ids()[0].clone();
    let out = jobstop(
        &["stop", "amperity", &id, "--wait", "--timeout", "100ms"],
        &slow.env(),
    )
    .await;
    out.expect_code(5);
    assert!(out.stderr.contains("jobstop: amperity: "), "{}", out.stderr);
    assert!(out.stderr.contains("wait"), "{}", out.stderr);
    assert_eq!(slow.stop_requests(&id), 1, "the stop itself was sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_after_retries_exits_6() {
    let chorus = ChorusSim::builder()
        .seed(5)
        .running(1)
        .start()
        .await
        .unwrap();
    chorus
        .faults()
        .add(FaultRule::new(Route::any(), Fault::status(503)));
    let out = jobstop(&["list"], &chorus.env()).await;
    out.expect_code(6);
    assert!(
        out.stderr.starts_with("jobstop: chorus: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("503"), "{}", out.stderr);
    let attempts = chorus.server().requests().len();
    assert!(attempts > 1, "retried: {attempts} request(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_dry_run_then_for_real() {
    let sims = Sims::start().await;
    let env = sims.env();

    // Dry run: the plan, and not one stop request.
    let out = jobstop(&["stop-all", "--dry-run", "--output", "json"], &env).await;
    let plan = out.expect_code(0).json();
    assert!(!array(&plan).is_empty());
    for p in array(&plan) {
        assert!(p["account"].is_string() && p["run_id"].is_string(), "{p}");
        let state = p["run"]["state"].as_str().unwrap();
        assert!(matches!(state, "queued" | "running" | "paused"), "{p}");
    }
    let out = jobstop(&["stop-all", "--dry-run"], &env).await;
    out.expect_code(0);
    assert!(out.stdout.contains("dry run"), "{}", out.stdout);
    assert_eq!(sims.stop_requests(), 0, "a dry run stops nothing");

    // Without --yes and with stdin not a terminal: refused, nothing stopped.
    let out = jobstop(&["stop-all", "-a", "chorus"], &env).await;
    out.expect_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_eq!(sims.stop_requests(), 0);

    // For real, on a selection: exactly the selected runs, each once.
    let chorus_running = sims.chorus.ids_with_status("running");
    let amperity_running: BTreeSet<String> = sims
        .amperity
        .ids()
        .into_iter()
        .filter(|id| {
            sims.amperity
                .run_json(id)
                .is_some_and(|r| r["state"] == "running")
        })
        .collect();
    assert_eq!((chorus_running.len(), amperity_running.len()), (2, 3));
    let out = jobstop(
        &[
            "stop-all",
            "-a",
            "amperity",
            "-a",
            "chorus",
            "--state",
            "running",
            "--yes",
            "--concurrency",
            "2",
            "--rate",
            "50",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    let results = out.expect_code(0).json();
    let answered: Vec<(String, String)> = array(&results)
        .iter()
        .map(|r| {
            assert!(r["outcome"].is_string(), "{r}");
            assert!(r.get("error").is_none(), "{r}");
            (
                r["account"].as_str().unwrap().to_owned(),
                r["run_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = answered.iter().cloned().collect();
    assert_eq!(answered.len(), 5, "every run answered once: {answered:?}");
    assert_eq!(unique.len(), 5);
    for id in sims.amperity.ids() {
        let expected = u64::from(amperity_running.contains(&id));
        assert_eq!(sims.amperity.stop_requests(&id), expected, "amperity {id}");
    }
    for id in sims.chorus.ids() {
        let expected = u64::from(chorus_running.contains(&id));
        assert_eq!(sims.chorus.stop_requests(&id), expected, "chorus {id}");
    }
    assert_eq!(sims.chorus.ids_with_status("running").len(), 0);
    assert_eq!(
        sims.dataarts.total_stop_requests(),
        0,
        "other accounts untouched"
    );
    assert_eq!(sims.stop_requests(), 5);
    assert!(out.stderr.contains("5 of 5"), "summary: {}", out.stderr);

    // A second pass finds nothing to stop on Chorus.
    let out = jobstop(&["stop-all", "-a", "chorus", "--yes"], &env).await;
    out.expect_code(0);
    assert!(out.stdout.contains("nothing to stop"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_reports_failures_with_the_worst_code() {
    let sims = Sims::start().await;
    let env = sims.env();
    // Every DataArts stop is refused as unavailable; the others succeed.
    sims.dataarts.faults().add(FaultRule::new(
        Route::post("/v1/*/jobs/*/stop"),
        Fault::status(503),
    ));
    sims.dataarts.faults().add(FaultRule::new(
        Route::post("/v1/*/jobs/*/instances/*/stop"),
        Fault::status(503),
    ));
    let out = jobstop(
        &["stop-all", "-a", "dataarts", "-a", "centurylink", "--yes"],
        &env,
    )
    .await;
    out.expect_code(6);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("failed "))
        .collect();
    // Every DataArts run failed, every CenturyLink run was stopped.
    let planned_dataarts = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("dataarts "))
        .count();
    assert!(planned_dataarts >= 4, "{}", out.stdout);
    for l in &lines {
        assert_eq!(l.starts_with("failed"), l.contains(" dataarts "), "{l}");
    }
    assert_eq!(lines.len(), planned_dataarts + 2, "{}", out.stdout);
    assert!(out.stdout.contains("2 stop requested"), "{}", out.stdout);
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("jobstop: dataarts: "))
            .count(),
        planned_dataarts,
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_ever_printed_even_verbose() {
    let sims = Sims::start().await;
    let env = sims.env();
    let running = sims.centurylink.execution_ids_with_status("RUNNING");
    let scenario: Vec<Vec<&str>> = vec![
        vec!["--verbose", "accounts"],
        vec!["--verbose", "accounts", "--output", "json"],
        vec!["--verbose", "list", "--raw", "--output", "json"],
        vec!["--verbose", "status", "chorus", "1000000"],
        vec![
            "--verbose",
            "stop",
            "centurylink",
            &running[0],
            "--wait",
            "--timeout",
            "20s",
        ],
        vec![
            "--verbose",
            "stop-all",
            "-a",
            "dataarts",
            "--yes",
            "--output",
            "json",
        ],
        vec!["--verbose", "status", "dataarts", "no_such_job"],
    ];
    let mut outputs = Vec::new();
    for args in &scenario {
        outputs.push((args.join(" "), jobstop(args, &env).await));
    }
    // Wrong credentials print nothing of what was sent either.
    let wrong = with_var(
        env.clone(),
        "JOBSTOP_CENTURYLINK_PASSWORD",
        "Wr0ng-Pa55word",
    );
    outputs.push((
        "--verbose list (wrong password)".to_owned(),
        jobstop(&["--verbose", "list"], &wrong).await,
    ));

    let secrets = sims.secrets();
    assert!(
        secrets.len() >= 10,
        "sessions and tokens were issued: {}",
        secrets.len()
    );
    let mut verbose_lines = 0;
    for (args, out) in &outputs {
        for secret in secrets.iter().chain([&"Wr0ng-Pa55word".to_owned()]) {
            assert!(
                !out.stdout.contains(secret.as_str()) && !out.stderr.contains(secret.as_str()),
                "`jobstop {args}` printed a secret\nstdout:\n{}\nstderr:\n{}",
                out.stdout,
                out.stderr
            );
        }
        verbose_lines += out.stderr.lines().filter(|l| l.contains("DEBUG")).count();
    }
    assert!(verbose_lines > 0, "--verbose logged something");
    assert_eq!(outputs[3].1.code, 0);
    assert_eq!(outputs[4].1.code, 0);
    assert_eq!(outputs[6].1.code, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_masks_secrets() {
    let sims = Sims::start().await;
    let env = sims.env();
    let out = jobstop(&["accounts"], &env).await;
    out.expect_code(0);
    for name in ["amperity", "chorus", "dataarts", "centurylink"] {
        assert!(out.stdout.contains(name), "{}", out.stdout);
    }
    assert!(
        out.stdout.contains(&sims.amperity.base_url()),
        "{}",
        out.stdout
    );
    let json = jobstop(&["accounts", "--output", "json"], &env).await;
    let list = json.expect_code(0).json();
    assert_eq!(array(&list).len(), 4);
    assert_eq!(list[0]["name"], "amperity");
    assert_eq!(list[0]["vendor"], "amperity");
    // Settings come from the vendor's config table: values for plain ones,
    // only "set" for secrets, null when unset.
    assert_eq!(list[0]["settings"]["tenant"], sims.amperity.tenant());
    assert_eq!(list[0]["settings"]["token"], "set");
    assert_eq!(
        list[0]["settings"]["client_secret"],
        serde_json::Value::Null
    );
    assert_eq!(list[0]["settings"]["client.pace"], serde_json::Value::Null);
    assert_eq!(list[1]["settings"]["password"], "set");
    assert!(out.stdout.contains("token=set"), "{}", out.stdout);
    for secret in sims.secrets() {
        assert!(!out.stdout.contains(&secret) && !json.stdout.contains(&secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toml_config_with_two_accounts_of_one_vendor() {
    let a = AmperitySim::builder()
        .tenant("acme")
        .seed(11)
        .running(2)
        .finished(1)
        .start()
        .await
        .unwrap();
    let b = AmperitySim::builder()
        .tenant("globex")
        .seed(12)
        .running(1)
        .finished(2)
        .start()
        .await
        .unwrap();
    let dir = scratch("cli");
    let config = dir.join("jobstop.toml");
    std::fs::write(
        &config,
        format!(
            "[accounts.amp-acme]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"acme\"\ntoken_env = \"ACME_TOKEN\"\n\n\
             [accounts.amp-globex]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"globex\"\ntoken = \"{}\"\n",
            a.base_url(),
            b.base_url(),
            b.token()
        ),
    )
    .unwrap();
    let env = vars(&[("ACME_TOKEN", a.token())]);
    let path = config.to_str().unwrap();

    let out = jobstop(&["--config", path, "accounts"], &env).await;
    out.expect_code(0);
    assert!(out.stdout.contains("amp-acme") && out.stdout.contains("amp-globex"));
    assert!(!out.stdout.contains(a.token()) && !out.stdout.contains(b.token()));

    let out = jobstop(&["--config", path, "list", "--output", "json"], &env).await;
    let runs = out.expect_code(0).json();
    let mut per_account: HashMap<String, usize> = HashMap::new();
    for r in array(&runs) {
        *per_account
            .entry(r["account"].as_str().unwrap().to_owned())
            .or_default() += 1;
        assert_eq!(r["vendor"], "amperity");
    }
    assert_eq!(per_account["amp-acme"], 3);
    assert_eq!(per_account["amp-globex"], 3);

    // A stop goes to the named account's server only.
    let id = b.ids()[0].clone();
    let out = jobstop(
        &[
            "--config",
            path,
            "stop",
            "amp-globex",
            &id,
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    out.expect_code(0);
    assert_eq!(b.stop_requests(&id), 1);
    assert_eq!(a.total_stop_requests(), 0);

    let out = jobstop(
        &["--config", path, "list", "-a", "amp-acme", "-a", "nope"],
        &env,
    )
    .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("amp-acme, amp-globex"),
        "{}",
        out.stderr
    );

    // Without --config, $XDG_CONFIG_HOME/jobstop/config.toml is used when it
    // exists, and wins over the environment.
    let home = scratch("cli");
    std::fs::create_dir_all(home.join("config/jobstop")).unwrap();
    std::fs::copy(&config, home.join("config/jobstop/config.toml")).unwrap();
    let mut env_too = env.clone();
    env_too.extend(b.env());
    let out = jobstop_in(&home, &["accounts", "--output", "json"], &env_too).await;
    let names: Vec<String> = array(&out.expect_code(0).json())
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["amp-acme", "amp-globex"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_offline_and_exits_0() {
    let out = jobstop(&["demo"], &[]).await;
    out.expect_code(0);
    for vendor in ["amperity", "chorus", "dataarts", "centurylink"] {
        assert!(
            out.stdout.contains(&format!("== {vendor} ==")),
            "{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("the stop took effect"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[tokio::test]
async fn completions_render_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _jobstop"),
        ("zsh", "#compdef jobstop"),
        ("fish", "complete -c jobstop"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[jobstop]"),
    ] {
        let out = jobstop(&["completions", shell], &[]).await;
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(
            out.stdout.contains(marker),
            "{shell}: no {marker:?} in\n{}",
            out.stdout
        );
        // Every subcommand and a long flag are completed.
        for word in ["stop-all", "sweep", "resume", "older-than"] {
            assert!(out.stdout.contains(word), "{shell}: {word} missing");
        }
    }
    let out = jobstop(&["completions", "tcsh"], &[]).await;
    assert_eq!(out.code, 2, "an unknown shell is a usage error");
}

#[tokio::test]
async fn the_man_page_renders_every_subcommand() {
    let out = jobstop(&["man"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {}",
        &out.stdout[..80.min(out.stdout.len())]
    );
    assert!(out.stdout.contains(".TH jobstop 1"), "{}", out.stdout);
    for word in ["stop\\-all", "sweep", "completions", "accounts"] {
        assert!(
            out.stdout.contains(word),
            "{word} missing from the man page"
        );
    }
}

#[test]
fn sim_prints_quoted_exports_and_serves_until_killed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let home = scratch("sim-serve");
    let mut child = Command::new(support::BIN)
        .args([
            "sim",
            "--seed",
            "7",
            "--running",
            "1",
            "--finished",
            "0",
            "--fixed-epoch",
        ])
        .env("HOME", &home)
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8");
        let done = line.starts_with("# Ctrl-C");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n");
    assert!(text.contains("# serving (seed 7)"), "{text}");
    for vendor in ["AMPERITY", "CHORUS", "DATAARTS", "CENTURYLINK"] {
        let export = format!("export JOBSTOP_{vendor}_BASE_URL='http://127.0.0.1:");
        assert!(lines.iter().any(|l| l.starts_with(&export)), "{text}");
    }
}

#[tokio::test]
async fn sim_refuses_bad_arguments_with_exit_2() {
    for bad in [
        &["sim", "--seed"][..],
        &["sim", "--seed", "x"],
        &["sim", "--running=-1"],
    ] {
        let out = jobstop(bad, &[]).await;
        out.expect_code(2);
    }
}
