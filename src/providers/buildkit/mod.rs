//! Builds with the engine's BuildKit: `POST /build?version=2&session=…` with the context streamed as a tar
//! (as the classic builder gets it, so memory stays bounded), and a session that serves secrets, the SSH
//! agent and registry credentials (see session.rs).

pub mod dockerfile;
pub mod progress;
pub mod session;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

use crate::providers::docker::{BuildError, BuildOutcome, Engine};
use crate::report::Reporter;

pub use session::{HostCredentials, SecretValue, SessionServices};

pub struct Request<'a> {
    /// Path of the Dockerfile inside the context tar.
    pub dockerfile: &'a str,
    /// Its text, to name the line of a failing instruction.
    pub dockerfile_text: Option<String>,
    pub reference: &'a str,
    pub args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub target: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub network: Option<&'a str>,
    pub no_cache: bool,
    /// Image references whose (inline or registry) cache the build may use.
    pub cache_from: Vec<String>,
    /// Write the inline cache into the image (`BUILDKIT_INLINE_CACHE=1`).
    pub inline_cache: bool,
    pub services: SessionServices,
}

/// Whether the engine offers BuildKit, and why (for the one line `auto` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    pub buildkit: bool,
    pub reason: String,
}

/// Decide from `/_ping`'s headers: `Builder-Version: 1` is an engine told to prefer the classic builder
/// (`"features": {"buildkit": false}`), Windows engines have no BuildKit, API < 1.39 has no sessions.
pub fn support_from(builder_version: Option<&str>, os_type: Option<&str>, api_version: &str) -> Support {
    let api = api_version.split_once('.').and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    if os_type.is_some_and(|o| o.eq_ignore_ascii_case("windows")) {
        return Support {
            buildkit: false,
            reason: "the engine runs Windows containers, which BuildKit cannot build".into(),
        };
    }
    if builder_version == Some("1") {
        return Support {
            buildkit: false,
            reason: "the engine prefers the classic builder (\"features\": {\"buildkit\": false} in its daemon.json)"
                .into(),
        };
    }
    match api {
        Some(v) if v < (1, 39) => Support {
            buildkit: false,
            reason: format!("the engine speaks API {api_version}, older than BuildKit (1.39)"),
        },
        _ => Support {
            buildkit: true,
            reason: match builder_version {
                Some("2") => "the engine's default builder".into(),
                _ => format!("the engine offers it (API {api_version})"),
            },
        },
    }
}

pub async fn support(engine: &Engine) -> Result<Support, String> {
    let version = engine.api.client_version();
    let request = hyper::Request::builder()
        .method("GET")
        .uri(format!("/v{version}/_ping"))
        .header("Host", "docker")
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = send(engine, request).await?;
    let header = |n: &str| response.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let api = header("Api-Version").unwrap_or_else(|| version.to_string());
    Ok(support_from(header("Builder-Version").as_deref(), header("Ostype").as_deref(), &api))
}

async fn send<B>(engine: &Engine, request: hyper::Request<B>) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = crate::providers::docker::connect_raw(engine).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| crate::error::chain(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(request).await.map_err(|e| crate::error::chain(&e))
}

/// 25 random lowercase letters and digits, like the docker CLI's session ids.
fn session_id() -> String {
    let mut out = String::new();
    while out.len() < 25 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        h.write_u32(std::process::id());
        let mut n = h.finish();
        while n > 0 && out.len() < 25 {
            out.push(char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize]));
            n /= 36;
        }
    }
    out
}

fn query(request: &Request<'_>, session: &str) -> String {
    let enc = crate::providers::docker::percent_encode;
    let mut args = request.args.clone();
    if request.inline_cache {
        args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
    }
    let json = |v: serde_json::Value| enc(&v.to_string());
    let mut q = vec![
        format!("version=2&session={}", enc(session)),
        format!("dockerfile={}", enc(request.dockerfile)),
        format!("t={}", enc(request.reference)),
        format!("buildargs={}", json(serde_json::json!(args))),
        format!("labels={}", json(serde_json::json!(request.labels))),
        "rm=1&forcerm=1".to_string(),
    ];
    if request.no_cache {
        q.push("nocache=1".into());
    }
    if let Some(t) = request.target {
        q.push(format!("target={}", enc(t)));
    }
    if let Some(p) = request.platform {
        q.push(format!("platform={}", enc(p)));
    }
    if let Some(n) = request.network {
        q.push(format!("networkmode={}", enc(n)));
    }
    if !request.cache_from.is_empty() {
        q.push(format!("cachefrom={}", json(serde_json::json!(request.cache_from))));
    }
    q.join("&")
}

