//! The DataArts Studio (DataArts Factory, DLF) jobs simulator (VENDOR-NOTES
//! section 3; the seed page `dataarts-stop-job.rst`).
//!
//! Two servers, as in production: the DLF API (`/v1/{project_id}/jobs…`,
//! IAM-token or AK/SK-signed) and a separate IAM (`POST /v3/auth/tokens`).
//! See the crate README for the behaviour, the switches and which parts are
//! documented fact and which are inference; [`signing`] is the reference
//! AK/SK signer the simulator verifies requests with.
//! Its runnable example is the README's ("The DataArts simulator").

mod routes;
pub mod signing;
mod store;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::endless::{self, EndlessRuns};
use crate::{
    Common, FaultRule, Population, Route, Secret, Settings, Sim, SimBuilder, SimServer,
    SimServerBuilder, SplitMix64, VendorSim, lock,
};
use store::{DEFAULT_WORKSPACE, Store};

/// How long a stopped real-time job stays `STOPPING`, by default.
pub(crate) const DEFAULT_STOP_DELAY: Duration = Duration::from_millis(300);

/// A DLF job's `jobType`: `BATCH` or `REAL_TIME` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobType {
    /// `BATCH`: scheduled; its runs are instances.
    #[default]
    Batch,
    /// `REAL_TIME`: a long-running (streaming) job, itself the run.
    RealTime,
}

/// One reading of the sources where they disagree or are silent, served
/// instead of the default one (set any with [`DataArtsSimBuilder::readings`];
/// the crate README's DataArts routes name each reading's sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reading {
    /// List calls read `offset` as a record offset, not a page number from 0.
    RecordOffset,
    /// The job detail's `createTime` is a numeric string, not an int.
    CreateTimeString,
    /// The real-time status's times are ISO-8601 dates, not epoch-ms strings.
    StatusTimeDates,
    /// `executeTime` is minutes with one decimal (`0.3`), not milliseconds.
    ExecuteTimeMinutes,
    /// Stopping a `waiting` instance is refused as not running, not canceled.
    WaitingStopRejected,
}

/// One AK/SK-signed request that passed verification, as received (to
/// re-sign it with another signer; `authorization` holds the signature,
/// never the secret key).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path and query exactly as received.
    pub target: String,
    /// Every header, names lowercase, values unmasked.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Declares a struct whose fields each have a default (`= value`, its
