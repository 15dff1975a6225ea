//! The local git repository, through libgit2 (never by parsing `git` output).

use std::path::{Path, PathBuf};

use git2::Repository;

pub fn open(dir: &Path) -> Result<Repository, git2::Error> {
    Repository::discover(dir)
}

/// The working-tree root of the repository containing `dir`.
pub fn toplevel(dir: &Path) -> Option<PathBuf> {
    open(dir).ok()?.workdir().map(Path::to_path_buf)
}

pub fn remote_url(dir: &Path, name: &str) -> Option<String> {
    let repo = open(dir).ok()?;
    let remote = repo.find_remote(name).ok()?;
    remote.url().map(str::to_string)
}

/// `(owner, repo)` of a GitHub remote URL in any of its usual forms.
pub fn github_slug(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("git@github.com:")
        .or_else(|| url.strip_prefix("ssh://git@github.com/"))
        .or_else(|| url.strip_prefix("https://github.com/"))
        .or_else(|| url.strip_prefix("http://github.com/"))
        .or_else(|| url.strip_prefix("git://github.com/"))?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let (owner, repo) = rest.split_once('/')?;
    if owner.is_empty() || repo.is_empty() || repo.contains('/') {
        return None;
    }
    Some((owner.to_string(), repo.to_string()))
}

#[cfg(test)]
mod tests {
    use super::github_slug;

    #[test]
    fn parses_github_remotes() {
        let want = Some(("acme".to_string(), "api".to_string()));
        assert_eq!(github_slug("git@github.com:acme/api.git"), want);
        assert_eq!(github_slug("https://github.com/acme/api"), want);
        assert_eq!(github_slug("https://github.com/acme/api.git/"), want);
        assert_eq!(github_slug("ssh://git@github.com/acme/api.git"), want);
        assert_eq!(github_slug("https://gitlab.com/acme/api"), None);
        assert_eq!(github_slug("https://github.com/acme"), None);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0} is not inside a git repository")]
    NotARepo(PathBuf),
    #[error("the repository has no commits yet")]
    NoCommits,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

impl From<GitError> for crate::error::CliError {
    fn from(e: GitError) -> Self {
        let hint = match &e {
            GitError::NotARepo(_) => "shipit identifies a release by its commit: run it inside a git repository",
            GitError::NoCommits => "commit something first (`git commit`)",
            GitError::Git(_) => "check the repository with `git status`",
        };
        crate::error::CliError::failure(e.to_string()).hint(hint)
    }
}

/// HEAD as a release sees it: SHA, branch, author, the tag on it, and whether the tree is dirty.
pub fn head_commit(dir: &Path) -> Result<crate::release::Commit, GitError> {
    let repo = open(dir).map_err(|_| GitError::NotARepo(dir.to_path_buf()))?;
    let head = repo.head().map_err(|_| GitError::NoCommits)?;
    let commit = head.peel_to_commit().map_err(|_| GitError::NoCommits)?;
    let sha = commit.id().to_string();
    let branch = head.is_branch().then(|| head.shorthand().map(str::to_string)).flatten();
    let author = commit.author().name().map(str::to_string);
    let message = commit.summary().map(str::to_string);
    let tag = tag_at(&repo, commit.id());
    Ok(crate::release::Commit {
        short_sha: sha[..12].to_string(),
        sha,
        branch,
        author,
        message,
        tag,
        dirty: !dirty_paths(&repo)?.is_empty(),
    })
}

fn tag_at(repo: &Repository, id: git2::Oid) -> Option<String> {
    let mut found = None;
    repo.tag_foreach(|oid, name| {
        let target = repo.find_object(oid, None).ok().and_then(|o| o.peel_to_commit().ok()).map(|c| c.id());
        if target == Some(id) {
            found = std::str::from_utf8(name).ok().and_then(|n| n.strip_prefix("refs/tags/")).map(str::to_string);
            return false;
        }
        true
    })
    .ok();
    found
}

/// Paths with uncommitted changes, untracked files included (ignored files are not).
pub fn dirty_paths(repo: &Repository) -> Result<Vec<String>, git2::Error> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
    let statuses = repo.statuses(Some(&mut opts))?;
    Ok(statuses.iter().filter_map(|s| s.path().map(str::to_string)).collect())
}

