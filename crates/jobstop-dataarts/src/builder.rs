//! Configuration of [`DataArtsController`].

use std::sync::Arc;
use std::time::Duration;

use jobstop_core::{Result, Vendor};
use jobstop_http::{
    BuilderState, Credential, HttpClient, SecretString, StaticToken, TokenAuth, VendorConfig,
};

use crate::auth::{AkSkAuth, IamPassword};
use crate::client::{DataArtsController, DataArtsProtocol};
use crate::error::DataArtsErrorParser;

/// How far back an instance listing looks when the query names no
/// `created_after`: 28 days, four windows of 7 days (the widest DataArts
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

jobstop_http::vendor_config! {
    /// The settings of a DataArts account: what [`DataArtsBuilder`] holds,
    /// read from `JOBSTOP_DATAARTS_<KEY>` variables and from `[accounts.NAME]`
    /// tables with `vendor = "dataarts"`.
    ///
    /// | key | variable | setting |
    /// |---|---|---|
    /// | `base_url` | `JOBSTOP_DATAARTS_BASE_URL` | [`with_base_url`](DataArtsBuilder::with_base_url) |
    /// | `region` | `JOBSTOP_DATAARTS_REGION` | [`with_region`](DataArtsBuilder::with_region) (when no base URL) |
    /// | `project_id` | `JOBSTOP_DATAARTS_PROJECT_ID` | [`with_project_id`](DataArtsBuilder::with_project_id) (required) |
    /// | `workspace` | `JOBSTOP_DATAARTS_WORKSPACE` | [`with_workspace`](DataArtsBuilder::with_workspace) |
    /// | `token` | `JOBSTOP_DATAARTS_TOKEN` | [`with_token`](DataArtsBuilder::with_token) |
    /// | `ak`, `sk` | `JOBSTOP_DATAARTS_AK`, `JOBSTOP_DATAARTS_SK` | [`with_access_key`](DataArtsBuilder::with_access_key) |
    /// | `iam_url`, `username`, `password`, `domain` | `JOBSTOP_DATAARTS_IAM_URL`, `JOBSTOP_DATAARTS_USERNAME`, `JOBSTOP_DATAARTS_PASSWORD`, `JOBSTOP_DATAARTS_DOMAIN` | [`with_iam_user`](DataArtsBuilder::with_iam_user), [`with_iam_url`](DataArtsBuilder::with_iam_url) |
    /// | `insecure_http` | `JOBSTOP_DATAARTS_INSECURE_HTTP` | `true`, `1` or `yes`: [`with_insecure_http`](DataArtsBuilder::with_insecure_http) |
    /// | `instance_lookback` | `JOBSTOP_DATAARTS_INSTANCE_LOOKBACK` | [`with_instance_lookback`](DataArtsBuilder::with_instance_lookback): `14d`, `36h`, `90m`, `3600s`, or a bare number of days |
    /// | `client.*` | `JOBSTOP_DATAARTS_CLIENT_*` | timeouts, retries, pacing: [`ClientSettings`](jobstop_http::ClientSettings) |
    pub struct DataArtsConfig for "dataarts" {
        /// The DataArts Factory endpoint.
        base_url: Option<String>,
        /// The region.
        region: Option<String>,
        /// The project id.
        project_id: Option<String>,
        /// The DataArts Studio workspace id.
        workspace: Option<String>,
        /// An IAM token.
        token: Option<SecretString>,
        /// The access key.
        ak: Option<String>,
        /// The secret key.
        sk: Option<SecretString>,
        /// The IAM endpoint.
        iam_url: Option<String>,
        /// The IAM user name.
        username: Option<String>,
        /// The IAM user's password.
        password: Option<SecretString>,
        /// The IAM user's domain.
        domain: Option<String>,
        /// Whether plain `http://` may leave loopback (`true`, `1`, `yes`).
        insecure_http: Option<String>,
        /// How far back an instance listing looks.
        instance_lookback: Option<String>,
    }
}

/// The three ways to authenticate.
const CREDENTIALS: &[Credential] = &[
    Credential::new("a token", &["token"]),
    Credential::new("an AK/SK pair", &["ak", "sk"]),
    Credential::new("an IAM user", &["username", "password", "domain"]),
];

/// Builds a [`DataArtsController`].
///
/// Setters never fail; [`build`](Self::build) validates everything and
/// returns one `Config` error naming the setting at fault. Give exactly one
/// credential: a token, an AK/SK pair, or an IAM user (username, password,
/// domain; the IAM URL defaults to `https://iam.{region}.myhuaweicloud.com`).
#[derive(Clone, Default, Debug)]
pub struct DataArtsBuilder(BuilderState<DataArtsConfig>);

