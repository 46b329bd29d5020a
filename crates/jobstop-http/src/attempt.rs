//! One attempt's failure, shared by the client (which sends the attempt and
//! decides whether to retry) and the response reader (whose body read can
//! fail).

use bytes::Bytes;
use jobstop_core::{Error, ErrorKind};

use crate::headers::ResponseHeaders;
use crate::pool::ConnectTimedOut;
use crate::request::RequestMeta;

/// How one attempt failed: an error status with its headers and body, a
/// transport failure (`connect`: before the request was sent), or an error
/// that no retry can fix.
pub(crate) enum AttemptError {
    Status(u16, ResponseHeaders, Bytes),
    Transport { error: Error, connect: bool },
    Fatal(Error),
}

pub(crate) fn transport(meta: &RequestMeta, e: hyper_util::client::legacy::Error) -> AttemptError {
    let connect = e.is_connect();
    let timed_out = caused_by::<ConnectTimedOut>(&e);
    let what = if timed_out {
        "could not connect within the connect timeout"
    } else if connect {
        "could not connect"
    } else {
        "connection failed before a response arrived"
    };
    // The cause names no URL, header or body.
    let error = meta
        .error(
            if timed_out {
                ErrorKind::Timeout
            } else {
                ErrorKind::Transport
            },
            format!("{} {}: {what}", meta.method, meta.path),
        )
        .with_source(e);
    AttemptError::Transport { error, connect }
}

/// A connection that failed while the response body was read.
pub(crate) fn body_failure(meta: &RequestMeta, e: hyper::Error) -> AttemptError {
    let error = meta
        .error(
            ErrorKind::Transport,
            format!(
                "{} {}: connection failed while reading the response body",
                meta.method, meta.path
            ),
        )
        .with_source(e);
    AttemptError::Transport {
        error,
        connect: false,
    }
}

fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<T>() {
            return true;
        }
        cur = err.source();
    }
    false
}
