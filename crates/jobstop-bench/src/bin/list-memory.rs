//! Memory benchmark of streaming `list_all` over many DataArts batch instances.
//!
//! Claim under test: streaming `list_all` over 100,000 runs (1,000 per page)
//! keeps the client's peak RSS below 64 MiB, flat as the count grows (10,000
//! vs 100,000), and the benchmark reports runs/s.
//!
//! The simulator holds every run it serves, so it never lives in the measured
//! process. Three modes, by the first argument:
//!
//! - `serve --instances N [--batch-jobs K]`: starts a DataArts simulator with
//!   N instances, prints `STAT key=value` lines (seeding time, RSS), its
//!   `env_token()` variables as `KEY=VALUE`, then `READY`; serves until stdin
//!   closes (then prints its peak RSS as one more `STAT`) or it is killed.
//! - `client --expect N [--ids none|compact|strings] [--runtime multi|current]
//!   [--page-size P]`:
//!   builds the adapter from `JOBSTOP_DATAARTS_*`, streams every
//!   `batch_instance` (1,000 per page by default) counting them without keeping them,
//!   checks the count (and, with an id set, that no id repeats) and prints one
//!   line of JSON: `{"runs","seconds","runs_per_sec","peak_rss_kib",…}`.
//!   `--ids none` (the default, the headline) keeps nothing; `compact` keeps
//!   a set of (job index, instance number) pairs; `strings` a set of the ids
//!   themselves, for comparison.
//! - `all` (or nothing) `[--repeats R] [--sizes 10000,100000]`: for each size,
//!   one `serve` and, against it, fresh `client` processes (R each, for each
//!   id mode); prints a markdown report and whether the targets are met.
//!
//! ```sh
//! cargo run --release -p jobstop-bench --bin list-memory
//! ```

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use jobstop::dataarts::{DataArtsBuilder, DataArtsConfig, MAX_INSTANCE_LOOKBACK};
use jobstop::http::VendorConfig;
use jobstop::{JobControllerExt, ListQuery, RunId};
use jobstop_bench::{cpu_time, current_rss_kib, kib_to_mib, median, peak_rss_kib};
use jobstop_sim::dataarts::DataArtsSim;
use serde_json::{Value, json};

/// The claim's page size (the largest DataArts serves for instances).
const PAGE_SIZE: u32 = 1000;
/// The counts compared by default.
const DEFAULT_SIZES: [u64; 2] = [10_000, 100_000];
/// The ceiling on the client's peak RSS at the largest count.
const TARGET_PEAK_MIB: f64 = 64.0;
/// "Flat": how much the peak RSS may grow from the smallest to the largest count.
const FLAT_TOLERANCE_MIB: f64 = 4.0;
/// Batch jobs the seeded instances are spread over.
const DEFAULT_BATCH_JOBS: usize = 50;
/// The most instances one job gets, so that the oldest of a daily job is
/// planned within the look-back.
const MAX_PER_JOB: usize = 300;
/// How long the orchestrator waits for a server to stop after closing its stdin.
const SERVER_STOP_GRACE: Duration = Duration::from_secs(10);

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, rest) = match args.split_first() {
        Some((m, rest)) if !m.starts_with("--") => (m.as_str(), rest),
        _ => ("all", args.as_slice()),
    };
    let result = match mode {
        "serve" => serve(rest),
        "client" => client(rest),
        "all" => orchestrate(rest),
        other => Err(format!(
            "unknown mode {other:?}: use serve, client or all (see the file's docs)"
        )
        .into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("list-memory {mode}: error: {e}");
            ExitCode::from(1)
        }
    }
}

// ----- arguments ------------------------------------------------------------

fn number<T: std::str::FromStr>(flags: &HashMap<String, String>, key: &str) -> Result<Option<T>> {
    flags
        .get(key)
        .map(|v| {
            v.replace('_', "")
                .parse::<T>()
                .map_err(|_| format!("--{key} {v:?} is not a valid number").into())
        })
        .transpose()
}

// ----- serve ----------------------------------------------------------------

