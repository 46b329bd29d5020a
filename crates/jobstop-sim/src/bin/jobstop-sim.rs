//! `jobstop-sim`: starts every vendor simulator on 127.0.0.1, prints how to
//! point jobstop at each, and serves until Ctrl-C.
//!
//! ```text
//! jobstop-sim [--seed N] [--running N] [--finished N] [--now]
//! ```

use std::process::ExitCode;

use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::{CenturyLinkSim, DEFAULT_MAX_CONCURRENT};
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::DataArtsSim;

const USAGE: &str = "usage: jobstop-sim [--seed N] [--running N] [--finished N] [--now]

Starts every simulator on 127.0.0.1 (a free port each), prints each one's base
URL and `export` lines for jobstop, and serves until Ctrl-C.

  --seed N       seed for ids, names, times and credentials (default 1)
  --running N    active runs per simulator (default 5; for DataArts, running
                 real-time jobs and running batch instances; for
                 CenturyLink, running executions, at most 4)
  --finished N   finished runs per simulator (default 20; for Chorus, idle
                 workflows; for DataArts, other batch instances, over
                 max(3, N/4) batch jobs, and 2 stopped real-time jobs; for
                 CenturyLink, executions over max(3, N/4) jobs)
  --now          start the simulated clock at the current time instead of
                 2024-06-19T04:00:00Z (ids and times then change every run)";

#[derive(Debug, Clone)]
struct Options {
    seed: u64,
    running: usize,
    finished: usize,
    now: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut opts = Options {
        seed: 1,
        running: 5,
        finished: 20,
        now: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--seed" => {
                let v = value("--seed")?;
                opts.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {v}"))?;
            }
            "--running" => {
                let v = value("--running")?;
                opts.running = v
                    .parse()
                    .map_err(|_| format!("--running: not a number: {v}"))?;
            }
            "--finished" => {
                let v = value("--finished")?;
                opts.finished = v
                    .parse()
                    .map_err(|_| format!("--finished: not a number: {v}"))?;
            }
            "--now" => opts.now = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(opts))
}

/// One started simulator, as the binary reports it.
struct Started {
    vendor: &'static str,
    base_url: String,
    /// The variables to export.
    env: Vec<(String, String)>,
    /// Other ways to configure it, printed commented out.
    alternatives: Vec<(String, String)>,
    /// Keeps the simulator alive; shut down on exit.
    shutdown: Box<dyn FnOnce() -> futures::future::BoxFuture<'static, ()> + Send>,
}

async fn start_amperity(opts: &Options) -> std::io::Result<Started> {
    let mut builder = AmperitySim::builder()
        .seed(opts.seed)
        .running(opts.running)
        .finished(opts.finished);
    if opts.now {
        builder = builder.epoch(chrono::Utc::now());
    }
    let sim = builder.start().await?;
    let env = sim.env();
    let alternatives = sim
        .oauth_env()
        .into_iter()
        .filter(|(k, _)| k.ends_with("CLIENT_ID") || k.ends_with("CLIENT_SECRET"))
        .collect();
    Ok(Started {
        vendor: "amperity",
        base_url: sim.base_url(),
        env,
        alternatives,
        shutdown: Box::new(move || Box::pin(async move { sim.shutdown().await })),
    })
}

async fn start_chorus(opts: &Options) -> std::io::Result<Started> {
    let mut builder = ChorusSim::builder()
        .seed(opts.seed)
        .running(opts.running)
        .idle(opts.finished)
        .other_files(3);
    if opts.now {
        builder = builder.epoch(chrono::Utc::now());
    }
    let sim = builder.start().await?;
    Ok(Started {
        vendor: "chorus",
        base_url: sim.base_url(),
        env: sim.env(),
        alternatives: Vec::new(),
        shutdown: Box::new(move || Box::pin(async move { sim.shutdown().await })),
    })
}

async fn start_dataarts(opts: &Options) -> std::io::Result<Started> {
    let mut builder = DataArtsSim::builder()
        .seed(opts.seed)
        .realtime_jobs(opts.running, 2)
        .batch_jobs((opts.finished / 4).max(3))
        .instances(opts.finished + opts.running)
        .running_instances(opts.running);
    if opts.now {
        builder = builder.epoch(chrono::Utc::now());
    }
    let sim = builder.start().await?;
    // AK/SK is exported; the token and IAM variants are printed commented.
    let mut alternatives: Vec<(String, String)> = sim
        .env_token()
        .into_iter()
        .filter(|(k, _)| k.ends_with("_TOKEN"))
        .collect();
    alternatives.extend(sim.env_iam().into_iter().filter(|(k, _)| {
        k.ends_with("_IAM_URL")
            || k.ends_with("_USERNAME")
            || k.ends_with("_PASSWORD")
            || k.ends_with("_DOMAIN")
    }));
    Ok(Started {
        vendor: "dataarts",
        base_url: sim.base_url(),
        env: sim.env_aksk(),
        alternatives,
        shutdown: Box::new(move || Box::pin(async move { sim.shutdown().await })),
    })
}

async fn start_centurylink(opts: &Options) -> std::io::Result<Started> {
    let jobs = (opts.finished / 4).max(3);
    let running = opts.running.min(DEFAULT_MAX_CONCURRENT);
    let mut builder = CenturyLinkSim::builder()
        .seed(opts.seed)
        .jobs(jobs)
        .executions_per_job((opts.finished + running).div_ceil(jobs))
        .running(running);
    if opts.now {
        builder = builder.epoch(chrono::Utc::now());
    }
    let sim = builder.start().await?;
    // Login is exported; the static token (with the alias) is printed
    // commented.
    let alternatives = sim
        .env_token()
        .into_iter()
        .filter(|(k, _)| k.ends_with("_TOKEN") || k.ends_with("_ACCOUNT_ALIAS"))
        .collect();
    Ok(Started {
        vendor: "centurylink",
        base_url: sim.base_url(),
        env: sim.env_login(),
        alternatives,
        shutdown: Box::new(move || Box::pin(async move { sim.shutdown().await })),
    })
}

/// Every simulator; new vendors add a line here.
async fn start_all(opts: &Options) -> std::io::Result<Vec<Started>> {
    Ok(vec![
        start_amperity(opts).await?,
        start_chorus(opts).await?,
        start_dataarts(opts).await?,
        start_centurylink(opts).await?,
    ])
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("jobstop-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = match start_all(&opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jobstop-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    for s in &started {
        println!("# {}: {}", s.vendor, s.base_url);
        for (k, v) in &s.env {
            println!("export {k}={}", quote(v));
        }
        for (k, v) in &s.alternatives {
            println!("# export {k}={}", quote(v));
        }
        println!();
    }
    println!("# serving (seed {}); Ctrl-C to stop", opts.seed);
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("jobstop-sim: cannot wait for Ctrl-C: {e}");
    }
    for s in started {
        (s.shutdown)().await;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn parses_flags() {
        let o = parse_args(args(&["--seed", "7", "--running=2", "--now"]))
            .unwrap()
            .unwrap();
        assert_eq!((o.seed, o.running, o.finished, o.now), (7, 2, 20, true));
        assert!(parse_args(args(&["--help"])).unwrap().is_none());
        assert!(parse_args(args(&["--seed"])).is_err());
        assert!(parse_args(args(&["--seed", "x"])).is_err());
        assert!(parse_args(args(&["--bogus"])).is_err());
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
    }
}
