//! The client side of a BuildKit session. The engine's BuildKit calls back into the client for what only the
//! client has: build secrets, the SSH agent, registry credentials. The session is an HTTP connection
//! (`POST /session`) upgraded to h2c on which *the engine* is the gRPC client and shipit serves.
//!
//! bollard's own `build_image` session serves registry credentials only (no secrets, no SSH), and its full
//! gRPC driver loads the whole context into memory, so shipit serves the session itself with bollard's
//! generated BuildKit protocol types and streams the context through `/build` as a tar.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bollard::grpc::build::health::health_server::{Health, HealthServer};
use bollard::grpc::build::health::{HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse};
use bollard::grpc::build::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use bollard::grpc::build::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use bollard::grpc::build::moby::filesync::v1::auth_server::{Auth, AuthServer};
use bollard::grpc::build::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse, GetTokenAuthorityRequest,
    GetTokenAuthorityResponse, VerifyTokenAuthorityRequest, VerifyTokenAuthorityResponse,
};
use bollard::grpc::build::moby::sshforward::v1::ssh_server::{Ssh, SshServer};
use bollard::grpc::build::moby::sshforward::v1::{BytesMessage, CheckAgentRequest, CheckAgentResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tonic::{Request, Response, Status, Streaming};

use crate::providers::docker::Engine;

/// A secret's bytes. Debug never shows them.
#[derive(Clone)]
pub struct SecretValue(pub Vec<u8>);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValue({} bytes)", self.0.len())
    }
}

/// Registry credentials the engine may ask for (pulling a base image, importing a registry cache).
#[derive(Clone, Debug)]
pub struct HostCredentials {
    pub username: String,
    pub secret: crate::providers::credentials::Secret,
}

/// What the session offers the build.
#[derive(Default, Clone)]
pub struct SessionServices {
    pub secrets: HashMap<String, SecretValue>,
    /// The agent socket (`SSH_AUTH_SOCK`) for `RUN --mount=type=ssh`.
    pub ssh_agent: Option<PathBuf>,
    /// By registry host (`ghcr.io`, `127.0.0.1:5001`).
    pub credentials: HashMap<String, HostCredentials>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The engine answered `/session` with an error: it has no BuildKit (or it is switched off).
    #[error("the engine refused a BuildKit session ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("cannot open a BuildKit session with the engine at {host}: {detail}")]
    Io { host: String, detail: String },
}

/// gRPC method names the engine may call, announced when the session opens (the engine only routes these).
fn methods(services: &SessionServices) -> Vec<String> {
    let mut m = vec![
        "/moby.filesync.v1.Auth/Credentials".to_string(),
        "/moby.filesync.v1.Auth/FetchToken".to_string(),
        "/moby.filesync.v1.Auth/GetTokenAuthority".to_string(),
        "/moby.filesync.v1.Auth/VerifyTokenAuthority".to_string(),
        "/moby.buildkit.secrets.v1.Secrets/GetSecret".to_string(),
        "/grpc.health.v1.Health/Check".to_string(),
    ];
    if services.ssh_agent.is_some() {
        m.push("/moby.sshforward.v1.SSH/CheckAgent".to_string());
        m.push("/moby.sshforward.v1.SSH/ForwardAgent".to_string());
    }
    m
}

/// Open the session and serve it in the background until the engine hangs up (the build is over) or the
/// returned handle is aborted.
pub async fn open(
    engine: &Engine,
    id: &str,
    name: &str,
    services: SessionServices,
) -> Result<tokio::task::JoinHandle<()>, SessionError> {
    let io_err = |detail: String| SessionError::Io { host: engine.host.clone(), detail };
    let version = engine.api.client_version();
    let mut request = hyper::Request::builder()
        .method("POST")
        .uri(format!("/v{version}/session"))
        .header("Host", "docker")
        .header("Connection", "Upgrade")
        .header("Upgrade", "h2c")
        .header("X-Docker-Expose-Session-Uuid", id)
        .header("X-Docker-Expose-Session-Name", name)
        .header("X-Docker-Expose-Session-Sharedkey", name);
    for m in methods(&services) {
        request = request.header("X-Docker-Expose-Session-Grpc-Method", m);
    }
    let request = request.body(http_body_util::Empty::<Bytes>::new()).map_err(|e| io_err(e.to_string()))?;
    let stream = crate::providers::docker::connect_raw(engine).await.map_err(io_err)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| io_err(crate::error::chain(&e)))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let response = sender.send_request(request).await.map_err(|e| io_err(crate::error::chain(&e)))?;
    if response.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
        use http_body_util::BodyExt;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        return Err(SessionError::Refused { status, message });
    }
    let upgraded = hyper::upgrade::on(response).await.map_err(|e| io_err(crate::error::chain(&e)))?;
    let transport = Transport(TokioIo::new(upgraded));

    let ssh = services.ssh_agent.clone();
    let router = tonic::transport::Server::builder()
        .add_service(HealthServer::new(Healthy))
        .add_service(AuthServer::new(Credentials(services.credentials)))
        .add_service(SecretsServer::new(SecretStore(services.secrets)));
    let router = match ssh {
        Some(socket) => router.add_service(SshServer::new(Agent(socket))),
        None => router,
    };
    Ok(tokio::spawn(async move {
        let incoming = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(transport)]);
        if let Err(e) = router.serve_with_incoming(incoming).await {
            tracing::debug!("BuildKit session ended: {}", crate::error::chain(&e));
        }
    }))
}

