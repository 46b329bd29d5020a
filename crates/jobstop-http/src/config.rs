//! Configuration from one schema: each vendor's settings are one serde type,
//! declared once with [`vendor_config!`](crate::vendor_config), from which
//! the builder, the environment variable names, the config-file keys and
//! what `jobstop accounts` shows all derive.
//!
//! A vendor's setting `key` is read from the environment variable
//! `JOBSTOP_<VENDOR>_<KEY>` and from the config-file key `key`; a client
//! setting ([`ClientSettings`]) `key` from `JOBSTOP_<VENDOR>_CLIENT_<KEY>`
//! and from `key` in the account's `client` table. Environment and file go
//! through the same serde code: both become a map of strings that
//! deserializes into the vendor's config type.

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use jobstop_core::{Error, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::base_url::{BaseUrl, InsecureHttp};
use crate::client::ClientConfig;
use crate::duration::{format_duration, parse_duration};
use crate::secret::SecretString;

/// One setting of a vendor's config: its key and whether it is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The key: the config-file key, and in upper case the suffix of the
    /// environment variable (`tenant`: `JOBSTOP_AMPERITY_TENANT`).
    pub key: &'static str,
    /// Whether the value is a credential: held as a [`SecretString`], never
    /// printed, shown only as set or unset.
    pub secret: bool,
}

/// How a setting is shown (`jobstop accounts`): a secret only as set or
/// unset, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// Not set.
    Unset,
    /// A plain value.
    Value(String),
    /// A secret that is set (its value is never shown).
    SecretSet,
}

impl Shown {
    /// Whether the setting is set.
    pub fn is_set(&self) -> bool {
        !matches!(self, Shown::Unset)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Unset => f.write_str("unset"),
            Shown::Value(v) => f.write_str(v),
            Shown::SecretSet => f.write_str("set"),
        }
    }
}

/// A type a setting can have in a [`vendor_config!`](crate::vendor_config)
/// struct: `Option<String>` (a plain value) or `Option<SecretString>` (a
/// secret).
pub trait SettingValue {
    /// Whether values of this type are secrets.
    const SECRET: bool;
    /// The value as `jobstop accounts` shows it.
    fn shown(&self) -> Shown;
}

impl SettingValue for Option<String> {
    const SECRET: bool = false;
    fn shown(&self) -> Shown {
        match self {
            Some(v) => Shown::Value(v.clone()),
            None => Shown::Unset,
        }
    }
}

impl SettingValue for Option<SecretString> {
    const SECRET: bool = true;
    fn shown(&self) -> Shown {
        match self {
            Some(_) => Shown::SecretSet,
            None => Shown::Unset,
        }
    }
}

/// The keys of the `client` table ([`ClientSettings`]), as in the config
/// file; the environment variable of `budget` is `JOBSTOP_<VENDOR>_CLIENT_BUDGET`.
pub const CLIENT_KEYS: &[&str] = &[
    "connect_timeout",
    "attempt_timeout",
    "budget",
    "retries",
    "pace",
    "max_connections",
];

/// The most `retries` accepted.
pub const MAX_RETRIES: u32 = 100;
/// The most `pace` (requests per second) accepted.
pub const MAX_PACE: u32 = 100_000;
/// The most `max_connections` accepted.
pub const MAX_CONNECTIONS: usize = 10_000;
/// The longest timeout or budget accepted (one day).
pub const MAX_CLIENT_DURATION: Duration = Duration::from_secs(24 * 3600);

