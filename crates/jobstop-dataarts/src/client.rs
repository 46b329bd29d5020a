//! The protocol: requests out, runs back. The rules every vendor shares
//! (id and option checks, the forced-stop refusal, error context, the
//! read-back after a stop) are the kernel's.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jobstop_core::kernel::{Kernel, Protocol, StopAnswer};
use jobstop_core::{
    Capabilities, Error, Filtering, ListQuery, Operation, Page, Result, Run, RunId, RunState,
    StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse, PathBuilder};

use crate::listing::KIND_BATCH_INSTANCE;
use crate::listing::{MAX_INSTANCE_PAGE, MAX_JOB_PAGE, Position, Source, Windows};
use crate::model::{self, Detail, Target};
use crate::state::instance_status_for;

/// The most pages one exact-name job lookup reads.
const MAX_LOOKUP_PAGES: u32 = 100;

/// Lists, inspects and stops DataArts Factory jobs and job instances.
///
/// Build one with [`DataArtsBuilder`](crate::DataArtsBuilder). Run ids are a
/// job name (a real-time or batch job) or `job_name/instance_id` (a batch job
/// instance). The controller is the [`Kernel`] over [`DataArtsProtocol`],
/// whose accessors it offers too.
pub type DataArtsController = Kernel<DataArtsProtocol>;

/// The DataArts Factory protocol: its id grammar, capabilities, and how to
/// list a page, read a run and request a stop. [`DataArtsController`] is the
/// [`Kernel`] over it.
#[derive(Debug)]
pub struct DataArtsProtocol {
    base: BaseUrl,
    project_id: String,
    workspace: Option<String>,
    instance_lookback: Duration,
    http: HttpClient,
}

