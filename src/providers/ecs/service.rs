//! Reading an ECS service: which task definition it runs, its deployments and how far along they are.

use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service};

use super::taskdef::{same_revision, short_name};

pub(crate) fn is_primary(d: &Deployment) -> bool {
    d.status() == Some("PRIMARY")
}

pub(crate) fn primary(service: &Service) -> Option<&Deployment> {
    service.deployments().iter().find(|d| is_primary(d))
}

/// The task definition the service is set to run. ECS keeps `service.taskDefinition` equal to the PRIMARY
/// deployment's (and resets it when the circuit breaker rolls back); moto only updates the former.
pub(crate) fn live_task_definition(service: &Service) -> Option<&str> {
    service.task_definition().or_else(|| primary(service).and_then(|d| d.task_definition()))
}

pub(crate) fn rollout_state(d: &Deployment) -> Option<&str> {
    d.rollout_state().map(DeploymentRolloutState::as_str)
}

/// A deployment that is still rolling out, if any: the one a new deploy would collide with. Services whose
/// deployments carry no rollout state (older controllers) count as busy while more than one deployment exists.
pub(crate) fn in_progress(service: &Service) -> Option<&Deployment> {
    let deployments = service.deployments();
    if let Some(d) = deployments.iter().find(|d| rollout_state(d) == Some("IN_PROGRESS")) {
        return Some(d);
    }
    let no_states = deployments.iter().all(|d| d.rollout_state().is_none());
    if no_states && deployments.len() > 1 {
        return primary(service);
    }
    None
}

/// Settled on `task_definition`: its deployment is PRIMARY and COMPLETED, or (without rollout states) the
/// only deployment with every task running.
pub(crate) fn settled_on(service: &Service, task_definition: &str) -> bool {
    let Some(p) = primary(service) else { return false };
    if !p.task_definition().is_some_and(|td| same_revision(td, task_definition)) {
        return false;
    }
    match rollout_state(p) {
        Some(state) => state == "COMPLETED",
        None => service.deployments().len() == 1 && p.running_count == p.desired_count && p.pending_count == 0,
    }
}

/// `PRIMARY api:8 2/3 running, 1 pending, 1 failed, IN_PROGRESS`.
pub(crate) fn deployment_line(d: &Deployment) -> String {
    let mut line = format!(
        "{} {} {}/{} running",
        d.status().unwrap_or("?"),
        d.task_definition().map(short_name).unwrap_or_else(|| "?".into()),
        d.running_count,
        d.desired_count
    );
    if d.pending_count > 0 {
        line.push_str(&format!(", {} pending", d.pending_count));
    }
    if d.failed_tasks > 0 {
        line.push_str(&format!(", {} failed", d.failed_tasks));
    }
    if let Some(state) = rollout_state(d) {
        line.push_str(&format!(", {state}"));
    }
    line
}

/// Every deployment, PRIMARY first: what a progress line or `status` shows.
pub(crate) fn deployments_summary(service: &Service) -> String {
    let mut deployments: Vec<&Deployment> = service.deployments().iter().collect();
    deployments.sort_by_key(|d| !is_primary(d));
    if deployments.is_empty() {
        return "no deployments".into();
    }
    deployments.iter().map(|d| deployment_line(d)).collect::<Vec<_>>().join("; ")
}

/// `ecs-svc/123 (PRIMARY api:8, started 4m ago, 1/3 running, IN_PROGRESS)` — names a deployment so a person
/// can find it.
pub(crate) fn describe_deployment(d: &Deployment) -> String {
    let mut parts = vec![format!(
        "{} {}",
        d.status().unwrap_or("?"),
        d.task_definition().map(short_name).unwrap_or_else(|| "?".into())
    )];
    if let Some(created) = d.created_at().and_then(super::to_chrono) {
        let ago = (chrono::Utc::now() - created).to_std().unwrap_or_default();
        parts.push(format!("started {} ago", super::human(ago)));
    }
    parts.push(format!("{}/{} running", d.running_count, d.desired_count));
    if let Some(state) = rollout_state(d) {
        parts.push(state.to_string());
    }
    format!("{} ({})", d.id().unwrap_or("?"), parts.join(", "))
}
