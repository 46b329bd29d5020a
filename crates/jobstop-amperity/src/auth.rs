//! Amperity's OAuth client-credentials grant.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jobstop_core::{Error, Operation, Result};
use jobstop_http::{BaseUrl, HttpClient, HttpRequest, SecretString, Token, TokenSource, Url};

use crate::model::TokenResponse;

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