impl DataArtsProtocol {
    pub(crate) fn new(
        base: BaseUrl,
        project_id: String,
        workspace: Option<String>,
        instance_lookback: Duration,
        http: HttpClient,
    ) -> Self {
        DataArtsProtocol {
            base,
            project_id,
            workspace,
            instance_lookback,
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
    /// `created_after`.
    pub fn instance_lookback(&self) -> Duration {
        self.instance_lookback
    }

    fn jobs_path(&self) -> Result<PathBuilder> {
        Ok(self
            .base
            .path()
            .lit("v1")
            .segment(&self.project_id)?
            .lit("jobs"))
    }

    /// The path of the job or instance an id names.
    fn run_path(&self, target: &Target) -> Result<PathBuilder> {
        match target {
            Target::Job(name) => self.jobs_path()?.segment(name),
            Target::Instance(job, n) => self
                .jobs_path()?
                .segment(job)?
                .lit("instances")
                .segment(&n.to_string()),
        }
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

    /// `GET path?query`: a read of run `id`, or a listing when there is none.
    async fn get(
        &self,
        path: PathBuilder,
        query: &[(&str, &str)],
        id: Option<&RunId>,
    ) -> Result<HttpResponse> {
        let req = match id {
            Some(id) => HttpRequest::get(path.build(), Operation::Status).run_id(id),
            None => HttpRequest::get(path.build(), Operation::List),
        };
        self.send(req.query(query)).await
    }

    /// A page of the job list of one type, from `offset`.
    async fn get_jobs(
        &self,
        job_type: &str,
        name: Option<&RunId>,
        pos: &Position,
    ) -> Result<HttpResponse> {
        let (offset, limit) = (pos.offset().0.to_string(), pos.limit.to_string());
        let mut q = vec![("jobType", job_type)];
        if let Some(id) = name {
            q.push(("jobName", id.as_str()));
        }
        q.extend([("offset", offset.as_str()), ("limit", limit.as_str())]);
        self.get(self.jobs_path()?, &q, name).await
    }

    /// The batch job named exactly `id`, with its detail, read from the job
    /// list (the only place its schedule state is), page by page.
    async fn find_batch(&self, id: &RunId, detail: &Detail<'_>) -> Result<Option<Run>> {
        let mut pos = Position::start(0, MAX_JOB_PAGE, None);
        for _ in 0..MAX_LOOKUP_PAGES {
            let resp = self.get_jobs("BATCH", Some(id), &pos).await?;
            match model::find_batch(&resp, &mut pos, id.as_str(), detail)? {
                (Some(run), _) => return Ok(Some(run)),
                (None, true) => return Ok(None),
                (None, false) => {}
            }
        }
        Ok(None)
    }

    async fn read_realtime(&self, id: &RunId, name: &str, detail: &Detail<'_>) -> Result<Run> {
        let path = self.jobs_path()?.segment(name)?.lit("status");
        let status = self.get(path, &[], Some(id)).await?;
        model::realtime(detail, &status)
    }

    /// The server's clock (from `Date`) when the query needs "now": one
    /// small job-list request.
    async fn server_now(&self) -> Result<i64> {
        let q = [("jobType", "BATCH"), ("offset", "0"), ("limit", "1")];
        let resp = self.get(self.jobs_path()?, &q, None).await?;
        Ok(server_time(&resp).unwrap_or_else(|| Utc::now().timestamp_millis()))
    }

    /// The windows of an instance listing: from `created_before` (or the
    /// anchor) back to `created_after` (or the look-back).
    fn windows(&self, query: &ListQuery, anchor: Option<i64>) -> Windows {
        let end = match query.created_before {
            // maxPlanTime is inclusive; created_before is exclusive.
            Some(to) => to.timestamp_millis() - 1,
            None => anchor.unwrap_or_else(|| Utc::now().timestamp_millis()),
        };
        let start = match query.created_after {
            Some(from) => from.timestamp_millis(),
            None => {
                let back = i64::try_from(self.instance_lookback.as_millis()).unwrap_or(i64::MAX);
                end.saturating_sub(back).saturating_add(1)
            }
        };
        Windows { start, end }
    }

    async fn get_instances(
        &self,
        query: &ListQuery,
        pos: &Position,
        (lo, hi): (i64, i64),
    ) -> Result<HttpResponse> {
        let mut q: Vec<(&str, String)> = vec![
            ("offset", pos.offset().0.to_string()),
            ("limit", pos.limit.to_string()),
            ("minPlanTime", lo.to_string()),
            ("maxPlanTime", hi.to_string()),
        ];
        let mut states = query.states.iter();
        if let (Some(state), None) = (states.next(), states.next())
            && let Some(status) = instance_status_for(*state)
        {
            q.push(("status", status.to_owned()));
        }
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = self.jobs_path()?.lit("instances/detail");
        self.get(path, &pairs, None).await
    }
}

/// The server's time from the `Date` header, rounded up to the end of its
/// second (the header has whole seconds), in epoch ms.
fn server_time(resp: &HttpResponse) -> Option<i64> {
    let t: DateTime<Utc> = resp.date()?.into();
    Some(t.timestamp_millis() + 999)
}

#[async_trait]
impl Protocol for DataArtsProtocol {
    type Target = Target;

    fn parse_id(&self, id: &RunId) -> Result<Target> {
        model::parse_id(id)
    }

    const VENDOR: Vendor = Vendor::DATAARTS;

    /// The client's pacer: every request waits on it (`client.pace`).
    fn pacer(&self) -> Option<jobstop_core::layer::Pacer> {
        Some(self.http.pacer().clone())
    }

    fn capabilities(&self) -> Capabilities {
        // Stops: one call per job or instance, answered before the run ends.
        // A paused, frozen or abnormally running instance is refused
        // (`DLF.0102`, "The job instance is not running"): only running (and
        // waiting, which the console cancels) instances stop.
        let stops = Capabilities::new()
            .with_force_stop(false)
            .with_async_stop(true)
            .with_idempotent_stop(true)
            .with_stoppable_states_for_kind(
                KIND_BATCH_INSTANCE,
                [RunState::Queued, RunState::Running],
            );
        // Listing: the kind picks the sources; the rest is checked here.
        stops
            .with_kind_filter(Filtering::Server)
            .with_state_filter(Filtering::Local)
            .with_created_filter(Filtering::Local)
            .with_name_filter(Filtering::Local)
            .with_max_page_size(MAX_INSTANCE_PAGE)
            .with_total_count(false)
    }

    async fn list_page(&self, query: &ListQuery) -> Result<Page> {
        let sources = Source::for_kind(query.kind.as_deref());
        let Some(first) = sources.first() else {
            return Ok(Page::new(Vec::new(), None));
        };
        // No size named: the largest page the source serves; a larger one
        // is clamped to it (DataArts refuses a `limit` out of range).
        let limit_for = |s: Source| {
            let size = query.page_size.unwrap_or(s.max_page());
            size.clamp(1, s.max_page())
        };
        let mut pos = match &query.cursor {
            None => Position::start(0, limit_for(*first), None),
            Some(c) => Position::parse(c, sources)?,
        };
        let source = sources[pos.source];
        let mut windows = None;
        let resp = match source {
            Source::RealtimeJobs => Some(self.get_jobs("REAL_TIME", None, &pos).await?),
            Source::BatchJobs => Some(self.get_jobs("BATCH", None, &pos).await?),
            Source::Instances => {
                if pos.anchor.is_none() && query.created_before.is_none() {
                    pos.anchor = Some(self.server_now().await?);
                }
                let w = windows.insert(self.windows(query, pos.anchor));
                match w.get(pos.window) {
                    Some(window) => Some(self.get_instances(query, &pos, window).await?),
                    None => None,
                }
            }
        };
        let (runs, done) = match &resp {
            Some(resp) => model::page(source, resp, &mut pos)?,
            None => (Vec::new(), true),
        };
        let next = if !done {
            Some(pos)
        } else if windows.is_some_and(|w| pos.window + 1 < w.count()) {
            Some(Position {
                window: pos.window + 1,
                records: 0,
                last: 0,
                ..pos
            })
        } else if let Some(&s) = sources.get(pos.source + 1) {
            let date = resp.as_ref().and_then(server_time);
            let anchor = pos.anchor.or(date);
            Some(Position::start(pos.source + 1, limit_for(s), anchor))
        } else {
            None
        };
        Ok(Page::new(runs, next.map(|p| p.to_cursor())))
    }

    async fn read(&self, id: &RunId, target: &Target) -> Result<Run> {
        let path = self.run_path(target)?;
        let resp = self.get(path, &[], Some(id)).await?;
        let name = match target {
            Target::Instance(job, _) => return model::instance(&resp, job),
            Target::Job(name) => name,
        };
        // The detail (HSDK ShowJobResponse) has `processType` but no state:
        // a real-time job's state is in `/status`, a batch job's in the job
        // list.
        let detail = model::detail(&resp)?;
        match detail.process_type() {
            Some("REAL_TIME") => self.read_realtime(id, name, &detail).await,
            Some("BATCH") => self.find_batch(id, &detail).await?.ok_or_else(|| {
                Error::invalid_response("the batch job has a detail but is not in the job list")
            }),
            // No (or an unknown) processType: a batch job is in the batch
            // list; anything else is read as a real-time job.
            _ => match self.find_batch(id, &detail).await? {
                Some(run) => Ok(run),
                None => self.read_realtime(id, name, &detail).await,
            },
        }
    }

    async fn request_stop(
        &self,
        id: &RunId,
        target: &Target,
        _request: &StopRequest,
    ) -> Result<StopAnswer> {
        let path = self.run_path(target)?.lit("stop");
        let req = HttpRequest::post(path.build(), Operation::Stop).run_id(id);
        model::stop_accepted(&self.send(req).await?)?;
        // 204 has no body: the kernel reads the run back.
        Ok(StopAnswer::Accepted)
    }

    /// DataArts refuses a stop with HTTP 400 (a finished or already
    /// stopping run); a 409 is not its refusal.
    fn is_refusal(&self, error: &Error) -> bool {
        error.http_status() == Some(400)
    }

    /// An instance id says the run is a batch instance.
    fn unread_run(&self, id: &RunId, target: &Target) -> Run {
        let run = Run::new(Vendor::DATAARTS, id.clone(), RunState::Unknown, "");
        match target {
            Target::Instance(..) => run.with_kind(KIND_BATCH_INSTANCE),
            Target::Job(_) => run,
        }
    }
}
