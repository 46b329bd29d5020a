//! The CenturyLink Cloud login: `POST /v2/authentication/login`.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use jobstop_core::{Error, ErrorKind, Operation, Result};
use jobstop_http::{HttpClient, HttpRequest, SecretString, Token, TokenSource, Url};

use crate::model::LoginAnswer;

/// How long a bearer token is used before logging in again: the service says
/// tokens "can be reused for up to 2 weeks" and returns no expiry. A 401
/// earlier than that also triggers one new login.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

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
