//! The DataArts Studio (DataArts Factory, DLF) jobs simulator (VENDOR-NOTES
//! section 3; the seed page `dataarts-stop-job.rst`).
//!
//! Two servers, as in production: the DLF API (`/v1/{project_id}/jobs…`,
//! IAM-token or AK/SK-signed) and a separate IAM (`POST /v3/auth/tokens`).
//! See the crate README for the behaviour, the switches and which parts are
//! documented fact and which are inference; [`signing`] is the reference
//! AK/SK signer the simulator verifies requests with.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use jobstop_sim::dataarts::DataArtsSim;
//!
//! let sim = DataArtsSim::builder()
//!     .seed(7)
//!     .realtime_jobs(2, 1)
//!     .batch_jobs(4)
//!     .instances(20)
//!     .running_instances(3)
//!     .start()
//!     .await?;
//! assert_eq!(sim.realtime_job_names().len(), 3);
//! assert_eq!(sim.batch_job_names().len(), 4);
//! assert_eq!(sim.instance_ids_with_status("running").len(), 3);
//! let run = &sim.instance_ids()[0]; // like "job_batch_0003/347651234"
//! let (job, id) = run.split_once('/').unwrap();
//! let detail = sim.instance_json(job, id.parse().unwrap()).unwrap();
//! assert_eq!(detail["jobName"], job);
//! # Ok(())
//! # }
//! ```

mod routes;
pub mod signing;
mod store;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{
    Faults, MASK, RateLimit, Settings, SimClock, SimServer, SplitMix64, default_epoch, lock,
};
use routes::{HttpConfig, Sim};
use store::{DEFAULT_WORKSPACE, Store, StoreConfig};

/// The vendor, as the adapter's config names it.
pub const VENDOR: &str = "dataarts";

/// The error code for stopping a job or instance that is not running, by
/// default (undocumented: an inference; see
/// [`DataArtsSimBuilder::not_running_code`]).
pub const DEFAULT_NOT_RUNNING_CODE: &str = "DLF.0102";
/// The error code for starting a job that already runs (undocumented: an
/// inference).
pub const ALREADY_RUNNING_CODE: &str = "DLF.0103";
/// The default project name (the region), accepted in a token scope as
/// `{"project":{"name":…}}`.
pub const DEFAULT_PROJECT_NAME: &str = "cn-north-4";

/// A DLF job's `jobType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JobType {
    /// `BATCH`: scheduled; its runs are instances.
    #[default]
    Batch,
    /// `REAL_TIME`: a long-running (streaming) job, itself the run.
    RealTime,
}

impl JobType {
    /// The wire value: `BATCH` or `REAL_TIME`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Batch => "BATCH",
            JobType::RealTime => "REAL_TIME",
        }
    }

    /// Parses the wire value (exactly `BATCH` or `REAL_TIME`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BATCH" => Some(JobType::Batch),
            "REAL_TIME" => Some(JobType::RealTime),
            _ => None,
        }
    }
}

/// What stopping a `waiting` instance does (undocumented: the API doc says
/// only `running` instances can be stopped; the UI says a waiting one can be
/// canceled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitingStop {
    /// 204, and the instance becomes `manual-stop`.
    #[default]
    Cancel,
    /// 400 with the not-running code, like a finished instance.
    Reject,
}

/// How `offset` of `GET /jobs` and `GET /jobs/instances/detail` is read.
/// HSDK (`list_jobs_request.py`, `list_job_instances_request.py`: "分页参数：
/// 页数") and OTC ("Start page") document a page number; one third-party
/// client advances it by records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReading {
    /// `offset` is a page number from 0: records `offset * limit` onwards.
    #[default]
    PageNumber,
    /// `offset` is a record offset.
    RecordOffset,
}

/// How the job detail (`GET /jobs/{name}`) writes `createTime`: an int in
/// HSDK `show_job_response.py`, the string `"1695642745000"` in the OTC
/// example (`viewing_job_details.rst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateTimeFormat {
    /// A JSON number of epoch milliseconds.
    #[default]
    Number,
    /// A JSON string of epoch milliseconds.
    NumericString,
}

/// How the real-time status (`GET /jobs/{name}/status`) writes `starttime`,
/// `endTime` and `lastUpdateTime`: strings in HSDK
/// `show_job_status_response.py`, "Date" in the OTC page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusTimeFormat {
    /// Epoch milliseconds as a string, `"1718769600000"`.
    #[default]
    EpochMillisString,
    /// An ISO-8601 date, `"2024-06-19T04:00:00.000Z"`.
    DateString,
}

