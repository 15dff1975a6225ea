//! What every deploy target (ECS, Kubernetes, a Docker host) offers, in one vocabulary, so that `deploy`,
//! `status`, `history` and `rollback` are written once. Each target lives in its provider module and
//! implements these operations; `Target` dispatches.

pub mod meta;
pub mod target;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::release::ImageRef;

/// Who and what a deploy is, written into the target (task-definition tags, annotations, labels) so that
/// `history` can show it later without any database of our own.
#[derive(Debug, Clone, Serialize)]
pub struct DeployMeta {
    pub commit: String,
    pub deployer: String,
    /// Free text for `kubernetes.io/change-cause` and logs: "shipit ship production 3f2c1ab".
    pub cause: String,
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Deploy even though another rollout is still in progress.
    pub force: bool,
    pub timeout: std::time::Duration,
    /// Put the previous revision back when the rollout fails.
    pub auto_rollback: bool,
}

/// One release as the target remembers it (a task-definition revision, a ReplicaSet, a container).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Revision {
    /// Target-specific id: ECS task-definition revision number, Kubernetes deployment revision.
    pub revision: String,
    /// The full image reference as deployed.
    pub image: String,
    /// `sha256:…`, when the image is pinned by digest (images deployed by other tools may not be).
    pub digest: Option<String>,
    pub commit: Option<String>,
    pub deployer: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// Running now.
    pub live: bool,
    /// A rollout of this revision failed, as recorded by shipit on the target (a ReplicaSet annotation, a
    /// task-definition tag, a container name), so every machine sees it. A later rollout of the same revision
    /// that completes clears it.
    pub failed: bool,
}

/// What runs now.
#[derive(Debug, Clone, Serialize)]
pub struct LiveState {
    pub revision: Option<String>,
    pub image: String,
    pub digest: Option<String>,
    pub commit: Option<String>,
    /// `COMPLETED`, `IN_PROGRESS`, `FAILED`, or the target's own words.
    pub rollout: String,
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
    /// Human-readable extra lines: conditions, deployments, events.
    pub details: Vec<String>,
}

impl LiveState {
    pub fn image_ref(&self) -> Option<ImageRef> {
        ImageRef::parse_pinned(&self.image)
    }
}

/// How a deploy or rollback ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The new revision is fully rolled out.
    Completed { revision: String },
    /// The rollout failed and the previous revision was put back (exit 5).
    RolledBack { revision: String, restored: String, reason: String },
    /// The rollout failed; nothing was put back (exit 1).
    Failed { revision: String, reason: String },
}
