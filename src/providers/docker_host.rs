//! A plain Docker host as a deploy target: one container per environment, replaced by a container of the new
//! image. Docker has no notion of revisions, so shipit keeps the previous containers (stopped, renamed
//! `<name>--r<N>`, or `<name>--r<N>-failed` when an auto-rollback replaced it) and labels every container it
//! creates; those labels are the history, and an old container's image is what a rollback starts again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, ContainerSummary, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, RenameContainerOptions, StartContainerOptions, StopContainerOptions,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::config::Environment;
use crate::deploy::{DeployMeta, DeployOptions, LiveState, Outcome, Revision};
use crate::error::{CliError, chain};
use crate::release::ImageRef;
use crate::report::Reporter;

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
                "check that the engine can reach the registry and is logged in (`docker login`), and that the digest exists"
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
}

impl DockerTarget {
    pub async fn connect(env_name: &str, env: &Environment, app_name: &str) -> Result<DockerTarget, DockerHostError> {
        let (docker, host) = super::docker::connect(env.host.as_deref()).await?;
        super::docker::ping(&docker, &host).await?;
        Ok(DockerTarget {
            docker,
            host,
            name: env
                .container_name
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("{app_name}-{env_name}")),
            env_name: env_name.to_string(),
            ports: env.ports.iter().map(|p| p.to_string()).collect(),
            env: env.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            network: env.network.as_ref().map(|s| s.to_string()),
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
            commit: labels.get(LABEL_COMMIT).cloned(),
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
                    commit: labels.get(LABEL_COMMIT).cloned(),
                    deployer: labels.get(LABEL_DEPLOYER).cloned(),
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

    pub async fn deploy(
        &self,
        image: &ImageRef,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, DockerHostError> {
        self.replace(&image.pinned(), meta, opts, reporter).await
    }

    pub async fn rollback(
        &self,
        to: &Revision,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, DockerHostError> {
        self.replace(&to.image, meta, opts, reporter).await
    }

    async fn replace(
        &self,
        image: &str,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, DockerHostError> {
        self.ensure_image(image, reporter).await?;
        let managed = self.managed().await?;
        let next = managed.first().map(revision_of).unwrap_or(0) + 1;

        // Move the running container aside (stopped, renamed) so the new one can take its name and ports; it is
        // what an auto-rollback restarts.
        let previous = match self.docker.inspect_container(&self.name, None::<InspectContainerOptions>).await {
            Ok(info) => {
                let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
                let rev = labels.get(LABEL_REVISION).and_then(|r| r.parse::<u64>().ok()).unwrap_or(0);
                let aside = format!("{}--r{rev}", self.name);
                reporter.status(&format!("stopping {} (revision {rev})", self.name));
                self.stop(&self.name).await?;
                self.docker
                    .rename_container(&self.name, RenameContainerOptions { name: aside.clone() })
                    .await
                    .map_err(self.api(format!("rename {} to {aside}", self.name)))?;
                Some(aside)
            }
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => None,
            Err(e) => return Err(self.api(format!("inspect {}", self.name))(e)),
        };

        reporter.status(&format!("starting {} revision {next}", self.name));
        if let Err(e) = self.create_and_start(image, next, meta).await {
            // The new container never ran (bad port, unknown network, …): nothing was rolled out, so the old
            // container goes back regardless of auto_rollback — a failed create must not leave the host empty.
            self.remove_if_present(&self.name).await;
            if let Some(aside) = &previous {
                reporter.line(&format!("could not start the new container; restarting {aside}"));
                self.restore(aside).await?;
            }
            return Err(e);
        }
        let failure = self.watch_start(opts.timeout, reporter).await?;
        let Some(reason) = failure else {
            let policy = bollard::models::ContainerUpdateBody {
                restart_policy: Some(bollard::models::RestartPolicy {
                    name: Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            };
            self.docker.update_container(&self.name, policy).await.map_err(self.api("set the restart policy"))?;
            reporter.line(&format!("{} revision {next} running {image}", self.name));
            self.prune().await;
            return Ok(Outcome::Completed { revision: next.to_string() });
        };
        if !opts.auto_rollback {
            return Ok(Outcome::Failed { revision: next.to_string(), reason });
        }
        let Some(aside) = previous else {
            return Ok(Outcome::Failed {
                revision: next.to_string(),
                reason: format!("{reason}; nothing to roll back to"),
            });
        };
        reporter.line(&format!("rolling back: restarting {aside}"));
        let failed_name = self.failed_name(next);
        self.stop(&self.name).await?;
        self.docker
            .rename_container(&self.name, RenameContainerOptions { name: failed_name })
            .await
            .map_err(self.api("move the failed container aside"))?;
        self.restore(&aside).await?;
        let restored = aside.rsplit("--r").next().unwrap_or_default().to_string();
        Ok(Outcome::RolledBack { revision: next.to_string(), restored, reason })
    }

    /// Give the container moved aside its name back and start it again.
    async fn restore(&self, aside: &str) -> Result<(), DockerHostError> {
        self.docker
            .rename_container(aside, RenameContainerOptions { name: self.name.clone() })
            .await
            .map_err(self.api(format!("rename {aside} back to {}", self.name)))?;
        self.docker
            .start_container(&self.name, None::<StartContainerOptions>)
            .await
            .map_err(self.api(format!("restart {}", self.name)))
    }

    async fn remove_if_present(&self, name: &str) {
        let _ = self
            .docker
            .remove_container(name, Some(RemoveContainerOptions { force: true, ..Default::default() }))
            .await;
    }

    async fn ensure_image(&self, image: &str, reporter: &dyn Reporter) -> Result<(), DockerHostError> {
        if self.docker.inspect_image(image).await.is_ok() {
            return Ok(());
        }
        reporter.status(&format!("pulling {image}"));
        let mut stream = self.docker.create_image(
            Some(CreateImageOptions { from_image: Some(image.to_string()), ..Default::default() }),
            None,
            None,
        );
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status {
                        reporter.detail(&status);
                    }
                }
                Err(e) => return Err(DockerHostError::Pull { image: image.to_string(), detail: chain(&e) }),
            }
        }
        Ok(())
    }

    async fn stop(&self, name: &str) -> Result<(), DockerHostError> {
        match self.docker.stop_container(name, Some(StopContainerOptions { t: Some(10), signal: None })).await {
            // 304: already stopped; 404: there is nothing to stop.
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => Ok(()),
            Err(e) => Err(self.api(format!("stop {name}"))(e)),
        }
    }

    async fn create_and_start(&self, image: &str, revision: u64, meta: &DeployMeta) -> Result<(), DockerHostError> {
        let labels = HashMap::from([
            (LABEL_MANAGED.to_string(), self.name.clone()),
            (LABEL_REVISION.to_string(), revision.to_string()),
            (LABEL_IMAGE.to_string(), image.to_string()),
            (LABEL_COMMIT.to_string(), meta.commit.clone()),
            (LABEL_DEPLOYER.to_string(), meta.deployer.clone()),
            (LABEL_DEPLOYED_AT.to_string(), Utc::now().to_rfc3339()),
            ("dev.shipit.environment".to_string(), self.env_name.clone()),
        ]);
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        let mut exposed = Vec::new();
        for p in &self.ports {
            let (host_part, container_port) = p.rsplit_once(':').unwrap_or(("", p));
            let (host_ip, host_port) = host_part.rsplit_once(':').unwrap_or(("", host_part));
            let key =
                if container_port.contains('/') { container_port.to_string() } else { format!("{container_port}/tcp") };
            exposed.push(key.clone());
            bindings.entry(key).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(PortBinding {
                host_ip: (!host_ip.is_empty()).then(|| host_ip.to_string()),
                host_port: Some(host_port.to_string()),
            });
        }
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(labels),
            env: (!self.env.is_empty()).then(|| self.env.clone()),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            host_config: Some(HostConfig {
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                network_mode: self.network.clone(),
                // No restart policy while the start is being watched: a crash must stay visible (exit code,
                // logs) instead of being papered over by a restart. It is set once the container is healthy.
                ..Default::default()
            }),
            ..Default::default()
        };
        self.docker
            .create_container(
                Some(CreateContainerOptions { name: Some(self.name.clone()), ..Default::default() }),
                body,
            )
            .await
            .map_err(self.api(format!("create {}", self.name)))?;
        self.docker
            .start_container(&self.name, None::<StartContainerOptions>)
            .await
            .map_err(self.api(format!("start {}", self.name)))?;
        Ok(())
    }

    /// Healthy means: running and, when the image has a healthcheck, `healthy`; without one, still running
    /// after a settle period (a crash-on-boot shows up within it). Returns the failure reason, if any.
    async fn watch_start(&self, timeout: Duration, reporter: &dyn Reporter) -> Result<Option<String>, DockerHostError> {
        let settle = Duration::from_secs(3).min(timeout);
        let started = Instant::now();
        loop {
            let info = self
                .docker
                .inspect_container(&self.name, None::<InspectContainerOptions>)
                .await
                .map_err(self.api(format!("inspect {}", self.name)))?;
            let state = info.state.unwrap_or_default();
            if !state.running.unwrap_or(false) {
                let code = state.exit_code.unwrap_or_default();
                let logs = self.log_tail(20).await;
                let mut reason = format!("container exited with code {code}");
                if let Some(err) = state.error.filter(|e| !e.is_empty()) {
                    reason.push_str(&format!(": {err}"));
                }
                if !logs.is_empty() {
                    reason.push_str(&format!("\nlast log lines:\n{logs}"));
                }
                return Ok(Some(reason));
            }
            let health = state.health.and_then(|h| h.status).map(|s| s.to_string());
            match health.as_deref() {
                Some("healthy") => return Ok(None),
                Some("unhealthy") => return Ok(Some(format!("health check failed\n{}", self.log_tail(20).await))),
                Some(other) if started.elapsed() < timeout => reporter.status(&format!("waiting for health: {other}")),
                Some(other) => {
                    return Ok(Some(format!("still `{other}` after {}", humantime::format_duration(timeout))));
                }
                None if started.elapsed() >= settle => return Ok(None),
                None => reporter.status(&format!("running, settling ({}s)", settle.as_secs())),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn log_tail(&self, lines: usize) -> String {
        let mut stream = self.docker.logs(
            &self.name,
            Some(LogsOptions { stdout: true, stderr: true, tail: lines.to_string(), ..Default::default() }),
        );
        let mut out = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        out.trim_end().to_string()
    }

    /// Keep the newest few stopped revisions; older ones go.
    async fn prune(&self) {
        let Ok(all) = self.managed().await else { return };
        for c in all.iter().filter(|c| !self.is_live(c)).skip(KEEP_PREVIOUS) {
            if let Some(id) = &c.id {
                let _ = self
                    .docker
                    .remove_container(id, Some(RemoveContainerOptions { force: true, ..Default::default() }))
                    .await;
            }
        }
    }
}

fn revision_of(c: &ContainerSummary) -> u64 {
    c.labels.as_ref().and_then(|l| l.get(LABEL_REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}
