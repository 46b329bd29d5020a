//! Configuration of [`ChorusController`].

use std::sync::Arc;

use jobstop_core::{Result, Vendor};
use jobstop_http::{BaseUrl, BuilderState, ClientConfig, Credential, HttpClient, SecretString};

use crate::client::ChorusController;
use crate::error::ChorusErrorParser;
use crate::session::{Credentials, Login, SessionAuth};

jobstop_http::vendor_config! {
    /// The settings of a Chorus account: what [`ChorusBuilder`] holds, read
    /// from `JOBSTOP_CHORUS_<KEY>` variables and from `[accounts.NAME]` tables
    /// with `vendor = "chorus"`.
    ///
    /// | key | variable | setting |
    /// |---|---|---|
    /// | `base_url` | `JOBSTOP_CHORUS_BASE_URL` | [`with_base_url`](ChorusBuilder::with_base_url) (required) |
    /// | `username` | `JOBSTOP_CHORUS_USERNAME` | [`with_password`](ChorusBuilder::with_password) |
    /// | `password` | `JOBSTOP_CHORUS_PASSWORD` | [`with_password`](ChorusBuilder::with_password) |
    /// | `session_id` | `JOBSTOP_CHORUS_SESSION_ID` | [`with_session_id`](ChorusBuilder::with_session_id) |
    /// | `workspace_id` | `JOBSTOP_CHORUS_WORKSPACE_ID` | [`with_workspace_id`](ChorusBuilder::with_workspace_id) (needed to list) |
    /// | `client.*` | `JOBSTOP_CHORUS_CLIENT_*` | timeouts, retries, pacing: [`ClientSettings`](jobstop_http::ClientSettings) |
    pub struct ChorusConfig for "chorus" {
        /// The server's root URL.
        base_url: Option<String>,
        /// The login name.
        username: Option<String>,
        /// The login password.
        password: Option<SecretString>,
        /// An existing session id.
        session_id: Option<SecretString>,
        /// The workspace to list.
        workspace_id: Option<String>,
    }
}

/// The two ways to authenticate.
const CREDENTIALS: &[Credential] = &[
    Credential {
        what: "a username and password",
        keys: &["username", "password"],
    },
    Credential {
        what: "a session id",
        keys: &["session_id"],
    },
];

/// Builds a [`ChorusController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one `Config` error naming the setting at fault. Give either a
/// username and password (the controller logs in when first needed and again
/// after a 401) or an existing session id (used as is; when it expires calls
/// fail with `Unauthenticated`).
#[derive(Clone, Default, Debug)]
pub struct ChorusBuilder(BuilderState<ChorusConfig>);

impl ChorusBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        ChorusBuilder::default()
    }

    /// A builder holding `config`.
    pub fn from_config(config: ChorusConfig) -> Self {
        ChorusBuilder(BuilderState::new(config))
    }

    /// A builder from the process environment: the variables of
    /// [`ChorusConfig`]. Unset and empty variables are ignored; a bad
    /// `client` value is reported by [`build`](Self::build).
    pub fn from_env() -> Self {
        ChorusBuilder::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        ChorusBuilder(BuilderState::from_lookup(lookup))
    }

    /// The settings held so far.
    pub fn config(&self) -> &ChorusConfig {
        &self.0.settings
    }

    /// The Chorus server's root URL, e.g. `https://chorus.example.com:8443`
    /// (API paths are below `/api`).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.0.settings.base_url = Some(url.into());
        self
    }

    /// Logs in with a username and password.
    pub fn with_password(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.0.settings.username = Some(username.into());
        self.0.settings.password = Some(password.into());
        self
    }

    /// Uses an existing session id instead of logging in.
    pub fn with_session_id(mut self, session_id: impl Into<SecretString>) -> Self {
        self.0.settings.session_id = Some(session_id.into());
        self
    }

    /// The workspace whose workflow workfiles `list` returns.
    pub fn with_workspace_id(mut self, id: impl Into<String>) -> Self {
        self.0.settings.workspace_id = Some(id.into());
        self
    }

    /// Timeouts, retries and the body cap; the config's `client` settings
    /// apply over it.
    pub fn with_client_config(mut self, config: ClientConfig) -> Self {
        self.0.http = config;
        self
    }

    /// Allows plain `http://` to hosts other than loopback.
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.0.set_insecure_http(allow);
        self
    }

    /// Validates the settings and builds the controller. No request is sent:
    /// the login happens on the first call.
    pub fn build(self) -> Result<ChorusController> {
        let state = &self.0;
        let cfg = |setting: &str, msg: &str| state.error(setting, msg);
        let config = state.client_config()?;
        let s = state.settings.clone();
        let raw = s.base_url.ok_or_else(|| state.required("base_url"))?;
        let base =
            BaseUrl::parse_with(&raw, state.insecure).map_err(|e| cfg("base_url", e.message()))?;
        let workspace_id = match s.workspace_id {
            None => None,
            Some(w) => {
                let w = w.trim().to_owned();
                if w.is_empty() || w.len() > 19 || !w.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(cfg("workspace_id", "must be a decimal integer"));
                }
                Some(w)
            }
        };
        let credentials = match (state.credential(CREDENTIALS)?, s.username, s.password) {
            (0, Some(username), Some(password)) => {
                if username.trim().is_empty() || password.is_empty() {
                    return Err(cfg("username/password", "must both be non-empty"));
                }
                Credentials::Password { username, password }
            }
            _ => match s.session_id {
                Some(session) => Credentials::Session(session),
                None => return Err(cfg("credentials", "are incomplete")),
            },
        };
        // `session_id=NULL` exempts the login from Rails' CSRF check, as the
        // official Python client does.
        let mut login_url = base.path().lit("api/sessions").build();
        login_url.set_query(Some("session_id=NULL"));
        let login = Login::new(login_url, credentials);
        let http = HttpClient::with_config(Vendor::CHORUS, config, Arc::new(ChorusErrorParser))?
            .with_authenticator(Arc::new(SessionAuth::new(login)));
        Ok(ChorusController::new(base, workspace_id, http))
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
