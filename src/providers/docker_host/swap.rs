//! Replacing the container, without leaving the host with nothing running — not on a failed start, not on a
//! signal. Two modes:
//!
//! - **two containers** (no published ports, not host networking): the new container starts beside the old one
//!   under a name of its own, and only once it runs (and is healthy, when the image has a HEALTHCHECK) is the
//!   old one stopped and the names swapped. A new container that fails never replaced anything.
//! - **one at a time** (published host ports, or host networking, where two cannot bind the same port): the new
//!   container is pulled and created first, so the gap is the old one's stop plus the new one's start.
//!
//! Each mode's step that changes what runs is a critical section (see `interrupt`): a signal during the wait
//! for the new container aborts the deploy cleanly; a signal during the swap or a restore waits for its end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, LogsOptions, RemoveContainerOptions,
    RenameContainerOptions, StartContainerOptions, StopContainerOptions,
};
use chrono::Utc;
use futures_util::StreamExt;

use super::{
    DockerHostError, DockerTarget, LABEL_COMMIT, LABEL_DEPLOYED_AT, LABEL_DEPLOYER, LABEL_IMAGE, LABEL_MANAGED,
    LABEL_REVISION, revision_of,
};
use crate::interrupt;
use crate::release::ImageRef;
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, Outcome, Revision};

/// How the new container takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    TwoContainers,
    OneAtATime,
}

/// What the watch of a starting container saw.
enum Start {
    Healthy,
    Failed(String),
    /// A signal arrived while waiting.
    Interrupted,
}

impl DockerTarget {
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

    /// What a deploy of `image` would do, for the approval screen.
    pub async fn preview(&self, image: &str) -> Result<Vec<String>, DockerHostError> {
        let now = self.live().await?.map(|l| l.image);
        let mut lines = vec![match now {
            Some(now) => format!("container {}: {now} → {image}", self.name),
            None => format!("container {}: nothing runs; starts {image}", self.name),
        }];
        lines.push(match self.mode() {
            Mode::TwoContainers => {
                "the new container starts beside the old one; the old one stops once the new one runs".to_string()
            }
            Mode::OneAtATime => format!(
                "published ports or host networking: the old container stops (up to {}s) before the new one starts",
                self.stop_timeout.as_secs()
            ),
        });
        Ok(lines)
    }

    /// Which mode a deploy of this environment uses (and `status`/docs can say so).
    pub fn mode(&self) -> Mode {
        if self.ports.is_empty() && self.network.as_deref() != Some("host") {
            Mode::TwoContainers
        } else {
            Mode::OneAtATime
        }
    }

    /// Mark `revision` failed. A container that is not live is renamed `<name>--r<N>-failed` now; the live one
    /// keeps its name until the restore that follows moves it aside.
    pub async fn mark_failed(&self, revision: &Revision, _reporter: &dyn Reporter) -> Result<(), DockerHostError> {
        let Ok(n) = revision.revision.parse::<u64>() else { return Ok(()) };
        if revision.live {
            self.failed_while_live.lock().unwrap_or_else(|p| p.into_inner()).insert(n);
            return Ok(());
        }
        let aside = format!("{}--r{n}", self.name);
        self.rename(&aside, &self.failed_name(n)).await
    }

    fn staging_name(&self) -> String {
        format!("{}--next", self.name)
    }

    fn aside_name(&self, revision: u64) -> String {
        if self.failed_while_live.lock().unwrap_or_else(|p| p.into_inner()).contains(&revision) {
            self.failed_name(revision)
        } else {
            format!("{}--r{revision}", self.name)
        }
    }

