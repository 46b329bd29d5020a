//! The CenturyLink Cloud Runner Job Service simulator (VENDOR-NOTES
//! section 4; the seed page `centurylink-stop-execution.md`).
//!
//! Two servers: the CLC v2 **login** endpoint and the **Runner**. The crate
//! README ("The CenturyLink simulator") has the behaviour, the switches,
//! which parts are documented fact and which inference, and an example.

mod routes;
mod store;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::endless::{self, EndlessRuns};
use crate::{
    Common, FaultRule, Population, Route, Secret, Settings, Sim, SimBuilder, SimServer,
    SimServerBuilder, SplitMix64, VendorSim, lock,
};
use store::Store;

/// The vendor, as the adapter's config names it.
pub const VENDOR: &str = "centurylink";

/// The login route, on the login server.
pub const LOGIN_PATH: &str = "/v2/authentication/login";
/// The documented limit of executions initializing or running at once per
/// account (FAQ: "4 concurrent jobs").
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
/// The message of the login's 400 (documented).
pub const BAD_CREDENTIALS: &str =
    "We didn't recognize the username or password you entered. Please try again.";
/// The message of the 400 for stopping or killing a finished execution (an
/// inference: the status and body are undocumented).
pub const NOT_STOPPABLE: &str = "Execution is not in a stoppable state";
/// Every documented execution status, in the docs' order.
pub const STATUSES: &[&str] = &[
    "PENDING",
    "INITIALIZING",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "KILLING",
    "KILLED",
    "SUCCESS",
    "FAILURE",
    "INIT_FAILURE",
];

/// One of an execution's `timers`, `(start, end)` (epoch ms on the wire;
/// `end` is `None`, JSON `null`, while it runs).
pub type Timer = (DateTime<Utc>, Option<DateTime<Utc>>);

