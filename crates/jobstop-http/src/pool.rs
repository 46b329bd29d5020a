//! The per-host connection cap: at most `cap` requests in flight to one host,
//! and a new connection only while the connections open to that host are
//! fewer than the requests in flight plus one.
//!
//! A cap on requests alone does not bound connections. The pool hands a
//! connection back a little after its response has been read, so a request
//! that starts the moment another ends finds no idle connection, races a new
//! connect against the hand-back, and keeps the loser as an idle spare; under
//! load the spares add up (260 to 419 connections for 256 stops in flight,
//! before this cap). So every connection holds an [`OpenConn`] for as long as
//! its socket lives, and the connector opens one only while
//! `open < in_flight + 1`: a request in flight that finds every connection
//! busy waits for one to come back instead of opening a spare. Whatever the
//! timing, the connections open to a host stay within the most requests in
//! flight to it plus one, and one caller making sequential calls uses at most
//! two connections.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The gates of every host one client talks to.
#[derive(Debug)]
pub(crate) struct Gates {
    cap: usize,
    hosts: Mutex<HashMap<String, Arc<Gate>>>,
}

impl Gates {
    /// Gates letting at most `cap` (at least 1) requests in flight per host.
    pub(crate) fn new(cap: usize) -> Self {
        Gates {
            cap: cap.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The gate of the host `key` names (see [`host_key`]).
    pub(crate) fn host(&self, key: String) -> Arc<Gate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let cap = self.cap;
        Arc::clone(hosts.entry(key).or_insert_with(|| Arc::new(Gate::new(cap))))
    }
}

/// `scheme://host:port`, the same for a URL and the URI built from it.
pub(crate) fn host_key(scheme: &str, host: &str, port: Option<u16>) -> String {
    let port = port.unwrap_or(match scheme {
        "https" => 443,
        _ => 80,
    });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    format!(
        "{}://{}:{port}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    in_flight: usize,
}

/// One host's request cap and connection count.
#[derive(Debug)]
pub(crate) struct Gate {
    requests: Arc<Semaphore>,
    counts: Mutex<Counts>,
    changed: Notify,
}

impl Gate {
    fn new(cap: usize) -> Self {
        Gate {
            requests: Arc::new(Semaphore::new(cap)),
            counts: Mutex::new(Counts::default()),
            changed: Notify::new(),
        }
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a place among the requests in flight; the place is held
    /// until the returned guard drops (after the response body is read).
    pub(crate) async fn enter(self: &Arc<Self>) -> InFlight {
        // The semaphore is never closed; if it were, the request would go on
        // uncapped rather than fail.
        let permit = Arc::clone(&self.requests).acquire_owned().await.ok();
        self.counts().in_flight += 1;
        self.changed.notify_waiters();
        InFlight {
            gate: Arc::clone(self),
            _permit: permit,
        }
    }

    /// Waits until a new connection is allowed (fewer open than requests in
    /// flight plus one), or `wait` passes. With no request in flight, no
    /// connection is needed: the connect fails at once, so a connect the pool
    /// finishes in the background for a request that has ended (or been
    /// dropped with its client) does not linger.
    async fn open(self: &Arc<Self>, wait: Duration) -> Result<OpenConn, BoxError> {
        let ready = async {
            loop {
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                {
                    let mut c = self.counts();
                    if c.in_flight == 0 {
                        return Err(BoxError::from(NotNeeded));
                    }
                    if c.open < c.in_flight + 1 {
                        c.open += 1;
                        return Ok(OpenConn {
                            gate: Arc::clone(self),
                        });
                    }
                }
                notified.await;
            }
        };
        tokio::time::timeout(wait, ready).await.map_err(|_| {
            BoxError::from(ConnectTimedOut(
                "no connection came free within the connect timeout",
            ))
        })?
    }

    #[cfg(test)]
    fn open_now(&self) -> usize {
        self.counts().open
    }
}

/// A request's place among those in flight to its host.
#[derive(Debug)]
pub(crate) struct InFlight {
    gate: Arc<Gate>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gate.counts().in_flight -= 1;
        self.gate.changed.notify_waiters();
    }
}

/// One open connection to a host, counted until its socket is dropped.
#[derive(Debug)]
struct OpenConn {
    gate: Arc<Gate>,
}

impl Drop for OpenConn {
    fn drop(&mut self) {
        self.gate.counts().open -= 1;
        self.gate.changed.notify_waiters();
    }
}

/// A connect for a host no request is in flight to.
#[derive(Debug, thiserror::Error)]
#[error("no request needs a new connection")]
struct NotNeeded;

/// A connect (TCP and TLS) that did not finish within the connect timeout.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ConnectTimedOut(pub(crate) &'static str);

/// A connector that opens a connection only through its host's gate, and
/// bounds the whole connect (TCP and TLS) by `timeout`.
#[derive(Clone, Debug)]
pub(crate) struct CappedConnector<C> {
    pub(crate) inner: C,
    pub(crate) gates: Arc<Gates>,
    pub(crate) timeout: Duration,
}

impl<C> tower_service::Service<Uri> for CappedConnector<C>
where
    C: tower_service::Service<Uri> + Clone + Send + 'static,
    C::Response: Read + Write + Connection + Unpin + Send + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = Capped<C::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let gate = self.gates.host(host_key(
            uri.scheme_str().unwrap_or("http"),
            uri.host().unwrap_or(""),
            uri.port_u16(),
        ));
        let timeout = self.timeout;
        // `poll_ready` readied this clone; keep it for the call.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Box::pin(async move {
            let open = gate.open(timeout).await?;
            let io = tokio::time::timeout(timeout, inner.call(uri))
                .await
                .map_err(|_| {
                    BoxError::from(ConnectTimedOut(
                        "the connection was not established within the connect timeout",
                    ))
                })?
                .map_err(Into::into)?;
            Ok(Capped { io, _open: open })
        })
    }
}

