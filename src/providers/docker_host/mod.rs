//! A plain Docker host as a deploy target: one container per environment, replaced by a container of the new
//! image. Docker has no notion of revisions, so shipit keeps the previous containers (stopped, renamed
//! `<name>--r<N>`, or `<name>--r<N>-failed` when its rollout failed) and labels every container it creates;
//! those labels are the history, and an old container's image is what a rollback starts again.
//!
//! - swap.rs: replacing the container (two at once when they can share the host, else one after the other)
//! - lock.rs: the deploy lock (a volume the engine refuses to create twice)

mod lock;
mod swap;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
use chrono::{DateTime, Utc};

use crate::config::DockerEnv;
use crate::error::{CliError, chain};
use crate::release::ImageRef;
use crate::rollout::{LiveState, Revision};

const LABEL_MANAGED: &str = "dev.shipit.container";
const LABEL_REVISION: &str = "dev.shipit.revision";
const LABEL_IMAGE: &str = "dev.shipit.image";
const LABEL_COMMIT: &str = "dev.shipit.commit";
const LABEL_DEPLOYER: &str = "dev.shipit.deployer";
const LABEL_DEPLOYED_AT: &str = "dev.shipit.deployed-at";

/// Old containers kept for rollback.
const KEEP_PREVIOUS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum DockerHostError {
    #[error(transparent)]
    Connect(#[from] super::docker::DockerError),
    #[error("Docker engine at {host}: {what}: {detail}")]
    Api { host: String, what: String, detail: String },
    #[error("cannot pull {image}: {detail}")]
    Pull { image: String, detail: String },
}

impl From<DockerHostError> for CliError {
    fn from(e: DockerHostError) -> Self {
        let hint = match &e {
            DockerHostError::Connect(c) => c.hint(),
            DockerHostError::Api { .. } => {
                "check the engine with `docker ps -a`; `shipit status <env>` shows what runs"
            }
            DockerHostError::Pull { .. } => {
                "check that the engine can reach the registry, that the digest exists, and for a private registry that `docker login HOST` was run where shipit runs (shipit sends the engine docker's credentials for the image's host)"
            }
        };
        CliError::failure(e.to_string()).hint(hint)
    }
}

pub struct DockerTarget {
    docker: Docker,
    host: String,
    name: String,
    env_name: String,
    ports: Vec<String>,
    env: Vec<String>,
    network: Option<String>,
    stop_timeout: Duration,
    /// Revisions marked failed while they were live (a failed verification): a live container keeps its name,
    /// so the mark is applied when it is moved aside by the restore that follows.
    failed_while_live: Mutex<HashSet<u64>>,
}

impl DockerTarget {
    pub async fn connect(env_name: &str, env: &DockerEnv) -> Result<DockerTarget, DockerHostError> {
        let (docker, host) = super::docker::connect(env.host.as_deref()).await?;
        super::docker::ping(&docker, &host).await?;
        Ok(DockerTarget {
            docker,
            host,
            name: env.container_name.clone(),
            env_name: env_name.to_string(),
            ports: env.ports.clone(),
            env: env.env.clone(),
            network: env.network.clone(),
            stop_timeout: env.stop_timeout,
            failed_while_live: Mutex::new(HashSet::new()),
        })
    }

    pub fn describe(&self) -> String {
        format!("docker container {} ({})", self.name, self.host)
    }

    fn api(&self, what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerHostError + '_ {
        let what = what.into();
        move |e| DockerHostError::Api { host: self.host.clone(), what, detail: chain(&e) }
    }

    /// Every container shipit made for this environment, newest revision first.
    async fn managed(&self) -> Result<Vec<ContainerSummary>, DockerHostError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_MANAGED}={}", self.name)])]);
        let mut list = self
            .docker
            .list_containers(Some(ListContainersOptions { all: true, filters: Some(filters), ..Default::default() }))
            .await
            .map_err(self.api("list containers"))?;
        list.sort_by_key(|c| std::cmp::Reverse(revision_of(c)));
        Ok(list)
    }

    fn is_live(&self, c: &ContainerSummary) -> bool {
        c.names.iter().flatten().any(|n| n.trim_start_matches('/') == self.name)
    }

    /// Labels cannot change after a container is created, so a failed rollout is recorded in the name it is
    /// moved aside under: `<name>--r<N>-failed`.
    fn failed_name(&self, revision: u64) -> String {
        format!("{}--r{revision}-failed", self.name)
    }

    fn is_failed(&self, c: &ContainerSummary) -> bool {
        let failed = self.failed_name(revision_of(c));
        c.names.iter().flatten().any(|n| n.trim_start_matches('/') == failed)
    }

    pub async fn live(&self) -> Result<Option<LiveState>, DockerHostError> {
        let info = match self.docker.inspect_container(&self.name, None::<InspectContainerOptions>).await {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(None),
            Err(e) => return Err(self.api(format!("inspect {}", self.name))(e)),
        };
        let labels = info.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default();
        let image = labels
            .get(LABEL_IMAGE)
            .cloned()
            .or_else(|| info.config.as_ref().and_then(|c| c.image.clone()))
            .unwrap_or_default();
        let state = info.state.as_ref();
        let status = state.and_then(|s| s.status).map(|s| s.to_string()).unwrap_or_else(|| "unknown".into());
        let running = state.and_then(|s| s.running).unwrap_or(false);
        let mut details = vec![format!("container {} ({status})", self.name)];
        if let Some(h) = state.and_then(|s| s.health.as_ref()).and_then(|h| h.status) {
            details.push(format!("health: {h}"));
        }
        if !running && let Some(code) = state.and_then(|s| s.exit_code) {
            details.push(format!("exit code {code}"));
        }
        Ok(Some(LiveState {
            revision: labels.get(LABEL_REVISION).cloned(),
            digest: ImageRef::parse_pinned(&image).map(|r| r.digest),
            commit: labels.get(LABEL_COMMIT).map(|v| crate::providers::limits::label(v)),
            image,
            rollout: if running { "RUNNING".into() } else { status.to_uppercase() },
            desired: 1,
            running: i64::from(running),
            pending: 0,
            details,
        }))
    }

    pub async fn history(&self, limit: usize) -> Result<Vec<Revision>, DockerHostError> {
        Ok(self
            .managed()
            .await?
            .iter()
            .take(limit)
            .map(|c| {
                let labels = c.labels.clone().unwrap_or_default();
                let image = labels.get(LABEL_IMAGE).cloned().or_else(|| c.image.clone()).unwrap_or_default();
                Revision {
                    revision: revision_of(c).to_string(),
                    digest: ImageRef::parse_pinned(&image).map(|r| r.digest),
                    image,
                    commit: labels.get(LABEL_COMMIT).map(|v| crate::providers::limits::label(v)),
                    deployer: labels.get(LABEL_DEPLOYER).map(|v| crate::providers::limits::label(v)),
                    created: labels
                        .get(LABEL_DEPLOYED_AT)
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.with_timezone(&Utc)),
                    live: self.is_live(c),
                    failed: self.is_failed(c),
                }
            })
            .collect())
    }
}

fn revision_of(c: &ContainerSummary) -> u64 {
    c.labels.as_ref().and_then(|l| l.get(LABEL_REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}
