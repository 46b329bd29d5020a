//! Named accounts: built in code, from environment variables, or from a TOML
//! config file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jobstop_core::{Error, JobController, Result, Vendor};

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
        }
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
            .finish()
    }
}

/// The vendors compiled into this build, with their environment prefixes and
/// the variables their builders read.
const VENDORS: &[(&str, &[&str])] = &[
    #[cfg(feature = "amperity")]
    ("amperity", &jobstop_amperity::ENV_VARS),
    #[cfg(feature = "chorus")]
    ("chorus", &jobstop_chorus::ENV_VARS),
    #[cfg(feature = "dataarts")]
    ("dataarts", &jobstop_dataarts::ENV_VARS),
    #[cfg(feature = "centurylink")]
    ("centurylink", &jobstop_centurylink::ENV_VARS),
];

fn vendors() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    VENDORS.iter().copied()
}

/// Builds one vendor's controller from its `JOBSTOP_<VENDOR>_*` variables.
#[allow(unused_variables)]
fn build(
    vendor: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(Arc<dyn JobController>, String)> {
    match vendor {
        #[cfg(feature = "amperity")]
        "amperity" => {
            let c = jobstop_amperity::AmperityBuilder::from_lookup(lookup).build()?;
            let url = c.base_url().to_string();
            Ok((Arc::new(c), url))
        }
        #[cfg(feature = "chorus")]
        "chorus" => {
            let c = jobstop_chorus::ChorusBuilder::from_lookup(lookup).build()?;
            let url = c.base_url().to_string();
            Ok((Arc::new(c), url))
        }
        #[cfg(feature = "dataarts")]
        "dataarts" => {
            let c = jobstop_dataarts::DataArtsBuilder::from_lookup(lookup).build()?;
            let url = c.base_url().to_string();
            Ok((Arc::new(c), url))
        }
        #[cfg(feature = "centurylink")]
        "centurylink" => {
            let c = jobstop_centurylink::CenturyLinkBuilder::from_lookup(lookup).build()?;
            let url = c.base_url().to_string();
            Ok((Arc::new(c), url))
        }
        other => {
            let known: Vec<&str> = vendors().map(|(v, _)| v).collect();
            Err(Error::config(format!(
                "unknown vendor {other:?} (this build knows: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )))
        }
    }
}

/// Named accounts, each an `Arc<dyn JobController>`.
///
/// ```
/// use std::sync::Arc;
/// use jobstop::{Account, InMemoryController, Registry};
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
/// vendor's settings, named as its environment variables without the
/// `JOBSTOP_<VENDOR>_` prefix, in lowercase. Any setting can instead be read
/// from an environment variable named by `<setting>_env`, which keeps secrets
/// out of the file. Several accounts of one vendor are fine.
///
/// The file must be a regular file of at most 1 MiB ([`MAX_CONFIG_BYTES`]).
/// A file that holds a secret ([`SECRET_SETTINGS`]) inline while group or
/// others may read it loads, with a warning ([`LoadedConfig::warning`]):
/// `chmod 600` it, or use `<setting>_env`.
///
/// ```toml
/// [accounts.amperity-prod]
/// vendor = "amperity"
/// tenant = "acme"
/// token_env = "AMPERITY_PROD_TOKEN"
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
        for (vendor, vars) in vendors() {
            let set = vars
                .iter()
                .any(|v| lookup(v).is_some_and(|x| !x.trim().is_empty()));
            if !set {
                continue;
            }
            let (controller, base_url) = build(vendor, &lookup)
                .map_err(|e| Error::config(format!("account {vendor}: {}", e.message())))?;
            registry.insert(Account::new(vendor, base_url, controller))?;
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
            let err = |msg: String| Error::config(format!("account {name}: {msg}"));
            let table = table
                .as_table()
                .ok_or_else(|| err("must be a table".to_owned()))?;
            let vendor = table
                .get("vendor")
                .and_then(toml::Value::as_str)
                .ok_or_else(|| {
                    err(
                        "key vendor: is required (amperity, chorus, dataarts or centurylink)"
                            .to_owned(),
                    )
                })?;
            let Some((_, allowed)) = vendors().find(|(v, _)| *v == vendor) else {
                return Err(err(format!(
                    "key vendor: unknown or not compiled in: {vendor:?}"
                )));
            };
            let prefix = format!("JOBSTOP_{}_", vendor.to_ascii_uppercase());
            let mut settings: BTreeMap<String, String> = BTreeMap::new();
            for (key, value) in table {
                if key == "vendor" {
                    continue;
                }
                let (setting, from_env) = match key.strip_suffix("_env") {
                    Some(s) => (s, true),
                    None => (key.as_str(), false),
                };
                let var = format!("{prefix}{}", setting.to_ascii_uppercase());
                if !allowed.contains(&var.as_str()) {
                    let keys: Vec<String> = allowed
                        .iter()
                        .filter_map(|v| v.strip_prefix(&prefix))
                        .map(str::to_ascii_lowercase)
                        .collect();
                    return Err(err(format!(
                        "unknown key {key:?} (expected one of: vendor, {})",
                        keys.join(", ")
                    )));
                }
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => return Err(err(format!("key {key}: must be a string"))),
                };
                let text = if from_env {
                    env(&text).filter(|v| !v.is_empty()).ok_or_else(|| {
                        err(format!("key {key}: environment variable {text} is not set"))
                    })?
                } else {
                    text
                };
                if settings.insert(var, text).is_some() {
                    return Err(err(format!(
                        "key {setting} is given twice (directly and with _env)"
                    )));
                }
            }
            let lookup = |k: &str| settings.get(k).cloned();
            let (controller, base_url) =
                build(vendor, &lookup).map_err(|e| err(e.message().to_owned()))?;
            registry.insert(Account::new(name.clone(), base_url, controller))?;
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
        Registry::load_config_file(path).map(|loaded| loaded.registry)
    }

    /// Like [`from_config_file`](Self::from_config_file), also telling which
    /// secrets the file holds inline while group or others may read it
    /// ([`LoadedConfig::warning`]), as ssh does for keys.
    pub fn load_config_file(path: &Path) -> Result<LoadedConfig> {
        let shown = path.display();
        let err = |what: String| Error::config(format!("config file {shown}: {what}"));
        let (text, mode) = read_config_file(path).map_err(|e| err(e.to_string()))?;
        let registry = Registry::from_toml_str(&text, |k| std::env::var(k).ok())
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

    /// The accounts called `names`, or all of them when `names` is empty.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Account>> {
        if names.is_empty() {
            return Ok(self.accounts.values().collect());
        }
        names.iter().map(|n| self.get(n)).collect()
    }

    /// Every account, by name.
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

/// The settings that are credentials. Held inline (not as `<setting>_env`)
/// in a file group or others can read, they are reported by
/// [`LoadedConfig::warning`].
pub const SECRET_SETTINGS: &[&str] = &["token", "client_secret", "password", "session_id", "sk"];

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
        let size = if max % (1024 * 1024) == 0 {
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
        for key in table.keys() {
            if SECRET_SETTINGS.contains(&key.as_str()) {
                found.push(format!("{name}.{key}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "full")]
    use jobstop_core::ErrorKind;

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

    #[cfg(any(feature = "full", feature = "dataarts"))]
    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
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
        assert_eq!(r.select(&[]).unwrap().len(), 1);
        let err = r.select(&["b".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("configured: a"), "{err}");
    }
}
