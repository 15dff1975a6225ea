//! The Docker Engine API (bollard).

use bollard::Docker;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot connect to the Docker engine at {host}: {source}")]
    Connect { host: String, source: bollard::errors::Error },
    #[error("the Docker engine at {host} does not answer: {detail}")]
    Unreachable { host: String, detail: String },
}

impl DockerError {
    pub fn hint(&self) -> &'static str {
        "start the Docker engine, or set DOCKER_HOST (e.g. unix:///var/run/docker.sock) to the one to use"
    }
}

impl From<DockerError> for crate::error::CliError {
    fn from(e: DockerError) -> Self {
        let hint = e.hint();
        crate::error::CliError::failure(e.to_string()).hint(hint)
    }
}

/// The engine address: an explicit host, else DOCKER_HOST, else the local socket.
pub fn host(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var(crate::env_vars::EnvVars::DOCKER_HOST).ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// Connect and agree on an API version: bollard asks for a newer API than many engines speak (Debian's 20.10
/// speaks 1.41 and refuses newer), so the version is negotiated down before any call.
pub async fn connect(explicit_host: Option<&str>) -> Result<(Docker, String), DockerError> {
    let host = host(explicit_host);
    let result = if let Some(path) = host.strip_prefix("unix://") {
        Docker::connect_with_unix(path, 600, bollard::API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(&host, 600, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_unix(&host, 600, bollard::API_DEFAULT_VERSION)
    };
    let docker = result.map_err(|source| DockerError::Connect { host: host.clone(), source })?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| DockerError::Unreachable { host: host.clone(), detail: crate::error::chain(&e) })?;
    Ok((docker, host))
}

pub struct EngineInfo {
    pub version: String,
    pub api_version: String,
    pub os_arch: String,
}

/// Ping the engine and read its version.
pub async fn ping(docker: &Docker, host: &str) -> Result<EngineInfo, DockerError> {
    let unreachable = |e: bollard::errors::Error| DockerError::Unreachable {
        host: host.to_string(),
        detail: crate::error::chain(&e),
    };
    docker.ping().await.map_err(unreachable)?;
    let v = docker.version().await.map_err(unreachable)?;
    Ok(EngineInfo {
        version: v.version.unwrap_or_default(),
        api_version: v.api_version.unwrap_or_default(),
        os_arch: format!("{}/{}", v.os.unwrap_or_default(), v.arch.unwrap_or_default()),
    })
}

// ---------------------------------------------------------------------------------------------------------
// Build, tag, inspect and push.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use crate::providers::credentials::RegistryAuth;
use crate::report::Reporter;

/// A connected engine: the bollard client (API version negotiated down to the engine's; Debian's 20.10
/// refuses bollard's default) and the address, for the push stream read directly.
#[derive(Clone)]
pub struct Engine {
    pub api: Docker,
    pub host: String,
}

impl Engine {
    pub async fn connect(explicit_host: Option<&str>) -> Result<Engine, DockerError> {
        let (docker, host) = connect(explicit_host).await?;
        // Builds can take long; the per-request timeout must not cut a build stream.
        Ok(Engine { api: docker.with_timeout(Duration::from_secs(4 * 3600)), host })
    }
}

/// The engine's answer when `Step N/M : …` fails, with the output that led up to it.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("build failed at {step}: {message}")]
    Step { step: String, message: String, tail: Vec<String> },
    #[error("build failed: {message}")]
    Engine { message: String, tail: Vec<String> },
    #[error("the Docker engine at {host} failed during the build: {detail}")]
    Api { host: String, detail: String },
    /// The engine would not open a BuildKit session (no BuildKit there, or switched off).
    #[error("the Docker engine at {host} refused BuildKit ({status}): {message}")]
    Refused { host: String, status: u16, message: String },
}

impl BuildError {
    /// The last lines of output before the failure (for the error detail).
    pub fn tail(&self) -> &[String] {
        match self {
            BuildError::Step { tail, .. } | BuildError::Engine { tail, .. } => tail,
            BuildError::Api { .. } | BuildError::Refused { .. } => &[],
        }
    }
}

pub struct BuildRequest<'a> {
    /// Path of the Dockerfile inside the context tar.
    pub dockerfile: &'a str,
    /// The first `repo:tag`; the others are added with `tag`.
    pub reference: &'a str,
    pub args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub target: Option<&'a str>,
    pub platform: Option<&'a str>,
    /// `networkmode`: `default`, `host` or `none`.
    pub network: Option<&'a str>,
    pub no_cache: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BuildOutcome {
    /// `sha256:…` (the local image id).
    pub image_id: String,
    pub steps: usize,
    pub cached_steps: usize,
}

/// How many lines of a failing step's output the error shows.
const TAIL_LINES: usize = 20;

/// Build with the classic builder from a streamed tar. One status per `Step N/M`, every line as detail;
/// `sent` (bytes of context produced so far) is reported while the engine is still receiving the context.
pub async fn build(
    engine: &Engine,
    request: BuildRequest<'_>,
    context: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    sent: Option<Arc<AtomicU64>>,
    reporter: &dyn Reporter,
) -> Result<BuildOutcome, BuildError> {
    use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(request.dockerfile)
        .t(request.reference)
        .rm(true)
        .forcerm(true)
        .nocache(request.no_cache)
        .version(BuilderVersion::BuilderV1)
        .buildargs(&request.args)
        .labels(&request.labels);
    if let Some(t) = request.target {
        options = options.target(t);
    }
    if let Some(p) = request.platform {
        options = options.platform(p);
    }
    if let Some(n) = request.network {
        options = options.networkmode(n);
    }
    let mut stream = engine.api.build_image(options.build(), None, Some(bollard::body_try_stream(context)));

    let mut outcome = BuildOutcome::default();
    let mut step: Option<String> = None;
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut partial = String::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut receiving = true;
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = ticker.tick(), if receiving && sent.is_some() => {
                let n = sent.as_ref().map(|s| s.load(Ordering::Relaxed)).unwrap_or(0);
                if n > 0 {
                    reporter.status(&format!("sending build context: {}", indicatif::HumanBytes(n)));
                    reporter.bytes(n, None);
                }
                continue;
            }
        };
        let Some(item) = item else { break };
        receiving = false;
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                flush_partial(&mut partial, &mut tail, reporter);
                let tail: Vec<String> = tail.into_iter().collect();
                return Err(match step {
                    Some(step) => BuildError::Step { step, message: error.trim().to_string(), tail },
                    None => BuildError::Engine { message: error.trim().to_string(), tail },
                });
            }
            Err(e) => {
                return Err(BuildError::Api { host: engine.host.clone(), detail: crate::error::chain(&e) });
            }
        };
        if let Some(bollard::models::BuildInfoAux::Default(image)) = info.aux
            && let Some(id) = image.id
        {
            outcome.image_id = id;
        }
        let Some(text) = info.stream else { continue };
        partial.push_str(&text);
        while let Some(nl) = partial.find('\n') {
            let line: String = partial.drain(..=nl).collect();
            let line = strip_ansi(line.trim_end());
            if line.is_empty() {
                continue;
            }
            if let Some((n, total)) = parse_step(&line) {
                outcome.steps = outcome.steps.max(total);
                let _ = n;
                reporter.status(&line);
                step = Some(line.clone());
                tail.clear();
            } else if line.trim() == "---> Using cache" {
                outcome.cached_steps += 1;
            } else if let Some(id) = line.strip_prefix("Successfully built ")
                && outcome.image_id.is_empty()
            {
                outcome.image_id = id.trim().to_string();
            }
            reporter.detail(&line);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    flush_partial(&mut partial, &mut tail, reporter);
    if outcome.image_id.is_empty() {
        return Err(BuildError::Engine {
            message: "the engine finished without reporting an image id".into(),
            tail: tail.into_iter().collect(),
        });
    }
    Ok(outcome)
}