/// How instances write `executeTime`: milliseconds (an int) in HSDK
/// `job_instance.py` and in the OTC field table ("Long, ms"); the OTC
/// example of `viewing_a_job_instance_list.rst` shows `0.3` for an 18 s run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecuteTimeFormat {
    /// Milliseconds, a JSON integer.
    #[default]
    Millis,
    /// Minutes with one decimal, a JSON number (`0.3`).
    Minutes,
}

/// One AK/SK-signed request the simulator verified, as received: what a
/// test needs to re-sign it with another signer (the `authorization` header
/// holds the request's signature, never the secret key).
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

/// A job to add with [`DataArtsSimBuilder::insert_job`] or
/// [`DataArtsSim::insert_job`]. The status is kept verbatim, so any raw
/// string works.
///
/// ```
/// use jobstop_sim::dataarts::{JobSeed, JobType};
///
/// let rt = JobSeed::realtime("rt_weird", "EXCEPTION");
/// assert_eq!(rt.job_type, JobType::RealTime);
/// let batch = JobSeed::batch("nightly", "PAUSED").with_workspace("ws-2").with_owner("ana");
/// # let _ = batch;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobSeed {
    /// The job name.
    pub name: String,
    /// `BATCH` or `REAL_TIME`.
    pub job_type: JobType,
    /// The raw `status` (`SCHEDULING`, `NORMAL`, …).
    pub status: String,
    /// The workspace; default the simulator's.
    pub workspace: Option<String>,
    /// `createTime`; default generated before the epoch.
    pub create_time: Option<DateTime<Utc>>,
    /// `owner` and `createUser`; default picked from a list.
    pub owner: Option<String>,
    /// `path`; default picked from a list.
    pub path: Option<String>,
    /// `priority` (0–2); default random.
    pub priority: Option<u8>,
}

impl JobSeed {
    /// A batch job.
    pub fn batch(name: impl Into<String>, status: impl Into<String>) -> Self {
        JobSeed {
            name: name.into(),
            job_type: JobType::Batch,
            status: status.into(),
            ..JobSeed::default()
        }
    }

    /// A real-time job.
    pub fn realtime(name: impl Into<String>, status: impl Into<String>) -> Self {
        JobSeed {
            name: name.into(),
            job_type: JobType::RealTime,
            status: status.into(),
            ..JobSeed::default()
        }
    }

    /// Puts it in workspace `ws`.
    pub fn with_workspace(mut self, ws: impl Into<String>) -> Self {
        self.workspace = Some(ws.into());
        self
    }

    /// Sets `createTime`.
    pub fn with_create_time(mut self, t: DateTime<Utc>) -> Self {
        self.create_time = Some(t);
        self
    }

    /// Sets `owner` and `createUser`.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Sets `path`.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets `priority`.
    pub fn with_priority(mut self, p: u8) -> Self {
        self.priority = Some(p);
        self
    }
}

/// A job instance to add with [`DataArtsSimBuilder::insert_instance`] or
/// [`DataArtsSim::insert_instance`]. The status is kept verbatim.
///
/// ```
/// use jobstop_sim::dataarts::InstanceSeed;
///
/// let seed = InstanceSeed::new("job_batch_0001", "running").with_id(34_765);
/// assert_eq!(seed.status, "running");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceSeed {
    /// The job's name (a job of that name must exist in the workspace).
    pub job_name: String,
    /// The raw `status` (`waiting`, `running`, `success`, …).
    pub status: String,
    /// The workspace; default the simulator's.
    pub workspace: Option<String>,
    /// `instanceId`; default the next free one.
    pub instance_id: Option<u64>,
    /// `planTime`; default now.
    pub plan_time: Option<DateTime<Utc>>,
    /// `startTime`; default `planTime`.
    pub start_time: Option<DateTime<Utc>>,
    /// `endTime`; default `startTime` for `success`, `fail` and
    /// `manual-stop`, else absent.
    pub end_time: Option<DateTime<Utc>>,
    /// `instanceType` (0 general, 2 manual, 5 PatchData, 6 subjob, 7 once);
    /// default 0.
    pub instance_type: Option<u64>,
}