/// What is uncommitted, as `git status --short` would label it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirtyEntry {
    pub path: String,
    /// `modified`, `new`, `deleted`, `renamed`, `untracked`, `conflicted`, `type changed`.
    pub state: &'static str,
}

pub fn dirty_entries(repo: &Repository) -> Result<Vec<DirtyEntry>, git2::Error> {
    use git2::Status;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).renames_head_to_index(true);
    let statuses = repo.statuses(Some(&mut opts))?;
    let mut out = Vec::new();
    for s in statuses.iter() {
        let Some(path) = s.path() else { continue };
        let st = s.status();
        let state = if st.contains(Status::CONFLICTED) {
            "conflicted"
        } else if st.contains(Status::WT_NEW) {
            "untracked"
        } else if st.intersects(Status::INDEX_NEW) {
            "new"
        } else if st.intersects(Status::INDEX_DELETED | Status::WT_DELETED) {
            "deleted"
        } else if st.intersects(Status::INDEX_RENAMED | Status::WT_RENAMED) {
            "renamed"
        } else if st.intersects(Status::INDEX_TYPECHANGE | Status::WT_TYPECHANGE) {
            "type changed"
        } else {
            "modified"
        };
        out.push(DirtyEntry { path: path.to_string(), state });
    }
    Ok(out)
}

/// Where HEAD stands relative to what has been pushed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Upstream {
    /// On a branch that tracks `name` (e.g. `origin/main`).
    Tracking { branch: String, name: String, ahead: usize, behind: usize },
    /// On a branch with no upstream configured (never pushed with `-u`).
    NoUpstream { branch: String },
    /// Detached HEAD (a CI checkout of a SHA, a bisect): the remote-tracking branches that contain it.
    Detached { containing: Vec<String> },
}

pub fn upstream(repo: &Repository) -> Result<Upstream, GitError> {
    let head = repo.head().map_err(|_| GitError::NoCommits)?;
    let head_id = head.peel_to_commit().map_err(|_| GitError::NoCommits)?.id();
    if !head.is_branch() {
        return Ok(Upstream::Detached { containing: remote_branches_containing(repo, head_id)? });
    }
    let branch_name = head.shorthand().unwrap_or("HEAD").to_string();
    let branch = git2::Branch::wrap(head);
    let up = match branch.upstream() {
        Ok(up) => up,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Upstream::NoUpstream { branch: branch_name }),
        Err(e) => return Err(e.into()),
    };
    let name = up.name().ok().flatten().unwrap_or("upstream").to_string();
    let up_id = up.get().peel_to_commit()?.id();
    let (ahead, behind) = repo.graph_ahead_behind(head_id, up_id)?;
    Ok(Upstream::Tracking { branch: branch_name, name, ahead, behind })
}

/// Remote-tracking branches (`origin/main`) whose history contains `id`.
pub fn remote_branches_containing(repo: &Repository, id: git2::Oid) -> Result<Vec<String>, GitError> {
    let mut out = Vec::new();
    for b in repo.branches(Some(git2::BranchType::Remote))? {
        let (b, _) = b?;
        // `origin/HEAD` is a symbolic alias of another remote branch.
        if b.get().symbolic_target().is_some() {
            continue;
        }
        let Some(name) = b.name().ok().flatten().map(str::to_string) else { continue };
        let Ok(tip) = b.get().peel_to_commit() else { continue };
        if tip.id() == id || repo.graph_descendant_of(tip.id(), id)? {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Branch name without its remote (`origin/release/1.2` → `release/1.2`).
pub fn strip_remote<'a>(repo: &Repository, remote_branch: &'a str) -> &'a str {
    if let Ok(remotes) = repo.remotes() {
        for r in remotes.iter().flatten() {
            if let Some(rest) = remote_branch.strip_prefix(r).and_then(|s| s.strip_prefix('/')) {
                return rest;
            }
        }
    }
    remote_branch.split_once('/').map(|(_, b)| b).unwrap_or(remote_branch)
}

/// Does `branch` match any of the globs (`main`, `release/*`)? `*` does not cross `/`, as in git's refspecs.
pub fn branch_matches(branch: &str, globs: &[&str]) -> Result<bool, globset::Error> {
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        set.add(globset::GlobBuilder::new(g).literal_separator(true).build()?);
    }
    Ok(set.build()?.is_match(branch))
}

