//! The DataArts simulator's state: jobs and job instances per workspace,
//! their timelines, IAM tokens and counters; and how they look on the wire.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::DateTime;
use serde::Serialize;
use serde_json::{Value, json};

use super::{DEFAULT_STOP_DELAY, DataArtsOptions, InstanceSeed, JobSeed, JobType, Reading};
use crate::data::{self, Data, text, without_nulls};
use crate::store::{Runs, Tokens};
use crate::{Common, SimClock, SplitMix64, Timeline};

/// The workspace of requests without a `workspace` header.
pub(crate) const DEFAULT_WORKSPACE: &str = "default";

// Instance statuses (VENDOR-NOTES 3.3).
pub(crate) const WAITING: &str = "waiting";
pub(crate) const RUNNING: &str = "running";
pub(crate) const SUCCESS: &str = "success";
pub(crate) const FAIL: &str = "fail";
pub(crate) const MANUAL_STOP: &str = "manual-stop";
pub(crate) const FORCE_SUCCESS: &str = "forceSuccess";
pub(crate) const IGNORE_SUCCESS: &str = "ignoreSuccess";
pub(crate) const SKIP_BY_DEPEND: &str = "skip-by-depend";

// Job statuses.
pub(crate) const STARTING: &str = "STARTING";
pub(crate) const NORMAL: &str = "NORMAL";
pub(crate) const EXCEPTION: &str = "EXCEPTION";
pub(crate) const STOPPING: &str = "STOPPING";
pub(crate) const STOPPED: &str = "STOPPED";
pub(crate) const SCHEDULING: &str = "SCHEDULING";
pub(crate) const PAUSED: &str = "PAUSED";

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The widest plan-time window of an instance listing (HSDK
/// `list_job_instances_request.py`: "不超过7天", at most 7 days).
pub(crate) const MAX_PLAN_WINDOW: i64 = 7 * DAY;

/// The seeding tables, shares and fixed detail fields
/// (`data/dataarts/seed.json`).
pub(crate) static SEED: LazyLock<Value> =
    LazyLock::new(|| data::parse(include_str!("../../data/dataarts/seed.json")));

/// A change waiting on a timeline: the status it leads to. A job's `NORMAL`
/// (from `STARTING`) or `STOPPED` (from `STOPPING`); an instance's `running`
/// (from `waiting`, its end due after the run time) or its end, `success`
/// (from `running`; `fail` if it fails).
type Change = &'static str;

/// A job; serialized, the fixed part of its job list item (HSDK
/// `huaweicloudsdkdgc/v1/model/job_result.py`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobRecord {
    pub(crate) name: String,
    #[serde(skip)]
    pub(crate) workspace: String,
    pub(crate) job_type: JobType,
    pub(crate) status: String,
    #[serde(skip)]
    job_id: u64,
    create_user: String,
    pub(crate) create_time: i64,
    priority: u8,
    start_time: Option<i64>,
    end_time: Option<i64>,
    /// When it was last changed: created, edited, or its status set.
    last_update_time: i64,
    last_update_user: String,
    path: String,
    #[serde(skip)]
    version: u64,
    /// `(name, type)` of each node.
    #[serde(skip)]
    nodes: Vec<(String, String)>,
    #[serde(skip)]
    timeline: Timeline<Change>,
}

impl JobRecord {
    /// Sets the status at `wall`, dropping pending changes.
    fn set(&mut self, status: &str, wall: i64) {
        (self.status, self.last_update_time) = (status.to_owned(), wall);
        self.timeline.clear();
    }
}

/// An instance; serialized, the fields its list item and detail share.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceRecord {
    #[serde(rename = "instanceId")]
    pub(crate) id: u64,
    #[serde(skip)]
    pub(crate) workspace: String,
    pub(crate) job_name: String,
    pub(crate) status: String,
    pub(crate) plan_time: i64,
    start_time: i64,
    end_time: Option<i64>,
    pub(crate) instance_type: u64,
    /// Whether it ends `fail` rather than `success` when it finishes.
    #[serde(skip)]
    fails: bool,
    #[serde(skip)]
    timeline: Timeline<Change>,
}

/// Why a DLF operation failed: its `error_code` ([`NOT_RUNNING`] stands for
/// the configured one) and `error_msg` (OTC `api-ref/source/appendix/error_codes/`).
pub(crate) type DlfError = (&'static str, &'static str);
pub(crate) const NOT_RUNNING: &str = "not running";
pub(crate) const JOB_NOT_FOUND: DlfError = ("DLF.0100", "The job does not exists.");
pub(crate) const INSTANCE_NOT_FOUND: DlfError = ("DLF.0137", "The job instance does not exist.");
const JOB_NOT_RUNNING: DlfError = (NOT_RUNNING, "The job is not running.");
const INSTANCE_NOT_RUNNING: DlfError = (NOT_RUNNING, "The job instance is not running.");
/// Starting a job that already runs (undocumented: an inference).
const ALREADY_RUNNING: DlfError = ("DLF.0103", "The job is already running.");
const REALTIME_ONLY: DlfError = ("DLF.0136", "This API is only for real-time jobs.");
const BATCH_ONLY: DlfError = ("DLF.0136", "This API is only for batch jobs.");
/// Every invalid request parameter.
pub(crate) const INVALID: DlfError = ("DLF.3051", "The request parameter is invalid.");

