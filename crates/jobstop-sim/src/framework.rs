//! The simulator framework: a vendor implements [`VendorSim`] (its protocol
//! only: routes, wire shapes, state machine, auth); [`SimBuilder`] carries
//! the settings every simulator has; [`Sim`] is a running one (vendor state
//! plus its [`SimServer`]) and [`AnySim`] the same without the vendor type.
//! Runs live in the generic store, [`crate::store::Runs`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::endless::EndlessRuns;
use crate::{
    FaultRule, Faults, RateLimit, Settings, SimClock, SimServer, SimServerBuilder, default_epoch,
    env_vars,
};

/// The settings every simulator has, handed to [`VendorSim::new`].
#[derive(Debug, Clone)]
pub struct Common {
    /// The seed for ids, names, times and default credentials.
    pub seed: u64,
    /// The simulated clock (starting at the builder's epoch).
    pub clock: SimClock,
    /// How long an accepted stop takes to end a run; `None` for the vendor's
    /// default.
    pub stop_delay: Option<Duration>,
    /// The rate limit the server starts with (for vendors that quote it in
    /// their 429 bodies).
    pub rate_limit: Option<RateLimit>,
}

/// How many runs to generate, the same request for every vendor (each
/// vendor maps it onto its own objects in [`VendorSim::populate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Population {
    /// Active runs.
    pub running: usize,
    /// Finished runs.
    pub finished: usize,
}

impl Population {
    /// `running` active and `finished` finished runs.
    pub fn new(running: usize, finished: usize) -> Self {
        Population { running, finished }
    }
}

/// A vendor's protocol, run by the framework.
///
/// The implementing type is the state every request handler shares
/// (configuration, credentials and the vendor's store behind a mutex).
pub trait VendorSim: Send + Sync + Sized + 'static {
    /// The vendor as the adapter's config names it (`"amperity"`, ...).
    const VENDOR: &'static str;
    /// The path prefix every route lives under (part of the base URL).
    const PREFIX: &'static str;
    /// The vendor's own builder settings (its `Debug` masks secrets).
    type Options: Clone + Default + fmt::Debug + Send + Sync + 'static;

    /// The vendor state, with its store seeded from `options`.
    fn new(common: &Common, options: Self::Options) -> Self;

    /// The vendor's server: its routes, sharing `this`
    /// (`SimServer::builder(router)`), with the vendor's error body and
    /// rate-limit account key; [`SimBuilder::start`] adds the prefix and clock.
    fn server(this: &Arc<Self>) -> SimServerBuilder;

    /// A second server (a login or IAM endpoint on its own port, its prefix
    /// set), for vendors whose auth lives elsewhere. Default: none.
    fn auth_server(this: &Arc<Self>) -> Option<SimServerBuilder> {
        let _ = this;
        None
    }

    /// Refuses `options` that contradict each other before anything starts
    /// ([`SimBuilder::start`] fails with this error). Default: all fine.
    fn check(options: &Self::Options) -> std::io::Result<()> {
        let _ = options;
        Ok(())
    }

    /// Sets `options` to generate `population` (with the vendor's mapping of
    /// "running" and "finished" onto its own objects).
    fn populate(options: &mut Self::Options, population: &Population);

    /// The settings a client needs, by the keys of the adapter's config (the
    /// auth mode `jobstop sim` exports).
    fn settings(sim: &Sim<Self>) -> Settings;

    /// Other ways to configure a client (printed commented out by the
    /// `jobstop sim`): only the keys that differ from [`VendorSim::settings`].
    fn alternatives(sim: &Sim<Self>) -> Settings {
        let _ = sim;
        Vec::new()
    }

    /// Every run id, in listing order.
    fn ids(&self) -> Vec<String>;

    /// The raw wire state of run `id`, `None` if there is no such run.
    fn raw_state(&self, id: &str) -> Option<String>;

    /// How many stop requests for `id` (`None`: any id) reached the vendor
    /// logic (authenticated and not answered by a fault first).
    fn stop_requests(&self, id: Option<&str>) -> u64;

    /// Adds a new run in the vendor's running state (under an existing job
    /// where runs belong to jobs); its id as the adapter names it. `None` if
    /// the simulator has nowhere to put one (no job).
    fn insert_running(&self) -> Option<String>;

    /// A rule that makes this vendor's listings never end (see
    /// [`endless`](crate::endless)): every page announces another.
    fn endless(page_size: usize, runs: EndlessRuns) -> FaultRule;
}

