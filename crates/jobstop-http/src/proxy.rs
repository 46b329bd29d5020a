//! Proxies: which requests go through one, and the connector that takes them
//! there.
//!
//! The rules are hyper-util's [`Matcher`], the same reqwest used (and so
//! jobstop before its transport became hyper): `HTTPS_PROXY` for `https://`
//! targets, `HTTP_PROXY` for `http://` ones, `ALL_PROXY` for both when the
//! former are unset, lowercase forms too, and `NO_PROXY` (curl's rules:
//! domains with their subdomains, IPs and networks, `*`) to bypass them.
//!
//! - An `https://` target goes through an HTTP `CONNECT` tunnel to the proxy,
//!   and TLS to the target runs inside it (the proxy sees only the host and
//!   port).
//! - An `http://` target (loopback, or another host the caller opted into)
//!   is sent in absolute form (`GET http://host/path`) to the proxy.
//!
//! Either way the connection counts against the *target* host's cap
//! (`pool.rs`), and credentials in the proxy URL (`http://user:pass@proxy`)
//! become a `Proxy-Authorization` header marked sensitive; they never appear
//! in `Debug`, logs or errors. Only `http://` proxies are supported.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::secret::SecretString;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which proxies an [`HttpClient`](crate::HttpClient) sends its requests
/// through ([`ClientConfig::proxies`](crate::ClientConfig::proxies)).
///
/// By default ([`Proxies::from_env`]) the ones the environment names when the
/// client is built, with the rules reqwest and curl use: `HTTPS_PROXY` for
/// `https://` targets, `HTTP_PROXY` for `http://` ones, `ALL_PROXY` for both
/// when those are unset (lowercase forms too), and `NO_PROXY` to bypass
/// them. Only `http://` proxies are supported; a request whose proxy has
/// another scheme (`https://`, `socks5://`) fails with a `Config` error.
///
/// Proxy URLs may carry credentials (`http://user:pass@proxy:3128`, with
/// reserved characters percent-encoded): they are sent as
/// `Proxy-Authorization` and never printed. An explicit proxy URL that is
/// not a usable proxy URL makes
/// [`HttpClient::from_config`](crate::HttpClient::from_config) fail with a
/// `Config` error; one in the environment is ignored, as under reqwest.
///
/// ```
/// use jobstop_http::{ClientConfig, Proxies};
///
/// let direct = ClientConfig::default().with_proxy_from_env(false);
/// assert_eq!(direct.proxies, Proxies::none());
///
/// let explicit = Proxies::explicit(
///     None,
///     Some("http://user:hunter2@proxy.corp:3128".into()),
///     "localhost,.internal.corp",
/// );
/// assert!(!format!("{explicit:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Proxies(Source);

#[derive(Clone, PartialEq, Eq, Default)]
enum Source {
    #[default]
    Env,
    Off,
    Explicit {
        http: Option<SecretString>,
        https: Option<SecretString>,
        no_proxy: String,
    },
}

impl Proxies {
    /// The proxies the environment names when the client is built (the
    /// default).
    pub fn from_env() -> Self {
        Proxies(Source::Env)
    }

    /// No proxy: every request connects to its target directly, whatever
    /// the environment says.
    pub fn none() -> Self {
        Proxies(Source::Off)
    }

    /// These proxies, with the rules of the variables they stand for and
    /// the environment ignored: `http` as `HTTP_PROXY`, `https` as
    /// `HTTPS_PROXY`, `no_proxy` as `NO_PROXY` (comma-separated; empty for
    /// none).
    pub fn explicit(
        http: Option<SecretString>,
        https: Option<SecretString>,
        no_proxy: impl Into<String>,
    ) -> Self {
        Proxies(Source::Explicit {
            http,
            https,
            no_proxy: no_proxy.into(),
        })
    }

    /// Whether the proxies are read from the environment.
    pub fn is_from_env(&self) -> bool {
        matches!(self.0, Source::Env)
    }

    /// The matcher, or `None` when no request can go through a proxy; an
    /// explicit proxy URL that cannot be used is an error naming which one
    /// (not its value, which may hold credentials). Proxy URLs in the
    /// environment that cannot be used are ignored, as under reqwest.
    pub(crate) fn matcher(&self) -> Result<Option<Arc<Matcher>>, &'static str> {
        let matcher = match &self.0 {
            Source::Off => return Ok(None),
            Source::Env => {
                let no_proxy = ["NO_PROXY", "no_proxy"]
                    .iter()
                    .find_map(|name| std::env::var(name).ok());
                if no_proxy.is_some_and(|list| bypasses_all(&list)) {
                    return Ok(None);
                }
                Matcher::from_env()
            }
            Source::Explicit {
                http,
                https,
                no_proxy,
            } => {
                let http = http.as_ref().map_or("", SecretString::expose_secret);
                let https = https.as_ref().map_or("", SecretString::expose_secret);
                if !usable(http) {
                    return Err("the explicit http proxy is not a usable proxy URL");
                }
                if !usable(https) {
                    return Err("the explicit https proxy is not a usable proxy URL");
                }
                if bypasses_all(no_proxy) {
                    return Ok(None);
                }
                Matcher::builder()
                    .http(http)
                    .https(https)
                    .no(no_proxy.as_str())
                    .build()
            }
        };
        Ok(Some(Arc::new(matcher)))
    }
}