/// Default and largest page of `GET /jobs` (OTC `viewing_a_job_list.rst`:
/// `limit` 1 to 100, default 10). A `limit` out of range is refused with
/// [`INVALID`].
const JOBS_LIMIT: (usize, usize) = (10, 100);
/// Default and largest page of `GET /jobs/instances/detail` (OTC
/// `viewing_a_job_instance_list.rst`: "The parameter value ranges from 1 to
/// 1000", default 10). Out of range: refused, as above.
const INSTANCES_LIMIT: (usize, usize) = (10, 1000);

pub(crate) type Query = [(String, String)];

/// The first non-empty value of query parameter `name`.
fn param<'a>(q: &'a Query, name: &str) -> Option<&'a str> {
    let v = q.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    v.filter(|v| !v.is_empty())
}

/// A parameter parsed with `parse`, `None` if absent.
fn parsed<T>(
    q: &Query,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, DlfError> {
    param(q, name).map(|v| parse(v).ok_or(INVALID)).transpose()
}

/// A non-negative integer (digits only): a parameter, an instance id.
fn digits(v: &str) -> Option<u64> {
    v.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| v.parse().ok())?
}

#[derive(Debug)]
pub(crate) struct Store {
    /// The settings (without the seeds).
    cfg: DataArtsOptions,
    stop_delay: Duration,
    clock: SimClock,
    /// `(workspace, name)` → job; its stop counters count job and instance
    /// stops (`"job"`, `"job/id"`).
    pub(crate) jobs: Runs<(String, String), JobRecord>,
    instances: Runs<u64, InstanceRecord>,
    next_instance: u64,
    /// Generated data and runtime draws (`ids`) and IAM tokens (`secrets`).
    ids: SplitMix64,
    secrets: SplitMix64,
    pub(crate) tokens: Tokens,
    pub(crate) signature_failures: u64,
}

/// The instance statuses that are over (HSDK `job_instance.py`: the success
/// variants, `fail`, `manual-stop`, and `skip-by-depend`, which never runs).
fn is_terminal_instance(status: &str) -> bool {
    let over = [SUCCESS, FORCE_SUCCESS, IGNORE_SUCCESS, SKIP_BY_DEPEND, FAIL];
    over.contains(&status) || status == MANUAL_STOP
}

/// The page of `items` that `offset` and `limit` ask for: `limit` within
/// `1..=max`, `offset` ≥ 0, a page number (or a record offset under
/// [`Reading::RecordOffset`]).
fn page<'a, T>(
    items: &'a [T],
    q: &Query,
    cfg: &DataArtsOptions,
    (default, max): (usize, usize),
) -> Result<&'a [T], DlfError> {
    let limit = parsed(q, "limit", digits)?.unwrap_or(default as u64);
    if limit == 0 || limit > max as u64 {
        return Err(INVALID);
    }
    let offset = parsed(q, "offset", digits)?.unwrap_or(0);
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let (limit, record) = (limit as usize, cfg.reads(Reading::RecordOffset));
    let first = offset.saturating_mul(if record { 1 } else { limit });
    let rest = items.get(first..).unwrap_or_default();
    Ok(&rest[..limit.min(rest.len())])
}

fn key(ws: &str, name: &str) -> (String, String) {
    (ws.to_owned(), name.to_owned())
}

impl Store {
    pub(crate) fn new(cfg: DataArtsOptions, common: &Common) -> Self {
        let (seed, clock) = (common.seed, common.clock);
        let mut ids = SplitMix64::stream(seed, 21);
        Store {
            cfg,
            stop_delay: common.stop_delay.unwrap_or(DEFAULT_STOP_DELAY),
            clock,
            jobs: Runs::default(),
            instances: Runs::default(),
            next_instance: 347_650_000 + ids.below(10_000),
            ids,
            secrets: SplitMix64::stream(seed, 23),
            tokens: Tokens::default(),
            signature_failures: 0,
        }
    }

    one_liners! {
        fn now_ms(&self) -> i64 = self.clock.now().timestamp_millis();
        fn epoch_ms(&self) -> i64 = self.clock.epoch().timestamp_millis();
        fn insert_record(&mut self, job: JobRecord) =
            self.jobs.insert(key(&job.workspace, &job.name), job);
        fn job(&self, ws: &str, name: &str) -> Option<&JobRecord> = self.jobs.get(&key(ws, name));
        fn ws_or(&self, ws: &Option<String>) -> String =
            ws.clone().unwrap_or_else(|| self.cfg.workspace.clone());
    }

