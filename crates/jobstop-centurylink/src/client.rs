//! The controller: requests out, runs back.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use jobstop_core::{
    Capabilities, Cursor, Error, ErrorKind, Filtering, JobController, ListQuery, Operation, Page,
    Result, Run, RunId, RunState, StopMode, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, PathBuilder, StaticToken, TokenAuth};
use serde_json::Value;

use crate::auth::Login;
use crate::model::{
    ExecutionRef, RunnerPage, execution_id, execution_to_run, job_id, job_name, parse_id,
};

/// The largest page Runner serves.
pub(crate) const MAX_PAGE: u32 = 100;
/// How many jobs are read per page while walking the account.
const JOBS_PAGE: u64 = 100;
/// How many job names are remembered (the cache is emptied when full).
const NAME_CACHE: usize = 4096;
/// The page size used when looking for one execution in its job's list.
const EXECUTIONS_PAGE: u64 = 100;
/// The most pages of a job's executions read to find one execution (100,000
/// executions): a server whose `totalSize` never ends cannot hold a status
/// read forever.
const MAX_LOOKUP_PAGES: u64 = 1000;

/// How requests are authenticated.
pub(crate) enum Auth {
    /// A bearer token given by the user.
    Static(Arc<TokenAuth<StaticToken>>),
    /// A login with a username and password.
    Login(Arc<TokenAuth<Login>>),
}

/// Lists, inspects, stops and kills CenturyLink Cloud Runner job executions.
///
/// Build one with [`CenturyLinkBuilder`](crate::CenturyLinkBuilder). Run ids
/// are `{jobId}/{executionId}`.
pub struct CenturyLinkController {
    base: BaseUrl,
    alias: Option<String>,
    learned_alias: Option<Arc<OnceLock<String>>>,
    auth: Auth,
    http: HttpClient,
    /// Job id → job name: executions do not carry their job's name, and
    /// names rarely change, so `status` reads a job once, not on every poll.
    job_names: Mutex<HashMap<String, Option<String>>>,
    /// Set once the single-execution GET answered 404 for an execution its
    /// job's list holds: that route is missing here, so reads go straight
    /// to the list.
    no_execution_get: AtomicBool,
}

impl fmt::Debug for CenturyLinkController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CenturyLinkController")
            .field("base_url", &self.base)
            .field("account_alias", &self.alias)
            .field("http", &self.http)
            .finish()
    }
}

/// The listing cursor: `{jobs page}:{job index in that page}:{executions page}`.
pub(crate) fn parse_cursor(c: &Cursor) -> Result<(u64, usize, u64)> {
    let bad = || Error::invalid_input("malformed cursor");
    let mut it = c.as_str().split(':');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(a), Some(b), Some(c), None) => Ok((
            a.parse().map_err(|_| bad())?,
            b.parse().map_err(|_| bad())?,
            c.parse().map_err(|_| bad())?,
        )),
        _ => Err(bad()),
    }
}

impl CenturyLinkController {
    pub(crate) fn new(
        base: BaseUrl,
        alias: Option<String>,
        learned_alias: Option<Arc<OnceLock<String>>>,
        auth: Auth,
        http: HttpClient,
    ) -> Self {
        let http = match &auth {
            Auth::Static(a) => http.with_authenticator(a.clone()),
            Auth::Login(a) => http.with_authenticator(a.clone()),
        };
        CenturyLinkController {
            base,
            alias,
            learned_alias,
            auth,
            http,
            job_names: Mutex::new(HashMap::new()),
            no_execution_get: AtomicBool::new(false),
        }
    }

    fn cached_name(&self, job: &str) -> Option<Option<String>> {
        self.job_names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(job)
            .cloned()
    }