/// An account's HTTP settings: the `client` table of a config file
/// (`[accounts.NAME.client]`) or the `JOBSTOP_<VENDOR>_CLIENT_*` variables.
///
/// | key | meaning | maps onto |
/// |---|---|---|
/// | `connect_timeout` | time to connect, e.g. `"5s"` | [`ClientConfig::connect_timeout`] |
/// | `attempt_timeout` | time for one attempt, e.g. `"500ms"` | [`ClientConfig::attempt_timeout`] |
/// | `budget` | time for one call, all attempts and waits, e.g. `"2m"` | [`RetryPolicy::budget`](crate::RetryPolicy::budget) |
/// | `retries` | retries after the first attempt (0: one attempt), at most [`MAX_RETRIES`] | [`RetryPolicy::max_attempts`](crate::RetryPolicy::max_attempts) `= retries + 1` |
/// | `pace` | requests per second to this account, 1 to [`MAX_PACE`] | [`ClientConfig::pace`]: every request waits for its turn (list pages, stops, read-backs, retries, logins) |
/// | `max_connections` | connections per host, 1 to [`MAX_CONNECTIONS`] | the client's connection pool |
///
/// Durations are strings with units `ms`, `s`, `m`, `h`, `d` (`"1m30s"`),
/// more than zero and at most a day; numbers are integers or strings of
/// digits. A bad value is an error naming the key
/// (`key client.attempt_timeout: …`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawClientSettings")]
#[non_exhaustive]
pub struct ClientSettings {
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// `attempt_timeout`.
    pub attempt_timeout: Option<Duration>,
    /// `budget`.
    pub budget: Option<Duration>,
    /// `retries`.
    pub retries: Option<u32>,
    /// `pace`.
    pub pace: Option<NonZeroU32>,
    /// `max_connections`.
    pub max_connections: Option<NonZeroUsize>,
}

/// A string, or a number written without quotes (TOML integers).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(u64),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.trim().to_owned(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientSettings {
    connect_timeout: Option<Scalar>,
    attempt_timeout: Option<Scalar>,
    budget: Option<Scalar>,
    retries: Option<Scalar>,
    pace: Option<Scalar>,
    max_connections: Option<Scalar>,
}

/// The error of one client setting, naming it.
fn bad(key: &str, msg: impl fmt::Display) -> String {
    format!("key client.{key}: {msg}")
}

fn duration(key: &str, v: Option<Scalar>) -> std::result::Result<Option<Duration>, String> {
    let Some(v) = v else { return Ok(None) };
    let d = parse_duration(&v.text()).map_err(|e| bad(key, e))?;
    if d.is_zero() || d > MAX_CLIENT_DURATION {
        return Err(bad(key, "must be more than 0 and at most 1d"));
    }
    Ok(Some(d))
}

fn number(
    key: &str,
    v: Option<Scalar>,
    min: u64,
    max: u64,
) -> std::result::Result<Option<u64>, String> {
    let Some(v) = v else { return Ok(None) };
    let text = v.text();
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(bad(
            key,
            format!(
                "must be a whole number from {min} to {max}, not {:?}",
                text.chars().take(40).collect::<String>()
            ),
        )),
    }
}

impl TryFrom<RawClientSettings> for ClientSettings {
    type Error = String;

    fn try_from(raw: RawClientSettings) -> std::result::Result<Self, String> {
        Ok(ClientSettings {
            connect_timeout: duration("connect_timeout", raw.connect_timeout)?,
            attempt_timeout: duration("attempt_timeout", raw.attempt_timeout)?,
            budget: duration("budget", raw.budget)?,
            retries: number("retries", raw.retries, 0, u64::from(MAX_RETRIES))?
                .and_then(|n| u32::try_from(n).ok()),
            pace: number("pace", raw.pace, 1, u64::from(MAX_PACE))?
                .and_then(|n| u32::try_from(n).ok())
                .and_then(NonZeroU32::new),
            max_connections: number(
                "max_connections",
                raw.max_connections,
                1,
                MAX_CONNECTIONS as u64,
            )?
            .and_then(|n| usize::try_from(n).ok())
            .and_then(NonZeroUsize::new),
        })
    }
}

impl ClientSettings {
    /// `base` with these settings applied over it (unset ones keep `base`'s).
    pub fn apply(&self, base: ClientConfig) -> ClientConfig {
        let mut config = base;
        if let Some(t) = self.connect_timeout {
            config.connect_timeout = t;
        }
        if let Some(t) = self.attempt_timeout {
            config.attempt_timeout = t;
        }
        if let Some(b) = self.budget {
            config.retry.budget = b;
        }
        if let Some(r) = self.retries {
            config.retry = config.retry.with_max_attempts(r.saturating_add(1));
        }
        if let Some(n) = self.max_connections {
            config.max_connections_per_host = n.get();
        }
        if let Some(p) = self.pace {
            config.pace = Some(p);
        }
        config
    }

