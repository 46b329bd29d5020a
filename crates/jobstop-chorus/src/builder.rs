//! Configuration of [`ChorusController`].

use std::sync::Arc;

use jobstop_core::{Result, Vendor};
use jobstop_http::{BuilderState, Credential, HttpClient, SecretString};

use crate::client::{ChorusController, ChorusProtocol};
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
    Credential::new("a username and password", &["username", "password"]),
    Credential::new("a session id", &["session_id"]),
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

jobstop_http::config_builder!(
    ChorusBuilder, ChorusConfig {
        /// The Chorus server's root URL, e.g. `https://chorus.example.com:8443`
        /// (API paths are below `/api`).
        with_base_url(base_url: String),
        /// Uses an existing session id instead of logging in.
        with_session_id(session_id: SecretString),
        /// The workspace whose workflow workfiles `list` returns.
        with_workspace_id(workspace_id: String),
        /// Logs in with a username and password.
        with_password(username: String, password: SecretString),
    }
);

impl ChorusBuilder {
    /// Validates the settings and builds the controller. No request is sent:
    /// the login happens on the first call.
    pub fn build(self) -> Result<ChorusController> {
        let state = &self.0;
        let cfg = |setting: &str, msg: &str| state.error(setting, msg);
        let (s, config) = state.parts()?;
        let base = state.url(
            "base_url",
            s.base_url.as_deref(),
            None,
            state.insecure(None),
        )?;
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
        let http = HttpClient::from_config(Vendor::CHORUS, config, Arc::new(ChorusErrorParser))?
            .with_authenticator(Arc::new(SessionAuth::new(login)));
        Ok(ChorusController::new(ChorusProtocol::new(
            base,
            workspace_id,
            http,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            b.assert_config_error(needle);
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
