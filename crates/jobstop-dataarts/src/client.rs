//! The controller: requests out, runs back.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jobstop_core::{
    Capabilities, Cursor, Error, ErrorKind, Filtering, JobController, ListQuery, Operation, Page,
    Result, Run, RunId, RunState, StopMode, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse, PathBuilder};
use serde_json::Value;

use crate::model::{
    InstanceList, JobList, KIND_BATCH_INSTANCE, KIND_BATCH_JOB, KIND_REALTIME_JOB, Target,
    batch_to_run, instance_to_run, job_to_run, parse_id, process_type, realtime_to_run,
};
use crate::state::instance_status_for;

/// The largest page of jobs DataArts serves.
pub(crate) const MAX_JOB_PAGE: u32 = 100;
/// The largest page of instances DataArts serves.
pub(crate) const MAX_INSTANCE_PAGE: u32 = 1000;
/// The page size when the query names none.
pub(crate) const DEFAULT_PAGE: u32 = 100;
/// The widest instance window DataArts accepts (HSDK
/// `list_job_instances_request.py`: at most 7 days), in milliseconds. A
/// window `[lo, hi]` has both ends inclusive, so `hi - lo` is one less.
pub(crate) const WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// The most pages one exact-name job lookup reads.
const MAX_LOOKUP_PAGES: u32 = 100;

/// Where listed runs come from, in listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    RealtimeJobs,
    Instances,
    BatchJobs,
}

/// The sources a query's kind selects (for the fuzz target).
pub(crate) fn sources_for(kind: Option<&str>) -> &'static [Source] {
    Source::for_kind(kind)
}

impl Source {
    /// The sources a query's kind selects: real-time jobs and batch
    /// instances by default; batch jobs (schedules) only when asked for.
    fn for_kind(kind: Option<&str>) -> &'static [Source] {
        match kind {
            None => &[Source::RealtimeJobs, Source::Instances],
            Some(KIND_REALTIME_JOB) => &[Source::RealtimeJobs],
            Some(KIND_BATCH_INSTANCE) => &[Source::Instances],
            Some(KIND_BATCH_JOB) => &[Source::BatchJobs],
            Some(_) => &[],
        }
    }

    fn max_page(self) -> u32 {
        match self {
            Source::Instances => MAX_INSTANCE_PAGE,
            _ => MAX_JOB_PAGE,
        }
    }
}

/// How the server reads `offset`, as far as a listing has found out.
///
/// DataArts documents `offset` as a page number (HSDK: "分页参数：页数"; OTC:
/// "Start page"); one third-party client advances it by records. The first
/// page is `offset=0` under both readings. The second is asked for as
/// `offset=1`: under the page reading that is the next page, under the
/// record reading it starts at the first page's second record, so the first
/// page's last record comes back in it. That tells the two apart at no
/// extra request, and the rest of the listing follows the reading found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    Unknown,
    Page,
    Record,
}

/// Where a listing is; the cursor is this, written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    /// Index into the query's sources.
    pub(crate) source: usize,
    /// Instances: which window, 0 the newest.
    pub(crate) window: u32,
    pub(crate) reading: Reading,
    /// Records of this source (and window) already listed.
    pub(crate) records: u64,
    /// The page size, fixed for a source (the page reading needs it).
    pub(crate) limit: u32,
    /// FNV-1a of the key of the last record listed (0: none).
    pub(crate) last: u64,
    /// Instances: the server time (epoch ms) the windows end at, when the
    /// query names no `created_to`.
    pub(crate) anchor: Option<i64>,
}

impl Position {
    fn start(source: usize, limit: u32, anchor: Option<i64>) -> Self {
        Position {
            source,
            window: 0,
            reading: Reading::Unknown,
            records: 0,
            limit,
            last: 0,
            anchor,
        }
    }

    /// `d2:{source}:{window}:{u|p|r}:{records}:{limit}:{last hex}:{anchor|-}`.
    pub(crate) fn to_cursor(&self) -> Cursor {
        let reading = match self.reading {
            Reading::Unknown => 'u',
            Reading::Page => 'p',
            Reading::Record => 'r',
        };
        let anchor = self
            .anchor
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        Cursor::new(format!(
            "d2:{}:{}:{reading}:{}:{}:{:x}:{anchor}",
            self.source, self.window, self.records, self.limit, self.last
        ))
    }

