//! The vocabulary of a rollout, shared by the rollout engine (`deploy/`) and the deploy targets
//! (`providers/ecs`, `providers/kube`, `providers/docker_host`). It sits below both so that no provider imports
//! the engine while the engine imports the providers.

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
    /// The approval screen as markdown, for a target that carries it to its reviewers (a gitops pull
    /// request's body).
    #[serde(skip)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Deploy even though another rollout is still in progress.
    pub force: bool,
    pub timeout: std::time::Duration,
    /// Put the previous revision back when the rollout fails.
    pub auto_rollback: bool,
    /// gitops pull requests: wait for the merge (and the reconciler) instead of ending `proposed`.
    pub wait_merge: bool,
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
    /// A signal stopped the deploy; `state` says what the environment runs now (exit 130).
    Interrupted { revision: String, state: String },
    /// The change is proposed, not applied: a pull request (or a pushed branch) that deploys it once merged
    /// (a gitops environment in `mode = "pull-request"`). Exit 0; what runs is unchanged.
    Proposed { revision: String, url: String },
}

/// A deploy lock as stored in the target itself (a Lease, service tags, a volume's labels), so every machine
/// that deploys there sees it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct LockRecord {
    /// Who: the deployer (SHIPIT_DEPLOYER, the CI actor and run, or the git user).
    pub holder: String,
    /// Where: the host name of the machine running shipit.
    pub host: String,
    /// What: `shipit ship production`, and the digest or revision being put there.
    pub command: String,
    pub what: String,
    pub since: DateTime<Utc>,
    /// After this the lock counts as abandoned and the next deploy takes it over (with a warning). Held locks
    /// are renewed before this by a heartbeat, where the target can store a renewal.
    pub until: DateTime<Utc>,
    /// Unique per acquisition: a lock read back with another nonce was taken by someone else.
    pub nonce: String,
}

impl LockRecord {
    pub fn expired(&self) -> bool {
        Utc::now() > self.until
    }

    /// `ann on build-7 (shipit ship production, sha256:9b1e…) since 12:03:04 UTC, until 12:05:04 UTC`
    pub fn describe(&self) -> String {
        format!(
            "{} on {} ({}, {}) since {}, until {}",
            self.holder,
            self.host,
            self.command,
            self.what,
            self.since.format("%Y-%m-%d %H:%M:%S UTC"),
            self.until.format("%H:%M:%S UTC")
        )
    }
}

/// The answer of a target to "take this lock".
#[derive(Debug, Clone, PartialEq)]
pub enum LockAttempt {
    Acquired,
    /// Someone else holds it (possibly expired: the engine decides what to do with that).
    Held(LockRecord),
}