    /// Adds `running` `NORMAL` and `stopped` `STOPPED` real-time jobs to the
    /// configured workspace.
    pub(crate) fn seed_realtime(&mut self, running: usize, stopped: usize) {
        let names = SEED.table("realtime_names");
        let rotate = self.ids.below(names.len() as u64) as usize;
        for i in 0..running + stopped {
            let base = text(&names[(i + rotate) % names.len()]);
            let name = match i / names.len() {
                0 => base,
                round => format!("{base}_{}", round + 1),
            };
            let status = if i < running { NORMAL } else { STOPPED };
            self.insert_job(JobSeed::realtime(name, status));
        }
    }

    /// Adds `n` batch jobs (`job_batch_0001`…) to the configured workspace.
    pub(crate) fn seed_batch(&mut self, n: usize) {
        for i in 1..=n {
            let status = SEED.weighted(&mut self.ids, "batch_statuses").as_str();
            let status = status.unwrap_or(SCHEDULING);
            self.insert_job(JobSeed::batch(format!("job_batch_{i:04}"), status));
        }
    }

    /// Adds a job from a seed (replacing one of the same name in the same
    /// workspace), what the seed leaves open generated; returns its name.
    pub(crate) fn insert_job(&mut self, seed: JobSeed) -> String {
        let workspace = self.ws_or(&seed.workspace);
        let (epoch, ids) = (self.epoch_ms(), &mut self.ids);
        let generated = epoch - ids.range(2 * DAY as u64, 200 * DAY as u64) as i64;
        let create_time = seed.create_time.map_or(generated, |t| t.timestamp_millis());
        let last_update_time = match seed.create_time {
            Some(_) => create_time,
            None => create_time + ids.below((epoch - create_time).max(1) as u64) as i64,
        };
        let create_user = seed.owner.unwrap_or_else(|| text(SEED.pick(ids, "users")));
        let (table, count) = match seed.job_type {
            JobType::RealTime => ("realtime_nodes", 1),
            JobType::Batch => ("batch_nodes", ids.range(1, 3)),
        };
        // `(name, type)`: a type from the table, named after it.
        let mut nodes = Vec::new();
        for _ in 0..count {
            let e = SEED.pick(ids, table);
            nodes.push((
                format!("{}_{}", text(&e[0]), ids.range(1000, 9999)),
                text(&e[1]),
            ));
        }
        // A real-time job runs since its creation; a stopped one ended then.
        let real_time = seed.job_type == JobType::RealTime;
        let mut job = JobRecord {
            workspace,
            job_id: ids.range(600_000, 699_999),
            create_user,
            create_time,
            priority: seed.priority.unwrap_or_else(|| ids.below(3) as u8),
            start_time: real_time.then_some(create_time),
            end_time: (real_time && seed.status == STOPPED).then_some(create_time),
            last_update_time,
            last_update_user: text(SEED.pick(ids, "users")),
            path: seed.path.unwrap_or_else(|| text(SEED.pick(ids, "paths"))),
            version: ids.range(1, 5),
            nodes,
            timeline: Timeline::new(),
            name: seed.name,
            job_type: seed.job_type,
            status: seed.status,
        };
        let (now, start, stop) = (Instant::now(), self.cfg.start_delay, self.stop_delay);
        match (real_time, job.status.as_str()) {
            (true, STARTING) => job.timeline.push_after(now, start, NORMAL),
            (true, STOPPING) => job.timeline.push_after(now, stop, STOPPED),
            _ => {}
        }
        let name = job.name.clone();
        self.insert_record(job);
        name
    }

    /// Adds `n` instances spread over the batch jobs of the configured
    /// workspace (one `job_batch_0001` is created if there is none): the
    /// `running` newest are `running`, the others finished (shares in
    /// [`SEED`]). Each is an [`InstanceSeed`] inserted as the tests' are.
    pub(crate) fn seed_instances(&mut self, n: usize, running: usize) {
        let mut names = self.job_names(JobType::Batch);
        if n > 0 && names.is_empty() {
            names.push(self.insert_job(JobSeed::batch("job_batch_0001", SCHEDULING)));
        }
        let epoch = self.epoch_ms();
        // Each job runs every 15 minutes, hour or day, at a fixed offset:
        // `(interval, its last plan time by the epoch)`.
        let mut schedules = Vec::with_capacity(names.len());
        for _ in &names {
            let minutes = SEED.pick(&mut self.ids, "intervals_minutes").as_i64();
            let interval = minutes.unwrap_or(15) * MINUTE;
            let offset = self.ids.below((interval / MINUTE) as u64) as i64 * MINUTE;
            let last = epoch - epoch.rem_euclid(interval) + offset;
            schedules.push((interval, last - interval * i64::from(last > epoch)));
        }
        let mut planned: Vec<(i64, usize)> = (0..n)
            .map(|i| {
                let (j, k) = (i % names.len(), (i / names.len()) as i64);
                (schedules[j].1 - k * schedules[j].0, j)
            })
            .collect();
        // Oldest first, so ids grow with plan time and the last `running`
        // are the running ones.
        planned.sort();
        let ms = |t| DateTime::from_timestamp_millis(t).unwrap_or_default();
        for (i, &(plan, j)) in planned.iter().enumerate() {
            let status = match i + running >= n {
                true => Some(RUNNING),
                false => SEED.weighted(&mut self.ids, "finished_statuses").as_str(),
            };
            let status = status.unwrap_or(SUCCESS);
            let start = plan + self.ids.below(30 * SECOND as u64) as i64;
            let took = self.ids.range(5 * SECOND as u64, 40 * MINUTE as u64) as i64;
            let end = (start + took).min(epoch - SECOND).max(start);
            let mut seed = InstanceSeed::new(names[j].clone(), status);
            (seed.plan_time, seed.start_time) = (Some(ms(plan)), Some(ms(start)));
            seed.end_time = is_terminal_instance(status).then(|| ms(end));
            seed.instance_type = SEED.weighted(&mut self.ids, "instance_types").as_u64();
            self.insert_instance(seed);
            // A job is never younger than its oldest instance.
            let job = self.jobs.get_mut(&key(&self.cfg.workspace, &names[j]));
            if let Some(job) = job.filter(|job| job.create_time > plan) {
                job.create_time = plan - DAY;
            }
        }
    }

