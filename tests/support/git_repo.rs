//! Real git repositories for tests: a working repository with a bare "remote" next to it, made with the git CLI
//! (isolated from the developer's own git config).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Repo {
    pub dir: tempfile::TempDir,
}

/// Run git in `dir` with a fixed identity and no global/system config; returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Shipit Test", "-c", "user.email=test@shipit.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap_or_else(|e| panic!("run git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Repo {
    /// `work/` on branch main with ship.toml committed and pushed to `remote.git` (upstream set).
    pub fn with_ship_toml(ship_toml: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let remote = dir.path().join("remote.git");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&remote).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        git(&remote, &["init", "-q", "--bare", "-b", "main"]);
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("ship.toml"), ship_toml).unwrap();
        std::fs::write(work.join("README.md"), "# api\n").unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "initial commit"]);
        git(&work, &["remote", "add", "origin", remote.to_str().unwrap()]);
        git(&work, &["push", "-q", "-u", "origin", "main"]);
        Repo { dir }
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.work(), args)
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let p = self.work().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, contents).unwrap();
    }

    /// Write a file and commit it; returns the new HEAD SHA.
    pub fn commit(&self, rel: &str, contents: &str, message: &str) -> String {
        self.write(rel, contents);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Replace ship.toml, commit and push, so the tree stays clean and pushed.
    pub fn set_ship_toml(&self, ship_toml: &str) -> String {
        let sha = self.commit("ship.toml", ship_toml, "update ship.toml");
        self.git(&["push", "-q"]);
        sha
    }

    /// `shipit` in the working repository.
    pub fn shipit(&self) -> assert_cmd::Command {
        super::cli::shipit_in(&self.work())
    }
}