impl InstanceSeed {
    /// An instance of `job_name` in the raw status `status`.
    pub fn new(job_name: impl Into<String>, status: impl Into<String>) -> Self {
        InstanceSeed {
            job_name: job_name.into(),
            status: status.into(),
            ..InstanceSeed::default()
        }
    }

    /// Sets `instanceId`.
    pub fn with_id(mut self, id: u64) -> Self {
        self.instance_id = Some(id);
        self
    }

    /// Sets `planTime`.
    pub fn with_plan_time(mut self, t: DateTime<Utc>) -> Self {
        self.plan_time = Some(t);
        self
    }

    /// Sets `startTime`.
    pub fn with_start_time(mut self, t: DateTime<Utc>) -> Self {
        self.start_time = Some(t);
        self
    }

    /// Sets `endTime`.
    pub fn with_end_time(mut self, t: DateTime<Utc>) -> Self {
        self.end_time = Some(t);
        self
    }

    /// Sets `instanceType`.
    pub fn with_instance_type(mut self, t: u64) -> Self {
        self.instance_type = Some(t);
        self
    }

    /// Puts it in workspace `ws`.
    pub fn with_workspace(mut self, ws: impl Into<String>) -> Self {
        self.workspace = Some(ws.into());
        self
    }
}

/// Configures a [`DataArtsSim`]. Every setter has a default; see each. Its
/// `Debug` masks the token, the AK/SK and the password.
#[derive(Clone)]
pub struct DataArtsSimBuilder {
    seed: u64,
    project_id: Option<String>,
    project_name: String,
    workspace: String,
    realtime_running: usize,
    realtime_stopped: usize,
    batch_jobs: usize,
    instances: usize,
    running_instances: Option<usize>,
    jobs: Vec<JobSeed>,
    instance_seeds: Vec<InstanceSeed>,
    static_token: Option<String>,
    ak_sk: Option<(String, String)>,
    username: String,
    password: Option<String>,
    domain: String,
    token_ttl: Duration,
    start_delay: Duration,
    stop_delay: Duration,
    instance_waiting: Duration,
    instance_running: Duration,
    seeded_finish_after: Option<Duration>,
    fail_percent: u8,
    waiting_stop: WaitingStop,
    offset_reading: OffsetReading,
    create_time_format: CreateTimeFormat,
    status_time_format: StatusTimeFormat,
    execute_time_format: ExecuteTimeFormat,
    not_running_code: String,
    rate_limit: Option<RateLimit>,
    epoch: DateTime<Utc>,
}

impl Default for DataArtsSimBuilder {
    fn default() -> Self {
        DataArtsSimBuilder {
            seed: 1,
            project_id: None,
            project_name: DEFAULT_PROJECT_NAME.to_owned(),
            workspace: DEFAULT_WORKSPACE.to_owned(),
            realtime_running: 0,
            realtime_stopped: 0,
            batch_jobs: 0,
            instances: 0,
            running_instances: None,
            jobs: Vec::new(),
            instance_seeds: Vec::new(),
            static_token: None,
            ak_sk: None,
            username: "jobstop_sim".to_owned(),
            password: None,
            domain: "jobstop_sim_account".to_owned(),
            token_ttl: Duration::from_secs(24 * 3600),
            start_delay: Duration::from_millis(200),
            stop_delay: Duration::from_millis(300),
            instance_waiting: Duration::from_millis(200),
            instance_running: Duration::from_secs(1),
            seeded_finish_after: None,
            fail_percent: 0,
            waiting_stop: WaitingStop::Cancel,
            offset_reading: OffsetReading::PageNumber,
            create_time_format: CreateTimeFormat::Number,
            status_time_format: StatusTimeFormat::EpochMillisString,
            execute_time_format: ExecuteTimeFormat::Millis,
            not_running_code: DEFAULT_NOT_RUNNING_CODE.to_owned(),
            rate_limit: None,
            epoch: default_epoch(),
        }
    }
}