/// The upgraded connection, as tonic wants it.
struct Transport(TokioIo<hyper::upgrade::Upgraded>);

impl tonic::transport::server::Connected for Transport {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Transport {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The engine checks the session's health every few seconds and closes it when a check fails.
struct Healthy;

#[tonic::async_trait]
impl Health for Healthy {
    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn check(&self, _: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        // 1 = SERVING
        Ok(Response::new(HealthCheckResponse { status: 1 }))
    }

    async fn list(&self, _: Request<HealthListRequest>) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("list"))
    }

    async fn watch(&self, _: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
}

struct Credentials(HashMap<String, HostCredentials>);

#[tonic::async_trait]
impl Auth for Credentials {
    async fn credentials(&self, request: Request<CredentialsRequest>) -> Result<Response<CredentialsResponse>, Status> {
        // An unknown host gets empty credentials: the engine then tries anonymously, as `docker build` does.
        let host = &request.get_ref().host;
        Ok(Response::new(match self.0.get(host) {
            Some(c) => CredentialsResponse { username: c.username.clone(), secret: c.secret.expose().to_string() },
            None => CredentialsResponse::default(),
        }))
    }

    async fn fetch_token(&self, _: Request<FetchTokenRequest>) -> Result<Response<FetchTokenResponse>, Status> {
        // Unimplemented makes the engine fetch the token itself with the credentials above (as it does for
        // docker CLIs older than token support).
        Err(Status::unimplemented("fetch_token"))
    }

    async fn get_token_authority(
        &self,
        _: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("get_token_authority"))
    }

    async fn verify_token_authority(
        &self,
        _: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("verify_token_authority"))
    }
}

struct SecretStore(HashMap<String, SecretValue>);

#[tonic::async_trait]
impl Secrets for SecretStore {
    async fn get_secret(&self, request: Request<GetSecretRequest>) -> Result<Response<GetSecretResponse>, Status> {
        let id = &request.get_ref().id;
        match self.0.get(id) {
            Some(v) => Ok(Response::new(GetSecretResponse { data: v.0.clone() })),
            None => {
                let mut known: Vec<&str> = self.0.keys().map(String::as_str).collect();
                known.sort();
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                Err(Status::not_found(format!(
                    "secret `{id}` is not in [build.secrets] of ship.toml (configured: {known})"
                )))
            }
        }
    }
}

/// Forwards `RUN --mount=type=ssh` to the local agent: the engine sends the agent protocol's bytes as a
/// stream of messages, the agent's answers go back the same way.
struct Agent(PathBuf);

#[tonic::async_trait]
impl Ssh for Agent {
    type ForwardAgentStream = Pin<Box<dyn Stream<Item = Result<BytesMessage, Status>> + Send>>;

    async fn check_agent(&self, request: Request<CheckAgentRequest>) -> Result<Response<CheckAgentResponse>, Status> {
        let id = &request.get_ref().id;
        if !id.is_empty() && id != "default" {
            return Err(Status::not_found(format!(
                "ssh id `{id}`: shipit forwards only the default agent (SSH_AUTH_SOCK); use `RUN --mount=type=ssh`"
            )));
        }
        Ok(Response::new(CheckAgentResponse {}))
    }

    async fn forward_agent(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::ForwardAgentStream>, Status> {
        let socket = tokio::net::UnixStream::connect(&self.0).await.map_err(|e| {
            Status::unavailable(format!("cannot connect to the SSH agent at {}: {e}", self.0.display()))
        })?;
        let (read, mut write) = socket.into_split();
        let mut incoming = request.into_inner();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = incoming.next().await {
                if write.write_all(&msg.data).await.is_err() {
                    break;
                }
            }
            let _ = write.shutdown().await;
        });
        let outgoing = futures_util::stream::unfold(read, |mut read| async move {
            let mut buf = vec![0u8; 32 * 1024];
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(BytesMessage { data: buf }), read))
                }
            }
        });
        let outgoing: Self::ForwardAgentStream = Box::pin(outgoing);
        Ok(Response::new(outgoing))
    }
}
