//! Named accounts: built in code, from environment variables, or from a TOML
//! config file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jobstop_core::layer::{Layer, TraceLayer};
use jobstop_core::{Error, JobController, Result, Vendor};
use jobstop_http::{CLIENT_KEYS, ClientSettings, Schema, Shown};
use serde::Deserialize;
use serde_json::{Map, Value};

/// One configured account: a name, its vendor and a controller for it.
#[derive(Clone)]
#[non_exhaustive]
pub struct Account {
    /// The account's name (unique in a [`Registry`]).
    pub name: String,
    /// The vendor.
    pub vendor: Vendor,
    /// Where its API lives, for display.
    pub base_url: String,
    /// The controller.
    pub controller: Arc<dyn JobController>,
    /// The account's settings as configured, from its vendor's config table
    /// (secrets only as [`Shown::SecretSet`]); empty for an account built in
    /// code.
    pub settings: Vec<(String, Shown)>,
}

impl Account {
    /// An account around any controller (the vendor is taken from it).
    pub fn new(
        name: impl Into<String>,
        base_url: impl Into<String>,
        controller: Arc<dyn JobController>,
    ) -> Self {
        Account {
            name: name.into(),
            vendor: controller.vendor(),
            base_url: base_url.into(),
            controller,
            settings: Vec::new(),
        }
    }

    /// Makes every request to this account wait for a turn at most
    /// `per_second` times a second, unless its pace is already stricter
    /// (the stricter wins, for as long as the account lives): the
    /// controller's pacer ([`JobController::pacer`]), which an HTTP
    /// adapter's client waits on before each request. Returns `false`, and
    /// changes nothing, for a controller without a pacer (wrap it in a
    /// [`PaceLayer`](jobstop_core::layer::PaceLayer) to give it one).
    pub fn tighten_pace(&self, per_second: std::num::NonZeroU32) -> bool {
        match self.controller.pacer() {
            Some(pacer) => {
                pacer.tighten(per_second);
                true
            }
            None => false,
        }
    }

    /// The account with `settings` to show (see [`Account::settings`]).
    pub fn with_settings(mut self, settings: Vec<(String, Shown)>) -> Self {
        self.settings = settings;
        self
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The controller's own Debug masks its secrets.
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("vendor", &self.vendor)
            .field("base_url", &self.base_url)
            .field("controller", &self.controller)
            .field("settings", &self.settings)
            .finish()
    }
}

