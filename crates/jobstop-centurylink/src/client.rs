//! The protocol: requests out, runs back.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use jobstop_core::kernel::{Kernel, Protocol, StopAnswer};
use jobstop_core::{
    Capabilities, Error, ErrorKind, ListQuery, Operation, Page, Result, Run, RunId, RunState,
    StopMode, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse, PathBuilder};

use crate::auth::{Account, Auth};
use crate::listing::{JobPage, JobPages, ListCursor};
use crate::model::{self, ExecutionRef, StopBody, more_after};

/// The largest page Runner serves, asked for when the query names no page
/// size; a larger size is clamped to it (KB `Runner/job-service.md`, Get Job
/// Executions: "You can specify the page size between 1 to 100. Default is
/// “100”").
pub(crate) const MAX_PAGE: u32 = 100;
/// How many jobs are read per page while walking the account: the largest
/// (KB, Get Jobs: `size` 1 to 100; "The maximum number of records per
/// request is 100").
const JOBS_PAGE: u64 = 100;
/// How many job names are remembered (the cache is emptied when full).
const NAME_CACHE: usize = 4096;
/// The page size used when looking for one execution in its job's list.
const EXECUTIONS_PAGE: u64 = 100;
/// The most pages of a job's executions read to find one execution (100,000
/// executions): a server whose `totalSize` never ends cannot hold a status
/// read forever.
const MAX_LOOKUP_PAGES: u64 = 1000;

/// Lists, inspects, stops and kills CenturyLink Cloud Runner job executions.
///
/// Build one with [`CenturyLinkBuilder`](crate::CenturyLinkBuilder). Run ids
/// are `{jobId}/{executionId}`. The kernel adds the rules every vendor
/// shares to [`CenturyLinkProtocol`], which holds Runner's own.
pub type CenturyLinkController = Kernel<CenturyLinkProtocol>;

/// CenturyLink Cloud Runner's protocol: run ids `{jobId}/{executionId}`, the
/// `expiryDuration` stop option, a stop (graceful) and a kill (forced) call,
/// a 400 as the refusal of a stop, and a listing that walks the account's
/// jobs and each job's executions. Its accessors are callable on
/// [`CenturyLinkController`].
pub struct CenturyLinkProtocol {
    base: BaseUrl,
    account: Account,
    http: HttpClient,
    /// Job id → job name: executions do not carry their job's name, and
    /// names rarely change, so `status` reads a job once, not on every poll.
    job_names: Mutex<HashMap<String, Option<String>>>,
    /// Set once the single-execution GET answered 404 for an execution its
    /// job's list holds: that route is missing here, so reads go straight
    /// to the list.
    no_execution_get: AtomicBool,
    /// The latest readings of pages of jobs, so a listing reads each page of
    /// jobs once (not before every page of executions).
    job_pages: JobPages,
}

impl fmt::Debug for CenturyLinkProtocol {
    /// Where requests go and for which account; never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (base, alias, http) = (&self.base, &self.account.alias, &self.http);
        let fields = format!("base_url: {base:?}, account_alias: {alias:?}, http: {http:?}");
        write!(f, "CenturyLinkController {{ {fields} }}")
    }
}

/// The controller for these settings (the builder's last step).
pub(crate) fn controller(
    base: BaseUrl,
    alias: Option<String>,
    learned_alias: Option<Arc<OnceLock<String>>>,
    auth: Auth,
    http: HttpClient,
) -> CenturyLinkController {
    let account = Account::new(alias, learned_alias, auth);
    Kernel::new(CenturyLinkProtocol {
        base,
        http: account.authenticate(&http),
        account,
        job_names: Mutex::new(HashMap::new()),
        no_execution_get: AtomicBool::new(false),
        job_pages: JobPages::default(),
    })
}

impl CenturyLinkProtocol {
    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The account alias: configured, or the one the login answered with
    /// (logging in first if needed).
    pub async fn account_alias(&self) -> Result<String> {
        self.account.alias(&self.http).await
    }

    fn job_name(&self, job: &str) -> Option<Option<String>> {
        let names = self.job_names.lock().unwrap_or_else(|p| p.into_inner());
        names.get(job).cloned()
    }

    fn remember_name(&self, job: &str, name: Option<String>) {
        let mut names = self.job_names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() >= NAME_CACHE {
            names.clear();
        }
        names.insert(job.to_owned(), name);
    }

