//! The one write shipit makes to a cluster: a strategic merge patch of the Deployment's pod template (container
//! images by name, plus annotations), guarded by the resourceVersion it was computed from. Strategic merge
//! keys containers by `name`, so only the named containers change and everything else in the template is left
//! to whoever owns it (Helm, kubectl apply, an operator).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};

use super::error::{Action, KubeError};
use super::{ANN_CHANGE_CAUSE, ANN_COMMIT, ANN_DEPLOYER, ANN_DIGEST, FIELD_MANAGER, KubeTarget};
use crate::release::{ImageRef, short_digest};
use crate::report::Reporter;
use crate::rollout::DeployMeta;

const SHIPIT_KEYS: [&str; 4] = [ANN_CHANGE_CAUSE, ANN_COMMIT, ANN_DIGEST, ANN_DEPLOYER];
const CONFLICT_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
struct ContainerImage {
    name: String,
    init: bool,
    image: String,
}

/// A change to a Deployment's pod template, computed from the object as read.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployPatch {
    images: Vec<ContainerImage>,
    /// On the pod template, so they are part of the ReplicaSet (history reads them back). `None` removes.
    template_annotations: BTreeMap<String, Option<String>>,
    /// On the Deployment itself (`kubectl rollout history` shows change-cause from here).
    deployment_annotations: BTreeMap<String, Option<String>>,
    summary: String,
}