fn flush_partial(partial: &mut String, tail: &mut VecDeque<String>, reporter: &dyn Reporter) {
    let rest = strip_ansi(partial.trim_end());
    if !rest.is_empty() {
        reporter.detail(&rest);
        tail.push_back(rest);
    }
    partial.clear();
}

/// The classic builder colours a step's stderr (`ESC[91m … ESC[0m`); keep the text, drop the escapes.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `Step 3/7 : RUN make` → (3, 7).
fn parse_step(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("Step ")?;
    let (frac, _) = rest.split_once(" : ")?;
    let (n, total) = frac.split_once('/')?;
    Some((n.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// Add `repository:tag` to an image.
pub async fn tag(engine: &Engine, image: &str, repository: &str, tag: &str) -> Result<(), DockerError> {
    let opts = bollard::query_parameters::TagImageOptionsBuilder::default().repo(repository).tag(tag).build();
    engine.api.tag_image(image, Some(opts)).await.map_err(|e| DockerError::Unreachable {
        host: engine.host.clone(),
        detail: format!("tagging {image} as {repository}:{tag}: {}", crate::error::chain(&e)),
    })
}

#[derive(Debug, Clone, Default)]
pub struct ImageDetails {
    pub id: String,
    pub repo_tags: Vec<String>,
    /// `repo@sha256:…` for each registry the image was pushed to or pulled from.
    pub repo_digests: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub size: u64,
}

/// The local image, or `None` when the engine has no such image.
pub async fn inspect(engine: &Engine, image: &str) -> Result<Option<ImageDetails>, DockerError> {
    match engine.api.inspect_image(image).await {
        Ok(i) => Ok(Some(ImageDetails {
            id: i.id.unwrap_or_default(),
            repo_tags: i.repo_tags.unwrap_or_default(),
            repo_digests: i.repo_digests.unwrap_or_default(),
            labels: i.config.and_then(|c| c.labels).map(|l| l.into_iter().collect()).unwrap_or_default(),
            size: i.size.unwrap_or(0).max(0) as u64,
        })),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(DockerError::Unreachable { host: engine.host.clone(), detail: crate::error::chain(&e) }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The engine reported a failure while pushing (the registry's answer, a network error).
    #[error("{message}")]
    Engine { message: String },
    #[error("cannot talk to the Docker engine at {host}: {detail}")]
    Api { host: String, detail: String },
}

impl PushError {
    /// Worth another attempt: the registry or the network hiccupped, not a refusal.
    pub fn is_transient(&self) -> bool {
        let PushError::Engine { message } = self else { return false };
        let m = message.to_ascii_lowercase();
        let refusal = ["unauthorized", "denied", "authentication required", "name unknown", "forbidden"];
        if refusal.iter().any(|r| m.contains(r)) {
            return false;
        }
        let transient = [
            "unexpected http status: 5",
            "status: 5",
            " 500 ",
            " 502 ",
            " 503 ",
            " 504 ",
            "bad gateway",
            "service unavailable",
            "gateway timeout",
            "too many requests",
            "connection reset",
            "broken pipe",
            "eof",
            "timeout",
            "connection refused",
            "request canceled",
        ];
        transient.iter().any(|t| m.contains(t))
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PushOutcome {
    /// The manifest digest the engine reports pushing (cross-checked against the registry by the caller).
    pub digest: Option<String>,
    pub layers_uploaded: usize,
    pub layers_existing: usize,
    /// Bytes of the uploaded layers as the engine counts them.
    pub bytes_uploaded: u64,
}

#[derive(Default)]
struct LayerProgress {
    current: u64,
    total: u64,
    done: bool,
    existed: bool,
    retrying: bool,
}

#[derive(Deserialize)]
struct PushMessage {
    status: Option<String>,
    id: Option<String>,
    #[serde(rename = "progressDetail")]
    progress: Option<ProgressMsg>,
    #[serde(rename = "errorDetail")]
    error_detail: Option<ErrorMsg>,
    error: Option<String>,
    aux: Option<PushAux>,
}

#[derive(Deserialize)]
struct ProgressMsg {
    current: Option<u64>,
    total: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorMsg {
    message: Option<String>,
}

#[derive(Deserialize)]
struct PushAux {
    #[serde(rename = "Digest")]
    digest: Option<String>,
}

/// The longest silence the engine's push stream may keep.
pub const PUSH_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// `POST /images/{repository}/push?tag=…`, reading the JSON stream directly: bollard's `PushImageInfo` has no
/// layer `id` (so no per-layer progress) and an empty final aux message (see docs/platform-notes.md).
pub async fn push(
    engine: &Engine,
    repository: &str,
    tag: &str,
    auth: Option<&RegistryAuth>,
    server: &str,
    reporter: &dyn Reporter,
) -> Result<PushOutcome, PushError> {
    use http_body_util::BodyExt;
    let version = engine.api.client_version();
    let path = format!("/v{version}/images/{repository}/push?tag={}", percent_encode(tag));
    let response = engine_request(engine, &path, &registry_auth_header(auth, server)).await?;
    let status = response.status();
    let mut body = response.into_body();
    let api_err = |detail: String| PushError::Api { host: engine.host.clone(), detail };
    if !status.is_success() {
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        return Err(PushError::Engine { message: format!("engine answered {status}: {message}") });
    }

    let mut tracker = PushTracker::default();
    let mut buf = Vec::new();
    loop {
        // The engine sends progress at least every few seconds while a layer uploads; silence this long means
        // a registry (or the engine) that stopped answering, and a pipeline must not wait for it forever.
        let next = tokio::time::timeout(PUSH_IDLE_TIMEOUT, body.frame()).await.map_err(|_| {
            api_err(format!(
                "the push stream sent nothing for {}s (a registry that stopped answering?)",
                PUSH_IDLE_TIMEOUT.as_secs()
            ))
        })?;
        let Some(frame) = next else { break };
        let frame = frame.map_err(|e| api_err(crate::error::chain(&e)))?;
        let Ok(data) = frame.into_data() else { continue };
        buf.extend_from_slice(&data);
        while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            tracker.handle(&line, reporter)?;
        }
    }
    tracker.handle(&buf, reporter)?;
    Ok(tracker.finish())
}

/// Follows the engine's push messages: per-layer bytes, layers done or already there, the engine's own
/// upload retries, and the manifest digest.
#[derive(Default)]
struct PushTracker {
    layers: BTreeMap<String, LayerProgress>,
    digest: Option<String>,
}

impl PushTracker {
    fn handle(&mut self, line: &[u8], reporter: &dyn Reporter) -> Result<(), PushError> {
        let Ok(msg) = serde_json::from_slice::<PushMessage>(trim_ascii(line)) else { return Ok(()) };
        if let Some(message) = msg.error_detail.and_then(|e| e.message).or(msg.error) {
            return Err(PushError::Engine { message });
        }
        if let Some(d) = msg.aux.and_then(|a| a.digest) {
            self.digest = Some(d);
        }
        let Some(status) = msg.status else { return Ok(()) };
        reporter.detail(&match &msg.id {
            Some(id) => format!("{id}: {status}"),
            None => status.clone(),
        });
        let Some(id) = msg.id else {
            // "<tag>: digest: sha256:… size: 528"
            if let Some(d) = status.split("digest: ").nth(1).and_then(|r| r.split_whitespace().next())
                && self.digest.is_none()
            {
                self.digest = Some(d.to_string());
            }
            return Ok(());
        };
        let layer = self.layers.entry(id.clone()).or_default();
        match status.as_str() {
            "Pushing" => {
                layer.retrying = false;
                if let Some(p) = msg.progress {
                    layer.current = p.current.unwrap_or(layer.current);
                    layer.total = p.total.unwrap_or(layer.total).max(layer.current);
                }
                let (done, total) = self
                    .layers
                    .values()
                    .filter(|l| !l.existed)
                    .fold((0, 0), |(d, t), l| (d + l.current, t + l.total.max(l.current)));
                reporter.bytes(done, Some(total));
            }
            "Pushed" => {
                layer.done = true;
                layer.current = layer.total.max(layer.current);
                let size = indicatif::HumanBytes(layer.current);
                reporter.status(&format!("layer {id} pushed ({size}); {}", self.summary()));
            }
            s if s == "Layer already exists" || s.starts_with("Mounted from") => {
                layer.done = true;
                layer.existed = true;
                reporter.status(&format!("layer {id} already in the registry; {}", self.summary()));
            }
            // The engine counts down ("Retrying in 5 seconds", "… 4 seconds", …); say it once per retry.
            s if s.starts_with("Retrying in") => {
                if !layer.retrying {
                    let when = s.trim_start_matches("Retrying in").trim();
                    reporter.line(&format!("layer {id}: upload interrupted; the engine retries it in {when}"));
                }
                layer.retrying = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn summary(&self) -> String {
        let done = self.layers.values().filter(|l| l.done).count();
        format!("{done}/{} layers done", self.layers.len())
    }

    fn finish(self) -> PushOutcome {
        PushOutcome {
            digest: self.digest,
            layers_uploaded: self.layers.values().filter(|l| l.done && !l.existed).count(),
            layers_existing: self.layers.values().filter(|l| l.existed).count(),
            bytes_uploaded: self.layers.values().filter(|l| !l.existed).map(|l| l.current).sum(),
        }
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map(|e| e + 1).unwrap_or(start);
    &b[start..end.max(start)]
}

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The engine's `X-Registry-Auth`: base64url of `{"username","password","serveraddress"}`.
fn registry_auth_header(auth: Option<&RegistryAuth>, server: &str) -> String {
    use base64::Engine as _;
    let json = match auth {
        Some(a) => match &a.identity_token {
            Some(t) => serde_json::json!({"identitytoken": t.expose(), "serveraddress": server}),
            None => serde_json::json!({
                "username": a.username,
                "password": a.password.expose(),
                "serveraddress": server,
            }),
        },
        None => serde_json::json!({}),
    };
    base64::engine::general_purpose::URL_SAFE.encode(json.to_string())
}

/// Something to speak HTTP to the engine over.
pub(crate) trait RawIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> RawIo for T {}

/// A fresh connection to the engine (unix socket or tcp), for requests bollard cannot make: the push stream
/// with layer ids, BuildKit's session upgrade and streamed `/build`.
pub(crate) async fn connect_raw(engine: &Engine) -> Result<Box<dyn RawIo>, String> {
    let host = engine.host.as_str();
    if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
        let stream = tokio::net::TcpStream::connect(addr.trim_end_matches('/')).await.map_err(|e| e.to_string())?;
        return Ok(Box::new(stream));
    }
    #[cfg(unix)]
    {
        let path = host.strip_prefix("unix://").unwrap_or(host);
        let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| format!("{path}: {e}"))?;
        Ok(Box::new(stream))
    }
    #[cfg(not(unix))]
    Err("this needs a unix:// or tcp:// engine address".into())
}

async fn engine_request(
    engine: &Engine,
    path: &str,
    registry_auth: &str,
) -> Result<hyper::Response<hyper::body::Incoming>, PushError> {
    let api_err = |detail: String| PushError::Api { host: engine.host.clone(), detail };
    let request = hyper::Request::builder()
        .method("POST")
        .uri(path)
        .header("Host", "docker")
        .header("Content-Type", "application/json")
        .header("X-Registry-Auth", registry_auth)
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| api_err(e.to_string()))?;
    let host = engine.host.as_str();
    if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
        let stream =
            tokio::net::TcpStream::connect(addr.trim_end_matches('/')).await.map_err(|e| api_err(e.to_string()))?;
        send_over(stream, request).await.map_err(api_err)
    } else {
        #[cfg(unix)]
        {
            let path = host.strip_prefix("unix://").unwrap_or(host);
            let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| api_err(e.to_string()))?;
            send_over(stream, request).await.map_err(api_err)
        }
        #[cfg(not(unix))]
        Err(api_err("pushing needs a unix:// or tcp:// engine address".into()))
    }
}

async fn send_over<S>(
    stream: S,
    request: hyper::Request<http_body_util::Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| crate::error::chain(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(request).await.map_err(|e| crate::error::chain(&e))
}

/// Credentials as the engine takes them (`X-Registry-Auth`): an identity token (OAuth-style helpers) when there
/// is one, else user and password.
pub fn engine_credentials(a: &RegistryAuth, image: &str) -> bollard::auth::DockerCredentials {
    match &a.identity_token {
        Some(t) => bollard::auth::DockerCredentials {
            identitytoken: Some(t.expose().to_string()),
            serveraddress: image.split('/').next().map(str::to_string),
            ..Default::default()
        },
        None => bollard::auth::DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.expose().to_string()),
            ..Default::default()
        },
    }
}

/// Pull `image` (a pinned `repo@sha256:…`) so it can be scanned locally, with the registry's credentials.
pub async fn pull(
    engine: &Engine,
    image: &str,
    auth: Option<&RegistryAuth>,
    reporter: &dyn Reporter,
) -> Result<(), DockerError> {
    use futures_util::StreamExt;
    let credentials = auth.map(|a| engine_credentials(a, image));
    let options =
        bollard::query_parameters::CreateImageOptions { from_image: Some(image.to_string()), ..Default::default() };
    let mut stream = engine.api.create_image(Some(options), None, credentials);
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(status) = info.status {
                    reporter.status(&format!("pulling {image}: {status}"));
                }
            }
            Err(e) => {
                return Err(DockerError::Unreachable {
                    host: engine.host.clone(),
                    detail: format!("pull {image}: {}", crate::error::chain(&e)),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_is_stripped() {
        assert_eq!(strip_ansi("\u{1b}[91mabout to fail\u{1b}[0m"), "about to fail");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn push_progress_per_layer() {
        // A real 20.10 push stream: one new layer (with an engine-side retry), one already in the registry.
        let stream = [
            r#"{"status":"The push refers to repository [127.0.0.1:5000/api]"}"#,
            r#"{"status":"Preparing","progressDetail":{},"id":"aaa"}"#,
            r#"{"status":"Preparing","progressDetail":{},"id":"bbb"}"#,
            r#"{"status":"Layer already exists","progressDetail":{},"id":"bbb"}"#,
            r#"{"status":"Pushing","progressDetail":{"current":512,"total":2048},"progress":"[==>  ]","id":"aaa"}"#,
            r#"{"status":"Retrying in 5 seconds","progressDetail":{},"id":"aaa"}"#,
            r#"{"status":"Retrying in 4 seconds","progressDetail":{},"id":"aaa"}"#,
            r#"{"status":"Pushing","progressDetail":{"current":2048,"total":2048},"progress":"[=====>]","id":"aaa"}"#,
            r#"{"status":"Pushed","progressDetail":{},"id":"aaa"}"#,
            r#"{"status":"v1: digest: sha256:1111111111111111111111111111111111111111111111111111111111111111 size: 528"}"#,
            r#"{"progressDetail":{},"aux":{"Tag":"v1","Digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","Size":528}}"#,
        ];
        let rec = crate::report::Recorder::default();
        let mut t = PushTracker::default();
        for line in stream {
            t.handle(line.as_bytes(), &rec).unwrap();
        }
        let o = t.finish();
        assert_eq!(o.layers_uploaded, 1);
        assert_eq!(o.layers_existing, 1);
        assert_eq!(o.bytes_uploaded, 2048);
        // The aux message wins over the status line.
        assert_eq!(
            o.digest.as_deref(),
            Some("sha256:2222222222222222222222222222222222222222222222222222222222222222")
        );
        let events = rec.lines();
        assert!(events.contains(&"bytes: 512/Some(2048)".to_string()), "{events:?}");
        assert!(events.contains(&"bytes: 2048/Some(2048)".to_string()), "{events:?}");
        assert!(
            events.contains(&"status: layer bbb already in the registry; 1/2 layers done".to_string()),
            "{events:?}"
        );
        assert!(events.contains(&"status: layer aaa pushed (2.00 KiB); 2/2 layers done".to_string()), "{events:?}");
        let retries: Vec<_> = events.iter().filter(|e| e.contains("retries it in")).collect();
        assert_eq!(retries, vec!["line: layer aaa: upload interrupted; the engine retries it in 5 seconds"]);
    }

    #[test]
    fn push_errors_end_the_stream() {
        let mut t = PushTracker::default();
        let err = t
            .handle(br#"{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}"#, &crate::report::Silent)
            .unwrap_err();
        assert_eq!(err.to_string(), "unauthorized: authentication required");
        assert!(!err.is_transient());
    }

    #[test]
    fn steps() {
        assert_eq!(parse_step("Step 3/7 : RUN make"), Some((3, 7)));
        assert_eq!(parse_step(" ---> Running in 1234"), None);
    }

    #[test]
    fn transient_push_errors() {
        let e = |m: &str| PushError::Engine { message: m.into() };
        assert!(e("received unexpected HTTP status: 503 Service Unavailable").is_transient());
        assert!(
            e("Patch \"http://127.0.0.1:5999/v2/x/blobs/uploads/1\": read: connection reset by peer").is_transient()
        );
        assert!(!e("unauthorized: authentication required").is_transient());
        assert!(!e("denied: requested access to the resource is denied").is_transient());
    }

    #[test]
    fn auth_header_is_base64url_json() {
        use base64::Engine as _;
        let h = registry_auth_header(None, "x");
        assert_eq!(base64::engine::general_purpose::URL_SAFE.decode(h).unwrap(), b"{}");
        let auth = RegistryAuth {
            username: "u".into(),
            password: crate::providers::credentials::Secret::new("p"),
            identity_token: None,
            source: "t".into(),
        };
        let h = registry_auth_header(Some(&auth), "127.0.0.1:5001");
        let v: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE.decode(h).unwrap()).unwrap();
        assert_eq!(v["username"], "u");
        assert_eq!(v["serveraddress"], "127.0.0.1:5001");
    }
}
