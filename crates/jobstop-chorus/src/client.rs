//! The Chorus protocol: requests out, runs back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use jobstop_core::kernel::{Kernel, Protocol, StopAnswer};
use jobstop_core::{
    Capabilities, Cursor, Error, Filtering, ListQuery, Operation, Page, Result, Run, RunId,
    RunState, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse};

use crate::model::{Location, Seen, WORKFLOW, decode_list, decode_workfile, to_run, workfile_id};

/// The largest `per_page` this adapter asks for.
pub(crate) const MAX_PAGE: u32 = 100;
/// The page size when the query names none (Chorus's own default).
pub(crate) const DEFAULT_PAGE: u32 = 50;
/// The most pages of a name-filtered listing one status read looks through
/// before it falls back on `GET /api/workfiles/:id`.
pub(crate) const MAX_LOOKUP_PAGES: u64 = 3;
/// The most workflow locations remembered at once; past it the memory starts
/// over (a later status of a forgotten workflow costs one event).
pub(crate) const MAX_REMEMBERED: usize = 65_536;

/// Lists, inspects and stops Chorus workflow workfiles: the
/// [`Kernel`] around [`ChorusProtocol`].
///
/// Build one with [`ChorusBuilder`](crate::ChorusBuilder). Run ids are
/// workfile ids (decimal integers such as `1000004`).
pub type ChorusController = Kernel<ChorusProtocol>;

/// Chorus's protocol: workfile ids, its listing, reads and stop call.
///
/// Reading a workfile (`GET /api/workfiles/:id`) writes an `OpenWorkfileEvent`
/// to the workspace's activity stream on the real server, so a workflow seen
/// before (in a listing, a status or a stop answer) is read through its
/// workspace's listing instead, filtered by its name: see the crate docs,
/// "Reading without activity events".
pub struct ChorusProtocol {
    base: BaseUrl,
    workspace_id: Option<String>,
    http: HttpClient,
    /// Workfile id → where it was last seen.
    seen: Mutex<HashMap<String, Location>>,
}

impl fmt::Debug for ChorusProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChorusController")
            .field("base_url", &self.base)
            .field("workspace_id", &self.workspace_id)
            .field("http", &self.http)
            .field("remembered", &self.seen().len())
            .finish()
    }
}

impl ChorusProtocol {
    pub(crate) fn new(base: BaseUrl, workspace_id: Option<String>, http: HttpClient) -> Self {
        ChorusProtocol {
            base,
            workspace_id,
            http,
            seen: Mutex::new(HashMap::new()),
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

    fn seen(&self) -> MutexGuard<'_, HashMap<String, Location>> {
        // The map holds no invariant a panic could break.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes where a workflow lives, from any answer that showed it.
    fn remember(&self, seen: Seen) -> Run {
        if let Some(loc) = seen.location {
            let mut map = self.seen();
            if map.len() >= MAX_REMEMBERED && !map.contains_key(seen.run.id.as_str()) {
                map.clear();
            }
            map.insert(seen.run.id.as_str().to_owned(), loc);
        }
        seen.run
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        self.http
            .send(req.header("accept", "application/json")?)
            .await
    }

    /// `GET /api/workspaces/:workspace/workfiles`, workflows only, one page.
    async fn workfiles(
        &self,
        workspace: &str,
        params: &[(&str, &str)],
        op: Operation,
        id: Option<&RunId>,
    ) -> Result<HttpResponse> {
        let path = self.base.path().lit("api/workspaces").segment(workspace)?;
        let mut req = HttpRequest::get(path.lit("workfiles").build(), op)
            .query(&[("file_type", WORKFLOW)])
            .query(params);
        if let Some(id) = id {
            req = req.run_id(id);
        }
        self.send(req).await
    }

    /// Looks for workfile `id` in the listing of `loc.workspace` filtered by
    /// `name_pattern`. Chorus matches it with SQL `LIKE '%name%'` (`%` and
    /// `_` are wildcards, `\` escapes), so the listing may hold other
    /// workfiles too: only the item whose `id` is exactly `id` counts.
    async fn find_listed(&self, id: &RunId, loc: &Location) -> Result<Option<Run>> {
        // A backslash in the name would escape the next character; doubled it
        // matches itself. `%` and `_` only widen the match.
        let pattern = loc.file_name.replace('\\', "\\\\");
        let per_page = MAX_PAGE.to_string();
        for page in 1..=MAX_LOOKUP_PAGES {
            let page_s = page.to_string();
            let params = [
                ("name_pattern", pattern.as_str()),
                ("page", &page_s),
                ("per_page", &per_page),
            ];
            let resp = self
                .workfiles(&loc.workspace, &params, Operation::Status, Some(id))
                .await?;
            let body = decode_list(&resp, page)?;
            let mut items = body.response.iter();
            if let Some(item) = items.find(|item| workfile_id(item).as_deref() == Some(id.as_str()))
            {
                return Ok(Some(self.remember(to_run(item)?)));
            }
            if !body
                .pagination
                .has_next(body.response.len(), u64::from(MAX_PAGE))
            {
                break;
            }
        }
        Ok(None)
    }
}

/// A workfile id is a decimal integer; anything else never reaches the server.
pub(crate) fn parse_id(id: &RunId) -> Result<()> {
    let s = id.as_str();
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(
            "a Chorus run id is a workfile id: a decimal integer such as 1000004",
        ));
    }
    Ok(())
}

