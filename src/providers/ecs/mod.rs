//! Amazon ECS as a deploy target: a new task-definition revision that differs from the running one only in the
//! image (pinned by digest), the service pointed at it, and the rollout watched until ECS says how it ended.
//! Rollback points the service at an existing revision: no rebuild, no re-register.

mod body_cap;
pub mod error;
mod history;
mod lock;
mod preview;
mod service;
pub mod taskdef;
pub mod tasks;
mod wait;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::config::timeout::TimeoutConfig;
use aws_sdk_ecs::types::{Service, Tag, TaskDefinition, TaskDefinitionField};

pub use self::error::EcsError;
use self::service::{deployments_summary, describe_deployment, live_task_definition, primary, settled_on};
use self::taskdef::{
    OUTCOME_FAILED, TAG_COMMIT, TAG_OUTCOME, container_image, deploy_tags, family_revision, marked_failed,
    register_request, same_revision, short_name, tag, with_image,
};
use self::wait::{Rollout, Watch, stopped_summary};
use crate::config::{EcsEnv, Environment};
use crate::interrupt;
use crate::release::ImageRef;
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, LiveState, Outcome, Revision};

pub struct EcsTarget {
    client: Client,
    env_name: String,
    cluster: String,
    service: String,
    container: String,
    region: String,
    service_arn: std::sync::OnceLock<String>,
}

impl EcsTarget {
    /// Connect with the AWS default credential chain; `region` and `endpoint_url` from the environment.
    pub async fn connect(env_name: &str, env: &EcsEnv, app_name: &str) -> Result<EcsTarget, EcsError> {
        let sdk = crate::providers::aws::sdk_config(env.region.as_deref(), env.endpoint_url.as_deref()).await;
        Ok(EcsTarget::with_sdk_config(env_name, env, app_name, &sdk))
    }

