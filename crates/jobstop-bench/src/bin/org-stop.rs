//! The org-wide stop at each vendor's pace (issue 18, item 4).
//!
//! Scenario: `--accounts` Amperity tenants (default 50), each its own
//! simulator on loopback limited to the documented 10 requests per rolling
//! second (`rate_limit_per_second`, per tenant) with 20 ms added to every
//! request, each holding `--runs` running runs (default 40). Every account
//! is configured from one TOML config, as an operator's would be; jobstop
//! stops every running run of every account at `--rate` (default 10) with
//! `--concurrency` (default 64):
//!
//! - `library`: `ops::plan_stops` then `ops::execute_stops` with
//!   `BulkOptions::with_per_account_rate(rate)`, timed from the first list
//!   request to the last answer, as `stop-all` does it;
//! - `cli` (with `--cli PATH`): `jobstop --config FILE stop-all --state running
//!   --yes --concurrency 64 --rate 10 --output json` as a child process.
//!
//! Printed per round: the wall time, the floor, their ratio, the 429s the
//! simulators answered, the requests they received and the stop requests per
//! run (every run must receive exactly one). The floor is what the rate
//! allows: the busiest account must receive its list pages and one stop per
//! run (and nothing else is needed), at most `rate` per second, so it takes
//! `requests / rate` seconds (the issue's 41 / 10 = 4.1 s).
//!
//! ```sh
//! cargo run --release -p jobstop-bench --bin org-stop
//! cargo run --release -p jobstop-bench --bin org-stop -- --cli target/release/jobstop
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use jobstop::ops::{BulkOptions, Selector, execute_stops, plan_stops};
use jobstop::{Registry, RunState};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::{Fault, FaultRule, Route};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = std::result::Result<T, BoxError>;

/// The target: the wall time within this factor of the floor.
const TARGET_RATIO: f64 = 1.15;

#[derive(Debug, Clone)]
struct Args {
    accounts: usize,
    runs: usize,
    rate: u32,
    limit: u32,
    latency_ms: u64,
    concurrency: usize,
    rounds: usize,
    cli: Option<PathBuf>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            accounts: 50,
            runs: 40,
            rate: 10,
            limit: 10,
            latency_ms: 20,
            concurrency: 64,
            rounds: 3,
            cli: None,
        }
    }
}

fn parse_args() -> Res<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--accounts" => args.accounts = value()?.parse()?,
            "--runs" => args.runs = value()?.parse()?,
            "--rate" => args.rate = value()?.parse()?,
            "--limit" => args.limit = value()?.parse()?,
            "--latency-ms" => args.latency_ms = value()?.parse()?,
            "--concurrency" => args.concurrency = value()?.parse()?,
            "--rounds" => args.rounds = value()?.parse()?,
            "--cli" => args.cli = Some(PathBuf::from(value()?)),
            "--help" | "-h" => {
                println!(
                    "org-stop [--accounts 50] [--runs 40] [--rate 10] [--limit 10] \
                     [--latency-ms 20] [--concurrency 64] [--rounds 3] [--cli PATH]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(args)
}

/// The simulators of one round.
struct Fleet {
    sims: Vec<AmperitySim>,
    config: String,
}

async fn fleet(args: &Args) -> Res<Fleet> {
    let mut sims = Vec::with_capacity(args.accounts);
    let mut config = String::new();
    for i in 0..args.accounts {
        let sim = AmperitySim::builder()
            .tenant(format!("tenant-{i:02}"))
            .seed(1000 + i as u64)
            .running(args.runs)
            .rate_limit_per_second(Some(args.limit))
            .start()
            .await?;
        sim.faults().add(FaultRule::new(
            Route::any(),
            Fault::latency_ms(args.latency_ms),
        ));
        config.push_str(&format!("[accounts.org-{i:02}]\nvendor = \"amperity\"\n"));
        let prefix = "JOBSTOP_AMPERITY_";
        for (k, v) in sim.env() {
            let key = k.strip_prefix(prefix).unwrap_or(&k).to_ascii_lowercase();
            config.push_str(&format!("{key} = {v:?}\n"));
        }
        config.push('\n');
        sims.push(sim);
    }
    Ok(Fleet { sims, config })
}

#[derive(Debug)]
struct Round {
    mode: &'static str,
    wall: Duration,
    floor: Duration,
    too_many: usize,
    requests: usize,
    stops_per_run: BTreeMap<u64, usize>,
    answered: usize,
    failed: usize,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.floor.as_secs_f64()
    }

    fn met(&self) -> bool {
        self.ratio() <= TARGET_RATIO
            && self.too_many == 0
            && self.stops_per_run.keys().all(|n| *n == 1)
            && self.failed == 0
    }
}

