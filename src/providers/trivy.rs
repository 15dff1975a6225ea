//! The Trivy scanner, run as a binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::error::CliError;
use crate::report::Reporter;

#[derive(Debug, thiserror::Error)]
pub enum TrivyError {
    #[error("trivy is not installed (not found on PATH)")]
    NotFound,
    #[error("cannot run {path}: {detail}")]
    Run { path: PathBuf, detail: String },
    #[error("trivy cannot find the image {image} in the local Docker engine")]
    ImageNotFound { image: String, stderr: String },
    #[error("trivy has no vulnerability database in {cache} and offline mode forbids downloading one")]
    NoDatabase { cache: String, stderr: String },
    #[error("trivy could not download its vulnerability database")]
    DbDownload { stderr: String },
    #[error("trivy did not finish within {0:?}")]
    Timeout(Duration),
    #[error("trivy failed (exit code {code})")]
    Failed { code: String, stderr: String },
    #[error("trivy's report is larger than {}; shipit stops reading there", crate::providers::limits::size(*limit))]
    ReportTooLarge { limit: usize },
}

pub const INSTALL_HINT: &str = "install Trivy (https://trivy.dev/latest/getting-started/installation/: apt, brew or the release binary), put it on PATH or set SHIPIT_TRIVY=/path/to/trivy";

impl From<TrivyError> for CliError {
    fn from(e: TrivyError) -> Self {
        let message = e.to_string();
        match e {
            TrivyError::NotFound => CliError::failure(message).hint(INSTALL_HINT),
            TrivyError::Run { .. } => {
                CliError::failure(message).hint("check that SHIPIT_TRIVY (or `trivy` on PATH) is an executable trivy binary")
            }
            TrivyError::ImageNotFound { stderr, .. } => CliError::failure(message)
                .detail(stderr)
                .hint("build it first (`shipit build`), or name the image to scan: `shipit scan IMAGE`")
                .hint("trivy reads the engine from DOCKER_HOST; check it points at the engine that built the image"),
            TrivyError::NoDatabase { stderr, .. } => CliError::failure(message)
                .detail(stderr)
                .hint("unset SHIPIT_TRIVY_OFFLINE to let trivy download its DB, or point TRIVY_CACHE_DIR at a cache that holds db/trivy.db"),
            TrivyError::DbDownload { stderr } => CliError::failure(message)
                .detail(stderr)
                .hint("allow access to mirror.gcr.io / ghcr.io, or pre-fill TRIVY_CACHE_DIR and set SHIPIT_TRIVY_OFFLINE=1")
                .hint("in an emergency: `shipit scan --skip-scan --reason \"…\"` (recorded in the release)"),
            TrivyError::Timeout(_) => CliError::failure(message)
                .hint("raise `scan.timeout` in ship.toml; the first scan of a large image is the slowest"),
            TrivyError::ReportTooLarge { .. } => CliError::failure(message)
                .hint("a report that large is not a scan of one image; check the image reference and the trivy version"),
            TrivyError::Failed { stderr, .. } => CliError::failure(message).detail(stderr).hint("run `shipit scan -v` to see trivy's full log"),
        }
    }
}