/// Declares [`AccountConfig`] from one list of the vendors: variant, cargo
/// feature, config type and builder.
macro_rules! account_configs {
    ($($(#[$doc:meta])* $variant:ident($feature:literal, $config:ty, $builder:ty),)*) => {
        /// One account's settings: its vendor (the `vendor` key of a config
        /// file's `[accounts.NAME]` table, or the vendor of the
        /// `JOBSTOP_<VENDOR>_*` variables) and that vendor's config type.
        /// Only the vendors compiled in (cargo features) are variants.
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(tag = "vendor", rename_all = "lowercase")]
        #[non_exhaustive]
        pub enum AccountConfig {
            $(
                $(#[$doc])*
                #[cfg(feature = $feature)]
                #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
                $variant($config),
            )*
        }

        impl AccountConfig {
            /// The schemas of the vendors compiled into this build.
            pub fn schemas() -> Vec<Schema> {
                vec![$(
                    #[cfg(feature = $feature)]
                    <$config as jobstop_http::VendorConfig>::schema(),
                )*]
            }

            /// This account's schema.
            pub fn schema(&self) -> Schema {
                match *self {$(
                    #[cfg(feature = $feature)]
                    AccountConfig::$variant(_) => <$config as jobstop_http::VendorConfig>::schema(),
                )*}
            }

            /// Every setting with its value as shown (secrets only as set or unset).
            pub fn shown(&self) -> Vec<(String, Shown)> {
                match *self {$(
                    #[cfg(feature = $feature)]
                    AccountConfig::$variant(ref c) => jobstop_http::VendorConfig::shown(c),
                )*}
            }

            /// The `client` settings.
            pub fn client(&self) -> &ClientSettings {
                match *self {$(
                    #[cfg(feature = $feature)]
                    AccountConfig::$variant(ref c) => jobstop_http::VendorConfig::client(c),
                )*}
            }

            /// Builds the vendor's controller (no layers) and tells its base URL.
            pub fn build_controller(&self) -> Result<(Arc<dyn JobController>, String)> {
                match *self {$(
                    #[cfg(feature = $feature)]
                    AccountConfig::$variant(ref c) => {
                        let c = <$builder>::from_config(c.clone()).build()?;
                        let url = c.base_url().to_string();
                        Ok((Arc::new(c), url))
                    }
                )*}
            }
        }
    };
}

account_configs! {
    /// An Amperity account.
    Amperity("amperity", jobstop_amperity::AmperityConfig, jobstop_amperity::AmperityBuilder),
    /// A Chorus account.
    Chorus("chorus", jobstop_chorus::ChorusConfig, jobstop_chorus::ChorusBuilder),
    /// A DataArts account.
    DataArts("dataarts", jobstop_dataarts::DataArtsConfig, jobstop_dataarts::DataArtsBuilder),
    /// A CenturyLink Runner account.
    CenturyLink(
        "centurylink",
        jobstop_centurylink::CenturyLinkConfig,
        jobstop_centurylink::CenturyLinkBuilder
    ),
}

impl AccountConfig {
    /// The settings of `map` (string values, client ones in a `client`
    /// map) for `vendor`; the error names the key at fault.
    pub fn from_map(vendor: &str, mut map: Map<String, Value>) -> Result<AccountConfig> {
        map.insert("vendor".to_owned(), Value::String(vendor.to_owned()));
        serde_json::from_value(Value::Object(map)).map_err(|e| Error::config(e.to_string()))
    }

    /// The account from variables read through `lookup`: `None` when none
    /// of `schema`'s variables is set.
    pub fn from_lookup(
        schema: &Schema,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Result<AccountConfig>> {
        schema
            .read_env(lookup)
            .map(|map| AccountConfig::from_map(schema.vendor, map))
    }

    /// The account called `name`: the vendor's controller, wrapped in a
    /// [`TraceLayer`] naming the account. A `client.pace` paces every
    /// request the controller's HTTP client sends to the account
    /// ([`ClientConfig::pace`](jobstop_http::ClientConfig::pace); the
    /// controller's [`JobController::pacer`]).
    pub fn into_account(self, name: &str) -> Result<Account> {
        let (controller, base_url) = self.build_controller()?;
        let controller = TraceLayer::new().with_account(name).layer(controller);
        Ok(Account::new(name, base_url, controller).with_settings(self.shown()))
    }
}

/// The names of the vendors compiled into this build.
fn vendor_names() -> Vec<&'static str> {
    AccountConfig::schemas().iter().map(|s| s.vendor).collect()
}

/// A config-file value as the text every setting is read from.
fn text(key: &str, value: &toml::Value) -> std::result::Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!("key {key}: must be a string")),
    }
}

/// Reads one table of settings (an account's, or its `client` table, whose
/// keys are shown as `client.KEY`) into `out`, resolving `<key>_env` through
/// `env`. `known` tells the keys allowed; `expected` lists them for an error.
fn read_table(
    table: &toml::Table,
    prefix: &str,
    known: &dyn Fn(&str) -> bool,
    expected: &str,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Map<String, Value>,
) -> std::result::Result<(), String> {
    for (key, value) in table {
        let shown = format!("{prefix}{key}");
        let (setting, from_env) = match key.strip_suffix("_env") {
            Some(s) => (s, true),
            None => (key.as_str(), false),
        };
        if !known(setting) {
            return Err(format!(
                "unknown key {shown:?} (expected one of: {expected})"
            ));
        }
        let value = text(&shown, value)?;
        let value = if from_env {
            env(&value)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("key {shown}: environment variable {value} is not set"))?
        } else {
            value
        };
        if out
            .insert(setting.to_owned(), Value::String(value))
            .is_some()
        {
            return Err(format!(
                "key {prefix}{setting} is given twice (directly and with _env)"
            ));
        }
    }
    Ok(())
}

/// One `[accounts.NAME]` table as an [`AccountConfig`]; errors name the key.
fn account_from_table(
    table: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<AccountConfig, String> {
    let vendor = table
        .get("vendor")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| format!("key vendor: is required ({})", vendor_names().join(", ")))?;
    let Some(schema) = AccountConfig::schemas()
        .into_iter()
        .find(|s| s.vendor == vendor)
    else {
        return Err(format!(
            "key vendor: unknown or not compiled in: {vendor:?} (this build knows: {})",
            vendor_names().join(", ")
        ));
    };
    let mut settings = Map::new();
    let mut own = table.clone();
    own.remove("vendor");
    let client = own.remove("client");
    let keys: Vec<&str> = schema.settings.iter().map(|s| s.key).collect();
    read_table(
        &own,
        "",
        &|k| schema.has(k),
        &format!("vendor, {}, client", keys.join(", ")),
        env,
        &mut settings,
    )?;
    if let Some(client) = client {
        let client = client
            .as_table()
            .ok_or_else(|| "key client: must be a table ([accounts.NAME.client])".to_owned())?;
        let mut map = Map::new();
        let expected: Vec<String> = CLIENT_KEYS.iter().map(|k| format!("client.{k}")).collect();
        read_table(
            client,
            "client.",
            &|k| CLIENT_KEYS.contains(&k),
            &expected.join(", "),
            env,
            &mut map,
        )?;
        settings.insert("client".to_owned(), Value::Object(map));
    }
    AccountConfig::from_map(vendor, settings).map_err(|e| e.message().to_owned())
}