impl DataArtsSimBuilder {
    /// The seed for names, ids, times and default credentials. Default 1.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The project id in every path. Default: 32 hex digits from the seed.
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.project_id = Some(id.into());
        self
    }

    /// The project's name (the region), accepted in token scopes. Default
    /// `cn-north-4`.
    pub fn project_name(mut self, name: impl Into<String>) -> Self {
        self.project_name = name.into();
        self
    }

    /// The workspace the seeded jobs live in (requests must send it in the
    /// `workspace` header unless it is `default`). Default `default`.
    pub fn workspace(mut self, ws: impl Into<String>) -> Self {
        self.workspace = ws.into();
        self
    }

    /// How many real-time jobs to generate: `running` ones `NORMAL`,
    /// `stopped` ones `STOPPED` (names `rt_clickstream`, `rt_orders_cdc`,
    /// …). Default 0 and 0.
    pub fn realtime_jobs(mut self, running: usize, stopped: usize) -> Self {
        self.realtime_running = running;
        self.realtime_stopped = stopped;
        self
    }

    /// How many batch jobs to generate (`job_batch_0001`…; mostly
    /// `SCHEDULING`, some `PAUSED` or `STOPPED`, by seed). Default 0.
    pub fn batch_jobs(mut self, n: usize) -> Self {
        self.batch_jobs = n;
        self
    }

    /// How many instances to generate, spread over the batch jobs of the
    /// workspace (one batch job is created if there is none). Default 0.
    pub fn instances(mut self, n: usize) -> Self {
        self.instances = n;
        self
    }

    /// How many of the generated instances (the newest) are `running`.
    /// Default a tenth of [`DataArtsSimBuilder::instances`].
    pub fn running_instances(mut self, n: usize) -> Self {
        self.running_instances = Some(n);
        self
    }

    /// Adds a job after the generated ones (before the generated instances,
    /// which are spread over it too if it is a batch job of the workspace).
    pub fn insert_job(mut self, seed: JobSeed) -> Self {
        self.jobs.push(seed);
        self
    }

    /// Adds an instance after the generated ones. If its job does not
    /// exist, a `SCHEDULING` batch job of that name is created for it.
    pub fn insert_instance(mut self, seed: InstanceSeed) -> Self {
        self.instance_seeds.push(seed);
        self
    }

    /// A static token accepted in `X-Auth-Token` besides IAM tokens.
    /// Default: derived from the seed.
    pub fn static_token(mut self, token: impl Into<String>) -> Self {
        self.static_token = Some(token.into());
        self
    }

    /// The access key id and secret access key. Default: derived from the
    /// seed (20 and 40 characters).
    pub fn ak_sk(mut self, ak: impl Into<String>, sk: impl Into<String>) -> Self {
        self.ak_sk = Some((ak.into(), sk.into()));
        self
    }

    /// The IAM user that can get tokens: name, password, domain (account)
    /// name. Default `jobstop_sim`, a password from the seed,
    /// `jobstop_sim_account`.
    pub fn iam_user(
        mut self,
        name: impl Into<String>,
        password: impl Into<String>,
        domain: impl Into<String>,
    ) -> Self {
        self.username = name.into();
        self.password = Some(password.into());
        self.domain = domain.into();
        self
    }

    /// How long IAM tokens live. Default 24 h.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// How long a started real-time job stays `STARTING` before `NORMAL`.
    /// Default 200 ms.
    pub fn start_delay(mut self, d: Duration) -> Self {
        self.start_delay = d;
        self
    }

    /// How long a stopped real-time job stays `STOPPING` before `STOPPED`.
    /// Default 300 ms.
    pub fn stop_delay(mut self, d: Duration) -> Self {
        self.stop_delay = d;
        self
    }

    /// How long instances that progress on their own stay `waiting`, then
    /// `running`, before `success` (or `fail`). Default 200 ms and 1 s.
    pub fn instance_durations(mut self, waiting: Duration, running: Duration) -> Self {
        self.instance_waiting = waiting;
        self.instance_running = running;
        self
    }

    /// Makes seeded and inserted instances progress too: `running` ones
    /// finish this long after the start (or their insertion), `waiting` ones
    /// start running then. Default `None`: they keep their status.
    pub fn seeded_instances_finish_after(mut self, d: Option<Duration>) -> Self {
        self.seeded_finish_after = d;
        self
    }

    /// The share (0–100) of instances that end `fail` instead of `success`
    /// when they finish on their own (drawn per instance, from the seed).
    /// Default 0.
    pub fn instance_fail_percent(mut self, percent: u8) -> Self {
        self.fail_percent = percent.min(100);
        self
    }

    /// What stopping a `waiting` instance does. Default
    /// [`WaitingStop::Cancel`].
    pub fn waiting_stop(mut self, w: WaitingStop) -> Self {
        self.waiting_stop = w;
        self
    }

    /// How list calls read `offset`. Default [`OffsetReading::PageNumber`]
    /// (as documented).
    pub fn offset_reading(mut self, r: OffsetReading) -> Self {
        self.offset_reading = r;
        self
    }

    /// How the job detail writes `createTime`. Default
    /// [`CreateTimeFormat::Number`].
    pub fn create_time_format(mut self, f: CreateTimeFormat) -> Self {
        self.create_time_format = f;
        self
    }

    /// How the real-time status writes its times. Default
    /// [`StatusTimeFormat::EpochMillisString`].
    pub fn status_time_format(mut self, f: StatusTimeFormat) -> Self {
        self.status_time_format = f;
        self
    }

    /// How instances write `executeTime`. Default
    /// [`ExecuteTimeFormat::Millis`].
    pub fn execute_time_format(mut self, f: ExecuteTimeFormat) -> Self {
        self.execute_time_format = f;
        self
    }

    /// The `error_code` of the 400 for stopping a job or instance that is
    /// not running. Default `DLF.0102` (an inference; avoid `DLF.0100`,
    /// `DLF.0137` and `DLF.0810`, which mean "not found").
    pub fn not_running_code(mut self, code: impl Into<String>) -> Self {
        self.not_running_code = code.into();
        self
    }

    /// A per-account rate limit on the DLF API (the documented one is 30
    /// requests per second per user; off by default). The account is the AK
    /// or the token; 429s carry `APIGW.0308` and this limit.
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// The simulated wall time at start. Default
    /// [`default_epoch`](crate::default_epoch()) (`2024-06-19T04:00:00Z`), so
    /// names, ids and times depend on the seed only. (AK/SK signatures are
    /// checked against the real clock whatever the epoch.)
    pub fn epoch(mut self, epoch: DateTime<Utc>) -> Self {
        self.epoch = epoch;
        self
    }

    /// Starts both servers on `127.0.0.1:0`.
    pub async fn start(self) -> std::io::Result<DataArtsSim> {
        let mut creds = SplitMix64::stream(self.seed, 24);
        let project_id = self
            .project_id
            .unwrap_or_else(|| format!("{:016x}{:016x}", creds.next_u64(), creds.next_u64()));
        let static_token = self
            .static_token
            .unwrap_or_else(|| format!("MIIsim{}", creds.alphanumeric(250)));
        let (ak, sk) = self.ak_sk.unwrap_or_else(|| {
            let ak = creds.alphanumeric(20).to_ascii_uppercase();
            (ak, creds.alphanumeric(40))
        });
        let password = self
            .password
            .unwrap_or_else(|| format!("Sim-{}", creds.alphanumeric(16)));
        let clock = SimClock::starting_at(self.epoch);
        let mut store = Store::new(
            StoreConfig {
                workspace: self.workspace.clone(),
                project_id: project_id.clone(),
                start_delay: self.start_delay,
                stop_delay: self.stop_delay,
                waiting_for: self.instance_waiting,
                running_for: self.instance_running,
                seeded_finish_after: self.seeded_finish_after,
                fail_percent: self.fail_percent,
                waiting_stop: self.waiting_stop,
                offset_reading: self.offset_reading,
                create_time_format: self.create_time_format,
                status_time_format: self.status_time_format,
                execute_time_format: self.execute_time_format,
            },
            clock,
            self.seed,
        );
        store.seed_realtime(self.realtime_running, self.realtime_stopped);
        store.seed_batch(self.batch_jobs);
        for seed in self.jobs {
            store.insert_job(seed);
        }
        let running = self
            .running_instances
            .unwrap_or(self.instances / 10)
            .min(self.instances);
        store.seed_instances(self.instances, running);
        for seed in self.instance_seeds {
            if store.insert_instance(seed.clone()).is_none() {
                let mut job = JobSeed::batch(seed.job_name.clone(), store::SCHEDULING);
                job.workspace = seed.workspace.clone();
                store.insert_job(job);
                store.insert_instance(seed);
            }
        }
        let sim = Arc::new(Sim {
            cfg: HttpConfig {
                project_id,
                project_name: self.project_name,
                static_token,
                ak,
                sk,
                username: self.username,
                password,
                domain: self.domain,
                token_ttl: self.token_ttl,
                not_running_code: self.not_running_code,
                throttle_limit: self.rate_limit.map_or(30, |r| r.per_second),
            },
            store: Mutex::new(store),
            request_ids: Mutex::new(SplitMix64::stream(self.seed, 25)),
            signed: Mutex::new(Vec::new()),
        });
        let errors = sim.clone();
        let server = SimServer::builder(routes::dlf_router(sim.clone()))
            .clock(clock)
            .error_body(move |status, message| errors.error_body(status, message))
            .account_key(routes::account)
            .start()
            .await?;
        server.faults().set_rate_limit(self.rate_limit);
        let iam_server = SimServer::builder(routes::iam_router(sim.clone()))
            .clock(clock)
            .error_body(routes::keystone_error)
            .account_key(|_| String::new())
            .start()
            .await?;
        Ok(DataArtsSim {
            sim,
            server,
            iam_server,
            workspace: self.workspace,
        })
    }
}