fn serve(args: &[String]) -> Result<ExitCode> {
    let flags = jobstop_bench::flags(args, &["instances", "batch-jobs"])?;
    let instances: usize = number(&flags, "instances")?.ok_or("serve needs --instances N")?;
    // The simulator plans each job's instances one interval apart (a daily
    // job's reach back a day each): enough jobs keep every instance within
    // the client's look-back (MAX_INSTANCE_LOOKBACK, 366 days).
    let batch_jobs: usize = number(&flags, "batch-jobs")?
        .unwrap_or_else(|| DEFAULT_BATCH_JOBS.max(instances.div_ceil(MAX_PER_JOB)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let seeding = Instant::now();
        let sim = DataArtsSim::builder()
            .batch_jobs(batch_jobs)
            .instances(instances)
            .start()
            .await?;
        let seed_seconds = seeding.elapsed().as_secs_f64();
        let mut out = std::io::stdout().lock();
        writeln!(out, "STAT seed_seconds={seed_seconds:.3}")?;
        if let Some(cpu) = cpu_time() {
            writeln!(out, "STAT seeded_cpu_seconds={:.3}", cpu.as_secs_f64())?;
        }
        if let Some(kib) = peak_rss_kib() {
            writeln!(out, "STAT seeded_peak_rss_kib={kib}")?;
        }
        if let Some(kib) = current_rss_kib() {
            writeln!(out, "STAT seeded_rss_kib={kib}")?;
        }
        for (key, value) in sim.env_token() {
            writeln!(out, "{key}={value}")?;
        }
        writeln!(out, "READY")?;
        out.flush()?;
        drop(out);

        // Serve until stdin closes (the orchestrator drops its end), or until
        // killed. A plain thread reads it: tokio's stdin needs a feature this
        // crate does not enable.
        let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = closed_tx.send(());
        });
        let _ = closed_rx.await;

        let mut out = std::io::stdout().lock();
        if let Some(kib) = peak_rss_kib() {
            writeln!(out, "STAT served_peak_rss_kib={kib}")?;
        }
        if let Some(cpu) = cpu_time() {
            writeln!(out, "STAT served_cpu_seconds={:.3}", cpu.as_secs_f64())?;
        }
        out.flush()?;
        drop(out);
        sim.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

// ----- client ---------------------------------------------------------------

/// How the client checks that no id repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdCheck {
    /// Keeps nothing: the streaming client the claim is about.
    None,
    /// A set of (job index, instance number): 16 bytes a run plus the
    /// table's overhead, job names interned once.
    Compact,
    /// A set of the run ids as strings, the obvious way.
    Strings,
}

impl IdCheck {
    fn parse(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(IdCheck::None),
            "compact" => Ok(IdCheck::Compact),
            "strings" => Ok(IdCheck::Strings),
            other => Err(format!("--ids {other:?}: use none, compact or strings").into()),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            IdCheck::None => "none",
            IdCheck::Compact => "compact",
            IdCheck::Strings => "strings",
        }
    }
}

/// The ids seen so far, in one of the [`IdCheck`] layouts.
#[derive(Default)]
struct SeenIds {
    jobs: HashMap<String, u32>,
    pairs: HashSet<(u32, u64)>,
    /// Compact mode's fallback for ids that are not `job/number`.
    other: HashSet<String>,
}

impl SeenIds {
    /// Records `id`; `false` if it was already there.
    fn insert(&mut self, check: IdCheck, id: &RunId) -> bool {
        match check {
            IdCheck::None => true,
            IdCheck::Strings => self.other.insert(id.as_str().to_owned()),
            IdCheck::Compact => {
                let parsed = id
                    .as_str()
                    .rsplit_once('/')
                    .and_then(|(job, n)| Some((job, canonical_number(n)?)));
                match parsed {
                    Some((job, n)) => {
                        let next = u32::try_from(self.jobs.len()).unwrap_or(u32::MAX);
                        let index = match self.jobs.get(job) {
                            Some(i) => *i,
                            None => *self.jobs.entry(job.to_owned()).or_insert(next),
                        };
                        self.pairs.insert((index, n))
                    }
                    None => self.other.insert(id.as_str().to_owned()),
                }
            }
        }
    }
}

/// `n` as a number if it is one written the one canonical way (digits, no
/// sign, no leading zero), so that distinct ids never share a key.
fn canonical_number(n: &str) -> Option<u64> {
    let canonical =
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'));
    if canonical { n.parse().ok() } else { None }
}

