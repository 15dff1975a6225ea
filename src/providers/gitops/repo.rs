//! The config repository through git: a private bare repository in a temporary directory that fetches what
//! shipit needs (the base branch, the lock ref, the failure marks), builds commits with libgit2 (the file's new
//! bytes exactly as the edit made them, no working tree, no checkout), and pushes them.
//!
//! Transport is the `git` program, not libgit2: shipit's libgit2 is built without network transports (they
//! would bring OpenSSL), and the `git` program is what already knows the user's credentials — credential
//! helpers, SSH keys and agents, `url.<base>.insteadOf`, proxies. Every push is a compare-and-swap:
//! `--force-with-lease=<ref>:<expected>` (an empty expectation means "the ref must not exist"), so a branch
//! that moved, or a lock someone else took, is reported as such and never overwritten.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use git2::{ObjectType, Oid, Repository, Signature};

use super::GitOpsError;

/// How long one fetch or push may take before it counts as hung.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct ConfigRepo {
    /// What `git fetch`/`git push` are given: a URL, `host:path`, or a local path.
    pub url: String,
    dir: tempfile::TempDir,
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    Done,
    /// The ref was not where we expected (moved on, already exists, already gone): nothing was changed.
    Stale(String),
}

/// Where the remote ref must be for a push to apply.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// It must not exist yet.
    Absent,
    At(Oid),
}

