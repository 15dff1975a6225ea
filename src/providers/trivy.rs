//! The Trivy scanner, run as a binary.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrivyError {
    #[error("trivy is not installed (not found on PATH)")]
    NotFound,
    #[error("cannot run {path}: {detail}")]
    Run { path: PathBuf, detail: String },
}

pub const INSTALL_HINT: &str = "install Trivy (https://trivy.dev/latest/getting-started/installation/: apt, brew or the release binary), put it on PATH or set SHIPIT_TRIVY=/path/to/trivy";

/// SHIPIT_TRIVY, else `trivy` on PATH.
pub fn locate() -> Result<PathBuf, TrivyError> {
    if let Some(p) = std::env::var_os("SHIPIT_TRIVY").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    which::which("trivy").map_err(|_| TrivyError::NotFound)
}

/// `trivy --version`'s first line, e.g. "Version: 0.76.0".
pub async fn version(path: &PathBuf) -> Result<String, TrivyError> {
    let out = tokio::process::Command::new(path)
        .arg("--version")
        .output()
        .await
        .map_err(|e| TrivyError::Run { path: path.clone(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(TrivyError::Run {
            path: path.clone(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| text.lines().next().unwrap_or_default().trim().to_string()))
}
