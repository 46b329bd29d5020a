//! The controller: requests out, runs back.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use jobstop_core::{
    Capabilities, Cursor, Error, ErrorKind, Filtering, JobController, ListQuery, Operation, Page,
    Result, Run, RunId, RunState, StopMode, StopOutcome, StopRequest, Vendor,
};
use jobstop_http::{
    BaseUrl, HttpClient, HttpRequest, HttpResponse, SecretString, Token, TokenSource, Url,
};

use crate::model::{TokenResponse, WorkflowList, to_run};

/// The largest `limit` this adapter asks for.
pub(crate) const MAX_PAGE: u32 = 100;
/// The page size when the query names none.
pub(crate) const DEFAULT_PAGE: u32 = 50;
/// A canceled run in a stop's 200 answer whose `ended_at` is older than this
/// (by the server's `Date`, or the local clock when it sends none) was
/// already finished, not stopped by this call.
const ALREADY_ENDED_SLACK: chrono::Duration = chrono::Duration::seconds(60);

/// Lists, inspects and stops Amperity workflow runs.
///
/// Build one with [`AmperityBuilder`](crate::AmperityBuilder). Run ids are
/// Amperity workflow ids (`wf-20240619-14418-6UhqSe`).
pub struct AmperityController {
    base: BaseUrl,
    tenant: String,
    api_version: String,
    http: HttpClient,
}

impl fmt::Debug for AmperityController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmperityController")
            .field("base_url", &self.base)
            .field("tenant", &self.tenant)
            .field("api_version", &self.api_version)
            .field("http", &self.http)
            .finish()
    }
}