#[async_trait]
impl Protocol for ChorusProtocol {
    type Target = ();

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

    fn parse_id(&self, id: &RunId) -> Result<()> {
        parse_id(id)
    }

    async fn list_page(&self, query: &ListQuery) -> Result<Page> {
        let workspace = self.workspace_id.as_deref().ok_or_else(|| {
            Error::config(
                "chorus workspace_id: is required to list workfiles (JOBSTOP_CHORUS_WORKSPACE_ID)",
            )
        })?;
        let page: u64 = match &query.cursor {
            None => 1,
            Some(c) => c
                .as_str()
                .parse()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| Error::invalid_input("malformed cursor"))?,
        };
        let per_page = u64::from(query.page_size.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE));
        let params = [
            ("page", page.to_string()),
            ("per_page", per_page.to_string()),
        ];
        let params = params.each_ref().map(|(k, v)| (*k, v.as_str()));
        let resp = self
            .workfiles(workspace, &params, Operation::List, None)
            .await?;
        let body = decode_list(&resp, page)?;
        let returned = body.response.len();
        let runs = body
            .response
            .into_iter()
            .map(|item| Ok(self.remember(to_run(item)?)))
            .collect::<Result<_>>()?;
        // `total` counts pages (1 for an empty list, null when per_page is 0),
        // checked against what the page held and `records`.
        let next = body
            .pagination
            .has_next(returned, per_page)
            .then(|| Cursor::new((page + 1).to_string()));
        let out = Page::new(runs, next);
        // Every filter is applied here, after the request: `records` counts
        // the workspace's workflows, not those that match.
        let mut unpaged = query.clone();
        (unpaged.cursor, unpaged.page_size) = (None, None);
        Ok(match body.pagination.records {
            Some(records) if unpaged == ListQuery::new() => out.with_total(records),
            _ => out,
        })
    }

    /// The workflow's current state, without an activity event when it was
    /// seen before: from its workspace's listing filtered by its name, else
    /// (never seen, renamed, moved, or not among the first
    /// [`MAX_LOOKUP_PAGES`] pages of matches) from `GET /api/workfiles/:id`.
    async fn read(&self, id: &RunId, _: &()) -> Result<Run> {
        let known = self.seen().get(id.as_str()).cloned();
        if let Some(loc) = known {
            if let Some(run) = self.find_listed(id, &loc).await? {
                return Ok(run);
            }
            self.seen().remove(id.as_str());
        }
        let url = self
            .base
            .path()
            .lit("api/workfiles")
            .segment(id.as_str())?
            .build();
        let resp = self
            .send(HttpRequest::get(url, Operation::Status).run_id(id))
            .await?;
        Ok(self.remember(decode_workfile(&resp)?))
    }

    async fn request_stop(&self, id: &RunId, _: &(), _: &StopRequest) -> Result<StopAnswer> {
        // Chorus answers a stop of an idle workfile with 202 idle, exactly as
        // it answers a stop that worked; read the status first to tell them
        // apart. The kernel checks the runs it reads itself, not this one.
        let before = self
            .read(id, &())
            .await
            .map_err(|e| e.with_operation(Operation::Stop))?;
        if before.id != *id {
            return Err(Error::invalid_response(format!(
                "asked for workfile {id} and got {}",
                before.id.escape_for_display()
            )));
        }
        if before.state.is_terminal() {
            return Ok(StopAnswer::Outcome(StopOutcome::AlreadyFinished(before)));
        }
        let url = self
            .base
            .path()
            .lit("api/workfiles")
            .segment(id.as_str())?
            .lit("stop")
            .build();
        let resp = self
            .send(HttpRequest::post(url, Operation::Stop).run_id(id))
            .await?;
        // The stop answer is a plain `present workfile`: no `version_info`.
        let run = self.remember(decode_workfile(&resp)?);
        Ok(StopAnswer::Outcome(match run.state {
            // The engine stopped it: Chorus flips the status only on the
            // engine's 200.
            RunState::Idle => StopOutcome::Stopped(run),
            // The engine did not answer; the workflow may still be running.
            _ => StopOutcome::Requested(run),
        }))
    }

    /// No stop error is a refusal to read back: the workfile was read just
    /// before the stop, and a finished one is never sent a stop.
    fn is_refusal(&self, _: &Error) -> bool {
        false
    }
}