impl fmt::Debug for DataArtsSimBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataArtsSimBuilder")
            .field("seed", &self.seed)
            .field("project_id", &self.project_id)
            .field("project_name", &self.project_name)
            .field("workspace", &self.workspace)
            .field("realtime_running", &self.realtime_running)
            .field("realtime_stopped", &self.realtime_stopped)
            .field("batch_jobs", &self.batch_jobs)
            .field("instances", &self.instances)
            .field("running_instances", &self.running_instances)
            .field("jobs", &self.jobs)
            .field("instance_seeds", &self.instance_seeds)
            .field("static_token", &self.static_token.as_ref().map(|_| MASK))
            .field("ak_sk", &self.ak_sk.as_ref().map(|_| (MASK, MASK)))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .field("domain", &self.domain)
            .field("token_ttl", &self.token_ttl)
            .field("start_delay", &self.start_delay)
            .field("stop_delay", &self.stop_delay)
            .field("instance_waiting", &self.instance_waiting)
            .field("instance_running", &self.instance_running)
            .field("seeded_finish_after", &self.seeded_finish_after)
            .field("fail_percent", &self.fail_percent)
            .field("waiting_stop", &self.waiting_stop)
            .field("offset_reading", &self.offset_reading)
            .field("create_time_format", &self.create_time_format)
            .field("status_time_format", &self.status_time_format)
            .field("execute_time_format", &self.execute_time_format)
            .field("not_running_code", &self.not_running_code)
            .field("rate_limit", &self.rate_limit)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// A running DataArts simulator (the DLF API and IAM). Dropping it stops