impl AmperityController {
    pub(crate) fn new(
        base: BaseUrl,
        tenant: String,
        api_version: String,
        http: HttpClient,
    ) -> Self {
        AmperityController {
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

    fn request(&self, req: HttpRequest) -> Result<HttpRequest> {
        req.header("amperity-tenant", &self.tenant)?
            .header("api-version", &self.api_version)?
            .header("accept", "application/json")
    }

    fn run_url(&self, id: &RunId, stop: bool) -> Result<Url> {
        let path = self.base.path().lit("workflow/runs").segment(id.as_str())?;
        Ok(if stop { path.lit("stop") } else { path }.build())
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        self.http.send(self.request(req)?).await
    }

    async fn fetch(&self, id: &RunId) -> Result<Run> {
        let url = self.run_url(id, false)?;
        let req = HttpRequest::get(url, Operation::Status)
            .run_id(id)
            .query(&[("view", "verbose")]);
        let resp = self.send(req).await?;
        let run = to_run(resp.json()?)?;
        if run.id != *id {
            return Err(Error::invalid_response(format!(
                "asked for workflow {id} and got {}",
                run.id.escape_for_display()
            )));
        }
        Ok(run)
    }

    /// A stop answered 409 (the run is not in a state that can be stopped)
    /// or 400 (OA3's `stop-workflow` lists no 409, so a stop on a finished
    /// run may well be refused this way): read the run back and let
    /// [`StopOutcome::after_refusal`] say what happened.
    async fn after_refusal(&self, id: &RunId, refused: Error) -> Result<StopOutcome> {
        let run = self
            .fetch(id)
            .await
            .map_err(|e| e.with_operation(Operation::Stop));
        StopOutcome::after_refusal(run, refused)
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

#[async_trait]
impl JobController for AmperityController {
    fn vendor(&self) -> Vendor {
        Vendor::AMPERITY
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_state_filter(Filtering::Local)
            .with_created_filter(Filtering::Server)
            .with_kind_filter(Filtering::Server)
            .with_name_filter(Filtering::Local)
            .with_total_count(false)
            .with_max_page_size(MAX_PAGE)
            .with_async_stop(true)
            .with_force_stop(false)
            .with_idempotent_stop(true)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let ctx = |e: Error| e.in_context(&Vendor::AMPERITY, Operation::List, None);
        let limit = query
            .page_size
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_PAGE)
            .to_string();
        let mut params: Vec<(&str, String)> = vec![("limit", limit)];
        if let Some(t) = query.created_from {
            params.push(("created_from", iso(t)));
        }
        if let Some(t) = query.created_to {
            params.push(("created_to", iso(t)));
        }
        if let Some(kind) = &query.kind {
            params.push(("type", kind.clone()));
        }
        if let Some(c) = &query.cursor {
            if c.as_str().is_empty() {
                return Err(ctx(Error::invalid_input("empty cursor")));
            }
            params.push(("next_token", c.as_str().to_owned()));
        }
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = self.base.path().lit("workflow/runs").build();
        let resp = self
            .send(HttpRequest::get(url, Operation::List).query(&pairs))
            .await?;
        let list: WorkflowList = resp.json()?;
        let mut runs = Vec::with_capacity(list.data.len());
        for item in list.data {
            let run = to_run(item).map_err(ctx)?;
            // The server applied created_* and type; state and name are ours.
            // Everything is checked again so a lenient server cannot leak
            // non-matching runs through.
            if query.matches(&run) {
                runs.push(run);
            }
        }
        let next = list.next_token.filter(|t| !t.is_empty()).map(Cursor::new);
        Ok(Page::new(runs, next))
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        check_id(id).map_err(|e| e.in_context(&Vendor::AMPERITY, Operation::Status, Some(id)))?;
        self.fetch(id)
            .await
            .map_err(|e| e.in_context(&Vendor::AMPERITY, Operation::Status, Some(id)))
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        let ctx = |e: Error| e.in_context(&Vendor::AMPERITY, Operation::Stop, Some(id));
        check_id(id).map_err(ctx)?;
        request.check_options(&[]).map_err(ctx)?;
        if request.mode == StopMode::Force {
            return Err(ctx(Error::unsupported(
                "Amperity has one stop call; there is no forced stop",
            )));
        }
        let sent_at = Utc::now();
        let url = self.run_url(id, true).map_err(ctx)?;
        let resp = match self
            .send(HttpRequest::post(url, Operation::Stop).run_id(id))
            .await
        {
            Ok(resp) => resp,
            Err(e) if e.kind() == ErrorKind::Conflict || e.http_status() == Some(400) => {
                return self.after_refusal(id, e).await.map_err(ctx);
            }
            Err(e) => return Err(ctx(e)),
        };
        let run = to_run(resp.json().map_err(ctx)?).map_err(ctx)?;
        // The server's own clock, when it says, is what its timestamps are
        // comparable with.
        let now = resp.date().map_or(sent_at, DateTime::<Utc>::from);
        Ok(match run.state {
            RunState::Stopped => {
                let ended_long_ago = run.ended_at.is_some_and(|t| t + ALREADY_ENDED_SLACK < now);
                if ended_long_ago {
                    StopOutcome::AlreadyFinished(run)
                } else {
                    StopOutcome::Stopped(run)
                }
            }
            s if s.is_terminal() => StopOutcome::AlreadyFinished(run),
            _ => StopOutcome::Requested(run),
        })
    }
}

/// OAuth client-credentials grant against `{base}/v0/oauth2/token`, as in
/// `amperity/amperity-docs` `amperity_reference/source/api.rst`: a form
/// body and the tenant in `X-Amperity-Tenant` (the control-plane calls use
/// `amperity-tenant` instead).
pub(crate) struct OAuthClientCredentials {
    url: Url,
    tenant: String,
    client_id: String,
    client_secret: SecretString,
}

impl fmt::Debug for OAuthClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientCredentials")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

impl OAuthClientCredentials {
    pub(crate) fn new(
        base: &BaseUrl,
        tenant: String,
        client_id: String,
        client_secret: SecretString,
    ) -> Self {
        OAuthClientCredentials {
            url: base.path().lit("v0/oauth2/token").build(),
            tenant,
            client_id,
            client_secret,
        }
    }
}

#[async_trait]
impl TokenSource for OAuthClientCredentials {
    async fn fetch(&self, client: &HttpClient) -> Result<Token> {
        let req = HttpRequest::post(self.url.clone(), Operation::Authenticate)
            .without_auth()
            // Header names are case-insensitive; `from_static` wants lowercase.
            .header("x-amperity-tenant", &self.tenant)?
            .header("accept", "application/json")?
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &self.client_id),
                ("client_secret", self.client_secret.expose_secret()),
            ]);
        let resp = client.send(req).await?;
        to_token(resp.json_redacted()?)
    }
}

/// The token of a token endpoint's answer, with its lifetime
/// (`expires_in`, whole seconds, any `u64`).
pub(crate) fn to_token(body: TokenResponse) -> Result<Token> {
    if body.access_token.is_empty() {
        return Err(
            Error::invalid_response("the token endpoint returned an empty access_token")
                .with_operation(Operation::Authenticate),
        );
    }
    let secret = SecretString::new(body.access_token);
    Ok(match body.expires_in {
        Some(secs) => Token::expiring(secret, Duration::from_secs(secs)),
        None => Token::new(secret),
    })
}
