//! The controller: requests out, runs back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use jobstop_core::{
    Capabilities, Cursor, Error, Filtering, JobController, ListQuery, Operation, Page, Result, Run,
    RunId, RunState, StopMode, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest};
use serde_json::Value;

use crate::model::{Envelope, ListEnvelope, Location, location, to_run, workfile_id};

/// The largest `per_page` this adapter asks for.
pub(crate) const MAX_PAGE: u32 = 100;
/// The page size when the query names none (Chorus's own default).
pub(crate) const DEFAULT_PAGE: u32 = 50;
/// The `file_type` of workflow workfiles.
pub(crate) const WORKFLOW: &str = "work_flow";
/// The most pages of a name-filtered listing one status read looks through
/// before it falls back on `GET /api/workfiles/:id`.
pub(crate) const MAX_LOOKUP_PAGES: u64 = 3;
/// The most workflow locations remembered at once; past it the memory starts
/// over (a later status of a forgotten workflow costs one event).
pub(crate) const MAX_REMEMBERED: usize = 65_536;

/// Lists, inspects and stops Chorus workflow workfiles.
///
/// Build one with [`ChorusBuilder`](crate::ChorusBuilder). Run ids are
/// workfile ids (decimal integers such as `1000004`).
///
/// Reading a workfile (`GET /api/workfiles/:id`) writes an `OpenWorkfileEvent`
/// to the workspace's activity stream on the real server, so the controller
/// reads a workflow it has seen before (in a listing, a status or a stop
/// answer) through its workspace's listing instead, filtered by its name:
/// see the crate docs, "Reading without activity events".
pub struct ChorusController {
    base: BaseUrl,
    workspace_id: Option<String>,
    http: HttpClient,
    /// Workfile id → where it was last seen.
    seen: Mutex<HashMap<String, Location>>,
}

impl fmt::Debug for ChorusController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChorusController")
            .field("base_url", &self.base)
            .field("workspace_id", &self.workspace_id)
            .field("http", &self.http)
            .field("remembered", &self.seen().len())
            .finish()
    }
}

