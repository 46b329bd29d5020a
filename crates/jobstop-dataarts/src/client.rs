//! The controller: requests out, runs back.

use std::fmt;

use async_trait::async_trait;
use jobstop_core::{
    Capabilities, Cursor, Error, ErrorKind, Filtering, JobController, ListQuery, Operation, Page,
    Result, Run, RunId, RunState, StopMode, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse, PathBuilder};
use serde_json::Value;

use crate::model::{
    InstanceList, JobList, KIND_BATCH_INSTANCE, KIND_BATCH_JOB, KIND_REALTIME_JOB, Target,
    instance_to_run, job_to_run, parse_id, realtime_to_run,
};
use crate::state::instance_status_for;

/// The largest page of jobs DataArts serves.
pub(crate) const MAX_JOB_PAGE: u32 = 100;
/// The largest page of instances DataArts serves.
pub(crate) const MAX_INSTANCE_PAGE: u32 = 1000;
/// The page size when the query names none.
pub(crate) const DEFAULT_PAGE: u32 = 100;

/// Where listed runs come from, in listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    RealtimeJobs,
    Instances,
    BatchJobs,
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
    http: HttpClient,
}

impl fmt::Debug for DataArtsController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataArtsController")
            .field("base_url", &self.base)
            .field("project_id", &self.project_id)
            .field("workspace", &self.workspace)
            .field("http", &self.http)
            .finish()
    }
}

/// The cursor: `{source index}:{record offset}`.
pub(crate) fn parse_cursor(c: &Cursor, sources: usize) -> Result<(usize, u64)> {
    let bad = || Error::invalid_input("malformed cursor");
    let (s, o) = c.as_str().split_once(':').ok_or_else(bad)?;
    let s: usize = s.parse().map_err(|_| bad())?;
    let o: u64 = o.parse().map_err(|_| bad())?;
    if s >= sources {
        return Err(bad());
    }
    Ok((s, o))
}

impl DataArtsController {
    pub(crate) fn new(
        base: BaseUrl,
        project_id: String,
        workspace: Option<String>,
        http: HttpClient,
    ) -> Self {
        DataArtsController {
            base,
            project_id,
            workspace,
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
            .header("accept", "application/json")?;
        if let Some(w) = &self.workspace {
            req = req.header("workspace", w)?;
        }
        self.http.send(req).await
    }

    async fn get_json(
        &self,
        path: PathBuilder,
        op: Operation,
        id: Option<&RunId>,
        query: &[(&str, &str)],
    ) -> Result<Value> {
        let mut req = HttpRequest::get(path.build(), op).query(query);
        if let Some(id) = id {
            req = req.run_id(id);
        }
        self.send(req).await?.json()
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
                let detail = self
                    .get_json(self.jobs_path()?.segment(name)?, op, Some(id), &[])
                    .await?;
                if detail.get("jobType").and_then(Value::as_str) == Some("REAL_TIME") {
                    let path = self.jobs_path()?.segment(name)?.lit("status");
                    let status = self.get_json(path, op, Some(id), &[]).await?;
                    realtime_to_run(detail, status)
                } else {
                    job_to_run(detail)
                }
            }
        }
    }

    async fn list_jobs(
        &self,
        job_type: &str,
        query: &ListQuery,
        offset: u64,
    ) -> Result<(Vec<Value>, u64)> {
        let limit = query
            .page_size
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_JOB_PAGE)
            .to_string();
        let offset = offset.to_string();
        let q = [
            ("jobType", job_type),
            ("offset", offset.as_str()),
            ("limit", limit.as_str()),
        ];
        let v = self
            .get_json(self.jobs_path()?, Operation::List, None, &q)
            .await?;
        let list: JobList = serde_json::from_value(v).map_err(|e| {
            Error::invalid_response(format!("the job list is not the expected JSON: {e}"))
        })?;
        Ok((list.jobs, list.total))
    }

    async fn list_instances(&self, query: &ListQuery, offset: u64) -> Result<(Vec<Value>, u64)> {
        let limit = query
            .page_size
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_INSTANCE_PAGE)
            .to_string();
        let offset = offset.to_string();
        let mut q: Vec<(&str, String)> = vec![("offset", offset), ("limit", limit)];
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
        if let Some(from) = query.created_from {
            q.push(("minPlanTime", from.timestamp_millis().to_string()));
        }
        if let Some(to) = query.created_to {
            // maxPlanTime is inclusive; created_to is exclusive.
            q.push(("maxPlanTime", (to.timestamp_millis() - 1).to_string()));
        }
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = self.jobs_path()?.lit("instances/detail");
        let v = self.get_json(path, Operation::List, None, &pairs).await?;
        let list: InstanceList = serde_json::from_value(v).map_err(|e| {
            Error::invalid_response(format!("the instance list is not the expected JSON: {e}"))
        })?;
        Ok((list.instances, list.total))
    }

    /// A stop was refused (HTTP 400): read the run once to tell "already
    /// over" (or already stopping) from a real refusal.
    async fn after_refusal(
        &self,
        id: &RunId,
        target: &Target,
        refusal: Error,
    ) -> Result<StopOutcome> {
        match self.read(id, target, Operation::Stop).await {
            Ok(run) if run.state.is_terminal() => Ok(StopOutcome::AlreadyFinished(run)),
            // Already being stopped (a second stop while STOPPING): not an error.
            Ok(run) if run.state == RunState::Stopping => Ok(StopOutcome::Requested(run)),
            Ok(_) => Err(refusal),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(e),
            Err(_) => Err(refusal),
        }
    }
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
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let ctx = |e: Error| e.in_context(&Vendor::DATAARTS, Operation::List, None);
        let sources = Source::for_kind(query.kind.as_deref());
        if sources.is_empty() {
            return Ok(Page::new(Vec::new(), None));
        }
        let (index, offset) = match &query.cursor {
            None => (0, 0),
            Some(c) => parse_cursor(c, sources.len()).map_err(ctx)?,
        };
        let source = sources[index];
        let (items, total) = match source {
            Source::RealtimeJobs => self.list_jobs("REAL_TIME", query, offset).await,
            Source::BatchJobs => self.list_jobs("BATCH", query, offset).await,
            Source::Instances => self.list_instances(query, offset).await,
        }
        .map_err(ctx)?;
        let count = items.len() as u64;
        let mut runs = Vec::with_capacity(items.len());
        for item in items {
            let run = match source {
                Source::Instances => instance_to_run(item, None),
                _ => job_to_run(item),
            }
            .map_err(ctx)?;
            if query.matches(&run) {
                runs.push(run);
            }
        }
        let next_offset = offset + count;
        let next = if count > 0 && next_offset < total {
            Some(Cursor::new(format!("{index}:{next_offset}")))
        } else if index + 1 < sources.len() {
            Some(Cursor::new(format!("{}:0", index + 1)))
        } else {
            None
        };
        Ok(Page::new(runs, next))
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
        assert_eq!(parse_cursor(&Cursor::new("1:200"), 2).unwrap(), (1, 200));
        for bad in ["", "1", "2:0", "a:1", "0:-1", "0:1:2"] {
            assert!(parse_cursor(&Cursor::new(bad), 2).is_err(), "{bad}");
        }
    }
}
