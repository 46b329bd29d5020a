//! Credential hygiene checks over real traffic: a loopback relay that keeps
//! the raw bytes a client and a simulator exchange (the simulator's own log
//! masks credentials), the credentials found in them, and the texts
//! ("sinks": log lines, error and `Debug` output) that must never show one.
//!
//! Test support: every failure is a panic naming what went wrong.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fmt;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

// ----- the raw traffic ---------------------------------------------------

type Streams = Arc<Mutex<Vec<Arc<Mutex<Vec<u8>>>>>>;

/// A loopback TCP relay in front of a simulator server that keeps a copy of
/// every byte crossing it, per connection and direction: the credentials as
/// they really travel (the simulator's own request log masks them).
pub struct Tap {
    addr: SocketAddr,
    streams: Streams,
}

impl Tap {
    /// Relays to the server of `upstream` (an `http://127.0.0.1:PORT/…` URL).
    pub fn start(upstream: &str) -> Tap {
        let rest = upstream.strip_prefix("http://").unwrap();
        let upstream: SocketAddr = rest.split('/').next().unwrap().parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let streams = Streams::default();
        let keep = Arc::clone(&streams);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                relay(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    &keep,
                );
                relay(server, client, &keep);
            }
        });
        Tap { addr, streams }
    }

    /// `url` (a URL of the upstream server) pointed at the relay instead.
    pub fn url(&self, url: &str) -> String {
        let rest = url.strip_prefix("http://").unwrap();
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        format!("http://{}{path}", self.addr)
    }

    /// Every HTTP message relayed so far, each as its head and its body.
    pub fn messages(&self) -> Vec<(String, String)> {
        let streams = self.streams.lock().unwrap();
        let mut out = Vec::new();
        for stream in streams.iter() {
            let mut rest: &[u8] = &stream.lock().unwrap();
            while !rest.is_empty() {
                let (message, next) = split_message(rest);
                out.push(message);
                rest = next;
            }
        }
        out
    }
}

/// The first HTTP/1.1 message of `bytes` (head, body), and what follows it.
fn split_message(bytes: &[u8]) -> ((String, String), &[u8]) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return ((text(bytes), String::new()), &[]);
    };
    let head = text(&bytes[..end]);
    let mut rest = &bytes[end + 4..];
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        let len = len.min(rest.len());
        body.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(text(&rest[..eol]).trim(), 16).unwrap_or(0);
            rest = &rest[eol + 2..];
            let size = size.min(rest.len());
            body.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or_default();
            if size == 0 {
                break;
            }
        }
    }
    ((head, text(&body)), rest)
}

