//! The release record: what was built and pushed, identified by its digest. Written by `build`/`push`
//! (`.shipit/releases/<sha>.json` next to ship.toml), read by scan, approval and deploy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::CliError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Commit {
    pub sha: String,
    pub short_sha: String,
    pub branch: Option<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Tag pointing at HEAD, if any (becomes `{version}` and the OCI version label).
    pub tag: Option<String>,
    pub dirty: bool,
}

/// An image as pushed: the repository deploys pull from, and the manifest digest the registry returned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRef {
    /// `ghcr.io/acme/api` — no tag, no digest.
    pub repository: String,
    /// `sha256:…`
    pub digest: String,
}

impl ImageRef {
    /// `repository@sha256:…` — the only form shipit ever deploys.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }

    /// Split `repo@sha256:…` (a tag before the `@` is dropped: the digest wins).
    pub fn parse_pinned(image: &str) -> Option<ImageRef> {
        let (repo, digest) = image.split_once('@')?;
        let hex = digest.strip_prefix("sha256:")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let repo = match repo.rsplit_once(':') {
            Some((r, tag)) if !tag.contains('/') => r,
            _ => repo,
        };
        Some(ImageRef { repository: repo.to_string(), digest: digest.to_string() })
    }

    pub fn short_digest(&self) -> String {
        short_digest(&self.digest)
    }
}

/// `sha256:9b1e2f3a4b5c` — enough to recognise, short enough for a table.
pub fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", hex.chars().take(12).collect::<String>())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScanSummary {
    pub passed: bool,
    /// Counts by severity of findings that were not excepted.
    pub counts: BTreeMap<String, usize>,
    pub blocking: usize,
    pub allowed: usize,
    pub exceptions_used: Vec<String>,
    /// Set when the scan was skipped with `--skip-scan --reason`.
    pub skipped_reason: Option<String>,
    /// Path of the full Trivy report saved next to the record.
    pub report: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Release {
    pub app: String,
    pub commit: Commit,
    /// Registry name in ship.toml.
    pub registry: String,
    pub image: ImageRef,
    /// Tags pushed along with the digest.
    pub tags: Vec<String>,
    pub created: DateTime<Utc>,
    /// Seconds spent per stage ("build", "push", …).
    #[serde(default)]
    pub durations: BTreeMap<String, f64>,
    #[serde(default)]
    pub scan: Option<ScanSummary>,
}

pub fn dir(root: &Path) -> PathBuf {
    root.join(".shipit").join("releases")
}

/// Create the releases directory and keep `.shipit/` out of `git status` (and so out of the commit check's
/// "clean") with a `.gitignore` inside it, without touching the repository's own .gitignore, as Cargo does
/// for target/. Every writer of shipit's local state goes through here.
pub fn ensure_dir(root: &Path) -> std::io::Result<PathBuf> {
    let dir = dir(root);
    std::fs::create_dir_all(&dir)?;
    let ignore = root.join(".shipit").join(".gitignore");
    if !ignore.exists() {
        std::fs::write(ignore, "# shipit's local state (release records, scan reports)\n*\n")?;
    }
    Ok(dir)
}

impl Release {
    pub fn path(root: &Path, sha: &str) -> PathBuf {
        dir(root).join(format!("{sha}.json"))
    }

    /// Write atomically: a crash mid-write must not leave a half record that a later deploy trusts.
    pub fn save(&self, root: &Path) -> Result<PathBuf, CliError> {
        let path = Release::path(root, &self.commit.sha);
        let fail = |e: &dyn std::fmt::Display| {
            CliError::failure(format!("cannot write the release record {}: {e}", path.display()))
        };
        let dir = ensure_dir(root).map_err(|e| fail(&e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail(&e))?;
        serde_json::to_writer_pretty(&mut tmp, self).map_err(|e| fail(&e))?;
        tmp.persist(&path).map_err(|e| fail(&e.error))?;
        Ok(path)
    }

    pub fn load(path: &Path) -> Result<Release, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("cannot read release record {}: {e}", path.display()))
                .hint("run `shipit push` (or `shipit ship`) to build and push this commit first")
        })?;
        serde_json::from_str(&text).map_err(|e| {
            CliError::usage(format!("release record {} is damaged: {e}", path.display()))
                .hint("delete it and run `shipit push` again")
        })
    }

    /// The record for a commit, if this machine pushed it.
    pub fn for_commit(root: &Path, sha: &str) -> Option<Release> {
        let path = Release::path(root, sha);
        path.exists().then(|| Release::load(&path).ok()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_references() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse_pinned(&format!("ghcr.io/acme/api:v1@{d}")).unwrap();
        assert_eq!(r.repository, "ghcr.io/acme/api");
        assert_eq!(r.pinned(), format!("ghcr.io/acme/api@{d}"));
        let r = ImageRef::parse_pinned(&format!("127.0.0.1:5000/api@{d}")).unwrap();
        assert_eq!(r.repository, "127.0.0.1:5000/api");
        assert!(ImageRef::parse_pinned("ghcr.io/acme/api:latest").is_none());
        assert!(ImageRef::parse_pinned("ghcr.io/acme/api@sha256:short").is_none());
        assert!(ImageRef::parse_pinned(&format!("r@sha256:{}é", "a".repeat(62))).is_none());
        assert_eq!(short_digest("sha256:éééééééééééééé"), "sha256:éééééééééééé");
        assert_eq!(crate::deploy::meta::short_commit("ééééééééé"), "ééééééé");
        assert_eq!(short_digest(&d), "sha256:aaaaaaaaaaaa");
    }
}
