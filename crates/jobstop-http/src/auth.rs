//! Credentials: token sources and a caching token provider, an
//! [`Authenticator`] for the hook the HTTP client calls on every attempt.

use std::fmt::{self, Debug};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::{BoxFuture, FutureExt, Shared};
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use jobstop_core::{Error, Result};
use tokio::time::Instant;

use crate::client::{AuthStamp, Authenticator, HttpClient};
use crate::{HttpRequest, SecretString};

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

/// A token fetched from a source is reused for at least this long, whatever
/// its `expires_in` says (`0`, or a few milliseconds), so a source that
/// claims its tokens expire at once costs at most one fetch per second
/// rather than one per call. A token that really expired sooner is caught
/// by the one refresh after a 401.
pub const MIN_TOKEN_REUSE: Duration = Duration::from_secs(1);

/// Caches a [`TokenSource`]'s token, refreshes it shortly before it expires
/// (a tenth of its lifetime early, at most a minute; never sooner than
/// [`MIN_TOKEN_REUSE`] after the fetch), and refreshes it once after a 401.
///
/// Concurrent callers share one fetch, and its failure: a caller that finds
/// a fetch in flight waits for that one rather than starting its own, and
/// gets its error if it fails. No lock is held while fetching, so a caller
/// waits only as long as it chooses to ([`HttpClient::send`] bounds the wait
/// by the call's budget); the fetch goes on for the callers still waiting,
/// and a later caller joins it while it is in flight. A lifetime too large
/// to add to the clock (`expires_in: 10000000000000000000`) counts as "does
/// not expire".
pub struct TokenCache<S> {
    inner: Arc<CacheInner<S>>,
}

struct CacheInner<S> {
    source: S,
    state: std::sync::Mutex<CacheState>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

/// What a shared fetch ends with: the token and its stamp, or the error
/// (shared by every waiter, each getting a copy).
type Fetched = std::result::Result<(SecretString, AuthStamp), Arc<Error>>;

#[derive(Default)]
struct CacheState {
    cached: Option<Cached>,
    /// The fetch in flight, with its number.
    inflight: Option<(u64, Shared<BoxFuture<'static, Fetched>>)>,
    next_fetch: u64,
}

struct Cached {
    secret: SecretString,
    refresh_at: Option<Instant>,
    stamp: AuthStamp,
}

impl<S: Debug> Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.inner.source)
            .field("fetches", &self.inner.fetches.load(Ordering::Relaxed))
            .finish()
    }
}

impl<S> CacheInner<S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the end of fetch number `n`: caches the token, and forgets
    /// the fetch so the next caller after a failure starts a new one.
    fn finish(&self, n: u64, result: Result<Token>) -> Fetched {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        if state.inflight.as_ref().is_some_and(|(m, _)| *m == n) {
            state.inflight = None;
        }
        let token = result.map_err(Arc::new)?;
        let stamp = AuthStamp(self.generation.fetch_add(1, Ordering::Relaxed) + 1);
        state.cached = Some(Cached {
            secret: token.secret.clone(),
            refresh_at: token.expires_in.and_then(refresh_at),
            stamp,
        });
        Ok((token.secret, stamp))
    }
}

/// When to fetch again a token valid for `life` from now: a tenth of its
/// life early (at most a minute), but not before [`MIN_TOKEN_REUSE`]; `None`
/// (never) when the time is past what the clock can represent.
pub(crate) fn refresh_at(life: Duration) -> Option<Instant> {
    let margin = (life / 10).min(Duration::from_secs(60));
    let reuse = life.saturating_sub(margin).max(MIN_TOKEN_REUSE);
    Instant::now().checked_add(reuse)
}

impl<S: TokenSource + 'static> TokenCache<S> {
    /// A cache over `source`.
    pub fn new(source: S) -> Self {
        TokenCache {
            inner: Arc::new(CacheInner {
                source,
                state: std::sync::Mutex::new(CacheState::default()),
                generation: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.inner.source
    }

    /// How many token fetches ended (successful or not).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// A valid token and its stamp, fetching one if none is cached or the
    /// cached one is about to expire. A fetch already in flight is joined,
    /// not repeated; when it fails, every caller waiting for it gets its
    /// error.
    pub async fn token(&self, client: &HttpClient) -> Result<(SecretString, AuthStamp)> {
        let fetch = {
            let mut state = self.inner.lock();
            if let Some(c) = state.cached.as_ref()
                && c.refresh_at.is_none_or(|t| Instant::now() < t)
            {
                return Ok((c.secret.clone(), c.stamp));
            }
            match &state.inflight {
                Some((_, fetch)) => fetch.clone(),
                None => {
                    state.next_fetch += 1;
                    let n = state.next_fetch;
                    let inner = Arc::clone(&self.inner);
                    let client = client.clone();
                    let fetch = async move {
                        let result = inner.source.fetch(&client).await;
                        inner.finish(n, result)
                    }
                    .boxed()
                    .shared();
                    state.inflight = Some((n, fetch.clone()));
                    fetch
                }
            }
        };
        fetch.await.map_err(|e| e.shared_copy())
    }

    /// Forgets the token used with `stamp`, if it is still the cached one.
    /// Returns whether a refresh can give a new token.
    pub async fn invalidate(&self, stamp: AuthStamp) -> bool {
        if !self.inner.source.can_refresh() {
            return false;
        }
        let mut state = self.inner.lock();
        if state.cached.as_ref().is_some_and(|c| c.stamp == stamp) {
            state.cached = None;
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

impl<S: TokenSource + 'static> TokenAuth<S> {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(source: S) -> Self {
        TokenAuth {
            cache: TokenCache::new(source),
            header: AUTHORIZATION,
            scheme: Some("Bearer"),
        }
    }

    /// `<name>: <token>`. A name that is not a header name is a `Config`
    /// error.
    pub fn header(name: &str, source: S) -> Result<Self> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(format!("{name:?} is not a valid header name")))?;
        Ok(TokenAuth {
            cache: TokenCache::new(source),
            header,
            scheme: None,
        })
    }

    /// The cache, e.g. to count fetches in tests.
    pub fn cache(&self) -> &TokenCache<S> {
        &self.cache
    }
}

#[async_trait]
impl<S: TokenSource + 'static> Authenticator for TokenAuth<S> {
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
        request.headers.insert(self.header.clone(), value);
        Ok(stamp)
    }

    async fn refresh(&self, _client: &HttpClient, stamp: AuthStamp) -> Result<bool> {
        Ok(self.cache.invalidate(stamp).await)
    }
}
