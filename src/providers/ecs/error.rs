//! What can go wrong talking to ECS, and what the user can do about each.

use std::time::Duration;

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use crate::error::CliError;

#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    #[error("ECS {op} failed: {message}")]
    Api { op: &'static str, code: Option<String>, message: String },

    #[error("service `{service}` not found in ECS cluster `{cluster}`")]
    ServiceNotFound { cluster: String, service: String },

    #[error("service `{service}` in cluster `{cluster}` is {status}, not ACTIVE")]
    ServiceNotActive { cluster: String, service: String, status: String },

    #[error("service `{service}` has no task definition yet")]
    NoTaskDefinition { service: String },

    #[error("task definition {task_definition} has no container named `{container}` (it has: {})", available.join(", "))]
    ContainerNotFound { container: String, task_definition: String, available: Vec<String> },

    #[error("task definition {task_definition} does not exist (or is no longer ACTIVE)")]
    RevisionNotFound { task_definition: String },

    #[error("`{image}` is not pinned by digest; shipit only deploys `repository@sha256:…`")]
    NotPinned { image: String },

    #[error("another deployment of {target} is still in progress: {deployment}")]
    InProgress { env: String, target: String, deployment: String },

    #[error(
        "{task_definition} was applied to `{env}` and ECS is rolling it out, but {doing} failed: {source}; {rollback}"
    )]
    AfterApply { env: String, task_definition: String, doing: String, rollback: String, source: Box<EcsError> },

    #[error("the deploy lock on service {service} is no longer ours{}", now.as_ref().map(|n| format!(": held by {n}")).unwrap_or_default())]
    LockLost { service: String, now: Option<String> },

    #[error("the rollout of {task_definition} to {target} did not finish within {}", humantime::format_duration(*waited))]
    TimedOut { env: String, target: String, task_definition: String, waited: Duration, last_seen: String },
}

impl EcsError {
    /// An SDK error with the operation named, the service's error code kept (hints depend on it) and the whole
    /// source chain flattened: the SDK hides "connection refused" several levels deep.
    pub(crate) fn api<E>(op: &'static str, err: SdkError<E, aws_sdk_ecs::config::http::HttpResponse>) -> EcsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = err.code().map(str::to_string);
        let message = match (err.code(), err.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_string(),
            _ => not_the_api(&err).unwrap_or_else(|| crate::error::chain(&err)),
        };
        EcsError::Api { op, code, message }
    }

