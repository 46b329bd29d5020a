//! The CenturyLink Cloud login: `POST /v2/authentication/login`.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use jobstop_core::{Error, ErrorKind, Operation, Result};
use jobstop_http::{
    HttpClient, HttpRequest, SecretString, StaticToken, Token, TokenAuth, TokenSource, Url,
};

use crate::model::LoginAnswer;

/// How long a bearer token is used before logging in again: the service says
/// tokens "can be reused for up to 2 weeks" and returns no expiry. A 401
/// earlier than that also triggers one new login.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

/// How requests are authenticated.
pub(crate) enum Auth {
    /// A bearer token given by the user.
    Static(Arc<TokenAuth<StaticToken>>),
    /// A login with a username and password.
    Login(Arc<TokenAuth<Login>>),
}

/// The account requests act for: its credentials and its alias, configured
/// or learned from the login.
pub(crate) struct Account {
    pub(crate) alias: Option<String>,
    learned: Option<Arc<OnceLock<String>>>,
    auth: Auth,
}

impl Account {
    pub(crate) fn new(
        alias: Option<String>,
        learned: Option<Arc<OnceLock<String>>>,
        auth: Auth,
    ) -> Self {
        Account {
            alias,
            learned,
            auth,
        }
    }

    /// `http`, sending this account's credentials.
    pub(crate) fn authenticate(&self, http: &HttpClient) -> HttpClient {
        match &self.auth {
            Auth::Static(a) => http.with_authenticator(a.clone()),
            Auth::Login(a) => http.with_authenticator(a.clone()),
        }
    }

    /// The account alias: configured, or the one the login answered with
    /// (logging in first if needed).
    pub(crate) async fn alias(&self, http: &HttpClient) -> Result<String> {
        if let Some(a) = &self.alias {
            return Ok(a.clone());
        }
        if let (Some(learned), Auth::Login(auth)) = (&self.learned, &self.auth) {
            if let Some(a) = learned.get() {
                return Ok(a.clone());
            }
            auth.cache().token(&http.without_authenticator()).await?;
            if let Some(a) = learned.get() {
                return Ok(a.clone());
            }
        }
        Err(Error::config(
            "centurylink account_alias: not configured and the login did not return one",
        ))
    }
}

/// Logs in with a username and password; remembers the account alias the
/// login answers with, for paths when none is configured.
pub(crate) struct Login {
    pub(crate) url: Url,
    pub(crate) username: String,
    pub(crate) password: SecretString,
    pub(crate) alias: Arc<OnceLock<String>>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("url", &self.url.as_str())
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

#[async_trait]
impl TokenSource for Login {
    async fn fetch(&self, client: &HttpClient) -> Result<Token> {
        let body = serde_json::json!({
            "username": self.username,
            "password": self.password.expose_secret(),
        });
        let req = HttpRequest::post(self.url.clone(), Operation::Authenticate)
            .without_auth()
            .header("accept", "application/json")?
            .json(&body)?;
        let resp = client.send(req).await.map_err(|e| {
            // The login service answers wrong credentials with 400.
            if e.http_status() == Some(400) {
                e.with_kind(ErrorKind::Unauthenticated)
            } else {
                e
            }
        })?;
        let answer: LoginAnswer = resp.json_redacted()?;
        if answer.bearer_token.is_empty() {
            return Err(
                Error::invalid_response("the login answer has an empty bearerToken")
                    .with_operation(Operation::Authenticate),
            );
        }
        if let Some(alias) = answer.account_alias.filter(|a| !a.is_empty()) {
            let _ = self.alias.set(alias);
        }
        Ok(Token::expiring(
            SecretString::new(answer.bearer_token),
            TOKEN_LIFETIME,
        ))
    }
}
