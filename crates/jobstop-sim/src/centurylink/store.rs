//! The CenturyLink Runner simulator's state: jobs, executions (in the
//! generic [`Runs`] store) and the account's concurrency cap, login tokens
//! and counters; and how jobs and executions look on the wire.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

use super::{CenturyLinkOptions, ExecutionSeed, JobSeed};
use crate::data::{self, Data, text};
use crate::store::{Runs, Tokens};
use crate::{SimClock, SplitMix64, Timeline};

/// The base64url header of every token (`{"alg":"HS256","typ":"JWT"}`).
const JWT_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The seeding tables and shares (`data/centurylink/seed.json`).
static SEED: LazyLock<Value> =
    LazyLock::new(|| data::parse(include_str!("../../data/centurylink/seed.json")));

/// Whether a raw status is terminal (VENDOR-NOTES 4.4); others are stoppable.
pub(crate) fn terminal(raw: &str) -> bool {
    ["SUCCESS", "FAILURE", "INIT_FAILURE", "STOPPED", "KILLED"].contains(&raw)
}

/// A change waiting on an execution's timeline: `INITIALIZING` → `RUNNING`
/// (then `Finish` after the running time), `INITIALIZING`/`RUNNING` →
/// `SUCCESS` (or `FAILURE`), `STOPPING` → `STOPPED`, `KILLING` → `KILLED`;
/// `Stopped` and `Killed` also name a stop and a kill request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Run,
    Finish,
    Stopped,
    Killed,
}

