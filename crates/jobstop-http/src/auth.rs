//! Credentials: token sources, a caching token provider, and the
//! [`Authenticator`] hook the HTTP layer calls on every attempt.

use std::fmt::{self, Debug};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jobstop_core::{Error, Result};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::{HttpClient, HttpRequest, SecretString};

/// Which credential an attempt used, so a 401 refreshes only a stale one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AuthStamp(pub u64);

/// Adds credentials to requests. Implemented by [`TokenAuth`]; adapters with
/// other schemes (sessions, request signing) implement it themselves.
#[async_trait]
pub trait Authenticator: Debug + Send + Sync {
    /// Adds credentials to `request` (headers, query, signature). `client` has
    /// no authenticator, for fetching tokens or logging in.
    async fn authenticate(
        &self,
        client: &HttpClient,
        request: &mut HttpRequest,
    ) -> Result<AuthStamp>;

    /// Called once per call after a 401 answered a request made with `stamp`.
    /// Returns `true` when fresh credentials are available and the request
    /// should be sent again, `false` when nothing can be refreshed (a static
    /// token). Concurrent callers with the same stale stamp refresh once.
    async fn refresh(&self, client: &HttpClient, stamp: AuthStamp) -> Result<bool>;
}

/// A token and when it stops being valid.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token.
    pub secret: SecretString,
    /// How long it is valid from now, if known.
    pub expires_in: Option<Duration>,
}

impl Token {
    /// A token that never expires (as far as we know).
    pub fn new(secret: SecretString) -> Self {
        Token {
            secret,
            expires_in: None,
        }
    }

    /// A token valid for `expires_in` from now.
    pub fn expiring(secret: SecretString, expires_in: Duration) -> Self {
        Token {
            secret,
            expires_in: Some(expires_in),
        }
    }
}

/// Where tokens come from: a static value, an OAuth token endpoint, a login.
#[async_trait]
pub trait TokenSource: Debug + Send + Sync {
    /// Fetches a new token. `client` has no authenticator.
    async fn fetch(&self, client: &HttpClient) -> Result<Token>;

    /// Whether fetching again can give a different token (false for a static token).
    fn can_refresh(&self) -> bool {
        true
    }
}

/// A fixed token given by the user.
#[derive(Debug, Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: SecretString) -> Self {
        StaticToken(token)
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn fetch(&self, _client: &HttpClient) -> Result<Token> {
        Ok(Token::new(self.0.clone()))
    }

    fn can_refresh(&self) -> bool {
        false
    }
}

/// Caches a [`TokenSource`]'s token, refreshes it shortly before it expires
/// (a tenth of its lifetime early, at most a minute), and refreshes it once
/// after a 401. Concurrent callers share one fetch.
pub struct TokenCache<S> {
    source: S,
    state: Mutex<Option<Cached>>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

struct Cached {
    secret: SecretString,
    refresh_at: Option<Instant>,
    stamp: AuthStamp,
}

impl<S: Debug> Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.source)
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish()
    }
}

impl<S: TokenSource> TokenCache<S> {
    /// A cache over `source`.
    pub fn new(source: S) -> Self {
        TokenCache {
            source,
            state: Mutex::new(None),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// How many times a token was fetched.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token and its stamp, fetching one if none is cached or the
    /// cached one is about to expire.
    pub async fn token(&self, client: &HttpClient) -> Result<(SecretString, AuthStamp)> {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref() {
            if c.refresh_at.is_none_or(|t| Instant::now() < t) {
                return Ok((c.secret.clone(), c.stamp));
            }
        }
        let token = self.source.fetch(client).await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let stamp = AuthStamp(self.generation.fetch_add(1, Ordering::Relaxed) + 1);
        let refresh_at = token.expires_in.map(|life| {
            let margin = (life / 10).min(Duration::from_secs(60));
            Instant::now() + life.saturating_sub(margin)
        });
        *state = Some(Cached {
            secret: token.secret.clone(),
            refresh_at,
            stamp,
        });
        Ok((token.secret, stamp))
    }

    /// Forgets the token used with `stamp`, if it is still the cached one.
    /// Returns whether a refresh can give a new token.
    pub async fn invalidate(&self, stamp: AuthStamp) -> bool {
        if !self.source.can_refresh() {
            return false;
        }
        let mut state = self.state.lock().await;
        if state.as_ref().is_some_and(|c| c.stamp == stamp) {
            *state = None;
        }
        true
    }
}

/// Puts a cached token in a header: `Authorization: Bearer <token>` by
/// default, or any header (e.g. `X-Auth-Token: <token>`).
pub struct TokenAuth<S> {
    cache: TokenCache<S>,
    header: HeaderName,
    scheme: Option<&'static str>,
}

impl<S: Debug> Debug for TokenAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAuth")
            .field("header", &self.header)
            .field("cache", &self.cache)
            .finish()
    }
}

impl<S: TokenSource> TokenAuth<S> {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(source: S) -> Self {
        TokenAuth {
            cache: TokenCache::new(source),
            header: AUTHORIZATION,
            scheme: Some("Bearer"),
        }
    }

    /// `<header>: <token>`.
    pub fn header(header: HeaderName, source: S) -> Self {
        TokenAuth {
            cache: TokenCache::new(source),
            header,
            scheme: None,
        }
    }

    /// The cache, e.g. to count fetches in tests.
    pub fn cache(&self) -> &TokenCache<S> {
        &self.cache
    }
}

#[async_trait]
impl<S: TokenSource> Authenticator for TokenAuth<S> {
    async fn authenticate(
        &self,
        client: &HttpClient,
        request: &mut HttpRequest,
    ) -> Result<AuthStamp> {
        let (secret, stamp) = self.cache.token(client).await?;
        let text = match self.scheme {
            Some(scheme) => format!("{scheme} {}", secret.expose_secret()),
            None => secret.expose_secret().to_owned(),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::config("the access token contains characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(self.header.clone(), value);
        Ok(stamp)
    }

    async fn refresh(&self, _client: &HttpClient, stamp: AuthStamp) -> Result<bool> {
        Ok(self.cache.invalidate(stamp).await)
    }
}