impl ChorusController {
    pub(crate) fn new(base: BaseUrl, workspace_id: Option<String>, http: HttpClient) -> Self {
        ChorusController {
            base,
            workspace_id,
            http,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Location>> {
        // The map holds no invariant a panic could break.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes where a workflow lives, from any answer that showed it.
    fn remember(&self, run: &Run) {
        let Some(loc) = location(&run.raw_value()) else {
            return;
        };
        let mut seen = self.seen();
        if seen.len() >= MAX_REMEMBERED && !seen.contains_key(run.id.as_str()) {
            seen.clear();
        }
        seen.insert(run.id.as_str().to_owned(), loc);
    }

    /// The workflow's current state, without an activity event when it was
    /// seen before: from its workspace's listing filtered by its name, else
    /// (never seen, renamed, moved, or not among the first
    /// [`MAX_LOOKUP_PAGES`] pages of matches) from `GET /api/workfiles/:id`.
    async fn read(&self, id: &RunId) -> Result<Run> {
        let known = self.seen().get(id.as_str()).cloned();
        if let Some(loc) = known {
            if let Some(run) = self.find_listed(id, &loc).await? {
                return Ok(run);
            }
            self.seen().remove(id.as_str());
        }
        let run = self.show(id).await?;
        self.remember(&run);
        Ok(run)
    }

    /// Looks for workfile `id` in the listing of `loc.workspace` filtered by
    /// `name_pattern`. Chorus matches it with SQL `LIKE '%name%'` (`%` and
    /// `_` are wildcards, `\` escapes), so the listing may hold other
    /// workfiles too: only the item whose `id` is exactly `id` counts.
    async fn find_listed(&self, id: &RunId, loc: &Location) -> Result<Option<Run>> {
        let url = self
            .base
            .path()
            .lit("api/workspaces")
            .segment(&loc.workspace)?
            .lit("workfiles")
            .build();
        // A backslash in the name would escape the next character; doubled it
        // matches itself. `%` and `_` only widen the match.
        let pattern = loc.file_name.replace('\\', "\\\\");
        let per_page = MAX_PAGE.to_string();
        let mut page: u64 = 1;
        loop {
            let page_s = page.to_string();
            let req = HttpRequest::get(url.clone(), Operation::Status)
                .run_id(id)
                .header("accept", "application/json")?
                .query(&[
                    ("file_type", WORKFLOW),
                    ("name_pattern", &pattern),
                    ("page", &page_s),
                    ("per_page", &per_page),
                ]);
            let body: ListEnvelope = self.http.send(req).await?.json()?;
            if body.pagination.page != page {
                return Err(Error::invalid_response(format!(
                    "asked for page {page} and got page {}",
                    body.pagination.page
                )));
            }
            let returned = body.response.len();
            for item in body.response {
                let same = matches!(&item, Value::Object(obj) if workfile_id(obj).as_deref() == Some(id.as_str()));
                if same {
                    let run = to_run(item)?;
                    self.remember(&run);
                    return Ok(Some(run));
                }
            }
            if page < MAX_LOOKUP_PAGES && body.pagination.has_next(returned, u64::from(MAX_PAGE)) {
                page += 1;
            } else {
                return Ok(None);
            }
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The workspace `list` reads, if configured.
    pub fn workspace_id(&self) -> Option<&str> {
        self.workspace_id.as_deref()
    }

    async fn show(&self, id: &RunId) -> Result<Run> {
        let url = self
            .base
            .path()
            .lit("api/workfiles")
            .segment(id.as_str())?
            .build();
        let req = HttpRequest::get(url, Operation::Status)
            .run_id(id)
            .header("accept", "application/json")?;
        let body: Envelope<serde_json::Value> = self.http.send(req).await?.json()?;
        let run = to_run(body.response)?;
        if run.id != *id {
            return Err(Error::invalid_response(format!(
                "asked for workfile {id} and got {}",
                run.id.escape_for_display()
            )));
        }
        Ok(run)
    }
}

/// A workfile id is a decimal integer; anything else never reaches the server.
pub(crate) fn check_id(id: &RunId) -> Result<()> {
    let s = id.as_str();
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(
            "a Chorus run id is a workfile id: a decimal integer such as 1000004",
        ));
    }
    Ok(())
}

#[async_trait]
impl JobController for ChorusController {
    fn vendor(&self) -> Vendor {
        Vendor::CHORUS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_state_filter(Filtering::Local)
            .with_created_filter(Filtering::Local)
            .with_kind_filter(Filtering::Local)
            .with_name_filter(Filtering::Local)
            .with_total_count(true)
            .with_max_page_size(MAX_PAGE)
            .with_async_stop(true)
            .with_force_stop(false)
            .with_idempotent_stop(true)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let ctx = |e: Error| e.in_context(&Vendor::CHORUS, Operation::List, None);
        let workspace = self.workspace_id.as_deref().ok_or_else(|| {
            ctx(Error::config(
                "chorus workspace_id: is required to list workfiles (JOBSTOP_CHORUS_WORKSPACE_ID)",
            ))
        })?;
        let page: u64 = match &query.cursor {
            None => 1,
            Some(c) => c
                .as_str()
                .parse()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| ctx(Error::invalid_input("malformed cursor")))?,
        };
        let per_page = u64::from(query.page_size.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE));
        let url = self
            .base
            .path()
            .lit("api/workspaces")
            .segment(workspace)
            .map_err(ctx)?
            .lit("workfiles")
            .build();
        let page_s = page.to_string();
        let req = HttpRequest::get(url, Operation::List)
            .header("accept", "application/json")
            .map_err(ctx)?
            .query(&[
                ("file_type", WORKFLOW),
                ("page", &page_s),
                ("per_page", &per_page.to_string()),
            ]);
        let body: ListEnvelope = self
            .http
            .send(req)
            .await
            .map_err(ctx)?
            .json()
            .map_err(ctx)?;
        if body.pagination.page != page {
            return Err(ctx(Error::invalid_response(format!(
                "asked for page {page} and got page {}",
                body.pagination.page
            ))));
        }
        let local_filters = !query.states.is_empty()
            || query.created_from.is_some()
            || query.created_to.is_some()
            || query.kind.is_some()
            || query.name_contains.is_some();
        let returned = body.response.len();
        let mut runs = Vec::with_capacity(returned);
        for item in body.response {
            let run = to_run(item).map_err(ctx)?;
            self.remember(&run);
            if query.matches(&run) {
                runs.push(run);
            }
        }
        // `total` counts pages (1 for an empty list, null when per_page is 0),
        // checked against what the page held and `records`.
        let next = body
            .pagination
            .has_next(returned, per_page)
            .then(|| Cursor::new((page + 1).to_string()));
        let mut out = Page::new(runs, next);
        if !local_filters {
            if let Some(records) = body.pagination.records {
                out = out.with_total(records);
            }
        }
        Ok(out)
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        let ctx = |e: Error| e.in_context(&Vendor::CHORUS, Operation::Status, Some(id));
        check_id(id).map_err(ctx)?;
        self.read(id).await.map_err(ctx)
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        let ctx = |e: Error| e.in_context(&Vendor::CHORUS, Operation::Stop, Some(id));
        check_id(id).map_err(ctx)?;
        request.check_options(&[]).map_err(ctx)?;
        if request.mode == StopMode::Force {
            return Err(ctx(Error::unsupported(
                "Chorus has one stop call; there is no forced stop",
            )));
        }
        // Chorus answers a stop of an idle workfile with 202 idle, exactly as
        // it answers a stop that worked; read the status first to tell them apart.
        let before = self
            .read(id)
            .await
            .map_err(|e| ctx(e.with_operation(Operation::Stop)))?;
        if before.state.is_terminal() {
            return Ok(StopOutcome::AlreadyFinished(before));
        }
        let url = self
            .base
            .path()
            .lit("api/workfiles")
            .segment(id.as_str())
            .map_err(ctx)?
            .lit("stop")
            .build();
        let req = HttpRequest::post(url, Operation::Stop)
            .run_id(id)
            .header("accept", "application/json")
            .map_err(ctx)?;
        let body: Envelope<serde_json::Value> = self
            .http
            .send(req)
            .await
            .map_err(ctx)?
            .json()
            .map_err(ctx)?;
        // The stop answer is a plain `present workfile`: no `version_info`.
        let run = to_run(body.response).map_err(ctx)?;
        self.remember(&run);
        Ok(match run.state {
            // The engine stopped it: Chorus flips the status only on the
            // engine's 200.
            RunState::Idle => StopOutcome::Stopped(run),
            // The engine did not answer; the workflow may still be running.
            _ => StopOutcome::Requested(run),
        })
    }
}
