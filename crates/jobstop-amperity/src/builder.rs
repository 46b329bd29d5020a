//! Configuration of [`AmperityController`].

use std::fmt;
use std::sync::Arc;

use jobstop_core::{Error, Result};
use jobstop_http::{
    BaseUrl, ClientConfig, HttpClient, InsecureHttp, SecretString, StaticToken, TokenAuth,
};

use crate::client::{Amperity, AmperityController, OAuthClientCredentials};
use crate::error::AmperityErrorParser;

/// The production base URL (AWS). Azure tenants use
/// `https://{tenant-id}.amperity.com/api`, Australia
/// `https://app-aws-apse2.amperity.com/api`.
pub const DEFAULT_BASE_URL: &str = "https://app.amperity.com/api";

/// The API version sent in the `api-version` header.
pub const DEFAULT_API_VERSION: &str = "2024-04-01";

/// Builds an [`AmperityController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one [`ErrorKind::Config`](jobstop_core::ErrorKind::Config) error
/// naming the setting at fault.
///
/// Give either a static access token (`with_token`) or OAuth client
/// credentials (`with_client_credentials`), not both.
#[derive(Clone, Default)]
pub struct AmperityBuilder {
    base_url: Option<String>,
    tenant: Option<String>,
    token: Option<SecretString>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    api_version: Option<String>,
    config: ClientConfig,
    insecure: InsecureHttp,
}

impl fmt::Debug for AmperityBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmperityBuilder")
            .field("base_url", &self.base_url)
            .field("tenant", &self.tenant)
            .field("token", &self.token)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("api_version", &self.api_version)
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// The environment variables [`AmperityBuilder::from_env`] reads.
pub const ENV_VARS: [&str; 6] = [
    "JOBSTOP_AMPERITY_BASE_URL",
    "JOBSTOP_AMPERITY_TENANT",
    "JOBSTOP_AMPERITY_TOKEN",
    "JOBSTOP_AMPERITY_CLIENT_ID",
    "JOBSTOP_AMPERITY_CLIENT_SECRET",
    "JOBSTOP_AMPERITY_API_VERSION",
];

impl AmperityBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        AmperityBuilder::default()
    }

    /// A builder from the process environment:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `JOBSTOP_AMPERITY_BASE_URL` | [`with_base_url`](Self::with_base_url) (default [`DEFAULT_BASE_URL`]) |
    /// | `JOBSTOP_AMPERITY_TENANT` | [`with_tenant`](Self::with_tenant) (required) |
    /// | `JOBSTOP_AMPERITY_TOKEN` | [`with_token`](Self::with_token) |
    /// | `JOBSTOP_AMPERITY_CLIENT_ID` | [`with_client_credentials`](Self::with_client_credentials) |
    /// | `JOBSTOP_AMPERITY_CLIENT_SECRET` | [`with_client_credentials`](Self::with_client_credentials) |
    /// | `JOBSTOP_AMPERITY_API_VERSION` | [`with_api_version`](Self::with_api_version) (default [`DEFAULT_API_VERSION`]) |
    ///
    /// Unset and empty variables are ignored.
    pub fn from_env() -> Self {
        AmperityBuilder::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (for tests, or a config layer of your own).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut b = AmperityBuilder::new();
        b.base_url = get("JOBSTOP_AMPERITY_BASE_URL");
        b.tenant = get("JOBSTOP_AMPERITY_TENANT");
        b.token = get("JOBSTOP_AMPERITY_TOKEN").map(SecretString::new);
        b.client_id = get("JOBSTOP_AMPERITY_CLIENT_ID");
        b.client_secret = get("JOBSTOP_AMPERITY_CLIENT_SECRET").map(SecretString::new);
        b.api_version = get("JOBSTOP_AMPERITY_API_VERSION");
        b
    }

    /// The API base URL, e.g. `https://acme.amperity.com/api`.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The tenant id, sent as `amperity-tenant` on every request.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// A static access token (a JWT generated in the Amperity UI).
    pub fn with_token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// OAuth client credentials; tokens are fetched from
    /// `{base_url}/v0/oauth2/token`, cached and refreshed before they expire.
    pub fn with_client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret.into());
        self
    }

    /// The API version (default [`DEFAULT_API_VERSION`]).
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Timeouts, retries and the body cap.
    pub fn with_client_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Allows plain `http://` to hosts other than loopback. Credentials then
    /// cross the network unencrypted.
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.insecure = if allow {
            InsecureHttp::Allow
        } else {
            InsecureHttp::LoopbackOnly
        };
        self
    }

    /// Validates the settings and builds the controller.
    pub fn build(self) -> Result<AmperityController> {
        let cfg = |setting: &str, msg: &str| Error::config(format!("amperity {setting}: {msg}"));
        let base = BaseUrl::parse_with(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.insecure,
        )
        .map_err(|e| cfg("base_url", e.message()))?;
        let tenant = self
            .tenant
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| cfg("tenant", "is required (JOBSTOP_AMPERITY_TENANT)"))?;
        if !header_safe(&tenant) {
            return Err(cfg("tenant", "must be printable ASCII without spaces"));
        }
        let api_version = self
            .api_version
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
        if !header_safe(&api_version) {
            return Err(cfg("api_version", "must be printable ASCII without spaces"));
        }
        let http = HttpClient::with_config(
            jobstop_core::Vendor::AMPERITY,
            self.config,
            Arc::new(AmperityErrorParser),
        )?;
        let http = match (self.token, self.client_id, self.client_secret) {
            (Some(token), None, None) => {
                if token.is_empty() {
                    return Err(cfg("token", "is empty"));
                }
                http.with_authenticator(Arc::new(TokenAuth::bearer(StaticToken::new(token))))
            }
            (None, Some(id), Some(secret)) => {
                if id.trim().is_empty() || secret.is_empty() {
                    return Err(cfg("client_id/client_secret", "must both be non-empty"));
                }
                let source = OAuthClientCredentials::new(&base, tenant.clone(), id, secret);
                http.with_authenticator(Arc::new(TokenAuth::bearer(source)))
            }
            (None, Some(_), None) => {
                return Err(cfg("client_secret", "is required with client_id"));
            }
            (None, None, Some(_)) => {
                return Err(cfg("client_id", "is required with client_secret"));
            }
            (None, None, None) => {
                return Err(cfg(
                    "credentials",
                    "give a token (JOBSTOP_AMPERITY_TOKEN) or client credentials \
                     (JOBSTOP_AMPERITY_CLIENT_ID and JOBSTOP_AMPERITY_CLIENT_SECRET)",
                ));
            }
            (Some(_), _, _) => {
                return Err(cfg(
                    "credentials",
                    "give either a token or client credentials, not both",
                ));
            }
        };
        Ok(AmperityController::new(Amperity::new(
            base,
            tenant,
            api_version,
            http,
        )))
    }
}