    /// The service's error code (`ThrottlingException`, `AccessDeniedException`…), when ECS answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            EcsError::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// What the endpoint sent instead of an ECS answer, in words: an HTML page, an empty or truncated body, an
/// answer over the size cap. `None` when the SDK's own message is the best there is.
fn not_the_api<E>(err: &SdkError<E, aws_sdk_ecs::config::http::HttpResponse>) -> Option<String>
where
    E: std::error::Error + 'static,
{
    use crate::providers::limits;
    let chain = crate::error::chain(err);
    if chain.contains(super::body_cap::TOO_LARGE) {
        return Some(format!(
            "the answer is larger than {}; shipit stops reading there (is `endpoint_url` an ECS endpoint?)",
            limits::size(limits::MAX_ECS_ANSWER_BYTES)
        ));
    }
    if limits::broke_off(&chain) {
        return Some("the answer broke off before its end (a truncated answer)".into());
    }
    let raw = err.raw_response()?;
    let status = raw.status().as_u16();
    let content_type = raw.headers().get("content-type").unwrap_or("");
    let body = raw.body().bytes()?;
    if content_type.trim().to_ascii_lowercase().starts_with("text/html") || limits::looks_like_html(body) {
        return Some(format!(
            "the endpoint answered {status} with an HTML page (a login page or a proxy?), not the ECS API"
        ));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Err(e) => Some(format!("the endpoint answered {status}, but {}", limits::not_json(body, &e))),
        Ok(_) => None,
    }
}

/// The IAM actions shipit uses, for the hint when access is denied (docs/ecs.md has the same list).
pub const IAM_ACTIONS: &[&str] = &[
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:TagResource",
    "ecs:UntagResource",
    "ecs:ListTagsForResource",
    "ecs:UpdateService",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "iam:PassRole (for the task and execution roles)",
];

impl From<EcsError> for CliError {
    fn from(err: EcsError) -> CliError {
        let message = err.to_string();
        match err {
            EcsError::Api { op, code, .. } => api_hints(CliError::failure(message), op, code.as_deref()),
            EcsError::ServiceNotFound { cluster, .. } => CliError::failure(message)
                .hint("shipit deploys to an existing service; create it first (console, CloudFormation, Terraform, CDK)")
                .hint(format!("check `service` and `cluster` in ship.toml; list services with `aws ecs list-services --cluster {cluster}`")),
            EcsError::ServiceNotActive { .. } => {
                CliError::failure(message).hint("a draining or deleted service cannot be deployed to; recreate it")
            }
            EcsError::NoTaskDefinition { .. } => CliError::failure(message)
                .hint("register a first task definition for the service outside shipit; shipit only changes its image"),
            EcsError::ContainerNotFound { available, .. } => {
                let hint = match available.as_slice() {
                    [one] => format!("set `container = \"{one}\"` in the environment in ship.toml"),
                    _ => "set `container` in the environment in ship.toml to the container whose image shipit replaces"
                        .to_string(),
                };
                CliError::usage(message).hint(hint)
            }
            EcsError::RevisionNotFound { .. } => {
                CliError::usage(message).hint("`shipit history <env>` lists the revisions that can be deployed")
            }
            EcsError::NotPinned { .. } => CliError::usage(message).hint("push the image first: `shipit push`"),
            EcsError::InProgress { env, .. } => CliError::failure(message)
                .hint(format!("wait for it (`shipit status {env}` shows its progress), or pass --force to replace it")),
            EcsError::AfterApply { env, .. } => CliError::failure(message)
                .hint(format!("`shipit status {env}` shows how the rollout goes; `shipit rollback {env}` puts the previous revision back")),
            EcsError::LockLost { .. } => CliError::locked(message)
                .hint("someone broke the lock with --force-unlock; `shipit status <env>` shows what runs now"),
            EcsError::TimedOut { env, last_seen, .. } => CliError::failure(message)
                .detail(format!("last seen: {last_seen}\nECS keeps working on this deployment; it may still complete."))
                .hint(format!("watch it with `shipit status {env}`"))
                .hint("raise `timeout` for this environment in ship.toml (or pass --timeout) if rollouts are slow")
                .hint("set `auto_rollback = true` to put the previous revision back when a rollout does not finish"),
        }
    }
}

fn api_hints(err: CliError, op: &str, code: Option<&str>) -> CliError {
    match code {
        Some("ClusterNotFoundException") => err.hint("check `cluster` (name or ARN) and `region` in ship.toml"),
        Some("AccessDeniedException") | Some("AccessDenied") => err
            .hint(format!("the AWS identity in use is not allowed ecs:{op}"))
            .hint(format!("shipit needs: {}", IAM_ACTIONS.join(", "))),
        Some("UnrecognizedClientException")
        | Some("InvalidSignatureException")
        | Some("ExpiredTokenException")
        | Some("InvalidClientTokenId") => err.hint(
            "the AWS credentials were refused; refresh them (`aws sso login`, new keys) or pick another AWS_PROFILE",
        ),
        Some("ThrottlingException") => {
            err.hint("ECS kept throttling after several retries; try again in a minute or reduce concurrent deploys")
        }
        Some(_) => err,
        None if err.message.contains("credential") => err.hint(
            "configure AWS credentials: AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        ),
        None => err.hint("check the network, `region` and `endpoint_url` for this environment in ship.toml"),
    }
}
