//! Configuration of [`DataArtsController`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jobstop_core::{Error, Result, Vendor};
use jobstop_http::{
    BaseUrl, ClientConfig, HttpClient, InsecureHttp, SecretString, StaticToken, TokenAuth,
};

use crate::auth::{AkSkAuth, IamPassword};
use crate::client::{DataArtsController, DataArtsProtocol};
use crate::error::DataArtsErrorParser;

/// The environment variables [`DataArtsBuilder::from_env`] reads.
pub const ENV_VARS: [&str; 13] = [
    "JOBSTOP_DATAARTS_BASE_URL",
    "JOBSTOP_DATAARTS_REGION",
    "JOBSTOP_DATAARTS_PROJECT_ID",
    "JOBSTOP_DATAARTS_WORKSPACE",
    "JOBSTOP_DATAARTS_TOKEN",
    "JOBSTOP_DATAARTS_AK",
    "JOBSTOP_DATAARTS_SK",
    "JOBSTOP_DATAARTS_IAM_URL",
    "JOBSTOP_DATAARTS_USERNAME",
    "JOBSTOP_DATAARTS_PASSWORD",
    "JOBSTOP_DATAARTS_DOMAIN",
    "JOBSTOP_DATAARTS_INSECURE_HTTP",
    "JOBSTOP_DATAARTS_INSTANCE_LOOKBACK",
];

/// How far back an instance listing looks when the query names no
/// `created_from`: 28 days, four windows of 7 days (the widest DataArts
/// serves in one listing). A runaway instance is exactly one that has run
/// for days, so the default reaches well past one window, at three listing
/// requests more than a single window costs.
pub const DEFAULT_INSTANCE_LOOKBACK: Duration = Duration::from_secs(28 * 24 * 3600);

/// The longest look-back accepted (366 days: 53 windows of 7 days).
pub const MAX_INSTANCE_LOOKBACK: Duration = Duration::from_secs(366 * 24 * 3600);

/// Reads a look-back: a whole number with a unit, `d`, `h`, `m` or `s`
/// (`14d`, `36h`); a bare number is days.
fn parse_lookback(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "d"),
    };
    let n: u64 = digits.parse().ok()?;
    let secs = match unit.trim() {
        "d" => n.checked_mul(24 * 3600)?,
        "h" => n.checked_mul(3600)?,
        "m" => n.checked_mul(60)?,
        "s" => n,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Builds a [`DataArtsController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one `Config` error naming the setting at fault. Give exactly one
/// credential: a token, an AK/SK pair, or an IAM user (username, password,
/// domain; the IAM URL defaults to `https://iam.{region}.myhuaweicloud.com`).
#[derive(Clone, Default)]
pub struct DataArtsBuilder {
    base_url: Option<String>,
    region: Option<String>,
    project_id: Option<String>,
    workspace: Option<String>,
    token: Option<SecretString>,
    access_key: Option<String>,
    secret_key: Option<SecretString>,
    iam_url: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    domain: Option<String>,
    config: ClientConfig,
    insecure: InsecureHttp,
    lookback: Option<Duration>,
    lookback_text: Option<String>,
}

impl fmt::Debug for DataArtsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataArtsBuilder")
            .field("base_url", &self.base_url)
            .field("region", &self.region)
            .field("project_id", &self.project_id)
            .field("workspace", &self.workspace)
            .field("token", &self.token)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("iam_url", &self.iam_url)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("domain", &self.domain)
            .field("instance_lookback", &self.lookback)
            .field("instance_lookback_text", &self.lookback_text)
            .finish()
    }
}

