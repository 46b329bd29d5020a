//! Base URLs and path segments.

use std::fmt;
use std::net::IpAddr;

use jobstop_core::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::{Host, Url};

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest value [`encode_segment`] accepts, in bytes.
pub const MAX_SEGMENT_LEN: usize = 1024;

/// Whether plain `http://` may be used for a host other than loopback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InsecureHttp {
    /// `http://` only for `localhost`, `127.0.0.0/8` and `[::1]` (the default).
    #[default]
    LoopbackOnly,
    /// `http://` for any host. Credentials then cross the network in clear
    /// text; opt in only for trusted networks.
    Allow,
}

/// A validated vendor base URL: `https`, or `http` on loopback (unless
/// [`InsecureHttp::Allow`]); no credentials, query or fragment in it; no
/// trailing slash.
///
/// ```
/// use jobstop_http::{BaseUrl, InsecureHttp};
///
/// assert!(BaseUrl::parse("https://app.amperity.com/api").is_ok());
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// assert!(BaseUrl::parse("http://example.com").is_err());
/// assert!(BaseUrl::parse_with("http://example.com", InsecureHttp::Allow).is_ok());
///
/// let base = BaseUrl::parse("https://app.amperity.com/api/").unwrap();
/// let url = base.path().lit("workflow/runs").segment("a/b?c").unwrap().lit("stop").build();
/// assert_eq!(url.as_str(), "https://app.amperity.com/api/workflow/runs/a%2Fb%3Fc/stop");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Parses and validates a base URL, allowing `http` only on loopback.
    pub fn parse(s: &str) -> Result<Self> {
        BaseUrl::parse_with(s, InsecureHttp::LoopbackOnly)
    }

    /// Parses and validates a base URL with an explicit `http` policy.
    pub fn parse_with(s: &str, insecure: InsecureHttp) -> Result<Self> {
        let mut url = Url::parse(s.trim())
            .map_err(|e| Error::config(format!("base URL is not a valid URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "base URL must not contain credentials; configure them separately",
            ));
        }
        let host = match url.host() {
            Some(h) => h.to_owned(),
            None => return Err(Error::config("base URL has no host")),
        };
        match url.scheme() {
            "https" => {}
            "http" => {
                if insecure == InsecureHttp::LoopbackOnly && !is_loopback(&host) {
                    return Err(Error::config(format!(
                        "base URL uses plain http:// for non-loopback host {host}; use https:// \
                         or opt in to insecure HTTP explicitly"
                    )));
                }
            }
            other => {
                return Err(Error::config(format!(
                    "base URL scheme must be https (or http on loopback), not {other}"
                )));
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config("base URL must not have a query or fragment"));
        }
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        Ok(BaseUrl(url))
    }

    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The URL as a string (no trailing slash).
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// Whether the host is loopback.
    pub fn is_loopback(&self) -> bool {
        self.0.host().is_some_and(|h| is_loopback(&h.to_owned()))
    }

    /// Starts a path below this base URL.
    pub fn path(&self) -> PathBuilder {
        PathBuilder {
            url: self.0.clone(),
            path: self.0.path().trim_end_matches('/').to_owned(),
        }
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({:?})", self.as_str())
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// Builds a request URL from literal path parts and encoded values.
#[derive(Debug, Clone)]
#[must_use]
pub struct PathBuilder {
    url: Url,
    path: String,
}

impl PathBuilder {
    /// Appends literal segments written by the adapter (e.g. `"workflow/runs"`).
    /// Never pass user or vendor data here; use [`segment`](Self::segment).
    pub fn lit(mut self, literal: &'static str) -> Self {
        for part in literal.split('/').filter(|p| !p.is_empty()) {
            debug_assert!(
                part.bytes()
                    .all(|b| SEGMENT_OK.contains(&b) || b.is_ascii_alphanumeric()),
                "literal path part {part:?} needs encoding"
            );
            self.path.push('/');
            self.path.push_str(part);
        }
        self
    }

    /// Appends one value (a run id, a job name) as exactly one encoded path
    /// segment. Refuses values [`encode_segment`] refuses.
    pub fn segment(mut self, value: &str) -> Result<Self> {
        let enc = encode_segment(value)?;
        self.path.push('/');
        self.path.push_str(&enc);
        Ok(self)
    }

    /// The finished URL, without a query.
    pub fn build(mut self) -> Url {
        self.url.set_path(&self.path);
        self.url
    }
}

const SEGMENT_OK: &[u8] = b"-._~:@!$&'()*+,;=";

/// Percent-encodes `value` as exactly one path segment.
///
/// Everything but RFC 3986 unreserved characters is encoded, so `/`, `?`, `#`,
/// `%` and spaces can never change the request target. Refused with
/// `InvalidInput`: the empty string, `.` and `..` (which URL parsers treat as
/// navigation even when encoded), control characters (CR, LF, NUL, …) and
/// values over [`MAX_SEGMENT_LEN`] bytes.
pub fn encode_segment(value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::invalid_input("id must not be empty"));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input("id must not be \".\" or \"..\""));
    }
    if value.len() > MAX_SEGMENT_LEN {
        return Err(Error::invalid_input(format!(
            "id is {} bytes long; the limit is {MAX_SEGMENT_LEN}",
            value.len()
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "id must not contain control characters",
        ));
    }
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::ErrorKind;
    use proptest::prelude::*;

    fn base() -> BaseUrl {
        BaseUrl::parse("https://vendor.example/api/v1").unwrap()
    }

    #[test]
    fn validation() {
        for ok in [
            "https://h.example",
            "https://h.example/api/",
            "http://localhost:1234",
            "http://127.0.0.7:80/x",
            "http://[::1]:9/",
            "HTTPS://H.EXAMPLE",
        ] {
            assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://h.example",
            "http://10.0.0.1",
            "http://localhost.evil.example",
            "ftp://h.example",
            "https://user:pass@h.example",
            "https://h.example/?x=1",
            "https://h.example/#f",
            "not a url",
            "",
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(!err.to_string().contains("pass"), "{err}");
        }
        assert!(BaseUrl::parse_with("http://h.example", InsecureHttp::Allow).is_ok());
        assert_eq!(
            BaseUrl::parse("https://h.example/api/").unwrap().as_str(),
            "https://h.example/api"
        );
    }

    #[test]
    fn hostile_ids() {
        for bad in ["", ".", "..", "a\r\nb", "a\0", "\n"] {
            assert_eq!(
                encode_segment(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        assert!(encode_segment(&"x".repeat(MAX_SEGMENT_LEN + 1)).is_err());
        let cases = [
            ("a/b", "a%2Fb"),
            ("../x", "..%2Fx"),
            ("?q=1", "%3Fq%3D1"),
            ("#f", "%23f"),
            ("%2e%2e", "%252e%252e"),
            ("a b", "a%20b"),
            ("é", "%C3%A9"),
            ("wf-20240619-14418-6UhqSe", "wf-20240619-14418-6UhqSe"),
            ("...", "..."),
        ];
        for (raw, enc) in cases {
            assert_eq!(encode_segment(raw).unwrap(), enc);
            let url = base().path().lit("runs").segment(raw).unwrap().build();
            assert_eq!(url.path(), format!("/api/v1/runs/{enc}"));
        }
    }

    proptest! {
        #[test]
        fn any_id_is_one_segment_or_refused(id in any::<String>()) {
            match base().path().lit("runs").segment(&id) {
                Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidInput),
                Ok(b) => {
                    let url = b.lit("stop").build();
                    // Re-parse the URL as a server or proxy would.
                    let reparsed = Url::parse(url.as_str()).unwrap();
                    prop_assert_eq!(reparsed.host_str(), Some("vendor.example"));
                    prop_assert_eq!(reparsed.query(), None);
                    prop_assert_eq!(reparsed.fragment(), None);
                    let segs: Vec<&str> = reparsed.path_segments().unwrap().collect();
                    prop_assert_eq!(segs.len(), 5);
                    prop_assert_eq!(&segs[..3], &["api", "v1", "runs"]);
                    prop_assert_eq!(segs[4], "stop");
                    let decoded = percent_encoding::percent_decode_str(segs[3]).decode_utf8().unwrap();
                    prop_assert_eq!(decoded.as_ref(), id.as_str());
                }
            }
        }

        #[test]
        fn hostile_alphabet_ids(id in "[./?#% \\\\a-z\u{e9}\u{202e}]{0,12}") {
            if let Ok(b) = base().path().segment(&id) {
                let url = Url::parse(b.build().as_str()).unwrap();
                prop_assert_eq!(url.path_segments().unwrap().count(), 3);
                prop_assert_eq!(url.query(), None);
            }
        }
    }
}