impl ConfigRepo {
    pub fn open(url: &str) -> Result<ConfigRepo, GitOpsError> {
        let dir = tempfile::Builder::new()
            .prefix("shipit-gitops-")
            .tempdir()
            .map_err(|e| GitOpsError::Local(format!("cannot create a temporary directory: {e}")))?;
        Repository::init_bare(dir.path()).map_err(|e| GitOpsError::Local(format!("git init: {e}")))?;
        Ok(ConfigRepo { url: url.to_string(), dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn repository(&self) -> Result<Repository, GitOpsError> {
        Repository::open_bare(self.path())
            .map_err(|e| GitOpsError::Local(format!("open {}: {e}", self.path().display())))
    }

    /// Fetch `refspecs` (`+src:dst`), pruning local refs the remote no longer has under glob destinations.
    pub fn fetch(&self, refspecs: &[String]) -> Result<(), GitOpsError> {
        let mut args: Vec<String> =
            ["fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head"].map(String::from).to_vec();
        args.push(self.url.clone());
        args.extend(refspecs.iter().cloned());
        let out = self.git(&args)?;
        if out.ok {
            return Ok(());
        }
        if out.stderr.contains("couldn't find remote ref") {
            return Err(GitOpsError::NoBranch { url: self.url.clone(), detail: out.stderr });
        }
        Err(self.transport("fetch from", out.stderr))
    }

    /// Push `src` (a commit, or `None` to delete) to `dst` if the remote ref is where `expect` says.
    pub fn push(&self, src: Option<Oid>, dst: &str, expect: Expect) -> Result<Pushed, GitOpsError> {
        let lease = match expect {
            Expect::Absent => format!("--force-with-lease={dst}:"),
            Expect::At(oid) => format!("--force-with-lease={dst}:{oid}"),
        };
        let spec = match src {
            Some(oid) => format!("{oid}:{dst}"),
            None => format!(":{dst}"),
        };
        let args: Vec<String> = vec!["push".into(), "--porcelain".into(), lease, self.url.clone(), spec];
        let out = self.git(&args)?;
        // `--porcelain`: one line per ref, `<flag>\t<from>:<to>\t<summary>`; `!` is a rejection.
        let line = out.stdout.lines().find(|l| l.contains(dst)).unwrap_or_default().to_string();
        if out.ok && !line.starts_with('!') {
            return Ok(Pushed::Done);
        }
        let summary = line.split('\t').nth(2).unwrap_or_default().to_string();
        if summary.contains("stale info")
            || summary.contains("non-fast-forward")
            || summary.contains("fetch first")
            || summary.contains("already exists")
        {
            return Ok(Pushed::Stale(summary));
        }
        // Deleting a ref that is already gone.
        if src.is_none()
            && (out.stderr.contains("unable to delete") || out.stderr.contains("remote ref does not exist"))
        {
            return Ok(Pushed::Stale("already deleted".into()));
        }
        if summary.contains("remote rejected") || line.starts_with('!') {
            return Err(GitOpsError::PushRejected {
                url: self.url.clone(),
                reference: dst.to_string(),
                message: if summary.is_empty() { out.stderr.trim().to_string() } else { summary },
                detail: out.stderr.trim().to_string(),
            });
        }
        Err(self.transport("push to", out.stderr))
    }

    pub fn resolve(&self, local_ref: &str) -> Result<Option<Oid>, GitOpsError> {
        let repo = self.repository()?;
        match repo.refname_to_id(local_ref) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(GitOpsError::Local(format!("read {local_ref}: {e}"))),
        }
    }

    /// Local refs under `prefix` (e.g. `refs/shipit/failed/`), name → commit.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>, GitOpsError> {
        let repo = self.repository()?;
        let refs = repo.references_glob(&format!("{prefix}*")).map_err(local)?;
        let mut out = Vec::new();
        for r in refs.flatten() {
            if let (Some(name), Some(oid)) = (r.name(), r.target()) {
                out.push((name.to_string(), oid));
            }
        }
        Ok(out)
    }

    /// A new commit on `parent` in which `path` has `content` (and nothing else changed).
    pub fn commit_file(
        &self,
        parent: Oid,
        path: &str,
        content: &[u8],
        message: &str,
        author: &Signature,
    ) -> Result<Oid, GitOpsError> {
        let repo = self.repository()?;
        let parent = repo.find_commit(parent).map_err(local)?;
        let base = parent.tree().map_err(local)?;
        let mode = base.get_path(Path::new(path)).map(|e| e.filemode()).unwrap_or(0o100644);
        let blob = repo.blob(content).map_err(local)?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        update.upsert(path, blob, if mode == 0o100755 { git2::FileMode::BlobExecutable } else { git2::FileMode::Blob });
        let tree_id = update.create_updated(&repo, &base).map_err(local)?;
        let tree = repo.find_tree(tree_id).map_err(local)?;
        repo.commit(None, author, author, message, &tree, &[&parent]).map_err(local)
    }

    /// A commit with no parent holding one file: the lock record.
    pub fn commit_root(&self, name: &str, content: &[u8], message: &str) -> Result<Oid, GitOpsError> {
        let repo = self.repository()?;
        let blob = repo.blob(content).map_err(local)?;
        let mut tb = repo.treebuilder(None).map_err(local)?;
        tb.insert(name, blob, 0o100644).map_err(local)?;
        let tree = repo.find_tree(tb.write().map_err(local)?).map_err(local)?;
        let sig = signature();
        repo.commit(None, &sig, &sig, message, &tree, &[]).map_err(local)
    }

    /// The bytes of `path` at `commit`; `None` when the file is not there.
    pub fn file_at(&self, commit: Oid, path: &str) -> Result<Option<Vec<u8>>, GitOpsError> {
        let repo = self.repository()?;
        blob_at(&repo, commit, path)
    }

    fn git(&self, args: &[String]) -> Result<GitOutput, GitOpsError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(self.path()).args(args);
        // A credential prompt nobody can answer (CI, a pipe) must fail, not hang until the timeout.
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        let out = run(&mut cmd, GIT_TIMEOUT).map_err(|detail| GitOpsError::Git {
            url: self.url.clone(),
            what: format!("git {}", args.first().map(String::as_str).unwrap_or_default()),
            detail,
        })?;
        Ok(GitOutput {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    fn transport(&self, what: &str, stderr: String) -> GitOpsError {
        GitOpsError::Git { url: self.url.clone(), what: format!("{what} {}", self.url), detail: stderr }
    }
}

/// Run git with a timeout. Unlike `process::run`, the first signal does not kill it (only a second one, outside
/// a critical section): after Ctrl-C the engine still reads what the branch pins and releases the deploy lock
/// with git, and a lock left behind would hold up the next deploy until it expires.
fn run(cmd: &mut Command, timeout: Duration) -> Result<std::process::Output, String> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    // Drained on threads: git filling a pipe buffer would otherwise never exit.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("waiting for it failed: {e}"))? {
            break status;
        }
        let stop = if crate::interrupt::abort_requested() {
            Some("interrupted".to_string())
        } else if std::time::Instant::now() >= deadline {
            Some(format!("it did not finish within {}s and was killed", timeout.as_secs()))
        } else {
            None
        };
        if let Some(why) = stop {
            let _ = child.kill();
            let _ = child.wait();
            return Err(why);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(std::process::Output { status, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() })
}

struct GitOutput {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn local(e: git2::Error) -> GitOpsError {
    GitOpsError::Local(e.to_string())
}

pub fn blob_at(repo: &Repository, commit: Oid, path: &str) -> Result<Option<Vec<u8>>, GitOpsError> {
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(local)?;
    let entry = match tree.get_path(Path::new(path)) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(local(e)),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repo.find_blob(entry.id()).map_err(local)?;
    Ok(Some(blob.content().to_vec()))
}

/// The id of `path`'s blob at `commit` (to see cheaply whether a commit touched the file).
pub fn blob_id(commit: &git2::Commit<'_>, path: &str) -> Option<Oid> {
    let tree = commit.tree().ok()?;
    tree.get_path(Path::new(path)).ok().map(|e| e.id())
}

/// Who commits: the git identity configured for the user (`user.name`, `user.email`), else `shipit`.
pub fn signature() -> Signature<'static> {
    let config = git2::Config::open_default().ok();
    let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok()).filter(|v| !v.trim().is_empty());
    let name = get("user.name").unwrap_or_else(|| "shipit".into());
    let email = get("user.email").unwrap_or_else(|| "shipit@localhost".into());
    Signature::now(&name, &email)
        .or_else(|_| Signature::now("shipit", "shipit@localhost"))
        .expect("a fixed ASCII name and email always make a signature")
}

/// `repository` from ship.toml as something `git` can fetch: `OWNER/NAME` is a GitHub repository, anything
/// else (a URL, `host:path`, an absolute path) is given to git as it is.
pub fn remote_url(repository: &str, github_web: &str) -> String {
    if is_github_slug(repository) {
        return format!("{}/{repository}.git", github_web.trim_end_matches('/'));
    }
    repository.to_string()
}

/// `acme/deploy`: two non-empty parts, no scheme, not a path (the same rule validation applies).
pub fn is_github_slug(repository: &str) -> bool {
    crate::config::targets::gitops_github_slug(repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_become_git_urls() {
        assert!(is_github_slug("acme/deploy"));
        assert!(!is_github_slug("/srv/git/deploy.git"));
        assert!(!is_github_slug("git@gitlab.com:acme/deploy.git"));
        assert!(!is_github_slug("https://gitlab.com/acme/deploy.git"));
        assert!(!is_github_slug("../deploy"));
        assert_eq!(remote_url("acme/deploy", "https://github.com"), "https://github.com/acme/deploy.git");
        assert_eq!(remote_url("/srv/git/deploy.git", "https://github.com"), "/srv/git/deploy.git");
    }
}
