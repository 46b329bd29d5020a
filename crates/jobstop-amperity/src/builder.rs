//! Configuration of [`AmperityController`].

use std::sync::Arc;

use jobstop_core::Result;
use jobstop_http::{BuilderState, Credential, HttpClient, SecretString, StaticToken, TokenAuth};

use crate::auth::OAuthClientCredentials;
use crate::client::{Amperity, AmperityController};
use crate::error::AmperityErrorParser;

/// The production base URL (AWS). Azure tenants use
/// `https://{tenant-id}.amperity.com/api`, Australia
/// `https://app-aws-apse2.amperity.com/api`.
pub const DEFAULT_BASE_URL: &str = "https://app.amperity.com/api";

/// The API version sent in the `api-version` header.
pub const DEFAULT_API_VERSION: &str = "2024-04-01";

jobstop_http::vendor_config! {
    /// The settings of an Amperity account: what [`AmperityBuilder`] holds,
    /// read from `JOBSTOP_AMPERITY_<KEY>` variables and from `[accounts.NAME]`
    /// tables with `vendor = "amperity"`.
    ///
    /// | key | variable | setting |
    /// |---|---|---|
    /// | `base_url` | `JOBSTOP_AMPERITY_BASE_URL` | [`with_base_url`](AmperityBuilder::with_base_url) (default [`DEFAULT_BASE_URL`]) |
    /// | `tenant` | `JOBSTOP_AMPERITY_TENANT` | [`with_tenant`](AmperityBuilder::with_tenant) (required) |
    /// | `token` | `JOBSTOP_AMPERITY_TOKEN` | [`with_token`](AmperityBuilder::with_token) |
    /// | `client_id` | `JOBSTOP_AMPERITY_CLIENT_ID` | [`with_client_credentials`](AmperityBuilder::with_client_credentials) |
    /// | `client_secret` | `JOBSTOP_AMPERITY_CLIENT_SECRET` | [`with_client_credentials`](AmperityBuilder::with_client_credentials) |
    /// | `api_version` | `JOBSTOP_AMPERITY_API_VERSION` | [`with_api_version`](AmperityBuilder::with_api_version) (default [`DEFAULT_API_VERSION`]) |
    /// | `client.*` | `JOBSTOP_AMPERITY_CLIENT_*` | timeouts, retries, pacing: [`ClientSettings`](jobstop_http::ClientSettings) |
    pub struct AmperityConfig for "amperity" {
        /// The API base URL.
        base_url: Option<String>,
        /// The tenant id.
        tenant: Option<String>,
        /// A static access token.
        token: Option<SecretString>,
        /// The OAuth client id.
        client_id: Option<String>,
        /// The OAuth client secret.
        client_secret: Option<SecretString>,
        /// The API version.
        api_version: Option<String>,
    }
}

/// The two ways to authenticate.
const CREDENTIALS: &[Credential] = &[
    Credential::new("a token", &["token"]),
    Credential::new("client credentials", &["client_id", "client_secret"]),
];

/// Builds an [`AmperityController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one [`ErrorKind::Config`](jobstop_core::ErrorKind::Config) error
/// naming the setting at fault.
///
/// Give either a static access token (`with_token`) or OAuth client
/// credentials (`with_client_credentials`), not both.
#[derive(Clone, Default, Debug)]
pub struct AmperityBuilder(BuilderState<AmperityConfig>);

jobstop_http::config_builder!(
    AmperityBuilder, AmperityConfig {
        /// The API base URL, e.g. `https://acme.amperity.com/api`.
        with_base_url(base_url: String),
        /// The tenant id, sent as `amperity-tenant` on every request.
        with_tenant(tenant: String),
        /// A static access token (a JWT generated in the Amperity UI).
        with_token(token: SecretString),
        /// The API version (default [`DEFAULT_API_VERSION`]).
        with_api_version(api_version: String),
        /// OAuth client credentials; tokens are fetched from
        /// `{base_url}/v0/oauth2/token`, cached and refreshed before they expire.
        with_client_credentials(client_id: String, client_secret: SecretString),
    }
);

impl AmperityBuilder {
    /// Validates the settings and builds the controller.
    pub fn build(self) -> Result<AmperityController> {
        let state = &self.0;
        let (s, config) = state.parts()?;
        let base_url = s.base_url.as_deref();
        let base = state.url(
            "base_url",
            base_url,
            Some(DEFAULT_BASE_URL),
            state.insecure(None),
        )?;
        let cfg = |setting: &str, msg: &str| state.error(setting, msg);
        let tenant = s
            .tenant
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| state.required("tenant"))?;
        if !header_safe(&tenant) {
            return Err(cfg("tenant", "must be printable ASCII without spaces"));
        }
        let api_version = s
            .api_version
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
        if !header_safe(&api_version) {
            return Err(cfg("api_version", "must be printable ASCII without spaces"));
        }
        let http = HttpClient::from_config(
            jobstop_core::Vendor::AMPERITY,
            config,
            Arc::new(AmperityErrorParser),
        )?;
        let http = match (
            state.credential(CREDENTIALS)?,
            s.token,
            s.client_id,
            s.client_secret,
        ) {
            (0, Some(token), _, _) => {
                if token.is_empty() {
                    return Err(cfg("token", "is empty"));
                }
                http.with_authenticator(Arc::new(TokenAuth::bearer(StaticToken::new(token))))
            }
            (_, _, Some(id), Some(secret)) => {
                if id.trim().is_empty() || secret.is_empty() {
                    return Err(cfg("client_id/client_secret", "must both be non-empty"));
                }
                let source = OAuthClientCredentials::new(&base, tenant.clone(), id, secret);
                http.with_authenticator(Arc::new(TokenAuth::bearer(source)))
            }
            _ => return Err(cfg("credentials", "are incomplete")),
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
            b.assert_config_error(needle);
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