    /// Every key with its value as shown (`client.pace`, `10`).
    pub fn shown(&self) -> Vec<(String, Shown)> {
        let d = |v: Option<Duration>| v.map(format_duration);
        let values = [
            d(self.connect_timeout),
            d(self.attempt_timeout),
            d(self.budget),
            self.retries.map(|n| n.to_string()),
            self.pace.map(|n| n.to_string()),
            self.max_connections.map(|n| n.to_string()),
        ];
        CLIENT_KEYS
            .iter()
            .zip(values)
            .map(|(k, v)| (format!("client.{k}"), v.map_or(Shown::Unset, Shown::Value)))
            .collect()
    }
}

/// The schema of one vendor's config: its name and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The vendor, in lower case (`amperity`): the `vendor` of a config-file
    /// account, and in upper case part of the variable names.
    pub vendor: &'static str,
    /// The vendor's own settings (the `client` table comes on top).
    pub settings: &'static [Setting],
}

impl Schema {
    /// `JOBSTOP_<VENDOR>_`.
    pub fn env_prefix(&self) -> String {
        format!("JOBSTOP_{}_", self.vendor.to_ascii_uppercase())
    }

    /// The environment variable of `key` (`token`, or `client.pace` for a
    /// client setting): `JOBSTOP_<VENDOR>_TOKEN`, `JOBSTOP_<VENDOR>_CLIENT_PACE`.
    pub fn env_var(&self, key: &str) -> String {
        format!(
            "{}{}",
            self.env_prefix(),
            key.replace('.', "_").to_ascii_uppercase()
        )
    }

    /// Whether `key` is one of the vendor's own settings.
    pub fn has(&self, key: &str) -> bool {
        self.settings.iter().any(|s| s.key == key)
    }

    /// Whether `key` is a secret setting.
    pub fn is_secret(&self, key: &str) -> bool {
        self.settings.iter().any(|s| s.key == key && s.secret)
    }

    /// Every key, the vendor's first, then the client settings as `client.KEY`.
    pub fn keys(&self) -> Vec<String> {
        self.settings
            .iter()
            .map(|s| s.key.to_owned())
            .chain(CLIENT_KEYS.iter().map(|k| format!("client.{k}")))
            .collect()
    }

    /// Every environment variable the vendor's config reads.
    pub fn env_vars(&self) -> Vec<String> {
        self.keys().iter().map(|k| self.env_var(k)).collect()
    }