    pub(crate) fn parse(c: &Cursor, sources: &[Source]) -> Result<Self> {
        let bad = || Error::invalid_input("malformed cursor");
        let parts: Vec<&str> = c.as_str().split(':').collect();
        let ["d2", source, window, reading, records, limit, last, anchor] = parts.as_slice() else {
            return Err(bad());
        };
        let source: usize = source.parse().map_err(|_| bad())?;
        let max = sources.get(source).ok_or_else(bad)?.max_page();
        let limit: u32 = limit.parse().map_err(|_| bad())?;
        if limit == 0 || limit > max {
            return Err(bad());
        }
        Ok(Position {
            source,
            window: window.parse().map_err(|_| bad())?,
            reading: match *reading {
                "u" => Reading::Unknown,
                "p" => Reading::Page,
                "r" => Reading::Record,
                _ => return Err(bad()),
            },
            records: records.parse().map_err(|_| bad())?,
            limit,
            last: u64::from_str_radix(last, 16).map_err(|_| bad())?,
            anchor: match *anchor {
                "-" => None,
                a => Some(a.parse().map_err(|_| bad())?),
            },
        })
    }

    /// The `offset` to send, and whether this request tells the readings
    /// apart.
    fn offset(&self) -> (u64, bool) {
        match self.reading {
            _ if self.records == 0 => (0, false),
            Reading::Page => (self.records / u64::from(self.limit.max(1)), false),
            Reading::Record => (self.records, false),
            Reading::Unknown => (1, true),
        }
    }

    /// Takes in one answer: the records not listed before, and whether the
    /// source (or window) is done.
    fn absorb(
        &mut self,
        items: Vec<Value>,
        total: u64,
        key: fn(&Value) -> u64,
    ) -> (Vec<Value>, bool) {
        let (offset, probing) = self.offset();
        let returned = items.len() as u64;
        let short = returned < u64::from(self.limit);
        let fresh: Vec<Value> = if probing {
            match items
                .iter()
                .position(|it| self.last != 0 && key(it) == self.last)
            {
                Some(i) => {
                    self.reading = Reading::Record;
                    self.records = offset + returned;
                    items.into_iter().skip(i + 1).collect()
                }
                None => {
                    self.reading = Reading::Page;
                    self.records += returned;
                    items
                }
            }
        } else {
            self.records += returned;
            items
        };
        if self.reading == Reading::Unknown && self.limit == 1 {
            // With one record a page, both readings are the same.
            self.reading = Reading::Record;
        }
        if let Some(last) = fresh.last() {
            self.last = key(last);
        }
        let done = returned == 0 || short || self.records >= total;
        (fresh, done)
    }
}

fn fnv1a(text: &str) -> u64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h.max(1)
}

/// A job list item's key: its name.
fn job_key(v: &Value) -> u64 {
    v.get("name").and_then(Value::as_str).map_or(0, fnv1a)
}

/// An instance's key: its id.
fn instance_key(v: &Value) -> u64 {
    match v.get("instanceId") {
        Some(Value::Number(n)) => fnv1a(&n.to_string()),
        Some(Value::String(s)) => fnv1a(s),
        _ => 0,
    }
}

/// The plan-time windows of an instance listing, newest first: `[lo, hi]`
/// inclusive, each at most [`WINDOW_MS`] wide, from `end` back to `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Windows {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Windows {
    pub(crate) fn count(&self) -> u32 {
        if self.end < self.start {
            return 0;
        }
        u32::try_from((self.end - self.start) / WINDOW_MS + 1).unwrap_or(u32::MAX)
    }

    pub(crate) fn get(&self, k: u32) -> Option<(i64, i64)> {
        if k >= self.count() {
            return None;
        }
        let hi = self.end - i64::from(k) * WINDOW_MS;
        Some(((hi - WINDOW_MS + 1).max(self.start), hi))
    }
}

/// Lists, inspects and stops DataArts Factory jobs and job instances.
///
/// Build one with [`DataArtsBuilder`](crate::DataArtsBuilder). Run ids are a
/// job name (a real-time or batch job) or `job_name/instance_id` (a batch job
/// instance).
pub struct DataArtsController {
    base: BaseUrl,
    project_id: String,
    workspace: Option<String>,
    lookback: Duration,
    http: HttpClient,
}

impl fmt::Debug for DataArtsController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataArtsController")
            .field("base_url", &self.base)
            .field("project_id", &self.project_id)
            .field("workspace", &self.workspace)
            .field("instance_lookback", &self.lookback)
            .field("http", &self.http)
            .finish()
    }
}

