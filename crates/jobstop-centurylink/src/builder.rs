//! Configuration of [`CenturyLinkController`].

use std::fmt;
use std::sync::{Arc, OnceLock};

use jobstop_core::{Error, Result, Vendor};
use jobstop_http::{
    BaseUrl, ClientConfig, HttpClient, InsecureHttp, SecretString, StaticToken, TokenAuth,
};

use crate::auth::{Auth, Login};
use crate::client::{CenturyLinkController, controller};
use crate::error::RunnerErrorParser;

/// The Runner API (production).
pub const DEFAULT_BASE_URL: &str = "https://api.runner.ctl.io";
/// The CenturyLink Cloud login endpoint.
pub const DEFAULT_LOGIN_URL: &str = "https://api.ctl.io/v2/authentication/login";

/// The environment variables [`CenturyLinkBuilder::from_env`] reads.
pub const ENV_VARS: [&str; 6] = [
    "JOBSTOP_CENTURYLINK_BASE_URL",
    "JOBSTOP_CENTURYLINK_LOGIN_URL",
    "JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS",
    "JOBSTOP_CENTURYLINK_TOKEN",
    "JOBSTOP_CENTURYLINK_USERNAME",
    "JOBSTOP_CENTURYLINK_PASSWORD",
];

/// Builds a [`CenturyLinkController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one `Config` error naming the setting at fault. Give either a
/// bearer token (then the account alias is required) or a username and
/// password (the controller logs in on first use, uses the alias the login
/// answers with unless one is configured, and logs in again once after a 401).
#[derive(Clone, Default)]
pub struct CenturyLinkBuilder {
    base_url: Option<String>,
    login_url: Option<String>,
    account_alias: Option<String>,
    token: Option<SecretString>,
    username: Option<String>,
    password: Option<SecretString>,
    config: ClientConfig,
    insecure: InsecureHttp,
}

impl fmt::Debug for CenturyLinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CenturyLinkBuilder")
            .field("base_url", &self.base_url)
            .field("login_url", &self.login_url)
            .field("account_alias", &self.account_alias)
            .field("token", &self.token)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

fn alias_ok(a: &str) -> bool {
    !a.is_empty() && a.len() <= 16 && a.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl CenturyLinkBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        CenturyLinkBuilder::default()
    }

    /// A builder from the process environment:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `JOBSTOP_CENTURYLINK_BASE_URL` | [`with_base_url`](Self::with_base_url) (default [`DEFAULT_BASE_URL`]) |
    /// | `JOBSTOP_CENTURYLINK_LOGIN_URL` | [`with_login_url`](Self::with_login_url) (default [`DEFAULT_LOGIN_URL`]) |
    /// | `JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS` | [`with_account_alias`](Self::with_account_alias) (default: the login's) |
    /// | `JOBSTOP_CENTURYLINK_TOKEN` | [`with_token`](Self::with_token) |
    /// | `JOBSTOP_CENTURYLINK_USERNAME`, `JOBSTOP_CENTURYLINK_PASSWORD` | [`with_password`](Self::with_password) |
    ///
    /// Unset and empty variables are ignored.
    pub fn from_env() -> Self {
        CenturyLinkBuilder::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        CenturyLinkBuilder {
            base_url: get("JOBSTOP_CENTURYLINK_BASE_URL"),
            login_url: get("JOBSTOP_CENTURYLINK_LOGIN_URL"),
            account_alias: get("JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS"),
            token: get("JOBSTOP_CENTURYLINK_TOKEN").map(SecretString::new),
            username: get("JOBSTOP_CENTURYLINK_USERNAME"),
            password: get("JOBSTOP_CENTURYLINK_PASSWORD").map(SecretString::new),
            ..CenturyLinkBuilder::default()
        }
    }

    /// The Runner API base URL.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The login endpoint (a full URL).
    pub fn with_login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = Some(url.into());
        self
    }

    /// The account alias used in paths (`/jobs/{alias}/…`).
    pub fn with_account_alias(mut self, alias: impl Into<String>) -> Self {
        self.account_alias = Some(alias.into());
        self
    }

    /// A bearer token.
    pub fn with_token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A username and password for the login.
    pub fn with_password(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Timeouts, retries and the body cap.
    pub fn with_client_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Allows plain `http://` to hosts other than loopback.
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.insecure = if allow {
            InsecureHttp::Allow
        } else {
            InsecureHttp::LoopbackOnly
        };
        self
    }

    /// Validates the settings and builds the controller. No request is sent.
    pub fn build(self) -> Result<CenturyLinkController> {
        let cfg = |setting: &str, msg: &str| Error::config(format!("centurylink {setting}: {msg}"));
        let base = BaseUrl::parse_with(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.insecure,
        )
        .map_err(|e| cfg("base_url", e.message()))?;
        let alias = match self.account_alias.map(|a| a.trim().to_owned()) {
            Some(a) if !alias_ok(&a) => {
                return Err(cfg("account_alias", "must be 1 to 16 letters or digits"));
            }
            other => other,
        };
        let http = HttpClient::with_config(
            Vendor::CENTURYLINK,
            self.config,
            Arc::new(RunnerErrorParser),
        )?;
        let (auth, learned) = match (self.token, self.username, self.password) {
            (Some(token), None, None) => {
                if token.is_empty() {
                    return Err(cfg("token", "is empty"));
                }
                if alias.is_none() {
                    return Err(cfg(
                        "account_alias",
                        "is required with a token (JOBSTOP_CENTURYLINK_ACCOUNT_ALIAS)",
                    ));
                }
                (
                    Auth::Static(Arc::new(TokenAuth::bearer(StaticToken::new(token)))),
                    None,
                )
            }
            (None, Some(username), Some(password)) => {
                if username.trim().is_empty() || password.is_empty() {
                    return Err(cfg("username/password", "must both be non-empty"));
                }
                let login_url = BaseUrl::parse_with(
                    self.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
                    self.insecure,
                )
                .map_err(|e| cfg("login_url", e.message()))?;
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
            (None, Some(_), None) => return Err(cfg("password", "is required with username")),
            (None, None, Some(_)) => return Err(cfg("username", "is required with password")),
            (None, None, None) => {
                return Err(cfg(
                    "credentials",
                    "give a token (JOBSTOP_CENTURYLINK_TOKEN) or a username and password \
                     (JOBSTOP_CENTURYLINK_USERNAME, JOBSTOP_CENTURYLINK_PASSWORD)",
                ));
            }
            (Some(_), _, _) => {
                return Err(cfg(
                    "credentials",
                    "give either a token or a username and password, not both",
                ));
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
