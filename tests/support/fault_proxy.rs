//! A small HTTP proxy on 127.0.0.1 that sits in front of a test registry and injects faults: answer the first
//! N matching requests with a 5xx, or reset the connection part-way through a request body (an upload).
//!
//! Every connection carries exactly one request: the proxy adds `Connection: close` to what it forwards, so
//! the registry closes after answering and the client opens a new connection for the next request. That is
//! what makes "the first N requests" countable without parsing bodies.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer with this status (502, 503, …) instead of forwarding.
    Status(u16),
    /// Forward the request head and this many bytes of its body, then reset both connections (RST).
    ResetAfter(usize),
}

/// Which requests a fault applies to, and how many times.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `GET`, `PUT`, `PATCH`, … (any when `None`).
    pub method: Option<&'static str>,
    /// A substring of the request path (any when `None`).
    pub path_contains: Option<&'static str>,
    pub fault: Fault,
    /// How many matching requests get the fault; later ones are forwarded.
    pub times: usize,
}

impl Rule {
    pub fn new(method: Option<&'static str>, path_contains: Option<&'static str>, fault: Fault, times: usize) -> Rule {
        Rule { method, path_contains, fault, times }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.is_none_or(|m| m == method) && self.path_contains.is_none_or(|p| path.contains(p))
    }
}

struct State {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    requests: Mutex<Vec<String>>,
    injected: AtomicUsize,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on 127.0.0.1 (a free port) and forward to `upstream` (`127.0.0.1:5000`).
    pub async fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            upstream: upstream.to_string(),
            rules: Mutex::new(rules),
            requests: Mutex::new(Vec::new()),
            injected: AtomicUsize::new(0),
        });
        let s = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { break };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = handle(client, s).await;
                });
            }
        });
        FaultProxy { addr, state, task }
    }

    /// `127.0.0.1:PORT`, to use as a registry host.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> usize {
        self.state.injected.load(Ordering::SeqCst)
    }

    /// Every request seen, as `METHOD /path` (with `  <- fault` appended when one was injected).
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(mut client: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    // Read the request head.
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        // The engine tries HTTPS first even for insecure registries; answer like a plain-HTTP server does,
        // so it falls back at once instead of waiting for a handshake timeout.
        if buf[0] == 0x16 {
            let _ = client
                .write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                .await;
            return Ok(());
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let body_start = buf[head_end..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();

    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules.iter_mut().find(|r| r.times > 0 && r.matches(&method, &path)).map(|r| {
            r.times -= 1;
            r.fault
        })
    };
    let mut seen = format!("{method} {path}");
    if let Some(f) = fault {
        seen.push_str(&format!("  <- {f:?}"));
        state.injected.fetch_add(1, Ordering::SeqCst);
    }
    state.requests.lock().unwrap().push(seen);

    // Forward with `Connection: close` so the registry ends the connection after this one request.
    let mut forwarded = String::from(&request_line);
    forwarded.push_str("\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");

    match fault {
        Some(Fault::Status(code)) => {
            let reason = match code {
                500 => "Internal Server Error",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                _ => "Injected Fault",
            };
            let body = format!("{{\"errors\":[{{\"code\":\"UNAVAILABLE\",\"message\":\"injected {code}\"}}]}}");
            let response = format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(response.as_bytes()).await?;
            client.flush().await?;
            // Let the client finish sending its body before the socket closes (else it may see a reset
            // instead of the status).
            let mut sink = [0u8; 16384];
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while let Ok(n) = client.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
            let _ = client.shutdown().await;
            Ok(())
        }
        Some(Fault::ResetAfter(limit)) => {
            let mut upstream = TcpStream::connect(&state.upstream).await?;
            upstream.write_all(forwarded.as_bytes()).await?;
            let mut sent = body_start.len().min(limit);
            upstream.write_all(&body_start[..sent]).await?;
            let mut chunk = [0u8; 4096];
            while sent < limit {
                let n = client.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                let take = n.min(limit - sent);
                upstream.write_all(&chunk[..take]).await?;
                sent += take;
            }
            client.set_zero_linger()?;
            upstream.set_zero_linger()?;
            drop(client);
            drop(upstream);
            Ok(())
        }
        None => {
            let mut upstream = TcpStream::connect(&state.upstream).await?;
            upstream.write_all(forwarded.as_bytes()).await?;
            upstream.write_all(&body_start).await?;
            tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
            Ok(())
        }
    }
}