    /// Adds an instance from a seed (not failing unless drawn to, progressing
    /// only if `seeded_instances_finish_after` is set); `None` if its job
    /// does not exist in the configured workspace (or the seed's).
    pub(crate) fn insert_instance(&mut self, seed: InstanceSeed) -> Option<u64> {
        let workspace = self.ws_or(&seed.workspace);
        self.jobs.get(&key(&workspace, &seed.job_name))?;
        let ms = |t: DateTime<chrono::Utc>| t.timestamp_millis();
        let plan_time = seed.plan_time.map_or(self.now_ms(), ms);
        let id = match seed.instance_id {
            Some(id) => id,
            None => self.next_instance + self.ids.range(1, 37),
        };
        self.next_instance = self.next_instance.max(id.saturating_add(1));
        while self.instances.contains(&self.next_instance) {
            self.next_instance = self.next_instance.saturating_add(1);
        }
        let start_time = seed.start_time.map_or(plan_time, ms);
        let terminal = is_terminal_instance(&seed.status).then_some(start_time);
        let mut rec = InstanceRecord {
            id,
            workspace,
            job_name: seed.job_name,
            plan_time,
            start_time,
            end_time: seed.end_time.map(ms).or(terminal),
            instance_type: seed.instance_type.unwrap_or(0),
            fails: self.ids.chance(u64::from(self.cfg.fail_percent)),
            timeline: Timeline::new(),
            status: seed.status,
        };
        if let Some(d) = self.cfg.seeded_instances_finish_after {
            let now = Instant::now();
            match rec.status.as_str() {
                RUNNING => rec.timeline.push_after(now, d, SUCCESS),
                WAITING => rec.timeline.push_after(now, d, RUNNING),
                _ => {}
            }
        }
        self.instances.insert(id, rec);
        Some(id)
    }

    /// Applies every change that is due by now, in due order (jobs, then
    /// instances; a start that makes a finish due drains in the same call).
    pub(crate) fn settle(&mut self) {
        let (now, clock, run_for) = (Instant::now(), self.clock, self.cfg.durations.1);
        self.jobs.settle(now, apply_job(clock));
        self.instances.settle(now, apply_instance(clock, run_for));
    }

    /// Job `"name"` (its key) or instance `"job/id"` (its id) of the
    /// configured workspace, settled first.
    fn run(&mut self, run_id: &str) -> Option<Result<(String, String), u64>> {
        self.settle();
        let ws = self.cfg.workspace.clone();
        match run_id.rsplit_once('/') {
            None => Some(key(&ws, run_id))
                .filter(|k| self.jobs.contains(k))
                .map(Ok),
            Some((name, id)) => self.find_instance(&ws, name, id).ok().map(Err),
        }
    }

    /// Applies the next pending change of job `name` (configured workspace)
    /// or instance `job/id` now.
    pub(crate) fn advance(&mut self, run_id: &str) -> bool {
        let (now, clock, run_for) = (Instant::now(), self.clock, self.cfg.durations.1);
        match self.run(run_id) {
            Some(Ok(key)) => self.jobs.advance(&key, now, apply_job(clock)),
            Some(Err(id)) => self
                .instances
                .advance(&id, now, apply_instance(clock, run_for)),
            None => false,
        }
    }

    /// Jobs of `ws` of `job_type`, newest `createTime` first, then by name.
    pub(crate) fn jobs_of(&self, ws: &str, job_type: JobType) -> Vec<&JobRecord> {
        let jobs = self
            .jobs
            .iter()
            .filter(|((w, _), j)| w == ws && j.job_type == job_type);
        let mut v: Vec<&JobRecord> = jobs.map(|(_, j)| j).collect();
        v.sort_by(|a, b| b.create_time.cmp(&a.create_time).then(a.name.cmp(&b.name)));
        v
    }

    /// The names of the configured workspace's jobs of `job_type`, in
    /// listing order.
    pub(crate) fn job_names(&self, job_type: JobType) -> Vec<String> {
        let jobs = self.jobs_of(&self.cfg.workspace, job_type).into_iter();
        jobs.map(|j| j.name.clone()).collect()
    }

