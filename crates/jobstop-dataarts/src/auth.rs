//! Credentials: AK/SK request signing and IAM password tokens.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jobstop_core::{Error, Operation, Result};
use jobstop_http::{
    AuthStamp, Authenticator, HttpClient, HttpRequest, HttpResponse, SecretString, Token,
    TokenSource, Url,
};

use crate::model::IamToken;
use crate::sign::{self, SignInput};

/// Signs every request with `SDK-HMAC-SHA256`. Signing happens per attempt,
/// so a retried request carries a fresh `X-Sdk-Date`. Signed headers:
/// `content-type`, `host`, `workspace` (when set), `x-project-id` and
/// `x-sdk-date` (the Huawei SDK's `BasicCredentials` adds and signs
/// `X-Project-Id` too).
pub(crate) struct AkSkAuth {
    access_key: String,
    secret_key: SecretString,
}

impl fmt::Debug for AkSkAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkSkAuth")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .finish()
    }
}

impl AkSkAuth {
    pub(crate) fn new(access_key: String, secret_key: SecretString) -> Self {
        AkSkAuth {
            access_key,
            secret_key,
        }
    }
}

fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

#[async_trait]
impl Authenticator for AkSkAuth {
    async fn authenticate(
        &self,
        _client: &HttpClient,
        request: &mut HttpRequest,
    ) -> Result<AuthStamp> {
        let date = Utc::now().format(sign::DATE_FORMAT).to_string();
        let host =
            host_of(request.url()).ok_or_else(|| Error::config("the base URL has no host"))?;
        let bad_header = |_| Error::invalid_input("a signed header value is not valid in a header");
        request
            .set_header("x-sdk-date", &date)
            .map_err(bad_header)?;
        request.set_header("host", &host).map_err(bad_header)?;
        let mut signed = Vec::new();
        for name in [
            "content-type",
            "host",
            "workspace",
            "x-project-id",
            "x-sdk-date",
        ] {
            if let Some(v) = request.header_value(name) {
                signed.push((name.to_owned(), v.to_owned()));
            } else if request.has_header(name) {
                return Err(Error::invalid_input(format!(
                    "header {name} is not visible ASCII"
                )));
            }
        }
        let query: Vec<(String, String)> = request
            .url()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let body = request.body().map(|b| b.to_vec()).unwrap_or_default();
        let input = SignInput {
            method: request.method(),
            path: request.url().path(),
            query: &query,
            headers: &signed,
            body: &body,
        };
        let value = sign::authorization(
            &self.access_key,
            self.secret_key.expose_secret(),
            &date,
            &input,
        );
        request
            .set_secret_header("authorization", &SecretString::new(value))
            .map_err(|_| Error::config("the access key is not valid in a header"))?;
        Ok(AuthStamp::default())
    }

    async fn refresh(&self, _client: &HttpClient, _stamp: AuthStamp) -> Result<bool> {
        // A signature rejected with 401 means wrong keys or a skewed clock;
        // signing again would not help.
        Ok(false)
    }
}

/// Fetches IAM tokens with a password: `POST {iam}/v3/auth/tokens`, token in
/// the `X-Subject-Token` header, lifetime from `token.expires_at` (measured
/// against the IAM server's `Date`, so a skewed local clock does not matter).
pub(crate) struct IamPassword {
    pub(crate) url: Url,
    pub(crate) username: String,
    pub(crate) password: SecretString,
    pub(crate) domain: String,
    pub(crate) project_id: String,
}

impl fmt::Debug for IamPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamPassword")
            .field("url", &self.url.as_str())
            .field("username", &self.username)
            .field("password", &self.password)
            .field("domain", &self.domain)
            .field("project_id", &self.project_id)
            .finish()
    }
}

#[async_trait]
impl TokenSource for IamPassword {
    async fn fetch(&self, client: &HttpClient) -> Result<Token> {
        let body = serde_json::json!({
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {
                        "name": self.username,
                        "password": self.password.expose_secret(),
                        "domain": {"name": self.domain},
                    }},
                },
                "scope": {"project": {"id": self.project_id}},
            }
        });
        let req = HttpRequest::post(self.url.clone(), Operation::Authenticate)
            .without_auth()
            .json(&body)?;
        let resp = client.send(req).await?;
        let token = resp
            .headers()
            .get("x-subject-token")
            .filter(|t| !t.is_empty())
            .map(SecretString::new)
            .ok_or_else(|| {
                Error::invalid_response("IAM answered without an X-Subject-Token header")
                    .with_operation(Operation::Authenticate)
            })?;
        Ok(Token::expiring(token, iam_lifetime(&resp)?))
    }
}

/// How long the token of an IAM answer is valid from the server's clock
/// (its `Date`, else ours): until the body's `token.expires_at`, at least a
/// second.
pub(crate) fn iam_lifetime(resp: &HttpResponse) -> Result<Duration> {
    let body: IamToken = resp.json_redacted()?;
    let now = resp.date().map_or_else(Utc::now, DateTime::<Utc>::from);
    let expires = DateTime::parse_from_rfc3339(&body.token.expires_at)
        .map_err(|_| {
            Error::invalid_response("IAM token expires_at is not an ISO-8601 time")
                .with_operation(Operation::Authenticate)
        })?
        .with_timezone(&Utc);
    Ok((expires - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(1)))
}