/// Seed structs with public fields: per field its doc, `name: Type`, and
/// `=> with_x(kind)` for a setter of it (a `setters!` kind).
macro_rules! seeds {
    ($($(#[$sm:meta])* $seed:ident {
        $($(#[$m:meta])* $f:ident: $ty:ty $(=> $set:ident($($kind:tt)+))?,)*
    })*) => {$(
        $(#[$sm])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $seed { $($(#[$m])* pub $f: $ty,)* }
        impl $seed {
            $($(setters! { /// Sets the field of that name.
                $set($f): $($kind)+; })?)*
        }
    )*};
}

seeds! {
    /// A job to add with [`CenturyLinkSimBuilder::insert_job`] or
    /// [`CenturyLinkSim::insert_job`]; what is not given (the default) is
    /// generated, but the name, which is absent.
    JobSeed {
        /// `id`; default a generated UUID.
        id: Option<String> => with_id(some into String),
        /// `name`; `None` (the default) leaves the key out, as in the KB's Job.
        name: Option<String> => with_name(some into String),
        /// `description`; default generated.
        description: Option<String>,
        /// `executionTtl` in minutes; `None` is JSON `null`.
        execution_ttl: Option<u64>,
        /// `createdTime` (and `lastUpdatedTime`); default the insertion time.
        created_time: Option<DateTime<Utc>> => with_created_time(some DateTime<Utc>),
        /// Host ids (`hostVars` empty); default generated.
        hosts: Vec<String> => with_hosts(Vec<String>),
        /// Whether the repository has `credentials` (password masked).
        repository_credentials: bool,
    }
    /// An execution to add with [`CenturyLinkSimBuilder::insert_execution`] or
    /// [`CenturyLinkSim::insert_execution`]; the status is kept verbatim.
    ExecutionSeed {
        /// The job's id (the builder creates the job if it does not exist).
        job_id: String,
        /// The raw `status`.
        status: String,
        /// `execution_id`; default a generated UUID.
        execution_id: Option<String> => with_id(some into String),
        /// `timers`; default one from the insertion, ended then if terminal.
        timers: Option<Vec<Timer>>,
        /// `failed_hosts`.
        failed_hosts: Vec<String> => with_failed_hosts(Vec<String>),
        /// `is_vpn_established`.
        is_vpn_established: bool => with_vpn(bool),
    }
}

impl ExecutionSeed {
    /// An execution of job `job_id` in the raw status `status`.
    pub fn new(job_id: impl Into<String>, status: impl Into<String>) -> Self {
        let mut seed = ExecutionSeed::default();
        (seed.job_id, seed.status) = (job_id.into(), status.into());
        seed
    }

    /// Appends a timer (`end` `None`: still running).
    pub fn with_timer(mut self, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Self {
        self.timers.get_or_insert_with(Vec::new).push((start, end));
        self
    }
}

/// The default of [`SimBuilder::stop_delay`] (how long `STOPPING` lasts).
pub const DEFAULT_STOP_DELAY: Duration = Duration::from_millis(300);

options! {
    /// The CenturyLink [`VendorSim::Options`], set through [`CenturyLinkSimBuilder`].
    CenturyLinkOptions for CenturyLink {
        stop_delay: Duration,
        job_seeds: Vec<JobSeed>,
        execution_seeds: Vec<ExecutionSeed>,
    }
    /// The account alias (in every Runner path and document).
    account_alias(into String): String = "ACME".into();
    /// The `locationAlias` the login reports (and host names start with).
    location_alias(into String): String = "VA1".into();
    /// The login user name.
    username(into String): String = "jobstop.sim@example.com".into();
    /// The login password (empty: drawn from the seed).
    password(into Secret): Secret = Secret::from("");
    /// A never-expiring bearer token the Runner accepts besides logins
    /// (empty: drawn from the seed).
    static_token(into Secret): Secret = Secret::from("");
    /// How many jobs to generate.
    jobs(usize): usize = 0;
    /// How many executions each generated job has.
    executions_per_job(usize): usize = 3;
    /// How many of the generated executions (the newest) are `RUNNING`.
    running(usize): usize = 0;
    /// How long login tokens live (documented: up to 2 weeks).
    token_ttl(Duration): Duration = Duration::from_secs(14 * 24 * 3600);
    /// How long a killed execution stays `KILLING` before `KILLED`.
    kill_delay(Duration): Duration = Duration::from_millis(200);
    /// Makes seeded and inserted executions progress too, this long after.
    seeded_finish_after(Option<Duration>): Option<Duration> = None;
    /// How many executions may be `INITIALIZING` or `RUNNING` at once.
    max_concurrent(usize): usize = DEFAULT_MAX_CONCURRENT;
    /// The share (0–100) of executions that end `FAILURE` on their own.
    fail_percent(u8): u8 = 0;
    /// Execution keys in camelCase.
    camel_case(bool): bool = false;
    /// Top-level `start`/`end` (of the last timer) and `id`, not `timers`.
    flat_timers(bool): bool = false;
    /// `repository_log` as `{"recent_commit":[{…}],"tags":[]}`.
    repository_log_object(bool): bool = false;
    /// Whether `GET /jobs/{alias}/{jobId}/executions/{executionId}` exists
    /// (default yes): only the Runner browser JS SDK (namespace `RNR`,
    /// `Job.prototype.execution`) calls it; `CenturyLinkCloud/PublicKB`
    /// `Runner/job-service.md` has none. Without it: 404 before any check.
    execution_get(bool): bool = true;
    /// Whether the job GET answers `[Job]`, as the KB's "Get Job" example
    /// (`Runner/job-service.md`); default a bare Job, as every other source.
    job_array(bool): bool = false;
    /// How long started executions stay `PENDING`, `INITIALIZING`, `RUNNING`.
    durations([Duration; 3]): [Duration; 3] = [100, 200, 1000].map(Duration::from_millis);
}

/// The CenturyLink protocol; use it through [`CenturyLinkSim`].
pub struct CenturyLink {
    o: CenturyLinkOptions,
    store: Mutex<Store>,
}

/// A running CenturyLink simulator (the Runner and the login server).
pub type CenturyLinkSim = Sim<CenturyLink>;
/// Configures a [`CenturyLinkSim`]; its `Debug` masks the password and token.
pub type CenturyLinkSimBuilder = SimBuilder<CenturyLink>;

impl VendorSim for CenturyLink {
    const VENDOR: &'static str = VENDOR;
    const PREFIX: &'static str = "";
    type Options = CenturyLinkOptions;

    fn new(common: &Common, mut o: CenturyLinkOptions) -> Self {
        // Each secret not given is drawn, in this order, from `creds`.
        let mut creds = SplitMix64::stream(common.seed, 34);
        if o.password.0.is_empty() {
            o.password.0 = format!("Sim-{}", creds.alphanumeric(16));
        }
        if o.static_token.0.is_empty() {
            o.static_token.0 = store::make_token(&mut creds, &routes::token_claims(&o));
        }
        o.stop_delay = common.stop_delay.unwrap_or(DEFAULT_STOP_DELAY);
        let mut store = Store::new(o.clone(), common.clock, common.seed);
        store.seed();
        let store = Mutex::new(store);
        CenturyLink { o, store }
    }

    fn server(this: &Arc<Self>) -> SimServerBuilder {
        SimServer::builder(routes::runner_router(this.clone()))
            .error_body(|_, m| routes::error_body(m))
            .account_key(|_, h| routes::bearer(h).unwrap_or_default().to_owned())
    }

    fn auth_server(this: &Arc<Self>) -> Option<SimServerBuilder> {
        let server = SimServer::builder(routes::login_router(this.clone()));
        let server = server.error_body(|_, m| routes::error_body(m));
        Some(server.account_key(|_, _| String::new()))
    }

    fn check(o: &CenturyLinkOptions) -> std::io::Result<()> {
        let (running, max) = (o.running, o.max_concurrent);
        let why = format!("running({running}) exceeds max_concurrent({max}), the account's cap");
        let error = || std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
        (running <= max).then_some(()).ok_or_else(error)
    }

    fn populate(o: &mut CenturyLinkOptions, population: &Population) {
        o.jobs = (population.finished / 4).max(3);
        o.running = population.running.min(o.max_concurrent);
        o.executions_per_job = (population.finished + o.running).div_ceil(o.jobs);
    }

    fn settings(sim: &CenturyLinkSim) -> Settings {
        vec![
            ("base_url", sim.base_url()),
            ("login_url", sim.login_url()),
            ("username", sim.username().to_owned()),
            ("password", sim.password().to_owned()),
        ]
    }

    fn alternatives(sim: &CenturyLinkSim) -> Settings {
        let (token, alias) = (sim.token().to_owned(), sim.account_alias().to_owned());
        vec![("token", token), ("account_alias", alias)]
    }

    fn ids(&self) -> Vec<String> {
        lock(&self.store).execution_ids(None)
    }

    fn raw_state(&self, id: &str) -> Option<String> {
        let run = lock(&self.store).execution_json(id)?;
        run["status"].as_str().map(str::to_owned)
    }

    fn stop_requests(&self, id: Option<&str>) -> u64 {
        lock(&self.store).requests(id, "stop")
    }

    fn insert_running(&self) -> Option<String> {
        let mut store = lock(&self.store);
        let job = store.job_ids().into_iter().next()?;
        store.insert_execution(ExecutionSeed::new(job, "RUNNING"))
    }

    /// A listing that never ends (see [`crate::endless`]): the executions
    /// listings' `totalSize` is 10¹².
    fn endless(page_size: usize, runs: EndlessRuns) -> FaultRule {
        let ids = &["execution_id", "executionId", "id"];
        let route = Route::get("/jobs/*/*/executions");
        endless::huge_total(page_size, runs, ids, "results", "totalSize", route)
    }
}

impl SimBuilder<CenturyLink> {
    /// Adds a job after the generated ones.
    pub fn insert_job(mut self, seed: JobSeed) -> Self {
        self.options.job_seeds.push(seed);
        self
    }

    /// Adds an execution after the generated ones (creating its job).
    pub fn insert_execution(mut self, seed: ExecutionSeed) -> Self {
        self.options.execution_seeds.push(seed);
        self
    }
}

/// CenturyLink's own accessors and test hooks (the crate README has them).
impl Sim<CenturyLink> {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        lock(&self.vendor.store)
    }

    accessors! {
        /// The account alias.
        account_alias: o.account_alias;
        /// The `locationAlias` the login reports.
        location_alias: o.location_alias;
        /// The login user name.
        username: o.username;
    }

    one_liners! {
        /// The login password.
        pub fn password(&self) -> &str = self.vendor.o.password.expose();
        /// The static bearer token (never expires).
        pub fn token(&self) -> &str = self.vendor.o.static_token.expose();
        /// The login server (the Runner's is [`Sim::server`]).
        pub fn login_server(&self) -> &SimServer =
            self.auth_server().unwrap_or_else(|| self.server());
        /// The login endpoint, `http://127.0.0.1:PORT/v2/authentication/login`.
        pub fn login_url(&self) -> String =
            format!("{}{LOGIN_PATH}", self.login_server().base_url());
        /// [`CenturyLinkSim::ids`] whose `status` is exactly `status`.
        pub fn execution_ids_with_status(&self, status: &str) -> Vec<String> =
            self.store().execution_ids(Some(status));
        /// The job as `GET /jobs/{alias}/{jobId}` shows it now.
        pub fn job_json(&self, job_id: &str) -> Option<Value> = self.store().job(job_id).ok();
        /// Every stop and kill: `("jobId/executionId", "stop" or "kill", body)`.
        pub fn stop_bodies(&self) -> Vec<(String, String, String)> =
            self.store().bodies.clone();
        /// How many logins succeeded (tokens issued).
        pub fn logins(&self) -> u64 = self.store().issued.len() as u64;
        /// How many login requests were made, successful or not.
        pub fn login_attempts(&self) -> u64 = self.store().login_attempts;
        /// Every bearer token the login issued, in order (not the static token).
        pub fn issued_tokens(&self) -> Vec<String> = self.store().issued.clone();
        /// Makes every login token issued so far expired.
        pub fn expire_tokens(&self) = self.store().tokens.expire_all();
        /// Like [`Sim::stop_requests`], for kill requests.
        pub fn kill_requests(&self, run_id: &str) -> u64 = self.store().requests(Some(run_id), "kill");
    }

    /// `JOBSTOP_CENTURYLINK_BASE_URL`, `_TOKEN` and `_ACCOUNT_ALIAS`.
    pub fn env_token(&self) -> Vec<(String, String)> {
        let mut settings = CenturyLink::alternatives(self);
        settings.insert(0, ("base_url", self.base_url()));
        crate::env_vars(VENDOR, settings)
    }

    store_calls! {
        /// Every job id, newest `createdTime` first (ties by id).
        job_ids() -> Vec<String>;
        /// The execution `run_id` (`"jobId/executionId"`) as its GET shows it.
        execution_json(run_id: &str) -> Option<Value>;
        /// Adds a job (replacing one with the same id); returns its id.
        insert_job(seed: JobSeed) -> String;
        /// Adds an execution; its run id, `None` if its job does not exist.
        insert_execution(seed: ExecutionSeed) -> Option<String>;
        /// Deletes a job and its executions; `false` if there is none.
        remove_job(job_id: &str) -> bool;
        /// Sets the raw status of `run_id`, dropping its pending changes.
        set_status(run_id: &str, raw: &str) -> bool;
        /// Applies the next pending change of `run_id` now, if any.
        advance(run_id: &str) -> bool;
    }

    /// Changes options at run time through the builder's setters: those the
    /// Runner's store reads as it answers (the document switches,
    /// `kill_delay`, `durations`, `seeded_finish_after`, `fail_percent`,
    /// `max_concurrent`); others keep their start values.
    pub fn reconfigure(&self, f: impl FnOnce(CenturyLinkSimBuilder) -> CenturyLinkSimBuilder) {
        let mut store = self.store();
        let mut builder = CenturyLinkSim::builder();
        builder.options = store.cfg.clone();
        store.cfg = f(builder).options;
    }
}

/// The execution documents in a successful Runner answer, for
/// [`Fault::MapJson`](crate::Fault::MapJson) rewrites: the executions among a page's `results`, or
/// the answer itself when it is one execution.
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    let is_run = |v: &&mut Value| v.get("execution_id").or(v.get("executionId")).is_some();
    if body.get("results").is_none() {
        return vec![body].into_iter().filter(is_run).collect();
    }
    let items = body.get_mut("results").and_then(Value::as_array_mut);
    items.into_iter().flatten().filter(is_run).collect()
}