    /// The settings whose variables `lookup` gives (unset and blank ones
    /// skipped) as a map ready to deserialize: the vendor's keys at the top,
    /// client keys in a `client` map. `None` when no variable is set.
    pub fn read_env(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Map<String, Value>> {
        let get = |key: &str| lookup(&self.env_var(key)).filter(|v| !v.trim().is_empty());
        let mut map = Map::new();
        for s in self.settings {
            if let Some(v) = get(s.key) {
                map.insert(s.key.to_owned(), Value::String(v));
            }
        }
        let mut client = Map::new();
        for k in CLIENT_KEYS {
            if let Some(v) = get(&format!("client.{k}")) {
                client.insert((*k).to_owned(), Value::String(v));
            }
        }
        if !client.is_empty() {
            map.insert("client".to_owned(), Value::Object(client));
        }
        (!map.is_empty()).then_some(map)
    }

    /// `export` lines for `values` (`(key, value)` pairs, keys of this
    /// schema), as `(variable, value)`. A key the schema does not have is a
    /// `Config` error naming it.
    pub fn env_lines(&self, values: &[(&str, String)]) -> Result<Vec<(String, String)>> {
        values
            .iter()
            .map(|(k, v)| {
                if self.has(k)
                    || k.strip_prefix("client.")
                        .is_some_and(|c| CLIENT_KEYS.contains(&c))
                {
                    Ok((self.env_var(k), v.clone()))
                } else {
                    Err(Error::config(format!(
                        "{}: no setting {k:?} (expected one of: {})",
                        self.vendor,
                        self.keys().join(", ")
                    )))
                }
            })
            .collect()
    }
}

/// A vendor's config type, declared with
/// [`vendor_config!`](crate::vendor_config): serde-deserializable, with its
/// table of settings.
///
/// ```
/// use jobstop_http::{SecretString, VendorConfig};
///
/// jobstop_http::vendor_config! {
///     /// Settings of an example vendor.
///     pub struct ExampleConfig for "example" {
///         /// The tenant.
///         tenant: Option<String>,
///         /// The token.
///         token: Option<SecretString>,
///     }
/// }
///
/// let vars = [("JOBSTOP_EXAMPLE_TENANT", "acme"), ("JOBSTOP_EXAMPLE_CLIENT_PACE", "5")];
/// let cfg = ExampleConfig::from_lookup(|k| {
///     vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
/// })
/// .unwrap();
/// assert_eq!(cfg.tenant.as_deref(), Some("acme"));
/// assert_eq!(cfg.client.pace.map(|p| p.get()), Some(5));
/// assert_eq!(ExampleConfig::schema().env_var("token"), "JOBSTOP_EXAMPLE_TOKEN");
/// ```
pub trait VendorConfig:
    DeserializeOwned + Default + Clone + fmt::Debug + Send + Sync + 'static
{
    /// The vendor, in lower case.
    const VENDOR: &'static str;
    /// The vendor's settings, in declaration order.
    const SETTINGS: &'static [Setting];

    /// Every setting (the client ones as `client.KEY`) with its value as
    /// shown: secrets only as set or unset.
    fn shown(&self) -> Vec<(String, Shown)>;

    /// The `client` settings.
    fn client(&self) -> &ClientSettings;

    /// The schema.
    fn schema() -> Schema {
        Schema {
            vendor: Self::VENDOR,
            settings: Self::SETTINGS,
        }
    }

    /// The config from the process environment (`JOBSTOP_<VENDOR>_*`).
    fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The config from variables read through `lookup`: unset and blank
    /// variables are ignored; a bad client value is a `Config` error naming
    /// its key.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let map = Self::schema().read_env(&lookup).unwrap_or_default();
        Self::from_map(map)
    }

    /// The config from a map of settings (what a config-file table or the
    /// environment becomes).
    fn from_map(map: Map<String, Value>) -> Result<Self> {
        serde_json::from_value(Value::Object(map))
            .map_err(|e| Error::config(format!("{} {e}", Self::VENDOR)))
    }
}

/// One way to authenticate: what it is called in messages and the keys it
/// needs, all of them.
#[derive(Debug, Clone, Copy)]
pub struct Credential {
    /// How messages name it: "a token", "client credentials".
    pub what: &'static str,
    /// Its keys, all required together.
    pub keys: &'static [&'static str],
}

