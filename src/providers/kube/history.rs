//! Revisions are the Deployment's own ReplicaSets: each keeps the pod template it was created from, so the image
//! and shipit's annotations (commit, digest, deployer) of every past release are in the cluster, up to the
//! Deployment's revisionHistoryLimit. No database of our own.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{ANN_COMMIT, ANN_DEPLOYER, ANN_DIGEST, ANN_OUTCOME, ANN_REVISION, OUTCOME_FAILED};
use crate::release::ImageRef;
use crate::rollout::{LiveState, Revision};

/// The Deployment's current revision (set by the deployment controller).
pub fn revision_of(dep: &Deployment) -> Option<String> {
    dep.metadata.annotations.as_ref()?.get(ANN_REVISION).cloned()
}

pub fn rs_revision(rs: &ReplicaSet) -> Option<&str> {
    rs.metadata.annotations.as_ref()?.get(ANN_REVISION).map(String::as_str)
}

fn revision_number(rs: &ReplicaSet) -> i64 {
    rs_revision(rs).and_then(|r| r.parse().ok()).unwrap_or(-1)
}

/// Shipit marked this ReplicaSet's rollout as failed. Read from the object's own annotations only: the mark is
/// about how a rollout of this ReplicaSet ended, which the pod template (fixed at creation) cannot know.
pub fn marked_failed(meta: &ObjectMeta) -> bool {
    meta.annotations.as_ref().and_then(|a| a.get(ANN_OUTCOME)).is_some_and(|v| v == OUTCOME_FAILED)
}

/// `matchLabels` as a label selector string. `matchExpressions` are not translated: the owner check that
/// follows every list is what decides membership anyway.
pub fn selector_string(dep: &Deployment) -> Option<String> {
    let labels = dep.spec.selector.match_labels.as_ref()?;
    (!labels.is_empty()).then(|| labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

pub fn owned_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|o| o.uid == uid && o.controller == Some(true))
}

/// The image of the first configured container found in the template (the app's), else its first container.
pub fn primary_image(template: &PodTemplateSpec, containers: &[String]) -> Option<String> {
    let spec = template.spec.as_ref()?;
    let all = || spec.containers.iter().chain(spec.init_containers.iter().flatten());
    containers
        .iter()
        .find_map(|name| all().find(|c| &c.name == name))
        .or_else(|| spec.containers.first())
        .and_then(|c| c.image.clone())
}

/// Shipit's annotations are read from the pod template first (immutable per ReplicaSet), then from the
/// object's own annotations (which the controller copies from the Deployment and may update later).
fn annotation<'a>(template: &'a PodTemplateSpec, meta: &'a ObjectMeta, key: &str) -> Option<&'a String> {
    let from_template = template.metadata.as_ref().and_then(|m| m.annotations.as_ref()).and_then(|a| a.get(key));
    from_template.or_else(|| meta.annotations.as_ref().and_then(|a| a.get(key)))
}

fn digest_of(image: Option<&str>, annotated: Option<&String>) -> Option<String> {
    image.and_then(ImageRef::parse_pinned).map(|i| i.digest).or_else(|| {
        // An image deployed by tag has no digest we can trust; only a pinned one counts.
        annotated.filter(|_| image.is_none()).cloned()
    })
}

/// Newest first; `live` is the revision the Deployment points at.
pub fn revisions(dep: &Deployment, sets: &[ReplicaSet], containers: &[String]) -> Vec<Revision> {
    let live = revision_of(dep);
    let mut sorted: Vec<&ReplicaSet> = sets.iter().filter(|rs| rs_revision(rs).is_some()).collect();
    sorted.sort_by_key(|rs| std::cmp::Reverse(revision_number(rs)));
    let empty = PodTemplateSpec::default();
    sorted
        .into_iter()
        .map(|rs| {
            let template = rs.spec.template.as_ref().unwrap_or(&empty);
            let image = primary_image(template, containers);
            let revision = rs_revision(rs).unwrap_or_default().to_string();
            Revision {
                digest: digest_of(image.as_deref(), annotation(template, &rs.metadata, ANN_DIGEST)),
                image: image.unwrap_or_default(),
                commit: annotation(template, &rs.metadata, ANN_COMMIT).map(|v| crate::providers::limits::label(v)),
                deployer: annotation(template, &rs.metadata, ANN_DEPLOYER).map(|v| crate::providers::limits::label(v)),
                created: rs.metadata.creation_timestamp.as_ref().and_then(|t| to_chrono(&t.0)),
                live: live.as_deref() == Some(revision.as_str()),
                failed: marked_failed(&rs.metadata),
                revision,
            }
        })
        .collect()
}

/// The Progressing condition that means the controller gave up on the rollout.
pub fn is_deadline_exceeded(c: &k8s_openapi::api::apps::v1::DeploymentCondition) -> bool {
    c.type_.as_deref() == Some("Progressing") && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
}

fn to_chrono(t: &k8s_openapi::jiff::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().try_into().ok()?)
}

