//! A scripted HTTP/1.1 server on loopback: each request gets the next scripted
//! reply, written by hand so tests control every byte (including closing the
//! connection early).

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
        /// Send the body without Content-Length and close the connection after it.
        close_delimited: bool,
    },
    CloseBeforeHeaders,
    CloseMidBody {
        declared: usize,
        sent: Vec<u8>,
    },
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
            close_delimited: false,
        }
    }

    pub fn ok(body: &str) -> Reply {
        Reply::status(200, body)
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((k.into(), v.into()));
        }
        self
    }

    pub fn content_type(mut self, v: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            headers.push(("Content-Type".into(), v.into()));
        }
        self
    }

    pub fn delayed(mut self, d: Duration) -> Reply {
        if let Reply::Respond { delay, .. } = &mut self {
            *delay = d;
        }
        self
    }

    pub fn close_delimited(mut self) -> Reply {
        if let Reply::Respond {
            close_delimited, ..
        } = &mut self
        {
            *close_delimited = true;
        }
        self
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Server {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Reply>>>,
    default: Arc<Mutex<Reply>>,
    log: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    peak_open: Arc<AtomicUsize>,
}

impl Server {
    pub async fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server {
            addr,
            script: Arc::new(Mutex::new(script.into())),
            default: Arc::new(Mutex::new(Reply::ok("{}"))),
            log: Arc::default(),
            connections: Arc::default(),
            open: Arc::default(),
            peak_open: Arc::default(),
        };
        let (script, default, log, conns, open, peak) = (
            server.script.clone(),
            server.default.clone(),
            server.log.clone(),
            server.connections.clone(),
            server.open.clone(),
            server.peak_open.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // A head and a body written apart must not wait on a delayed ACK.
                let _ = stream.set_nodelay(true);
                conns.fetch_add(1, Ordering::SeqCst);
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let (script, default, log, open) =
                    (script.clone(), default.clone(), log.clone(), open.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, script, default, log).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        server
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_default(&self, r: Reply) {
        *self.default.lock().unwrap() = r;
    }

    pub fn push(&self, r: Reply) {
        self.script.lock().unwrap().push_back(r);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Connections accepted in all.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The most connections that were open at once.
    pub fn peak_open_connections(&self) -> usize {
        self.peak_open.load(Ordering::SeqCst)
    }
}

async fn serve(
    stream: TcpStream,
    script: Arc<Mutex<VecDeque<Reply>>>,
    default: Arc<Mutex<Reply>>,
    log: Arc<Mutex<Vec<Recorded>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        log.lock().unwrap().push(Recorded {
            method,
            target,
            headers,
            body,
            at: Instant::now(),
        });
        let reply = script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| default.lock().unwrap().clone());
        let stream = reader.get_mut();
        match reply {
            Reply::CloseBeforeHeaders => return Ok(()),
            Reply::CloseMidBody { declared, sent } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&sent).await?;
                stream.flush().await?;
                return Ok(());
            }
            Reply::Respond {
                status,
                headers,
                body,
                delay,
                close_delimited,
            } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut head = format!("HTTP/1.1 {status} Whatever\r\n");
                for (k, v) in &headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                if close_delimited {
                    head.push_str("Connection: close\r\n\r\n");
                } else {
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                }
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
                stream.flush().await?;
                if close_delimited {
                    stream.shutdown().await?;
                    return Ok(());
                }
            }
        }
    }
}
