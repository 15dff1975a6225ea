//! What can go wrong talking to a cluster, and the hint that goes with each. The API server's own `Status`
//! message is kept verbatim: for a quota or an admission webhook it is the only place that says why.

use crate::error::CliError;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot read the kubeconfig ({source_desc}): {detail}")]
    Kubeconfig { source_desc: String, detail: String },

    #[error("kubeconfig has no context `{context}` ({source_desc})")]
    ContextNotFound { context: String, source_desc: String, available: Vec<String> },

    #[error("{0}")]
    Config(String),

    #[error("cannot reach the Kubernetes API at {server} (context {context}): {detail}")]
    Unreachable { server: String, context: String, detail: String },

    #[error("Deployment {namespace}/{name} not found (context {context})")]
    DeploymentNotFound { namespace: String, name: String, context: String },

    #[error("Deployment {deployment} has no container named {}", missing.join(", "))]
    ContainerNotFound { deployment: String, missing: Vec<String>, available: Vec<String> },

    #[error("not allowed to {verb} {resource} in namespace {namespace}: {message}")]
    Forbidden { verb: String, resource: String, namespace: String, message: String },

    #[error("the API server refused the change to Deployment {deployment} ({reason}): {message}")]
    Rejected { deployment: String, reason: String, message: String },

    #[error("another rollout of Deployment {deployment} is in progress: {detail}")]
    RolloutInProgress { deployment: String, detail: String },

    #[error("Deployment {deployment} is paused, so a new image would never roll out")]
    Paused { deployment: String },

    #[error("Deployment {deployment} kept changing while shipit updated it ({attempts} conflicts, HTTP 409)")]
    Conflict { deployment: String, attempts: u32 },

    #[error("revision {revision} of Deployment {deployment} no longer exists (its ReplicaSet is gone)")]
    RevisionNotFound { deployment: String, revision: String },

    #[error(
        "the change to Deployment {deployment} was applied and Kubernetes is rolling it out, but {doing} failed: {detail}; {rollback}"
    )]
    AfterApply { deployment: String, env: String, doing: String, rollback: String, detail: String },

    #[error("the deploy lock (Lease {lease}) is no longer ours{}", now.as_ref().map(|n| format!(": held by {n}")).unwrap_or_default())]
    LockLost { lease: String, now: Option<String> },

    #[error("Kubernetes API error while trying to {action}: {message}")]
    Api { action: String, code: u16, message: String },

    #[error("the Kubernetes API at {server} answered {action} with something shipit cannot read: {detail}")]
    BadAnswer { server: String, action: String, detail: String },
}

/// What we were doing, so an API error can say which permission or object it was about.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
}

impl KubeError {
    /// Classify a kube-rs error from `action` on `resource` in `namespace`.
    pub(crate) fn from_api(err: kube::Error, action: Action<'_>, target: &super::KubeTarget) -> KubeError {
        match err {
            kube::Error::Api(status) => {
                let code = status.code;
                let message = if status.message.is_empty() { status.reason.clone() } else { status.message.clone() };
                let write = matches!(action.verb, "patch" | "update" | "create");
                match code {
                    404 if action.resource == "deployments" => KubeError::DeploymentNotFound {
                        namespace: target.namespace.clone(),
                        name: target.deployment.clone(),
                        context: target.context.clone(),
                    },
                    401 => KubeError::Forbidden {
                        verb: action.verb.into(),
                        resource: action.resource.into(),
                        namespace: target.namespace.clone(),
                        message: format!("unauthorized: {message}"),
                    },
                    // RBAC says `User "x" cannot patch resource "deployments"`; a quota or an admission
                    // plugin also answers 403, and that is a refusal of this change, not of the user.
                    403 if is_rbac(&message) || !write => KubeError::Forbidden {
                        verb: action.verb.into(),
                        resource: action.resource.into(),
                        namespace: target.namespace.clone(),
                        message,
                    },
                    400 | 403 | 422 if write => KubeError::Rejected {
                        deployment: target.deployment.clone(),
                        reason: if status.reason.is_empty() { code.to_string() } else { status.reason.clone() },
                        message,
                    },
                    _ => KubeError::Api {
                        action: format!("{} {}", action.verb, action.resource),
                        code,
                        message: format!("{message} (HTTP {code})"),
                    },
                }
            }
            kube::Error::SerdeError(e) => KubeError::BadAnswer {
                server: target.server.clone(),
                action: format!("{} {}", action.verb, action.resource),
                detail: if e.is_eof() {
                    "the JSON ends early (a truncated answer?)".into()
                } else if e.line() == 1 && e.column() <= 1 {
                    "it is not JSON (an HTML login page, or a proxy in front of the API server?)".into()
                } else {
                    format!("it is not the Kubernetes object asked for: {e}")
                },
            },
            other if crate::error::chain(&other).contains(super::body_cap::REDIRECTED) => KubeError::BadAnswer {
                server: target.server.clone(),
                action: format!("{} {}", action.verb, action.resource),
                detail: format!(
                    "{}; the API server never redirects: is the kubeconfig's server the API server itself?",
                    crate::error::chain(&other).split(super::body_cap::REDIRECTED).nth(1).unwrap_or("").trim()
                ),
            },
            other if crate::providers::limits::broke_off(&crate::error::chain(&other)) => KubeError::BadAnswer {
                server: target.server.clone(),
                action: format!("{} {}", action.verb, action.resource),
                detail: "the answer broke off before its end (a truncated answer)".into(),
            },
            other if crate::error::chain(&other).contains(super::body_cap::TOO_LARGE) => KubeError::BadAnswer {
                server: target.server.clone(),
                action: format!("{} {}", action.verb, action.resource),
                detail: format!(
                    "it is larger than {}; shipit stops reading there",
                    crate::providers::limits::size(crate::providers::limits::MAX_KUBE_ANSWER_BYTES)
                ),
            },
            other => KubeError::Unreachable {
                server: target.server.clone(),
                context: target.context.clone(),
                detail: crate::error::chain(&other),
            },
        }
    }

