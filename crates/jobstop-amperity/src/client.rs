//! Amperity's protocol: requests out, runs back.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use jobstop_core::kernel::{Kernel, Protocol, StopAnswer};
use jobstop_core::{
    Capabilities, Error, Filtering, ListQuery, Operation, Page, Result, Run, RunId, RunState,
    StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, HttpResponse};

use crate::model::{page_from, to_run};

/// The largest `limit` this adapter asks for; a larger page size is clamped
/// to it. Amperity documents no maximum: OA3
/// (`control-plane-2024-04-01-openapi.json`) `components.parameters.Limit`
/// is a bare `integer`, `pagination.rst` only "the maximum number of records
/// to include in a single page", and SW2 says "the endpoint may decide to
/// return fewer results than the caller asked for". Kept at this adapter's
/// value before issue 18.
pub(crate) const MAX_PAGE: u32 = 100;
/// The `limit` sent when the query names no page size. Amperity documents no
/// default and no maximum (see [`MAX_PAGE`]), so this stays at the value the
/// adapter used before issue 18.
pub(crate) const DEFAULT_PAGE: u32 = 50;
/// A canceled run in a stop's 200 answer whose `ended_at` is older than this
/// (by the server's `Date`, or the local clock when it sends none) was
/// already finished, not stopped by this call.
const ALREADY_ENDED_SLACK: chrono::Duration = chrono::Duration::seconds(60);

/// Lists, inspects and stops Amperity workflow runs.
///
/// Build one with [`AmperityBuilder`](crate::AmperityBuilder). Run ids are
/// Amperity workflow ids (`wf-20240619-14418-6UhqSe`).
pub type AmperityController = Kernel<Amperity>;

/// Amperity's protocol, which [`AmperityController`] speaks: workflow runs
/// under `{base}/workflow/runs`, the tenant and API version in headers. Its
/// `Debug` shows no credential (the HTTP client's hides its authenticator's).
#[derive(Debug)]
pub struct Amperity {
    base: BaseUrl,
    tenant: String,
    api_version: String,
    http: HttpClient,
}

impl Amperity {
    pub(crate) fn new(
        base: BaseUrl,
        tenant: String,
        api_version: String,
        http: HttpClient,
    ) -> Self {
        Amperity {
            base,
            tenant,
            api_version,
            http,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        let req = req
            .header("amperity-tenant", &self.tenant)?
            .header("api-version", &self.api_version)?
            .header("accept", "application/json")?;
        self.http.send(req).await
    }

    fn run_url(&self, id: &RunId) -> Result<jobstop_http::PathBuilder> {
        self.base.path().lit("workflow/runs").segment(id.as_str())
    }
}

pub(crate) fn check_id(id: &RunId) -> Result<()> {
    let s = id.as_str();
    if s.is_empty() || s.len() > 256 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid_input(
            "an Amperity run id is a workflow id such as wf-20240619-14418-6UhqSe \
             (1 to 256 characters, no spaces or control characters)",
        ));
    }
    Ok(())
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a stop's 200 answer says: the run it shows, judged by the server's
/// clock when it sends one (its timestamps are comparable with that).
pub(crate) fn stop_outcome(resp: &HttpResponse, sent_at: DateTime<Utc>) -> Result<StopOutcome> {
    let run = to_run(resp.json()?)?;
    let now = resp.date().map_or(sent_at, DateTime::<Utc>::from);
    Ok(match run.state {
        RunState::Stopped if run.ended_at.is_some_and(|t| t + ALREADY_ENDED_SLACK < now) => {
            StopOutcome::AlreadyFinished(run)
        }
        RunState::Stopped => StopOutcome::Stopped(run),
        s if s.is_terminal() => StopOutcome::AlreadyFinished(run),
        _ => StopOutcome::Requested(run),
    })
}

#[async_trait]
impl Protocol for Amperity {
    type Target = ();

    const VENDOR: Vendor = Vendor::AMPERITY;

    /// The client's pacer: every request waits on it (`client.pace`).
    fn pacer(&self) -> Option<jobstop_core::layer::Pacer> {
        Some(self.http.pacer().clone())
    }

    fn capabilities(&self) -> Capabilities {
        // Otherwise the defaults: state and name filtered here, no totals,
        // one idempotent asynchronous stop.
        Capabilities::new()
            .with_created_filter(Filtering::Server)
            .with_kind_filter(Filtering::Server)
            .with_max_page_size(MAX_PAGE)
    }

    fn parse_id(&self, id: &RunId) -> Result<()> {
        check_id(id)
    }

    /// The server applies `created_*` and `type`; the kernel applies state
    /// and name (and checks everything again).
    async fn list_page(&self, query: &ListQuery) -> Result<Page> {
        let limit = query.page_size.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut params: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        params.extend(query.created_after.map(|t| ("created_from", iso(t))));
        params.extend(query.created_before.map(|t| ("created_to", iso(t))));
        params.extend(query.kind.clone().map(|k| ("type", k)));
        params.extend(
            query
                .cursor
                .as_ref()
                .map(|c| ("next_token", c.as_str().to_owned())),
        );
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = self.base.path().lit("workflow/runs").build();
        let resp = self
            .send(HttpRequest::get(url, Operation::List).query(&pairs))
            .await?;
        page_from(&resp)
    }

    async fn read(&self, id: &RunId, _: &()) -> Result<Run> {
        let req = HttpRequest::get(self.run_url(id)?.build(), Operation::Status)
            .run_id(id)
            .query(&[("view", "verbose")]);
        to_run(self.send(req).await?.json()?)
    }

    /// A 409 (not stoppable) or a 400 (OA3's `stop-workflow` lists no 409)
    /// is a refusal: the kernel's default rule.
    async fn request_stop(&self, id: &RunId, _: &(), _: &StopRequest) -> Result<StopAnswer> {
        let sent_at = Utc::now();
        let url = self.run_url(id)?.lit("stop").build();
        let resp = self
            .send(HttpRequest::post(url, Operation::Stop).run_id(id))
            .await?;
        stop_outcome(&resp, sent_at).map(StopAnswer::Outcome)
    }
}