    /// The configured workspace's instances (with `status`, if given) as
    /// `"{jobName}/{id}"`, in listing order.
    pub(crate) fn instance_ids(&self, status: Option<&str>) -> Vec<String> {
        let instances = self.instances_of(&self.cfg.workspace).into_iter();
        let matching = instances.filter(|r| status.is_none_or(|s| r.status == s));
        matching
            .map(|r| format!("{}/{}", r.job_name, r.id))
            .collect()
    }

    /// Instances of jobs of `ws`, newest `planTime` first, then by id
    /// descending.
    pub(crate) fn instances_of(&self, ws: &str) -> Vec<&InstanceRecord> {
        let of_ws = self.instances.values().filter(|r| r.workspace == ws);
        let mut v: Vec<&InstanceRecord> = of_ws
            .filter(|r| self.job(ws, &r.job_name).is_some())
            .collect();
        v.sort_by(|a, b| b.plan_time.cmp(&a.plan_time).then(b.id.cmp(&a.id)));
        v
    }

    /// `GET /jobs`: `jobType`, `jobName`, paging.
    pub(crate) fn list_jobs(&mut self, ws: &str, q: &Query) -> Result<Value, DlfError> {
        let job_type = |t: &str| serde_json::from_value(Value::from(t)).ok();
        let job_type = parsed(q, "jobType", job_type)?.unwrap_or_default();
        let name = param(q, "jobName");
        let jobs = self.jobs_of(ws, job_type).into_iter();
        let matching: Vec<&JobRecord> = jobs
            .filter(|j| name.is_none_or(|n| j.name.contains(n)))
            .collect();
        let shown = page(&matching, q, &self.cfg, JOBS_LIMIT)?;
        let jobs: Vec<Value> = shown.iter().map(|j| self.render_job(j)).collect();
        Ok(json!({"total": matching.len(), "jobs": jobs}))
    }

    one_liners! {
        /// `GET /jobs/{name}`.
        pub(crate) fn job_detail(&self, ws: &str, name: &str) -> Result<Value, DlfError> =
            self.job(ws, name).map(|j| self.render_job_detail(j)).ok_or(JOB_NOT_FOUND);
    }

    /// `GET /jobs/{name}/status`.
    pub(crate) fn job_status(&self, ws: &str, name: &str) -> Result<Value, DlfError> {
        let job = self.job(ws, name).ok_or(JOB_NOT_FOUND)?;
        if job.job_type != JobType::RealTime {
            return Err(REALTIME_ONLY);
        }
        let node_status = match job.status.as_str() {
            NORMAL => RUNNING.to_owned(),
            other => other.to_ascii_lowercase(),
        };
        let nodes: Vec<Value> = job
            .nodes
            .iter()
            .map(|(n, t)| {
                // HSDK `real_time_node_status.py` (the OTC example's
                // `LastInstanceStatus` and `jobInstanceId` are not in it).
                json!({
                    "name": n,
                    "status": node_status,
                    "nodeType": t,
                    "lastInstanceStatus": WAITING,
                    "logPath": format!("obs://dlf-log-{}/{}/{n}/", self.cfg.project_id, job.name),
                })
            })
            .collect();
        // HSDK `show_job_status_response.py`: name, status, starttime (sic,
        // lowercase), endTime, lastUpdateTime (all three `str`), nodes,
        // createUser, lastModifiyUser (sic); the OTC page
        // `viewing_running_status_of_a_real-time_job.rst` calls the times "Date".
        let dates = self.cfg.reads(Reading::StatusTimeDates);
        let time = |ms: i64| match chrono::DateTime::from_timestamp_millis(ms) {
            Some(t) if dates => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            _ => ms.to_string(),
        };
        Ok(without_nulls(json!({
            "name": job.name,
            "status": job.status,
            "nodes": nodes,
            "starttime": time(job.start_time.unwrap_or(job.create_time)),
            "endTime": job.end_time.map(time),
            "lastUpdateTime": time(job.last_update_time),
            "createUser": job.create_user,
            "lastModifiyUser": job.last_update_user,
        })))
    }

    /// `POST /jobs/{name}/stop` (`stop`) or `POST /jobs/{name}/start`.
    pub(crate) fn switch_job(&mut self, ws: &str, name: &str, stop: bool) -> Result<(), DlfError> {
        if stop {
            self.jobs.count_stop(name);
        }
        let (now, delays) = (Instant::now(), (self.cfg.start_delay, self.stop_delay));
        let wall = self.clock.at(now).timestamp_millis();
        let job = self.jobs.get_mut(&key(ws, name)).ok_or(JOB_NOT_FOUND)?;
        let batch = job.job_type == JobType::Batch;
        let (status, next) = match (stop, job.status.as_str()) {
            (true, STOPPED | STOPPING) => return Err(JOB_NOT_RUNNING),
            (true, _) if batch => (STOPPED, None),
            (true, _) => (STOPPING, Some((delays.1, STOPPED))),
            (false, STOPPED | PAUSED) if batch => (SCHEDULING, None),
            (false, STOPPED | EXCEPTION) if !batch => (STARTING, Some((delays.0, NORMAL))),
            _ => return Err(ALREADY_RUNNING),
        };
        job.set(status, wall);
        if let Some((delay, change)) = next {
            job.timeline.push_after(now, delay, change);
        }
        if status == STARTING {
            (job.start_time, job.end_time) = (Some(wall), None);
        }
        self.jobs.touch(&key(ws, name));
        Ok(())
    }