impl DataArtsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        DataArtsBuilder::default()
    }

    /// A builder from the process environment:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `JOBSTOP_DATAARTS_BASE_URL` | [`with_base_url`](Self::with_base_url) |
    /// | `JOBSTOP_DATAARTS_REGION` | [`with_region`](Self::with_region) (when no base URL) |
    /// | `JOBSTOP_DATAARTS_PROJECT_ID` | [`with_project_id`](Self::with_project_id) (required) |
    /// | `JOBSTOP_DATAARTS_WORKSPACE` | [`with_workspace`](Self::with_workspace) |
    /// | `JOBSTOP_DATAARTS_TOKEN` | [`with_token`](Self::with_token) |
    /// | `JOBSTOP_DATAARTS_AK`, `JOBSTOP_DATAARTS_SK` | [`with_access_key`](Self::with_access_key) |
    /// | `JOBSTOP_DATAARTS_IAM_URL`, `JOBSTOP_DATAARTS_USERNAME`, `JOBSTOP_DATAARTS_PASSWORD`, `JOBSTOP_DATAARTS_DOMAIN` | [`with_iam_user`](Self::with_iam_user), [`with_iam_url`](Self::with_iam_url) |
    /// | `JOBSTOP_DATAARTS_INSECURE_HTTP` | `true` or `1`: [`with_insecure_http`](Self::with_insecure_http) |
    /// | `JOBSTOP_DATAARTS_INSTANCE_LOOKBACK` | [`with_instance_lookback`](Self::with_instance_lookback): `14d`, `36h`, `90m`, `3600s`, or a bare number of days |
    ///
    /// Unset and empty variables are ignored.
    pub fn from_env() -> Self {
        DataArtsBuilder::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let insecure = get("JOBSTOP_DATAARTS_INSECURE_HTTP").is_some_and(|v| {
            matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
        });
        DataArtsBuilder {
            base_url: get("JOBSTOP_DATAARTS_BASE_URL"),
            region: get("JOBSTOP_DATAARTS_REGION"),
            project_id: get("JOBSTOP_DATAARTS_PROJECT_ID"),
            workspace: get("JOBSTOP_DATAARTS_WORKSPACE"),
            token: get("JOBSTOP_DATAARTS_TOKEN").map(SecretString::new),
            access_key: get("JOBSTOP_DATAARTS_AK"),
            secret_key: get("JOBSTOP_DATAARTS_SK").map(SecretString::new),
            iam_url: get("JOBSTOP_DATAARTS_IAM_URL"),
            username: get("JOBSTOP_DATAARTS_USERNAME"),
            password: get("JOBSTOP_DATAARTS_PASSWORD").map(SecretString::new),
            domain: get("JOBSTOP_DATAARTS_DOMAIN"),
            lookback_text: get("JOBSTOP_DATAARTS_INSTANCE_LOOKBACK"),
            insecure: if insecure {
                InsecureHttp::Allow
            } else {
                InsecureHttp::LoopbackOnly
            },
            ..DataArtsBuilder::default()
        }
    }

    /// The DataArts Factory endpoint, e.g. `https://dayu-dlf.cn-north-4.myhuaweicloud.com`.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The region; the base URL becomes `https://dayu-dlf.{region}.myhuaweicloud.com`
    /// unless given, and the IAM URL `https://iam.{region}.myhuaweicloud.com`.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The project id (`/v1/{project_id}/…`).
    pub fn with_project_id(mut self, id: impl Into<String>) -> Self {
        self.project_id = Some(id.into());
        self
    }

    /// The DataArts Studio workspace id, sent as the `workspace` header on
    /// every request (absent: the `default` workspace).
    pub fn with_workspace(mut self, id: impl Into<String>) -> Self {
        self.workspace = Some(id.into());
        self
    }

    /// An IAM token, sent as `X-Auth-Token`.
    pub fn with_token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// An access key and secret key; every request is signed (`SDK-HMAC-SHA256`).
    pub fn with_access_key(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<SecretString>,
    ) -> Self {
        self.access_key = Some(access_key.into());
        self.secret_key = Some(secret_key.into());
        self
    }

    /// An IAM user; tokens are fetched, cached and refreshed before they expire.
    pub fn with_iam_user(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
        domain: impl Into<String>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self.domain = Some(domain.into());
        self
    }

    /// The IAM endpoint for [`with_iam_user`](Self::with_iam_user).
    pub fn with_iam_url(mut self, url: impl Into<String>) -> Self {
        self.iam_url = Some(url.into());
        self
    }

    /// How far back an instance listing looks when the query names no
    /// `created_from` (default [`DEFAULT_INSTANCE_LOOKBACK`], 28 days; at most
    /// [`MAX_INSTANCE_LOOKBACK`]). DataArts lists only instances planned
    /// inside a window of at most 7 days (today's by default), so jobstop
    /// walks windows of 7 days back from the server's "now" over this span:
    /// one listing request more per 7 days. An instance planned before it
    /// (one that started earlier and still runs) is not listed; `status` and
    /// `stop` by id still reach it.
    pub fn with_instance_lookback(mut self, lookback: Duration) -> Self {
        self.lookback = Some(lookback);
        self.lookback_text = None;
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
    pub fn build(self) -> Result<DataArtsController> {
        let cfg = |setting: &str, msg: &str| Error::config(format!("dataarts {setting}: {msg}"));
        let region = match self.region.map(|r| r.trim().to_owned()) {
            Some(r)
                if r.is_empty()
                    || !r
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
            {
                return Err(cfg("region", "must look like cn-north-4"));
            }
            other => other,
        };
        let raw_base = match (self.base_url, &region) {
            (Some(u), _) => u,
            (None, Some(r)) => format!("https://dayu-dlf.{r}.myhuaweicloud.com"),
            (None, None) => {
                return Err(cfg(
                    "base_url",
                    "is required (JOBSTOP_DATAARTS_BASE_URL, or JOBSTOP_DATAARTS_REGION)",
                ));
            }
        };
        let base = BaseUrl::parse_with(&raw_base, self.insecure)
            .map_err(|e| cfg("base_url", e.message()))?;
        let project_id = self
            .project_id
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| cfg("project_id", "is required (JOBSTOP_DATAARTS_PROJECT_ID)"))?;
        if project_id.len() > 64
            || !project_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(cfg("project_id", "must be letters, digits, - and _"));
        }
        let workspace = match self.workspace.map(|w| w.trim().to_owned()) {
            Some(w) if w.is_empty() || !w.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(cfg("workspace", "must be printable ASCII without spaces"));
            }
            other => other,
        };
        let lookback = match (self.lookback, &self.lookback_text) {
            (Some(d), _) => d,
            (None, Some(t)) => parse_lookback(t).ok_or_else(|| {
                cfg(
                    "instance_lookback",
                    "must be a whole number with a unit (14d, 36h, 90m, 3600s) or a number of days",
                )
            })?,
            (None, None) => DEFAULT_INSTANCE_LOOKBACK,
        };
        if lookback.is_zero() || lookback > MAX_INSTANCE_LOOKBACK {
            return Err(cfg(
                "instance_lookback",
                "must be more than 0 and at most 366 days",
            ));
        }
        let http =
            HttpClient::with_config(Vendor::DATAARTS, self.config, Arc::new(DataArtsErrorParser))?;
        let x_auth_token = "x-auth-token";
        let iam_given = self.username.is_some() || self.password.is_some() || self.domain.is_some();
        let given = [
            self.token.is_some(),
            self.access_key.is_some() || self.secret_key.is_some(),
            iam_given,
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given == 0 {
            return Err(cfg(
                "credentials",
                "give a token (JOBSTOP_DATAARTS_TOKEN), an AK/SK pair (JOBSTOP_DATAARTS_AK, \
                 JOBSTOP_DATAARTS_SK), or an IAM user (JOBSTOP_DATAARTS_USERNAME, \
                 JOBSTOP_DATAARTS_PASSWORD, JOBSTOP_DATAARTS_DOMAIN)",
            ));
        }
        if given > 1 {
            return Err(cfg(
                "credentials",
                "give only one of a token, an AK/SK pair, or an IAM user",
            ));
        }
        let http = if let Some(token) = self.token {
            if token.is_empty() {
                return Err(cfg("token", "is empty"));
            }
            http.with_authenticator(Arc::new(TokenAuth::header(
                x_auth_token,
                StaticToken::new(token),
            )?))
        } else if self.access_key.is_some() || self.secret_key.is_some() {
            let (Some(ak), Some(sk)) = (self.access_key, self.secret_key) else {
                return Err(cfg("ak/sk", "give both the access key and the secret key"));
            };
            if ak.trim().is_empty() || sk.is_empty() || !ak.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(cfg(
                    "ak/sk",
                    "must be non-empty, the access key printable ASCII",
                ));
            }
            http.with_authenticator(Arc::new(AkSkAuth::new(ak, sk)))
        } else {
            let (Some(username), Some(password), Some(domain)) =
                (self.username, self.password, self.domain)
            else {
                return Err(cfg(
                    "iam user",
                    "give the username, the password and the domain",
                ));
            };
            let raw_iam = match (self.iam_url, &region) {
                (Some(u), _) => u,
                (None, Some(r)) => format!("https://iam.{r}.myhuaweicloud.com"),
                (None, None) => {
                    return Err(cfg(
                        "iam_url",
                        "is required with an IAM user (or set the region)",
                    ));
                }
            };
            let iam = BaseUrl::parse_with(&raw_iam, self.insecure)
                .map_err(|e| cfg("iam_url", e.message()))?;
            let source = IamPassword {
                url: iam.path().lit("v3/auth/tokens").build(),
                username,
                password,
                domain,
                project_id: project_id.clone(),
            };
            http.with_authenticator(Arc::new(TokenAuth::header(x_auth_token, source)?))
        };
        Ok(DataArtsController::new(DataArtsProtocol::new(
            base, project_id, workspace, lookback, http,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::ErrorKind;

    #[test]
    fn config_errors_name_the_setting() {
        let ok = || {
            DataArtsBuilder::new()
                .with_base_url("http://127.0.0.1:1")
                .with_project_id("p1")
        };
        let cases: Vec<(DataArtsBuilder, &str)> = vec![
            (
                DataArtsBuilder::new().with_project_id("p").with_token("t"),
                "base_url",
            ),
            (
                DataArtsBuilder::new()
                    .with_base_url("http://127.0.0.1:1")
                    .with_token("t"),
                "project_id",
            ),
            (ok(), "credentials"),
            (ok().with_token("t").with_access_key("a", "s"), "only one"),
            (ok().with_region("Bad Region").with_token("t"), "region"),
            (ok().with_workspace("w s").with_token("t"), "workspace"),
            (ok().with_iam_user("u", "p", "d"), "iam_url"),
            (ok().with_project_id("a/b").with_token("t"), "project_id"),
            (
                ok().with_token("t")
                    .with_instance_lookback(Duration::from_secs(400 * 24 * 3600)),
                "instance_lookback",
            ),
            (
                ok().with_token("t").with_instance_lookback(Duration::ZERO),
                "instance_lookback",
            ),
            (
                DataArtsBuilder::from_lookup(|k| match k {
                    "JOBSTOP_DATAARTS_BASE_URL" => Some("http://127.0.0.1:1".into()),
                    "JOBSTOP_DATAARTS_PROJECT_ID" => Some("p".into()),
                    "JOBSTOP_DATAARTS_TOKEN" => Some("t".into()),
                    "JOBSTOP_DATAARTS_INSTANCE_LOOKBACK" => Some("a week".into()),
                    _ => None,
                }),
                "instance_lookback",
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
    fn lookback_from_env_and_builder() {
        assert_eq!(parse_lookback("14d"), Some(Duration::from_secs(14 * 86400)));
        assert_eq!(parse_lookback("36h"), Some(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_lookback("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_lookback("3600s"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_lookback(" 3 "), Some(Duration::from_secs(3 * 86400)));
        for bad in ["", "d", "1w", "-1d", "1.5d", "99999999999999999999d"] {
            assert_eq!(parse_lookback(bad), None, "{bad:?}");
        }
        let base = |extra: Option<&'static str>| {
            DataArtsBuilder::from_lookup(move |k| match k {
                "JOBSTOP_DATAARTS_BASE_URL" => Some("http://127.0.0.1:1".into()),
                "JOBSTOP_DATAARTS_PROJECT_ID" => Some("p".into()),
                "JOBSTOP_DATAARTS_TOKEN" => Some("t".into()),
                "JOBSTOP_DATAARTS_INSTANCE_LOOKBACK" => extra.map(str::to_owned),
                _ => None,
            })
        };
        assert_eq!(
            base(None).build().unwrap().instance_lookback(),
            DEFAULT_INSTANCE_LOOKBACK
        );
        assert_eq!(
            base(Some("30d")).build().unwrap().instance_lookback(),
            Duration::from_secs(30 * 86400)
        );
        assert_eq!(
            base(Some("30d"))
                .with_instance_lookback(Duration::from_secs(3600))
                .build()
                .unwrap()
                .instance_lookback(),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn region_gives_the_endpoints() {
        let c = DataArtsBuilder::new()
            .with_region("cn-north-4")
            .with_project_id("p")
            .with_iam_user("u", "pw-secret-1", "d")
            .build()
            .unwrap();
        assert_eq!(
            c.base_url().as_str(),
            "https://dayu-dlf.cn-north-4.myhuaweicloud.com"
        );
        let d = format!("{c:?}");
        assert!(
            d.contains("https://iam.cn-north-4.myhuaweicloud.com/v3/auth/tokens"),
            "{d}"
        );
        assert!(!d.contains("pw-secret-1"));
        let b = DataArtsBuilder::new().with_access_key("AK1", "sk-very-secret");
        assert!(!format!("{b:?}").contains("sk-very-secret"));
    }
}