/// SHIPIT_TRIVY, else `trivy` on PATH.
pub fn locate() -> Result<PathBuf, TrivyError> {
    if let Some(p) = std::env::var_os(crate::env_vars::EnvVars::SHIPIT_TRIVY).filter(|p| !p.is_empty()) {
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

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ImageScan {
    /// A local image reference (`repo:tag` or an image id); read from the Docker engine, never pulled.
    pub image: String,
    /// Also run the secret scanner.
    pub secrets: bool,
    pub timeout: Duration,
    /// TRIVY_CACHE_DIR, passed as `--cache-dir` so the cache in use is visible in `-v` output.
    pub cache_dir: Option<PathBuf>,
    /// Never touch the network: use the DB already in the cache (SHIPIT_TRIVY_OFFLINE=1).
    pub offline: bool,
    /// `--format cyclonedx` (an SBOM of the image's packages) instead of trivy's JSON report.
    pub cyclonedx: bool,
}

impl ImageScan {
    pub fn new(image: impl Into<String>, secrets: bool, timeout: Duration) -> ImageScan {
        ImageScan {
            image: image.into(),
            secrets,
            timeout,
            cache_dir: std::env::var_os(crate::env_vars::EnvVars::TRIVY_CACHE_DIR)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            offline: std::env::var(crate::env_vars::EnvVars::SHIPIT_TRIVY_OFFLINE)
                .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
            cyclonedx: false,
        }
    }

    /// `neutral` is a directory holding the empty files `NEUTRAL_FILES` names.
    pub fn args(&self, neutral: &Path) -> Vec<String> {
        let format = if self.cyclonedx { "cyclonedx" } else { "json" };
        let mut args: Vec<String> = ["image", "--format", format, "--image-src", "docker"].map(String::from).to_vec();
        args.push("--scanners".into());
        args.push(if self.secrets { "vuln,secret" } else { "vuln" }.into());
        // The gate decides what blocks; trivy must report everything and never fail on findings itself, whatever
        // TRIVY_SEVERITY / TRIVY_EXIT_CODE the environment sets.
        args.extend(["--severity", "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL", "--exit-code", "0"].map(String::from));
        args.push("--timeout".into());
        args.push(format!("{}s", self.timeout.as_secs().max(1)));
        // A .trivyignore or trivy.yaml in the working directory would drop findings before the gate sees them
        // (no reason, no expiry): point trivy at empty ones so shipit's exception register is the only one.
        args.push("--ignorefile".into());
        args.push(neutral.join(NEUTRAL_IGNOREFILE).display().to_string());
        args.push("--config".into());
        args.push(neutral.join(NEUTRAL_CONFIG).display().to_string());
        if let Some(dir) = &self.cache_dir {
            args.push("--cache-dir".into());
            args.push(dir.display().to_string());
        }
        if self.offline {
            args.extend(["--skip-db-update", "--skip-java-db-update", "--offline-scan"].map(String::from));
        }
        args.push(self.image.clone());
        args
    }
}

const NEUTRAL_IGNOREFILE: &str = "trivyignore";
const NEUTRAL_CONFIG: &str = "trivy.yaml";

/// Environment variables that make trivy leave findings out of its report (the flags above cover the ignore
/// file and the config file; these have no flag to neutralise them), so they are not passed on.
pub const FILTER_VARS: &[&str] = &[
    crate::env_vars::EnvVars::TRIVY_IGNOREFILE,
    crate::env_vars::EnvVars::TRIVY_IGNORE_POLICY,
    crate::env_vars::EnvVars::TRIVY_IGNORE_UNFIXED,
    crate::env_vars::EnvVars::TRIVY_IGNORE_STATUS,
    crate::env_vars::EnvVars::TRIVY_VEX,
    crate::env_vars::EnvVars::TRIVY_CONFIG,
];

/// Run `trivy image` and return its JSON report as written. trivy's log lines become progress.
pub async fn scan_image(trivy: &Path, scan: &ImageScan, reporter: &dyn Reporter) -> Result<Vec<u8>, TrivyError> {
    let run_err = |e: std::io::Error| TrivyError::Run { path: trivy.to_path_buf(), detail: e.to_string() };
    let neutral = tempfile::Builder::new().prefix("shipit-trivy-").tempdir().map_err(run_err)?;
    std::fs::write(neutral.path().join(NEUTRAL_IGNOREFILE), b"").map_err(run_err)?;
    std::fs::write(neutral.path().join(NEUTRAL_CONFIG), b"").map_err(run_err)?;
    let args = scan.args(neutral.path());
    reporter.detail(&format!("{} {}", trivy.display(), args.join(" ")));
    let mut command = tokio::process::Command::new(trivy);
    for var in FILTER_VARS {
        if std::env::var_os(var).is_some() {
            reporter.line(&format!("not passing {var} to trivy: shipit's scan policy decides what is left out"));
            command.env_remove(var);
        }
    }
    let mut child = command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                TrivyError::Run { path: trivy.to_path_buf(), detail: "no such file".into() }
            }
            _ => TrivyError::Run { path: trivy.to_path_buf(), detail: e.to_string() },
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let limit = crate::providers::limits::MAX_TRIVY_REPORT_BYTES;
        (&mut stdout).take(limit as u64 + 1).read_to_end(&mut buf).await?;
        if buf.len() > limit {
            // Drain the rest so trivy can exit; the report is refused below.
            let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
        }
        Ok::<_, std::io::Error>(buf)
    });

    let run = async {
        let mut tail: Vec<String> = Vec::new();
        let mut warned: Vec<String> = Vec::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            reporter.detail(&line);
            match log_message(&line) {
                Some(Log::Progress(msg)) => reporter.status(&format!("trivy: {msg}")),
                Some(Log::Warning(msg)) if !warned.contains(&msg) => {
                    reporter.line(&format!("trivy warning: {msg}"));
                    warned.push(msg);
                }
                _ => {}
            }
            // A line is kept whole up to a limit: a log line of megabytes is not a message.
            tail.push(line.chars().take(2000).collect());
            if tail.len() > 40 {
                tail.remove(0);
            }
        }
        let status = child.wait().await;
        (status, tail)
    };
    // trivy has its own --timeout; this one is for a trivy that hangs before it even starts counting.
    let grace = scan.timeout + Duration::from_secs(30);
    let (status, tail) = tokio::time::timeout(grace, run).await.map_err(|_| TrivyError::Timeout(scan.timeout))?;
    let status = status.map_err(|e| TrivyError::Run { path: trivy.to_path_buf(), detail: e.to_string() })?;
    let stdout = reader
        .await
        .map_err(|e| TrivyError::Run { path: trivy.to_path_buf(), detail: e.to_string() })?
        .map_err(|e| TrivyError::Run { path: trivy.to_path_buf(), detail: e.to_string() })?;
    if stdout.len() > crate::providers::limits::MAX_TRIVY_REPORT_BYTES {
        return Err(TrivyError::ReportTooLarge { limit: crate::providers::limits::MAX_TRIVY_REPORT_BYTES });
    }
    if status.success() {
        return Ok(stdout);
    }
    let stderr = crate::providers::limits::log_tail(&tail.join("\n"));
    let code = status.code().map(|c| c.to_string()).unwrap_or_else(|| "killed by a signal".into());
    Err(classify(scan, code, stderr))
}