    /// `POST /jobs/{name}/run-immediate`: a manual instance, `waiting`, that
    /// progresses on its own.
    pub(crate) fn run_immediate(&mut self, ws: &str, name: &str) -> Result<u64, DlfError> {
        let job = self.job(ws, name).ok_or(JOB_NOT_FOUND)?;
        if job.job_type != JobType::Batch {
            return Err(BATCH_ONLY);
        }
        let seed = InstanceSeed::new(name, WAITING).with_workspace(ws);
        let id = self.insert_instance(seed.with_instance_type(2));
        let id = id.ok_or(JOB_NOT_FOUND)?;
        let (now, waiting) = (Instant::now(), self.cfg.durations.0);
        let rec = self.instances.get_mut(&id).ok_or(JOB_NOT_FOUND)?;
        rec.timeline.clear();
        rec.timeline.push_after(now, waiting, RUNNING);
        self.instances.touch(&id);
        Ok(id)
    }

    /// `GET /jobs/instances/detail`.
    ///
    /// The plan-time window defaults to today 00:00 (UTC, simulated clock)
    /// to now, and may span at most 7 days, else 400 `DLF.3051` (HSDK
    /// `list_job_instances_request.py`, `min_plan_time` and
    /// `max_plan_time`). Both ends are inclusive.
    pub(crate) fn list_instances(&mut self, ws: &str, q: &Query) -> Result<Value, DlfError> {
        let precise = |v: &str| v.to_ascii_lowercase().parse().ok();
        let precise = parsed(q, "preciseQuery", precise)?.unwrap_or(false);
        let instance_type = parsed(q, "instanceType", digits)?;
        let millis = |name| parsed(q, name, |v| v.parse::<i64>().ok());
        let (min_plan, max_plan) = (millis("minPlanTime")?, millis("maxPlanTime")?);
        let now = self.now_ms();
        let min_plan = min_plan.unwrap_or(now - now.rem_euclid(DAY));
        let max_plan = max_plan.unwrap_or(now);
        if max_plan.saturating_sub(min_plan) > MAX_PLAN_WINDOW {
            return Err(INVALID);
        }
        let (job_name, status) = (param(q, "jobName"), param(q, "status"));
        let matching: Vec<&InstanceRecord> = self
            .instances_of(ws)
            .into_iter()
            .filter(|r| match job_name {
                None => true,
                Some(n) if precise => r.job_name == n,
                Some(n) => r.job_name.contains(n),
            })
            .filter(|r| status.is_none_or(|s| r.status == s))
            .filter(|r| r.plan_time >= min_plan && r.plan_time <= max_plan)
            .filter(|r| instance_type.is_none_or(|t| r.instance_type == t))
            .collect();
        let shown = page(&matching, q, &self.cfg, INSTANCES_LIMIT)?;
        let items: Vec<Value> = shown
            .iter()
            .map(|r| self.render_instance(r, false))
            .collect();
        Ok(json!({"total": matching.len(), "instances": items}))
    }

    /// The instance `raw_id` of job `name` in `ws`.
    fn find_instance(&self, ws: &str, name: &str, raw_id: &str) -> Result<u64, DlfError> {
        self.job(ws, name).ok_or(JOB_NOT_FOUND)?;
        let of_job = |r: &InstanceRecord| r.workspace == ws && r.job_name == name;
        let found = digits(raw_id).filter(|id| self.instances.get(id).is_some_and(of_job));
        found.ok_or(INSTANCE_NOT_FOUND)
    }

    /// `GET /jobs/{name}/instances/{id}`.
    pub(crate) fn instance_detail(
        &self,
        ws: &str,
        name: &str,
        id: &str,
    ) -> Result<Value, DlfError> {
        let id = self.find_instance(ws, name, id)?;
        let rec = self.instances.get(&id).ok_or(INSTANCE_NOT_FOUND)?;
        Ok(self.render_instance(rec, true))
    }

    /// `POST /jobs/{name}/instances/{id}/stop`.
    pub(crate) fn stop_instance(
        &mut self,
        ws: &str,
        name: &str,
        raw_id: &str,
    ) -> Result<(), DlfError> {
        self.jobs.count_stop(&format!("{name}/{raw_id}"));
        let id = self.find_instance(ws, name, raw_id)?;
        let (wall, cancel) = (self.now_ms(), !self.cfg.reads(Reading::WaitingStopRejected));
        let rec = self.instances.get_mut(&id).ok_or(INSTANCE_NOT_FOUND)?;
        let stoppable = rec.status == RUNNING || (rec.status == WAITING && cancel);
        if !stoppable {
            return Err(INSTANCE_NOT_RUNNING);
        }
        rec.status = MANUAL_STOP.to_owned();
        rec.end_time = Some(wall.max(rec.start_time));
        rec.timeline.clear();
        Ok(())
    }