    /// Like `connect`, with an SDK configuration made elsewhere (tests use static credentials).
    pub fn with_sdk_config(env_name: &str, env: &EcsEnv, app_name: &str, sdk: &aws_config::SdkConfig) -> EcsTarget {
        // ECS throttles DescribeServices under load (many pipelines polling one account): retry throttling
        // with backoff well past the SDK's default three attempts. A dead endpoint must not hang a pipeline.
        let conf = aws_sdk_ecs::config::Builder::from(sdk)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(8)
                    .with_initial_backoff(Duration::from_millis(500))
                    .with_max_backoff(Duration::from_secs(10)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            )
            .interceptor(body_cap::BodyCap)
            .build();
        EcsTarget {
            client: Client::from_conf(conf),
            env_name: env_name.to_string(),
            cluster: env.cluster.clone(),
            service: env.service.clone(),
            container: env.container.clone().unwrap_or_else(|| app_name.to_string()),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into()),
            service_arn: std::sync::OnceLock::new(),
        }
    }

    /// A target over a client made elsewhere (the fuzz targets answer its requests themselves).
    #[doc(hidden)]
    pub fn with_client(client: Client, env_name: &str, cluster: &str, service: &str, container: &str) -> EcsTarget {
        EcsTarget {
            client,
            env_name: env_name.to_string(),
            cluster: cluster.to_string(),
            service: service.to_string(),
            container: container.to_string(),
            region: "us-east-1".into(),
            service_arn: std::sync::OnceLock::new(),
        }
    }

    /// `ecs staging/api (us-east-1)`
    pub fn describe(&self) -> String {
        let cluster = self.cluster.rsplit('/').next().unwrap_or(&self.cluster);
        format!("ecs {cluster}/{} ({})", self.service, self.region)
    }

    /// The container whose image deploys replace.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The `imagedefinitions.json` for this target's container.
    pub fn image_definitions(&self, image: &ImageRef) -> String {
        image_definitions_json(&self.container, &image.pinned())
    }

    /// What the service runs now.
    pub async fn live(&self) -> Result<Option<LiveState>, EcsError> {
        let service = self.active_service().await?;
        let Some(current) = live_task_definition(&service).map(str::to_string) else {
            return Ok(None);
        };
        let (td, tags) = self.task_definition(&current).await?;
        let image = self.image_of(&td)?.to_string();
        let p = primary(&service);
        let rollout = match p.and_then(|d| d.rollout_state()) {
            Some(state) => state.as_str().to_string(),
            None if service.deployments().len() > 1 => "IN_PROGRESS".into(),
            None => "COMPLETED".into(),
        };
        let mut details: Vec<String> = service.deployments().iter().map(describe_deployment).collect();
        if let Some(cb) = service.deployment_configuration().and_then(|c| c.deployment_circuit_breaker()) {
            details.push(format!(
                "circuit breaker: {}",
                match (cb.enable, cb.rollback) {
                    (true, true) => "on, rolls back",
                    (true, false) => "on, no rollback",
                    _ => "off",
                }
            ));
        }
        details.extend(service.events().iter().take(3).filter_map(|e| {
            let when = e.created_at().and_then(to_chrono).map(|t| t.format("%Y-%m-%d %H:%M:%S ").to_string());
            e.message().map(|m| format!("event: {}{m}", when.unwrap_or_default()))
        }));
        Ok(Some(LiveState {
            revision: Some(td.revision.to_string()),
            digest: ImageRef::parse_pinned(&image).map(|r| r.digest),
            image,
            commit: tag(&tags, TAG_COMMIT).map(crate::providers::limits::label),
            rollout,
            desired: p.map_or(service.desired_count, |d| d.desired_count).into(),
            running: p.map_or(service.running_count, |d| d.running_count).into(),
            pending: p.map_or(service.pending_count, |d| d.pending_count).into(),
            details,
        }))
    }

    /// Revisions of the service's task-definition family, newest first, the running one marked `live`.
    pub async fn history(&self, limit: usize) -> Result<Vec<Revision>, EcsError> {
        let service = self.active_service().await?;
        let current = live_task_definition(&service)
            .ok_or_else(|| EcsError::NoTaskDefinition { service: self.service.clone() })?;
        let Some((family, _)) = family_revision(current) else {
            return Err(EcsError::RevisionNotFound { task_definition: current.to_string() });
        };
        let arns = history::revision_arns(&self.client, family, limit).await?;
        history::revisions(&self.client, arns, &self.container, Some(current)).await
    }

    /// Register a revision running `image` (and nothing else changed), point the service at it, wait.
    pub async fn deploy(
        &self,
        image: &ImageRef,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, EcsError> {
        let pinned = image.pinned();
        if ImageRef::parse_pinned(&pinned).is_none() {
            return Err(EcsError::NotPinned { image: pinned });
        }
        reporter.status(&format!("reading service {}", self.service));
        let service = self.active_service().await?;
        self.refuse_if_busy(&service, opts)?;
        let current = live_task_definition(&service)
            .ok_or_else(|| EcsError::NoTaskDefinition { service: self.service.clone() })?
            .to_string();
        let (td, tags) = self.task_definition(&current).await?;
        if self.image_of(&td)? == pinned {
            if settled_on(&service, &current) && !opts.force {
                reporter.line(&format!("{} already runs {}", short_name(&current), image.short_digest()));
                return Ok(Outcome::Completed { revision: td.revision.to_string() });
            }
            // Same image, asked again (--force): fresh tasks of the same revision, nothing to register.
            reporter.line(&format!(
                "{} already has {}; starting fresh tasks",
                short_name(&current),
                image.short_digest()
            ));
            let marks = FailedMarks { target: marked_failed(&tags), previous: marked_failed(&tags) };
            return self.roll_out(&service, &current, &current, true, marks, opts, reporter).await;
        }

        let containers =
            with_image(&td, &self.container, &pinned).map_err(|available| EcsError::ContainerNotFound {
                container: self.container.clone(),
                task_definition: short_name(&current),
                available,
            })?;
        reporter.status(&format!("registering a new revision of {}", td.family().unwrap_or("?")));
        let request = register_request(
            self.client.register_task_definition(),
            &td,
            containers,
            deploy_tags(&tags, meta, &image.digest),
        );
        let registered = {
            // Registering is harmless on its own, but a revision registered and never used confuses `history`.
            let _c = interrupt::critical();
            request.send().await.map_err(|e| EcsError::api("RegisterTaskDefinition", e))?
        };
        let new_arn = registered
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .ok_or_else(|| EcsError::Api {
                op: "RegisterTaskDefinition",
                code: None,
                message: "the answer has no task definition ARN".into(),
            })?
            .to_string();
        reporter.line(&format!("registered {} with {} = {}", short_name(&new_arn), self.container, pinned));
        let marks = FailedMarks { target: false, previous: marked_failed(&tags) };
        self.roll_out(&service, &new_arn, &current, false, marks, opts, reporter).await
    }

    /// Point the service at an existing revision (no re-register, no rebuild) and wait like a deploy.
    pub async fn rollback(
        &self,
        to: &Revision,
        _meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, EcsError> {
        reporter.status(&format!("reading service {}", self.service));
        let service = self.active_service().await?;
        self.refuse_if_busy(&service, opts)?;
        let current = live_task_definition(&service)
            .ok_or_else(|| EcsError::NoTaskDefinition { service: self.service.clone() })?
            .to_string();
        let family = family_revision(&current).map(|(f, _)| f.to_string()).unwrap_or_default();
        let wanted = format!("{family}:{}", to.revision);
        let (td, tags) = self.task_definition(&wanted).await?;
        let target = td.task_definition_arn().unwrap_or(&wanted).to_string();
        if settled_on(&service, &target) {
            reporter.line(&format!("{} is already live", short_name(&target)));
            return Ok(Outcome::Completed { revision: td.revision.to_string() });
        }
        // The running revision's tags are not read here: only an auto-rollback would restore it.
        let marks = FailedMarks { target: marked_failed(&tags), previous: false };
        self.roll_out(&service, &target, &current, false, marks, opts, reporter).await
    }

    /// Update the service to `target` (with fresh tasks when `fresh`), watch the rollout, and put `previous`
    /// back if it fails and the environment asks for that.
    #[allow(clippy::too_many_arguments)]
    async fn roll_out(
        &self,
        before: &Service,
        target: &str,
        previous: &str,
        fresh: bool,
        marks: FailedMarks,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, EcsError> {
        let revision = revision_number(target);
        let deployment_id = self.update_service(target, fresh, reporter).await?;
        let rollout = self
            .watch(before, target, deployment_id, opts.timeout, reporter)
            .await
            .map_err(|e| self.after_apply(target, "watching the rollout", None, e))?;
        match &rollout {
            Rollout::Completed if marks.target => self.record_outcome(target, false, reporter).await,
            Rollout::Completed => {}
            // Recorded before any rollback is waited for, so an interrupted wait still leaves the mark.
            Rollout::Failed { .. } => self.record_outcome(target, true, reporter).await,
            Rollout::TimedOut { .. } if opts.auto_rollback => self.record_outcome(target, true, reporter).await,
            // A timeout alone is not a failure (the rollout may yet finish), and it ends in an error, not an outcome.
            Rollout::TimedOut { .. } => {}
        }
        let (reason, replaced_by) = match rollout {
            Rollout::Completed => return Ok(Outcome::Completed { revision }),
            Rollout::Failed { reason, stopped, replaced_by } => {
                // One line per fact: the lead line, then why tasks stopped.
                let reason =
                    if stopped.is_empty() { reason } else { format!("{reason}\n{}", stopped_summary(&stopped)) };
                (reason, replaced_by)
            }
            Rollout::TimedOut { last_seen } if opts.auto_rollback => (
                format!(
                    "the rollout did not finish within {}; last seen: {last_seen}",
                    humantime::format_duration(round_duration(opts.timeout))
                ),
                None,
            ),
            Rollout::TimedOut { last_seen } => {
                return Err(EcsError::TimedOut {
                    env: self.env_name.clone(),
                    target: self.describe(),
                    task_definition: short_name(target),
                    waited: round_duration(opts.timeout),
                    last_seen,
                });
            }
        };
        // ECS's own circuit breaker may already be putting the previous revision back.
        let ecs_restoring = replaced_by.filter(|(_, td)| same_revision(td, previous));
        // Restarting the running revision has nothing older to go back to.
        if !opts.auto_rollback || same_revision(target, previous) {
            let reason = match &ecs_restoring {
                Some((id, td)) => format!("{reason}\nthe circuit breaker is rolling back to {td} ({id})"),
                None => reason,
            };
            return Ok(Outcome::Failed { revision, reason });
        }
        let ecs_id = ecs_restoring.map(|(id, _)| id);
        let outcome = match self.restore(previous, ecs_id, revision.clone(), reason.clone(), opts, reporter).await {
            Ok(o) => o,
            // The rollback itself failed: keep both causes, and say what the service points at now.
            Err(e) => Outcome::Failed {
                revision,
                reason: format!(
                    "{reason}
the automatic rollback to {} failed: {e}
{}",
                    short_name(previous),
                    self.now_live().await
                ),
            },
        };
        if marks.previous && matches!(outcome, Outcome::RolledBack { .. }) {
            self.record_outcome(previous, false, reporter).await;
        }
        Ok(outcome)
    }

    /// Tag the revision `shipit:outcome=failed` (so `history` on any machine shows it and `rollback --previous`
    /// skips it), or untag one whose rollout has now completed. Best effort: the rollout's result stands, and a
    /// refusal (an IAM policy without ecs:TagResource / ecs:UntagResource) is a warning.
    async fn record_outcome(&self, task_definition: &str, failed: bool, reporter: &dyn Reporter) {
        let _c = interrupt::critical();
        let result = if failed {
            let mark = Tag::builder().key(TAG_OUTCOME).value(OUTCOME_FAILED).build();
            let sent = self.client.tag_resource().resource_arn(task_definition).tags(mark).send().await;
            sent.map(|_| ()).map_err(|e| EcsError::api("TagResource", e))
        } else {
            let sent = self.client.untag_resource().resource_arn(task_definition).tag_keys(TAG_OUTCOME).send().await;
            sent.map(|_| ()).map_err(|e| EcsError::api("UntagResource", e))
        };
        if let Err(e) = result {
            let name = short_name(task_definition);
            let what =
                if failed { format!("mark {name} as failed") } else { format!("clear the failed mark of {name}") };
            reporter.line(&format!("warning: could not {what} ({e}); `shipit history` will not show this outcome"));
        }
    }

    /// Put `previous` back after a failed rollout: follow the circuit breaker's rollback when ECS started one,
    /// else update the service ourselves.
    async fn restore(
        &self,
        previous: &str,
        ecs_deployment: Option<String>,
        revision: String,
        reason: String,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, EcsError> {
        let restored = revision_number(previous);
        let before = describe_service(&self.client, &self.cluster, &self.service).await?;
        let deployment_id = match ecs_deployment {
            Some(id) => {
                reporter
                    .line(&format!("the circuit breaker is rolling back to {}; waiting for it", short_name(previous)));
                Some(id)
            }
            None => {
                reporter.line(&format!("rolling back to {}", short_name(previous)));
                self.update_service(previous, false, reporter).await?
            }
        };
        let rollout = self.watch(&before, previous, deployment_id, opts.timeout, reporter).await?;
        let failed_too = match rollout {
            Rollout::Completed => return Ok(Outcome::RolledBack { revision, restored, reason }),
            Rollout::Failed { reason: r, stopped, .. } if stopped.is_empty() => r,
            Rollout::Failed { reason: r, stopped, .. } => format!("{r}\n{}", stopped_summary(&stopped)),
            Rollout::TimedOut { last_seen } => format!(
                "it did not finish within {}; last seen: {last_seen}",
                humantime::format_duration(round_duration(opts.timeout))
            ),
        };
        Ok(Outcome::Failed {
            revision,
            reason: format!("{reason}\nrolling back to {} did not complete either: {failed_too}", short_name(previous)),
        })
    }

    async fn watch(
        &self,
        before: &Service,
        target: &str,
        deployment_id: Option<String>,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Result<Rollout, EcsError> {
        Watch {
            client: &self.client,
            cluster: &self.cluster,
            service: &self.service,
            task_definition: target,
            deployment_id,
            known_events: event_ids(before),
            timeout,
            reporter,
        }
        .run()
        .await
    }

    /// UpdateService; the id of the deployment ECS created for `target`, when its answer names one.
    async fn update_service(
        &self,
        target: &str,
        fresh: bool,
        reporter: &dyn Reporter,
    ) -> Result<Option<String>, EcsError> {
        let _c = interrupt::critical();
        let out = self
            .client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(target)
            .force_new_deployment(fresh)
            .send()
            .await
            .map_err(|e| EcsError::api("UpdateService", e))?;
        let deployment = out.service().and_then(|s| {
            s.deployments()
                .iter()
                .find(|d| service::is_primary(d) && d.task_definition().is_some_and(|td| same_revision(td, target)))
        });
        let id = deployment.and_then(|d| d.id().map(str::to_string));
        reporter.line(&format!(
            "service {} now points at {}{}",
            self.service,
            short_name(target),
            id.as_deref().map(|id| format!(" (deployment {id})")).unwrap_or_default()
        ));
        Ok(id)
    }

    /// Mark revision `revision` of the service's family failed (a post-deploy verification failed).
    pub async fn mark_failed(&self, revision: &Revision, reporter: &dyn Reporter) -> Result<(), EcsError> {
        let service = self.active_service().await?;
        let current = live_task_definition(&service)
            .ok_or_else(|| EcsError::NoTaskDefinition { service: self.service.clone() })?;
        let family = family_revision(current).map(|(f, _)| f.to_string()).unwrap_or_default();
        let (td, _) = self.task_definition(&format!("{family}:{}", revision.revision)).await?;
        let arn = td.task_definition_arn().map(str::to_string).unwrap_or_default();
        self.record_outcome(&arn, true, reporter).await;
        Ok(())
    }

    /// What the service points at now, for a message written after something went wrong.
    async fn now_live(&self) -> String {
        match describe_service(&self.client, &self.cluster, &self.service).await {
            Ok(s) => match (live_task_definition(&s), primary(&s).and_then(|d| d.rollout_state())) {
                (Some(td), Some(state)) => {
                    format!("the service now runs {} (rollout {})", short_name(td), state.as_str())
                }
                (Some(td), None) => format!("the service now runs {}", short_name(td)),
                (None, _) => "the service has no task definition".into(),
            },
            Err(e) => format!("what the service runs now could not be read: {e}"),
        }
    }

    /// An error after UpdateService: the change is live and ECS is rolling it out whatever happens to us.
    fn after_apply(&self, target: &str, doing: &str, rollback: Option<&str>, e: EcsError) -> EcsError {
        EcsError::AfterApply {
            env: self.env_name.clone(),
            task_definition: short_name(target),
            doing: doing.to_string(),
            rollback: rollback.map_or_else(|| "no rollback was attempted".to_string(), str::to_string),
            source: Box::new(e),
        }
    }

    fn refuse_if_busy(&self, service: &Service, opts: &DeployOptions) -> Result<(), EcsError> {
        let Some(busy) = service::in_progress(service) else { return Ok(()) };
        if opts.force {
            return Ok(());
        }
        Err(EcsError::InProgress {
            env: self.env_name.clone(),
            target: self.describe(),
            deployment: describe_deployment(busy),
        })
    }

    async fn active_service(&self) -> Result<Service, EcsError> {
        let service = describe_service(&self.client, &self.cluster, &self.service).await?;
        match service.status() {
            Some("ACTIVE") | None => Ok(service),
            Some(status) => Err(EcsError::ServiceNotActive {
                cluster: self.cluster.clone(),
                service: self.service.clone(),
                status: status.to_string(),
            }),
        }
    }

    async fn task_definition(&self, name: &str) -> Result<(TaskDefinition, Vec<Tag>), EcsError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(name)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| match EcsError::api("DescribeTaskDefinition", e) {
                // ECS answers an unknown revision with a generic ClientException.
                err if err.code() == Some("ClientException") => {
                    EcsError::RevisionNotFound { task_definition: short_name(name) }
                }
                err => err,
            })?;
        let tags = out.tags().to_vec();
        let td = out.task_definition.ok_or_else(|| EcsError::RevisionNotFound { task_definition: short_name(name) })?;
        Ok((td, tags))
    }

    fn image_of<'a>(&self, td: &'a TaskDefinition) -> Result<&'a str, EcsError> {
        container_image(td, &self.container).ok_or_else(|| EcsError::ContainerNotFound {
            container: self.container.clone(),
            task_definition: td.task_definition_arn().map(short_name).unwrap_or_default(),
            available: taskdef::container_names(td),
        })
    }

    /// One line about the service's deployments, for messages.
    pub async fn deployments_summary(&self) -> Result<String, EcsError> {
        let service = describe_service(&self.client, &self.cluster, &self.service).await?;
        Ok(deployments_summary(&service))
    }
}

