//! Running the real `shipit` binary in a scratch directory, with an environment that the developer's own
//! machine cannot leak into (no SHIPIT_*, no CI, no colours).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// `shipit` with cwd = this directory and a clean environment.
    pub fn shipit(&self) -> Command {
        shipit_in(self.path())
    }

    pub fn shipit_std(&self) -> std::process::Command {
        std_command(self.path())
    }

    /// Replace this directory's path in `text` with `[DIR]` so snapshots are stable.
    pub fn redact(&self, text: &str) -> String {
        let real = self.path().canonicalize().unwrap_or_else(|_| self.path().to_path_buf());
        text.replace(&real.display().to_string(), "[DIR]").replace(&self.path().display().to_string(), "[DIR]")
    }
}

pub fn shipit_in(dir: &Path) -> Command {
    Command::from_std(std_command(dir))
}

/// The same as [`shipit_in`], as a plain `std::process::Command` (for spawning and signalling).
pub fn std_command(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shipit"));
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("SHIPIT_") || k.starts_with("GITHUB_") || k == "GH_TOKEN" || k == "CI" || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1").env("SHIPIT_DEPLOYER", "test-runner");
    cmd
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).to_string()
}

pub fn describe(out: &Output) -> String {
    format!("exit: {:?}\n--- stdout\n{}\n--- stderr\n{}", out.status.code(), text(&out.stdout), text(&out.stderr))
}