/// Why a request failed: the HTTP status and the `message`.
pub(crate) type Failure = (u16, Cow<'static, str>);
/// A request's JSON answer, or why it failed.
pub(crate) type Answer = Result<Value, Failure>;
const JOB_NOT_FOUND: Failure = (404, Cow::Borrowed("Job not found"));
const EXECUTION_NOT_FOUND: Failure = (404, Cow::Borrowed("Execution not found"));
const REFUSED: Failure = (400, Cow::Borrowed(super::NOT_STOPPABLE));

/// A Job as its GET shows it, but for the fields [`Store::render_job`] adds.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobRecord {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    created_time: i64,
    last_updated_time: i64,
    /// The Job's other wire fields (`description`, `executionTtl`, `repository`…).
    #[serde(flatten)]
    doc: Value,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ExecRecord {
    id: String,
    job_id: String,
    status: String,
    /// `(start, end)` in epoch ms.
    timers: Vec<(i64, Option<i64>)>,
    /// The git commit it ran (`repository_log.recent_commit[0]`).
    commit: Value,
    failed_hosts: Vec<String>,
    vpn: bool,
    /// Insertion order (breaks ties between queued executions and due changes).
    seq: u64,
    /// While `PENDING` and progressing: when it may start (given a free slot).
    queued: Option<Instant>,
    /// If it ends `FAILURE` rather than `SUCCESS` when it finishes: the
    /// failed hosts it then shows (unless it has some).
    fails: Option<Vec<String>>,
    timeline: Timeline<Change>,
}

timed!(ExecRecord => Change);

impl ExecRecord {
    /// The first timer's start (the listing order).
    fn first_start(&self) -> i64 {
        self.timers.first().map_or(i64::MIN, |t| t.0)
    }

    fn run_id(&self) -> String {
        format!("{}/{}", self.job_id, self.id)
    }

    fn active(&self) -> bool {
        self.status == "INITIALIZING" || self.status == "RUNNING"
    }

    /// Ends the last timer at `wall` if it is open.
    fn end_last(&mut self, wall: i64) {
        if let Some(t) = self.timers.last_mut()
            && t.1.is_none()
        {
            t.1 = Some(wall.max(t.0));
        }
    }

    /// Applies `change` as if at `at`; a run finishes `running` after.
    fn apply(&mut self, at: Instant, change: Change, running: Duration, clock: SimClock) {
        let next = match change {
            Change::Run if self.status == "INITIALIZING" => {
                self.timeline.push_after(at, running, Change::Finish);
                self.status = "RUNNING".to_owned();
                return;
            }
            Change::Finish if self.active() => {
                if self.failed_hosts.is_empty() {
                    self.failed_hosts = self.fails.clone().unwrap_or_default();
                }
                self.timeline.clear();
                if self.fails.is_some() {
                    "FAILURE"
                } else {
                    "SUCCESS"
                }
            }
            Change::Stopped if self.status == "STOPPING" => "STOPPED",
            Change::Killed if self.status == "KILLING" => "KILLED",
            _ => return,
        };
        self.status = next.to_owned();
        self.end_last(clock.at(at).timestamp_millis());
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    /// The options, whose document switches change at run time.
    pub(crate) cfg: CenturyLinkOptions,
    clock: SimClock,
    /// Up to when changes are applied (no promotion into a slot before it).
    settled_at: Instant,
    jobs: BTreeMap<String, JobRecord>,
    execs: Runs<String, ExecRecord>,
    next_seq: u64,
    /// Seeded generation (`ids`), runtime draws (`misc`, so traffic never
    /// shifts the seeded data) and login tokens (`secrets`).
    ids: SplitMix64,
    misc: SplitMix64,
    secrets: SplitMix64,
    pub(crate) tokens: Tokens,
    pub(crate) issued: Vec<String>,
    pub(crate) login_attempts: u64,
    /// Every stop and kill: `("jobId/executionId", "stop"|"kill", body)`.
    pub(crate) bodies: Vec<(String, String, String)>,
}

/// A repository's `credentials`, the password masked.
fn credentials() -> Value {
    json!({"username": "deploy", "password": "******"})
}

/// A JWT-looking bearer token: the `HS256` header, `claims` plus a random
/// `jti`, and 32 random bytes as the signature. No expiry claim: the docs
/// give none, and clients must treat the token as opaque.
pub(crate) fn make_token(rng: &mut SplitMix64, claims: &Value) -> String {
    let mut claims = claims.clone();
    claims["jti"] = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()).into();
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    let sig: Vec<u8> = (0..4).flat_map(|_| rng.next_u64().to_be_bytes()).collect();
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    format!("{JWT_HEADER}.{}.{}", b64(&payload), b64(&sig))
}

/// A page, `{"totalSize","page","size","results"}` (`CenturyLinkCloud/PublicKB`
/// `Runner/job-service.md`, "Get Jobs", "Get Job Executions").
fn page_body<T>(items: &[T], (page, size): (usize, usize), render: impl Fn(&T) -> Value) -> Value {
    let start = page.saturating_mul(size).min(items.len());
    let end = start.saturating_add(size).min(items.len());
    let results: Vec<Value> = items[start..end].iter().map(render).collect();
    json!({"totalSize": items.len(), "page": page, "size": size, "results": results})
}

fn fresh_id(rng: &mut SplitMix64, taken: impl Fn(&String) -> bool) -> String {
    let mut ids = std::iter::repeat_with(|| rng.uuid_like());
    ids.find(|id| !taken(id)).unwrap_or_default()
}

/// `doc` with its top-level keys in camelCase (`failedHosts`).
fn camel_case(doc: Value) -> Value {
    let Value::Object(map) = doc else {
        return doc;
    };
    let camel = |key: String| {
        let mut words = key.split('_');
        let first = words.next().unwrap_or_default().to_owned();
        words.fold(first, |out, w| out + &w[..1].to_uppercase() + &w[1..])
    };
    map.into_iter().map(|(k, v)| (camel(k), v)).collect()
}

impl Store {
    pub(crate) fn new(cfg: CenturyLinkOptions, clock: SimClock, seed: u64) -> Self {
        Store {
            cfg,
            clock,
            settled_at: Instant::now(),
            jobs: BTreeMap::new(),
            execs: Runs::default(),
            next_seq: 0,
            ids: SplitMix64::stream(seed, 31),
            misc: SplitMix64::stream(seed, 32),
            secrets: SplitMix64::stream(seed, 33),
            tokens: Tokens::default(),
            issued: Vec::new(),
            login_attempts: 0,
            bodies: Vec::new(),
        }
    }

    fn hosts_of(&self, job: &str) -> Vec<String> {
        let hosts = self.jobs.get(job).map(|j| j.doc.table("hosts"));
        let hosts = hosts.unwrap_or_default().iter();
        hosts.map(|h| text(&h["id"])).collect()
    }

    /// A new `SUCCESS` execution (not inserted), drawn from `misc` or `ids`.
    fn new_exec(&mut self, id: String, job: String, start: i64, misc: bool) -> ExecRecord {
        let rng = if misc { &mut self.misc } else { &mut self.ids };
        let commit = Self::generate_commit(rng, start - 10 * DAY, start - HOUR);
        self.next_seq += 1;
        let mut rec = ExecRecord::default();
        (rec.id, rec.job_id, rec.status) = (id, job, "SUCCESS".to_owned());
        (rec.timers, rec.commit, rec.seq) = (vec![(start, None)], commit, self.next_seq);
        rec
    }

    /// A generated job (not inserted), drawn from `misc` or `ids`; `index`
    /// picks the name.
    fn generate_job(&mut self, index: usize, misc: bool) -> JobRecord {
        let jobs = SEED.table("jobs");
        let (entry, round) = (&jobs[index % jobs.len()], index / jobs.len());
        let name = match round {
            0 => text(&entry[0]),
            _ => format!("{}-{}", text(&entry[0]), round + 1),
        };
        let ids = if misc { &mut self.misc } else { &mut self.ids };
        let named = ids.chance(85);
        let id = fresh_id(ids, |id| self.jobs.contains_key(id));
        let epoch = self.clock.epoch().timestamp_millis();
        let created = epoch - ids.range(2 * DAY as u64, 300 * DAY as u64) as i64;
        let updated = created + ids.below((epoch - created).max(1) as u64) as i64;
        let execution_ttl = SEED.pick(ids, "execution_ttls").clone();
        let url = text(SEED.pick(ids, "repos"));
        let branch = text(SEED.pick(ids, "branches"));
        let mut repository = json!({"url": url, "branch": branch, "defaultPlaybook": entry[2]});
        if ids.chance(30) {
            repository["credentials"] = credentials();
        }
        let hosts: Vec<Value> = if ids.chance(30) {
            vec![json!({"id": "localhost", "hostVars": {}})]
        } else {
            let role = text(SEED.pick(ids, "server_roles"));
            let (n, with_vars, subnet) = (ids.range(1, 3), ids.chance(50), ids.range(10, 99));
            let (location, alias) = (&self.cfg.location_alias, &self.cfg.account_alias);
            let alias = alias.to_ascii_uppercase();
            let host = |k| {
                let ip = format!("10.55.{subnet}.{}", 10 + k);
                let vars = with_vars.then(|| json!({"ansible_ssh_host": ip}));
                let id = format!("{location}{alias}{role}{k:02}");
                json!({"id": id, "hostVars": vars.unwrap_or(json!({}))})
            };
            (1..=n).map(host).collect()
        };
        let properties = SEED.pick(ids, "properties").clone();
        let callbacks = ids.chance(30).then(|| {
            let url = format!("https://hooks.example.com/runner/{}", ids.alphanumeric(12));
            json!({"url": url, "level": "RESULT"})
        });
        let doc = json!({
            "description": entry[1],
            "executionTtl": execution_ttl,
            "repository": repository,
            "hosts": hosts,
            "properties": properties,
            "callbacks": callbacks.into_iter().collect::<Vec<_>>(),
        });
        let mut job = JobRecord::default();
        (job.id, job.name) = (id, named.then_some(name));
        (job.created_time, job.last_updated_time) = (created, updated);
        job.doc = doc;
        job
    }

    /// A commit dated between `from` and `to` (epoch ms).
    fn generate_commit(rng: &mut SplitMix64, from: i64, to: i64) -> Value {
        let author = SEED.pick(rng, "authors");
        let (a, b, c) = (rng.next_u64(), rng.next_u64(), rng.next_u64() >> 32);
        let date = from + rng.below((to - from).max(1) as u64) as i64;
        let date = chrono::DateTime::from_timestamp_millis(date - date.rem_euclid(SECOND));
        json!({
            "commit": format!("{a:016x}{b:016x}{c:08x}"),
            "author": author[0],
            "author_email": author[1],
            "date": date.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default(),
            "message": SEED.pick(rng, "commit_messages"),
        })
    }

    /// Adds jobs and executions, as the crate README's "Seeding" describes,
    /// then the inserted ones (creating the jobs executions name).
    pub(crate) fn seed(&mut self) {
        let (jobs, per_job) = (self.cfg.jobs, self.cfg.executions_per_job);
        let running = self.cfg.running;
        let total = jobs.saturating_mul(per_job).max(running);
        let jobs = if jobs == 0 && total > 0 { 1 } else { jobs };
        let rotate = self.ids.below(SEED.table("jobs").len() as u64) as usize;
        let mut keys = Vec::with_capacity(jobs);
        for i in 0..jobs {
            let job = self.generate_job(i + rotate, false);
            keys.push(job.id.clone());
            self.jobs.insert(job.id.clone(), job);
        }
        let epoch = self.clock.epoch().timestamp_millis();
        // Each job runs every hour, 6 hours, day or week, at its own offset.
        let mut schedule = |_| {
            let hours = SEED.pick(&mut self.ids, "intervals_hours").as_i64();
            let interval = hours.unwrap_or(1) * HOUR;
            let offset = self.ids.range(MINUTE as u64, interval as u64) as i64;
            (interval, offset)
        };
        let schedules: Vec<(i64, i64)> = keys.iter().map(&mut schedule).collect();
        let mut created: Vec<(i64, String, &String)> = Vec::with_capacity(total);
        for i in 0..total {
            let (j, k) = (i % keys.len(), (i / keys.len()) as i64);
            let (interval, offset) = schedules[j];
            let start = epoch - offset - k * interval + self.ids.below(SECOND as u64 * 50) as i64;
            let start = start.min(epoch - MINUTE);
            let id = fresh_id(&mut self.ids, |id| self.execs.contains(id));
            let rec = self.new_exec(id.clone(), keys[j].clone(), start, false);
            self.execs.insert(id.clone(), rec);
            created.push((start, id, &keys[j]));
        }
        // Newest first: the first `running` are running.
        created.sort_by(|(sa, a, _), (sb, b, _)| sb.cmp(sa).then_with(|| a.cmp(b)));
        for (i, (start, id, job)) in created.iter().enumerate() {
            let status = match i < running {
                true => Some("RUNNING"),
                false => SEED.weighted(&mut self.ids, "finished_statuses").as_str(),
            };
            let status = status.unwrap_or("SUCCESS");
            let ids = &mut self.ids;
            let took = match status {
                "INIT_FAILURE" => ids.range(2 * SECOND as u64, 20 * SECOND as u64) as i64,
                _ => ids.range(20 * SECOND as u64, 40 * MINUTE as u64) as i64,
            };
            let restarted = matches!(status, "SUCCESS" | "FAILURE") && ids.chance(10);
            let gap = ids.range(MINUTE as u64, 2 * HOUR as u64) as i64;
            let first_took = ids.range(10 * SECOND as u64, 10 * MINUTE as u64) as i64;
            let (vpn, failed_pick) = (ids.chance(10), ids.below(8) as usize);
            let job_hosts = self.hosts_of(job);
            // Seeded progress counts from the start (nothing settled yet).
            let (finish_after, started) = (self.cfg.seeded_finish_after, self.settled_at);
            let Some(rec) = self.execs.get_mut(id) else {
                continue;
            };
            rec.status = status.to_owned();
            rec.vpn = vpn;
            let (start, last) = (*start, epoch - SECOND);
            let end = |from: i64| Some((from + took).min(last).max(from));
            if status == "RUNNING" {
                if let Some(d) = finish_after {
                    rec.timeline.push_after(started, d, Change::Finish);
                }
            } else if restarted {
                let first_end = (start + first_took).min(last);
                let second = (first_end + gap).min(last);
                rec.timers = vec![(start, Some(first_end)), (second, end(second))];
            } else {
                rec.timers = vec![(start, end(start))];
            }
            if status == "FAILURE" && !job_hosts.is_empty() {
                rec.failed_hosts = vec![job_hosts[failed_pick % job_hosts.len()].clone()];
            }
            self.execs.touch(id);
        }
        // A job is never younger than its oldest execution.
        for key in keys {
            let of_job = self.execs.values().filter(|r| r.job_id == key);
            let oldest = of_job.map(ExecRecord::first_start).min();
            let back = self.ids.range(HOUR as u64, 10 * DAY as u64) as i64;
            if let (Some(oldest), Some(job)) = (oldest, self.jobs.get_mut(&key))
                && job.created_time > oldest
            {
                job.created_time = oldest - back;
            }
        }
        for seed in std::mem::take(&mut self.cfg.job_seeds) {
            self.insert_job(seed);
        }
        for seed in std::mem::take(&mut self.cfg.execution_seeds) {
            if self.insert_execution(seed.clone()).is_none() {
                self.insert_job(JobSeed::default().with_id(seed.job_id.clone()));
                self.insert_execution(seed);
            }
        }
    }

    /// Adds a job from a seed (replacing one with the same id); its id.
    pub(crate) fn insert_job(&mut self, seed: JobSeed) -> String {
        let index = self.misc.below(SEED.table("jobs").len() as u64) as usize;
        // From the runtime stream, so inserting never shifts the seeded data.
        let mut job = self.generate_job(index, true);
        job.id = seed.id.unwrap_or(job.id);
        job.name = seed.name;
        if let Some(d) = seed.description {
            job.doc["description"] = d.into();
        }
        job.doc["executionTtl"] = json!(seed.execution_ttl);
        let created = seed.created_time.unwrap_or_else(|| self.clock.now());
        let created = created.timestamp_millis();
        (job.created_time, job.last_updated_time) = (created, created);
        if !seed.hosts.is_empty() {
            let doc = seed.hosts.iter().map(|h| json!({"id": h, "hostVars": {}}));
            job.doc["hosts"] = doc.collect();
        }
        if let Some(repository) = job.doc["repository"].as_object_mut() {
            match seed.repository_credentials {
                true => repository.insert("credentials".into(), credentials()),
                false => repository.remove("credentials"),
            };
        }
        let id = job.id.clone();
        self.jobs.insert(id.clone(), job);
        id
    }

    /// Deletes job `id` and its executions (KB `Runner/job-service.md`, Delete Job).
    pub(crate) fn remove_job(&mut self, id: &str) -> bool {
        self.settle();
        if self.jobs.remove(id).is_none() {
            return false;
        }
        let gone: Vec<String> = self.execs_of(Some(id)).map(|r| r.id.clone()).collect();
        for ex in &gone {
            self.execs.remove(ex);
        }
        true
    }

    /// Adds an execution; its `"jobId/executionId"` (`None`: no such job).
    pub(crate) fn insert_execution(&mut self, seed: ExecutionSeed) -> Option<String> {
        let (job, after) = (seed.job_id.clone(), self.cfg.seeded_finish_after);
        let id = self.add_execution(seed, after)?;
        Some(format!("{job}/{id}"))
    }

    /// [`Store::insert_execution`], giving the execution id; `PENDING` is
    /// queued and `INITIALIZING` or `RUNNING` finishes `after` from now.
    fn add_execution(&mut self, seed: ExecutionSeed, after: Option<Duration>) -> Option<String> {
        self.settle();
        if !self.jobs.contains_key(&seed.job_id) {
            return None;
        }
        let now = Instant::now();
        let wall = self.clock.at(now).timestamp_millis();
        let (execs, misc) = (&self.execs, &mut self.misc);
        let fresh = || fresh_id(misc, |id| execs.contains(id));
        let id = seed.execution_id.unwrap_or_else(fresh);
        let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
        let timers: Vec<(i64, Option<i64>)> = match seed.timers {
            Some(t) => t.iter().map(|t| (ms(t.0), t.1.map(ms))).collect(),
            None => vec![(wall, terminal(&seed.status).then_some(wall))],
        };
        let start = timers.first().map_or(wall, |t| t.0);
        let mut rec = self.new_exec(id.clone(), seed.job_id, start, true);
        let fails = self.misc.chance(u64::from(self.cfg.fail_percent));
        rec.fails = fails.then(|| self.hosts_of(&rec.job_id).into_iter().take(1).collect());
        rec.status = seed.status;
        rec.timers = timers;
        rec.failed_hosts = seed.failed_hosts;
        rec.vpn = seed.is_vpn_established;
        if let Some(d) = after {
            match rec.status.as_str() {
                "PENDING" => rec.queued = Some(now.checked_add(d).unwrap_or(now)),
                "INITIALIZING" | "RUNNING" => rec.timeline.push_after(now, d, Change::Finish),
                _ => {}
            }
        }
        self.execs.insert(id.clone(), rec);
        Some(id)
    }

    /// Executions holding one of the account's slots.
    fn active(&self) -> usize {
        self.execs.values().filter(|r| r.active()).count()
    }

    /// Applies every change that is due by now, in time order: timeline
    /// changes (the generic store's due order, ties by insertion), and
    /// queued `PENDING` executions moving into free slots (first ready,
    /// first served).
    pub(crate) fn settle(&mut self) {
        let now = Instant::now();
        let mut cursor = self.settled_at.min(now);
        loop {
            let event = self.execs.next_due(now);
            let free = self.active() < self.cfg.max_concurrent;
            let promotion = free.then(|| self.next_promotion(now, cursor)).flatten();
            match (event, promotion) {
                (event, Some((at, id))) if event.as_ref().is_none_or(|(d, _)| at <= *d) => {
                    self.promote(&id, at);
                    cursor = at;
                }
                (Some((due, id)), _) => {
                    self.step(&id, None);
                    cursor = cursor.max(due);
                }
                (None, _) => break,
            }
        }
        self.settled_at = now;
    }

    /// The first queued `PENDING` execution ready by `now` (ties by insertion).
    fn next_promotion(&self, now: Instant, cursor: Instant) -> Option<(Instant, String)> {
        let queued = self.execs.values().filter(|r| r.status == "PENDING");
        let ready = queued.filter_map(|r| {
            let ready = r.queued.filter(|q| *q <= now);
            ready.map(|q| (q.max(cursor), r.seq, &r.id))
        });
        ready.min().map(|(at, _, id)| (at, id.clone()))
    }

    /// Moves `id` into a slot at `at` (`INITIALIZING`); `true`.
    fn promote(&mut self, id: &String, at: Instant) -> bool {
        if let Some(r) = self.execs.get_mut(id) {
            (r.status, r.queued) = ("INITIALIZING".to_owned(), None);
            r.timeline
                .push_after(at, self.cfg.durations[1], Change::Run);
        }
        self.execs.touch(id);
        true
    }

    /// Applies `id`'s next timeline change, as if at `at` (or when due).
    fn step(&mut self, id: &String, at: Option<Instant>) -> bool {
        let (running, clock) = (self.cfg.durations[2], self.clock);
        self.execs.step(id, |_, r, due, c| {
            r.apply(at.unwrap_or(due), c, running, clock)
        })
    }

    /// The execution id of `"jobId/executionId"`, if that job has it.
    fn find_run(&self, run_id: &str) -> Option<String> {
        let (job, id) = run_id.split_once('/')?;
        self.exec_of(job, id).ok().map(|r| r.id.clone())
    }

    /// Applies the next pending change of `run_id` now (or fills a slot).
    pub(crate) fn advance(&mut self, run_id: &str) -> bool {
        self.settle();
        let Some(id) = self.find_run(run_id) else {
            return false;
        };
        let (now, r) = (Instant::now(), self.execs.get(&id));
        let queued = r.is_some_and(|r| r.status == "PENDING" && r.queued.is_some());
        let free = self.active() < self.cfg.max_concurrent;
        let done = self.step(&id, Some(now)) || (queued && free && self.promote(&id, now));
        self.settled_at = now;
        done
    }

    /// Sets the raw status of `run_id`; its last timer ends or reopens.
    pub(crate) fn set_status(&mut self, run_id: &str, raw: &str) -> bool {
        self.settle();
        let now = Instant::now();
        let wall = self.clock.at(now).timestamp_millis();
        let Some(r) = self.find_run(run_id).and_then(|id| self.execs.get_mut(&id)) else {
            return false;
        };
        r.status = raw.to_owned();
        r.timeline.clear();
        r.queued = None;
        if terminal(raw) {
            r.end_last(wall);
        } else if let Some(t) = r.timers.last_mut() {
            t.1 = None;
        }
        self.settled_at = now;
        true
    }

    pub(crate) fn job_ids(&mut self) -> Vec<String> {
        self.settle();
        self.jobs_ordered().iter().map(|j| j.id.clone()).collect()
    }

    /// Every execution (with `status`, if given), in listing order.
    pub(crate) fn execution_ids(&mut self, status: Option<&str>) -> Vec<String> {
        self.settle();
        let execs = self.execs_ordered(None).into_iter();
        let execs = execs.filter(|r| status.is_none_or(|s| r.status == s));
        execs.map(ExecRecord::run_id).collect()
    }

    fn jobs_ordered(&self) -> Vec<&JobRecord> {
        let mut v: Vec<&JobRecord> = self.jobs.values().collect();
        v.sort_by(|a, b| (b.created_time, &a.id).cmp(&(a.created_time, &b.id)));
        v
    }

    fn execs_of<'a>(&'a self, job: Option<&'a str>) -> impl Iterator<Item = &'a ExecRecord> {
        let execs = self.execs.values();
        execs.filter(move |r| job.is_none_or(|j| r.job_id == j))
    }

    /// Executions (of `job`, or all), newest first start first, ties by id.
    fn execs_ordered<'a>(&'a self, job: Option<&'a str>) -> Vec<&'a ExecRecord> {
        let mut v: Vec<&ExecRecord> = self.execs_of(job).collect();
        v.sort_by(|a, b| (b.first_start(), &a.id).cmp(&(a.first_start(), &b.id)));
        v
    }

    /// `GET /jobs/{alias}`.
    pub(crate) fn list_jobs(&mut self, at: (usize, usize)) -> Value {
        self.settle();
        page_body(&self.jobs_ordered(), at, |j| self.render_job(j))
    }

    /// `GET /jobs/{alias}/{jobId}/executions` or `GET /jobs/{alias}/executions`.
    pub(crate) fn executions(&mut self, job: Option<&str>, at: (usize, usize)) -> Answer {
        self.settle();
        if let Some(job) = job {
            self.jobs.get(job).ok_or(JOB_NOT_FOUND)?;
        }
        let execs = self.execs_ordered(job);
        Ok(page_body(&execs, at, |r| self.render_execution(r)))
    }

    /// `GET /jobs/{alias}/{jobId}`.
    pub(crate) fn job(&mut self, job: &str) -> Answer {
        self.settle();
        let job = self.jobs.get(job).ok_or(JOB_NOT_FOUND)?;
        Ok(self.render_job(job))
    }

    fn exec_of(&self, job: &str, id: &str) -> Result<&ExecRecord, Failure> {
        self.jobs.get(job).ok_or(JOB_NOT_FOUND)?;
        let found = self.execs.get(&id.to_owned()).filter(|r| r.job_id == job);
        found.ok_or(EXECUTION_NOT_FOUND)
    }

    /// `GET /jobs/{alias}/{jobId}/executions/{executionId}`.
    pub(crate) fn execution(&mut self, job: &str, id: &str) -> Answer {
        self.settle();
        Ok(self.render_execution(self.exec_of(job, id)?))
    }

    /// `POST /jobs/{alias}/{jobId}/start`: a new `PENDING` execution.
    pub(crate) fn start_job(&mut self, job: &str) -> Answer {
        let pending = Some(self.cfg.durations[0]);
        let id = self.add_execution(ExecutionSeed::new(job, "PENDING"), pending);
        Ok(self.render_execution(self.exec_of(job, &id.ok_or(JOB_NOT_FOUND)?)?))
    }

    /// How many `kind` (`stop` or `kill`) requests named `run_id` (or any).
    pub(crate) fn requests(&self, run_id: Option<&str>, kind: &str) -> u64 {
        let bodies = self.bodies.iter().filter(|b| b.1 == kind);
        bodies.filter(|b| run_id.is_none_or(|r| b.0 == r)).count() as u64
    }

    /// `POST …/executions/{executionId}/stop` or `/kill` (README table).
    pub(crate) fn stop(&mut self, job: &str, id: &str, action: Change) -> Answer {
        self.settle();
        let key = self.exec_of(job, id)?.id.clone();
        let now = Instant::now();
        let (stop_delay, kill_delay) = (self.cfg.stop_delay, self.cfg.kill_delay);
        let r = self.execs.get_mut(&key).ok_or(EXECUTION_NOT_FOUND)?;
        let change = match (action, r.status.as_str()) {
            (_, s) if terminal(s) => return Err(REFUSED),
            (Change::Stopped, "KILLING") => return Err(REFUSED),
            (Change::Stopped, "STOPPING") | (Change::Killed, "KILLING") => None,
            (Change::Stopped, _) => Some(("STOPPING", stop_delay)),
            _ => Some(("KILLING", kill_delay)),
        };
        if let Some((status, delay)) = change {
            r.status = status.to_owned();
            r.queued = None;
            r.timeline.clear();
            r.timeline.push_after(now, delay, action);
        }
        self.execs.touch(&key);
        self.settled_at = now;
        Ok(self.render_execution(self.exec_of(job, id)?))
    }

    pub(crate) fn execution_json(&mut self, run_id: &str) -> Option<Value> {
        let (job, id) = run_id.split_once('/')?;
        self.execution(job, id).ok()
    }

    /// A Job (VENDOR-NOTES 4.4), camelCase: the fields of the Job in
    /// `CenturyLinkCloud/PublicKB` `Runner/job-service.md`; `name` is
    /// optional, as in the Runner JS SDK (RJS).
    fn render_job(&self, j: &JobRecord) -> Value {
        let (alias, id) = (&self.cfg.account_alias, &j.id);
        let href = format!("/v2/workflow/{alias}/jobs/{id}");
        let verbs = ["GET", "POST", "PUT", "DELETE"];
        let link = json!({"ref": "self", "id": id, "href": href, "verbs": verbs});
        let fixed = json!({"accountAlias": alias, "status": "ACTIVE", "links": [link]});
        data::fill(&serde_json::to_value(j).unwrap_or_default(), fixed)
    }

    /// An execution document in the current variants (VENDOR-NOTES 4.4):
    /// snake_case as in `CenturyLinkCloud/PublicKB` `Runner/job-service.md`
    /// ("Stop Job Execution" example) and the seed page
    /// `centurylink-stop-execution.md`; the flat-timer, camelCase and
    /// object `repository_log` variants from that page's other examples.
    fn render_execution(&self, r: &ExecRecord) -> Value {
        let o = &self.cfg;
        let log = o.repository_log_object;
        let log = log.then(|| json!({"recent_commit": [r.commit], "tags": []}));
        let mut doc = json!({
            "execution_id": r.id,
            "job_id": r.job_id,
            "account_alias": o.account_alias,
            "status": r.status,
            "repository_log": log,
            "failed_hosts": r.failed_hosts,
            "is_vpn_established": r.vpn,
        });
        if o.flat_timers {
            let last = r.timers.last();
            doc["id"] = json!(r.id);
            doc["start"] = json!(last.map(|t| t.0));
            doc["end"] = json!(last.and_then(|t| t.1));
        } else {
            let timers = r.timers.iter().map(|(s, e)| json!({"start": s, "end": e}));
            doc["timers"] = timers.collect();
        }
        if o.camel_case { camel_case(doc) } else { doc }
    }

    pub(crate) fn grant(&mut self, ttl: Duration, claims: &Value) -> String {
        let token = make_token(&mut self.secrets, claims);
        self.tokens.grant(&token, ttl);
        self.issued.push(token.clone());
        token
    }
}
