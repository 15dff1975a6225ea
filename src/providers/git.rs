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
