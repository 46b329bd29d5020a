//! Configuration of [`CenturyLinkController`].

use std::sync::{Arc, OnceLock};

use jobstop_core::{Result, Vendor};
use jobstop_http::{
    BuilderState, Credential, HttpClient, SecretString, StaticToken, TokenAuth, VendorConfig,
};

use crate::auth::{Auth, Login};
use crate::client::{CenturyLinkController, controller};
use crate::error::RunnerErrorParser;

/// The Runner API (production).
pub const DEFAULT_BASE_URL: &str = "https://api.runner.ctl.io";
/// The CenturyLink Cloud login endpoint.
pub const DEFAULT_LOGIN_URL: &str = "https://api.ctl.io/v2/authentication/login";

jobstop_http::vendor_config! {
    /// The settings of a CenturyLink Runner account: what
    /// [`CenturyLinkBuilder`] holds, read from `JOBSTOP_CENTURYLINK_<KEY>`
    /// variables and from `[accounts.NAME]` tables with
    /// `vendor = "centurylink"`.
    ///
    /// | key | variable | setting |
    /// |---|---|---|
    /// | `base_url` | `JOBSTOP_CENTURYLINK_BASE_URL` | [`with_base_url`](CenturyLinkBuilder::with_base_url) (default [`DEFAULT_BASE_URL`]) |
    /// | `login_url` | `JOBSTOP_CENTURYLINK_LOGIN_URL` | [`with_login_url`](CenturyLinkBuilder::with_login_url) (default [`DEFAULT_LOGIN_URL`]) |
    /// | `account_alias` | `JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS` | [`with_account_alias`](CenturyLinkBuilder::with_account_alias) (default: the login's) |
    /// | `token` | `JOBSTOP_CENTURYLINK_TOKEN` | [`with_token`](CenturyLinkBuilder::with_token) |
    /// | `username`, `password` | `JOBSTOP_CENTURYLINK_USERNAME`, `JOBSTOP_CENTURYLINK_PASSWORD` | [`with_password`](CenturyLinkBuilder::with_password) |
    /// | `client.*` | `JOBSTOP_CENTURYLINK_CLIENT_*` | timeouts, retries, pacing: [`ClientSettings`](jobstop_http::ClientSettings) |
    pub struct CenturyLinkConfig for "centurylink" {
        /// The Runner API base URL.
        base_url: Option<String>,
        /// The login endpoint.
        login_url: Option<String>,
        /// The account alias.
        account_alias: Option<String>,
        /// A bearer token.
        token: Option<SecretString>,
        /// The login name.
        username: Option<String>,
        /// The login password.
        password: Option<SecretString>,
    }
}

/// The two ways to authenticate.
const CREDENTIALS: &[Credential] = &[
    Credential::new("a token", &["token"]),
    Credential::new("a username and password", &["username", "password"]),
];

/// Builds a [`CenturyLinkController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one `Config` error naming the setting at fault. Give either a
/// bearer token (then the account alias is required) or a username and
/// password (the controller logs in on first use, uses the alias the login
/// answers with unless one is configured, and logs in again once after a 401).
#[derive(Clone, Default, Debug)]
pub struct CenturyLinkBuilder(BuilderState<CenturyLinkConfig>);

fn alias_ok(a: &str) -> bool {
    !a.is_empty() && a.len() <= 16 && a.bytes().all(|b| b.is_ascii_alphanumeric())
}

jobstop_http::config_builder!(
    CenturyLinkBuilder, CenturyLinkConfig {
        /// The Runner API base URL.
        with_base_url(base_url: String),
        /// The login endpoint (a full URL).
        with_login_url(login_url: String),
        /// The account alias used in paths (`/jobs/{alias}/…`).
        with_account_alias(account_alias: String),
        /// A bearer token.
        with_token(token: SecretString),
        /// A username and password for the login.
        with_password(username: String, password: SecretString),
    }
);

impl CenturyLinkBuilder {
    /// Validates the settings and builds the controller. No request is sent.
    pub fn build(self) -> Result<CenturyLinkController> {
        let state = &self.0;
        let cfg = |setting: &str, msg: &str| state.error(setting, msg);
        let (s, config) = state.parts()?;
        let insecure = state.insecure(None);
        let base = state.url(
            "base_url",
            s.base_url.as_deref(),
            Some(DEFAULT_BASE_URL),
            insecure,
        )?;
        let alias = match s.account_alias.map(|a| a.trim().to_owned()) {
            Some(a) if !alias_ok(&a) => {
                return Err(cfg("account_alias", "must be 1 to 16 letters or digits"));
            }
            other => other,
        };
        let http =
            HttpClient::from_config(Vendor::CENTURYLINK, config, Arc::new(RunnerErrorParser))?;
        let (auth, learned) = match (state.credential(CREDENTIALS)?, s.token) {
            (0, Some(token)) => {
                if token.is_empty() {
                    return Err(cfg("token", "is empty"));
                }
                if alias.is_none() {
                    return Err(cfg(
                        "account_alias",
                        &format!(
                            "is required with a token ({})",
                            CenturyLinkConfig::schema().env_var("account_alias")
                        ),
                    ));
                }
                (
                    Auth::Static(Arc::new(TokenAuth::bearer(StaticToken::new(token)))),
                    None,
                )
            }
            _ => {
                let (Some(username), Some(password)) = (s.username, s.password) else {
                    return Err(cfg("credentials", "are incomplete"));
                };
                if username.trim().is_empty() || password.is_empty() {
                    return Err(cfg("username/password", "must both be non-empty"));
                }
                let login_url = state.url(
                    "login_url",
                    s.login_url.as_deref(),
                    Some(DEFAULT_LOGIN_URL),
                    insecure,
                )?;
                let learned = Arc::new(OnceLock::new());
                let login = Login {
                    url: login_url.as_url().clone(),
                    username,
                    password,
                    alias: Arc::clone(&learned),
                };
                (
                    Auth::Login(Arc::new(TokenAuth::bearer(login))),
                    Some(learned),
                )
            }
        };
        Ok(controller(base, alias, learned, auth, http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::ErrorKind;

    #[test]
    fn config_errors_name_the_setting() {
        let b = || CenturyLinkBuilder::new().with_base_url("http://127.0.0.1:1");
        let cases: Vec<(CenturyLinkBuilder, &str)> = vec![
            (b(), "credentials"),
            (b().with_token("t"), "account_alias"),
            (
                b().with_token("t").with_account_alias("AB CD"),
                "account_alias",
            ),
            (b().with_token("t").with_password("u", "p"), "not both"),
            (
                b().with_password("u", "p")
                    .with_login_url("http://login.example/v2"),
                "login_url",
            ),
            (
                CenturyLinkBuilder::new()
                    .with_base_url("ftp://x")
                    .with_token("t"),
                "base_url",
            ),
        ];
        for (builder, needle) in cases {
            let err = builder.build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains(needle),
                "{err} should mention {needle}"
            );
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let b = CenturyLinkBuilder::new().with_password("ops@example.com", "hunter2-pw");
        assert!(!format!("{b:?}").contains("hunter2-pw"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("hunter2-pw"));
        let t = CenturyLinkBuilder::new()
            .with_token("tok-abc-123")
            .with_account_alias("ACME");
        assert!(!format!("{t:?} {:?}", t.clone().build().unwrap()).contains("tok-abc-123"));
    }
}
