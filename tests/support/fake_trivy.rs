//! A stand-in `trivy` for scan tests that need a given report or a given failure: a shell script that records
//! its arguments, logs like trivy does on stderr, and then prints a fixture or fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub struct FakeTrivy {
    _dir: tempfile::TempDir,
    /// Point SHIPIT_TRIVY here.
    pub path: PathBuf,
    args_file: PathBuf,
}

impl FakeTrivy {
    /// A trivy that prints `report` (a Trivy JSON file) on stdout and exits 0.
    pub fn emitting(report: &Path) -> FakeTrivy {
        let report = report.canonicalize().unwrap_or_else(|e| panic!("fixture {}: {e}", report.display()));
        FakeTrivy::with_body(&format!(
            "printf '2026-01-01T00:00:00Z\\tINFO\\t[vuln] Vulnerability scanning is enabled\\n' >&2\n\
             printf '2026-01-01T00:00:00Z\\tINFO\\tDetected OS\\tfamily=\"debian\" version=\"10.1\"\\n' >&2\n\
             cat '{}'\n",
            report.display()
        ))
    }

    /// A trivy that writes `stderr` and exits with `code`.
    pub fn failing(code: i32, stderr: &str) -> FakeTrivy {
        let dir = tempfile::tempdir().unwrap();
        let msg = dir.path().join("stderr.txt");
        std::fs::write(&msg, stderr).unwrap();
        FakeTrivy::in_dir(dir, &format!("cat '{}' >&2\nexit {code}\n", msg.display()))
    }

    fn with_body(body: &str) -> FakeTrivy {
        FakeTrivy::in_dir(tempfile::tempdir().unwrap(), body)
    }

    fn in_dir(dir: tempfile::TempDir, body: &str) -> FakeTrivy {
        let path = dir.path().join("trivy");
        let args_file = dir.path().join("args.txt");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{args}'\n\
             if [ \"$1\" = \"--version\" ]; then echo 'Version: 0.0.0-fake'; exit 0; fi\n{body}",
            args = args_file.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeTrivy { _dir: dir, path, args_file }
    }

    pub fn was_run(&self) -> bool {
        self.args_file.exists()
    }

    /// The arguments of the last run, one per element.
    pub fn args(&self) -> Vec<String> {
        std::fs::read_to_string(&self.args_file)
            .unwrap_or_else(|e| panic!("fake trivy was not run ({e})"))
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// `tests/fixtures/trivy`: real Trivy reports (see its README.md).
pub fn fixtures_dir() -> PathBuf {
    super::env::fixtures_dir().join("trivy")
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}
