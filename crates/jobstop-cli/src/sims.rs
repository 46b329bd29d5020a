//! The four vendor simulators, started together for `demo` and `sim`.
//!
//! This mirrors what the `jobstop-sim` binary starts (same seeding rules and
//! the same exported variables), so `jobstop sim` and `jobstop-sim` print
//! equivalent `export` lines. Here the variable names come from each
//! vendor's config type (the simulators offer their settings as data).

use std::time::Duration;

use jobstop::amperity::AmperityConfig;
use jobstop::centurylink::CenturyLinkConfig;
use jobstop::chorus::ChorusConfig;
use jobstop::dataarts::DataArtsConfig;
use jobstop::http::VendorConfig;
use jobstop_sim::Settings;
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
    pub(crate) fn env(&self) -> jobstop::Result<Vec<(String, String)>> {
        Ok(self.sections()?.into_iter().flat_map(|s| s.env).collect())
    }

    /// What `jobstop sim` prints: each simulator's settings (offered as data
    /// by the simulator) named through the vendor's config type, so the
    /// variables are the ones its builder reads. A setting the config type
    /// does not know is an error.
    pub(crate) fn sections(&self) -> jobstop::Result<Vec<Section>> {
        let amperity = AmperityConfig::schema();
        let dataarts = DataArtsConfig::schema();
        let centurylink = CenturyLinkConfig::schema();
        let only = |settings: Settings, keys: &[&str]| -> Vec<(&'static str, String)> {
            settings
                .into_iter()
                .filter(|(k, _)| keys.contains(k))
                .collect()
        };
        let mut dataarts_alt =
            dataarts.env_lines(&only(self.dataarts.settings_token(), &["token"]))?;
        dataarts_alt.extend(dataarts.env_lines(&only(
            self.dataarts.settings_iam(),
            &["iam_url", "username", "password", "domain"],
        ))?);
        Ok(vec![
            Section {
                vendor: AmperityConfig::VENDOR,
                base_url: self.amperity.base_url(),
                env: amperity.env_lines(&self.amperity.settings())?,
                alternatives: amperity.env_lines(&only(
                    self.amperity.oauth_settings(),
                    &["client_id", "client_secret"],
                ))?,
            },
            Section {
                vendor: ChorusConfig::VENDOR,
                base_url: self.chorus.base_url(),
                env: ChorusConfig::schema().env_lines(&self.chorus.settings())?,
                alternatives: Vec::new(),
            },
            Section {
                vendor: DataArtsConfig::VENDOR,
                base_url: self.dataarts.base_url(),
                env: dataarts.env_lines(&self.dataarts.settings_aksk())?,
                alternatives: dataarts_alt,
            },
            Section {
                vendor: CenturyLinkConfig::VENDOR,
                base_url: self.centurylink.base_url(),
                env: centurylink.env_lines(&self.centurylink.settings_login())?,
                alternatives: centurylink.env_lines(&only(
                    self.centurylink.settings_token(),
                    &["token", "account_alias"],
                ))?,
            },
        ])
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn exports_come_from_the_config_types_and_build_every_account() {
        let opts = SimOptions {
            seed: 7,
            running: 2,
            finished: 2,
            now: false,
            stop_delay: Duration::from_millis(10),
        };
        let sims = Sims::start(&opts).await.expect("simulators start");
        let sections = sims.sections().expect("every setting is a config key");
        // The simulators' own naming (for tests and the jobstop-sim binary)
        // agrees with the config types'.
        assert_eq!(sections[0].env, sims.amperity.env());
        assert_eq!(sections[1].env, sims.chorus.env());
        assert_eq!(sections[2].env, sims.dataarts.env_aksk());
        assert_eq!(sections[3].env, sims.centurylink.env_login());
        let env: std::collections::HashMap<String, String> =
            sims.env().expect("env").into_iter().collect();
        for vars in [
            AmperityConfig::schema().env_vars(),
            ChorusConfig::schema().env_vars(),
        ] {
            assert!(env.keys().any(|k| vars.contains(k)), "{env:?}");
        }
        let registry = jobstop::Registry::from_lookup(|k| env.get(k).cloned()).expect("builds");
        assert_eq!(registry.len(), 4);
        for s in &sections {
            for (k, _) in &s.alternatives {
                assert!(k.starts_with(&format!("JOBSTOP_{}_", s.vendor.to_ascii_uppercase())));
            }
        }
        sims.shutdown().await;
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("plain"), "'plain'");
    }
}