    /// `/jobs/{alias}`, then the segments of `job` and `execution` given.
    async fn path(&self, job: Option<&str>, execution: Option<&str>) -> Result<PathBuilder> {
        let alias = self.account_alias().await?;
        let mut path = self.base.path().lit("jobs").segment(&alias)?;
        if let Some(job) = job {
            path = path.segment(job)?;
        }
        match execution {
            Some(e) => path.lit("executions").segment(e),
            None => Ok(path),
        }
    }

    /// A GET of `path` (for `id`, if any); `page` is `(page, size)` for the
    /// paged lists.
    async fn get(
        &self,
        op: Operation,
        path: PathBuilder,
        page: Option<(u64, u64)>,
        id: Option<&RunId>,
    ) -> Result<HttpResponse> {
        let mut req = HttpRequest::get(path.build(), op).header("accept", "application/json")?;
        if let Some((page, size)) = page {
            req = req.query(&[("page", &page.to_string()), ("size", &size.to_string())]);
        }
        if let Some(id) = id {
            req = req.run_id(id);
        }
        self.http.send(req).await
    }

    /// Reads one execution. The single-execution GET
    /// (`GET /jobs/{alias}/{jobId}/executions/{executionId}`) is only in the
    /// Runner JS SDK, not in the knowledge base: when it answers 404, the
    /// execution is looked for in its job's executions list (the documented
    /// call), and once found there the GET is not tried again.
    async fn execution(&self, id: &RunId, r: &ExecutionRef) -> Result<Run> {
        if !self.no_execution_get.load(Ordering::Relaxed) {
            let path = self.path(Some(&r.job), Some(&r.execution)).await?;
            match self.get(Operation::Status, path, None, Some(id)).await {
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                resp => return model::execution(&resp?, &r.job),
            }
        }
        let run = self.execution_from_list(id, r).await?;
        self.no_execution_get.store(true, Ordering::Relaxed);
        Ok(run)
    }

    /// The execution from its job's executions list (newest first, pages of
    /// 100): a 404 there (no such job) or an execution the list does not
    /// hold is `NotFound`.
    async fn execution_from_list(&self, id: &RunId, r: &ExecutionRef) -> Result<Run> {
        let path = self.path(Some(&r.job), None).await?.lit("executions");
        for page in 0..MAX_LOOKUP_PAGES {
            let at = Some((page, EXECUTIONS_PAGE));
            let resp = self
                .get(Operation::Status, path.clone(), at, Some(id))
                .await?;
            let listed = model::page(&resp)?;
            if let Some(doc) = model::find_execution(&listed, &r.execution)? {
                return model::execution_to_run(doc, &r.job, None);
            }
            if listed.results.is_empty() || !more_after(page, EXECUTIONS_PAGE, listed.total_size) {
                let what = format!(
                    "execution {} is not in job {}'s executions",
                    r.execution, r.job
                );
                return Err(Error::new(ErrorKind::NotFound, what));
            }
        }
        Err(Error::invalid_response(format!(
            "job {}'s executions list goes on past {MAX_LOOKUP_PAGES} pages",
            r.job
        )))
    }
}

impl CenturyLinkProtocol {
    /// The page of jobs cursor `at` is on: a kept reading that holds the
    /// cursor's job, or (a listing's first page, the next page of jobs, a
    /// cursor from elsewhere) one `GET /jobs/{alias}?page&size`, kept for
    /// the next pages.
    async fn job_page(&self, path: &PathBuilder, at: &ListCursor) -> Result<Arc<JobPage>> {
        if let Some(page) = self.job_pages.get(at) {
            return Ok(page);
        }
        let paging = Some((at.jobs_page, JOBS_PAGE));
        let resp = self
            .get(Operation::List, path.clone(), paging, None)
            .await?;
        let listed = model::page(&resp)?;
        let page = Arc::new(JobPage::decode(at.jobs_page, &listed, JOBS_PAGE));
        self.job_pages.keep(Arc::clone(&page));
        Ok(page)
    }
}