fn classify(scan: &ImageScan, code: String, stderr: String) -> TrivyError {
    let cache =
        || scan.cache_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "trivy's default cache".into());
    if stderr.contains("unable to find the specified image") || stderr.contains("No such image") {
        TrivyError::ImageNotFound { image: scan.image.clone(), stderr }
    } else if stderr.contains("cannot be specified on the first run") || stderr.contains("first run cannot skip") {
        TrivyError::NoDatabase { cache: cache(), stderr }
    } else if stderr.contains("failed to download vulnerability DB") {
        TrivyError::DbDownload { stderr }
    } else if stderr.contains("context deadline exceeded") {
        TrivyError::Timeout(scan.timeout)
    } else {
        TrivyError::Failed { code, stderr }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Log {
    /// A phase worth showing as the live status.
    Progress(String),
    Warning(String),
}

/// The phases of a scan as trivy logs them; its other INFO lines are advice ("try --scanners vuln") that only
/// `-v` shows.
const PROGRESS: &[&str] = &[
    "Downloading",
    "Need to update",
    "Detected OS",
    "Detecting",
    "Number of language-specific files",
    "Secret scanning",
];

/// trivy logs `2024-05-01T10:00:00Z\tINFO\t[vuln] Vulnerability scanning is enabled\tkey=value`; the message is
/// the third field. Lines without that shape (a wrapped error) are not progress.
fn log_message(line: &str) -> Option<Log> {
    let mut parts = line.split('\t');
    let _ts = parts.next()?;
    let level = parts.next()?;
    let msg = parts.next()?.trim();
    if msg.is_empty() {
        return None;
    }
    let bare = msg.strip_prefix('[').and_then(|m| m.split_once("] ")).map_or(msg, |(_, rest)| rest);
    match level {
        "WARN" => Some(Log::Warning(msg.to_string())),
        "INFO" if PROGRESS.iter().any(|p| bare.starts_with(p)) => Some(Log::Progress(msg.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let mut s = ImageScan {
            image: "app:abc".into(),
            secrets: true,
            timeout: Duration::from_secs(600),
            cache_dir: None,
            offline: false,
            cyclonedx: false,
        };
        let neutral = Path::new("/tmp/n");
        let a = s.args(neutral).join(" ");
        assert!(a.starts_with("image --format json --image-src docker --scanners vuln,secret"), "{a}");
        assert!(a.contains("--timeout 600s") && a.contains("--exit-code 0") && a.ends_with(" app:abc"), "{a}");
        assert!(a.contains("--ignorefile /tmp/n/trivyignore --config /tmp/n/trivy.yaml"), "{a}");
        assert!(!a.contains("--cache-dir") && !a.contains("--skip-db-update"), "{a}");
        s.secrets = false;
        s.offline = true;
        s.cache_dir = Some("/tmp/c".into());
        let a = s.args(neutral).join(" ");
        assert!(a.contains("--scanners vuln ") && a.contains("--cache-dir /tmp/c"), "{a}");
        assert!(a.contains("--skip-db-update --skip-java-db-update --offline-scan"), "{a}");
    }

    #[test]
    fn log_lines() {
        assert_eq!(
            log_message("2026-11-22T00:49:08Z\tINFO\t[debian] Detecting vulnerabilities...\tos_version=\"10\""),
            Some(Log::Progress("[debian] Detecting vulnerabilities...".into()))
        );
        assert_eq!(log_message("2026-11-22T00:49:08Z\tINFO\t[secret] If your scanning is slow, please try"), None);
        assert_eq!(
            log_message("2026-11-22T00:49:08Z\tWARN\tThis OS version is no longer supported\tfamily=\"debian\""),
            Some(Log::Warning("This OS version is no longer supported".into()))
        );
        assert_eq!(log_message("\t* docker error: unable to inspect the image"), None);
        assert_eq!(log_message("2026-11-22T00:49:08Z\tFATAL\tFatal error"), None);
    }

    #[test]
    fn classifies_failures() {
        let s = ImageScan::new("x:1", true, Duration::from_secs(5));
        let e = classify(&s, "1".into(), "FATAL ... unable to find the specified image \"x:1\" in [\"docker\"]".into());
        assert!(matches!(e, TrivyError::ImageNotFound { .. }));
        let e = classify(&s, "1".into(), "--skip-db-update cannot be specified on the first run".into());
        assert!(matches!(e, TrivyError::NoDatabase { .. }));
        let e = classify(&s, "1".into(), "failed to download vulnerability DB: dial tcp".into());
        assert!(matches!(e, TrivyError::DbDownload { .. }));
        let e = classify(&s, "2".into(), "boom".into());
        assert!(matches!(e, TrivyError::Failed { .. }));
    }
}