/// Visible ASCII only: what a header value can carry without surprises.
fn header_safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::ErrorKind;

    fn env(pairs: &[(&str, &str)]) -> AmperityBuilder {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AmperityBuilder::from_lookup(move |k| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn config_errors_name_the_setting() {
        let cases: Vec<(AmperityBuilder, &str)> = vec![
            (AmperityBuilder::new().with_token("t"), "tenant"),
            (AmperityBuilder::new().with_tenant("acme"), "credentials"),
            (
                AmperityBuilder::new()
                    .with_tenant("acme")
                    .with_token("t")
                    .with_client_credentials("i", "s"),
                "not both",
            ),
            (
                AmperityBuilder::new().with_tenant("ac me").with_token("t"),
                "tenant",
            ),
            (
                AmperityBuilder::new()
                    .with_tenant("acme\r\nx: y")
                    .with_token("t"),
                "tenant",
            ),
            (
                AmperityBuilder::new()
                    .with_tenant("acme")
                    .with_token("t")
                    .with_base_url("http://amperity.example"),
                "base_url",
            ),
            (
                AmperityBuilder::new()
                    .with_tenant("acme")
                    .with_token("t")
                    .with_api_version("2024 04"),
                "api_version",
            ),
            (
                env(&[
                    ("JOBSTOP_AMPERITY_TENANT", "acme"),
                    ("JOBSTOP_AMPERITY_CLIENT_ID", "id"),
                ]),
                "client_secret",
            ),
        ];
        for (b, needle) in cases {
            let err = b.build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains(needle),
                "{err} should mention {needle}"
            );
        }
    }

    #[test]
    fn from_env_and_debug_hide_secrets() {
        let b = env(&[
            ("JOBSTOP_AMPERITY_TENANT", "acme"),
            ("JOBSTOP_AMPERITY_CLIENT_ID", "client-1"),
            ("JOBSTOP_AMPERITY_CLIENT_SECRET", "very-secret-value"),
            ("JOBSTOP_AMPERITY_BASE_URL", "http://127.0.0.1:9/api"),
            ("JOBSTOP_AMPERITY_TOKEN", ""),
        ]);
        assert!(!format!("{b:?}").contains("very-secret-value"));
        let c = b.build().unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("very-secret-value"), "{d}");
        assert!(d.contains("acme"), "{d}");
    }
}
