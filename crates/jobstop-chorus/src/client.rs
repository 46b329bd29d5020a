//! The Chorus protocol: requests out, runs back.

use async_trait::async_trait;
use jobstop_core::kernel::{Kernel, Protocol, StopAnswer};
use jobstop_core::{
    Capabilities, Cursor, Error, ListQuery, Operation, Page, Result, Run, RunId, RunState,
    StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse, Url};
use serde_json::value::RawValue;

use crate::model::{
    Location, Locations, WORKFLOW, decode_list, decode_workfile, parse_id, to_run, workfile_id,
};

/// The largest `per_page` this adapter asks for; a larger page size is
/// clamped to it. Chorus documents no maximum: `ApiController#paginate` (CH
/// `components/api/app/controllers/api_controller.rb`) hands `per_page` to
/// will_paginate unchecked. Kept at this adapter's value before issue 18.
pub(crate) const MAX_PAGE: u32 = 100;
/// The `per_page` sent when the query names no page size: what the vendor's
/// own client asks for (PAA `alpine/workfile.py`,
/// `Workfile.get_list(workspace_id, per_page=100)`), not the server's default
/// of 50 (CH `collection_defaults.rb`).
pub(crate) const DEFAULT_PAGE: u32 = 100;
/// The most pages of a name-filtered listing one status read looks through
/// before it falls back on `GET /api/workfiles/:id`.
pub(crate) const MAX_LOOKUP_PAGES: u64 = 3;
const NO_WORKSPACE: &str =
    "chorus workspace_id: is required to list workfiles (JOBSTOP_CHORUS_WORKSPACE_ID)";

/// Lists, inspects and stops Chorus workflow workfiles: the
/// [`Kernel`] around [`ChorusProtocol`].
///
/// Build one with [`ChorusBuilder`](crate::ChorusBuilder). Run ids are
/// workfile ids (decimal integers such as `1000004`).
pub type ChorusController = Kernel<ChorusProtocol>;

/// Chorus's protocol: workfile ids, the workspace listing, reads and the
/// stop call.
///
/// Reading a workfile (`GET /api/workfiles/:id`) writes an `OpenWorkfileEvent`
/// to the workspace's activity stream on the real server, so a workflow seen
/// before (in a listing, a status or a stop answer) is read through its
/// workspace's listing instead, filtered by its name; one never seen, or no
/// longer found among the first 3 pages of matches, is
/// read by id. See the crate docs, "Reading without activity events".
#[derive(Debug)]
pub struct ChorusProtocol {
    base: BaseUrl,
    workspace_id: Option<String>,
    http: HttpClient,
    seen: Locations,
}

