//! `jobstop-sim`: starts every vendor simulator on 127.0.0.1, prints how to
//! point jobstop at each, and serves until Ctrl-C.
//!
//! ```text
//! jobstop-sim [--seed N] [--running N] [--finished N] [--fixed-epoch | --now]
//! ```

use std::process::ExitCode;

use jobstop_sim::{Sims, SimsOptions, env_vars};

const USAGE: &str =
    "usage: jobstop-sim [--seed N] [--running N] [--finished N] [--fixed-epoch | --now]

Starts every simulator on 127.0.0.1 (a free port each), prints each one's base
URL and `export` lines for jobstop, and serves until Ctrl-C.

  --seed N       seed for ids, names, times and credentials (default 1)
  --running N    active runs per simulator (default 5)
  --finished N   finished runs per simulator (default 20); each vendor maps
                 both onto its own objects (see `VendorSim::populate` of each
                 vendor module)
  --fixed-epoch  start the simulated clock at 2024-06-19T04:00:00Z instead of
                 the current time, so ids and times are the same every run
  --now          start the simulated clock at the current time (the
                 default; ids and times then change every run)";

#[derive(Debug, Clone)]
struct Options {
    seed: u64,
    running: usize,
    finished: usize,
    fixed_epoch: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut opts = Options {
        seed: 1,
        running: 5,
        finished: 20,
        fixed_epoch: false,
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
            "--now" => opts.fixed_epoch = false,
            "--fixed-epoch" => opts.fixed_epoch = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(opts))
}

/// One started simulator, as the binary reports it.
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
    let mut sims_options = SimsOptions::default()
        .with_seed(opts.seed)
        .with_population(opts.running, opts.finished);
    if opts.fixed_epoch {
        sims_options = sims_options.with_seeded_epoch();
    }
    let sims = match Sims::start(Sims::vendors(), &sims_options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jobstop-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    for sim in sims.iter() {
        println!("# {}: {}", sim.vendor(), sim.base_url());
        for (k, v) in env_vars(sim.vendor(), sim.settings()) {
            println!("export {k}={}", quote(&v));
        }
        for (k, v) in env_vars(sim.vendor(), sim.alternatives()) {
            println!("# export {k}={}", quote(&v));
        }
        println!();
    }
    println!("# serving (seed {}); Ctrl-C to stop", opts.seed);
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("jobstop-sim: cannot wait for Ctrl-C: {e}");
    }
    sims.shutdown().await;
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
        let o = parse_args(args(&["--seed", "7", "--running=2", "--fixed-epoch"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (o.seed, o.running, o.finished, o.fixed_epoch),
            (7, 2, 20, true)
        );
        let o = parse_args(args(&["--now"])).unwrap().unwrap();
        assert!(!o.fixed_epoch, "--now is the default");
        assert!(!parse_args(args(&[])).unwrap().unwrap().fixed_epoch);
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
