//! Configuration of [`ChorusController`].

use std::fmt;
use std::sync::Arc;

use jobstop_core::{Error, Result, Vendor};
use jobstop_http::{BaseUrl, ClientConfig, HttpClient, InsecureHttp, SecretString};

use crate::client::{ChorusController, ChorusProtocol};
use crate::error::ChorusErrorParser;
use crate::session::{Credentials, Login, SessionAuth};

/// The environment variables [`ChorusBuilder::from_env`] reads.
pub const ENV_VARS: [&str; 5] = [
    "JOBSTOP_CHORUS_BASE_URL",
    "JOBSTOP_CHORUS_USERNAME",
    "JOBSTOP_CHORUS_PASSWORD",
    "JOBSTOP_CHORUS_SESSION_ID",
    "JOBSTOP_CHORUS_WORKSPACE_ID",
];

/// Builds a [`ChorusController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one `Config` error naming the setting at fault. Give either a
/// username and password (the controller logs in when first needed and again
/// after a 401) or an existing session id (used as is; when it expires calls
/// fail with `Unauthenticated`).
#[derive(Clone, Default)]
pub struct ChorusBuilder {
    base_url: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    session_id: Option<SecretString>,
    workspace_id: Option<String>,
    config: ClientConfig,
    insecure: InsecureHttp,
}

impl fmt::Debug for ChorusBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChorusBuilder")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("session_id", &self.session_id)
            .field("workspace_id", &self.workspace_id)
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl ChorusBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        ChorusBuilder::default()
    }

    /// A builder from the process environment:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `JOBSTOP_CHORUS_BASE_URL` | [`with_base_url`](Self::with_base_url) (required) |
    /// | `JOBSTOP_CHORUS_USERNAME` | [`with_password`](Self::with_password) |
    /// | `JOBSTOP_CHORUS_PASSWORD` | [`with_password`](Self::with_password) |
    /// | `JOBSTOP_CHORUS_SESSION_ID` | [`with_session_id`](Self::with_session_id) |
    /// | `JOBSTOP_CHORUS_WORKSPACE_ID` | [`with_workspace_id`](Self::with_workspace_id) (needed to list) |
    ///
    /// Unset and empty variables are ignored.
    pub fn from_env() -> Self {
        ChorusBuilder::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        ChorusBuilder {
            base_url: get("JOBSTOP_CHORUS_BASE_URL"),
            username: get("JOBSTOP_CHORUS_USERNAME"),
            password: get("JOBSTOP_CHORUS_PASSWORD").map(SecretString::new),
            session_id: get("JOBSTOP_CHORUS_SESSION_ID").map(SecretString::new),
            workspace_id: get("JOBSTOP_CHORUS_WORKSPACE_ID"),
            ..ChorusBuilder::default()
        }
    }

    /// The Chorus server's root URL, e.g. `https://chorus.example.com:8443`
    /// (API paths are below `/api`).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Logs in with a username and password.
    pub fn with_password(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Uses an existing session id instead of logging in.
    pub fn with_session_id(mut self, session_id: impl Into<SecretString>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The workspace whose workflow workfiles `list` returns.
    pub fn with_workspace_id(mut self, id: impl Into<String>) -> Self {
        self.workspace_id = Some(id.into());
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

    /// Validates the settings and builds the controller. No request is sent:
    /// the login happens on the first call.
    pub fn build(self) -> Result<ChorusController> {
        let cfg = |setting: &str, msg: &str| Error::config(format!("chorus {setting}: {msg}"));
        let raw = self
            .base_url
            .ok_or_else(|| cfg("base_url", "is required (JOBSTOP_CHORUS_BASE_URL)"))?;
        let base =
            BaseUrl::parse_with(&raw, self.insecure).map_err(|e| cfg("base_url", e.message()))?;
        let workspace_id = match self.workspace_id {
            None => None,
            Some(w) => {
                let w = w.trim().to_owned();
                if w.is_empty() || w.len() > 19 || !w.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(cfg("workspace_id", "must be a decimal integer"));
                }
                Some(w)
            }
        };
        let credentials = match (self.username, self.password, self.session_id) {
            (Some(username), Some(password), None) => {
                if username.trim().is_empty() || password.is_empty() {
                    return Err(cfg("username/password", "must both be non-empty"));
                }
                Credentials::Password { username, password }
            }
            (None, None, Some(session)) => Credentials::Session(session),
            (Some(_), None, None) => return Err(cfg("password", "is required with username")),
            (None, Some(_), None) => return Err(cfg("username", "is required with password")),
            (None, None, None) => {
                return Err(cfg(
                    "credentials",
                    "give a username and password (JOBSTOP_CHORUS_USERNAME, JOBSTOP_CHORUS_PASSWORD) \
                     or a session id (JOBSTOP_CHORUS_SESSION_ID)",
                ));
            }
            (_, _, Some(_)) => {
                return Err(cfg(
                    "credentials",
                    "give either a username and password or a session id, not both",
                ));
            }
        };
        // `session_id=NULL` exempts the login from Rails' CSRF check, as the
        // official Python client does.
        let mut login_url = base.path().lit("api/sessions").build();
        login_url.set_query(Some("session_id=NULL"));
        let login = Login::new(login_url, credentials);
        let http =
            HttpClient::with_config(Vendor::CHORUS, self.config, Arc::new(ChorusErrorParser))?
                .with_authenticator(Arc::new(SessionAuth::new(login)));
        let protocol = ChorusProtocol::new(base, workspace_id, http);
        Ok(ChorusController::new(protocol))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::ErrorKind;

    #[test]
    fn config_errors_name_the_setting() {
        let base = "http://127.0.0.1:1";
        let cases: Vec<(ChorusBuilder, &str)> = vec![
            (ChorusBuilder::new().with_password("u", "p"), "base_url"),
            (ChorusBuilder::new().with_base_url(base), "credentials"),
            (
                ChorusBuilder::new()
                    .with_base_url("http://chorus.example")
                    .with_password("u", "p"),
                "base_url",
            ),
            (
                ChorusBuilder::new()
                    .with_base_url(base)
                    .with_password("u", "p")
                    .with_session_id("s"),
                "not both",
            ),
            (
                ChorusBuilder::new()
                    .with_base_url(base)
                    .with_password("u", "p")
                    .with_workspace_id("12a"),
                "workspace_id",
            ),
            (
                ChorusBuilder::new()
                    .with_base_url(base)
                    .with_password("", "p"),
                "username",
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
    fn debug_hides_secrets() {
        let b = ChorusBuilder::new()
            .with_base_url("http://127.0.0.1:1")
            .with_password("alice", "pa55word-xyz")
            .with_workspace_id("7");
        assert!(!format!("{b:?}").contains("pa55word-xyz"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("pa55word-xyz"));
        let s = ChorusBuilder::new()
            .with_base_url("http://127.0.0.1:1")
            .with_session_id("0123abcdsession");
        assert!(!format!("{s:?} {:?}", s.clone().build().unwrap()).contains("0123abcdsession"));
    }
}