impl Credential {
    /// `what`, needing all of `keys`.
    pub const fn new(what: &'static str, keys: &'static [&'static str]) -> Self {
        Credential { what, keys }
    }
}

/// What every vendor builder holds: the vendor's settings, the HTTP config
/// set in code (the settings' `client` table applies over it), whether plain
/// `http://` may leave loopback, and the error of reading the environment,
/// reported by `build()`.
#[derive(Clone, Default)]
pub struct BuilderState<C> {
    /// The vendor's settings.
    pub settings: C,
    /// Timeouts, retries and the body cap set in code.
    pub http: ClientConfig,
    /// Whether plain `http://` may reach hosts other than loopback, when set
    /// in code.
    insecure: Option<InsecureHttp>,
    invalid: Option<String>,
}

impl<C: fmt::Debug> fmt::Debug for BuilderState<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The settings' own Debug masks their secrets.
        f.debug_struct("BuilderState")
            .field("settings", &self.settings)
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl<C: VendorConfig> BuilderState<C> {
    /// A state around `settings`.
    pub fn new(settings: C) -> Self {
        BuilderState {
            settings,
            http: ClientConfig::default(),
            insecure: None,
            invalid: None,
        }
    }

    /// A state from variables read through `lookup`
    /// ([`VendorConfig::from_lookup`]); a bad value is kept and reported by
    /// [`client_config`](Self::client_config), so setters never fail.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        match C::from_lookup(lookup) {
            Ok(settings) => BuilderState::new(settings),
            Err(e) => BuilderState {
                invalid: Some(e.message().to_owned()),
                ..BuilderState::new(C::default())
            },
        }
    }

    /// Allows plain `http://` beyond loopback, or not.
    pub fn set_insecure_http(&mut self, allow: bool) {
        self.insecure = Some(if allow {
            InsecureHttp::Allow
        } else {
            InsecureHttp::LoopbackOnly
        });
    }

    /// Whether plain `http://` may leave loopback: as set in code, else as
    /// `setting` says (`1`, `true` or `yes` allow it; for a vendor whose
    /// config has such a setting), else not.
    pub fn insecure(&self, setting: Option<&str>) -> InsecureHttp {
        match (
            self.insecure,
            setting.map(|v| v.trim().to_ascii_lowercase()),
        ) {
            (Some(set), _) => set,
            (None, Some(v)) if ["1", "true", "yes"].contains(&v.as_str()) => InsecureHttp::Allow,
            _ => InsecureHttp::LoopbackOnly,
        }
    }

    /// A `Config` error about `setting`: `"{vendor} {setting}: {msg}"`.
    pub fn error(&self, setting: &str, msg: &str) -> Error {
        Error::config(format!("{} {setting}: {msg}", C::VENDOR))
    }

    /// The error of a missing required setting, naming its variable.
    pub fn required(&self, setting: &str) -> Error {
        let var = C::schema().env_var(setting);
        self.error(setting, &format!("is required ({var})"))
    }

    /// The HTTP config: the one set in code with the settings' `client`
    /// table applied; or the error of reading the environment.
    pub fn client_config(&self) -> Result<ClientConfig> {
        match &self.invalid {
            Some(message) => Err(Error::config(message.clone())),
            None => Ok(self.settings.client().apply(self.http.clone())),
        }
    }

    /// The settings and the HTTP config ([`client_config`](Self::client_config)).
    pub fn parts(&self) -> Result<(C, ClientConfig)> {
        Ok((self.settings.clone(), self.client_config()?))
    }

    /// The URL of setting `key`: `value`, else `default`. A missing URL is
    /// [`required`](Self::required), a bad one an error naming `key`.
    pub fn url(
        &self,
        key: &str,
        value: Option<&str>,
        default: Option<&str>,
        insecure: InsecureHttp,
    ) -> Result<BaseUrl> {
        let raw = value.or(default).ok_or_else(|| self.required(key))?;
        BaseUrl::parse_with(raw, insecure).map_err(|e| self.error(key, e.message()))
    }

    /// Which of `options` is given: exactly one must have any key set, and
    /// then all of its keys. Errors name the credentials or the missing keys.
    pub fn credential(&self, options: &[Credential]) -> Result<usize> {
        let shown = self.settings.shown();
        let set = |key: &str| shown.iter().any(|(k, v)| k == key && v.is_set());
        let given: Vec<usize> = (0..options.len())
            .filter(|i| options[*i].keys.iter().any(|k| set(k)))
            .collect();
        let list = |with_vars: bool, last: &str| {
            let parts: Vec<String> = options
                .iter()
                .map(|o| {
                    if with_vars {
                        let vars: Vec<String> =
                            o.keys.iter().map(|k| C::schema().env_var(k)).collect();
                        format!("{} ({})", o.what, vars.join(", "))
                    } else {
                        o.what.to_owned()
                    }
                })
                .collect();
            match parts.split_last() {
                Some((tail, head)) if !head.is_empty() => {
                    let sep = if head.len() > 1 { ", " } else { " " };
                    format!("{}{sep}{last} {tail}", head.join(", "))
                }
                _ => parts.join(""),
            }
        };
        match given.as_slice() {
            [] => Err(self.error("credentials", &format!("give {}", list(true, "or")))),
            [one] => {
                let o = options[*one];
                let missing: Vec<&str> = o.keys.iter().copied().filter(|k| !set(k)).collect();
                if missing.is_empty() {
                    return Ok(*one);
                }
                let present: Vec<&str> = o.keys.iter().copied().filter(|k| set(k)).collect();
                Err(self.error(
                    &missing.join("/"),
                    &format!("is required with {}", present.join("/")),
                ))
            }
            _ if options.len() == 2 => Err(self.error(
                "credentials",
                &format!("give either {}, not both", list(false, "or")),
            )),
            _ => Err(self.error(
                "credentials",
                &format!("give only one of {}", list(false, "or")),
            )),
        }
    }
}

