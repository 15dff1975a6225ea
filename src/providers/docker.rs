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

/// The engine address: an explicit host, else DOCKER_HOST, else the local socket.
pub fn host(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
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