/// Copies `from` to `to` on a thread of its own, keeping a copy.
fn relay(mut from: TcpStream, mut to: TcpStream, streams: &Streams) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    streams.lock().unwrap().push(Arc::clone(&kept));
    std::thread::spawn(move || {
        let mut chunk = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut chunk) {
            kept.lock().unwrap().extend_from_slice(&chunk[..n]);
            if to.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// The credentials in raw HTTP traffic, each with where it was found:
/// credential header values (whole, the part after an `Authorization`
/// scheme, a `Signature=`, a cookie's value), and the values of credential
/// fields in queries, forms and JSON bodies.
pub fn credentials_on_the_wire(messages: &[(String, String)]) -> BTreeSet<(String, String)> {
    const HEADERS: [&str; 6] = [
        "authorization",
        "x-auth-token",
        "x-subject-token",
        "cookie",
        "set-cookie",
        "x-csrf-token",
    ];
    const FIELDS: [&str; 7] = [
        "session_id",
        "password",
        "client_secret",
        "access_token",
        "token",
        "bearerToken",
        "csrf_token",
    ];
    let mut found = BTreeSet::new();
    let mut add = |kind: String, value: &str| {
        let value = value.trim();
        if value.len() >= 8 && value != "NULL" {
            found.insert((kind, value.to_owned()));
        }
    };
    for (head, body) in messages {
        for line in head.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            if !HEADERS.contains(&name.as_str()) {
                continue;
            }
            let value = value.trim();
            add(format!("{name} header"), value);
            if name == "authorization" {
                if let Some((_, credential)) = value.split_once(' ') {
                    add("authorization credential".into(), credential);
                }
                if let Some((_, sig)) = value.split_once("Signature=") {
                    add("signature".into(), sig.split([',', ' ']).next().unwrap());
                }
            }
            if name.ends_with("cookie")
                && let Some((_, cookie)) = value.split(';').next().unwrap().split_once('=')
            {
                add(format!("{name} value"), cookie);
            }
        }
        // The request line's target, and the body.
        let text = format!("{}\n{body}", head.lines().next().unwrap_or_default());
        for field in FIELDS {
            let pair = format!("{field}=");
            for (i, _) in text.match_indices(&pair) {
                let before = text[..i].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let value = text[i + pair.len()..]
                    .split(['&', ' ', '\r', '\n', '"', ';'])
                    .next()
                    .unwrap();
                add(field.to_owned(), value);
            }
            let key = format!("\"{field}\"");
            for (i, _) in text.match_indices(&key) {
                let value = text[i + key.len()..]
                    .trim_start()
                    .strip_prefix(':')
                    .map(str::trim_start)
                    .and_then(|v| v.strip_prefix('"'))
                    .and_then(|v| v.split_once('"'));
                if let Some((value, _)) = value {
                    add(field.to_owned(), value);
                }
            }
        }
    }
    found
}

/// The values of `kind` in `wire`.
pub fn of_kind<'a>(wire: &'a BTreeSet<(String, String)>, kind: &str) -> BTreeSet<&'a str> {
    wire.iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, v)| v.as_str())
        .collect()
}

// ----- the sinks ---------------------------------------------------------

/// Every text that must stay free of credentials, labelled.
#[derive(Default)]
pub struct Sinks(Vec<(String, String)>);

impl Sinks {
    /// Every sink recorded so far: (label, text).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(l, t)| (l.as_str(), t.as_str()))
    }

    /// Records `value`'s `Debug` and alternate `Debug` under `label`.
    pub fn debug(&mut self, label: &str, value: &dyn fmt::Debug) {
        self.0
            .push((format!("{label} Debug"), format!("{value:?}")));
        self.0
            .push((format!("{label} Debug (alternate)"), format!("{value:#?}")));
    }

    /// The error's `Display` and `Debug`, and those of every cause.
    pub fn error(&mut self, label: &str, err: &jobstop_core::Error) {
        self.0
            .push((format!("{label}: error Display"), err.to_string()));
        self.debug(&format!("{label}: error"), err);
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            self.0
                .push((format!("{label}: cause Display"), cause.to_string()));
            self.0
                .push((format!("{label}: cause Debug"), format!("{cause:?}")));
            source = cause.source();
        }
    }

    /// Records the error of a call that must fail and returns it.
    pub fn failed<T: fmt::Debug>(
        &mut self,
        label: &str,
        result: jobstop_core::Result<T>,
    ) -> jobstop_core::Error {
        let err = result.unwrap_err();
        self.error(label, &err);
        err
    }

    /// Records every line of captured `logs`.
    pub fn logs(&mut self, logs: &str) {
        for (n, line) in logs.lines().enumerate() {
            self.0
                .push((format!("log line {}", n + 1), line.to_owned()));
        }
    }

    /// Panics naming each sink that shows one of `secrets`.
    pub fn assert_free_of(&self, secrets: &[(String, String)]) {
        let mut leaks = Vec::new();
        for (what, secret) in secrets {
            assert!(secret.len() >= 8, "{what} is too short to search for");
            for (sink, text) in &self.0 {
                if text.contains(secret.as_str()) {
                    leaks.push(format!("{what} leaked into {sink}: {text}"));
                }
            }
        }
        assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    }
}