fn measure(fleet: &Fleet, args: &Args, mode: &'static str, wall: Duration) -> Round {
    let mut too_many = 0;
    let mut requests = 0;
    let mut stops_per_run = BTreeMap::new();
    let mut busiest = 0;
    for sim in &fleet.sims {
        let log = sim.server().requests();
        too_many += log.iter().filter(|r| r.status == Some(429)).count();
        requests += log.len();
        for id in sim.ids() {
            *stops_per_run.entry(sim.stop_requests(&id)).or_insert(0) += 1;
        }
        // What this account must receive: the pages of its listing (as
        // many as the adapter's page size needed, answered 200) and one
        // stop per run.
        let pages = log
            .iter()
            .filter(|r| r.method == "GET" && r.path().ends_with("/workflow/runs"))
            .filter(|r| r.status == Some(200))
            .count();
        busiest = busiest.max(pages + args.runs);
    }
    let floor = Duration::from_secs_f64(busiest as f64 / f64::from(args.limit.min(args.rate)));
    Round {
        mode,
        wall,
        floor,
        too_many,
        requests,
        stops_per_run,
        answered: 0,
        failed: 0,
    }
}

async fn library_round(args: &Args) -> Res<Round> {
    let fleet = fleet(args).await?;
    let registry = Registry::from_toml_str(&fleet.config, |_| None)?;
    let accounts = registry.all();
    let options = BulkOptions::default()
        .with_concurrency(args.concurrency)
        .with_per_account_rate(args.rate);
    let started = Instant::now();
    let plan = plan_stops(&accounts, &Selector::new().with_state(RunState::Running)).await;
    if !plan.errors.is_empty() {
        return Err(format!("listing failed: {:?}", plan.errors).into());
    }
    let results: Vec<_> = execute_stops(&registry, &plan, &options).collect().await;
    let wall = started.elapsed();
    let mut round = measure(&fleet, args, "library", wall);
    round.answered = results.len();
    round.failed = results.iter().filter(|r| r.result.is_err()).count();
    if results.len() != args.accounts * args.runs {
        return Err(format!(
            "{} answers for {} runs",
            results.len(),
            args.accounts * args.runs
        )
        .into());
    }
    Ok(round)
}

async fn cli_round(args: &Args, bin: &PathBuf) -> Res<Round> {
    let fleet = fleet(args).await?;
    let dir = std::env::temp_dir().join(format!("jobstop-org-stop-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.toml");
    std::fs::write(&config, &fleet.config)?;
    let started = Instant::now();
    let out = tokio::process::Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args([
            "--output", "json", "stop-all", "--state", "running", "--yes",
        ])
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--rate", &args.rate.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    let wall = started.elapsed();
    std::fs::remove_dir_all(&dir)?;
    let mut round = measure(&fleet, args, "cli", wall);
    let text = String::from_utf8_lossy(&out.stdout);
    round.answered = text.matches("\"account\"").count();
    if !out.status.success() {
        round.failed = 1;
        eprintln!(
            "jobstop exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    Ok(round)
}

fn print(rounds: &[Round], args: &Args) {
    println!(
        "## org-wide stop: {} Amperity accounts x {} running runs, {} requests/s per account \
         (simulator), {} ms latency, --concurrency {} --rate {}\n",
        args.accounts, args.runs, args.limit, args.latency_ms, args.concurrency, args.rate
    );
    println!(
        "floor: the busiest account's list pages (answered 200) + one stop per run, at {} per second\n",
        args.limit.min(args.rate)
    );
    println!("| mode | wall | floor | ratio | 429s | requests | stop requests per run | failed |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rounds {
        let per_run: Vec<String> = r
            .stops_per_run
            .iter()
            .map(|(n, runs)| format!("{runs} runs x {n}"))
            .collect();
        println!(
            "| {} | {:.2} s | {:.2} s | {:.3} | {} | {} | {} | {} |",
            r.mode,
            r.wall.as_secs_f64(),
            r.floor.as_secs_f64(),
            r.ratio(),
            r.too_many,
            r.requests,
            per_run.join(", "),
            r.failed
        );
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("org-stop: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("org-stop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Res<Vec<Round>> = runtime.block_on(async {
        let mut rounds = Vec::new();
        for _ in 0..args.rounds {
            rounds.push(library_round(&args).await?);
            if let Some(bin) = &args.cli {
                rounds.push(cli_round(&args, bin).await?);
            }
        }
        Ok(rounds)
    });
    match result {
        Ok(rounds) => {
            print(&rounds, &args);
            let met = rounds.iter().all(Round::met);
            println!(
                "\ntarget (wall <= {TARGET_RATIO} x floor, 0 x 429, one stop per run): {}",
                if met { "met" } else { "NOT met" }
            );
            if met {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("org-stop: {e}");
            ExitCode::FAILURE
        }
    }
}
