//! A string that never prints itself.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret (token, password, session id, secret key) that prints as `***`
/// in `Debug` and `Display`, so it cannot leak through logs or error messages
/// by accident. Reading it takes an explicit [`expose_secret`](Self::expose_secret).
///
/// It deserializes from a plain string (for config files) but deliberately
/// does not implement `Serialize`.
///
/// ```
/// use jobstop_http::SecretString;
///
/// let s = SecretString::new("hunter2");
/// assert_eq!(format!("{s:?} {s}"), "SecretString(***) ***");
/// assert_eq!(s.expose_secret(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Box<str>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        SecretString(secret.into().into_boxed_str())
    }

    /// The secret itself. Call this only where the value is sent to the vendor.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString::new(s)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let value = "s3cr3t-T0KEN-value";
        let s = SecretString::new(value);
        let wrapped = Some(vec![s.clone()]);
        for printed in [
            format!("{s}"),
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{wrapped:?}"),
            format!("{wrapped:#?}"),
        ] {
            assert!(!printed.contains(value), "{printed}");
            assert!(printed.contains("***"), "{printed}");
        }
        let de: SecretString = serde_json::from_str("\"s3cr3t-T0KEN-value\"").unwrap();
        assert_eq!(de, s);
        assert!(!format!("{de:?}").contains(value));
    }
}
