//! Memory benchmark of the release `jobstop` binary over many runs.
//!
//! Claim under test (issue 18): `jobstop list` streams, so its peak RSS stays
//! under 64 MiB over 100,000 runs and grows by no more than 1.25× + 4 MiB from
//! 10,000 to 100,000 runs, for `--output json`, `jsonl` and the table; and
//! `stop-all --dry-run` over 100,000 runs stays under 64 MiB.
//!
//! This process starts an Amperity simulator (the vendor whose simulator
//! lists fastest: one request a page and no per-job fan-out) seeded with
//! 100,000 and then 10,000 running runs, and runs the `jobstop` binary as a
//! child against it for each command, with only the simulator's
//! `JOBSTOP_AMPERITY_*` variables and an empty config folder. The child's
//! stdout is read (and its lines counted) as fast as it comes. Its peak RSS
//! is `ru_maxrss` from `wait4`, read through GNU time (`/usr/bin/time -f %M`)
//! as the workspace forbids the `unsafe` a direct `libc::wait4` needs; where
//! `/usr/bin/time` is missing, `VmHWM` of `/proc/<pid>/status` polled every
//! 2 ms instead (the output says which).
//!
//! ```sh
//! cargo build --release -p jobstop-cli
//! cargo run --release -p jobstop-bench --bin cli-memory
//! ```
//!
//! Flags: `--jobstop PATH` (default: the `jobstop` beside this binary, i.e.
//! `target/release/jobstop`; or `$JOBSTOP_BIN`), `--sizes 100000,10000`,
//! `--repeats R` (fresh children per cell, the largest peak kept; default 1).
//! Exit 0 when every check is met, 2 when one is missed.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jobstop_bench::kib_to_mib;
use jobstop_sim::amperity::AmperitySim;

/// The counts measured, largest first (the brief's order).
const DEFAULT_SIZES: [usize; 2] = [100_000, 10_000];
/// The ceiling on the child's peak RSS at the largest count.
const TARGET_PEAK_MIB: f64 = 64.0;
/// "Flat": peak(largest) ≤ GROWTH_FACTOR × peak(smallest) + GROWTH_SLACK_MIB.
const GROWTH_FACTOR: f64 = 1.25;
const GROWTH_SLACK_MIB: f64 = 4.0;
/// GNU time, which reports the child's `ru_maxrss` in KiB.
const GNU_TIME: &str = "/usr/bin/time";
/// How often the fallback reads the child's `VmHWM`.
const POLL_EVERY: Duration = Duration::from_millis(2);

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

/// One command measured.
struct Case {
    /// As shown in the report.
    name: &'static str,
    /// `jobstop`'s arguments.
    args: &'static [&'static str],
    /// The stdout lines a complete answer over `n` runs has, where known.
    lines: Option<fn(usize) -> usize>,
    /// Whether the peak must stay flat from the smallest to the largest size
    /// (1.25× + 4 MiB): a listing holds nothing, while a plan holds one small
    /// record per planned stop by design (only its 64 MiB target applies).
    flat: bool,
}

const CASES: [Case; 4] = [
    Case {
        name: "list --output json",
        args: &["--output", "json", "list"],
        // `[`, one run per line, `]`.
        lines: Some(|n| n + 2),
        flat: true,
    },
    Case {
        name: "list --output jsonl",
        args: &["--output", "jsonl", "list"],
        lines: Some(|n| n),
        flat: true,
    },
    Case {
        name: "list (table)",
        args: &["list"],
        // The header and one row per run.
        lines: Some(|n| n + 1),
        flat: true,
    },
    Case {
        name: "stop-all --dry-run --state running",
        args: &["stop-all", "--dry-run", "--state", "running"],
        // The plan's bounded display: its length does not follow `n`.
        lines: None,
        flat: false,
    },
];

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cli-memory: error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The `jobstop` binary: `--jobstop`, `$JOBSTOP_BIN`, or beside this one.
fn jobstop_path(flags: &HashMap<String, String>) -> Result<PathBuf> {
    let path = match flags.get("jobstop") {
        Some(p) => PathBuf::from(p),
        None => match std::env::var_os("JOBSTOP_BIN") {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe()?
                .parent()
                .ok_or("this binary has no folder")?
                .join("jobstop"),
        },
    };
    if !path.is_file() {
        return Err(format!(
            "no jobstop binary at {}: build it first (`cargo build --release -p jobstop-cli`) \
             or pass --jobstop PATH",
            path.display()
        )
        .into());
    }
    Ok(path)
}

/// How the child's peak RSS is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Meter {
    /// `ru_maxrss` through GNU time.
    Rusage,
    /// `VmHWM` polled.
    Polled,
}