/// Whether the revision being rolled out and the one before it carry the failed mark now (so a completed
/// rollout knows to take it off, without reading tags again).
#[derive(Debug, Clone, Copy)]
struct FailedMarks {
    target: bool,
    previous: bool,
}

pub(crate) async fn describe_service(client: &Client, cluster: &str, name: &str) -> Result<Service, EcsError> {
    let out = client
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .map_err(|e| EcsError::api("DescribeServices", e))?;
    out.services()
        .iter()
        .find(|s| s.service_name() == Some(name) || s.service_arn().is_some_and(|a| a.ends_with(&format!("/{name}"))))
        .cloned()
        .ok_or_else(|| EcsError::ServiceNotFound { cluster: cluster.to_string(), service: name.to_string() })
}

/// One poll of the rollout watch of service `api` in cluster `c`, as a deploy runs it, for the fuzz targets.
#[doc(hidden)]
pub async fn watch_once(client: &Client, task_definition: &str, deployment_id: Option<String>) -> String {
    let watch = Watch {
        client,
        cluster: "c",
        service: "api",
        task_definition,
        deployment_id,
        known_events: HashSet::new(),
        timeout: Duration::ZERO,
        reporter: &crate::report::Silent,
    };
    match watch.run().await {
        Ok(rollout) => format!("{rollout:?}"),
        Err(e) => e.to_string(),
    }
}