fn client(args: &[String]) -> Result<ExitCode> {
    let flags = jobstop_bench::flags(args, &["expect", "ids", "runtime", "page-size"])?;
    let page_size: u32 = number(&flags, "page-size")?.unwrap_or(PAGE_SIZE);
    let expect: u64 = number(&flags, "expect")?.ok_or("client needs --expect N")?;
    let check = IdCheck::parse(flags.get("ids").map_or("none", String::as_str))?;
    let runtime_kind = flags.get("runtime").map_or("multi", String::as_str);
    let runtime = match runtime_kind {
        "multi" => tokio::runtime::Builder::new_multi_thread(),
        "current" => tokio::runtime::Builder::new_current_thread(),
        other => return Err(format!("--runtime {other:?}: use multi or current").into()),
    }
    .enable_all()
    .build()?;

    let ctrl = DataArtsBuilder::from_env()
        .with_instance_lookback(MAX_INSTANCE_LOOKBACK)
        .build()?;
    let baseline_kib = peak_rss_kib();
    let query = ListQuery::new()
        .with_kind("batch_instance")
        .with_page_size(page_size);

    let (runs, duplicates, first_page, seconds, cpu_seconds) = runtime.block_on(async {
        let mut seen = SeenIds::default();
        let mut runs: u64 = 0;
        let mut duplicates: u64 = 0;
        let mut first_page = None;
        let cpu_before = cpu_time();
        let start = Instant::now();
        let mut stream = ctrl.list_all(query);
        while let Some(run) = stream.try_next().await? {
            if first_page.is_none() {
                first_page = Some(start.elapsed());
            }
            runs += 1;
            if !seen.insert(check, &run.id) {
                duplicates += 1;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_before
            .zip(cpu_time())
            .map(|(before, after)| after.saturating_sub(before).as_secs_f64());
        Ok::<_, BoxError>((runs, duplicates, first_page, seconds, cpu))
    })?;

    let peak = peak_rss_kib();
    let ok = runs == expect && duplicates == 0;
    let line = json!({
        "runs": runs,
        "seconds": seconds,
        "runs_per_sec": if seconds > 0.0 { runs as f64 / seconds } else { 0.0 },
        "peak_rss_kib": peak,
        "expected": expect,
        "ids": check.as_str(),
        "duplicates": if check == IdCheck::None { Value::Null } else { duplicates.into() },
        "baseline_peak_rss_kib": baseline_kib,
        "first_page_ms": first_page.map(|d| d.as_secs_f64() * 1000.0),
        "cpu_seconds": cpu_seconds,
        "runtime": runtime_kind,
        "page_size": page_size,
        "ok": ok,
    });
    println!("{line}");
    if !ok {
        eprintln!(
            "list-memory client: listed {runs} runs, expected {expect}; {duplicates} repeated ids"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

// ----- orchestrator ---------------------------------------------------------

/// A `serve` child; killed if dropped before [`Server::stop`].
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    env: Vec<(String, String)>,
    stats: HashMap<String, f64>,
}

impl Server {
    fn start(exe: &std::path::Path, instances: u64) -> Result<Server> {
        let mut child = Command::new(exe)
            .args(["serve", "--instances", &instances.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's stdout is not piped")?;
        let mut server = Server {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            env: Vec::new(),
            stats: HashMap::new(),
        };
        loop {
            let mut line = String::new();
            if server.stdout.read_line(&mut line)? == 0 {
                return Err("the server exited before READY".into());
            }
            let line = line.trim_end();
            if line == "READY" {
                break;
            }
            server.take_line(line);
        }
        Ok(server)
    }

    fn take_line(&mut self, line: &str) {
        if let Some(stat) = line.strip_prefix("STAT ") {
            if let Some((k, v)) = stat.split_once('=')
                && let Ok(v) = v.parse()
            {
                self.stats.insert(k.to_owned(), v);
            }
        } else if let Some((k, v)) = line.split_once('=')
            && k.starts_with("JOBSTOP_DATAARTS_")
        {
            self.env.push((k.to_owned(), v.to_owned()));
        }
    }

    /// Closes its stdin, reads its last stats and waits for it (killing it
    /// after a grace period).
    fn stop(mut self) -> Result<HashMap<String, f64>> {
        drop(self.stdin.take());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest)?;
        for line in rest.lines() {
            self.take_line(line);
        }
        let deadline = Instant::now() + SERVER_STOP_GRACE;
        while self.child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                self.child.kill()?;
                self.child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(std::mem::take(&mut self.stats))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One client process's JSON line.
#[derive(Debug, Clone)]
struct Sample {
    seconds: f64,
    peak_rss_kib: u64,
    baseline_kib: u64,
    first_page_ms: f64,
    cpu_seconds: f64,
}

fn run_client(
    exe: &std::path::Path,
    env: &[(String, String)],
    expect: u64,
    ids: IdCheck,
) -> Result<Sample> {
    let mut cmd = Command::new(exe);
    cmd.args([
        "client",
        "--expect",
        &expect.to_string(),
        "--ids",
        ids.as_str(),
    ]);
    // Only the server's credentials: a JOBSTOP_DATAARTS_AK in the caller's
    // environment would make the builder see two.
    for var in DataArtsConfig::schema().env_vars() {
        cmd.env_remove(var);
    }
    let output = cmd
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("the client printed no JSON ({})", output.status))?;
    let v: Value = serde_json::from_str(line)?;
    if !output.status.success() {
        return Err(format!("the client failed ({}): {line}", output.status).into());
    }
    let field = |k: &str| v.get(k).and_then(Value::as_f64);
    Ok(Sample {
        seconds: field("seconds").ok_or("no seconds")?,
        peak_rss_kib: v
            .get("peak_rss_kib")
            .and_then(Value::as_u64)
            .ok_or("no peak_rss_kib (is /proc/self/status readable?)")?,
        baseline_kib: v
            .get("baseline_peak_rss_kib")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        first_page_ms: field("first_page_ms").unwrap_or(f64::NAN),
        cpu_seconds: field("cpu_seconds").unwrap_or(f64::NAN),
    })
}

/// The samples of one (count, id check) cell, summarised.
#[derive(Debug, Clone)]
struct Cell {
    runs: u64,
    ids: IdCheck,
    runs_per_sec: f64,
    peak_mib: f64,
    peak_min_mib: f64,
    baseline_mib: f64,
    first_page_ms: f64,
    cpu_seconds: f64,
}

fn summarise(runs: u64, ids: IdCheck, samples: &[Sample]) -> Cell {
    let mut secs: Vec<Duration> = samples
        .iter()
        .map(|s| Duration::from_secs_f64(s.seconds))
        .collect();
    let med = median(&mut secs).as_secs_f64();
    let mut first: Vec<Duration> = samples
        .iter()
        .filter(|s| s.first_page_ms.is_finite())
        .map(|s| Duration::from_secs_f64(s.first_page_ms / 1000.0))
        .collect();
    let mut cpu: Vec<Duration> = samples
        .iter()
        .filter(|s| s.cpu_seconds.is_finite())
        .map(|s| Duration::from_secs_f64(s.cpu_seconds))
        .collect();
    let max_kib = samples.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0);
    let min_kib = samples.iter().map(|s| s.peak_rss_kib).min().unwrap_or(0);
    let base_kib = samples.iter().map(|s| s.baseline_kib).max().unwrap_or(0);
    Cell {
        runs,
        ids,
        runs_per_sec: if med > 0.0 { runs as f64 / med } else { 0.0 },
        peak_mib: kib_to_mib(max_kib),
        peak_min_mib: kib_to_mib(min_kib),
        baseline_mib: kib_to_mib(base_kib),
        first_page_ms: median(&mut first).as_secs_f64() * 1000.0,
        cpu_seconds: median(&mut cpu).as_secs_f64(),
    }
}

fn orchestrate(args: &[String]) -> Result<ExitCode> {
    let flags = jobstop_bench::flags(args, &["repeats", "sizes"])?;
    let repeats: usize = number(&flags, "repeats")?.unwrap_or(3).max(1);
    let sizes: Vec<u64> = match flags.get("sizes") {
        None => DEFAULT_SIZES.to_vec(),
        Some(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--sizes: {s:?} is not a number"))
            })
            .collect::<Result<_, _>>()?,
    };
    if sizes.is_empty() {
        return Err("--sizes is empty".into());
    }
    let exe = std::env::current_exe()?;
    let largest = sizes.iter().copied().max().unwrap_or(0);

    let mut cells: Vec<Cell> = Vec::new();
    // (instances, the server's stats, how many listings it served)
    let mut servers: Vec<(u64, HashMap<String, f64>, usize)> = Vec::new();
    for &n in &sizes {
        eprintln!("list-memory: serving {n} instances…");
        let server = Server::start(&exe, n)?;
        let mut modes = vec![IdCheck::None, IdCheck::Compact];
        if n == largest {
            modes.push(IdCheck::Strings);
        }
        let listings = modes.len() * repeats;
        for ids in modes {
            let mut samples = Vec::with_capacity(repeats);
            for _ in 0..repeats {
                samples.push(run_client(&exe, &server.env, n, ids)?);
            }
            let cell = summarise(n, ids, &samples);
            eprintln!(
                "list-memory: {n} runs, ids {}: {:.0} runs/s, peak {:.1} MiB",
                ids.as_str(),
                cell.runs_per_sec,
                cell.peak_mib
            );
            cells.push(cell);
        }
        servers.push((n, server.stop()?, listings));
    }

    println!("## list_all memory: DataArts batch instances, {PAGE_SIZE} per page\n");
    println!(
        "Each cell: {repeats} fresh client processes against one simulator process; \
         runs/s from the median time, peak RSS (VmHWM) the largest seen (smallest in brackets).\n"
    );
    println!(
        "| runs | id check | runs/s | peak RSS (MiB) | before listing (MiB) | first page (ms) | client CPU (s) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for c in &cells {
        println!(
            "| {} | {} | {:.0} | {:.1} ({:.1}) | {:.1} | {:.1} | {:.2} |",
            c.runs,
            c.ids.as_str(),
            c.runs_per_sec,
            c.peak_mib,
            c.peak_min_mib,
            c.baseline_mib,
            c.first_page_ms,
            c.cpu_seconds
        );
    }
    println!("\nSimulator processes (not measured by the claim):\n");
    println!(
        "| instances | seeding (s) | RSS after seeding (MiB) | peak RSS after serving (MiB) | server CPU per listing (s) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for (n, stats, listings) in &servers {
        let get = |k: &str| stats.get(k).copied().unwrap_or(f64::NAN);
        println!(
            "| {n} | {:.2} | {:.1} | {:.1} | {:.2} |",
            get("seed_seconds"),
            get("seeded_rss_kib") / 1024.0,
            get("served_peak_rss_kib") / 1024.0,
            (get("served_cpu_seconds") - get("seeded_cpu_seconds")) / *listings as f64
        );
    }

    let find = |n: u64, ids: IdCheck| cells.iter().find(|c| c.runs == n && c.ids == ids);
    let smallest = sizes.iter().copied().min().unwrap_or(0);
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let mut all_met = true;
    println!();
    if let Some(big) = find(largest, IdCheck::None) {
        let met = big.peak_mib < TARGET_PEAK_MIB;
        all_met &= met;
        println!(
            "- Peak RSS at {largest} runs (streaming, no id set): {:.1} MiB; target < {TARGET_PEAK_MIB:.0} MiB: **{}**",
            big.peak_mib,
            verdict(met)
        );
    }
    if smallest != largest {
        if let (Some(small), Some(big)) =
            (find(smallest, IdCheck::None), find(largest, IdCheck::None))
        {
            let growth = big.peak_mib - small.peak_mib;
            let met = growth.abs() <= FLAT_TOLERANCE_MIB;
            all_met &= met;
            println!(
                "- Growth {smallest} → {largest} runs (streaming, no id set): {growth:+.1} MiB; \
                 target flat (within {FLAT_TOLERANCE_MIB:.0} MiB): **{}**",
                verdict(met)
            );
        }
        if let (Some(small), Some(big)) = (
            find(smallest, IdCheck::Compact),
            find(largest, IdCheck::Compact),
        ) {
            println!(
                "- Growth {smallest} → {largest} runs with the compact id set (not the claim): {:+.1} MiB",
                big.peak_mib - small.peak_mib
            );
        }
    }
    if let Some(none) = find(largest, IdCheck::None) {
        for ids in [IdCheck::Compact, IdCheck::Strings] {
            if let Some(with) = find(largest, ids) {
                let extra = with.peak_mib - none.peak_mib;
                println!(
                    "- The {} id set at {largest} runs: {extra:+.1} MiB of peak RSS over no set \
                     (about {:.0} bytes a run).",
                    ids.as_str(),
                    extra * 1024.0 * 1024.0 / largest as f64
                );
            }
        }
    }
    if let Some(big) = find(largest, IdCheck::None) {
        println!(
            "- Throughput at {largest} runs: {:.0} runs/s (first page {:.0} ms).",
            big.runs_per_sec, big.first_page_ms
        );
    }
    println!(
        "\nAll {} checks passed (every client listed exactly its count, and no id repeated).",
        cells.len()
    );
    Ok(if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