impl DeployPatch {
    /// Set every container in `containers` (init containers included) to `image` by digest.
    pub fn for_image(
        dep: &Deployment,
        deployment: &str,
        containers: &[String],
        image: &ImageRef,
        meta: &DeployMeta,
    ) -> Result<DeployPatch, KubeError> {
        let template = &dep.spec.template;
        let mut missing = Vec::new();
        let mut images = Vec::new();
        for name in containers {
            match find_container(template, name) {
                Some((_, init)) => images.push(ContainerImage { name: name.clone(), init, image: image.pinned() }),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(KubeError::ContainerNotFound {
                deployment: deployment.to_string(),
                missing,
                available: container_names(template),
            });
        }
        let annotations: BTreeMap<String, Option<String>> = [
            (ANN_CHANGE_CAUSE, meta.cause.clone()),
            (ANN_COMMIT, meta.commit.clone()),
            (ANN_DIGEST, image.digest.clone()),
            (ANN_DEPLOYER, meta.deployer.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Some(v)))
        .collect();
        Ok(DeployPatch {
            summary: format!(
                "{} {} → {}",
                if containers.len() == 1 { "container" } else { "containers" },
                containers.join(", "),
                image.short_digest()
            ),
            images,
            template_annotations: annotations.clone(),
            deployment_annotations: annotations,
        })
    }

    /// Put back the images and shipit annotations of the ReplicaSet `rs` (like `kubectl rollout undo
    /// --to-revision`, limited to images: other template changes made since are kept). Because the template
    /// then equals the old ReplicaSet's, the controller scales that ReplicaSet back up rather than creating one.
    pub fn restore(
        dep: &Deployment,
        deployment: &str,
        rs: &ReplicaSet,
        meta: &DeployMeta,
    ) -> Result<DeployPatch, KubeError> {
        let Some(old) = rs.spec.template.as_ref() else {
            return Err(KubeError::RevisionNotFound {
                deployment: deployment.to_string(),
                revision: super::history::rs_revision(rs).unwrap_or("?").to_string(),
            });
        };
        let old_annotations = old.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
        let template_annotations: BTreeMap<String, Option<String>> =
            SHIPIT_KEYS.iter().map(|k| (k.to_string(), old_annotations.get(*k).cloned())).collect();
        let all = images_from(old, &dep.spec.template);
        let revision = super::history::rs_revision(rs).unwrap_or("?");
        if all.is_empty() {
            return Err(KubeError::Config(format!(
                "revision {revision} of Deployment {deployment} has no container that the Deployment still has; roll back with kubectl instead"
            )));
        }
        let digest = all.iter().find_map(|c| ImageRef::parse_pinned(&c.image)).map(|i| i.digest);
        let images = changed_only(all, &dep.spec.template);
        let deployment_annotations = [
            (ANN_CHANGE_CAUSE, Some(meta.cause.clone())),
            (ANN_COMMIT, old_annotations.get(ANN_COMMIT).cloned()),
            (ANN_DIGEST, old_annotations.get(ANN_DIGEST).cloned().or(digest)),
            (ANN_DEPLOYER, Some(meta.deployer.clone())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(DeployPatch {
            summary: format!("restore revision {revision} ({})", describe_images(&images)),
            images,
            template_annotations,
            deployment_annotations,
        })
    }

    /// Undo a failed rollout: `before` is the Deployment as read before the deploy patch, `after` as patched.
    pub fn undo(before: &Deployment, after: &Deployment, meta: &DeployMeta) -> DeployPatch {
        let old = &before.spec.template;
        let images = changed_only(images_from(old, &after.spec.template), &after.spec.template);
        let template_annotations = SHIPIT_KEYS
            .iter()
            .map(|k| (k.to_string(), annotation(old.metadata.as_ref().and_then(|m| m.annotations.as_ref()), k)))
            .collect();
        let before_ann = before.metadata.annotations.as_ref();
        let deployment_annotations = [
            (ANN_CHANGE_CAUSE, Some(format!("shipit auto-rollback after a failed rollout ({})", meta.cause))),
            (ANN_COMMIT, annotation(before_ann, ANN_COMMIT)),
            (ANN_DIGEST, annotation(before_ann, ANN_DIGEST)),
            (ANN_DEPLOYER, Some(meta.deployer.clone())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        DeployPatch {
            summary: format!("put back the previous images ({})", describe_images(&images)),
            images,
            template_annotations,
            deployment_annotations,
        }
    }

    /// True when every container named in the patch already runs the image the patch would set.
    pub fn is_noop(&self, dep: &Deployment) -> bool {
        self.images.iter().all(|c| {
            find_container(&dep.spec.template, &c.name)
                .is_some_and(|(found, init)| init == c.init && found.image.as_deref() == Some(c.image.as_str()))
        })
    }

    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// What applying the patch to `dep` changes, one line per container: `container web: OLD → NEW`.
    pub fn changes(&self, dep: &Deployment) -> Vec<String> {
        self.images
            .iter()
            .map(|c| {
                let now = find_container(&dep.spec.template, &c.name).and_then(|(f, _)| f.image.clone());
                let kind = if c.init { "init container" } else { "container" };
                match now {
                    Some(now) if now == c.image => format!("{kind} {}: unchanged ({})", c.name, c.image),
                    Some(now) => format!("{kind} {}: {now} → {}", c.name, c.image),
                    None => format!("{kind} {}: → {}", c.name, c.image),
                }
            })
            .collect()
    }

    /// The strategic merge patch body. `resource_version` makes it conditional: the API answers 409 when the
    /// Deployment changed since it was read, and the guard is re-checked on the fresh object.
    pub fn to_json(&self, resource_version: Option<&str>) -> Value {
        let containers: Vec<Value> =
            self.images.iter().filter(|c| !c.init).map(|c| json!({"name": c.name, "image": c.image})).collect();
        let init: Vec<Value> =
            self.images.iter().filter(|c| c.init).map(|c| json!({"name": c.name, "image": c.image})).collect();
        let mut pod_spec = Map::new();
        if !containers.is_empty() {
            pod_spec.insert("containers".into(), Value::Array(containers));
        }
        if !init.is_empty() {
            pod_spec.insert("initContainers".into(), Value::Array(init));
        }
        let mut metadata = Map::new();
        if let Some(rv) = resource_version {
            metadata.insert("resourceVersion".into(), json!(rv));
        }
        metadata.insert("annotations".into(), annotations_json(&self.deployment_annotations));
        json!({
            "metadata": metadata,
            "spec": {
                "template": {
                    "metadata": {"annotations": annotations_json(&self.template_annotations)},
                    "spec": pod_spec,
                }
            }
        })
    }
}

/// Why a rollout of `dep` counts as still in progress (kubectl's `rollout status` rules), or None when it is
/// complete or has definitively failed (a rollout past its progress deadline may be replaced).
pub fn in_progress(dep: &Deployment) -> Option<String> {
    let status = dep.status.as_ref();
    let generation = dep.metadata.generation.unwrap_or(0);
    let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
    if observed < generation {
        return Some(format!("the controller has not yet picked up generation {generation}"));
    }
    let status = status?;
    let deadline_exceeded = status.conditions.iter().flatten().any(super::history::is_deadline_exceeded);
    if deadline_exceeded {
        return None;
    }
    let desired = dep.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired {
        Some(format!("{updated} of {desired} replicas updated"))
    } else if total > updated {
        Some(format!("{} old replicas pending termination", i64::from(total) - i64::from(updated)))
    } else if available < updated {
        Some(format!("{available} of {updated} updated replicas available"))
    } else {
        None
    }
}

impl KubeTarget {
    /// Patch with the guard and the 409 retry. Returns the Deployment as read just before the successful patch
    /// and as the API returned it after.
    pub(super) async fn apply(
        &self,
        change: &DeployPatch,
        guard: bool,
        reporter: &dyn Reporter,
    ) -> Result<(Deployment, Deployment), KubeError> {
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.get_deployment().await?;
            if current.spec.paused == Some(true) {
                return Err(KubeError::Paused { deployment: self.deployment.clone() });
            }
            if guard && let Some(detail) = in_progress(&current) {
                return Err(KubeError::RolloutInProgress { deployment: self.deployment.clone(), detail });
            }
            let body = change.to_json(current.metadata.resource_version.as_deref());
            reporter.detail(&format!(
                "PATCH deployments/{} (strategic merge, fieldManager={FIELD_MANAGER}): {body}",
                self.deployment
            ));
            match self.deployments().patch(&self.deployment, &params, &Patch::Strategic(body)).await {
                Ok(after) => return Ok((current, after)),
                Err(e) if KubeError::is_conflict(&e) && attempt < CONFLICT_ATTEMPTS => {
                    reporter.line(&format!(
                        "{} changed while shipit was updating it (409 conflict); reading it again (attempt {}/{CONFLICT_ATTEMPTS})",
                        self.deployment,
                        attempt + 1
                    ));
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) if KubeError::is_conflict(&e) => {
                    return Err(KubeError::Conflict { deployment: self.deployment.clone(), attempts: attempt });
                }
                Err(e) => return Err(KubeError::from_api(e, Action { verb: "patch", resource: "deployments" }, self)),
            }
        }
    }
}

/// The container `name` in the template and whether it is an init container.
fn find_container<'a>(template: &'a PodTemplateSpec, name: &str) -> Option<(&'a Container, bool)> {
    let spec = template.spec.as_ref()?;
    spec.containers
        .iter()
        .find(|c| c.name == name)
        .map(|c| (c, false))
        .or_else(|| spec.init_containers.iter().flatten().find(|c| c.name == name).map(|c| (c, true)))
}

fn container_names(template: &PodTemplateSpec) -> Vec<String> {
    let Some(spec) = template.spec.as_ref() else { return Vec::new() };
    let regular = spec.containers.iter().map(|c| c.name.clone());
    let init = spec.init_containers.iter().flatten().map(|c| format!("{} (init)", c.name));
    regular.chain(init).collect()
}

/// The images of `old` for containers that still exist in `current` under the same name and kind.
fn images_from(old: &PodTemplateSpec, current: &PodTemplateSpec) -> Vec<ContainerImage> {
    let Some(spec) = old.spec.as_ref() else { return Vec::new() };
    let regular = spec.containers.iter().map(|c| (c, false));
    let init = spec.init_containers.iter().flatten().map(|c| (c, true));
    regular
        .chain(init)
        .filter_map(|(c, init)| {
            let image = c.image.clone()?;
            let (_, now_init) = find_container(current, &c.name)?;
            (now_init == init).then(|| ContainerImage { name: c.name.clone(), init, image })
        })
        .collect()
}

/// Leave out containers that already run the image (less noise in the patch and in the progress line).
fn changed_only(images: Vec<ContainerImage>, current: &PodTemplateSpec) -> Vec<ContainerImage> {
    images
        .into_iter()
        .filter(|c| {
            find_container(current, &c.name).is_none_or(|(now, _)| now.image.as_deref() != Some(c.image.as_str()))
        })
        .collect()
}

fn describe_images(images: &[ContainerImage]) -> String {
    images
        .iter()
        .map(|c| {
            let shown = ImageRef::parse_pinned(&c.image).map(|i| short_digest(&i.digest)).unwrap_or(c.image.clone());
            format!("container {} → {shown}", c.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn annotation(map: Option<&BTreeMap<String, String>>, key: &str) -> Option<String> {
    map.and_then(|m| m.get(key)).cloned()
}

fn annotations_json(map: &BTreeMap<String, Option<String>>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), v.clone().map(Value::String).unwrap_or(Value::Null))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};

    fn dep(containers: &[(&str, &str)], init: &[(&str, &str)]) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "api", "generation": 2, "resourceVersion": "41"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {
                        "containers": containers.iter().map(|(n, i)| json!({"name": n, "image": i})).collect::<Vec<_>>(),
                        "initContainers": init.iter().map(|(n, i)| json!({"name": n, "image": i})).collect::<Vec<_>>(),
                    }
                }
            },
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
        }))
        .unwrap()
    }

    fn meta() -> DeployMeta {
        DeployMeta {
            commit: "3f2c1ab".into(),
            deployer: "ana".into(),
            cause: "shipit deploy prod 3f2c1ab".into(),
            summary: None,
        }
    }

    fn image() -> ImageRef {
        ImageRef { repository: "ghcr.io/acme/api".into(), digest: format!("sha256:{}", "b".repeat(64)) }
    }

    #[test]
    fn deploy_patch_names_only_the_configured_containers_including_init() {
        let d =
            dep(&[("api", "ghcr.io/acme/api:old"), ("envoy", "envoy:1.30")], &[("migrate", "ghcr.io/acme/api:old")]);
        let p = DeployPatch::for_image(&d, "api", &["api".into(), "migrate".into()], &image(), &meta()).unwrap();
        let body = p.to_json(Some("41"));
        let pinned = image().pinned();
        assert_eq!(body["metadata"]["resourceVersion"], "41");
        assert_eq!(body["spec"]["template"]["spec"]["containers"], json!([{"name": "api", "image": pinned}]));
        assert_eq!(body["spec"]["template"]["spec"]["initContainers"], json!([{"name": "migrate", "image": pinned}]));
        let ann = &body["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann[ANN_COMMIT], "3f2c1ab");
        assert_eq!(ann[ANN_DIGEST], image().digest);
        assert_eq!(ann[ANN_DEPLOYER], "ana");
        assert_eq!(ann[ANN_CHANGE_CAUSE], "shipit deploy prod 3f2c1ab");
        assert_eq!(body["metadata"]["annotations"], *ann);
        assert!(!p.is_noop(&d));
    }

    #[test]
    fn unknown_container_lists_the_real_ones() {
        let d = dep(&[("web", "x")], &[("migrate", "y")]);
        let err = DeployPatch::for_image(&d, "api", &["api".into()], &image(), &meta()).unwrap_err();
        match err {
            KubeError::ContainerNotFound { missing, available, .. } => {
                assert_eq!(missing, vec!["api"]);
                assert_eq!(available, vec!["web", "migrate (init)"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn same_image_is_a_noop() {
        let d = dep(&[("api", &image().pinned())], &[]);
        let p = DeployPatch::for_image(&d, "api", &["api".into()], &image(), &meta()).unwrap();
        assert!(p.is_noop(&d));
    }

    #[test]
    fn undo_removes_annotations_the_old_template_did_not_have() {
        let before = dep(&[("api", "ghcr.io/acme/api:old")], &[]);
        let mut after = before.clone();
        after.spec.template.spec.as_mut().unwrap().containers[0].image = Some(image().pinned());
        let p = DeployPatch::undo(&before, &after, &meta());
        let body = p.to_json(None);
        assert_eq!(body["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/acme/api:old");
        assert_eq!(body["spec"]["template"]["metadata"]["annotations"][ANN_DIGEST], Value::Null);
        assert!(body["metadata"].get("resourceVersion").is_none());
    }

    #[test]
    fn in_progress_follows_kubectl_rollout_status() {
        let mut d = dep(&[("api", "x")], &[]);
        assert_eq!(in_progress(&d), None);
        d.metadata.generation = Some(3);
        assert!(in_progress(&d).unwrap().contains("generation 3"));
        d.status = Some(DeploymentStatus {
            observed_generation: Some(3),
            replicas: Some(4),
            updated_replicas: Some(1),
            available_replicas: Some(3),
            ..Default::default()
        });
        assert_eq!(in_progress(&d).unwrap(), "1 of 3 replicas updated");
        d.status.as_mut().unwrap().updated_replicas = Some(3);
        assert_eq!(in_progress(&d).unwrap(), "1 old replicas pending termination");
        d.status.as_mut().unwrap().replicas = Some(3);
        d.status.as_mut().unwrap().available_replicas = Some(2);
        assert_eq!(in_progress(&d).unwrap(), "2 of 3 updated replicas available");
        d.status.as_mut().unwrap().conditions = Some(vec![DeploymentCondition {
            type_: Some("Progressing".into()),
            status: Some("False".into()),
            reason: Some("ProgressDeadlineExceeded".into()),
            ..Default::default()
        }]);
        assert_eq!(in_progress(&d), None, "a failed rollout may be replaced");
    }
}