/// Named accounts, each an `Arc<dyn JobController>`.
///
/// ```
/// use std::sync::Arc;
/// use jobstop_core::InMemoryController;
/// use jobstop_runtime::{Account, Registry};
///
/// let mut registry = Registry::new();
/// registry.insert(Account::new("test", "memory://", Arc::new(InMemoryController::new()))).unwrap();
/// assert_eq!(registry.get("test").unwrap().vendor.as_str(), "in-memory");
/// assert!(registry.get("prod").is_err());
/// ```
///
/// # Config file
///
/// One table per account under `[accounts]`, with its `vendor` and that
/// vendor's settings: the keys of its config type ([`AccountConfig`]; e.g.
/// `jobstop_amperity::AmperityConfig`), which are also its environment
/// variables without the `JOBSTOP_<VENDOR>_` prefix, in lowercase. Any
/// setting can instead be read from an environment variable named by
/// `<setting>_env`, which keeps secrets out of the file. Several accounts of
/// one vendor are fine. An unknown key is an error naming the account and
/// the key and listing the keys expected.
///
/// An optional `[accounts.NAME.client]` table (or the variables
/// `JOBSTOP_<VENDOR>_CLIENT_<KEY>`) sets the account's HTTP behaviour
/// ([`ClientSettings`](jobstop_http::ClientSettings)):
///
/// | key | value | meaning |
/// |---|---|---|
/// | `connect_timeout` | duration, e.g. `"5s"` | time to connect |
/// | `attempt_timeout` | duration, e.g. `"500ms"` | time for one attempt |
/// | `budget` | duration, e.g. `"2m"` | time for one call, all attempts and waits included |
/// | `retries` | integer, 0 to 100 | retries after the first attempt (0: one attempt) |
/// | `pace` | integer, 1 to 100000 | requests per second to this account: every request its HTTP client sends (list pages, stops, read-backs, retries, logins) waits for its turn; a bulk stop's `per_account_rate` (`--rate`) can only make it stricter |
/// | `max_connections` | integer, 1 to 10000 | connections per host |
///
/// Durations are strings with units `ms`, `s`, `m`, `h`, `d` (`"1m30s"`),
/// more than zero and at most `1d`; integers may also be written as strings
/// (as they are in the environment). A bad value is an error naming the
/// account and the key (`account prod: key client.attempt_timeout: …`).
/// Every account's controller is wrapped in a [`TraceLayer`] that names the
/// account in its spans.
///
/// The file must be a regular file of at most 1 MiB ([`MAX_CONFIG_BYTES`]).
/// A file that holds a secret ([`secret_settings`]) inline while group or
/// others may read it loads, with a warning ([`LoadedConfig::warning`]):
/// `chmod 600` it, or use `<setting>_env`.
///
/// ```toml
/// [accounts.amperity-prod]
/// vendor = "amperity"
/// tenant = "acme"
/// token_env = "AMPERITY_PROD_TOKEN"
///
/// [accounts.amperity-prod.client]
/// attempt_timeout = "10s"
/// retries = 2
/// pace = 20
///
/// [accounts.runner-eu]
/// vendor = "centurylink"
/// username = "ops@example.com"
/// password_env = "RUNNER_EU_PASSWORD"
/// ```
#[derive(Debug, Default, Clone)]
pub struct Registry {
    accounts: BTreeMap<String, Account>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds an account; a name already in use is a `Config` error.
    pub fn insert(&mut self, account: Account) -> Result<()> {
        if account.name.trim().is_empty() {
            return Err(Error::config("an account name must not be empty"));
        }
        if self.accounts.contains_key(&account.name) {
            return Err(Error::config(format!(
                "account {:?} is defined twice",
                account.name
            )));
        }
        self.accounts.insert(account.name.clone(), account);
        Ok(())
    }