impl Meter {
    fn detect() -> Self {
        let works = Command::new(GNU_TIME)
            .args(["-f", "%M", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works { Meter::Rusage } else { Meter::Polled }
    }

    fn describe(self) -> String {
        match self {
            Meter::Rusage => format!("ru_maxrss from wait4 ({GNU_TIME} -f %M)"),
            Meter::Polled => format!(
                "VmHWM of /proc/<pid>/status polled every {} ms ({GNU_TIME} not found)",
                POLL_EVERY.as_millis()
            ),
        }
    }
}

/// One child's measurement.
struct Sample {
    peak_kib: u64,
    wall: Duration,
    /// The child's CPU time (user and system), where measured.
    cpu: Option<Duration>,
    lines: usize,
}

/// Runs `jobstop args…` against `env` (and nothing else of jobstop's),
/// reading its stdout to the end; its peak RSS, wall time and stdout lines.
fn measure(
    meter: Meter,
    jobstop: &Path,
    args: &[&str],
    env: &[(String, String)],
    home: &Path,
) -> Result<Sample> {
    let report = home.join("rusage");
    let mut cmd = match meter {
        Meter::Rusage => {
            let mut c = Command::new(GNU_TIME);
            c.arg("-f")
                .arg("%M %U %S")
                .arg("-o")
                .arg(&report)
                .arg(jobstop);
            c
        }
        Meter::Polled => Command::new(jobstop),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("JOBSTOP_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));

    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let done = Arc::new(AtomicBool::new(false));
    let polled = Arc::new(AtomicU64::new(0));
    let poller = (meter == Meter::Polled).then(|| {
        let (done, polled, pid) = (done.clone(), polled.clone(), child.id());
        std::thread::spawn(move || {
            let path = format!("/proc/{pid}/status");
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| vm_hwm_kib(&s))
                {
                    polled.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(POLL_EVERY);
            }
        })
    });
    let mut stderr = child.stderr.take().ok_or("stderr is not piped")?;
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let mut lines = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stdout.read(&mut buf)?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
    let status = child.wait()?;
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    if let Some(p) = poller {
        let _ = p.join();
    }
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("jobstop {args:?} failed ({status}): {errors}").into());
    }
    let (peak_kib, cpu) = match meter {
        Meter::Rusage => {
            let text = std::fs::read_to_string(&report)?;
            text.lines()
                .last()
                .and_then(parse_time_report)
                .ok_or_else(|| format!("{GNU_TIME} wrote no peak: {text:?}"))?
        }
        Meter::Polled => (polled.load(Ordering::Relaxed), None),
    };
    Ok(Sample {
        peak_kib,
        wall,
        cpu,
        lines,
    })
}

/// GNU time's `%M %U %S` line: the peak RSS in KiB, and user plus system
/// CPU time.
fn parse_time_report(line: &str) -> Option<(u64, Option<Duration>)> {
    let mut fields = line.split_whitespace();
    let peak = fields.next()?.parse().ok()?;
    let cpu = fields
        .map(|f| f.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0))
        .sum::<Option<f64>>()
        .map(Duration::from_secs_f64);
    Some((peak, cpu))
}

/// `VmHWM` of a `/proc/<pid>/status` text, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The list requests a simulator answered and the page size the first asked
/// for (its `limit`).
fn pages(sim: &AmperitySim) -> (usize, Option<usize>) {
    let lists: Vec<_> = sim
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path().ends_with("/workflow/runs"))
        .collect();
    let size = lists.first().and_then(|r| {
        r.target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("limit="))
            .and_then(|v| v.parse().ok())
    });
    (lists.len(), size)
}

/// One (command, count) cell.
struct Cell {
    case: usize,
    runs: usize,
    peak_mib: f64,
    wall: Duration,
    cpu: Option<Duration>,
}