    /// Sets the raw status of job `"name"` or instance `"job/id"` (configured
    /// workspace) and drops its pending changes. `endTime` is kept (or set)
    /// for a real-time job set `STOPPED` and an instance set to a terminal
    /// status, else removed.
    pub(crate) fn set_status(&mut self, run_id: &str, raw: &str) -> bool {
        let (run, wall) = (self.run(run_id), self.now_ms());
        if let Some(job) = run.clone().and_then(|r| self.jobs.get_mut(&r.ok()?)) {
            job.set(raw, wall);
            match (job.job_type, raw) {
                (JobType::RealTime, STOPPED) => _ = job.end_time.get_or_insert(wall),
                (JobType::RealTime, _) => job.end_time = None,
                _ => {}
            }
        } else if let Some(rec) = run.and_then(|r| self.instances.get_mut(&r.err()?)) {
            let end = rec.end_time.unwrap_or(wall.max(rec.start_time));
            (rec.status, rec.end_time) = (raw.to_owned(), is_terminal_instance(raw).then_some(end));
            rec.timeline.clear();
        } else {
            return false;
        }
        true
    }

    /// The raw status of job `"name"` (as the job list shows it) or instance
    /// `"job/id"` of the configured workspace.
    pub(crate) fn status_of(&mut self, run_id: &str) -> Option<String> {
        let status = match self.run(run_id)? {
            Ok(key) => &self.jobs.get(&key)?.status,
            Err(id) => &self.instances.get(&id)?.status,
        };
        Some(status.clone())
    }

    /// A job list item: HSDK `huaweicloudsdkdgc/v1/model/job_result.py` and
    /// OTC `api/data_development_apis/job_development_apis/viewing_a_job_list.rst`
    /// (here `jobType` and `status` are real): the record, and these.
    fn render_job(&self, j: &JobRecord) -> Value {
        let of_job = |r: &&InstanceRecord| r.workspace == j.workspace && r.job_name == j.name;
        let last = self.instances.values().filter(of_job);
        let last = last.max_by_key(|r| (r.plan_time, r.id));
        let last = last.filter(|_| j.job_type == JobType::Batch);
        let more = json!({
            "singleNodeJobFlag": j.nodes.len() == 1,
            "owner": j.create_user,
            "lastInstanceStatus": last.map(|l| &l.status),
            "lastInstanceEndTime": last.and_then(|l| l.end_time),
        });
        without_nulls(data::fill(&json!(j), more))
    }