/// Configures a [`Sim`] before it starts: the settings every simulator has
/// here, the vendor's own in `impl SimBuilder<Vendor>` blocks.
pub struct SimBuilder<V: VendorSim> {
    seed: u64,
    pub(crate) epoch: DateTime<Utc>,
    pub(crate) stop_delay: Option<Duration>,
    rate_limit: Option<RateLimit>,
    pub(crate) options: V::Options,
}

// By hand: a derive would ask `V: Clone` (the vendor state), not only
// `V::Options: Clone`.
impl<V: VendorSim> Clone for SimBuilder<V> {
    fn clone(&self) -> Self {
        SimBuilder {
            options: self.options.clone(),
            ..*self
        }
    }
}

impl<V: VendorSim> Default for SimBuilder<V> {
    fn default() -> Self {
        SimBuilder {
            seed: 1,
            epoch: Utc::now(),
            stop_delay: None,
            rate_limit: None,
            options: V::Options::default(),
        }
    }
}

impl<V: VendorSim> fmt::Debug for SimBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBuilder")
            .field("vendor", &V::VENDOR)
            .field("seed", &self.seed)
            .field("epoch", &self.epoch)
            .field("stop_delay", &self.stop_delay)
            .field("rate_limit", &self.rate_limit)
            .field("options", &self.options)
            .finish()
    }
}

impl<V: VendorSim> SimBuilder<V> {
    setters! {
        /// The seed for ids, names, times and default credentials. Default 1.
        seed(seed): u64;
        /// The simulated wall time at start. Default: the real time when the
        /// builder is made, so "older than" means what it says against the
        /// seeded runs (created in the past of that time); for ids and times
        /// that depend on the seed only, use [`seeded_epoch`](Self::seeded_epoch).
        epoch(epoch): DateTime<Utc>;
        /// How long an accepted stop takes to end a run. Default: the vendor's.
        stop_delay(stop_delay): some Duration;
        /// A rate limit per account; requests over it get 429 (with
        /// `Retry-After` if the limit names one). Default off.
        rate_limit(rate_limit): Option<RateLimit>;
    }

    /// Starts the clock at the fixed
    /// [`default_epoch`](crate::default_epoch()) (`2024-06-19T04:00:00Z`), so
    /// ids and times depend on the seed only: what a test asserting fixed
    /// ids or times needs.
    pub fn seeded_epoch(self) -> Self {
        self.epoch(default_epoch())
    }

    /// Like [`SimBuilder::rate_limit`], without `Retry-After`.
    pub fn rate_limit_per_second(self, per_second: Option<u32>) -> Self {
        self.rate_limit(per_second.map(|per_second| RateLimit {
            per_second,
            retry_after: None,
        }))
    }

    /// Generates `population` (see [`VendorSim::populate`]).
    pub fn population(mut self, population: &Population) -> Self {
        V::populate(&mut self.options, population);
        self
    }

    /// Starts the server (and the vendor's auth server, if any) on
    /// `127.0.0.1:0`.
    pub async fn start(self) -> std::io::Result<Sim<V>> {
        V::check(&self.options)?;
        let clock = SimClock::starting_at(self.epoch);
        let common = Common {
            seed: self.seed,
            clock,
            stop_delay: self.stop_delay,
            rate_limit: self.rate_limit,
        };
        let vendor = Arc::new(V::new(&common, self.options));
        let server = V::server(&vendor).prefix(V::PREFIX).clock(clock);
        let server = server.start().await?;
        server.faults().set_rate_limit(self.rate_limit);
        let auth = match V::auth_server(&vendor) {
            Some(builder) => Some(builder.clock(clock).start().await?),
            None => None,
        };
        Ok(Sim {
            vendor,
            server,
            auth,
        })
    }
}

/// A running simulator of vendor `V`. Dropping it stops its servers. Its
/// `Debug` shows the vendor and base URL only.
pub struct Sim<V: VendorSim> {
    pub(crate) vendor: Arc<V>,
    server: SimServer,
    auth: Option<SimServer>,
}