/// Whether the matcher takes `url` as a proxy (empty: no proxy, fine).
fn usable(url: &str) -> bool {
    url.is_empty()
        || Matcher::builder()
            .all(url)
            .build()
            .intercept(&Uri::from_static("http://example.invalid/"))
            .is_some()
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Env => f.write_str("Proxies(from env)"),
            Source::Off => f.write_str("Proxies(none)"),
            // A proxy URL may hold credentials: print only whether it is set.
            Source::Explicit {
                http,
                https,
                no_proxy,
            } => f
                .debug_struct("Proxies")
                .field("http", &http.as_ref().map(|_| "***"))
                .field("https", &https.as_ref().map(|_| "***"))
                .field("no_proxy", no_proxy)
                .finish(),
        }
    }
}

/// Whether a `NO_PROXY` list holds `*`, which bypasses proxies for every
/// host (curl's rule; hyper-util's matcher applies it to names but not to
/// IP addresses).
fn bypasses_all(no_proxy: &str) -> bool {
    no_proxy.split(',').any(|entry| entry.trim() == "*")
}

/// The proxy `matcher` sends a request for `dst` through, if any.
pub(crate) fn route(
    matcher: Option<&Matcher>,
    dst: &Uri,
) -> Result<Option<Intercept>, UnsupportedProxy> {
    let Some(proxy) = matcher.and_then(|m| m.intercept(dst)) else {
        return Ok(None);
    };
    match proxy.uri().scheme_str() {
        Some("http") => Ok(Some(proxy)),
        other => Err(UnsupportedProxy(
            other.unwrap_or("(none)").to_ascii_lowercase(),
        )),
    }
}

/// A proxy whose scheme jobstop does not speak (it names only the scheme).
#[derive(Debug, thiserror::Error)]
#[error("the proxy set for this URL is a {0}:// proxy; only http:// proxies are supported")]
pub(crate) struct UnsupportedProxy(pub(crate) String);

/// Connects to a target directly, through a `CONNECT` tunnel (for
/// `https://` targets) or to the proxy itself (for `http://` targets, sent
/// in absolute form), as the matcher says.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    pub(crate) tcp: HttpConnector,
    pub(crate) matcher: Option<Arc<Matcher>>,
}

impl fmt::Debug for ProxyConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConnector")
            .field("proxies", &self.matcher.is_some())
            .finish()
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Service::<Uri>::poll_ready(&mut self.tcp, cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let route = route(self.matcher.as_deref(), &dst);
        let mut tcp = self.tcp.clone();
        Box::pin(async move {
            let Some(proxy) = route? else {
                let io = tcp.call(dst).await?;
                return Ok(ProxyStream {
                    io,
                    absolute_form: false,
                });
            };
            if dst.scheme_str() == Some("http") {
                // The request goes to the proxy in absolute form; the
                // client adds its `Proxy-Authorization`.
                let io = tcp.call(proxy.uri().clone()).await?;
                return Ok(ProxyStream {
                    io,
                    absolute_form: true,
                });
            }
            let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            let io = tunnel.call(dst).await?;
            Ok(ProxyStream {
                io,
                absolute_form: false,
            })
        })
    }
}

/// A TCP connection to a target or a proxy.
#[derive(Debug)]
pub(crate) struct ProxyStream {
    io: TokioIo<TcpStream>,
    /// Requests on it go to an HTTP proxy, in absolute form.
    absolute_form: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.absolute_form)
    }
}

crate::pool::delegate_io!(impl[] ProxyStream);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_in_no_proxy_bypasses_every_host() {
        assert!(bypasses_all("*"));
        assert!(bypasses_all("localhost, * ,10.0.0.0/8"));
        assert!(!bypasses_all(""));
        assert!(!bypasses_all("*.example.com,example.org"));
        let star = Proxies::explicit(Some("http://proxy:3128".into()), None, "localhost,*");
        assert!(star.matcher().expect("usable").is_none());
    }

    #[test]
    fn explicit_proxy_urls_that_cannot_be_used_are_refused_without_their_value() {
        let ok = Proxies::explicit(
            Some("http://ops:secret@proxy:3128".into()),
            Some("proxy:3128".into()),
            "",
        );
        let m = ok.matcher().expect("usable").expect("a matcher");
        let p = m
            .intercept(&Uri::from_static("http://jobs.example.com/x"))
            .expect("proxied");
        assert_eq!(p.uri().to_string(), "http://proxy:3128/");
        assert!(p.basic_auth().is_some());
        for bad in ["http://ops:sec ret@proxy:3128", "ftp://proxy:21"] {
            let err = Proxies::explicit(Some(bad.into()), None, "")
                .matcher()
                .expect_err(bad);
            assert!(err.contains("http proxy") && !err.contains("sec"), "{err}");
            let err = Proxies::explicit(None, Some(bad.into()), "")
                .matcher()
                .expect_err(bad);
            assert!(err.contains("https proxy"), "{err}");
        }
        assert!(Proxies::none().matcher().expect("none").is_none());
    }
}