fn run(args: Vec<String>) -> Result<ExitCode> {
    let flags = jobstop_bench::flags(&args, &["jobstop", "sizes", "repeats"])?;
    let jobstop = jobstop_path(&flags)?;
    let sizes: Vec<usize> = match flags.get("sizes") {
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
    let repeats: usize = match flags.get("repeats") {
        Some(r) => r.parse().map_err(|_| format!("--repeats {r:?}"))?,
        None => 1,
    };
    let repeats = repeats.max(1);
    let meter = Meter::detect();
    let home = std::env::temp_dir().join(format!("jobstop-cli-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut cells: Vec<Cell> = Vec::new();
    let mut page_note = String::new();
    for &n in &sizes {
        eprintln!("cli-memory: seeding an Amperity simulator with {n} running runs…");
        let seeding = Instant::now();
        let sim = runtime.block_on(AmperitySim::builder().seed(18).running(n).start())?;
        eprintln!(
            "cli-memory: seeded in {:.1} s",
            seeding.elapsed().as_secs_f64()
        );
        let env = sim.env();
        for (i, case) in CASES.iter().enumerate() {
            let mut peak_kib = 0;
            let mut walls = Vec::with_capacity(repeats);
            let mut cpus = Vec::with_capacity(repeats);
            for _ in 0..repeats {
                sim.server().clear_requests();
                let s = measure(meter, &jobstop, case.args, &env, &home)?;
                if let Some(lines) = case.lines
                    && s.lines != lines(n)
                {
                    return Err(format!(
                        "{}: {} lines on stdout over {n} runs, expected {}",
                        case.name,
                        s.lines,
                        lines(n)
                    )
                    .into());
                }
                if page_note.is_empty()
                    && let (requests, Some(size)) = pages(&sim)
                {
                    page_note = format!(
                        "{size} runs per page (the adapter's default), {requests} list \
                             requests for {n} runs"
                    );
                }
                peak_kib = peak_kib.max(s.peak_kib);
                walls.push(s.wall);
                cpus.extend(s.cpu);
            }
            let wall = jobstop_bench::median(&mut walls);
            let cell = Cell {
                case: i,
                runs: n,
                peak_mib: kib_to_mib(peak_kib),
                wall,
                cpu: (!cpus.is_empty()).then(|| jobstop_bench::median(&mut cpus)),
            };
            eprintln!(
                "cli-memory: {} over {n} runs: peak {:.1} MiB, {:.1} s",
                case.name,
                cell.peak_mib,
                wall.as_secs_f64()
            );
            cells.push(cell);
        }
        runtime.block_on(sim.shutdown());
    }
    let _ = std::fs::remove_dir_all(&home);

    println!("## The CLI's memory: the release `jobstop` binary over many runs\n");
    println!(
        "Vendor: Amperity (its simulator in the benchmark's process, {page_note}). \
         Peak RSS: {}; the largest of {repeats} fresh process(es) per cell. Wall time: \
         the median, from spawn to exit, stdout read as fast as it comes (on a busy \
         shared machine wall times vary from run to run; peak RSS does not).\n",
        meter.describe()
    );
    println!("| command | runs | peak RSS (MiB) | wall (s) | runs/s | jobstop CPU (s) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for c in &cells {
        let secs = c.wall.as_secs_f64();
        println!(
            "| `{}` | {} | {:.1} | {:.2} | {:.0} | {} |",
            CASES[c.case].name,
            c.runs,
            c.peak_mib,
            secs,
            if secs > 0.0 {
                c.runs as f64 / secs
            } else {
                0.0
            },
            c.cpu
                .map_or_else(|| "-".to_owned(), |d| format!("{:.2}", d.as_secs_f64()))
        );
    }

    let largest = sizes.iter().copied().max().unwrap_or(0);
    let smallest = sizes.iter().copied().min().unwrap_or(0);
    let find = |case: usize, n: usize| cells.iter().find(|c| c.case == case && c.runs == n);
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let mut all_met = true;
    println!(
        "\n| command | peak at {smallest} (MiB) | peak at {largest} (MiB) | growth limit \
         {GROWTH_FACTOR}× + {GROWTH_SLACK_MIB:.0} MiB | < {TARGET_PEAK_MIB:.0} MiB at {largest} |"
    );
    println!("|---|---:|---:|---|---|");
    for (i, case) in CASES.iter().enumerate() {
        let (Some(small), Some(big)) = (find(i, smallest), find(i, largest)) else {
            continue;
        };
        let limit = GROWTH_FACTOR * small.peak_mib + GROWTH_SLACK_MIB;
        let flat = big.peak_mib <= limit;
        let under = big.peak_mib < TARGET_PEAK_MIB;
        all_met &= (flat || !case.flat) && under;
        let growth = if case.flat {
            format!("≤ {limit:.1}: **{}**", verdict(flat))
        } else {
            format!(
                "not required (one record per planned stop; ≤ {limit:.1} would be {})",
                verdict(flat)
            )
        };
        println!(
            "| `{}` | {:.1} | {:.1} | {growth} | **{}** |",
            case.name,
            small.peak_mib,
            big.peak_mib,
            verdict(under)
        );
    }
    Ok(if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let status = "Name:\tjobstop\nVmPeak:\t  99 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(12345));
        assert_eq!(vm_hwm_kib("Name:\tzombie\n"), None);
    }

    #[test]
    fn gnu_time_s_line_is_peak_and_cpu() {
        assert_eq!(
            parse_time_report("7988 1.50 0.25"),
            Some((7988, Some(Duration::from_millis(1750))))
        );
        assert_eq!(
            parse_time_report("7988"),
            Some((7988, Some(Duration::ZERO)))
        );
        assert_eq!(
            parse_time_report("Command exited with non-zero status 1"),
            None
        );
    }
}
