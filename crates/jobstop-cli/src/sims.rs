//! The four vendor simulators, started together for `demo` and `sim`.
//!
//! This mirrors what the `jobstop-sim` binary starts (same seeding rules and
//! the same exported variables), so `jobstop sim` and `jobstop-sim` print
//! equivalent `export` lines.

use std::time::Duration;

use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::{CenturyLinkSim, DEFAULT_MAX_CONCURRENT};
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::DataArtsSim;

/// How to seed the simulators.
#[derive(Debug, Clone)]
pub(crate) struct SimOptions {
    pub(crate) seed: u64,
    pub(crate) running: usize,
    pub(crate) finished: usize,
    pub(crate) now: bool,
    /// How long an accepted stop takes to end a run.
    pub(crate) stop_delay: Duration,
}

/// One simulator as printed by `jobstop sim`.
pub(crate) struct Section {
    pub(crate) vendor: &'static str,
    pub(crate) base_url: String,
    /// The variables to export.
    pub(crate) env: Vec<(String, String)>,
    /// Other ways to configure it, printed commented out.
    pub(crate) alternatives: Vec<(String, String)>,
}

/// All four simulators, serving on 127.0.0.1.
pub(crate) struct Sims {
    pub(crate) amperity: AmperitySim,
    pub(crate) chorus: ChorusSim,
    pub(crate) dataarts: DataArtsSim,
    pub(crate) centurylink: CenturyLinkSim,
}

impl Sims {
    pub(crate) async fn start(opts: &SimOptions) -> std::io::Result<Sims> {
        let epoch = opts.now.then(chrono::Utc::now);

        let mut amperity = AmperitySim::builder()
            .seed(opts.seed)
            .running(opts.running)
            .finished(opts.finished)
            .stop_delay(opts.stop_delay);
        if let Some(t) = epoch {
            amperity = amperity.epoch(t);
        }

        let mut chorus = ChorusSim::builder()
            .seed(opts.seed)
            .running(opts.running)
            .idle(opts.finished)
            .other_files(3);
        if let Some(t) = epoch {
            chorus = chorus.epoch(t);
        }

        let mut dataarts = DataArtsSim::builder()
            .seed(opts.seed)
            .realtime_jobs(opts.running, 2)
            .batch_jobs((opts.finished / 4).max(3))
            .instances(opts.finished + opts.running)
            .running_instances(opts.running)
            .stop_delay(opts.stop_delay);
        if let Some(t) = epoch {
            dataarts = dataarts.epoch(t);
        }

        let jobs = (opts.finished / 4).max(3);
        let running = opts.running.min(DEFAULT_MAX_CONCURRENT);
        let mut centurylink = CenturyLinkSim::builder()
            .seed(opts.seed)
            .jobs(jobs)
            .executions_per_job((opts.finished + running).div_ceil(jobs))
            .running(running)
            .stop_delay(opts.stop_delay);
        if let Some(t) = epoch {
            centurylink = centurylink.epoch(t);
        }

        Ok(Sims {
            amperity: amperity.start().await?,
            chorus: chorus.start().await?,
            dataarts: dataarts.start().await?,
            centurylink: centurylink.start().await?,
        })
    }

    /// Every variable that points jobstop at the simulators (one account per
    /// vendor): Amperity's static token, Chorus's login, DataArts' AK/SK and
    /// CenturyLink's login.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        self.sections().into_iter().flat_map(|s| s.env).collect()
    }

    pub(crate) fn sections(&self) -> Vec<Section> {
        let amperity_alt = self
            .amperity
            .oauth_env()
            .into_iter()
            .filter(|(k, _)| k.ends_with("CLIENT_ID") || k.ends_with("CLIENT_SECRET"))
            .collect();
        let mut dataarts_alt: Vec<(String, String)> = self
            .dataarts
            .env_token()
            .into_iter()
            .filter(|(k, _)| k.ends_with("_TOKEN"))
            .collect();
        dataarts_alt.extend(self.dataarts.env_iam().into_iter().filter(|(k, _)| {
            k.ends_with("_IAM_URL")
                || k.ends_with("_USERNAME")
                || k.ends_with("_PASSWORD")
                || k.ends_with("_DOMAIN")
        }));
        let centurylink_alt = self
            .centurylink
            .env_token()
            .into_iter()
            .filter(|(k, _)| k.ends_with("_TOKEN") || k.ends_with("_ACCOUNT_ALIAS"))
            .collect();
        vec![
            Section {
                vendor: "amperity",
                base_url: self.amperity.base_url(),
                env: self.amperity.env(),
                alternatives: amperity_alt,
            },
            Section {
                vendor: "chorus",
                base_url: self.chorus.base_url(),
                env: self.chorus.env(),
                alternatives: Vec::new(),
            },
            Section {
                vendor: "dataarts",
                base_url: self.dataarts.base_url(),
                env: self.dataarts.env_aksk(),
                alternatives: dataarts_alt,
            },
            Section {
                vendor: "centurylink",
                base_url: self.centurylink.base_url(),
                env: self.centurylink.env_login(),
                alternatives: centurylink_alt,
            },
        ]
    }

    pub(crate) async fn shutdown(&self) {
        self.amperity.shutdown().await;
        self.chorus.shutdown().await;
        self.dataarts.shutdown().await;
        self.centurylink.shutdown().await;
    }
}

/// Quotes a value for a POSIX shell.
pub(crate) fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("plain"), "'plain'");
    }
}