    /// One account per vendor whose `JOBSTOP_<VENDOR>_*` variables are set,
    /// named after the vendor (`amperity`, `chorus`, `dataarts`, `centurylink`).
    pub fn from_env() -> Result<Registry> {
        Registry::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Registry> {
        let mut registry = Registry::new();
        for schema in AccountConfig::schemas() {
            let vendor = schema.vendor;
            let Some(config) = AccountConfig::from_lookup(&schema, &lookup) else {
                continue;
            };
            let account = config
                .and_then(|c| c.into_account(vendor))
                .map_err(|e| Error::config(format!("account {vendor}: {}", e.message())))?;
            registry.insert(account)?;
        }
        Ok(registry)
    }

    /// Reads a TOML config (see the type's docs); `env` resolves `*_env` keys.
    /// Any problem is one `Config` error naming the account and the key.
    pub fn from_toml_str(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Registry> {
        let doc: toml::Table = toml::from_str(text)
            .map_err(|e| Error::config(format!("config is not valid TOML: {}", e.message())))?;
        for key in doc.keys() {
            if key != "accounts" {
                return Err(Error::config(format!(
                    "config: unknown top-level key {key:?} (expected [accounts.NAME] tables)"
                )));
            }
        }
        let mut registry = Registry::new();
        let Some(accounts) = doc.get("accounts") else {
            return Ok(registry);
        };
        let accounts = accounts.as_table().ok_or_else(|| {
            Error::config("config: accounts must be a table of [accounts.NAME] tables")
        })?;
        for (name, table) in accounts {
            let err = |msg: &str| Error::config(format!("account {name}: {msg}"));
            let table = table.as_table().ok_or_else(|| err("must be a table"))?;
            let config = account_from_table(table, &env).map_err(|m| err(&m))?;
            let account = config.into_account(name).map_err(|e| err(e.message()))?;
            registry.insert(account)?;
        }
        Ok(registry)
    }

    /// Reads a TOML config file, resolving `*_env` keys from the process
    /// environment. The file must be a regular file (a FIFO would block, a
    /// device such as `/dev/zero` never ends) of at most
    /// [`MAX_CONFIG_BYTES`]; anything else is a `Config` error. See
    /// [`load_config_file`](Self::load_config_file) for the warning about
    /// inline secrets in a file others can read.
    pub fn from_config_file(path: &Path) -> Result<Registry> {
        Registry::from_config_file_lookup(path, |k| std::env::var(k).ok())
    }

    /// Like [`from_config_file`](Self::from_config_file), resolving `*_env`
    /// keys through `lookup` instead of the process environment (as
    /// [`from_lookup`](Self::from_lookup) does for
    /// [`from_env`](Self::from_env)): secrets from a vault, a test map, or
    /// anything but `std::env::set_var`.
    ///
    /// ```no_run
    /// use std::collections::HashMap;
    /// use std::path::Path;
    /// use jobstop_runtime::Registry;
    ///
    /// let secrets = HashMap::from([("AMPERITY_PROD_TOKEN", "t0ken")]);
    /// let registry = Registry::from_config_file_lookup(Path::new("jobstop.toml"), |k| {
    ///     secrets.get(k).map(|v| v.to_string())
    /// })?;
    /// # Ok::<(), jobstop_core::Error>(())
    /// ```
    pub fn from_config_file_lookup(
        path: &Path,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Registry> {
        Registry::load_config_file_lookup(path, lookup).map(|loaded| loaded.registry)
    }

    /// Like [`from_config_file`](Self::from_config_file), also telling which
    /// secrets the file holds inline while group or others may read it
    /// ([`LoadedConfig::warning`]), as ssh does for keys.
    pub fn load_config_file(path: &Path) -> Result<LoadedConfig> {
        Registry::load_config_file_lookup(path, |k| std::env::var(k).ok())
    }

    /// Like [`load_config_file`](Self::load_config_file), resolving `*_env`
    /// keys through `lookup` instead of the process environment.
    pub fn load_config_file_lookup(
        path: &Path,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<LoadedConfig> {
        let shown = path.display();
        let err = |what: String| Error::config(format!("config file {shown}: {what}"));
        let (text, mode) = read_config_file(path).map_err(|e| err(e.to_string()))?;
        let registry = Registry::from_toml_str(&text, lookup)
            .map_err(|e| Error::config(format!("{shown}: {}", e.message())))?;
        let exposed_secrets = match mode {
            Some(mode) if mode & 0o077 != 0 => inline_secrets(&text),
            _ => Vec::new(),
        };
        Ok(LoadedConfig {
            registry,
            path: path.to_owned(),
            mode,
            exposed_secrets,
        })
    }

    /// `$XDG_CONFIG_HOME/jobstop/config.toml`, or `~/.config/jobstop/config.toml`.
    pub fn default_config_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })?;
        Some(base.join("jobstop").join("config.toml"))
    }

    /// The account called `name`.
    pub fn get(&self, name: &str) -> Result<&Account> {
        self.accounts.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.accounts.keys().map(String::as_str).collect();
            Error::config(format!(
                "unknown account {name:?} (configured: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })
    }

    /// The accounts called `names`, in the order given; an unknown name is a
    /// `Config` error listing the accounts configured.
    ///
    /// An empty `names` selects **no** account (it used to mean all of
    /// them): ask for every account with [`all`](Self::all).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use jobstop_core::InMemoryController;
    /// use jobstop_runtime::{Account, Registry};
    ///
    /// let mut registry = Registry::new();
    /// for name in ["a", "b"] {
    ///     registry.insert(Account::new(name, "memory://", Arc::new(InMemoryController::new())))?;
    /// }
    /// assert_eq!(registry.select(&["b"])?.len(), 1);
    /// assert_eq!(registry.select(&[String::from("a"), String::from("b")])?.len(), 2);
    /// assert!(registry.select(&[] as &[&str])?.is_empty());
    /// assert_eq!(registry.all().len(), 2);
    /// # Ok::<(), jobstop_core::Error>(())
    /// ```
    pub fn select(&self, names: &[impl AsRef<str>]) -> Result<Vec<&Account>> {
        names.iter().map(|n| self.get(n.as_ref())).collect()
    }

    /// Every account, by name (what `select` with no names used to return).
    pub fn all(&self) -> Vec<&Account> {
        self.accounts.values().collect()
    }

    /// Every account, by name, as an iterator ([`all`](Self::all) collects it).
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

/// The most a config file may hold (1 MiB); a larger one is refused
/// (`--config /dev/zero` used to read until memory ran out).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The settings that are credentials in some vendor compiled into this
/// build, from the vendors' config tables (`token`, `password`, …). Held
/// inline (not as `<setting>_env`) in a file group or others can read, they
/// are reported by [`LoadedConfig::warning`].
pub fn secret_settings() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = AccountConfig::schemas()
        .iter()
        .flat_map(|s| s.settings.iter().filter(|s| s.secret).map(|s| s.key))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A config file read by [`Registry::load_config_file`].
#[derive(Debug)]
#[non_exhaustive]
pub struct LoadedConfig {
    /// The accounts.
    pub registry: Registry,
    /// The file.
    pub path: PathBuf,
    /// Its permission bits (Unix), e.g. `0o644`.
    pub mode: Option<u32>,
    /// The secrets it holds inline while group or others may read it, as
    /// `account.setting` (never their values); empty when the file is
    /// private (`0600`) or holds no inline secret.
    pub exposed_secrets: Vec<String>,
}

impl LoadedConfig {
    /// One line to warn with when [`exposed_secrets`](Self::exposed_secrets)
    /// is not empty: which settings, the file's mode, and the two fixes.
    pub fn warning(&self) -> Option<String> {
        if self.exposed_secrets.is_empty() {
            return None;
        }
        Some(format!(
            "config file {} holds secrets inline ({}) and is readable by group or others \
             (mode {:04o}): `chmod 600` it, or read them from the environment with \
             <setting>_env",
            self.path.display(),
            self.exposed_secrets.join(", "),
            self.mode.unwrap_or(0) & 0o7777
        ))
    }
}

/// Reads a config file: a regular file (checked before opening, since
/// opening a FIFO blocks, and again after) of at most [`MAX_CONFIG_BYTES`].
/// Returns the text and, on Unix, the permission bits.
fn read_config_file(path: &Path) -> std::io::Result<(String, Option<u32>)> {
    let (bytes, meta) = read_small_regular_file(path, MAX_CONFIG_BYTES, "a config file")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
    })?;
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode())
    };
    #[cfg(not(unix))]
    let mode = None;
    Ok((text, mode))
}