    /// `GET /jobs/{name}`: the definition, exactly the fields of HSDK
    /// `huaweicloudsdkdgc/v1/model/show_job_response.py` (and OTC
    /// `api/data_development_apis/job_development_apis/viewing_job_details.rst`;
    /// the README lists them). No `status` and no `jobType`: those are in the
    /// job list only.
    fn render_job_detail(&self, j: &JobRecord) -> Value {
        let nodes: Vec<Value> = j
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (n, t))| {
                let pre = j.nodes[..i].last().map(|(p, _)| p);
                let pre: Vec<&String> = pre.into_iter().collect();
                let location = json!({"x": 100 + 160 * i, "y": 120});
                let node = json!({"name": n, "type": t, "location": location, "preNodeName": pre});
                SEED.over("node_defaults", node)
            })
            .collect();
        let schedule = match j.job_type {
            JobType::Batch => json!({
                "type": "CRON",
                "cron": {
                    "startTime": DateTime::from_timestamp_millis(j.create_time + 8 * HOUR)
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%S+08").to_string())
                        .unwrap_or_default(),
                    // Hourly at a minute drawn from the job id.
                    "expression": format!("0 {} * * * ?", j.job_id % 60),
                    "expressionTimeZone": "GMT+08:00",
                    "dependPrePeriod": false,
                },
            }),
            JobType::RealTime => json!({"type": "EXECUTE_ONCE"}),
        };
        let create_time = match self.cfg.reads(Reading::CreateTimeString) {
            false => j.create_time.into(),
            true => Value::from(j.create_time.to_string()),
        };
        let single = j.nodes.first().filter(|_| j.nodes.len() == 1);
        let basic = json!({"owner": j.create_user, "priority": j.priority});
        without_nulls(SEED.over(
            "job_detail_defaults",
            json!({
                "name": j.name,
                "nodes": nodes,
                "schedule": schedule,
                "directory": j.path,
                "processType": j.job_type,
                "id": j.job_id,
                "createTime": create_time,
                "singleNodeJobFlag": single.is_some(),
                "singleNodeJobType": single.map(|(_, t)| t),
                "lastUpdateUser": j.last_update_user,
                "logPath": format!("obs://dlf-log-{}/{}/", self.cfg.project_id, j.name),
                // HSDK types `version` as `str` here (an int in `job_instance.py`).
                "version": j.version.to_string(),
                "basicConfig": SEED.over("basic_config_defaults", basic),
            }),
        ))
    }

    /// An instance. The list item (`detail` false): HSDK
    /// `huaweicloudsdkdgc/v1/model/job_instance.py` and OTC
    /// `viewing_a_job_instance_list.rst`. `GET /jobs/{name}/instances/{id}`
    /// (`detail`), with one entry per job node: HSDK
    /// `huaweicloudsdkdgc/v1/model/show_job_instance_response.py` and
    /// `node_instance.py`; OTC `viewing_job_instance_details.rst`.
    fn render_instance(&self, r: &InstanceRecord, detail: bool) -> Value {
        let more = json!({
            "executeTime": execute_time(r, self.cfg.reads(Reading::ExecuteTimeMinutes)),
            "forceSuccess": r.status == FORCE_SUCCESS,
            "ignoreSuccess": r.status == IGNORE_SUCCESS,
        });
        let extra = if detail {
            let nodes = self.render_nodes(r);
            json!({"total": nodes.len(), "nodes": nodes})
        } else {
            let job = self.job(&r.workspace, &r.job_name);
            json!({
                "jobInstanceName": r.job_name,
                "jobId": job.map(|j| j.job_id),
                "submitTime": job.map(|j| j.last_update_time.min(r.plan_time)),
                "version": job.map(|j| j.version),
            })
        };
        without_nulls(data::fill(&data::fill(&json!(r), more), extra))
    }

    /// The node entries of an instance's detail (HSDK `node_instance.py`).
    fn render_nodes(&self, r: &InstanceRecord) -> Vec<Value> {
        let job = self.job(&r.workspace, &r.job_name);
        let nodes = job.map_or(&[][..], |j| &j.nodes);
        let last = nodes.len().saturating_sub(1);
        let started = r.status != WAITING;
        nodes
            .iter()
            .enumerate()
            .map(|(i, (name, kind))| {
                // The earlier nodes succeeded, unless nothing started yet.
                let done = i < last && r.status != WAITING;
                let status = if done { SUCCESS } else { r.status.as_str() };
                let end = r.end_time.or(Some(r.start_time).filter(|_| done));
                let rows = (status == SUCCESS).then(|| r.id % 100_000 + 1000 * (i as u64 + 1));
                let log = format!(
                    "obs://dlf-log-{}/{}/{name}/{}.log",
                    self.cfg.project_id, r.job_name, r.id
                );
                without_nulls(json!({
                    "nodeName": name,
                    "status": status,
                    "planTime": r.plan_time,
                    "startTime": r.start_time,
                    "type": kind,
                    "retryTimes": 0,
                    "instanceId": r.id,
                    "endTime": end.filter(|_| status != WAITING && status != RUNNING),
                    "inputRowCount": rows,
                    "speed": rows.map(|rows| (rows as f64 / 60.0).round()),
                    "logPath": started.then_some(log),
                }))
            })
            .collect()
    }

    /// A new opaque IAM token (`MII…`, 1 KiB of base64url), valid for `ttl`,
    /// and the simulated time it is issued at.
    pub(crate) fn grant(&mut self, ttl: Duration) -> (String, chrono::DateTime<chrono::Utc>) {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut b64 = || char::from(B64[self.secrets.below(64) as usize]);
        let token: String = "MII".chars().chain((0..1021).map(|_| b64())).collect();
        self.tokens.grant(&token, ttl);
        (token, self.clock.now())
    }
}

timed!(JobRecord => Change, InstanceRecord => Change);

fn apply_job<K>(clock: SimClock) -> impl FnMut(&K, &mut JobRecord, Instant, Change) {
    move |_, job, at, change| {
        let wall = clock.at(at).timestamp_millis();
        let from = if change == NORMAL { STARTING } else { STOPPING };
        if job.status == from {
            job.set(change, wall);
            job.end_time = (change == STOPPED).then_some(wall).or(job.end_time);
        }
    }
}

fn apply_instance<K>(
    clock: SimClock,
    run_for: Duration,
) -> impl FnMut(&K, &mut InstanceRecord, Instant, Change) {
    move |_, rec, at, change| {
        let wall = clock.at(at).timestamp_millis();
        match change {
            RUNNING if rec.status == WAITING => {
                (rec.status, rec.start_time) = (RUNNING.to_owned(), wall);
                rec.timeline.push_after(at, run_for, SUCCESS);
            }
            SUCCESS if rec.status == RUNNING => {
                rec.status = if rec.fails { FAIL } else { SUCCESS }.to_owned();
                rec.end_time = Some(wall.max(rec.start_time));
            }
            _ => {}
        }
    }
}

/// `executeTime` of an ended instance (absent while it has no `endTime`, so
/// what a listing shows never depends on when it is read): milliseconds, or
/// minutes with one decimal (18 s is `0.3`; see [`Reading::ExecuteTimeMinutes`]).
fn execute_time(r: &InstanceRecord, minutes: bool) -> Option<Value> {
    let ms = r.end_time?.saturating_sub(r.start_time).max(0);
    Some(match minutes {
        false => ms.into(),
        true => ((ms as f64 / 6_000.0).round() / 10.0).into(),
    })
}