jobstop_http::config_builder!(
    DataArtsBuilder, DataArtsConfig {
        /// The DataArts Factory endpoint, e.g. `https://dayu-dlf.cn-north-4.myhuaweicloud.com`.
        with_base_url(base_url: String),
        /// The region; the base URL becomes `https://dayu-dlf.{region}.myhuaweicloud.com`
        /// unless given, and the IAM URL `https://iam.{region}.myhuaweicloud.com`.
        with_region(region: String),
        /// The project id (`/v1/{project_id}/…`).
        with_project_id(project_id: String),
        /// The DataArts Studio workspace id, sent as the `workspace` header on
        /// every request (absent: the `default` workspace).
        with_workspace(workspace: String),
        /// An IAM token, sent as `X-Auth-Token`.
        with_token(token: SecretString),
        /// The IAM endpoint for [`with_iam_user`](Self::with_iam_user).
        with_iam_url(iam_url: String),
        /// An access key and secret key; every request is signed (`SDK-HMAC-SHA256`).
        with_access_key(ak: String, sk: SecretString),
        /// An IAM user; tokens are fetched, cached and refreshed before they expire.
        with_iam_user(username: String, password: SecretString, domain: String),
    }
);

impl DataArtsBuilder {
    /// How far back an instance listing looks when the query names no
    /// `created_after` (default [`DEFAULT_INSTANCE_LOOKBACK`], 28 days; at most
    /// [`MAX_INSTANCE_LOOKBACK`]). DataArts lists only instances planned
    /// inside a window of at most 7 days (today's by default), so jobstop
    /// walks windows of 7 days back from the server's "now" over this span:
    /// one listing request more per 7 days. An instance planned before it
    /// (one that started earlier and still runs) is not listed; `status` and
    /// `stop` by id still reach it.
    pub fn with_instance_lookback(self, lookback: Duration) -> Self {
        // Held as text, like the variable: whole seconds.
        self.set(|s| s.instance_lookback = Some(format!("{}s", lookback.as_secs())))
    }

    /// Validates the settings and builds the controller. No request is sent.
    pub fn build(self) -> Result<DataArtsController> {
        let state = &self.0;
        let cfg = |setting: &str, msg: &str| state.error(setting, msg);
        let (s, config) = state.parts()?;
        let insecure = state.insecure(s.insecure_http.as_deref());
        let region = match s.region.map(|r| r.trim().to_owned()) {
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
        let raw_base = match (s.base_url, &region) {
            (Some(u), _) => u,
            (None, Some(r)) => format!("https://dayu-dlf.{r}.myhuaweicloud.com"),
            (None, None) => {
                let vars = DataArtsConfig::schema();
                return Err(cfg(
                    "base_url",
                    &format!(
                        "is required ({}, or {})",
                        vars.env_var("base_url"),
                        vars.env_var("region")
                    ),
                ));
            }
        };
        let base = state.url("base_url", Some(&raw_base), None, insecure)?;
        let project_id = s
            .project_id
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| state.required("project_id"))?;
        if project_id.len() > 64
            || !project_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(cfg("project_id", "must be letters, digits, - and _"));
        }
        let workspace = match s.workspace.map(|w| w.trim().to_owned()) {
            Some(w) if w.is_empty() || !w.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(cfg("workspace", "must be printable ASCII without spaces"));
            }
            other => other,
        };
        let lookback = match &s.instance_lookback {
            Some(t) => parse_lookback(t).ok_or_else(|| {
                cfg(
                    "instance_lookback",
                    "must be a whole number with a unit (14d, 36h, 90m, 3600s) or a number of days",
                )
            })?,
            None => DEFAULT_INSTANCE_LOOKBACK,
        };
        if lookback.is_zero() || lookback > MAX_INSTANCE_LOOKBACK {
            return Err(cfg(
                "instance_lookback",
                "must be more than 0 and at most 366 days",
            ));
        }
        let http =
            HttpClient::from_config(Vendor::DATAARTS, config, Arc::new(DataArtsErrorParser))?;
        let chosen = state.credential(CREDENTIALS)?;
        let x_auth_token = "x-auth-token";
        let http = match (chosen, s.token, s.ak, s.sk) {
            (0, Some(token), _, _) => {
                if token.is_empty() {
                    return Err(cfg("token", "is empty"));
                }
                http.with_authenticator(Arc::new(TokenAuth::header(
                    x_auth_token,
                    StaticToken::new(token),
                )?))
            }
            (1, _, Some(ak), Some(sk)) => {
                if ak.trim().is_empty()
                    || sk.is_empty()
                    || !ak.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(cfg(
                        "ak/sk",
                        "must be non-empty, the access key printable ASCII",
                    ));
                }
                http.with_authenticator(Arc::new(AkSkAuth::new(ak, sk)))
            }
            _ => {
                let (Some(username), Some(password), Some(domain)) =
                    (s.username, s.password, s.domain)
                else {
                    return Err(cfg(
                        "iam user",
                        "give the username, the password and the domain",
                    ));
                };
                let raw_iam = match (s.iam_url, &region) {
                    (Some(u), _) => u,
                    (None, Some(r)) => format!("https://iam.{r}.myhuaweicloud.com"),
                    (None, None) => {
                        return Err(cfg(
                            "iam_url",
                            "is required with an IAM user (or set the region)",
                        ));
                    }
                };
                let iam = state.url("iam_url", Some(&raw_iam), None, insecure)?;
                let source = IamPassword {
                    url: iam.path().lit("v3/auth/tokens").build(),
                    username,
                    password,
                    domain,
                    project_id: project_id.clone(),
                };
                http.with_authenticator(Arc::new(TokenAuth::header(x_auth_token, source)?))
            }
        };
        Ok(DataArtsController::new(DataArtsProtocol::new(
            base, project_id, workspace, lookback, http,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            b.assert_config_error(needle);
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
