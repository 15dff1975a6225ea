//! Why tasks stopped. A failed rollout is only useful if it says "exit code 137" or "CannotPullContainerError",
//! and ECS keeps that on the stopped tasks, not on the deployment.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Deployment, DesiredStatus, Task};

use super::EcsError;
use super::taskdef::same_revision;

#[derive(Debug, Clone, PartialEq)]
pub struct StoppedTask {
    pub arn: String,
    pub reason: String,
    /// `api: exit code 1 (OutOfMemoryError)` per container that stopped with something to say.
    pub containers: Vec<String>,
}

impl StoppedTask {
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }

    /// `Essential container in task exited (api: exit code 1)`
    pub fn summary(&self) -> String {
        if self.containers.is_empty() {
            self.reason.clone()
        } else {
            format!("{} ({})", self.reason, self.containers.join("; "))
        }
    }
}

/// Stopped tasks of the service that ran `task_definition`, started by `deployment` (ECS keeps stopped tasks
/// for about an hour, so earlier tasks of the same revision — replaced by a previous deploy — must not count).
pub(crate) async fn stopped_tasks(
    client: &Client,
    cluster: &str,
    service: &str,
    task_definition: &str,
    deployment: Option<&Deployment>,
) -> Result<Vec<StoppedTask>, EcsError> {
    let listed = client
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Stopped)
        .max_results(100)
        .send()
        .await
        .map_err(|e| EcsError::api("ListTasks", e))?;
    let arns = listed.task_arns().to_vec();
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let described = client
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .map_err(|e| EcsError::api("DescribeTasks", e))?;
    let mut tasks: Vec<&Task> = described
        .tasks()
        .iter()
        .filter(|t| t.task_definition_arn().is_some_and(|td| same_revision(td, task_definition)))
        .filter(|t| deployment.is_none_or(|d| started_by(t, d)))
        .collect();
    tasks.sort_by_key(|t| t.stopped_at().map(|d| (d.secs(), d.subsec_nanos())));
    Ok(tasks.into_iter().map(stopped_task).collect())
}

/// Service tasks carry their deployment's id in `startedBy`; without it, the creation time decides.
fn started_by(task: &Task, deployment: &Deployment) -> bool {
    match (task.started_by(), deployment.id()) {
        (Some(by), Some(id)) => by == id,
        _ => match (task.created_at(), deployment.created_at()) {
            (Some(t), Some(d)) => t.secs() >= d.secs(),
            _ => true,
        },
    }
}

fn stopped_task(task: &Task) -> StoppedTask {
    let containers = task
        .containers()
        .iter()
        .filter(|c| c.exit_code.is_some_and(|code| code != 0) || c.reason.is_some())
        .map(|c| {
            let mut s = c.name().unwrap_or("?").to_string();
            if let Some(code) = c.exit_code {
                s.push_str(&format!(": exit code {code}"));
            }
            if let Some(reason) = c.reason() {
                s.push_str(&format!(" ({reason})"));
            }
            s
        })
        .collect();
    let reason = task
        .stopped_reason()
        .map(str::to_string)
        .or_else(|| task.stop_code().map(|c| c.as_str().to_string()))
        .unwrap_or_else(|| "stopped".into());
    StoppedTask { arn: task.task_arn().unwrap_or("?").to_string(), reason, containers }
}
