//! The crate's own small HTTP types: a response's headers and status, so no
//! type of the HTTP stack underneath appears in the public API.

use std::fmt;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use jobstop_core::{Error, Result};

/// A response's headers, read-only for the adapters: look one up by name
/// (case-insensitive). `Debug` prints the header names only, never a value.
#[derive(Clone, Default)]
pub struct ResponseHeaders {
    map: HeaderMap,
}

impl fmt::Debug for ResponseHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may carry tokens (X-Subject-Token, Set-Cookie).
        f.debug_set()
            .entries(self.map.keys().map(HeaderName::as_str))
            .finish()
    }
}

impl ResponseHeaders {
    /// No headers.
    pub fn new() -> Self {
        ResponseHeaders::default()
    }

    /// The first value of `name`, if present and made of visible ASCII.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name)?.to_str().ok()
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds a header, for building a response by hand (tests, fuzzing). A
    /// name or value not allowed in a header is refused with `InvalidInput`.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<()> {
        let (name, value) = header_pair(name, value)?;
        self.map.append(name, value);
        Ok(())
    }

    pub(crate) fn from_map(map: HeaderMap) -> Self {
        ResponseHeaders { map }
    }
}

/// A header name and value checked for what HTTP allows, or `InvalidInput`
/// naming the header (never the value, which may be a secret).
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::invalid_input(format!("{name:?} is not a valid header name")))?;
    let v = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid_input(format!(
            "the value for header {name} contains forbidden characters"
        ))
    })?;
    Ok((n, v))
}

/// A response's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(u16);

impl Status {
    /// The status `code`.
    pub fn new(code: u16) -> Self {
        Status(code)
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 200 to 299.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }
}

impl From<Status> for u16 {
    fn from(s: Status) -> u16 {
        s.0
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_debug_hides_values() {
        let mut h = ResponseHeaders::new();
        h.insert("X-Subject-Token", "s3cr3t").expect("insert");
        assert_eq!(h.get("x-subject-token"), Some("s3cr3t"));
        assert!(h.contains("X-SUBJECT-TOKEN"));
        assert_eq!(h.get("other"), None);
        let shown = format!("{h:?}");
        assert!(
            shown.contains("x-subject-token") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert!(h.insert("bad name", "v").is_err());
        let err = h.insert("x", "a\r\nb").expect_err("line break");
        assert!(!err.to_string().contains("a\r\nb"));
    }

    #[test]
    fn status() {
        assert!(Status::new(204).is_success());
        assert!(!Status::new(301).is_success());
        assert_eq!(u16::from(Status::new(404)), 404);
        assert_eq!(Status::new(404).to_string(), "404");
    }
}