/// Build with BuildKit. `Err(BuildError::Refused)` means the engine would not open a BuildKit session, before
/// any of the context was read: the caller may fall back to the classic builder with the same stream.
pub async fn build<S>(
    engine: &Engine,
    request: Request<'_>,
    context: S,
    sent: Option<Arc<AtomicU64>>,
    reporter: &dyn Reporter,
) -> Result<BuildOutcome, (BuildError, Option<S>)>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let api_err = |detail: String| BuildError::Api { host: engine.host.clone(), detail };
    let id = session_id();
    let redact: Vec<String> =
        request.services.secrets.values().filter_map(|v| String::from_utf8(v.0.clone()).ok()).collect();
    let session = match session::open(engine, &id, "shipit", request.services.clone()).await {
        Ok(s) => s,
        Err(session::SessionError::Refused { status, message }) => {
            return Err((BuildError::Refused { host: engine.host.clone(), status, message }, Some(context)));
        }
        Err(e) => return Err((api_err(e.to_string()), Some(context))),
    };
    let _session = AbortOnDrop(session);

    let version = engine.api.client_version();
    let body = http_body_util::StreamBody::new(context.map(|r| r.map(hyper::body::Frame::data)));
    let http = hyper::Request::builder()
        .method("POST")
        .uri(format!("/v{version}/build?{}", query(&request, &id)))
        .header("Host", "docker")
        .header("Content-Type", "application/x-tar")
        .body(body)
        .map_err(|e| (api_err(e.to_string()), None))?;
    let response = send(engine, http).await.map_err(|e| (api_err(e), None))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        return Err((BuildError::Engine { message, tail: Vec::new() }, None));
    }

    let mut progress = progress::Progress::new(redact);
    let mut outcome = BuildOutcome::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut receiving = true;
    let mut error: Option<String> = None;
    let mut stream_tail: Vec<String> = Vec::new();
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = ticker.tick(), if receiving && sent.is_some() => {
                let n = sent.as_ref().map(|s| s.load(Ordering::Relaxed)).unwrap_or(0);
                if n > 0 {
                    reporter.status(&format!("sending build context: {}", indicatif::HumanBytes(n)));
                    reporter.bytes(n, None);
                }
                continue;
            }
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| (api_err(crate::error::chain(&e)), None))?;
        let Ok(data) = frame.into_data() else { continue };
        buf.extend_from_slice(&data);
        while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            if let Some(e) = handle_line(&line, &mut progress, &mut outcome, &mut stream_tail, reporter) {
                error.get_or_insert(e);
            }
            receiving &= progress.steps == 0;
        }
    }
    if let Some(e) = handle_line(&buf, &mut progress, &mut outcome, &mut stream_tail, reporter) {
        error.get_or_insert(e);
    }
    outcome.steps = progress.steps;
    outcome.cached_steps = progress.cached_steps;
    if let Some(message) = error {
        let message = progress.redact(&message);
        return Err((
            match progress.failure() {
                Some(f) => {
                    let located = request.dockerfile_text.as_deref().and_then(|t| dockerfile::locate(t, &f.step));
                    let step = match located {
                        Some(ins) => format!("{}:{} `{}`", request.dockerfile, ins.line, progress.redact(&ins.text)),
                        None => format!("`{}`", f.step),
                    };
                    let message = if f.error.is_empty() { message } else { f.error };
                    BuildError::Step { step, message, tail: f.tail }
                }
                None => BuildError::Engine { message, tail: stream_tail },
            },
            None,
        ));
    }
    if outcome.image_id.is_empty() {
        return Err((
            BuildError::Engine {
                message: "the engine finished without reporting an image id".into(),
                tail: stream_tail,
            },
            None,
        ));
    }
    Ok(outcome)
}

/// One JSON message of the `/build` stream. Returns the engine's error message when it reports one.
fn handle_line(
    line: &[u8],
    progress: &mut progress::Progress,
    outcome: &mut BuildOutcome,
    stream_tail: &mut Vec<String>,
    reporter: &dyn Reporter,
) -> Option<String> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return None;
    }
    let info: bollard::models::BuildInfo = match serde_json::from_slice(line) {
        Ok(i) => i,
        Err(e) => {
            tracing::debug!("unreadable build message ({e}): {}", String::from_utf8_lossy(line));
            return None;
        }
    };
    if let Some(aux) = info.aux {
        match aux {
            bollard::models::BuildInfoAux::BuildKit(status) => progress.handle(&status, reporter),
            bollard::models::BuildInfoAux::Default(image) => {
                if let Some(id) = image.id {
                    outcome.image_id = id;
                }
            }
        }
    }
    if let Some(text) = info.stream {
        for l in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            let l = progress.redact(l);
            reporter.detail(&l);
            if stream_tail.len() == progress::TAIL_LINES {
                stream_tail.remove(0);
            }
            stream_tail.push(l);
        }
    }
    info.error_detail.and_then(|d| d.message)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_decisions() {
        assert!(support_from(None, Some("linux"), "1.41").buildkit);
        assert!(support_from(Some("2"), Some("linux"), "1.43").buildkit);
        let classic = support_from(Some("1"), Some("linux"), "1.41");
        assert!(!classic.buildkit && classic.reason.contains("features"), "{classic:?}");
        assert!(!support_from(None, Some("windows"), "1.41").buildkit);
        assert!(!support_from(None, Some("linux"), "1.38").buildkit);
    }

    #[test]
    fn session_ids_are_docker_like() {
        let a = session_id();
        assert_eq!(a.len(), 25);
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(a, session_id());
    }
}