/// `Default`) and, where `=> name(kind)` follows, a setter `name` in
/// `impl $target` documented by the field's doc (kinds as in `setters!`);
/// `=> name(args) |field| body` is a setter that runs `body` on the field.
macro_rules! declare {
    (@set [$($a:tt)*] [$($p:tt)*] $f:ident) => {};
    (@set [$($a:tt)*] [$($p:tt)*] $f:ident $set:ident($($x:ident: $xt:ty),+) $c:ident $e:expr) => {
        $($a)*
        pub fn $set(mut self, $($x: $xt),+) -> Self {
            let $c = &mut self.$($p)* $f;
            $e;
            self
        }
    };
    (@set [$($a:tt)*] [$($p:tt)*] $f:ident $set:ident($($k:tt)+)) => {
        setters! { $($a)* $set($($p)* $f): $($k)+; }
    };
    ($(#[$sm:meta])* $v:vis struct $name:ident in $target:ty, $p:tt {
        $($(#[$m:meta])* $fv:vis $f:ident: $t:ty = $d:expr
            $(=> $set:ident($($k:tt)+) $(|$c:ident| $e:expr)?)?;)*
    }) => {
        $(#[$sm])* $v struct $name { $($(#[$m])* $fv $f: $t,)* }
        impl Default for $name {
            fn default() -> Self {
                $name { $($f: $d,)* }
            }
        }
        impl $target { $(declare!(@set [$(#[$m])*] $p $f $($set($($k)+) $($c $e)?)?);)* }
    };
}

declare! {
    /// A job to add with [`DataArtsSimBuilder::insert_job`] or
    /// [`DataArtsSim::insert_job`]; the status is kept verbatim.
    #[derive(Debug, Clone, PartialEq)]
    pub struct JobSeed in JobSeed, [] {
        /// The job name.
        pub name: String = String::new();
        /// `BATCH` or `REAL_TIME`.
        pub job_type: JobType = JobType::Batch;
        /// The raw `status` (`SCHEDULING`, `NORMAL`, …).
        pub status: String = String::new();
        /// The workspace; default the simulator's.
        pub workspace: Option<String> = None => with_workspace(some into String);
        /// `createTime`; default generated before the epoch.
        pub create_time: Option<DateTime<Utc>> = None => with_create_time(some DateTime<Utc>);
        /// `owner` and `createUser`; default picked from a list.
        pub owner: Option<String> = None => with_owner(some into String);
        /// `path`; default picked from a list.
        pub path: Option<String> = None => with_path(some into String);
        /// `priority` (0–2); default random.
        pub priority: Option<u8> = None => with_priority(some u8);
    }
}

impl JobSeed {
    /// A batch job.
    pub fn batch(name: impl Into<String>, status: impl Into<String>) -> Self {
        let mut seed = JobSeed::default();
        (seed.name, seed.status) = (name.into(), status.into());
        seed
    }

    /// A real-time job.
    pub fn realtime(name: impl Into<String>, status: impl Into<String>) -> Self {
        let mut seed = JobSeed::batch(name, status);
        seed.job_type = JobType::RealTime;
        seed
    }
}

declare! {
    /// A job instance to add with [`DataArtsSimBuilder::insert_instance`] or
    /// [`DataArtsSim::insert_instance`]; the status is kept verbatim.
    #[derive(Debug, Clone, PartialEq)]
    pub struct InstanceSeed in InstanceSeed, [] {
        /// The job's name (a job of that name must exist in the workspace).
        pub job_name: String = String::new();
        /// The raw `status` (`waiting`, `running`, `success`, …).
        pub status: String = String::new();
        /// The workspace; default the simulator's.
        pub workspace: Option<String> = None => with_workspace(some into String);
        /// `instanceId`; default the next free one.
        pub instance_id: Option<u64> = None => with_id(some u64);
        /// `planTime`; default now.
        pub plan_time: Option<DateTime<Utc>> = None => with_plan_time(some DateTime<Utc>);
        /// `startTime`; default `planTime`.
        pub start_time: Option<DateTime<Utc>> = None => with_start_time(some DateTime<Utc>);
        /// `endTime`; default `startTime` for terminal statuses, else absent.
        pub end_time: Option<DateTime<Utc>> = None => with_end_time(some DateTime<Utc>);
        /// `instanceType` (0 general, 2 manual, 5 PatchData, 6 subjob, 7
        /// once); default 0.
        pub instance_type: Option<u64> = None => with_instance_type(some u64);
    }
}

impl InstanceSeed {
    /// An instance of `job_name` in the raw status `status`.
    pub fn new(job_name: impl Into<String>, status: impl Into<String>) -> Self {
        let mut seed = InstanceSeed::default();
        (seed.job_name, seed.status) = (job_name.into(), status.into());
        seed
    }
}

/// The DataArts protocol; use it through [`DataArtsSim`].
pub struct DataArts {
    /// The options, every credential resolved (drawn if not given).
    opts: DataArtsOptions,
    /// The per-user limit quoted in 429 bodies.
    throttle_limit: u32,
    store: Mutex<Store>,
    request_ids: Mutex<SplitMix64>,
    /// The AK/SK-signed requests that passed verification, oldest first.
    signed: Mutex<Vec<SignedRequest>>,
}

/// A running DataArts simulator (the DLF API and IAM).
pub type DataArtsSim = Sim<DataArts>;

/// Configures a [`DataArtsSim`]; its `Debug` masks the credentials.
pub type DataArtsSimBuilder = SimBuilder<DataArts>;

declare! {
    /// The DataArts simulator's own settings, set through
    /// [`DataArtsSimBuilder`] (its setters' defaults and behaviour: the
    /// crate README, "The DataArts simulator", Builder); its `Debug` masks
    /// the credentials. [`SimBuilder`]'s `rate_limit` is per account (the
    /// AK or the token; documented: 30 per second per user).
    #[derive(Debug, Clone)]
    pub struct DataArtsOptions in SimBuilder<DataArts>, [options.] {
        /// The project id in every path (empty: drawn).
        project_id: String = String::new() => project_id(into String);
        /// The project's name (the region), accepted in token scopes.
        project_name: String = "cn-north-4".to_owned() => project_name(into String);
        /// The workspace the seeded jobs live in (the `workspace` header).
        workspace: String = DEFAULT_WORKSPACE.to_owned() => workspace(into String);
        /// How many real-time jobs to generate, `NORMAL` and `STOPPED`.
        realtime: (usize, usize) = (0, 0)
            => realtime_jobs(running: usize, stopped: usize) |f| *f = (running, stopped);
        /// How many batch jobs to generate (`job_batch_0001`…).
        batch_jobs: usize = 0 => batch_jobs(usize);
        /// How many instances to generate, over the workspace's batch jobs.
        instances: usize = 0 => instances(usize);
        /// How many of the generated instances (the newest) are `running`.
        running_instances: Option<usize> = None => running_instances(some usize);
        /// Adds a job after the generated ones (before the generated instances).
        jobs: Vec<JobSeed> = Vec::new() => insert_job(seed: JobSeed) |f| f.push(seed);
        /// Adds an instance after the generated ones (its job is created if
        /// missing).
        instance_seeds: Vec<InstanceSeed> = Vec::new()
            => insert_instance(seed: InstanceSeed) |f| f.push(seed);
        /// A static token accepted in `X-Auth-Token` besides IAM tokens
        /// (empty: drawn).
        static_token: Secret = Secret::from("") => static_token(into Secret);
        /// The access key id and secret access key.
        ak_sk: (Secret, Secret) = (Secret::from(""), Secret::from(""))
            => ak_sk(ak: impl Into<String>, sk: impl Into<String>)
                |f| *f = (Secret(ak.into()), Secret(sk.into()));
        /// The IAM user that can get tokens: name, password, domain name.
        iam: (String, Secret, String) =
            ("jobstop_sim".to_owned(), Secret::from(""), "jobstop_sim_account".to_owned())
            => iam_user(
                name: impl Into<String>, password: impl Into<String>, domain: impl Into<String>
            ) |f| *f = (name.into(), Secret(password.into()), domain.into());
        /// How long IAM tokens live.
        token_ttl: Duration = Duration::from_secs(24 * 3600) => token_ttl(Duration);
        /// How long a started real-time job stays `STARTING`.
        start_delay: Duration = Duration::from_millis(200) => start_delay(Duration);
        /// How long instances that progress on their own stay `waiting`, then
        /// `running`.
        durations: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(1))
            => instance_durations(waiting: Duration, running: Duration) |f| *f = (waiting, running);
        /// Makes seeded and inserted instances progress too, this long after
        /// the start (or their insertion).
        seeded_instances_finish_after: Option<Duration> = None
            => seeded_instances_finish_after(Option<Duration>);
        /// The share (0–100) of instances that end `fail` on their own.
        fail_percent: u8 = 0 => instance_fail_percent(percent: u8) |f| *f = percent.min(100);
        /// Serves these readings (on top of those already set).
        readings: Vec<Reading> = Vec::new()
            => readings(r: impl IntoIterator<Item = Reading>) |f| f.extend(r);
        /// The `error_code` of stopping what does not run (an inference;
        /// avoid `DLF.0100`, `DLF.0137` and `DLF.0810`: "not found").
        not_running_code: String = "DLF.0102".to_owned() => not_running_code(into String);
    }
}

impl DataArtsOptions {
    /// Whether `reading` is served.
    pub(crate) fn reads(&self, reading: Reading) -> bool {
        self.readings.contains(&reading)
    }
}

impl VendorSim for DataArts {
    const VENDOR: &'static str = "dataarts";
    /// None: fault routes match the whole path, e.g.
    /// `Route::post("/v1/*/jobs/*/stop")`.
    const PREFIX: &'static str = "";
    type Options = DataArtsOptions;

    fn new(common: &Common, mut o: DataArtsOptions) -> Self {
        let mut creds = SplitMix64::stream(common.seed, 24);
        if o.project_id.is_empty() {
            o.project_id = format!("{:016x}{:016x}", creds.next_u64(), creds.next_u64());
        }
        // Each secret not given is drawn, in this order, from `creds`.
        let mut draw = |s: &mut Secret, prefix: &str, len, case: fn(&str) -> String| {
            if s.0.is_empty() {
                s.0 = case(&format!("{prefix}{}", creds.alphanumeric(len)));
            }
        };
        draw(&mut o.static_token, "MIIsim", 250, str::to_owned);
        draw(&mut o.ak_sk.0, "", 20, str::to_ascii_uppercase);
        draw(&mut o.ak_sk.1, "", 40, str::to_owned);
        draw(&mut o.iam.1, "Sim-", 16, str::to_owned);
        let jobs = std::mem::take(&mut o.jobs);
        let instances = std::mem::take(&mut o.instance_seeds);
        let mut store = Store::new(o.clone(), common);
        store.seed_realtime(o.realtime.0, o.realtime.1);
        store.seed_batch(o.batch_jobs);
        jobs.into_iter().for_each(|seed| _ = store.insert_job(seed));
        let running = o.running_instances.unwrap_or(o.instances / 10);
        store.seed_instances(o.instances, running.min(o.instances));
        for seed in instances {
            if store.insert_instance(seed.clone()).is_none() {
                let mut job = JobSeed::batch(seed.job_name.clone(), "SCHEDULING");
                job.workspace = seed.workspace.clone();
                store.insert_job(job);
                store.insert_instance(seed);
            }
        }
        DataArts {
            opts: o,
            throttle_limit: common.rate_limit.map_or(30, |r| r.per_second),
            store: Mutex::new(store),
            request_ids: Mutex::new(SplitMix64::stream(common.seed, 25)),
            signed: Mutex::new(Vec::new()),
        }
    }

    fn server(this: &Arc<Self>) -> SimServerBuilder {
        let errors = this.clone();
        let server = SimServer::builder(routes::dlf_router(this.clone()));
        let server = server.error_body(move |status, message| errors.error_body(status, message));
        server.account_key(|_, headers| routes::account(headers))
    }

    /// IAM, on its own port: its injected errors are Keystone-shaped; it has
    /// no rate limit.
    fn auth_server(this: &Arc<Self>) -> Option<SimServerBuilder> {
        let server = SimServer::builder(routes::iam_router(this.clone()));
        Some(
            server
                .error_body(routes::keystone_error)
                .account_key(|_, _| String::new()),
        )
    }

    /// `running` running real-time jobs and running batch instances;
    /// `finished` other instances over `max(3, finished / 4)` batch jobs,
    /// and 2 stopped real-time jobs.
    fn populate(o: &mut DataArtsOptions, p: &Population) {
        o.realtime = (p.running, 2);
        o.batch_jobs = (p.finished / 4).max(3);
        o.instances = p.finished + p.running;
        o.running_instances = Some(p.running);
    }

    /// The AK/SK set (what the binary exports).
    fn settings(sim: &DataArtsSim) -> Settings {
        sim.settings_with(vec![
            ("ak", sim.ak().to_owned()),
            ("sk", sim.sk().to_owned()),
        ])
    }

    /// `token`, and `iam_url`, `username`, `password`, `domain`.
    fn alternatives(sim: &DataArtsSim) -> Settings {
        let token = [("token", sim.token().to_owned())];
        token.into_iter().chain(sim.iam()).collect()
    }

    /// The real-time job names, then the instances as `"{jobName}/{id}"`
    /// (the adapter's default listing), of the workspace.
    fn ids(&self) -> Vec<String> {
        let mut store = lock(&self.store);
        store.settle();
        let mut ids = store.job_names(JobType::RealTime);
        ids.extend(store.instance_ids(None));
        ids
    }

    one_liners! {
        /// An instance's `status` (`"job/id"`), or a job's as the job list shows it (`"job"`).
        fn raw_state(&self, id: &str) -> Option<String> = lock(&self.store).status_of(id);
        /// `"job"` for job stops, `"job/id"` for instance stops (decoded path segments).
        fn stop_requests(&self, id: Option<&str>) -> u64 = lock(&self.store).jobs.stop_requests(id);
    }

    /// A `running` instance of the first batch job, as
    /// `"{jobName}/{instanceId}"`.
    fn insert_running(&self) -> Option<String> {
        let mut store = lock(&self.store);
        let job = store.job_names(JobType::Batch).into_iter().next()?;
        let id = store.insert_instance(InstanceSeed::new(job.clone(), "running"))?;
        Some(format!("{job}/{id}"))
    }

    /// A listing that never ends (see [`crate::endless`]): the job listings'
    /// `total` is 10¹² and every page is full.
    fn endless(page_size: usize, runs: EndlessRuns) -> FaultRule {
        let ids = &["name", "jobName", "instanceId"];
        let route = Route::get("/v1/*/jobs");
        endless::huge_total(page_size, runs, ids, "jobs", "total", route)
    }
}

/// DataArts' own accessors and test hooks (besides [`Sim`]'s; `server()`
/// and `faults()` are the DLF server's; the crate README lists them).
impl Sim<DataArts> {
    one_liners! {
        /// The IAM root, `http://127.0.0.1:PORT` (the route is `/v3/auth/tokens`).
        pub fn iam_url(&self) -> String = self.auth_server().unwrap_or(self.server()).base_url();
        /// The jobs of type `job_type` of the workspace, in listing order.
        pub fn job_names(&self, job_type: JobType) -> Vec<String> = self.store().job_names(job_type);
        /// The workspace's instances (only those whose `status` is exactly
        /// `status`, if given) as `"{jobName}/{instanceId}"`, in listing order.
        pub fn instance_ids(&self, status: Option<&str>) -> Vec<String> =
            self.store().instance_ids(status);
        /// The job as `GET /v1/{p}/jobs/{name}` shows it now.
        pub fn job_json(&self, name: &str) -> Option<Value> =
            self.store().job_detail(self.workspace(), name).ok();
        /// The instance as `GET /v1/{p}/jobs/{job}/instances/{id}` shows it now.
        pub fn instance_json(&self, job: &str, id: u64) -> Option<Value> =
            self.store().instance_detail(self.workspace(), job, &id.to_string()).ok();
        /// The AK/SK-signed requests that passed verification, oldest first (the last 10,000).
        pub fn signed_requests(&self) -> Vec<SignedRequest> = lock(&self.vendor.signed).clone();
        /// How many IAM tokens were granted.
        pub fn token_grants(&self) -> u64 = lock(&self.vendor.store).tokens.granted();
        /// Makes every IAM token granted so far expired.
        pub fn expire_tokens(&self) = lock(&self.vendor.store).tokens.expire_all();
        /// How many AK/SK-signed requests were rejected.
        pub fn signature_failures(&self) -> u64 = lock(&self.vendor.store).signature_failures;
    }

    accessors! {
        /// The project id.
        project_id: opts.project_id;
        /// The workspace the seeded jobs live in.
        workspace: opts.workspace;
    }

    one_liners! {
        /// The static token (accepted in `X-Auth-Token`).
        pub fn token(&self) -> &str = self.vendor.opts.static_token.expose();
        /// The access key id.
        pub fn ak(&self) -> &str = self.vendor.opts.ak_sk.0.expose();
        /// The secret access key.
        pub fn sk(&self) -> &str = self.vendor.opts.ak_sk.1.expose();
        /// The IAM user name.
        pub fn username(&self) -> &str = &self.vendor.opts.iam.0;
        /// The IAM user's password.
        pub fn password(&self) -> &str = self.vendor.opts.iam.1.expose();
        /// The IAM user's domain (account) name.
        pub fn domain(&self) -> &str = &self.vendor.opts.iam.2;
    }

    /// `base_url`, `project_id` and `workspace` (unless `default`), then
    /// `auth`, by the keys of the adapter's config.
    fn settings_with(&self, auth: Settings) -> Settings {
        let ws = Some(self.workspace()).filter(|w| *w != DEFAULT_WORKSPACE);
        let ws = ws.map(|w| ("workspace", w.to_owned()));
        let base = [
            ("base_url", self.base_url()),
            ("project_id", self.project_id().to_owned()),
        ];
        base.into_iter().chain(ws).chain(auth).collect()
    }

    /// `iam_url`, `username`, `password` and `domain`.
    fn iam(&self) -> Settings {
        let user = [self.username(), self.password(), self.domain()].map(str::to_owned);
        let user = ["username", "password", "domain"].into_iter().zip(user);
        std::iter::once(("iam_url", self.iam_url()))
            .chain(user)
            .collect()
    }

    /// The token settings as variables: `JOBSTOP_DATAARTS_BASE_URL`,
    /// `_PROJECT_ID`, `_WORKSPACE` (unless `default`), then `_TOKEN`
    /// ([`Sim::env`] has `_AK` and `_SK` instead).
    pub fn env_token(&self) -> Vec<(String, String)> {
        let token = vec![("token", self.token().to_owned())];
        crate::env_vars(DataArts::VENDOR, self.settings_with(token))
    }

    /// The IAM user's settings as variables: those of
    /// [`env_token`](Self::env_token) but `_IAM_URL`, `_USERNAME`,
    /// `_PASSWORD`, `_DOMAIN` instead of `_TOKEN`.
    pub fn env_iam(&self) -> Vec<(String, String)> {
        crate::env_vars(DataArts::VENDOR, self.settings_with(self.iam()))
    }

    /// The store, settled.
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        let mut store = lock(&self.vendor.store);
        store.settle();
        store
    }

    store_calls! {
        /// Adds a job (replacing one of the same name); returns its name.
        insert_job(seed: JobSeed) -> String;
        /// Adds an instance; its id, or `None` if its job does not exist.
        insert_instance(seed: InstanceSeed) -> Option<u64>;
        /// Sets the raw status of a job (`"name"`) or an instance
        /// (`"job/id"`) and drops its pending changes; `false` if there is
        /// none.
        set_status(run_id: &str, raw: &str) -> bool;
        /// Applies the next pending change of a job (`"name"`) or an
        /// instance (`"job/id"`) now; `false` if there is none.
        advance(run_id: &str) -> bool;
    }
}

/// The job and instance objects in a successful DLF answer, for
/// [`Fault::MapJson`](crate::Fault::MapJson) rewrites: the items of a listing's `jobs` or
/// `instances` array, or the answer itself when it is one object.
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    let lists = ["jobs", "instances"];
    if body.is_object() && lists.iter().all(|k| body.get(k).is_none()) {
        return vec![body];
    }
    let Value::Object(m) = body else {
        return Vec::new();
    };
    let items = m.iter_mut().filter(|(k, _)| lists.contains(&k.as_str()));
    items
        .filter_map(|(_, v)| v.as_array_mut())
        .flatten()
        .collect()
}