#[cfg(test)]
mod branch_tests {
    use super::branch_matches;

    #[test]
    fn globs() {
        assert!(branch_matches("main", &["main"]).unwrap());
        assert!(branch_matches("release/1.2", &["main", "release/*"]).unwrap());
        assert!(!branch_matches("release/1.2/hotfix", &["release/*"]).unwrap());
        assert!(branch_matches("release/1.2/hotfix", &["release/**"]).unwrap());
        assert!(!branch_matches("feature/x", &["main", "release/*"]).unwrap());
        assert!(branch_matches("hotfix-7", &["hotfix-*"]).unwrap());
    }
}

/// One commit as the approval screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommitInfo {
    pub sha: String,
    pub subject: String,
    pub author: String,
    /// RFC 3339, the author date.
    pub date: String,
}

fn info(c: &git2::Commit<'_>) -> CommitInfo {
    let when = c.author().when();
    let date = chrono::DateTime::from_timestamp(when.seconds(), 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    CommitInfo {
        sha: c.id().to_string(),
        subject: c.summary().unwrap_or("").to_string(),
        author: c.author().name().unwrap_or("?").to_string(),
        date,
    }
}

/// `sha` from the local history, if it is there.
pub fn commit_info(dir: &Path, sha: &str) -> Option<CommitInfo> {
    let repo = open(dir).ok()?;
    let id = git2::Oid::from_str(sha).ok()?;
    repo.find_commit(id).ok().map(|c| info(&c))
}

/// How two commits of the local history relate, with the commits between them, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Between {
    Same,
    /// `to` descends from `from`: `commits` are new in `to`.
    Ahead {
        count: usize,
        commits: Vec<CommitInfo>,
    },
    /// `from` descends from `to` (a rollback): `commits` are the ones being taken away.
    Behind {
        count: usize,
        commits: Vec<CommitInfo>,
    },
    /// Neither contains the other.
    Diverged {
        ahead: usize,
        behind: usize,
        commits: Vec<CommitInfo>,
    },
}

/// Where `to` stands relative to `from`; `None` when either is not in the local history. At most `limit`
/// commits are listed (the counts are exact).
pub fn between(dir: &Path, from: &str, to: &str, limit: usize) -> Option<Between> {
    let repo = open(dir).ok()?;
    let (a, b) = (git2::Oid::from_str(from).ok()?, git2::Oid::from_str(to).ok()?);
    repo.find_commit(a).ok()?;
    repo.find_commit(b).ok()?;
    if a == b {
        return Some(Between::Same);
    }
    let (ahead, behind) = repo.graph_ahead_behind(b, a).ok()?;
    let list = |push: git2::Oid, hide: git2::Oid| -> Option<Vec<CommitInfo>> {
        let mut walk = repo.revwalk().ok()?;
        walk.push(push).ok()?;
        walk.hide(hide).ok()?;
        Some(walk.take(limit).filter_map(|id| repo.find_commit(id.ok()?).ok()).map(|c| info(&c)).collect())
    };
    Some(match (ahead, behind) {
        (n, 0) => Between::Ahead { count: n, commits: list(b, a)? },
        (0, n) => Between::Behind { count: n, commits: list(a, b)? },
        (ahead, behind) => Between::Diverged { ahead, behind, commits: list(b, a)? },
    })
}