/// both servers. Its `Debug` shows the URLs, project and workspace only.
pub struct DataArtsSim {
    sim: Arc<Sim>,
    server: SimServer,
    iam_server: SimServer,
    workspace: String,
}

impl fmt::Debug for DataArtsSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataArtsSim")
            .field("base_url", &self.base_url())
            .field("iam_url", &self.iam_url())
            .field("project_id", &self.project_id())
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

impl DataArtsSim {
    /// A builder with the defaults (seed 1, workspace `default`, no jobs).
    pub fn builder() -> DataArtsSimBuilder {
        DataArtsSimBuilder::default()
    }

    /// The DLF API root, `http://127.0.0.1:PORT` (routes are under
    /// `/v1/{project_id}`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The IAM root, `http://127.0.0.1:PORT` (another port; the token route
    /// is `/v3/auth/tokens`).
    pub fn iam_url(&self) -> String {
        self.iam_server.base_url()
    }

    /// The project id.
    pub fn project_id(&self) -> &str {
        &self.sim.cfg.project_id
    }

    /// The workspace the seeded jobs live in.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The static token (accepted in `X-Auth-Token`).
    pub fn token(&self) -> &str {
        &self.sim.cfg.static_token
    }

    /// The access key id.
    pub fn ak(&self) -> &str {
        &self.sim.cfg.ak
    }

    /// The secret access key.
    pub fn sk(&self) -> &str {
        &self.sim.cfg.sk
    }

    /// The IAM user name.
    pub fn username(&self) -> &str {
        &self.sim.cfg.username
    }

    /// The IAM user's password.
    pub fn password(&self) -> &str {
        &self.sim.cfg.password
    }

    /// The IAM user's domain (account) name.
    pub fn domain(&self) -> &str {
        &self.sim.cfg.domain
    }

    /// `base_url`, `project_id` and `workspace` (only when not `default`),
    /// by the keys of the adapter's config.
    fn settings_common(&self) -> Settings {
        let mut settings = vec![
            ("base_url", self.base_url()),
            ("project_id", self.project_id().to_owned()),
        ];
        if self.workspace != DEFAULT_WORKSPACE {
            settings.push(("workspace", self.workspace.clone()));
        }
        settings
    }

