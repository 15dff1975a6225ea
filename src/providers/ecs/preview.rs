//! What a deploy or rollback would change in the task definition, said before it is done (the approval
//! screen). A deploy copies the running revision and changes one image, so "only the image" is the normal
//! answer; a rollback puts an older revision back whole, and everything that differs is listed.

use aws_sdk_ecs::types::TaskDefinition;

use super::taskdef::{family_revision, short_name};
use super::{EcsError, EcsTarget, live_task_definition};
use crate::release::ImageRef;
use crate::rollout::Revision;

impl EcsTarget {
    pub async fn preview(&self, image: Option<&ImageRef>, to: Option<&Revision>) -> Result<Vec<String>, EcsError> {
        let service = self.active_service().await?;
        let current = live_task_definition(&service)
            .ok_or_else(|| EcsError::NoTaskDefinition { service: self.service.clone() })?
            .to_string();
        let (td, _) = self.task_definition(&current).await?;
        let mut lines = Vec::new();
        if let Some(image) = image {
            let now = self.image_of(&td)?;
            lines.push(format!(
                "registers a new revision of {} copied from {}: container {} image {now} → {}",
                td.family().unwrap_or("?"),
                short_name(&current),
                self.container,
                image.pinned()
            ));
            lines.push("every other task-definition field is carried over unchanged".into());
            if let Some(newer) = self.newer_revision(&current).await? {
                lines.push(format!(
                    "note: {newer} is newer than the running {} (registered outside shipit?); the new revision is based on the running one",
                    short_name(&current)
                ));
            }
        } else if let Some(to) = to {
            let family = family_revision(&current).map(|(f, _)| f).unwrap_or("?");
            let (old, _) = self.task_definition(&format!("{family}:{}", to.revision)).await?;
            lines.push(format!("points the service at {family}:{} instead of {}", to.revision, short_name(&current)));
            let diff = differences(&td, &old);
            if diff.is_empty() {
                lines.push("the two revisions differ in nothing but their number".into());
            }
            lines.extend(diff);
        }
        lines.push(format!("service {} in cluster {}: a new deployment", self.service, self.cluster));
        Ok(lines)
    }

    /// The family's newest ACTIVE revision when it is not `current`.
    async fn newer_revision(&self, current: &str) -> Result<Option<String>, EcsError> {
        let Some((family, rev)) = family_revision(current) else { return Ok(None) };
        let out = self
            .client
            .list_task_definitions()
            .family_prefix(family)
            .sort(aws_sdk_ecs::types::SortOrder::Desc)
            .max_results(1)
            .send()
            .await
            .map_err(|e| EcsError::api("ListTaskDefinitions", e))?;
        Ok(out
            .task_definition_arns()
            .first()
            .and_then(|arn| family_revision(arn).filter(|(f, r)| *f == family && *r > rev).map(|_| short_name(arn))))
    }
}

/// The fields that differ between the running revision `now` and the one a rollback puts back, one line
/// each. Compared through their Debug form: the SDK's types have no Serialize, and equality of the whole
/// value is what matters.
fn differences(now: &TaskDefinition, then: &TaskDefinition) -> Vec<String> {
    let mut out = Vec::new();
    macro_rules! field {
        ($name:literal, $get:ident) => {
            if format!("{:?}", now.$get()) != format!("{:?}", then.$get()) {
                out.push(format!("task definition {}: differs", $name));
            }
        };
    }
    field!("cpu", cpu);
    field!("memory", memory);
    field!("taskRoleArn", task_role_arn);
    field!("executionRoleArn", execution_role_arn);
    field!("networkMode", network_mode);
    field!("volumes", volumes);
    field!("placementConstraints", placement_constraints);
    field!("requiresCompatibilities", requires_compatibilities);
    field!("pidMode", pid_mode);
    field!("ipcMode", ipc_mode);
    field!("proxyConfiguration", proxy_configuration);
    field!("ephemeralStorage", ephemeral_storage);
    field!("runtimePlatform", runtime_platform);
    for c in now.container_definitions() {
        let name = c.name().unwrap_or("?");
        let Some(old) = then.container_definitions().iter().find(|o| o.name() == c.name()) else {
            out.push(format!("container {name}: not in the older revision (it goes away)"));
            continue;
        };
        if c.image() != old.image() {
            out.push(format!("container {name} image: {} → {}", c.image().unwrap_or("?"), old.image().unwrap_or("?")));
        }
        macro_rules! cfield {
            ($label:literal, $get:ident) => {
                if format!("{:?}", c.$get()) != format!("{:?}", old.$get()) {
                    out.push(format!("container {name} {}: differs", $label));
                }
            };
        }
        cfield!("environment", environment);
        cfield!("secrets", secrets);
        cfield!("portMappings", port_mappings);
        cfield!("command", command);
        cfield!("entryPoint", entry_point);
        cfield!("cpu", cpu);
        cfield!("memory", memory);
        cfield!("memoryReservation", memory_reservation);
        cfield!("healthCheck", health_check);
        cfield!("logConfiguration", log_configuration);
        cfield!("essential", essential);
    }
    for old in then.container_definitions() {
        if !now.container_definitions().iter().any(|c| c.name() == old.name()) {
            out.push(format!("container {}: comes back (not in the running revision)", old.name().unwrap_or("?")));
        }
    }
    out
}
