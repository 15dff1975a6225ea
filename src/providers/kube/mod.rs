//! Kubernetes (kube-rs): a Deployment as a deploy target. Kubeconfig, context and namespace are resolved the way
//! kubectl resolves them, so `shipit status prod` and `kubectl get deploy` look at the same thing.
//!
//! - patch.rs: the strategic merge patches (deploy, rollback) and the "another rollout in progress" guard
//! - watch.rs: the rollout watcher (Deployment, ReplicaSets and Pods watched, never polled)
//! - history.rs: revisions (the Deployment's ReplicaSets) and the live state

mod body_cap;
mod error;
pub(crate) mod history;
mod lease;
pub(crate) mod patch;
pub(crate) mod watch;

use std::path::PathBuf;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

use crate::config::KubeEnv;
use crate::release::ImageRef;
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, LiveState, Outcome, Revision};

use error::Action;
pub use error::KubeError;
pub use history::{revision_of, rollout_state};
pub use patch::{DeployPatch, in_progress};
pub use watch::{Assessment, RolloutView, assess};

/// Field manager for every write: `kubectl get deploy -o yaml --show-managed-fields` shows shipit as the owner
/// of the image fields.
pub const FIELD_MANAGER: &str = "shipit";
pub const ANN_CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const ANN_COMMIT: &str = "shipit.dev/commit";
pub const ANN_DIGEST: &str = "shipit.dev/digest";
pub const ANN_DEPLOYER: &str = "shipit.dev/deployer";
/// On a ReplicaSet (never its template, never the Deployment): how shipit's last rollout of it ended, when that
/// was a failure. The controller copies Deployment annotations onto ReplicaSets but removes none, so the mark
/// survives the ReplicaSet being re-used; shipit removes it when a rollout of that ReplicaSet completes.
pub const ANN_OUTCOME: &str = "shipit.dev/outcome";
pub const OUTCOME_FAILED: &str = "failed";
/// Set by the deployment controller on the Deployment and on each of its ReplicaSets.
pub const ANN_REVISION: &str = "deployment.kubernetes.io/revision";

/// The kubeconfig's current context and its cluster server, from KUBECONFIG or ~/.kube/config.
pub fn current_context() -> Result<(String, String), String> {
    let kc = Kubeconfig::read().map_err(|e| crate::error::chain(&e))?;
    let name = kc.current_context.clone().ok_or("the kubeconfig has no current-context")?;
    let server = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .and_then(|ctx| kc.clusters.iter().find(|cl| cl.name == ctx.cluster))
        .and_then(|cl| cl.cluster.as_ref())
        .and_then(|cl| cl.server.clone())
        .unwrap_or_default();
    Ok((name, server))
}

/// One Deployment in one namespace of one cluster, and the containers in it that carry the app's image.
pub struct KubeTarget {
    client: Client,
    env_name: String,
    context: String,
    namespace: String,
    deployment: String,
    containers: Vec<String>,
    server: String,
}