    /// The common settings (`base_url`, `project_id`, `workspace` unless
    /// `default`) and `token`.
    pub fn settings_token(&self) -> Settings {
        let mut settings = self.settings_common();
        settings.push(("token", self.token().to_owned()));
        settings
    }

    /// The common settings and `ak`, `sk` (what the binary exports).
    pub fn settings_aksk(&self) -> Settings {
        let mut settings = self.settings_common();
        settings.push(("ak", self.ak().to_owned()));
        settings.push(("sk", self.sk().to_owned()));
        settings
    }

    /// The common settings and `iam_url`, `username`, `password`, `domain`.
    pub fn settings_iam(&self) -> Settings {
        let mut settings = self.settings_common();
        settings.push(("iam_url", self.iam_url()));
        settings.push(("username", self.username().to_owned()));
        settings.push(("password", self.password().to_owned()));
        settings.push(("domain", self.domain().to_owned()));
        settings
    }

    /// [`settings_token`](Self::settings_token) as `JOBSTOP_DATAARTS_*` variables.
    pub fn env_token(&self) -> Vec<(String, String)> {
        crate::env_vars(VENDOR, self.settings_token())
    }

    /// [`settings_aksk`](Self::settings_aksk) as `JOBSTOP_DATAARTS_*` variables.
    pub fn env_aksk(&self) -> Vec<(String, String)> {
        crate::env_vars(VENDOR, self.settings_aksk())
    }

    /// [`settings_iam`](Self::settings_iam) as `JOBSTOP_DATAARTS_*` variables.
    pub fn env_iam(&self) -> Vec<(String, String)> {
        crate::env_vars(VENDOR, self.settings_iam())
    }

    /// The DLF server: request log, connection count, faults. Fault routes
    /// match the whole path, e.g. `Route::post("/v1/*/jobs/*/stop")`.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The IAM server.
    pub fn iam_server(&self) -> &SimServer {
        &self.iam_server
    }

    /// The DLF server's fault script (shortcut for `server().faults()`).
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    fn names(&self, job_type: JobType) -> Vec<String> {
        let mut store = lock(&self.sim.store);
        store.settle();
        store
            .jobs_of(&self.workspace, Some(job_type))
            .into_iter()
            .map(|j| j.name.clone())
            .collect()
    }

    /// The real-time jobs of the workspace, in listing order (newest
    /// `createTime` first, then by name).
    pub fn realtime_job_names(&self) -> Vec<String> {
        self.names(JobType::RealTime)
    }

    /// The batch jobs of the workspace, in listing order.
    pub fn batch_job_names(&self) -> Vec<String> {
        self.names(JobType::Batch)
    }

    /// Every instance of the workspace as `"{jobName}/{instanceId}"`, in
    /// listing order (newest `planTime` first, then id descending).
    pub fn instance_ids(&self) -> Vec<String> {
        let mut store = lock(&self.sim.store);
        store.settle();
        store
            .instances_of(&self.workspace)
            .into_iter()
            .map(|r| format!("{}/{}", r.job_name, r.id))
            .collect()
    }

    /// [`DataArtsSim::instance_ids`] whose `status` is exactly `status`.
    pub fn instance_ids_with_status(&self, status: &str) -> Vec<String> {
        let mut store = lock(&self.sim.store);
        store.settle();
        store
            .instances_of(&self.workspace)
            .into_iter()
            .filter(|r| r.status == status)
            .map(|r| format!("{}/{}", r.job_name, r.id))
            .collect()
    }

    /// The job as `GET /v1/{p}/jobs/{name}` shows it now (workspace of the
    /// simulator).
    pub fn job_json(&self, name: &str) -> Option<Value> {
        lock(&self.sim.store).job_json(name)
    }

    /// The raw `status` of job `name` now, as the job list shows it (the
    /// detail has none).
    pub fn job_status(&self, name: &str) -> Option<String> {
        lock(&self.sim.store).job_status_raw(name)
    }

    /// The instance as `GET /v1/{p}/jobs/{job}/instances/{id}` shows it now.
    pub fn instance_json(&self, job: &str, id: u64) -> Option<Value> {
        lock(&self.sim.store).instance_json(job, id)
    }

