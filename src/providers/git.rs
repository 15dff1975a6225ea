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