/// The part of a vendor builder every vendor shares, for a builder declared
/// as `pub struct XBuilder(BuilderState<XConfig>)` with `Default`: `new`,
/// `from_config`, `from_env`, `from_lookup`, `config`, `with_client_config`,
/// `with_insecure_http`, and a private `set` that setters call.
#[macro_export]
macro_rules! config_builder {
    ($builder:ident, $config:ty) => {
        $crate::config_builder!($builder, $config {});
    };
    (
        $builder:ident, $config:ty {
            $( $(#[$doc:meta])* $setter:ident($($field:ident: $ty:ty),+) ),* $(,)?
        }
    ) => {
        impl $builder {
            $(
                $(#[$doc])*
                pub fn $setter(self, $($field: impl Into<$ty>),+) -> Self {
                    self.set(|s| {
                        $( s.$field = Some($field.into()); )+
                    })
                }
            )*

            /// Asserts that building fails with a `Config` error whose text
            /// names `needle` (for the adapter's own tests).
            #[cfg(test)]
            #[track_caller]
            fn assert_config_error(self, needle: &str) {
                match self.build() {
                    Ok(built) => panic!("built {built:?}; expected an error naming {needle}"),
                    Err(err) => {
                        assert_eq!(err.kind(), ::jobstop_core::ErrorKind::Config, "{err}");
                        assert!(err.to_string().contains(needle), "{err} should mention {needle}");
                    }
                }
            }

            /// An empty builder.
            pub fn new() -> Self {
                $builder::default()
            }

            /// A builder holding `config`.
            pub fn from_config(config: $config) -> Self {
                $builder($crate::BuilderState::new(config))
            }

            /// A builder from the process environment: the variables of the
            /// vendor's config type (`JOBSTOP_<VENDOR>_<KEY>`, its table lists
            /// them). Unset and empty variables are ignored; a bad `client`
            /// value is reported by `build`.
            pub fn from_env() -> Self {
                $builder::from_lookup(|k| ::std::env::var(k).ok())
            }

            /// Like [`from_env`](Self::from_env), reading variables through
            /// `lookup` (for tests, or a config layer of your own).
            pub fn from_lookup(
                lookup: impl Fn(&str) -> ::std::option::Option<::std::string::String>,
            ) -> Self {
                $builder($crate::BuilderState::from_lookup(lookup))
            }

            /// The settings held so far.
            pub fn config(&self) -> &$config {
                &self.0.settings
            }

            /// Timeouts, retries and the body cap; the config's `client`
            /// settings apply over it.
            pub fn with_client_config(mut self, config: $crate::ClientConfig) -> Self {
                self.0.http = config;
                self
            }

            /// Allows plain `http://` to hosts other than loopback.
            /// Credentials then cross the network unencrypted.
            pub fn with_insecure_http(mut self, allow: bool) -> Self {
                self.0.set_insecure_http(allow);
                self
            }

            /// Changes the settings: what every setter does.
            fn set(mut self, change: impl FnOnce(&mut $config)) -> Self {
                change(&mut self.0.settings);
                self
            }
        }
    };
}

/// Declares a vendor's config type: a struct of `Option<String>` and
/// `Option<SecretString>` settings plus a `client` field
/// ([`ClientSettings`]), deserializable with unknown keys refused, and its
/// [`VendorConfig`] implementation whose table lists the fields in order.
/// The caller must depend on `serde` (with `derive`).
#[macro_export]
macro_rules! vendor_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident for $vendor:literal {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Timeouts, retries, pacing and connections: the account's
            /// `client` table.
            pub client: $crate::ClientSettings,
        }

        impl $crate::VendorConfig for $name {
            const VENDOR: &'static str = $vendor;
            const SETTINGS: &'static [$crate::Setting] = &[
                $(
                    $crate::Setting {
                        key: stringify!($field),
                        secret: <$ty as $crate::SettingValue>::SECRET,
                    },
                )*
            ];

            fn shown(&self) -> ::std::vec::Vec<(::std::string::String, $crate::Shown)> {
                let mut shown = ::std::vec![
                    $(
                        (
                            ::std::string::String::from(stringify!($field)),
                            $crate::SettingValue::shown(&self.$field),
                        ),
                    )*
                ];
                shown.extend(self.client.shown());
                shown
            }

            fn client(&self) -> &$crate::ClientSettings {
                &self.client
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(unreachable_pub)]

    use super::*;

    crate::vendor_config! {
        /// A test vendor.
        pub struct TestConfig for "test" {
            /// A plain setting.
            tenant: Option<String>,
            /// A secret.
            token: Option<SecretString>,
            /// Shares a prefix with the client settings' variables.
            client_id: Option<String>,
        }
    }

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_table_follows_the_struct() {
        assert_eq!(
            TestConfig::SETTINGS,
            &[
                Setting {
                    key: "tenant",
                    secret: false
                },
                Setting {
                    key: "token",
                    secret: true
                },
                Setting {
                    key: "client_id",
                    secret: false
                },
            ]
        );
        let s = TestConfig::schema();
        assert_eq!(s.env_var("client_id"), "JOBSTOP_TEST_CLIENT_ID");
        assert_eq!(s.env_var("client.pace"), "JOBSTOP_TEST_CLIENT_PACE");
        let vars = s.env_vars();
        let unique: std::collections::BTreeSet<&String> = vars.iter().collect();
        assert_eq!(unique.len(), vars.len(), "{vars:?}");
        assert_eq!(vars.len(), 3 + CLIENT_KEYS.len());
    }

    #[test]
    fn environment_reads_through_serde() {
        let c = TestConfig::from_lookup(lookup(&[
            ("JOBSTOP_TEST_TENANT", "acme"),
            ("JOBSTOP_TEST_TOKEN", "tok-secret-1"),
            ("JOBSTOP_TEST_CLIENT_ID", "id-1"),
            ("JOBSTOP_TEST_CLIENT_ATTEMPT_TIMEOUT", "500ms"),
            ("JOBSTOP_TEST_CLIENT_RETRIES", "0"),
            ("JOBSTOP_TEST_CLIENT_BUDGET", "  "),
        ]))
        .expect("valid");
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        assert_eq!(c.client_id.as_deref(), Some("id-1"));
        assert_eq!(c.client.attempt_timeout, Some(Duration::from_millis(500)));
        assert_eq!(c.client.budget, None);
        let applied = c.client.apply(ClientConfig::default());
        assert_eq!(applied.attempt_timeout, Duration::from_millis(500));
        assert_eq!(applied.retry.max_attempts, 1);
        assert!(!format!("{c:?}").contains("tok-secret-1"));
        let shown = c.shown();
        assert!(shown.contains(&("token".to_owned(), Shown::SecretSet)));
        assert!(shown.contains(&(
            "client.attempt_timeout".to_owned(),
            Shown::Value("500ms".into())
        )));
        assert!(shown.contains(&("client.pace".to_owned(), Shown::Unset)));
        assert!(TestConfig::schema().read_env(&lookup(&[])).is_none());
    }

    #[test]
    fn bad_client_values_name_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "JOBSTOP_TEST_CLIENT_ATTEMPT_TIMEOUT",
                "5",
                "key client.attempt_timeout",
            ),
            (
                "JOBSTOP_TEST_CLIENT_CONNECT_TIMEOUT",
                "0s",
                "key client.connect_timeout",
            ),
            ("JOBSTOP_TEST_CLIENT_BUDGET", "2d", "key client.budget"),
            ("JOBSTOP_TEST_CLIENT_RETRIES", "-1", "key client.retries"),
            ("JOBSTOP_TEST_CLIENT_RETRIES", "101", "key client.retries"),
            ("JOBSTOP_TEST_CLIENT_PACE", "0", "key client.pace"),
            (
                "JOBSTOP_TEST_CLIENT_MAX_CONNECTIONS",
                "many",
                "key client.max_connections",
            ),
        ];
        for (var, value, needle) in cases {
            let err = TestConfig::from_lookup(|k| (k == *var).then(|| (*value).to_owned()))
                .expect_err(var);
            assert!(
                err.to_string().contains(needle),
                "{err} should contain {needle}"
            );
        }
    }

    #[test]
    fn numbers_may_be_unquoted_and_unknown_keys_are_refused() {
        let c: TestConfig = serde_json::from_str(
            r#"{"tenant":"a","client":{"pace":10,"max_connections":"4","budget":"2m"}}"#,
        )
        .expect("valid");
        assert_eq!(c.client.pace.map(NonZeroU32::get), Some(10));
        assert_eq!(c.client.max_connections.map(NonZeroUsize::get), Some(4));
        assert_eq!(c.client.budget, Some(Duration::from_secs(120)));
        for bad in [r#"{"tenat":"a"}"#, r#"{"client":{"pase":1}}"#] {
            let err = serde_json::from_str::<TestConfig>(bad).expect_err(bad);
            assert!(err.to_string().contains("unknown field"), "{err}");
        }
        let keys: Vec<String> = ClientSettings::default()
            .shown()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys.len(), CLIENT_KEYS.len());
        for key in CLIENT_KEYS {
            let text = format!(r#"{{"client":{{"{key}":"1s"}}}}"#);
            // Every listed key is a field of the client table: a wrong value
            // names the key, an unknown key would say "unknown field".
            if let Err(e) = serde_json::from_str::<TestConfig>(&text) {
                assert!(e.to_string().contains(&format!("client.{key}")), "{e}");
            }
        }
    }

    #[test]
    fn export_lines_refuse_unknown_keys() {
        let s = TestConfig::schema();
        let lines = s
            .env_lines(&[("tenant", "a".to_owned()), ("client.pace", "3".to_owned())])
            .expect("known");
        assert_eq!(
            lines,
            [
                ("JOBSTOP_TEST_TENANT".to_owned(), "a".to_owned()),
                ("JOBSTOP_TEST_CLIENT_PACE".to_owned(), "3".to_owned())
            ]
        );
        assert!(s.env_lines(&[("tenat", "a".to_owned())]).is_err());
    }

    #[test]
    fn credentials_are_chosen_from_the_table() {
        const OPTIONS: &[Credential] = &[
            Credential {
                what: "a token",
                keys: &["token"],
            },
            Credential {
                what: "client credentials",
                keys: &["client_id", "tenant"],
            },
        ];
        let state = |f: fn(&mut TestConfig)| {
            let mut c = TestConfig::default();
            f(&mut c);
            BuilderState::new(c)
        };
        let msg = |f: fn(&mut TestConfig)| {
            state(f)
                .credential(OPTIONS)
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            state(|c| c.token = Some("t".into()))
                .credential(OPTIONS)
                .ok(),
            Some(0)
        );
        assert_eq!(
            state(|c| {
                c.client_id = Some("i".into());
                c.tenant = Some("a".into());
            })
            .credential(OPTIONS)
            .ok(),
            Some(1)
        );
        let none = msg(|_| {});
        assert!(
            none.contains("test credentials: give a token (JOBSTOP_TEST_TOKEN) or client credentials (JOBSTOP_TEST_CLIENT_ID, JOBSTOP_TEST_TENANT)"),
            "{none}"
        );
        let both = msg(|c| {
            c.token = Some("t".into());
            c.tenant = Some("a".into());
        });
        assert!(
            both.contains("give either a token or client credentials, not both"),
            "{both}"
        );
        let partial = msg(|c| c.client_id = Some("i".into()));
        assert!(
            partial.contains("test tenant: is required with client_id"),
            "{partial}"
        );
        let bad = BuilderState::<TestConfig>::from_lookup(|k| {
            (k == "JOBSTOP_TEST_CLIENT_PACE").then(|| "fast".to_owned())
        });
        let err = bad.client_config().expect_err("bad pace").to_string();
        assert!(err.contains("key client.pace"), "{err}");
    }
}