/// Implements hyper's `Read` and `Write` for a wrapper by passing every call
/// to its `io` field: `delegate_io!(impl[T: Read + Write + Unpin] Wrapper<T>)`.
macro_rules! delegate_io {
    (impl[$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> ::hyper::rt::Read for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: ::hyper::rt::ReadBufCursor<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
            }
        }

        impl<$($generics)*> ::hyper::rt::Write for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().io).poll_flush(cx)
            }

            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
            }

            fn is_write_vectored(&self) -> bool {
                self.io.is_write_vectored()
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
            }
        }
    };
}
pub(crate) use delegate_io;

/// A connection that counts against its host's gate until dropped.
#[derive(Debug)]
pub(crate) struct Capped<T> {
    io: T,
    _open: OpenConn,
}

impl<T: Connection> Connection for Capped<T> {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}

delegate_io!(impl[T: Read + Write + Unpin] Capped<T>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_uri_give_the_same_key() {
        let url = url::Url::parse("http://[::1]:8080/x").expect("url");
        let uri: Uri = url.as_str().parse().expect("uri");
        assert_eq!(
            host_key(url.scheme(), url.host_str().unwrap_or(""), url.port()),
            host_key(
                uri.scheme_str().unwrap_or(""),
                uri.host().unwrap_or(""),
                uri.port_u16()
            ),
        );
        assert_eq!(
            host_key("https", "Example.COM", None),
            host_key("https", "example.com", Some(443))
        );
    }

    #[tokio::test]
    async fn a_connection_opens_only_below_in_flight_plus_one() {
        let gate = Arc::new(Gate::new(4));
        let wait = Duration::from_millis(50);
        // Nothing in flight: nothing opens.
        assert!(gate.open(Duration::from_secs(5)).await.is_err());
        // One request in flight: two connections at most.
        let a = gate.enter().await;
        let first = gate.open(wait).await.expect("first");
        let second = gate.open(wait).await.expect("second");
        assert!(gate.open(wait).await.is_err());
        assert_eq!(gate.open_now(), 2);
        // A waiting connect goes ahead once another request enters.
        let g = Arc::clone(&gate);
        let waiting = tokio::spawn(async move { g.open(Duration::from_secs(5)).await });
        tokio::task::yield_now().await;
        let b = gate.enter().await;
        let third = waiting.await.expect("join").expect("third");
        assert_eq!(gate.open_now(), 3);
        // A connect left waiting fails as soon as no request is in flight,
        // not at its timeout.
        let g = Arc::clone(&gate);
        let started = std::time::Instant::now();
        let waiting = tokio::spawn(async move { g.open(Duration::from_secs(30)).await.is_ok() });
        tokio::task::yield_now().await;
        drop((a, b));
        assert!(!waiting.await.expect("join"));
        assert!(started.elapsed() < Duration::from_secs(30));
        drop((first, second, third));
        assert_eq!(gate.open_now(), 0);
    }
}
