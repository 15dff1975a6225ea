//! One enum over the deploy targets, so commands are written once. Each arm is a provider.

use crate::config::{Environment, TargetEnv};
use crate::error::CliError;
use crate::providers::docker_host::DockerTarget;
use crate::providers::ecs::EcsTarget;
use crate::providers::gitops::GitOpsTarget;
use crate::providers::kube::KubeTarget;
use crate::release::ImageRef;
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, LiveState, LockAttempt, LockRecord, Outcome, Revision};

pub enum Target {
    Docker(DockerTarget),
    Ecs(EcsTarget),
    Kubernetes(KubeTarget),
    GitOps(GitOpsTarget),
}

/// Run the same call on whichever target this is, turning its typed error into a CliError.
macro_rules! dispatch {
    ($self:expr, $t:ident => $call:expr) => {
        match $self {
            Target::Docker($t) => $call.await.map_err(CliError::from),
            Target::Ecs($t) => $call.await.map_err(CliError::from),
            Target::Kubernetes($t) => $call.await.map_err(CliError::from),
            Target::GitOps($t) => $call.await.map_err(CliError::from),
        }
    };
}

impl Target {
    pub async fn connect(env_name: &str, env: &Environment, app_name: &str) -> Result<Target, CliError> {
        match env.target_env(env_name)? {
            TargetEnv::Docker(d) => Ok(Target::Docker(DockerTarget::connect(env_name, &d).await?)),
            TargetEnv::Ecs(e) => Ok(Target::Ecs(EcsTarget::connect(env_name, &e, app_name).await?)),
            TargetEnv::Kubernetes(k) => Ok(Target::Kubernetes(KubeTarget::connect(env_name, &k, app_name).await?)),
            TargetEnv::GitOps(g) => Ok(Target::GitOps(GitOpsTarget::connect(env_name, &g, app_name).await?)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Docker(t) => t.describe(),
            Target::Ecs(t) => t.describe(),
            Target::Kubernetes(t) => t.describe(),
            Target::GitOps(t) => t.describe(),
        }
    }

    pub async fn live(&self) -> Result<Option<LiveState>, CliError> {
        dispatch!(self, t => t.live())
    }

    pub async fn history(&self, limit: usize) -> Result<Vec<Revision>, CliError> {
        dispatch!(self, t => t.history(limit))
    }

    pub async fn deploy(
        &self,
        image: &ImageRef,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, CliError> {
        dispatch!(self, t => t.deploy(image, meta, opts, reporter))
    }

    pub async fn rollback(
        &self,
        to: &Revision,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, CliError> {
        dispatch!(self, t => t.rollback(to, meta, opts, reporter))
    }

    /// What the change would do on the target, line by line, without doing it (the approval screen).
    pub async fn preview(&self, image: Option<&ImageRef>, to: Option<&Revision>) -> Result<Vec<String>, CliError> {
        match self {
            Target::Docker(t) => {
                let image = image.map(ImageRef::pinned).or_else(|| to.map(|r| r.image.clone())).unwrap_or_default();
                t.preview(&image).await.map_err(CliError::from)
            }
            Target::Ecs(t) => t.preview(image, to).await.map_err(CliError::from),
            Target::Kubernetes(t) => t.preview(image, to).await.map_err(CliError::from),
            Target::GitOps(t) => t.preview(image, to).await.map_err(CliError::from),
        }
    }

    /// Tag a revision as failed on the target (post-deploy verification failed after the platform said done).
    pub async fn mark_failed(&self, revision: &Revision, reporter: &dyn Reporter) -> Result<(), CliError> {
        dispatch!(self, t => t.mark_failed(revision, reporter))
    }

    // --- the deploy lock (see deploy/lock.rs for the policy) ---

    pub async fn read_lock(&self) -> Result<Option<LockRecord>, CliError> {
        dispatch!(self, t => t.read_lock())
    }

    pub async fn try_lock(&self, ours: &LockRecord, replacing: Option<&LockRecord>) -> Result<LockAttempt, CliError> {
        dispatch!(self, t => t.try_lock(ours, replacing))
    }

    pub async fn renew_lock(&self, ours: &LockRecord) -> Result<(), CliError> {
        dispatch!(self, t => t.renew_lock(ours))
    }

    pub async fn unlock(&self, ours: &LockRecord) -> Result<(), CliError> {
        dispatch!(self, t => t.unlock(ours))
    }

    /// Whether the change goes to reviewers who should see the approval screen (a gitops pull request).
    pub fn carries_summary(&self) -> bool {
        matches!(self, Target::GitOps(t) if t.proposes())
    }

    /// Whether the target can store a renewed expiry (else the lock is taken for the deploy's whole bound).
    pub fn can_renew_lock(&self) -> bool {
        match self {
            Target::Docker(t) => t.can_renew_lock(),
            Target::Ecs(t) => t.can_renew_lock(),
            Target::Kubernetes(t) => t.can_renew_lock(),
            Target::GitOps(t) => t.can_renew_lock(),
        }
    }
}