/// `COMPLETED`, `IN_PROGRESS`, `FAILED` (progress deadline exceeded) or `PAUSED`.
pub fn rollout_state(dep: &Deployment) -> &'static str {
    if dep.spec.paused == Some(true) {
        return "PAUSED";
    }
    let deadline =
        dep.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(is_deadline_exceeded));
    if deadline {
        "FAILED"
    } else if super::in_progress(dep).is_some() {
        "IN_PROGRESS"
    } else {
        "COMPLETED"
    }
}

pub fn live_state(dep: &Deployment, containers: &[String]) -> LiveState {
    let template = &dep.spec.template;
    let image = primary_image(template, containers).unwrap_or_default();
    let status = dep.status.clone().unwrap_or_default();
    let desired = i64::from(dep.spec.replicas.unwrap_or(1));
    let available = i64::from(status.available_replicas.unwrap_or(0));
    let mut details = vec![format!(
        "replicas: {desired} desired, {} updated, {} ready, {available} available",
        status.updated_replicas.unwrap_or(0),
        status.ready_replicas.unwrap_or(0),
    )];
    for c in status.conditions.iter().flatten() {
        let reason = c.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        let message = c.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
        details.push(format!(
            "{}={}{reason}{message}",
            c.type_.as_deref().unwrap_or("?"),
            c.status.as_deref().unwrap_or("?")
        ));
    }
    let images: BTreeMap<String, String> = template
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect();
    if images.len() > 1 {
        for (name, img) in images {
            details.push(format!("container {name}: {img}"));
        }
    }
    LiveState {
        revision: revision_of(dep),
        digest: digest_of(Some(&image), None),
        commit: annotation(template, &dep.metadata, ANN_COMMIT).map(|v| crate::providers::limits::label(v)),
        image,
        rollout: rollout_state(dep).to_string(),
        desired,
        running: available,
        pending: (desired - available).max(0),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(revision: &str, image: &str, commit: Option<&str>, uid: &str) -> ReplicaSet {
        let mut ann = serde_json::Map::new();
        if let Some(c) = commit {
            ann.insert(ANN_COMMIT.into(), json!(c));
            ann.insert(ANN_DEPLOYER.into(), json!("ana"));
        }
        serde_json::from_value(json!({
            "metadata": {
                "name": format!("api-{revision}"),
                "annotations": {ANN_REVISION: revision},
                "creationTimestamp": "2026-01-02T03:04:05Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": uid, "controller": true}],
            },
            "spec": {
                "selector": {"matchLabels": {"app": "api"}},
                "template": {"metadata": {"annotations": ann}, "spec": {"containers": [{"name": "sidecar", "image": "envoy"}, {"name": "api", "image": image}]}}
            }
        }))
        .unwrap()
    }

    #[test]
    fn revisions_sort_numerically_and_mark_live() {
        let d = format!("ghcr.io/acme/api@sha256:{}", "c".repeat(64));
        let dep: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "api", "uid": "u1", "annotations": {ANN_REVISION: "10"}},
            "spec": {"selector": {"matchLabels": {"app": "api", "tier": "web"}}, "template": {}},
        }))
        .unwrap();
        let sets =
            vec![rs("9", "ghcr.io/acme/api:v9", None, "u1"), rs("10", &d, Some("abc"), "u1"), rs("2", &d, None, "u1")];
        let revs = revisions(&dep, &sets, &["api".into()]);
        let order: Vec<_> = revs.iter().map(|r| r.revision.as_str()).collect();
        assert_eq!(order, ["10", "9", "2"]);
        assert!(revs[0].live && !revs[1].live);
        assert_eq!(revs[0].image, d);
        assert_eq!(revs[0].digest.as_deref(), Some(format!("sha256:{}", "c".repeat(64)).as_str()));
        assert_eq!(revs[0].commit.as_deref(), Some("abc"));
        assert_eq!(revs[1].digest, None, "a tag is not a digest");
        assert!(revs.iter().all(|r| !r.failed));
        assert_eq!(selector_string(&dep).unwrap(), "app=api,tier=web");
        assert!(owned_by(&sets[0].metadata, "u1") && !owned_by(&sets[0].metadata, "u2"));
    }

    #[test]
    fn the_failed_mark_is_read_from_the_replicaset_not_its_template() {
        let dep: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "api", "uid": "u1", "annotations": {ANN_REVISION: "4"}},
            "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {}},
        }))
        .unwrap();
        let mut failed = rs("3", "c", None, "u1");
        failed.metadata.annotations.as_mut().unwrap().insert(ANN_OUTCOME.into(), OUTCOME_FAILED.into());
        let mut in_template = rs("1", "a", None, "u1");
        in_template.spec.template.as_mut().unwrap().metadata.as_mut().unwrap().annotations =
            Some([(ANN_OUTCOME.to_string(), OUTCOME_FAILED.to_string())].into());
        let revs = revisions(&dep, &[rs("4", "b", None, "u1"), failed, in_template], &["api".into()]);
        let marks: Vec<(&str, bool)> = revs.iter().map(|r| (r.revision.as_str(), r.failed)).collect();
        assert_eq!(marks, [("4", false), ("3", true), ("1", false)]);
    }
}
