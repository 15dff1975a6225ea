//! A hostile HTTP server on 127.0.0.1: every request, whatever its path, gets the same broken answer. It stands
//! in for a registry, the ECS endpoint, the Kubernetes API server, GitHub or SonarQube gone wrong (a captive
//! portal, a proxy, a bug, an attacker), so tests can check that shipit ends each case with a clear error, in
//! bounded time and memory, and never panics or hangs.
//!
//! Raw HTTP/1.1 over TCP, one request per connection (`Connection: close`), so nothing in an HTTP library
//! tidies up the faults: a body shorter than its Content-Length, a header of 10 MB, a body without an end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 200 with half of a JSON document, and a Content-Length that promises all of it.
    TruncatedJson,
    /// 200 with `text/plain` and a body that is not what any API sends.
    WrongContentType,
    /// 200 with an HTML sign-in page (a captive portal or an SSO proxy in front of the service).
    HtmlLogin,
    /// 200 with a 10 MB header.
    HugeHeader,
    /// 200 with a body that never ends.
    EndlessBody,
    /// 302 back to the same URL, forever.
    RedirectLoop,
    /// 200 with a manifest whose `Docker-Content-Digest` (and the digest asked for) is not its sha256.
    DigestMismatch,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::TruncatedJson,
        Fault::WrongContentType,
        Fault::HtmlLogin,
        Fault::HugeHeader,
        Fault::EndlessBody,
        Fault::RedirectLoop,
        Fault::DigestMismatch,
    ];
}

/// The document the faults are cut from: valid for none of the APIs in particular, JSON for all of them.
const DOCUMENT: &str = r#"{"services":[{"serviceName":"api","status":"ACTIVE","deployments":[{"id":"ecs-svc/1","status":"PRIMARY"}]}],"check_runs":[{"id":1,"name":"test","status":"completed","conclusion":"success"}],"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

pub const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate SSO</title></head>\n<body><form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n";

/// The digest the DigestMismatch fault claims (the sha256 of `{}`), which its body does not have.
pub const CLAIMED_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

pub struct HostileServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileServer {
    pub async fn start(fault: Fault) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the hostile server");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { break };
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = answer(stream, fault).await;
                });
            }
        });
        HostileServer { addr, requests, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`, as a registry host.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far (one request each).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(mut stream: TcpStream, fault: Fault) -> std::io::Result<()> {
    let path = read_request(&mut stream).await?;
    let head = |status: &str, headers: &[(&str, String)]| {
        let mut h = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        h
    };
    match fault {
        Fault::TruncatedJson => {
            let cut = &DOCUMENT[..DOCUMENT.len() / 2];
            let h = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Content-Length", DOCUMENT.len().to_string()),
                    ("Docker-Content-Digest", CLAIMED_DIGEST.into()),
                ],
            );
            stream.write_all(h.as_bytes()).await?;
            stream.write_all(cut.as_bytes()).await?;
            stream.flush().await?;
            // Close with the body short of its Content-Length.
            stream.shutdown().await?;
        }
        Fault::WrongContentType => {
            let body = "OK\n";
            let h = head(
                "200 OK",
                &[
                    ("Content-Type", "text/plain; charset=utf-8".into()),
                    ("Content-Length", body.len().to_string()),
                    ("Docker-Content-Digest", CLAIMED_DIGEST.into()),
                ],
            );
            stream.write_all(format!("{h}{body}").as_bytes()).await?;
        }
        Fault::HtmlLogin => {
            let h = head(
                "200 OK",
                &[
                    ("Content-Type", "text/html; charset=utf-8".into()),
                    ("Content-Length", LOGIN_PAGE.len().to_string()),
                ],
            );
            stream.write_all(format!("{h}{LOGIN_PAGE}").as_bytes()).await?;
        }
        Fault::HugeHeader => {
            let h = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("X-Padding", "a".repeat(10 * 1024 * 1024)),
                    ("Content-Length", "2".into()),
                ],
            );
            stream.write_all(h.as_bytes()).await?;
            stream.write_all(b"{}").await?;
        }
        Fault::EndlessBody => {
            let h = head(
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Transfer-Encoding", "chunked".into()),
                    ("Docker-Content-Digest", CLAIMED_DIGEST.into()),
                ],
            );
            stream.write_all(h.as_bytes()).await?;
            stream.write_all(b"1\r\n[\r\n").await?;
            let mut data = "[1,".repeat(64 * 1024 / 3);
            data.push(' ');
            let chunk = format!("{:x}\r\n{data}\r\n", data.len());
            // Until the client hangs up: a write then fails and the task ends.
            loop {
                stream.write_all(chunk.as_bytes()).await?;
            }
        }
        Fault::RedirectLoop => {
            let h = head("302 Found", &[("Location", path), ("Content-Length", "0".into())]);
            stream.write_all(h.as_bytes()).await?;
        }
        Fault::DigestMismatch => {
            let body = DOCUMENT;
            let h = head(
                "200 OK",
                &[
                    ("Content-Type", "application/vnd.oci.image.manifest.v1+json".into()),
                    ("Content-Length", body.len().to_string()),
                    ("Docker-Content-Digest", CLAIMED_DIGEST.into()),
                ],
            );
            stream.write_all(format!("{h}{body}").as_bytes()).await?;
        }
    }
    stream.flush().await?;
    Ok(())
}

/// Read the request head and any body (by Content-Length); return the path.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut byte).await?;
        if n == 0 {
            return Ok("/".into());
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok("/".into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = stream.read(&mut byte).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Ok(path)
}
