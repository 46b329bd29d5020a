//! The vendor simulators, started together for `demo` and `sim`
//! (`jobstop_sim::Sims::start`, the same call the tests make). The variable names come from each vendor's config type:
//! the simulators offer their settings as data.

use jobstop::AccountConfig;
use jobstop::http::Schema;
use jobstop_sim::SimsOptions;

/// One simulator as printed by `jobstop sim`.
pub(crate) struct Section {
    pub(crate) vendor: &'static str,
    pub(crate) base_url: String,
    /// The variables to export.
    pub(crate) env: Vec<(String, String)>,
    /// Other ways to configure it, printed commented out.
    pub(crate) alternatives: Vec<(String, String)>,
}

/// Every simulator this build has both a simulator and a config type for,
/// serving on 127.0.0.1.
pub(crate) struct Sims(jobstop_sim::Sims);

impl Sims {
    pub(crate) async fn start(opts: &SimsOptions) -> std::io::Result<Sims> {
        let vendors: Vec<&str> = AccountConfig::schemas()
            .into_iter()
            .map(|s| s.vendor)
            .filter(|v| jobstop_sim::Sims::vendors().contains(v))
            .collect();
        jobstop_sim::Sims::start(&vendors, opts).await.map(Sims)
    }

    /// Every variable that points jobstop at the simulators (one account per
    /// vendor, in the auth mode each simulator offers first).
    pub(crate) fn env(&self) -> jobstop::Result<Vec<(String, String)>> {
        Ok(self.sections()?.into_iter().flat_map(|s| s.env).collect())
    }

    /// What `jobstop sim` prints: each simulator's settings named through
    /// the vendor's config type, so the variables are the ones its builder
    /// reads. A setting the config type does not know is an error.
    pub(crate) fn sections(&self) -> jobstop::Result<Vec<Section>> {
        self.0
            .iter()
            .filter_map(|sim| schema(sim.vendor()).map(|schema| (sim, schema)))
            .map(|(sim, schema)| {
                Ok(Section {
                    vendor: sim.vendor(),
                    base_url: sim.base_url(),
                    env: schema.env_lines(&sim.settings())?,
                    alternatives: schema.env_lines(&sim.alternatives())?,
                })
            })
            .collect()
    }

    pub(crate) async fn shutdown(&self) {
        self.0.shutdown().await;
    }
}

fn schema(vendor: &str) -> Option<Schema> {
    AccountConfig::schemas()
        .into_iter()
        .find(|s| s.vendor == vendor)
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
        let opts = SimsOptions::default()
            .with_seed(7)
            .with_population(2, 2)
            .with_stop_delay(std::time::Duration::from_millis(10));
        let sims = Sims::start(&opts).await.expect("simulators start");
        let sections = sims.sections().expect("every setting is a config key");
        assert_eq!(sections.len(), 4);
        // The simulators' own naming (for tests)
        // agrees with the config types'.
        for (section, sim) in sections.iter().zip(sims.0.iter()) {
            assert_eq!(section.vendor, sim.vendor());
            assert_eq!(
                section.env,
                jobstop_sim::env_vars(sim.vendor(), sim.settings())
            );
            assert_eq!(
                section.alternatives,
                jobstop_sim::env_vars(sim.vendor(), sim.alternatives())
            );
            for (k, _) in &section.alternatives {
                assert!(
                    k.starts_with(&format!("JOBSTOP_{}_", section.vendor.to_ascii_uppercase()))
                );
            }
        }
        let env: std::collections::HashMap<String, String> =
            sims.env().expect("env").into_iter().collect();
        let registry = jobstop::Registry::from_lookup(|k| env.get(k).cloned()).expect("builds");
        assert_eq!(registry.len(), 4);
        sims.shutdown().await;
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("plain"), "'plain'");
    }
}