fn event_ids(service: &Service) -> HashSet<String> {
    service.events().iter().filter_map(|e| e.id().map(str::to_string)).collect()
}

fn revision_number(task_definition: &str) -> String {
    family_revision(task_definition).map(|(_, r)| r.to_string()).unwrap_or_else(|| task_definition.to_string())
}

pub(crate) fn to_chrono(t: &aws_sdk_ecs::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Whole seconds: "4m 12s", not "4m 12s 345ms 12us".
pub(crate) fn round_duration(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// `42s`, `4m`, `3h 12m`: an age or a wait, at the precision a person wants.
pub(crate) fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}

/// `imagedefinitions.json` for CodePipeline's ECS deploy action: `[{"name": container, "imageUri": image}]`.
pub fn image_definitions_json(container: &str, image: &str) -> String {
    let defs = serde_json::json!([{ "name": container, "imageUri": image }]);
    let mut text = serde_json::to_string_pretty(&defs).expect("JSON values always serialize");
    text.push('\n');
    text
}

/// Write `imagedefinitions.json` (creating parent directories).
pub fn write_image_definitions(path: &Path, container: &str, image: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, image_definitions_json(container, image))
}

/// Write the environment's `image_definitions` file (relative to ship.toml's directory) for an image that is
/// now live. Returns the path written, or `None` when the environment asks for no such file.
pub fn write_environment_image_definitions(
    root: &Path,
    env: &Environment,
    app_name: &str,
    image: &ImageRef,
) -> Result<Option<std::path::PathBuf>, crate::error::CliError> {
    let Some(crate::config::TargetEnv::Ecs(ecs)) = env.target_env("").ok() else { return Ok(None) };
    let Some(rel) = &ecs.image_definitions else { return Ok(None) };
    let path = root.join(rel);
    let container = ecs.container.as_deref().unwrap_or(app_name);
    write_image_definitions(&path, container, &image.pinned()).map_err(|e| {
        crate::error::CliError::failure(format!("cannot write {}: {e}", path.display()))
            .hint("the deploy itself succeeded; check `image_definitions` in ship.toml and the directory's permissions")
    })?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_definitions_for_codepipeline() {
        let json: serde_json::Value = serde_json::from_str(&image_definitions_json("api", "r/api@sha256:abc")).unwrap();
        assert_eq!(json, serde_json::json!([{"name": "api", "imageUri": "r/api@sha256:abc"}]));
    }
}