    async fn replace(
        &self,
        image: &str,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, DockerHostError> {
        // This function answers signals itself, at the points where the host is whole.
        let _critical = interrupt::critical();
        let managed = self.managed().await?;
        let next = managed.first().map(revision_of).unwrap_or(0) + 1;
        let current = self.current().await?;
        let still = match current {
            Some((rev, true)) => format!("{} still runs revision {rev}", self.name),
            Some((rev, false)) => format!("{} revision {rev} is stopped, as it was", self.name),
            None => format!("nothing was started as {}", self.name),
        };
        match interrupt::unless_interrupted(self.ensure_image(image, reporter)).await {
            None => {
                return Ok(Outcome::Interrupted {
                    revision: next.to_string(),
                    state: format!("nothing changed; {still}"),
                });
            }
            Some(r) => r?,
        }
        // A staging container left by a run that was killed (SIGKILL, power) is not anybody's release.
        self.remove_if_present(&self.staging_name()).await;
        self.create(&self.staging_name(), image, next, meta).await?;

        let running_old = matches!(current, Some((_, true)));
        if running_old && self.mode() == Mode::TwoContainers {
            let old = current.map(|(r, _)| r).unwrap_or(0);
            self.side_by_side(old, next, opts, reporter, &still).await
        } else {
            self.one_at_a_time(current.map(|(r, _)| r), next, opts, reporter, &still).await
        }
    }

    /// The live container's revision and whether it runs.
    async fn current(&self) -> Result<Option<(u64, bool)>, DockerHostError> {
        match self.docker.inspect_container(&self.name, None::<InspectContainerOptions>).await {
            Ok(info) => {
                let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
                let rev = labels.get(LABEL_REVISION).and_then(|r| r.parse::<u64>().ok()).unwrap_or(0);
                let running = info.state.and_then(|s| s.running).unwrap_or(false);
                Ok(Some((rev, running)))
            }
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(self.api(format!("inspect {}", self.name))(e)),
        }
    }

    async fn side_by_side(
        &self,
        old: u64,
        next: u64,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
        still: &str,
    ) -> Result<Outcome, DockerHostError> {
        let staging = self.staging_name();
        reporter.line(&format!(
            "two containers: starting revision {next} beside revision {old}; the names swap once it is healthy"
        ));
        if let Err(e) = self.start(&staging).await {
            self.remove_if_present(&staging).await;
            return Err(e);
        }
        match self.watch_start(&staging, opts.timeout, reporter).await? {
            Start::Interrupted => {
                self.remove_if_present(&staging).await;
                Ok(Outcome::Interrupted {
                    revision: next.to_string(),
                    state: format!("{still}; revision {next} was stopped and removed before it took over"),
                })
            }
            Start::Failed(reason) => {
                // Kept, stopped, for its logs; it never served.
                let _ = self.stop(&staging).await;
                let _ = self.rename(&staging, &self.failed_name(next)).await;
                let reason = format!("{reason}\nrevision {old} kept running: the new container never took over");
                Ok(if opts.auto_rollback {
                    Outcome::RolledBack { revision: next.to_string(), restored: old.to_string(), reason }
                } else {
                    Outcome::Failed { revision: next.to_string(), reason }
                })
            }
            Start::Healthy => {
                reporter.status(&format!(
                    "swapping: stopping revision {old}, revision {next} takes the name {}",
                    self.name
                ));
                let aside = self.aside_name(old);
                self.stop(&self.name).await?;
                self.rename(&self.name, &aside).await?;
                if let Err(e) = self.rename(&staging, &self.name).await {
                    // Put the old one back exactly as it was; the new one stays aside, stopped.
                    let _ = self.stop(&staging).await;
                    self.restore(&aside, reporter).await?;
                    return Err(e);
                }
                self.keep_running(next, reporter).await
            }
        }
    }

    async fn one_at_a_time(
        &self,
        old: Option<u64>,
        next: u64,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
        still: &str,
    ) -> Result<Outcome, DockerHostError> {
        let staging = self.staging_name();
        let aside = match old {
            Some(rev) => {
                reporter.line(&format!(
                    "one container at a time ({}): revision {next} is created; stopping revision {rev}, then starting it",
                    if self.network.as_deref() == Some("host") { "host networking" } else { "published host ports" }
                ));
                let aside = self.aside_name(rev);
                reporter.status(&format!("stopping {} (revision {rev})", self.name));
                self.stop(&self.name).await?;
                self.rename(&self.name, &aside).await?;
                Some(aside)
            }
            None => None,
        };
        reporter.status(&format!("starting {} revision {next}", self.name));
        let started = async {
            self.rename(&staging, &self.name).await?;
            self.start(&self.name).await
        }
        .await;
        if let Err(e) = started {
            // The new container never ran (bad port, unknown network, …): nothing was rolled out, so the old
            // container goes back regardless of auto_rollback — a failed start must not leave the host empty.
            self.remove_if_present(&self.name).await;
            self.remove_if_present(&staging).await;
            if let Some(aside) = &aside {
                reporter.line(&format!("could not start the new container; restarting {aside}"));
                self.restore(aside, reporter).await?;
            }
            return Err(e);
        }
        let reason = match self.watch_start(&self.name, opts.timeout, reporter).await? {
            Start::Healthy => return self.keep_running(next, reporter).await,
            // It is started and the old one is stopped: the swap is done; only its health is unconfirmed.
            Start::Interrupted => {
                return Ok(Outcome::Interrupted {
                    revision: next.to_string(),
                    state: format!(
                        "{} runs revision {next}, started but its health not yet confirmed{}",
                        self.name,
                        old.map(|r| format!("; revision {r} is stopped as {}", self.aside_name(r))).unwrap_or_default()
                    ),
                });
            }
            Start::Failed(reason) => reason,
        };
        if !opts.auto_rollback {
            return Ok(Outcome::Failed { revision: next.to_string(), reason });
        }
        let (Some(aside), Some(old)) = (aside, old) else {
            let _ = still;
            return Ok(Outcome::Failed {
                revision: next.to_string(),
                reason: format!("{reason}; nothing to roll back to"),
            });
        };
        reporter.line(&format!("rolling back: restarting {aside}"));
        self.stop(&self.name).await?;
        self.rename(&self.name, &self.failed_name(next)).await?;
        self.restore(&aside, reporter).await?;
        Ok(Outcome::RolledBack { revision: next.to_string(), restored: old.to_string(), reason })
    }

    /// The new container is the live one: restart it if it dies from now on, and prune old revisions.
    async fn keep_running(&self, next: u64, reporter: &dyn Reporter) -> Result<Outcome, DockerHostError> {
        let policy = bollard::models::ContainerUpdateBody {
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        self.docker.update_container(&self.name, policy).await.map_err(self.api("set the restart policy"))?;
        reporter.line(&format!("{} revision {next} is running", self.name));
        self.prune().await;
        Ok(Outcome::Completed { revision: next.to_string() })
    }

    /// Give the container moved aside its name back, start it, and wait until it runs.
    async fn restore(&self, aside: &str, reporter: &dyn Reporter) -> Result<(), DockerHostError> {
        self.rename(aside, &self.name).await?;
        self.start(&self.name).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((_, true)) = self.current().await? {
                reporter.line(&format!("{} runs again ({aside} restored)", self.name));
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DockerHostError::Api {
                    host: self.host.clone(),
                    what: format!("restart {aside} as {}", self.name),
                    detail: "it was started but is not running after 30s (`docker logs` shows why)".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), DockerHostError> {
        self.docker
            .rename_container(from, RenameContainerOptions { name: to.to_string() })
            .await
            .map_err(self.api(format!("rename {from} to {to}")))
    }

    async fn start(&self, name: &str) -> Result<(), DockerHostError> {
        match self.docker.start_container(name, None::<StartContainerOptions>).await {
            // 304: already running.
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(self.api(format!("start {name}"))(e)),
        }
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
        // The engine pulls with what the client sends (`X-Registry-Auth`), never with its own login: the
        // credentials are docker's own for the image's host (config.json, credential helpers), as `docker pull`
        // on this machine would use.
        let host = image.split('/').next().unwrap_or_default();
        let lookup = crate::providers::credentials::Lookup::from_env();
        let credentials = match crate::providers::credentials::from_docker_config(host, &lookup) {
            Ok(found) => found.map(|a| crate::providers::docker::engine_credentials(&a, image)),
            Err(e) => {
                reporter.line(&format!("pulling without credentials: {e}"));
                None
            }
        };
        let mut stream = self.docker.create_image(
            Some(CreateImageOptions { from_image: Some(image.to_string()), ..Default::default() }),
            None,
            credentials,
        );
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status {
                        reporter.detail(&status);
                    }
                }
                Err(e) => {
                    return Err(DockerHostError::Pull { image: image.to_string(), detail: crate::error::chain(&e) });
                }
            }
        }
        Ok(())
    }

    async fn stop(&self, name: &str) -> Result<(), DockerHostError> {
        let t = i32::try_from(self.stop_timeout.as_secs()).unwrap_or(i32::MAX);
        match self.docker.stop_container(name, Some(StopContainerOptions { t: Some(t), signal: None })).await {
            // 304: already stopped; 404: there is nothing to stop.
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => Ok(()),
            Err(e) => Err(self.api(format!("stop {name}"))(e)),
        }
    }

    /// Create (not start) the container of revision `revision` under `name`.
    async fn create(&self, name: &str, image: &str, revision: u64, meta: &DeployMeta) -> Result<(), DockerHostError> {
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
            .create_container(Some(CreateContainerOptions { name: Some(name.to_string()), ..Default::default() }), body)
            .await
            .map_err(self.api(format!("create {name}")))?;
        Ok(())
    }

    /// Healthy means: running and, when the image has a healthcheck, `healthy`; without one, still running
    /// after a settle period (a crash-on-boot shows up within it).
    async fn watch_start(
        &self,
        name: &str,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Result<Start, DockerHostError> {
        let settle = Duration::from_secs(3).min(timeout);
        let started = Instant::now();
        loop {
            if interrupt::requested() {
                return Ok(Start::Interrupted);
            }
            let info = self
                .docker
                .inspect_container(name, None::<InspectContainerOptions>)
                .await
                .map_err(self.api(format!("inspect {name}")))?;
            let state = info.state.unwrap_or_default();
            if !state.running.unwrap_or(false) {
                let code = state.exit_code.unwrap_or_default();
                let logs = self.log_tail(name, 20).await;
                let mut reason = format!("container exited with code {code}");
                if let Some(err) = state.error.filter(|e| !e.is_empty()) {
                    reason.push_str(&format!(": {err}"));
                }
                if !logs.is_empty() {
                    reason.push_str(&format!("\nlast log lines:\n{logs}"));
                }
                return Ok(Start::Failed(reason));
            }
            let health = state.health.and_then(|h| h.status).map(|s| s.to_string());
            match health.as_deref() {
                Some("healthy") => return Ok(Start::Healthy),
                Some("unhealthy") => {
                    return Ok(Start::Failed(format!("health check failed\n{}", self.log_tail(name, 20).await)));
                }
                Some(other) if started.elapsed() < timeout => reporter.status(&format!("waiting for health: {other}")),
                Some(other) => {
                    return Ok(Start::Failed(format!("still `{other}` after {}", humantime::format_duration(timeout))));
                }
                None if started.elapsed() >= settle => return Ok(Start::Healthy),
                None => reporter.status(&format!("running, settling ({}s)", settle.as_secs())),
            }
            let tick = tokio::time::sleep(Duration::from_millis(250));
            if interrupt::unless_interrupted(tick).await.is_none() {
                return Ok(Start::Interrupted);
            }
        }
    }

    async fn log_tail(&self, name: &str, lines: usize) -> String {
        let mut stream = self.docker.logs(
            name,
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
        for c in all.iter().filter(|c| !self.is_live(c)).skip(super::KEEP_PREVIOUS) {
            if let Some(id) = &c.id {
                let _ = self
                    .docker
                    .remove_container(id, Some(RemoveContainerOptions { force: true, ..Default::default() }))
                    .await;
            }
        }
    }
}