    pub(crate) fn is_conflict(err: &kube::Error) -> bool {
        matches!(err, kube::Error::Api(s) if s.code == 409)
    }
}

fn is_rbac(message: &str) -> bool {
    message.contains(" cannot ") && message.contains("resource")
}

impl From<KubeError> for CliError {
    fn from(err: KubeError) -> CliError {
        let message = err.to_string();
        match err {
            KubeError::Kubeconfig { .. } => CliError::usage(message)
                .hint("point KUBECONFIG (or `kubeconfig` in the environment's ship.toml table) at a valid kubeconfig")
                .hint("check it with `kubectl config view`"),
            KubeError::ContextNotFound { available, .. } => {
                let err = CliError::usage(message);
                if available.is_empty() {
                    err.hint("the kubeconfig defines no contexts; add one with `kubectl config set-context`")
                } else {
                    err.hint(format!("available contexts: {}", available.join(", ")))
                        .hint("set `context` in the environment's ship.toml table, or `kubectl config use-context NAME`")
                }
            }
            KubeError::Config(_) => CliError::usage(message),
            KubeError::Unreachable { context, .. } => CliError::failure(message)
                .hint(format!("check the cluster answers: `kubectl --context {context} get --raw /version`"))
                .hint("a VPN, an expired cloud login (aws/gcloud/az) or the wrong context are the usual causes"),
            KubeError::DeploymentNotFound { namespace, context, name } => CliError::failure(message)
                .hint(format!("list what exists: `kubectl --context {context} -n {namespace} get deployments`"))
                .hint(format!(
                    "shipit updates an existing Deployment's image; create `{name}` first (kubectl apply, Helm, …), or fix `deployment`/`namespace` in ship.toml"
                )),
            KubeError::ContainerNotFound { available, .. } => CliError::usage(message)
                .hint(format!("its containers are: {}", available.join(", ")))
                .hint("set `containers = [\"…\"]` in the environment's ship.toml table (init containers may be named too)"),
            KubeError::Forbidden { verb, resource, namespace, .. } => CliError::failure(message)
                .hint(format!("check with `kubectl auth can-i {verb} {resource} -n {namespace}`"))
                .hint("shipit needs get/list/watch/patch on deployments and get/list/watch on replicasets and pods: see docs/kubernetes.md#rbac"),
            KubeError::Rejected { .. } => CliError::failure(message)
                .hint("nothing was changed; the message above is the API server's (a ResourceQuota, LimitRange or admission webhook)")
                .hint("see `kubectl describe quota` and `kubectl get validatingwebhookconfigurations` for the policy in force"),
            KubeError::RolloutInProgress { deployment, .. } => CliError::failure(message)
                .hint(format!("wait for it (`kubectl rollout status deployment/{deployment}`) and deploy again"))
                .hint("or pass --force to replace the rollout in progress"),
            KubeError::Paused { deployment } => CliError::failure(message)
                .hint(format!("resume it with `kubectl rollout resume deployment/{deployment}`, then deploy again")),
            KubeError::Conflict { .. } => CliError::failure(message)
                .hint("something else (an operator, HPA or another deploy) keeps updating it; run the command again"),
            KubeError::RevisionNotFound { .. } => CliError::usage(message)
                .hint("pick one that `shipit history <env>` lists; old ReplicaSets are pruned by the Deployment's revisionHistoryLimit"),
            KubeError::AfterApply { env, deployment, .. } => CliError::failure(message)
                .hint(format!("`shipit status {env}` (or `kubectl rollout status deployment/{deployment}`) shows how it goes"))
                .hint(format!("`shipit rollback {env}` puts the previous revision back")),
            KubeError::LockLost { .. } => CliError::locked(message)
                .hint("someone broke the lock with --force-unlock; `shipit status <env>` shows what runs now"),
            KubeError::Api { .. } => CliError::failure(message).hint("run again with -v to see the API calls"),
            KubeError::BadAnswer { .. } => CliError::failure(message)
                .hint("the kubeconfig's server must be the API server itself (`kubectl cluster-info` shows it), not a web page or a proxy that rewrites answers"),
        }
    }
}