impl<V: VendorSim> fmt::Debug for Sim<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("vendor", &V::VENDOR)
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl<V: VendorSim> Sim<V> {
    one_liners! {
        /// A builder with the defaults (seed 1, no runs).
        pub fn builder() -> SimBuilder<V> = SimBuilder::default();
        /// `http://127.0.0.1:PORT{prefix}`.
        pub fn base_url(&self) -> String = self.server.base_url();
        /// The HTTP server: request log, connection count, faults.
        pub fn server(&self) -> &SimServer = &self.server;
        /// The auth server (CenturyLink's login, DataArts' IAM), if the vendor
        /// has one on its own port.
        pub fn auth_server(&self) -> Option<&SimServer> = self.auth.as_ref();
        /// The fault script (shortcut for `server().faults()`).
        pub fn faults(&self) -> &Faults = self.server.faults();
        /// The simulated clock.
        pub fn clock(&self) -> SimClock = self.server.clock();
        /// The settings a client needs (see [`VendorSim::settings`]).
        pub fn settings(&self) -> Settings = V::settings(self);
        /// [`Sim::settings`] as `JOBSTOP_<VENDOR>_*` variables.
        pub fn env(&self) -> Vec<(String, String)> = env_vars(V::VENDOR, self.settings());
        /// Every run id, in listing order.
        pub fn ids(&self) -> Vec<String> = self.vendor.ids();
        /// How many stop requests for `id` reached the vendor logic
        /// (authenticated and not answered by a fault first), whatever their
        /// answer.
        pub fn stop_requests(&self, id: &str) -> u64 = self.vendor.stop_requests(Some(id));
        /// How many stop requests reached the vendor logic, for any id.
        pub fn total_stop_requests(&self) -> u64 = self.vendor.stop_requests(None);
    }

    /// Shuts the servers down gracefully (see [`SimServer::shutdown`]).
    pub async fn shutdown(&self) {
        self.server.shutdown().await;
        if let Some(auth) = &self.auth {
            auth.shutdown().await;
        }
    }
}

/// A running simulator whatever its vendor: what tests and the CLI ask of
/// every simulator. Downcast with [`AnySim::as_any`] (or
/// [`Sims::get`](crate::Sims::get)) for the vendor's own accessors.
pub trait AnySim: Send + Sync + fmt::Debug {
    /// The vendor as the adapter's config names it.
    fn vendor(&self) -> &'static str;
    /// `http://127.0.0.1:PORT{prefix}`.
    fn base_url(&self) -> String;
    /// The HTTP server.
    fn server(&self) -> &SimServer;
    /// The fault script.
    fn faults(&self) -> &Faults;
    /// The settings a client needs (see [`VendorSim::settings`]).
    fn settings(&self) -> Settings;
    /// Other ways to configure a client (see [`VendorSim::alternatives`]).
    fn alternatives(&self) -> Settings;
    /// Every run id, in listing order.
    fn ids(&self) -> Vec<String>;
    /// The raw wire state of run `id`.
    fn raw_state(&self, id: &str) -> Option<String>;
    /// Stop requests for `id` that reached the vendor logic.
    fn stop_requests(&self, id: &str) -> u64;
    /// Stop requests that reached the vendor logic, for any id.
    fn total_stop_requests(&self) -> u64;
    /// The auth server, if the vendor has one on its own port.
    fn auth_server(&self) -> Option<&SimServer>;
    /// Adds a new running run (see [`VendorSim::insert_running`]).
    fn insert_running(&self) -> Option<String>;
    /// A rule that makes this vendor's listings never end (see
    /// [`VendorSim::endless`]).
    fn endless(&self, page_size: usize, runs: EndlessRuns) -> FaultRule;
    /// Shuts the servers down gracefully.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
    /// For downcasting to [`Sim<V>`].
    fn as_any(&self) -> &dyn Any;
}

impl<V: VendorSim> AnySim for Sim<V> {
    one_liners! {
        fn vendor(&self) -> &'static str = V::VENDOR;
        fn base_url(&self) -> String = Sim::base_url(self);
        fn server(&self) -> &SimServer = Sim::server(self);
        fn faults(&self) -> &Faults = Sim::faults(self);
        fn settings(&self) -> Settings = V::settings(self);
        fn alternatives(&self) -> Settings = V::alternatives(self);
        fn ids(&self) -> Vec<String> = self.vendor.ids();
        fn raw_state(&self, id: &str) -> Option<String> = self.vendor.raw_state(id);
        fn stop_requests(&self, id: &str) -> u64 = self.vendor.stop_requests(Some(id));
        fn total_stop_requests(&self) -> u64 = self.vendor.stop_requests(None);
        fn auth_server(&self) -> Option<&SimServer> = Sim::auth_server(self);
        fn insert_running(&self) -> Option<String> = self.vendor.insert_running();
        fn endless(&self, page_size: usize, runs: EndlessRuns) -> FaultRule =
            V::endless(page_size, runs);
        fn shutdown(&self) -> BoxFuture<'_, ()> = Box::pin(Sim::shutdown(self));
        fn as_any(&self) -> &dyn Any = self;
    }
}