/// Reads the file at `path` whole, refusing anything but a regular file
/// (checked before opening, since opening a FIFO blocks, and again on the
/// opened file) and anything over `max` bytes (`/dev/zero` never ends).
/// `what` names the file in the size error ("a config file"). Returns the
/// bytes and the opened file's metadata.
pub fn read_small_regular_file(
    path: &Path,
    max: u64,
    what: &str,
) -> std::io::Result<(Vec<u8>, std::fs::Metadata)> {
    use std::io::{self, Read};
    let regular = |meta: &std::fs::Metadata| {
        if meta.file_type().is_file() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "it is {}, not a regular file",
                    describe_file_type(&meta.file_type())
                ),
            ))
        }
    };
    regular(&std::fs::metadata(path)?)?;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        let size = if max.is_multiple_of(1024 * 1024) {
            format!("{} MiB", max / (1024 * 1024))
        } else {
            format!("{max} bytes")
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {size}, the most {what} may hold"),
        ));
    }
    Ok((bytes, meta))
}

/// What a file that is not a regular file is, for an error message: "a
/// FIFO", "a character device", "a block device", "a socket", "a folder",
/// "a symbolic link" (for a type read without following links), else "not
/// a regular file".
pub fn describe_file_type(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The `account.setting` names of the secrets `text` (a valid config) holds
/// inline.
fn inline_secrets(text: &str) -> Vec<String> {
    let Ok(doc) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let Some(accounts) = doc.get("accounts").and_then(toml::Value::as_table) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, table) in accounts {
        let Some(table) = table.as_table() else {
            continue;
        };
        let vendor = table.get("vendor").and_then(toml::Value::as_str);
        let Some(schema) = AccountConfig::schemas()
            .into_iter()
            .find(|s| Some(s.vendor) == vendor)
        else {
            continue;
        };
        for key in table.keys() {
            if schema.is_secret(key) {
                found.push(format!("{name}.{key}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(any(feature = "full", feature = "amperity"))]
    use jobstop_core::ErrorKind;

    #[cfg(feature = "full")]
    #[test]
    fn inline_secrets_are_named_never_their_values() {
        let text = "[accounts.a]\nvendor = \"amperity\"\ntoken = \"s3cret\"\ntenant = \"t\"\n\
                    [accounts.b]\nvendor = \"chorus\"\npassword_env = \"P\"\nsession_id = \"x\"\n";
        assert_eq!(inline_secrets(text), ["a.token", "b.session_id"]);
        assert!(inline_secrets("not toml [").is_empty());
        let loaded = LoadedConfig {
            registry: Registry::new(),
            path: PathBuf::from("c.toml"),
            mode: Some(0o100644),
            exposed_secrets: inline_secrets(text),
        };
        let w = loaded.warning().unwrap();
        assert!(
            w.contains("a.token, b.session_id") && w.contains("0644"),
            "{w}"
        );
        assert!(!w.contains("s3cret"));
    }

    #[test]
    fn config_files_are_regular_and_bounded() {
        let dir = std::env::temp_dir().join(format!("jobstop-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = Registry::from_config_file(Path::new("/dev/zero")).unwrap_err();
        assert!(e.message().contains("character device"), "{e}");
        let e = Registry::from_config_file(&dir).unwrap_err();
        assert!(e.message().contains("a folder"), "{e}");
        let big = dir.join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let e = Registry::from_config_file(&big).unwrap_err();
        assert!(e.message().contains("larger than 1 MiB"), "{e}");
        let ok = dir.join("ok.toml");
        std::fs::write(&ok, vec![b'#'; MAX_CONFIG_BYTES as usize]).unwrap();
        assert!(Registry::from_config_file(&ok).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(any(feature = "full", feature = "dataarts", feature = "amperity"))]
    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[cfg(any(feature = "full", feature = "amperity"))]
    #[test]
    fn config_file_env_keys_resolve_through_a_lookup() {
        const VAR: &str = "JOBSTOP_TEST_LOOKUP_ONLY_TOKEN";
        assert!(
            std::env::var_os(VAR).is_none(),
            "the process environment is not used"
        );
        let dir = std::env::temp_dir().join(format!("jobstop-lookup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            format!(
                "[accounts.prod]\nvendor = \"amperity\"\nbase_url = \"http://127.0.0.1:1/api\"\n\
                 tenant = \"acme\"\ntoken_env = \"{VAR}\"\n"
            ),
        )
        .unwrap();
        let secrets = std::collections::HashMap::from([(VAR, "lookup-s3cret")]);
        let lookup = |k: &str| secrets.get(k).map(|v| (*v).to_owned());
        let r = Registry::from_config_file_lookup(&path, lookup).unwrap();
        assert_eq!(r.get("prod").unwrap().vendor, Vendor::AMPERITY);
        assert!(!format!("{r:?}").contains("lookup-s3cret"));
        let loaded = Registry::load_config_file_lookup(&path, lookup).unwrap();
        assert_eq!(loaded.registry.len(), 1);
        // Without the lookup (the process environment), the variable is missing.
        let e = Registry::from_config_file(&path).unwrap_err();
        assert!(e.message().contains(VAR), "{e}");
        let e = Registry::from_config_file_lookup(&path, |_| None).unwrap_err();
        assert!(e.message().contains("is not set"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(feature = "full")]
    #[test]
    fn toml_accounts_several_per_vendor() {
        let text = r#"
            [accounts.amp-a]
            vendor = "amperity"
            base_url = "http://127.0.0.1:1/api"
            tenant = "a"
            token_env = "TOKEN_A"

            [accounts.amp-b]
            vendor = "amperity"
            base_url = "http://127.0.0.1:2/api"
            tenant = "b"
            client_id = "id"
            client_secret_env = "SECRET_B"

            [accounts.chorus]
            vendor = "chorus"
            base_url = "http://127.0.0.1:3"
            username = "u"
            password = "inline-pw"
            workspace_id = 1000008
        "#;
        let r = Registry::from_toml_str(text, env(&[("TOKEN_A", "tok-a"), ("SECRET_B", "sec-b")]))
            .unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r.get("amp-b").unwrap().base_url, "http://127.0.0.1:2/api");
        assert_eq!(r.get("chorus").unwrap().vendor, Vendor::CHORUS);
        let d = format!("{r:?}");
        for secret in ["tok-a", "sec-b", "inline-pw"] {
            assert!(!d.contains(secret), "{d}");
        }
    }

    #[cfg(feature = "full")]
    #[test]
    fn config_errors_name_account_and_key() {
        let cases: &[(&str, &str)] = &[
            ("[accounts.x]\ntenant = \"a\"", "account x: key vendor"),
            ("[accounts.x]\nvendor = \"nope\"", "account x: key vendor"),
            (
                "[accounts.x]\nvendor = \"amperity\"\ntenant = \"a\"\ntokn = \"t\"",
                "account x: unknown key \"tokn\"",
            ),
            (
                "[accounts.x]\nvendor = \"amperity\"\ntenant = \"a\"\ntoken_env = \"MISSING\"",
                "account x: key token_env: environment variable MISSING",
            ),
            (
                "[accounts.x]\nvendor = \"amperity\"\ntenant = \"a\"",
                "account x: amperity credentials",
            ),
            (
                "[accounts.x]\nvendor = \"amperity\"\ntenant = [1]",
                "account x: key tenant: must be a string",
            ),
            (
                "[accounts.x]\nvendor = \"amperity\"\ntoken = \"t\"\ntoken_env = \"T\"",
                "given twice",
            ),
            ("accounts = 3", "accounts must be a table"),
            ("[acounts.x]", "unknown top-level key"),
            ("[accounts.x", "not valid TOML"),
        ];
        for (text, needle) in cases {
            let err = Registry::from_toml_str(text, env(&[("T", "t")])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains(needle),
                "{err} should contain {needle}"
            );
        }
    }

    #[cfg(feature = "amperity")]
    #[test]
    fn toml_client_table_and_env_indirection() {
        let text = r#"
            [accounts.amp]
            vendor = "amperity"
            base_url = "http://127.0.0.1:1/api"
            tenant = "a"
            token = "t"

            [accounts.amp.client]
            connect_timeout = "2s"
            attempt_timeout_env = "AMP_TIMEOUT"
            budget = "1m30s"
            retries = 2
            pace = "15"
            max_connections = 8
        "#;
        let r = Registry::from_toml_str(text, env(&[("AMP_TIMEOUT", "750ms")])).unwrap();
        let shown: BTreeMap<String, String> = r
            .get("amp")
            .unwrap()
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        for (key, value) in [
            ("client.connect_timeout", "2s"),
            ("client.attempt_timeout", "750ms"),
            ("client.budget", "1m30s"),
            ("client.retries", "2"),
            ("client.pace", "15"),
            ("client.max_connections", "8"),
            ("token", "set"),
            ("tenant", "a"),
        ] {
            assert_eq!(shown.get(key).map(String::as_str), Some(value), "{key}");
        }
        // The same settings as typed values.
        let config: AccountConfig = account_from_table(
            &toml::from_str::<toml::Table>(text).unwrap()["accounts"]["amp"]
                .as_table()
                .unwrap()
                .clone(),
            &env(&[("AMP_TIMEOUT", "750ms")]),
        )
        .unwrap();
        let client = config.client().apply(jobstop_http::ClientConfig::default());
        assert_eq!(
            client.attempt_timeout,
            std::time::Duration::from_millis(750)
        );
        assert_eq!(client.connect_timeout, std::time::Duration::from_secs(2));
        assert_eq!(client.retry.budget, std::time::Duration::from_secs(90));
        assert_eq!(client.retry.max_attempts, 3);
    }

    #[cfg(feature = "amperity")]
    #[test]
    fn client_table_errors_name_account_and_key() {
        let head = "[accounts.prod]\nvendor = \"amperity\"\ntenant = \"a\"\ntoken = \"t\"\n";
        let cases: &[(&str, &str)] = &[
            (
                "[accounts.prod.client]\npase = 3",
                "account prod: unknown key \"client.pase\" (expected one of: client.connect_timeout, \
                 client.attempt_timeout, client.budget, client.retries, client.pace, client.max_connections)",
            ),
            (
                "[accounts.prod.client]\nattempt_timeout = \"5\"",
                "account prod: key client.attempt_timeout: invalid duration \"5\"",
            ),
            (
                "[accounts.prod.client]\nattempt_timeout = 5",
                "account prod: key client.attempt_timeout:",
            ),
            (
                "[accounts.prod.client]\nretries = -1",
                "account prod: key client.retries: must be a whole number",
            ),
            (
                "[accounts.prod.client]\npace = 0",
                "account prod: key client.pace: must be a whole number from 1",
            ),
            (
                "[accounts.prod.client]\nmax_connections = [1]",
                "account prod: key client.max_connections: must be a string",
            ),
            (
                "[accounts.prod.client]\nbudget_env = \"MISSING\"",
                "account prod: key client.budget_env: environment variable MISSING is not set",
            ),
            (
                "[accounts.prod.client]\nbudget = \"1s\"\nbudget_env = \"T\"",
                "account prod: key client.budget is given twice",
            ),
            ("client = 3", "account prod: key client: must be a table"),
            (
                "tokn = 1",
                "account prod: unknown key \"tokn\" (expected one of: vendor, base_url, tenant, \
                 token, client_id, client_secret, api_version, client)",
            ),
        ];
        for (tail, needle) in cases {
            let text = format!("{head}{tail}");
            let err = Registry::from_toml_str(&text, env(&[("T", "2s")])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains(needle),
                "{err} should contain {needle}"
            );
        }
        // The variables name the key the same way.
        let err = Registry::from_lookup(env(&[
            ("JOBSTOP_AMPERITY_TENANT", "a"),
            ("JOBSTOP_AMPERITY_TOKEN", "t"),
            ("JOBSTOP_AMPERITY_CLIENT_BUDGET", "soon"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("account amperity: key client.budget: invalid duration"),
            "{err}"
        );
    }

    #[cfg(feature = "dataarts")]
    #[test]
    fn toml_dataarts_instance_lookback() {
        let text = |lookback: &str| {
            format!(
                "[accounts.da]\nvendor = \"dataarts\"\nbase_url = \"http://127.0.0.1:5\"\n\
                 project_id = \"p\"\ntoken = \"t\"\ninstance_lookback = {lookback}\n"
            )
        };
        for ok in ["\"14d\"", "30", "\"36h\""] {
            Registry::from_toml_str(&text(ok), env(&[])).unwrap();
        }
        let err = Registry::from_toml_str(&text("\"a week\""), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("account da") && err.to_string().contains("instance_lookback"),
            "{err}"
        );
    }

    #[cfg(feature = "full")]
    #[test]
    fn env_accounts_are_named_after_vendors() {
        let r = Registry::from_lookup(env(&[
            ("JOBSTOP_AMPERITY_TENANT", "acme"),
            ("JOBSTOP_AMPERITY_TOKEN", "t"),
            ("JOBSTOP_CHORUS_BASE_URL", "http://127.0.0.1:5"),
            ("JOBSTOP_CHORUS_SESSION_ID", "s"),
        ]))
        .unwrap();
        let names: Vec<&str> = r.accounts().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["amperity", "chorus"]);
        let err = Registry::from_lookup(env(&[("JOBSTOP_DATAARTS_PROJECT_ID", "p")])).unwrap_err();
        assert!(err.to_string().contains("account dataarts"), "{err}");
        assert!(Registry::from_lookup(env(&[])).unwrap().is_empty());
    }

    #[test]
    fn select_and_get() {
        let mut r = Registry::new();
        r.insert(Account::new(
            "a",
            "x",
            Arc::new(jobstop_core::InMemoryController::new()),
        ))
        .unwrap();
        assert!(
            r.insert(Account::new(
                "a",
                "x",
                Arc::new(jobstop_core::InMemoryController::new())
            ))
            .is_err()
        );
        assert_eq!(r.all().len(), 1);
        assert_eq!(r.select(&["a"]).unwrap().len(), 1);
        assert_eq!(r.select(&["a".to_owned()]).unwrap().len(), 1);
        assert!(
            r.select(&[] as &[&str]).unwrap().is_empty(),
            "an empty selection selects nothing, never everything"
        );
        let err = r.select(&["b".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("configured: a"), "{err}");
    }
}