    /// Adds a job (replacing one of the same name in its workspace);
    /// returns its name.
    pub fn insert_job(&self, seed: JobSeed) -> String {
        lock(&self.sim.store).insert_job(seed)
    }

    /// Adds an instance; its id, or `None` if its job does not exist.
    pub fn insert_instance(&self, seed: InstanceSeed) -> Option<u64> {
        lock(&self.sim.store).insert_instance(seed)
    }

    /// Sets the raw status of job `name` (e.g. `EXCEPTION`, as a fault) and
    /// drops its pending changes. `false` if there is no such job.
    pub fn set_job_status(&self, name: &str, raw: &str) -> bool {
        lock(&self.sim.store).set_job_status(name, raw)
    }

    /// Sets the raw status of instance `id` of `job` and drops its pending
    /// changes; `success`, `fail` and `manual-stop` set `endTime` if unset,
    /// other statuses remove it. `false` if there is no such instance.
    pub fn set_instance_status(&self, job: &str, id: u64, raw: &str) -> bool {
        lock(&self.sim.store).set_instance_status(job, id, raw)
    }

    /// Applies the next pending change of a job (`"name"`) or an instance
    /// (`"job/id"`) now, e.g. `STOPPING` → `STOPPED` without waiting.
    /// `false` if there is no such run or nothing pending.
    pub fn advance(&self, run_id: &str) -> bool {
        lock(&self.sim.store).advance(run_id)
    }

    /// How many stop requests for `run_id` reached the handler (they passed
    /// auth and the project check and were not answered by a fault first),
    /// whatever their answer: `"job"` for `POST …/jobs/{job}/stop`,
    /// `"job/id"` for `POST …/jobs/{job}/instances/{id}/stop` (decoded path
    /// segments).
    pub fn stop_requests(&self, run_id: &str) -> u64 {
        lock(&self.sim.store).stop_requests(run_id)
    }

    /// How many stop requests (jobs and instances) reached the handler.
    pub fn total_stop_requests(&self) -> u64 {
        lock(&self.sim.store).stop_total
    }

    /// The AK/SK-signed requests that passed verification, oldest first
    /// (the last 10,000).
    pub fn signed_requests(&self) -> Vec<SignedRequest> {
        lock(&self.sim.signed).clone()
    }

    /// How many IAM tokens were granted.
    pub fn token_grants(&self) -> u64 {
        lock(&self.sim.store).grants
    }

    /// Makes every IAM token granted so far expired (the static token is not
    /// affected).
    pub fn expire_tokens(&self) {
        lock(&self.sim.store).expire_tokens();
    }

    /// How many AK/SK-signed requests were rejected (unknown AK, bad
    /// signature, unsigned, missing or stale `X-Sdk-Date`, malformed
    /// `Authorization`).
    pub fn signature_failures(&self) -> u64 {
        lock(&self.sim.store).signature_failures
    }

    /// Shuts both servers down gracefully (see [`SimServer::shutdown`]).
    pub async fn shutdown(&self) {
        self.server.shutdown().await;
        self.iam_server.shutdown().await;
    }
}

/// The job and instance objects in a successful answer of this API, for
/// [`Fault::MapJson`](crate::Fault::MapJson) rewrites that damage every run:
/// the items of a listing's `jobs` or `instances` array, or the answer itself
/// when it is one object (a job's or an instance's detail, a real-time job's
/// `/status`). A `jobs`/`instances` that is not an array holds none.
///
/// ```
/// use jobstop_sim::dataarts::run_objects;
/// use serde_json::json;
///
/// let mut list = json!({"total": 2, "instances": [{"instanceId": 1}, {"instanceId": 2}]});
/// assert_eq!(run_objects(&mut list).len(), 2);
/// let mut one = json!({"name": "rt", "status": "NORMAL", "nodes": []});
/// assert_eq!(run_objects(&mut one).len(), 1);
/// ```
pub fn run_objects(body: &mut Value) -> Vec<&mut Value> {
    if body.get("jobs").is_some() || body.get("instances").is_some() {
        return match body {
            Value::Object(m) => m
                .iter_mut()
                .filter(|(k, _)| *k == "jobs" || *k == "instances")
                .filter_map(|(_, v)| v.as_array_mut())
                .flatten()
                .collect(),
            _ => Vec::new(),
        };
    }
    if body.is_object() {
        vec![body]
    } else {
        Vec::new()
    }
}