#[async_trait]
impl Protocol for CenturyLinkProtocol {
    type Target = ExecutionRef;
    const STOP_OPTIONS: &'static [&'static str] = &["expiryDuration"];

    const VENDOR: Vendor = Vendor::CENTURYLINK;

    fn parse_id(&self, id: &RunId) -> Result<ExecutionRef> {
        model::parse_id(id)
    }

    /// The client's pacer: every request waits on it (`client.pace`).
    fn pacer(&self) -> Option<jobstop_core::layer::Pacer> {
        Some(self.http.pacer().clone())
    }

    /// Runner filters nothing and counts no total; it stops (and kills)
    /// asynchronously, and a repeated stop is harmless.
    fn capabilities(&self) -> Capabilities {
        // Otherwise the defaults (every filter local, no totals).
        Capabilities::new()
            .with_max_page_size(MAX_PAGE)
            .with_force_stop(true)
    }

    /// One job's page of executions; the cursor walks the jobs in order. A
    /// page of jobs is read once per listing, not before every page of
    /// executions.
    async fn list_page(&self, query: &ListQuery) -> Result<Page> {
        let at = match &query.cursor {
            None => ListCursor::default(),
            Some(c) => ListCursor::parse(c)?,
        };
        let size = u64::from(query.page_size.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE));
        let path = self.path(None, None).await?;
        let jobs = self.job_page(&path, &at).await?;
        let Some((index, executions_page)) = jobs.locate(&at) else {
            // The account has no (more) jobs on this page.
            let here = ListCursor {
                job: jobs.jobs.len(),
                ..at
            };
            let next = here.next(false, &jobs).map(|c| c.to_cursor());
            return Ok(Page::new(Vec::new(), next));
        };
        let job = &jobs.jobs[index];
        let job_id = job
            .id
            .clone()
            .ok_or_else(|| Error::invalid_response("a job has no id"))?;
        self.remember_name(&job_id, job.name.clone());
        let path = path.segment(&job_id)?.lit("executions");
        let paging = Some((executions_page, size));
        let (runs, more_executions) = match self.get(Operation::List, path, paging, None).await {
            // The job was deleted after its page of jobs was read: it has
            // nothing more to list.
            Err(e) if e.kind() == ErrorKind::NotFound => (Vec::new(), false),
            resp => {
                let resp = resp?;
                let executions = model::page(&resp)?;
                let more = !executions.results.is_empty()
                    && more_after(executions_page, size, executions.total_size);
                (
                    model::runs(&executions, &job_id, job.name.as_deref())?,
                    more,
                )
            }
        };
        let here = ListCursor {
            jobs_page: jobs.number,
            job: index,
            executions_page,
            job_id: Some(job_id),
        };
        let next = here.next(more_executions, &jobs).map(|c| c.to_cursor());
        Ok(Page::new(runs, next))
    }

    /// The execution, named after its job (read once per job, alongside).
    async fn read(&self, id: &RunId, r: &ExecutionRef) -> Result<Run> {
        if let Some(name) = self.job_name(&r.job) {
            let mut run = self.execution(id, r).await?;
            run.name = name;
            return Ok(run);
        }
        let job_path = self.path(Some(&r.job), None).await?;
        let (run, job) = futures::join!(
            self.execution(id, r),
            self.get(Operation::Status, job_path, None, Some(id))
        );
        let mut run = run?;
        // The job only lends its name; a failure to read it does not fail
        // the status (and is not remembered, so the next status tries again).
        if let Ok(job) = job.and_then(|resp| model::job(&resp)) {
            run.name = job.name();
            self.remember_name(&r.job, run.name.clone());
        }
        Ok(run)
    }

    /// `POST …/stop` (graceful) or `…/kill` (forced), which Runner answers
    /// with the execution.
    async fn request_stop(
        &self,
        id: &RunId,
        r: &ExecutionRef,
        request: &StopRequest,
    ) -> Result<StopAnswer> {
        let body = StopBody::new(request)?;
        let verb = match request.mode {
            StopMode::Force => "kill",
            _ => "stop",
        };
        let path = self.path(Some(&r.job), Some(&r.execution)).await?;
        let req = HttpRequest::post(path.lit(verb).build(), Operation::Stop)
            .run_id(id)
            .header("accept", "application/json")?
            .json(&body)?;
        let run = model::execution(&self.http.send(req).await?, &r.job)?;
        Ok(StopAnswer::Outcome(match run.state {
            RunState::Stopped => StopOutcome::Stopped(run),
            s if s.is_terminal() => StopOutcome::AlreadyFinished(run),
            _ => StopOutcome::Requested(run),
        }))
    }

    /// Runner refuses a stop it will not do with a 400, and only then is the
    /// run read back (a 409 is not Runner's refusal).
    fn is_refusal(&self, error: &Error) -> bool {
        error.http_status() == Some(400)
    }
}