impl DataArtsController {
    pub(crate) fn new(
        base: BaseUrl,
        project_id: String,
        workspace: Option<String>,
        lookback: Duration,
        http: HttpClient,
    ) -> Self {
        DataArtsController {
            base,
            project_id,
            workspace,
            lookback,
            http,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The project id.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The workspace, if configured.
    pub fn workspace(&self) -> Option<&str> {
        self.workspace.as_deref()
    }

    /// How far back an instance listing looks when the query names no
    /// `created_from`.
    pub fn instance_lookback(&self) -> Duration {
        self.lookback
    }

    fn jobs_path(&self) -> Result<PathBuilder> {
        Ok(self
            .base
            .path()
            .lit("v1")
            .segment(&self.project_id)?
            .lit("jobs"))
    }

    async fn send(&self, mut req: HttpRequest) -> Result<HttpResponse> {
        req = req
            .header("content-type", "application/json")?
            .header("accept", "application/json")?
            .header("x-project-id", &self.project_id)?;
        if let Some(w) = &self.workspace {
            req = req.header("workspace", w)?;
        }
        self.http.send(req).await
    }

    async fn get(
        &self,
        path: PathBuilder,
        op: Operation,
        id: Option<&RunId>,
        query: &[(&str, &str)],
    ) -> Result<HttpResponse> {
        let mut req = HttpRequest::get(path.build(), op).query(query);
        if let Some(id) = id {
            req = req.run_id(id);
        }
        self.send(req).await
    }

    async fn get_json(
        &self,
        path: PathBuilder,
        op: Operation,
        id: Option<&RunId>,
        query: &[(&str, &str)],
    ) -> Result<Value> {
        self.get(path, op, id, query).await?.json()
    }

    /// Reads one run (the status call, also used after a stop).
    async fn read(&self, id: &RunId, target: &Target, op: Operation) -> Result<Run> {
        match target {
            Target::Instance(job, n) => {
                let path = self
                    .jobs_path()?
                    .segment(job)?
                    .lit("instances")
                    .segment(&n.to_string())?;
                let v = self.get_json(path, op, Some(id), &[]).await?;
                let run = instance_to_run(v, Some(job))?;
                if run.id != *id {
                    return Err(Error::invalid_response(format!(
                        "asked for instance {id} and got {}",
                        run.id.escape_for_display()
                    )));
                }
                Ok(run)
            }
            Target::Job(name) => {
                // The detail (HSDK ShowJobResponse) has `processType` but no
                // state: a real-time job's state is in `/status`, a batch
                // job's in the job list.
                let detail = self
                    .get_json(self.jobs_path()?.segment(name)?, op, Some(id), &[])
                    .await?;
                match process_type(&detail) {
                    Some("REAL_TIME") => self.read_realtime(id, name, detail, op).await,
                    Some("BATCH") => match self.find_listed("BATCH", name, id, op).await? {
                        Some(item) => batch_to_run(detail, item),
                        None => Err(Error::invalid_response(
                            "the batch job has a detail but is not in the job list",
                        )),
                    },
                    // No (or an unknown) processType: a batch job is in the
                    // batch list; anything else is read as a real-time job.
                    _ => match self.find_listed("BATCH", name, id, op).await? {
                        Some(item) => batch_to_run(detail, item),
                        None => self.read_realtime(id, name, detail, op).await,
                    },
                }
            }
        }
    }

    async fn read_realtime(
        &self,
        id: &RunId,
        name: &str,
        detail: Value,
        op: Operation,
    ) -> Result<Run> {
        let path = self.jobs_path()?.segment(name)?.lit("status");
        let status = self.get_json(path, op, Some(id), &[]).await?;
        let run = realtime_to_run(detail, status)?;
        Ok(run)
    }

    /// The job list item named exactly `name` (`jobName` matches parts of
    /// names, so the answer is searched for the exact name, page by page).
    async fn find_listed(
        &self,
        job_type: &str,
        name: &str,
        id: &RunId,
        op: Operation,
    ) -> Result<Option<Value>> {
        let mut pos = Position::start(0, MAX_JOB_PAGE, None);
        for _ in 0..MAX_LOOKUP_PAGES {
            let (offset, _) = pos.offset();
            let (offset, limit) = (offset.to_string(), pos.limit.to_string());
            let q = [
                ("jobType", job_type),
                ("jobName", name),
                ("offset", offset.as_str()),
                ("limit", limit.as_str()),
            ];
            let v = self.get_json(self.jobs_path()?, op, Some(id), &q).await?;
            let list: JobList = serde_json::from_value(v).map_err(|e| {
                Error::invalid_response(format!("the job list is not the expected JSON: {e}"))
            })?;
            let (items, done) = pos.absorb(list.jobs, list.total, job_key);
            if let Some(item) = items
                .into_iter()
                .find(|j| j.get("name").and_then(Value::as_str) == Some(name))
            {
                return Ok(Some(item));
            }
            if done {
                return Ok(None);
            }
        }
        Ok(None)
    }

    async fn list_jobs(
        &self,
        job_type: &str,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Value>, u64, Option<i64>)> {
        let (offset, limit) = (offset.to_string(), limit.to_string());
        let q = [
            ("jobType", job_type),
            ("offset", offset.as_str()),
            ("limit", limit.as_str()),
        ];
        let resp = self
            .get(self.jobs_path()?, Operation::List, None, &q)
            .await?;
        let date = server_time(&resp);
        let list: JobList = resp.json()?;
        Ok((list.jobs, list.total, date))
    }

    /// The server's clock (from `Date`) when the query needs "now": one
    /// small job-list request.
    async fn server_now(&self) -> Result<i64> {
        let q = [("jobType", "BATCH"), ("offset", "0"), ("limit", "1")];
        let resp = self
            .get(self.jobs_path()?, Operation::List, None, &q)
            .await?;
        Ok(server_time(&resp).unwrap_or_else(|| Utc::now().timestamp_millis()))
    }

    /// The windows of an instance listing: from `created_to` (or the
    /// anchor) back to `created_from` (or the look-back).
    fn windows(&self, query: &ListQuery, anchor: Option<i64>) -> Windows {
        let end = match query.created_to {
            // maxPlanTime is inclusive; created_to is exclusive.
            Some(to) => to.timestamp_millis() - 1,
            None => anchor.unwrap_or_else(|| Utc::now().timestamp_millis()),
        };
        let start = match query.created_from {
            Some(from) => from.timestamp_millis(),
            None => {
                let back = i64::try_from(self.lookback.as_millis()).unwrap_or(i64::MAX);
                end.saturating_sub(back).saturating_add(1)
            }
        };
        Windows { start, end }
    }

    async fn list_instances(
        &self,
        query: &ListQuery,
        offset: u64,
        limit: u32,
        (lo, hi): (i64, i64),
    ) -> Result<(Vec<Value>, u64, Option<i64>)> {
        let mut q: Vec<(&str, String)> = vec![
            ("offset", offset.to_string()),
            ("limit", limit.to_string()),
            ("minPlanTime", lo.to_string()),
            ("maxPlanTime", hi.to_string()),
        ];
        if query.states.len() == 1 {
            if let Some(status) = query
                .states
                .iter()
                .next()
                .and_then(|s| instance_status_for(*s))
            {
                q.push(("status", status.to_owned()));
            }
        }
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = self.jobs_path()?.lit("instances/detail");
        let resp = self.get(path, Operation::List, None, &pairs).await?;
        let date = server_time(&resp);
        let list: InstanceList = resp.json()?;
        Ok((list.instances, list.total, date))
    }

    /// A stop was refused (HTTP 400): read the run once to tell "already
    /// over" (or already stopping) from a real refusal.
    async fn after_refusal(
        &self,
        id: &RunId,
        target: &Target,
        refusal: Error,
    ) -> Result<StopOutcome> {
        // Already being stopped (a second stop while STOPPING) is not an
        // error; a run that is gone is NotFound.
        match self.read(id, target, Operation::Stop).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Err(e),
            run => StopOutcome::after_refusal(run, refusal),
        }
    }
}

/// The server's time from the `Date` header, rounded up to the end of its
/// second (the header has whole seconds), in epoch ms.
fn server_time(resp: &HttpResponse) -> Option<i64> {
    let t: DateTime<Utc> = resp.date()?.into();
    Some(t.timestamp_millis() + 999)
}

#[async_trait]
impl JobController for DataArtsController {
    fn vendor(&self) -> Vendor {
        Vendor::DATAARTS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_state_filter(Filtering::Local)
            .with_created_filter(Filtering::Local)
            .with_kind_filter(Filtering::Server)
            .with_name_filter(Filtering::Local)
            .with_total_count(false)
            .with_max_page_size(MAX_INSTANCE_PAGE)
            .with_async_stop(true)
            .with_force_stop(false)
            .with_idempotent_stop(true)
            // A paused, frozen or abnormally running instance is refused
            // (`DLF.0102`, "The job instance is not running"): only running
            // (and waiting, which the console cancels) instances stop.
            .with_stoppable_states_for_kind(
                KIND_BATCH_INSTANCE,
                [RunState::Queued, RunState::Running],
            )
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let ctx = |e: Error| e.in_context(&Vendor::DATAARTS, Operation::List, None);
        let sources = Source::for_kind(query.kind.as_deref());
        if sources.is_empty() {
            return Ok(Page::new(Vec::new(), None));
        }
        let limit_for = |s: Source| {
            query
                .page_size
                .unwrap_or(DEFAULT_PAGE)
                .clamp(1, s.max_page())
        };
        let mut pos = match &query.cursor {
            None => Position::start(0, limit_for(sources[0]), None),
            Some(c) => Position::parse(c, sources).map_err(ctx)?,
        };
        let source = sources[pos.source];
        let (offset, _) = pos.offset();
        let mut windows = None;
        let (items, total, date) = match source {
            Source::RealtimeJobs => self.list_jobs("REAL_TIME", offset, pos.limit).await,
            Source::BatchJobs => self.list_jobs("BATCH", offset, pos.limit).await,
            Source::Instances => {
                if pos.anchor.is_none() && query.created_to.is_none() {
                    pos.anchor = Some(self.server_now().await.map_err(ctx)?);
                }
                let w = self.windows(query, pos.anchor);
                windows = Some(w);
                match w.get(pos.window) {
                    Some(window) => self.list_instances(query, offset, pos.limit, window).await,
                    None => Ok((Vec::new(), 0, None)),
                }
            }
        }
        .map_err(ctx)?;
        let key = match source {
            Source::Instances => instance_key,
            _ => job_key,
        };
        let (fresh, done) = pos.absorb(items, total, key);
        let mut runs = Vec::with_capacity(fresh.len());
        for item in fresh {
            let run = match source {
                Source::Instances => instance_to_run(item, None),
                _ => job_to_run(item),
            }
            .map_err(ctx)?;
            if query.matches(&run) {
                runs.push(run);
            }
        }
        let next = if !done {
            Some(pos)
        } else if windows.is_some_and(|w| pos.window + 1 < w.count()) {
            Some(Position {
                window: pos.window + 1,
                records: 0,
                last: 0,
                ..pos
            })
        } else if pos.source + 1 < sources.len() {
            let s = pos.source + 1;
            Some(Position::start(
                s,
                limit_for(sources[s]),
                pos.anchor.or(date),
            ))
        } else {
            None
        };
        Ok(Page::new(runs, next.map(|p| p.to_cursor())))
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        let ctx = |e: Error| e.in_context(&Vendor::DATAARTS, Operation::Status, Some(id));
        let target = parse_id(id).map_err(ctx)?;
        self.read(id, &target, Operation::Status).await.map_err(ctx)
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        let ctx = |e: Error| e.in_context(&Vendor::DATAARTS, Operation::Stop, Some(id));
        let target = parse_id(id).map_err(ctx)?;
        request.check_options(&[]).map_err(ctx)?;
        if request.mode == StopMode::Force {
            return Err(ctx(Error::unsupported(
                "DataArts has one stop call per job or instance; there is no forced stop",
            )));
        }
        let path = match &target {
            Target::Instance(job, n) => self
                .jobs_path()
                .and_then(|p| p.segment(job))
                .and_then(|p| p.lit("instances").segment(&n.to_string())),
            Target::Job(name) => self.jobs_path().and_then(|p| p.segment(name)),
        }
        .map_err(ctx)?
        .lit("stop");
        let req = HttpRequest::post(path.build(), Operation::Stop).run_id(id);
        match self.send(req).await {
            // DataArts answers an accepted stop 204 with no body. Any other
            // success must at least be JSON (`json_value` refuses an empty
            // body, an HTML page or text): a proxy's 200 page does not mean
            // the stop was accepted, and reporting `Requested` for it would
            // claim a stop that never happened.
            Ok(resp) if resp.status().as_u16() != 204 => {
                resp.json_value().map_err(ctx)?;
            }
            Ok(_) => {}
            Err(e) if e.http_status() == Some(400) => {
                return self.after_refusal(id, &target, e).await.map_err(ctx);
            }
            Err(e) => return Err(ctx(e)),
        }
        // 204 has no body: read the run back to say where it is.
        match self.read(id, &target, Operation::Stop).await {
            Ok(run) => Ok(match run.state {
                RunState::Stopped => StopOutcome::Stopped(run),
                s if s.is_terminal() => StopOutcome::AlreadyFinished(run),
                _ => StopOutcome::Requested(run),
            }),
            Err(e) => {
                // The stop was accepted; only the read failed. Say so rather
                // than report an error for a stop that happened.
                tracing::debug!(run_id = %id.escape_for_display(), error = %e, "read after stop failed");
                let mut run = Run::new(Vendor::DATAARTS, id.clone(), RunState::Unknown, "");
                if let Target::Instance(..) = target {
                    run.kind = Some(KIND_BATCH_INSTANCE.to_owned());
                }
                Ok(StopOutcome::Requested(run))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_by_kind() {
        assert_eq!(
            Source::for_kind(None),
            &[Source::RealtimeJobs, Source::Instances]
        );
        assert_eq!(Source::for_kind(Some("batch_job")), &[Source::BatchJobs]);
        assert!(Source::for_kind(Some("other")).is_empty());
    }

    #[test]
    fn cursors() {
        let sources = Source::for_kind(None);
        let p = Position {
            source: 1,
            window: 2,
            reading: Reading::Record,
            records: 200,
            limit: 100,
            last: 0xabc,
            anchor: Some(1_718_769_600_999),
        };
        assert_eq!(Position::parse(&p.to_cursor(), sources).unwrap(), p);
        let q = Position::start(0, 10, None);
        assert_eq!(Position::parse(&q.to_cursor(), sources).unwrap(), q);
        for bad in [
            "",
            "1:200",
            "d2:2:0:u:0:10:0:-",
            "d2:0:0:x:0:10:0:-",
            "d2:0:0:u:0:0:0:-",
            "d2:0:0:u:0:101:0:-",
            "d2:0:0:u:-1:10:0:-",
            "d2:0:0:u:0:10:zz:-",
            "d2:0:0:u:0:10:0:now",
            "d2:0:0:u:0:10:0:-:x",
        ] {
            assert!(
                Position::parse(&Cursor::new(bad), sources).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn readings_are_told_apart_without_extra_requests() {
        let rec = |i: u64| serde_json::json!({"instanceId": i});
        let all: Vec<Value> = (0..25).map(rec).collect();
        for reading in [Reading::Page, Reading::Record] {
            let mut pos = Position::start(1, 10, None);
            let mut seen = Vec::new();
            let mut requests = 0;
            loop {
                let (offset, _) = pos.offset();
                let first = match reading {
                    Reading::Record => offset as usize,
                    _ => offset as usize * 10,
                };
                let page: Vec<Value> = all.iter().skip(first).take(10).cloned().collect();
                requests += 1;
                let (fresh, done) = pos.absorb(page, 25, instance_key);
                seen.extend(fresh.iter().map(|v| v["instanceId"].as_u64().unwrap()));
                if done {
                    break;
                }
            }
            assert_eq!(seen, (0..25).collect::<Vec<_>>(), "{reading:?}");
            assert_eq!(pos.reading, reading);
            assert!(requests <= 4, "{reading:?}: {requests} requests");
        }
    }

    #[test]
    fn windows_are_at_most_seven_days_and_disjoint() {
        let w = Windows {
            start: 0,
            end: 3 * WINDOW_MS,
        };
        assert_eq!(w.count(), 4);
        let all: Vec<(i64, i64)> = (0..w.count()).map(|k| w.get(k).unwrap()).collect();
        assert_eq!(all[0], (2 * WINDOW_MS + 1, 3 * WINDOW_MS));
        assert_eq!(all[3], (0, 0));
        for pair in all.windows(2) {
            assert_eq!(pair[1].1 + 1, pair[0].0);
        }
        for (lo, hi) in &all {
            assert!(hi - lo < WINDOW_MS);
        }
        let one = Windows {
            start: 1,
            end: WINDOW_MS,
        };
        assert_eq!((one.count(), one.get(0)), (1, Some((1, WINDOW_MS))));
        assert_eq!(Windows { start: 5, end: 4 }.count(), 0);
    }
}