impl ChorusProtocol {
    pub(crate) fn new(base: BaseUrl, workspace_id: Option<String>, http: HttpClient) -> Self {
        ChorusProtocol {
            base,
            workspace_id,
            http,
            seen: Locations::default(),
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

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        let req = req.header("accept", "application/json")?;
        self.http.send(req).await
    }

    /// `/api/workfiles/:id`, or its `/stop`.
    fn workfile_url(&self, id: &RunId, stop: bool) -> Result<Url> {
        let path = self.base.path().lit("api/workfiles").segment(id.as_str())?;
        Ok(if stop { path.lit("stop") } else { path }.build())
    }

    /// One page of `GET /api/workspaces/:workspace/workfiles`, workflows
    /// only: a listing, or (`lookup`) a status read of a run by its name.
    async fn workfiles(
        &self,
        workspace: &str,
        (page, per_page): (u64, u64),
        lookup: Option<(&RunId, &str)>,
    ) -> Result<HttpResponse> {
        let path = self.base.path().lit("api/workspaces").segment(workspace)?;
        let url = path.lit("workfiles").build();
        let (page, per_page) = (page.to_string(), per_page.to_string());
        let mut params = vec![("file_type", WORKFLOW)];
        let req = match lookup {
            None => HttpRequest::get(url, Operation::List),
            Some((id, name_pattern)) => {
                params.push(("name_pattern", name_pattern));
                HttpRequest::get(url, Operation::Status).run_id(id)
            }
        };
        params.extend([("page", page.as_str()), ("per_page", per_page.as_str())]);
        self.send(req.query(&params)).await
    }

    /// Looks for workfile `id` in the listing of `loc.workspace` filtered by
    /// `name_pattern`. Chorus matches it with SQL `LIKE '%name%'` (`%` and
    /// `_` are wildcards, `\` escapes), so the listing may hold other
    /// workfiles too: only the item whose `id` is exactly `id` counts.
    async fn find_listed(&self, id: &RunId, loc: &Location) -> Result<Option<Run>> {
        // A backslash in the name would escape the next character; doubled it
        // matches itself. `%` and `_` only widen the match.
        let pattern = loc.file_name.replace('\\', "\\\\");
        let lookup = Some((id, pattern.as_str()));
        let per_page = u64::from(MAX_PAGE);
        for page in 1..=MAX_LOOKUP_PAGES {
            let ws = &loc.workspace;
            let resp = self.workfiles(ws, (page, per_page), lookup).await?;
            let body = decode_list(&resp, page)?;
            // An item whose text does not hold the id's digits is not it: only
            // the others have their id decoded. (An id spelled with JSON
            // escapes is missed here and found by the read's fallback.)
            let mut items = body.response.iter().copied();
            let is_it = |i: &&RawValue| {
                i.get().contains(id.as_str()) && workfile_id(i).as_deref() == Some(id.as_str())
            };
            if let Some(item) = items.find(is_it) {
                return Ok(Some(self.seen.remember(to_run(item)?)));
            }
            if !body.pagination.has_next(body.response.len(), per_page) {
                break;
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Protocol for ChorusProtocol {
    type Target = ();

    const VENDOR: Vendor = Vendor::CHORUS;

    /// The client's pacer: every request waits on it (`client.pace`).
    fn pacer(&self) -> Option<jobstop_core::layer::Pacer> {
        Some(self.http.pacer().clone())
    }

    /// Every filter is local; a stop is asynchronous, never forced.
    fn capabilities(&self) -> Capabilities {
        // Otherwise the defaults (every filter local, one asynchronous,
        // idempotent stop).
        Capabilities::new()
            .with_total_count(true)
            .with_max_page_size(MAX_PAGE)
    }

    fn parse_id(&self, id: &RunId) -> Result<()> {
        parse_id(id)
    }

    async fn list_page(&self, query: &ListQuery) -> Result<Page> {
        let Some(workspace) = self.workspace_id.as_deref() else {
            return Err(Error::config(NO_WORKSPACE));
        };
        let page = match query.cursor.as_ref().map(|c| c.as_str().parse::<u64>()) {
            None => 1,
            Some(Ok(p)) if p >= 1 => p,
            Some(_) => return Err(Error::invalid_input("malformed cursor")),
        };
        let per_page = u64::from(query.page_size.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE));
        let resp = self.workfiles(workspace, (page, per_page), None).await?;
        let body = decode_list(&resp, page)?;
        // `total` counts pages (1 for an empty list, null when per_page is 0),
        // checked against what the page held and `records`.
        let next = body.pagination.has_next(body.response.len(), per_page);
        let next = next.then(|| Cursor::new((page + 1).to_string()));
        let items = body.response.into_iter();
        let runs = items.map(|item| Ok(self.seen.remember(to_run(item)?)));
        let mut out = Page::new(runs.collect::<Result<_>>()?, next);
        // Every filter is applied after the request: `records` counts the
        // workspace's workflows, not those that match.
        let mut unpaged = query.clone();
        (unpaged.cursor, unpaged.page_size) = (None, None);
        let records = body.pagination.records;
        out.total = records.filter(|_| unpaged == ListQuery::new());
        Ok(out)
    }

    async fn read(&self, id: &RunId, _: &()) -> Result<Run> {
        if let Some(loc) = self.seen.get(id) {
            if let Some(run) = self.find_listed(id, &loc).await? {
                return Ok(run);
            }
            self.seen.forget(id);
        }
        let req = HttpRequest::get(self.workfile_url(id, false)?, Operation::Status);
        let resp = self.send(req.run_id(id)).await?;
        Ok(self.seen.remember(decode_workfile(&resp)?))
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
            let got = before.id.escape_for_display();
            return Err(Error::invalid_response(format!(
                "asked for workfile {id} and got {got}"
            )));
        }
        if before.state.is_terminal() {
            return Ok(StopAnswer::Outcome(StopOutcome::AlreadyFinished(before)));
        }
        let req = HttpRequest::post(self.workfile_url(id, true)?, Operation::Stop);
        let resp = self.send(req.run_id(id)).await?;
        // The stop answer is a plain `present workfile`: no `version_info`.
        let run = self.seen.remember(decode_workfile(&resp)?);
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
