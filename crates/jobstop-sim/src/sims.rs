//! [`Sims::start`] starts any subset of the vendors compiled in (one cargo
//! feature each), seeded alike: for the CLI's `demo` and `sim`, the
//! tests and the benches.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::time::Duration;

use crate::{AnySim, Population, Sim, SimBuilder, VendorSim};

/// How [`Sims::start`] seeds every simulator it starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimsOptions {
    /// The seed (default 1).
    pub seed: u64,
    /// How many runs each simulator generates (default 5 running, 20
    /// finished).
    pub population: Population,
    /// The simulated wall time at start (default: the real time now; the
    /// fixed [`default_epoch`](crate::default_epoch()) with
    /// [`with_seeded_epoch`](Self::with_seeded_epoch)).
    pub epoch: Option<DateTime<Utc>>,
    /// How long an accepted stop takes (default: each vendor's).
    pub stop_delay: Option<Duration>,
}

impl Default for SimsOptions {
    fn default() -> Self {
        SimsOptions {
            seed: 1,
            population: Population::new(5, 20),
            epoch: None,
            stop_delay: None,
        }
    }
}

impl SimsOptions {
    setters! {
        /// Sets the seed.
        with_seed(seed): u64;
        /// Sets the epoch.
        with_epoch(epoch): some DateTime<Utc>;
        /// Sets the stop delay.
        with_stop_delay(stop_delay): some Duration;
    }

    /// Sets the population.
    pub fn with_population(mut self, running: usize, finished: usize) -> Self {
        self.population = Population::new(running, finished);
        self
    }

    /// Starts the clocks at the fixed
    /// [`default_epoch`](crate::default_epoch()): ids and times depend on the
    /// seed only.
    pub fn with_seeded_epoch(self) -> Self {
        self.with_epoch(crate::default_epoch())
    }

    fn builder<V: VendorSim>(&self) -> SimBuilder<V> {
        let mut b = Sim::<V>::builder()
            .seed(self.seed)
            .population(&self.population);
        b.epoch = self.epoch.unwrap_or(b.epoch);
        b.stop_delay = self.stop_delay;
        b
    }
}

/// An error starting simulators: an unknown (or not compiled-in) vendor, or
/// a socket that could not be bound.
pub type StartError = std::io::Error;

type Starter = fn(&SimsOptions) -> BoxFuture<'_, std::io::Result<Box<dyn AnySim>>>;

fn starter<V: VendorSim>(opts: &SimsOptions) -> BoxFuture<'_, std::io::Result<Box<dyn AnySim>>> {
    Box::pin(async move {
        let sim = opts.builder::<V>().start().await?;
        Ok(Box::new(sim) as Box<dyn AnySim>)
    })
}

/// The vendors compiled into this crate (one cargo feature each), in the
/// order [`Sims::start`] starts them.
const VENDORS: &[(&str, Starter)] = &[
    #[cfg(feature = "amperity")]
    entry::<crate::amperity::Amperity>(),
    #[cfg(feature = "chorus")]
    entry::<crate::chorus::Chorus>(),
    #[cfg(feature = "dataarts")]
    entry::<crate::dataarts::DataArts>(),
    #[cfg(feature = "centurylink")]
    entry::<crate::centurylink::CenturyLink>(),
];

#[allow(dead_code)] // with no vendor feature on, nothing calls it
const fn entry<V: VendorSim>() -> (&'static str, Starter) {
    (V::VENDOR, starter::<V>)
}

/// Several running simulators, one per vendor.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use jobstop_sim::{Sims, SimsOptions};
///
/// let sims = Sims::start(Sims::vendors(), &SimsOptions::default()).await?;
/// assert_eq!(sims.iter().count(), Sims::vendors().len());
/// for sim in sims.iter() {
///     assert!(sim.base_url().starts_with("http://127.0.0.1:"));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Sims {
    sims: Vec<Box<dyn AnySim>>,
}

impl Sims {
    /// Every vendor compiled in (by this crate's cargo features).
    pub fn vendors() -> &'static [&'static str] {
        static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        NAMES.get_or_init(|| VENDORS.iter().map(|(name, _)| *name).collect())
    }

    /// Starts one simulator for each of `vendors` (in this crate's order,
    /// each once), seeded by `opts`. An unknown or not compiled-in vendor is
    /// an `InvalidInput` error, and nothing is left running.
    pub async fn start(vendors: &[impl AsRef<str>], opts: &SimsOptions) -> std::io::Result<Sims> {
        for v in vendors {
            let v = v.as_ref();
            if !VENDORS.iter().any(|(name, _)| *name == v) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "no simulator for vendor {v:?} (compiled in: {})",
                        Sims::vendors().join(", ")
                    ),
                ));
            }
        }
        let mut sims = Vec::new();
        for (name, start) in VENDORS {
            if vendors.iter().any(|v| v.as_ref() == *name) {
                sims.push(start(opts).await?);
            }
        }
        Ok(Sims { sims })
    }

    /// The simulators, in start order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn AnySim> {
        self.sims.iter().map(|s| s.as_ref())
    }

    /// The simulator of `vendor`, if started.
    pub fn by_name(&self, vendor: &str) -> Option<&dyn AnySim> {
        self.iter().find(|s| s.vendor() == vendor)
    }

    /// The simulator of vendor `V`, if started.
    pub fn get<V: VendorSim>(&self) -> Option<&Sim<V>> {
        self.iter()
            .find_map(|s| s.as_any().downcast_ref::<Sim<V>>())
    }

    /// Shuts every simulator down gracefully.
    pub async fn shutdown(&self) {
        for sim in &self.sims {
            sim.shutdown().await;
        }
    }
}
