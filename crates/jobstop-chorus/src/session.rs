//! Chorus sessions: log in lazily, pass the session id, log in again once
//! after a 401.

use std::fmt;

use async_trait::async_trait;
use jobstop_core::{Error, Operation, Result};
use jobstop_http::{
    AuthStamp, Authenticator, HttpClient, HttpRequest, HttpResponse, SecretString, Token,
    TokenCache, TokenSource, Url,
};

use crate::model::{Envelope, Session};

/// Where a session comes from.
pub(crate) enum Credentials {
    /// `POST /api/sessions` with these; a new login after a 401.
    Password {
        username: String,
        password: SecretString,
    },
    /// A session id given by the user; it cannot be renewed.
    Session(SecretString),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { username, password } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", password)
                .finish(),
            Credentials::Session(s) => f.debug_tuple("Session").field(s).finish(),
        }
    }
}

/// Logs in: `POST /api/sessions` with a form `username` and `password`,
/// answered `201 {"response":{"session_id":…}}`.
#[derive(Debug)]
pub(crate) struct Login {
    url: Url,
    credentials: Credentials,
}

impl Login {
    pub(crate) fn new(url: Url, credentials: Credentials) -> Self {
        Login { url, credentials }
    }
}

#[async_trait]
impl TokenSource for Login {
    async fn fetch(&self, client: &HttpClient) -> Result<Token> {
        let (username, password) = match &self.credentials {
            Credentials::Session(s) => return Ok(Token::new(s.clone())),
            Credentials::Password { username, password } => (username, password),
        };
        let req = HttpRequest::post(self.url.clone(), Operation::Authenticate)
            .without_auth()
            .header("accept", "application/json")?
            .form(&[
                ("username", username),
                ("password", password.expose_secret()),
            ]);
        let session = session_id(&client.send(req).await?)?;
        tracing::debug!(vendor = "chorus", "logged in");
        Ok(Token::new(session))
    }

    fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::Password { .. })
    }
}

/// The session id of a login answer, never quoted in an error.
pub(crate) fn session_id(resp: &HttpResponse) -> Result<SecretString> {
    let body: Envelope<Session> = resp.json_redacted()?;
    if body.response.session_id.is_empty() {
        return Err(
            Error::invalid_response("the login answer has an empty session_id")
                .with_operation(Operation::Authenticate),
        );
    }
    Ok(SecretString::new(body.response.session_id))
}

/// Adds the session id to each request: as the `session_id` query parameter
/// on reads, and as a form field in the body of writes, so it stays out of
/// URLs wherever it can (Chorus reads `params[:session_id]` from either, and
/// needs no CSRF token when it is present). jobstop never logs a query or a
/// body, and its errors name paths only.
#[derive(Debug)]
pub(crate) struct SessionAuth {
    cache: TokenCache<Login>,
}

impl SessionAuth {
    pub(crate) fn new(login: Login) -> Self {
        SessionAuth {
            cache: TokenCache::new(login),
        }
    }
}

#[async_trait]
impl Authenticator for SessionAuth {
    async fn authenticate(
        &self,
        client: &HttpClient,
        request: &mut HttpRequest,
    ) -> Result<AuthStamp> {
        let (session, stamp) = self.cache.token(client).await?;
        if request.method() == "GET" {
            request
                .url_mut()
                .query_pairs_mut()
                .append_pair("session_id", session.expose_secret());
        } else {
            request.append_form(&[("session_id", session.expose_secret())])?;
        }
        Ok(stamp)
    }

    async fn refresh(&self, _client: &HttpClient, stamp: AuthStamp) -> Result<bool> {
        Ok(self.cache.invalidate(stamp).await)
    }
}