    fn remember_name(&self, job: &str, name: Option<String>) {
        let mut names = self.job_names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() >= NAME_CACHE {
            names.clear();
        }
        names.insert(job.to_owned(), name);
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The account alias: configured, or the one the login answered with
    /// (logging in first if needed).
    pub async fn account_alias(&self) -> Result<String> {
        if let Some(a) = &self.alias {
            return Ok(a.clone());
        }
        if let (Some(learned), Auth::Login(auth)) = (&self.learned_alias, &self.auth) {
            if let Some(a) = learned.get() {
                return Ok(a.clone());
            }
            auth.cache()
                .token(&self.http.without_authenticator())
                .await?;
            if let Some(a) = learned.get() {
                return Ok(a.clone());
            }
        }
        Err(Error::config(
            "centurylink account_alias: not configured and the login did not return one",
        ))
    }

    async fn jobs_path(&self) -> Result<PathBuilder> {
        let alias = self.account_alias().await?;
        self.base.path().lit("jobs").segment(&alias)
    }

    async fn execution_path(&self, r: &ExecutionRef) -> Result<PathBuilder> {
        self.jobs_path()
            .await?
            .segment(&r.job)?
            .lit("executions")
            .segment(&r.execution)
    }

    async fn get(
        &self,
        path: PathBuilder,
        op: Operation,
        id: Option<&RunId>,
        query: &[(&str, &str)],
    ) -> Result<Value> {
        let mut req = HttpRequest::get(path.build(), op)
            .header("accept", "application/json")?
            .query(query);
        if let Some(id) = id {
            req = req.run_id(id);
        }
        self.http.send(req).await?.json()
    }

    async fn page(&self, path: PathBuilder, page: u64, size: u64) -> Result<RunnerPage> {
        self.page_for(path, page, size, Operation::List, None).await
    }

    async fn page_for(
        &self,
        path: PathBuilder,
        page: u64,
        size: u64,
        op: Operation,
        id: Option<&RunId>,
    ) -> Result<RunnerPage> {
        let (p, s) = (page.to_string(), size.to_string());
        let v = self
            .get(path, op, id, &[("page", &p), ("size", &s)])
            .await?;
        serde_json::from_value(v).map_err(|e| {
            Error::invalid_response(format!("a Runner page is not the expected JSON: {e}"))
        })
    }

    /// Reads one execution. The single-execution GET
    /// (`GET /jobs/{alias}/{jobId}/executions/{executionId}`) is only in the
    /// Runner JS SDK, not in the knowledge base: when it answers 404, the
    /// execution is looked for in its job's executions list (the documented
    /// call), and once found there the GET is not tried again.
    async fn execution(&self, id: &RunId, r: &ExecutionRef, op: Operation) -> Result<Run> {
        if !self.no_execution_get.load(Ordering::Relaxed) {
            match self.execution_get(id, r, op).await {
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                other => return other,
            }
        }
        let run = self.execution_from_list(id, r, op).await?;
        self.no_execution_get.store(true, Ordering::Relaxed);
        Ok(run)
    }

    /// The execution from its job's executions list (newest first, pages of
    /// 100): a 404 there (no such job) or an execution the list does not
    /// hold is `NotFound`.
    async fn execution_from_list(
        &self,
        id: &RunId,
        r: &ExecutionRef,
        op: Operation,
    ) -> Result<Run> {
        let path = self.jobs_path().await?.segment(&r.job)?.lit("executions");
        let mut page = 0;
        loop {
            let listed = self
                .page_for(path.clone(), page, EXECUTIONS_PAGE, op, Some(id))
                .await?;
            let count = listed.results.len() as u64;
            for e in listed.results {
                // A listed execution without an id is a damaged answer, not
                // a reason to say the execution is not there.
                let Some(listed_id) = execution_id(&e) else {
                    return Err(Error::invalid_response("an execution has no execution_id"));
                };
                if listed_id == r.execution {
                    return checked(id, e, r);
                }
            }
            page += 1;
            if page >= MAX_LOOKUP_PAGES && count > 0 {
                return Err(Error::invalid_response(format!(
                    "job {}'s executions list goes on past {MAX_LOOKUP_PAGES} pages",
                    r.job
                )));
            }
            if count == 0 || page.saturating_mul(EXECUTIONS_PAGE) >= listed.total_size {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "execution {} is not in job {}'s executions",
                        r.execution, r.job
                    ),
                ));
            }
        }
    }

    async fn execution_get(&self, id: &RunId, r: &ExecutionRef, op: Operation) -> Result<Run> {
        let v = self
            .get(self.execution_path(r).await?, op, Some(id), &[])
            .await?;
        checked(id, v, r)
    }

    /// A stop was refused (HTTP 400): read the execution once to tell
    /// "already over" (or already stopping) from a real refusal.
    async fn after_refusal(
        &self,
        id: &RunId,
        r: &ExecutionRef,
        refusal: Error,
    ) -> Result<StopOutcome> {
        let run = self.execution(id, r, Operation::Stop).await;
        StopOutcome::after_refusal(run, refusal)
    }
}

/// An execution document as the run `id`, or an error if it is another.
fn checked(id: &RunId, v: Value, r: &ExecutionRef) -> Result<Run> {
    let run = execution_to_run(v, &r.job, None)?;
    if run.id != *id {
        return Err(Error::invalid_response(format!(
            "asked for execution {id} and got {}",
            run.id.escape_for_display()
        )));
    }
    Ok(run)
}

/// The stop body: `{"expiryDuration":N}`, N from the request's
/// `expiryDuration` option (whole seconds, default 0).
fn stop_body(request: &StopRequest) -> Result<Value> {
    request.check_options(&["expiryDuration"])?;
    let n = match request.options.get("expiryDuration") {
        None => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            Error::invalid_input("the expiryDuration stop option is a whole number of seconds")
        })?,
    };
    Ok(serde_json::json!({ "expiryDuration": n }))
}

