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
    /// `.shipit/releases/<sha>.json`: the record of the commit's latest push, whatever the registry (what
    /// `for_commit` reads).
    pub fn path(root: &Path, sha: &str) -> PathBuf {
        dir(root).join(format!("{sha}.json"))
    }

    /// `.shipit/releases/<sha>@<registry>.json`: one record per registry the commit was pushed to, so a push
    /// to a second registry (ECR for ECS, GHCR for Kubernetes) keeps the first one's record.
    pub fn registry_path(root: &Path, sha: &str, registry: &str) -> PathBuf {
        dir(root).join(format!("{sha}@{registry}.json"))
    }

    /// Write both the per-registry record and the commit's latest one, each atomically: a crash mid-write
    /// must not leave a half record that a later deploy trusts.
    pub fn save(&self, root: &Path) -> Result<PathBuf, CliError> {
        let path = Release::path(root, &self.commit.sha);
        let fail = |p: &Path, e: &dyn std::fmt::Display| {
            CliError::failure(format!("cannot write the release record {}: {e}", p.display()))
        };
        let dir = ensure_dir(root).map_err(|e| fail(&path, &e))?;
        for target in [Release::registry_path(root, &self.commit.sha, &self.registry), path.clone()] {
            let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail(&target, &e))?;
            serde_json::to_writer_pretty(&mut tmp, self).map_err(|e| fail(&target, &e))?;
            tmp.persist(&target).map_err(|e| fail(&target, &e.error))?;
        }
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

    /// The record of the commit's latest push, if this machine pushed it.
    pub fn for_commit(root: &Path, sha: &str) -> Option<Release> {
        let path = Release::path(root, sha);
        path.exists().then(|| Release::load(&path).ok()).flatten()
    }

    /// The record of the commit's push to one registry (records written before per-registry records
    /// existed are found through the latest one).
    pub fn for_commit_in(root: &Path, sha: &str, registry: &str) -> Option<Release> {
        let path = Release::registry_path(root, sha, registry);
        if path.exists() {
            return Release::load(&path).ok();
        }
        Release::for_commit(root, sha).filter(|r| r.registry == registry)
    }

    /// Every registry's record of the commit, by registry name.
    pub fn all_for_commit(root: &Path, sha: &str) -> Vec<Release> {
        let prefix = format!("{sha}@");
        let mut out: Vec<Release> = std::fs::read_dir(dir(root))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.starts_with(&prefix) && n.ends_with(".json")
            })
            .filter_map(|e| Release::load(&e.path()).ok())
            .collect();
        if out.is_empty() {
            out.extend(Release::for_commit(root, sha));
        }
        out.sort_by(|a, b| a.registry.cmp(&b.registry));
        out
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

    fn release(registry: &str, digest: char) -> Release {
        Release {
            app: "api".into(),
            commit: Commit {
                sha: "3f2c1ab4d5e6f708192a3b4c5d6e7f8091a2b3c4".into(),
                short_sha: "3f2c1ab4d5e6".into(),
                branch: None,
                author: None,
                message: None,
                tag: None,
                dirty: false,
            },
            registry: registry.into(),
            image: ImageRef {
                repository: format!("{registry}.example/api"),
                digest: format!("sha256:{}", digest.to_string().repeat(64)),
            },
            tags: vec![],
            created: Utc::now(),
            durations: BTreeMap::new(),
            scan: None,
        }
    }

    #[test]
    fn one_record_per_registry() {
        let tmp = tempfile::tempdir().unwrap();
        let sha = "3f2c1ab4d5e6f708192a3b4c5d6e7f8091a2b3c4";
        release("ecr", 'a').save(tmp.path()).unwrap();
        release("ghcr", 'b').save(tmp.path()).unwrap();
        assert_eq!(Release::for_commit(tmp.path(), sha).unwrap().registry, "ghcr", "the latest push");
        assert_eq!(Release::for_commit_in(tmp.path(), sha, "ecr").unwrap().image.repository, "ecr.example/api");
        assert_eq!(Release::for_commit_in(tmp.path(), sha, "ghcr").unwrap().image.repository, "ghcr.example/api");
        assert!(Release::for_commit_in(tmp.path(), sha, "other").is_none());
        let all: Vec<String> = Release::all_for_commit(tmp.path(), sha).into_iter().map(|r| r.registry).collect();
        assert_eq!(all, vec!["ecr", "ghcr"]);

        // A record from before per-registry records: found through the latest one.
        let old = tempfile::tempdir().unwrap();
        ensure_dir(old.path()).unwrap();
        std::fs::write(Release::path(old.path(), sha), serde_json::to_string(&release("ecr", 'a')).unwrap()).unwrap();
        assert!(Release::for_commit_in(old.path(), sha, "ecr").is_some());
        assert_eq!(Release::all_for_commit(old.path(), sha).len(), 1);
    }
}