impl KubeTarget {
    /// Resolve the kubeconfig (env.kubeconfig, else KUBECONFIG, else ~/.kube/config, else in-cluster), the
    /// context (env.context, else current-context) and the namespace (env.namespace, else the context's, else
    /// `default`). Makes no API call: the first operation reports an unreachable cluster with the context named.
    pub async fn connect(env_name: &str, env: &KubeEnv, app_name: &str) -> Result<KubeTarget, KubeError> {
        let deployment = env.deployment.clone();
        let containers = match &env.containers {
            Some(list) if !list.is_empty() => list.clone(),
            Some(_) => {
                return Err(KubeError::Config(format!("environment `{env_name}`: `containers` is empty")));
            }
            None => vec![app_name.to_string()],
        };

        let (kubeconfig, source_desc) = match read_kubeconfig(env.kubeconfig.as_deref())? {
            Some(found) => found,
            None if env.context.is_none() => return connect_in_cluster(env_name, env, deployment, containers),
            None => {
                return Err(KubeError::Kubeconfig {
                    source_desc: "KUBECONFIG or ~/.kube/config".into(),
                    detail: "no kubeconfig found, but the environment names a context".into(),
                });
            }
        };
        let context = match env.context.as_deref().map(str::to_string).or_else(|| kubeconfig.current_context.clone()) {
            Some(c) => c,
            None => {
                return Err(KubeError::ContextNotFound {
                    context: "(no current-context)".into(),
                    source_desc,
                    available: kubeconfig.contexts.iter().map(|c| c.name.clone()).collect(),
                });
            }
        };
        if !kubeconfig.contexts.iter().any(|c| c.name == context) {
            return Err(KubeError::ContextNotFound {
                context,
                source_desc,
                available: kubeconfig.contexts.iter().map(|c| c.name.clone()).collect(),
            });
        }
        let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| KubeError::Kubeconfig { source_desc: source_desc.clone(), detail: crate::error::chain(&e) })?;
        bound_reads(&mut config);
        let namespace =
            env.namespace.as_deref().map(str::to_string).unwrap_or_else(|| config.default_namespace.clone());
        let server = config.cluster_url.to_string();
        let client = body_cap::client(config)
            .map_err(|e| KubeError::Kubeconfig { source_desc, detail: crate::error::chain(&e) })?;
        Ok(KubeTarget { client, env_name: env_name.to_string(), context, namespace, deployment, containers, server })
    }

    /// A target over an existing client (tests, or a caller that already has one).
    pub fn with_client(client: Client, namespace: &str, deployment: &str, containers: &[&str]) -> KubeTarget {
        KubeTarget {
            client,
            env_name: namespace.to_string(),
            context: "(client)".into(),
            namespace: namespace.to_string(),
            deployment: deployment.to_string(),
            containers: containers.iter().map(|c| c.to_string()).collect(),
            server: "(client)".into(),
        }
    }

    /// "kubernetes prod/api (context prod-eu)"
    pub fn describe(&self) -> String {
        format!("kubernetes {}/{} (context {})", self.namespace, self.deployment, self.context)
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    pub fn context(&self) -> &str {
        &self.context
    }
    pub fn deployment_name(&self) -> &str {
        &self.deployment
    }
    pub fn containers(&self) -> &[String] {
        &self.containers
    }
    pub fn env_name(&self) -> &str {
        &self.env_name
    }

    /// What runs now: revision, image of the first configured container, replica counts and conditions.
    pub async fn live(&self) -> Result<Option<LiveState>, KubeError> {
        let dep = self.get_deployment().await?;
        Ok(Some(history::live_state(&dep, &self.containers)))
    }

    /// The Deployment's ReplicaSets as revisions, newest first; the one the Deployment points at is `live`.
    pub async fn history(&self, limit: usize) -> Result<Vec<Revision>, KubeError> {
        let dep = self.get_deployment().await?;
        let sets = self.owned_replicasets(&dep).await?;
        let mut revisions = history::revisions(&dep, &sets, &self.containers);
        revisions.truncate(limit);
        Ok(revisions)
    }

    /// Point the configured containers at `image` (by digest), annotate who and what, and watch the rollout.
    pub async fn deploy(
        &self,
        image: &ImageRef,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, KubeError> {
        let current = self.get_deployment().await?;
        let change = DeployPatch::for_image(&current, &self.deployment, &self.containers, image, meta)?;
        // `--force` deploys again even when the digest already runs (new annotations, so new pods).
        if !opts.force && change.is_noop(&current) && in_progress(&current).is_none() {
            let revision = revision_of(&current).unwrap_or_default();
            reporter.line(&format!(
                "{} already runs {} (revision {revision}); nothing to do",
                self.deployment,
                image.short_digest()
            ));
            return Ok(Outcome::Completed { revision });
        }
        self.apply_and_watch(change, meta, opts, !opts.force, reporter).await
    }

    /// What `deploy` (image) or `rollback` (revision) would patch, without patching: for the approval screen.
    pub async fn preview(&self, image: Option<&ImageRef>, to: Option<&Revision>) -> Result<Vec<String>, KubeError> {
        let current = self.get_deployment().await?;
        let meta = DeployMeta { commit: String::new(), deployer: String::new(), cause: String::new(), summary: None };
        let mut lines = Vec::new();
        if let Some(image) = image {
            let change = DeployPatch::for_image(&current, &self.deployment, &self.containers, image, &meta)?;
            lines.extend(change.changes(&current));
        } else if let Some(to) = to {
            let sets = self.owned_replicasets(&current).await?;
            if let Some(rs) = sets.iter().find(|rs| history::rs_revision(rs) == Some(to.revision.as_str())) {
                let change = DeployPatch::restore(&current, &self.deployment, rs, &meta)?;
                lines.extend(change.changes(&current));
                lines.push("other pod-template changes made since revision stay as they are".into());
            }
        }
        lines.push(format!(
            "Deployment {}/{}: a new rollout ({} replicas wanted)",
            self.namespace,
            self.deployment,
            current.spec.replicas.unwrap_or(1)
        ));
        Ok(lines)
    }

    /// Put the images of revision `to` back (its ReplicaSet's pod template) and watch it like a deploy.
    pub async fn rollback(
        &self,
        to: &Revision,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, KubeError> {
        let current = self.get_deployment().await?;
        let sets = self.owned_replicasets(&current).await?;
        let Some(rs) = sets.iter().find(|rs| history::rs_revision(rs) == Some(to.revision.as_str())) else {
            return Err(KubeError::RevisionNotFound {
                deployment: self.deployment.clone(),
                revision: to.revision.clone(),
            });
        };
        let change = DeployPatch::restore(&current, &self.deployment, rs, meta)?;
        // The rollout in progress is one shipit saw fail (its ReplicaSet carries the mark): replacing it is
        // what a rollback is for. Any other rollout in progress is someone's deploy, and stays guarded.
        let live_revision = revision_of(&current);
        let live_failed = sets
            .iter()
            .any(|rs| history::rs_revision(rs) == live_revision.as_deref() && history::marked_failed(&rs.metadata));
        if change.is_noop(&current) && in_progress(&current).is_none() {
            reporter.line(&format!("{} already runs revision {}; nothing to do", self.deployment, to.revision));
            return Ok(Outcome::Completed { revision: revision_of(&current).unwrap_or_default() });
        }
        let mut opts = opts.clone();
        // Rolling back onto a failed deploy is the normal case; the guard is for concurrent deploys.
        opts.auto_rollback = false;
        self.apply_and_watch(change, meta, &opts, !opts.force && !live_failed, reporter).await
    }

    async fn apply_and_watch(
        &self,
        change: DeployPatch,
        meta: &DeployMeta,
        opts: &DeployOptions,
        guard: bool,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, KubeError> {
        let (before, after) = {
            let _c = crate::interrupt::critical();
            self.apply(&change, guard, reporter).await?
        };
        let generation = after.metadata.generation.unwrap_or(0);
        reporter.line(&format!("patched deployment/{}: {}", self.deployment, change.summary()));
        let result = watch::watch_rollout(self, &after, generation, opts.timeout, reporter).await.map_err(|e| {
            KubeError::AfterApply {
                deployment: self.deployment.clone(),
                env: self.env_name.clone(),
                doing: "watching the rollout".into(),
                rollback: "no rollback was attempted".into(),
                detail: e.to_string(),
            }
        })?;
        let (revision, reason) = match result {
            watch::Finished::Complete { revision, replicaset } => {
                self.record_outcome(replicaset, false, reporter).await;
                return Ok(Outcome::Completed { revision });
            }
            watch::Finished::Failed { revision, reason, replicaset } => {
                // Before any auto-rollback: the failed ReplicaSet keeps its revision, the restored one is renumbered.
                self.record_outcome(replicaset, true, reporter).await;
                (revision, reason)
            }
        };
        if !opts.auto_rollback {
            return Ok(Outcome::Failed { revision, reason });
        }
        let previous = revision_of(&before).unwrap_or_default();
        reporter.line(&format!("rollout of revision {revision} failed: {}", reason.lines().next().unwrap_or_default()));
        reporter.line(&format!("auto-rollback: restoring revision {previous}"));
        let undo = DeployPatch::undo(&before, &after, meta);
        let undone = {
            let _c = crate::interrupt::critical();
            self.apply(&undo, false, reporter).await
        };
        let restored = match undone {
            Ok((_, restored)) => restored,
            // The new revision stays applied: say so, with both causes, never "nothing was changed".
            Err(e) => {
                return Ok(Outcome::Failed {
                    revision: revision.clone(),
                    reason: format!(
                        "{reason}
the automatic rollback to revision {previous} could not be applied: {e}
revision {revision} is still the Deployment's template"
                    ),
                });
            }
        };
        let generation = restored.metadata.generation.unwrap_or(0);
        let watched = watch::watch_rollout(self, &restored, generation, opts.timeout, reporter).await;
        let watched = match watched {
            Ok(w) => w,
            Err(e) => {
                return Ok(Outcome::Failed {
                    revision: revision.clone(),
                    reason: format!(
                        "{reason}
the automatic rollback to revision {previous} was applied, but watching it failed: {e}
`kubectl rollout status deployment/{}` shows how it goes",
                        self.deployment
                    ),
                });
            }
        };
        match watched {
            // `restored` names the revision as the user knew it before the deploy; the controller renumbers
            // the reused ReplicaSet (3 becomes 5), which `history` then shows.
            watch::Finished::Complete { replicaset, .. } => {
                self.record_outcome(replicaset, false, reporter).await;
                Ok(Outcome::RolledBack { revision, restored: previous, reason })
            }
            watch::Finished::Failed { reason: again, .. } => Ok(Outcome::Failed {
                revision,
                reason: format!("{reason}; the automatic rollback to revision {previous} failed too: {again}"),
            }),
        }
    }

    /// Mark revision `revision`'s ReplicaSet failed (a post-deploy verification failed).
    pub async fn mark_failed(&self, revision: &Revision, reporter: &dyn Reporter) -> Result<(), KubeError> {
        let dep = self.get_deployment().await?;
        let sets = self.owned_replicasets(&dep).await?;
        if let Some(rs) = sets.iter().find(|rs| history::rs_revision(rs) == Some(revision.revision.as_str())) {
            let rs = watch::RolloutReplicaSet {
                name: rs.metadata.name.clone().unwrap_or_default(),
                marked_failed: history::marked_failed(&rs.metadata),
            };
            self.record_outcome(Some(rs), true, reporter).await;
        }
        Ok(())
    }

    /// Mark the ReplicaSet of a failed rollout (so `history` on any machine shows it and `rollback --previous`
    /// skips it), or take the mark off one whose rollout has now completed. Best effort: the rollout's own
    /// result stands whatever happens here, and a refusal (RBAC without `patch` on replicasets) is a warning.
    async fn record_outcome(&self, rs: Option<watch::RolloutReplicaSet>, failed: bool, reporter: &dyn Reporter) {
        let Some(rs) = rs else { return };
        let _c = crate::interrupt::critical();
        if rs.marked_failed == failed {
            return;
        }
        let value = if failed { serde_json::json!(OUTCOME_FAILED) } else { serde_json::Value::Null };
        let body = serde_json::json!({"metadata": {"annotations": {ANN_OUTCOME: value}}});
        reporter.detail(&format!("PATCH replicasets/{} (merge, fieldManager={FIELD_MANAGER}): {body}", rs.name));
        let params = kube::api::PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
        if let Err(e) = self.replicasets().patch(&rs.name, &params, &kube::api::Patch::Merge(body)).await {
            let what = if failed {
                format!("mark ReplicaSet {} as failed", rs.name)
            } else {
                format!("clear the failed mark of ReplicaSet {}", rs.name)
            };
            let err = KubeError::from_api(e, Action { verb: "patch", resource: "replicasets" }, self);
            reporter.line(&format!("warning: could not {what} ({err}); `shipit history` will not show this outcome"));
        }
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    fn replicasets(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn get_deployment(&self) -> Result<Deployment, KubeError> {
        self.deployments()
            .get(&self.deployment)
            .await
            .map_err(|e| KubeError::from_api(e, Action { verb: "get", resource: "deployments" }, self))
    }

    /// ReplicaSets controlled by `dep` (selected by its labels, then filtered by owner uid: a label selector
    /// alone can match another Deployment's sets).
    async fn owned_replicasets(&self, dep: &Deployment) -> Result<Vec<ReplicaSet>, KubeError> {
        let mut params = kube::api::ListParams::default();
        if let Some(selector) = history::selector_string(dep) {
            params = params.labels(&selector);
        }
        let list = self
            .replicasets()
            .list(&params)
            .await
            .map_err(|e| KubeError::from_api(e, Action { verb: "list", resource: "replicasets" }, self))?;
        let uid = dep.metadata.uid.clone().unwrap_or_default();
        Ok(list.items.into_iter().filter(|rs| history::owned_by(&rs.metadata, &uid)).collect())
    }
}

/// Find the kubeconfig as kubectl does. `Ok(None)`: there is none at all (so in-cluster config may apply).
fn read_kubeconfig(explicit: Option<&str>) -> Result<Option<(Kubeconfig, String)>, KubeError> {
    if let Some(path) = explicit {
        let path = expand_home(path);
        let desc = path.display().to_string();
        return Kubeconfig::read_from(&path)
            .map(|kc| Some((kc, desc.clone())))
            .map_err(|e| KubeError::Kubeconfig { source_desc: desc, detail: crate::error::chain(&e) });
    }
    if let Some(value) = std::env::var_os(crate::env_vars::EnvVars::KUBECONFIG).filter(|v| !v.is_empty()) {
        let desc = format!("KUBECONFIG={}", value.to_string_lossy());
        // kubectl skips files in KUBECONFIG that do not exist; kube-rs fails on them.
        let paths: Vec<PathBuf> = std::env::split_paths(&value).filter(|p| p.exists()).collect();
        if paths.is_empty() {
            return Err(KubeError::Kubeconfig { source_desc: desc, detail: "none of these files exists".into() });
        }
        let mut merged = Kubeconfig::default();
        for p in paths {
            let next = Kubeconfig::read_from(&p).map_err(|e| KubeError::Kubeconfig {
                source_desc: p.display().to_string(),
                detail: crate::error::chain(&e),
            })?;
            merged = merged
                .merge(next)
                .map_err(|e| KubeError::Kubeconfig { source_desc: desc.clone(), detail: crate::error::chain(&e) })?;
        }
        return Ok(Some((merged, desc)));
    }
    let Some(home) = home_dir() else { return Ok(None) };
    let path = home.join(".kube").join("config");
    if !path.exists() {
        return Ok(None);
    }
    let desc = path.display().to_string();
    Kubeconfig::read_from(&path)
        .map(|kc| Some((kc, desc.clone())))
        .map_err(|e| KubeError::Kubeconfig { source_desc: desc, detail: crate::error::chain(&e) })
}

/// Inside a pod with a service account (a CI runner in the cluster) there is no kubeconfig, as with kubectl.
fn connect_in_cluster(
    env_name: &str,
    env: &KubeEnv,
    deployment: String,
    containers: Vec<String>,
) -> Result<KubeTarget, KubeError> {
    let mut config = kube::Config::incluster().map_err(|e| KubeError::Kubeconfig {
        source_desc: "KUBECONFIG, ~/.kube/config or in-cluster service account".into(),
        detail: format!("no kubeconfig found and not running in a cluster ({})", crate::error::chain(&e)),
    })?;
    bound_reads(&mut config);
    let namespace = env.namespace.as_deref().map(str::to_string).unwrap_or_else(|| config.default_namespace.clone());
    let server = config.cluster_url.to_string();
    let client = body_cap::client(config).map_err(|e| KubeError::Kubeconfig {
        source_desc: "in-cluster service account".into(),
        detail: crate::error::chain(&e),
    })?;
    Ok(KubeTarget {
        client,
        env_name: env_name.to_string(),
        context: "in-cluster".into(),
        namespace,
        deployment,
        containers,
        server,
    })
}

/// An API server that accepts the connection and then says nothing must not hang a deploy. Watches ask the
/// server to end each long poll well within this (see `watch::WATCH_SECONDS`), so only silence trips it.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn bound_reads(config: &mut kube::Config) {
    config.read_timeout = Some(READ_TIMEOUT);
    // Count from each request, not from when a pooled connection went idle.
    config.reset_reader_on_write = true;
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os(crate::env_vars::EnvVars::HOME).filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}