#[async_trait]
impl JobController for CenturyLinkController {
    fn vendor(&self) -> Vendor {
        Vendor::CENTURYLINK
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_state_filter(Filtering::Local)
            .with_created_filter(Filtering::Local)
            .with_kind_filter(Filtering::Local)
            .with_name_filter(Filtering::Local)
            .with_total_count(false)
            .with_max_page_size(MAX_PAGE)
            .with_async_stop(true)
            .with_force_stop(true)
            .with_idempotent_stop(true)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let ctx = |e: Error| e.in_context(&Vendor::CENTURYLINK, Operation::List, None);
        let (jobs_page, job_index, exec_page) = match &query.cursor {
            None => (0, 0, 0),
            Some(c) => parse_cursor(c).map_err(ctx)?,
        };
        let size = u64::from(query.page_size.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE));
        let jobs = self
            .page(self.jobs_path().await.map_err(ctx)?, jobs_page, JOBS_PAGE)
            .await
            .map_err(ctx)?;
        let more_jobs = (jobs_page + 1) * JOBS_PAGE < jobs.total_size;
        let Some(job) = jobs.results.get(job_index) else {
            // The account has no (more) jobs on this page.
            let next = more_jobs.then(|| Cursor::new(format!("{}:0:0", jobs_page + 1)));
            return Ok(Page::new(Vec::new(), next));
        };
        let id = job_id(job).ok_or_else(|| ctx(Error::invalid_response("a job has no id")))?;
        let name = job_name(job);
        self.remember_name(&id, name.clone());
        let path = self
            .jobs_path()
            .await
            .and_then(|p| p.segment(&id))
            .map_err(ctx)?
            .lit("executions");
        let executions = self.page(path, exec_page, size).await.map_err(ctx)?;
        let count = executions.results.len() as u64;
        let mut runs = Vec::with_capacity(executions.results.len());
        for item in executions.results {
            let run = execution_to_run(item, &id, name.clone()).map_err(ctx)?;
            if query.matches(&run) {
                runs.push(run);
            }
        }
        let next = if count > 0 && (exec_page + 1) * size < executions.total_size {
            Some(format!("{jobs_page}:{job_index}:{}", exec_page + 1))
        } else if job_index + 1 < jobs.results.len() {
            Some(format!("{jobs_page}:{}:0", job_index + 1))
        } else if more_jobs {
            Some(format!("{}:0:0", jobs_page + 1))
        } else {
            None
        };
        Ok(Page::new(runs, next.map(Cursor::new)))
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        let ctx = |e: Error| e.in_context(&Vendor::CENTURYLINK, Operation::Status, Some(id));
        let r = parse_id(id).map_err(ctx)?;
        if let Some(name) = self.cached_name(&r.job) {
            let mut run = self
                .execution(id, &r, Operation::Status)
                .await
                .map_err(ctx)?;
            run.name = name;
            return Ok(run);
        }
        let job_path = self
            .jobs_path()
            .await
            .and_then(|p| p.segment(&r.job))
            .map_err(ctx)?;
        let (run, job) = futures::join!(
            self.execution(id, &r, Operation::Status),
            self.get(job_path, Operation::Status, Some(id), &[])
        );
        let mut run = run.map_err(ctx)?;
        // The job only lends its name; a failure to read it does not fail
        // the status (and is not remembered, so the next status tries again).
        if let Ok(job) = job {
            run.name = job_name(&job);
            self.remember_name(&r.job, run.name.clone());
        }
        Ok(run)
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        let ctx = |e: Error| e.in_context(&Vendor::CENTURYLINK, Operation::Stop, Some(id));
        let r = parse_id(id).map_err(ctx)?;
        let body = stop_body(request).map_err(ctx)?;
        let verb = match request.mode {
            StopMode::Force => "kill",
            _ => "stop",
        };
        let path = self.execution_path(&r).await.map_err(ctx)?;
        let path = if verb == "kill" {
            path.lit("kill")
        } else {
            path.lit("stop")
        };
        let req = HttpRequest::post(path.build(), Operation::Stop)
            .run_id(id)
            .header("accept", "application/json")
            .and_then(|q| q.json(&body))
            .map_err(ctx)?;
        let resp = match self.http.send(req).await {
            Ok(resp) => resp,
            Err(e) if e.http_status() == Some(400) => {
                return self.after_refusal(id, &r, e).await.map_err(ctx);
            }
            Err(e) => return Err(ctx(e)),
        };
        let run = execution_to_run(resp.json().map_err(ctx)?, &r.job, None).map_err(ctx)?;
        Ok(match run.state {
            RunState::Stopped => StopOutcome::Stopped(run),
            s if s.is_terminal() => StopOutcome::AlreadyFinished(run),
            _ => StopOutcome::Requested(run),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_bodies() {
        assert_eq!(parse_cursor(&Cursor::new("1:2:3")).unwrap(), (1, 2, 3));
        for bad in ["", "1:2", "1:2:3:4", "a:1:1", "-1:0:0"] {
            assert!(parse_cursor(&Cursor::new(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            stop_body(&StopRequest::graceful()).unwrap(),
            serde_json::json!({"expiryDuration": 0})
        );
        assert_eq!(
            stop_body(&StopRequest::force().with_option("expiryDuration", 5)).unwrap(),
            serde_json::json!({"expiryDuration": 5})
        );
        assert!(stop_body(&StopRequest::graceful().with_option("expiryDuration", -1)).is_err());
        assert!(stop_body(&StopRequest::graceful().with_option("expiryDuration", "5")).is_err());
        assert!(stop_body(&StopRequest::graceful().with_option("expiry", 5)).is_err());
    }
}
