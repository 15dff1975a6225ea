//! Releases of a gitops environment, read from the config repository: walking the branch's first-parent
//! history, every commit that changed the digest the file pins is a release (a change made by hand counts as
//! well as shipit's own). shipit's commits carry trailers (`Shipit-Commit`, `Shipit-Deployer`) that say which
//! source commit and who; for other commits the author is the deployer. A release whose verification failed
//! is marked by a tag `shipit-failed/<environment>/<revision>` on its commit.

use chrono::{TimeZone, Utc};
use git2::{Oid, Sort};

use super::{GitOpsError, GitOpsTarget, edit, repo};
use crate::rollout::Revision;

pub const TRAILER_ENV: &str = "Shipit-Environment";
pub const TRAILER_DIGEST: &str = "Shipit-Digest";
pub const TRAILER_PREVIOUS: &str = "Shipit-Previous-Digest";
pub const TRAILER_COMMIT: &str = "Shipit-Commit";
pub const TRAILER_DEPLOYER: &str = "Shipit-Deployer";

/// Where the failure marks of this environment are fetched to.
pub const LOCAL_FAILED: &str = "refs/shipit/failed/";
/// A config repository's history can be long; releases older than this many commits are not looked for.
const MAX_COMMITS: usize = 5000;

/// `refs/tags/shipit-failed/<env>/`: the failure marks in the config repository.
pub fn failed_prefix(env_name: &str) -> String {
    format!("refs/tags/shipit-failed/{env_name}/")
}

impl GitOpsTarget {
    /// Up to `limit` releases on the branch from `tip`, newest first; the first is live.
    pub(super) fn releases(&self, tip: Oid, limit: usize) -> Result<Vec<Revision>, GitOpsError> {
        let repo = self.repo.repository()?;
        let failed: Vec<String> = self
            .repo
            .refs_under(LOCAL_FAILED)?
            .into_iter()
            .map(|(name, _)| name.trim_start_matches(LOCAL_FAILED).to_string())
            .collect();
        let local = |e: git2::Error| GitOpsError::Local(e.to_string());
        let mut walk = repo.revwalk().map_err(local)?;
        walk.push(tip).map_err(local)?;
        walk.simplify_first_parent().map_err(local)?;
        walk.set_sorting(Sort::TOPOLOGICAL).map_err(local)?;
        let mut out: Vec<Revision> = Vec::new();
        for oid in walk.take(MAX_COMMITS) {
            if out.len() >= limit {
                break;
            }
            let oid = oid.map_err(local)?;
            let commit = repo.find_commit(oid).map_err(local)?;
            let Some(id) = repo::blob_id(&commit, &self.path) else { continue };
            let parent = commit.parent(0).ok();
            let parent_id = parent.as_ref().and_then(|p| repo::blob_id(p, &self.path));
            if parent_id == Some(id) {
                continue;
            }
            let Some(now) = self.value_at(&repo, oid)? else { continue };
            let before = match &parent {
                Some(p) => self.value_at(&repo, p.id())?,
                None => None,
            };
            let changed = match (&before, &now.digest) {
                (None, _) => true,
                (Some(b), Some(d)) => b.digest.as_deref() != Some(d.as_str()),
                (Some(b), None) => b.image != now.image,
            };
            if !changed {
                continue;
            }
            // A merged pull request: shipit's trailers are on the merged commit, the merge's second parent.
            let merged = commit.parent(1).ok();
            let message = merged.as_ref().and_then(|m| m.message()).or(commit.message()).unwrap_or_default();
            let revision = oid.to_string()[..12].to_string();
            out.push(Revision {
                failed: failed.contains(&revision),
                revision,
                image: now.image.clone(),
                digest: now.digest.clone(),
                commit: trailer(message, TRAILER_COMMIT).filter(|c| c != "unknown"),
                deployer: trailer(message, TRAILER_DEPLOYER).or_else(|| commit.author().name().map(str::to_string)),
                created: Utc.timestamp_opt(commit.time().seconds(), 0).single(),
                live: out.is_empty(),
            });
        }
        Ok(out)
    }

    /// What the file pins at `commit`; `None` when it is not there or cannot be read (a release is only a
    /// commit whose file shipit can read).
    fn value_at(&self, repo: &git2::Repository, commit: Oid) -> Result<Option<edit::Current>, GitOpsError> {
        let Some(bytes) = repo::blob_at(repo, commit, &self.path)? else { return Ok(None) };
        let Ok(text) = String::from_utf8(bytes) else { return Ok(None) };
        Ok(edit::read(&text, &self.spec).ok())
    }
}

/// The last `Key: value` trailer of that key in a commit message.
pub fn trailer(message: &str, key: &str) -> Option<String> {
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_are_read_from_the_message() {
        let m = "deploy api to prod: a → b\n\nbody\n\nShipit-Commit: 3f2c1ab\nShipit-Deployer: ann on ci\n";
        assert_eq!(trailer(m, TRAILER_COMMIT).as_deref(), Some("3f2c1ab"));
        assert_eq!(trailer(m, TRAILER_DEPLOYER).as_deref(), Some("ann on ci"));
        assert_eq!(trailer(m, TRAILER_DIGEST), None);
    }
}
