//! The scan stage: run Trivy on a local image, apply the gate, save the report next to the release record.
//!
//! Files, in `.shipit/releases/` next to ship.toml:
//! - `<sha>.scan.json`          the full Trivy report, as Trivy wrote it
//! - `<sha>.scan-summary.json`  the `ScanSummary` (also copied into `<sha>.json` when that record exists)

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Loaded;
use crate::error::CliError;
use crate::providers::trivy;
use crate::release::{self, Release, ScanSummary};
use crate::report::Reporter;
use crate::scan::gate::{self, Policy, RegisteredException, Verdict};
use crate::scan::{parse_exceptions_file, report, trivyignore};

/// A finished scan, whether or not the gate passed.
#[derive(Debug, Clone, Serialize)]
pub struct ScanOutcome {
    pub image: String,
    pub verdict: Verdict,
    pub summary: ScanSummary,
    /// `.trivyignore` files that trivy would have read and shipit kept it from reading.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trivyignore_not_used: Vec<IgnoredFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IgnoredFile {
    pub path: PathBuf,
    pub ids: Vec<String>,
}

impl ScanOutcome {
    /// The exit-3 error for a failed verdict, with the findings table as detail.
    pub fn gate_error(&self) -> CliError {
        let v = &self.verdict;
        let or_unknown =
            if v.unknown_blocking() > 0 && v.fail_on != crate::config::Severity::Unknown { " or UNKNOWN" } else { "" };
        let mut err = CliError::gate(format!(
            "scan: {} blocking finding(s) at or above {}{or_unknown} in {}",
            v.blocking.len(),
            v.fail_on,
            self.image
        ))
        .detail(match &self.summary.report {
            Some(path) => format!("{}full report: {}\n", v.explain(), path.display()),
            None => v.explain(),
        });
        if v.blocking.iter().any(|b| b.finding.kind == report::FindingKind::Secret) {
            err = err.hint("a secret is baked into the image: remove it from the build context (and .dockerignore it), then rotate it");
        }
        if v.blocking.iter().any(|b| b.finding.has_fix()) {
            err = err.hint("upgrade the packages to the fixed versions shown (often: rebuild on a newer base image)");
        }
        if !v.exceptions_expired.is_empty() {
            err = err.hint(
                "renew an expired exception by moving its `expires` date, with a fresh reason, or fix the finding",
            );
        }
        let unknown = v.unknown_blocking();
        if unknown > 0 {
            err = err.hint(format!(
                "{unknown} blocking finding(s) have no severity rating (UNKNOWN; {}): look each one up, then fix it or accept it with an exception; `[scan] unknown = \"allow\"` lets every UNKNOWN finding through",
                v.unknown_rule
            ));
        }
        for f in &self.trivyignore_not_used {
            let listed: Vec<&str> = v
                .blocking
                .iter()
                .map(|b| b.finding.id.as_str())
                .filter(|id| f.ids.iter().any(|i| i.eq_ignore_ascii_case(id)))
                .collect();
            if !listed.is_empty() {
                let mut listed = listed;
                listed.dedup();
                err = err.hint(format!(
                    "{} is listed in {}, which shipit does not read: accept it in shipit's register instead (`shipit scan --convert-trivyignore` prints the entries)",
                    listed.join(", "),
                    f.path.display()
                ));
            }
        }
        err.hint(
            "to accept a finding: add [[scan.exceptions]] with id, reason and expires to ship.toml (docs/gates.md)",
        )
    }
}

/// The gate policy from ship.toml: threshold, ignore_unfixed, and the exception register (ship.toml's
/// `scan.exceptions` plus `scan.exceptions_file`).
pub fn policy(loaded: &Loaded, today: chrono::NaiveDate) -> Result<Policy, CliError> {
    let scan = &loaded.config.scan;
    let mut exceptions: Vec<RegisteredException> = scan
        .exceptions
        .iter()
        .map(|e| RegisteredException { exception: e.clone(), source: loaded.path.display().to_string() })
        .collect();
    if let Some(file) = &scan.exceptions_file {
        let path = loaded.root.join(file.as_str());
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::usage(format!("cannot read scan.exceptions_file {}: {e}", path.display()))
                .hint("the path is relative to ship.toml; create the file or remove `exceptions_file`")
        })?;
        exceptions.extend(parse_exceptions_file(&path, &text)?);
    }
    Ok(Policy { fail_on: scan.fail_on, ignore_unfixed: scan.ignore_unfixed, unknown: scan.unknown, exceptions, today })
}

/// Scan `image` (a local image) and judge it. `sha` keys the saved report; without one (an image not built
/// from this repository's HEAD) nothing is saved. Errors only when the scan could not be done.
pub async fn scan(
    loaded: &Loaded,
    image: &str,
    sha: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<ScanOutcome, CliError> {
    let policy = policy(loaded, chrono::Local::now().date_naive())?;
    let binary = trivy::locate()?;
    let cfg = &loaded.config.scan;
    let request = trivy::ImageScan::new(image, cfg.secrets, cfg.timeout.get());
    reporter.status(&format!(
        "scanning {image} with trivy ({})",
        if request.secrets { "vulnerabilities, secrets" } else { "vulnerabilities" }
    ));
    let ignored = trivyignore::find(std::env::current_dir().ok().as_deref(), &loaded.root);
    for f in &ignored {
        reporter.line(&format!(
            "{} ({} entr{}) is not used: shipit's exception register ([[scan.exceptions]], each with a reason and an expiry) decides what is accepted; `shipit scan --convert-trivyignore` turns it into exceptions",
            f.path.display(),
            f.entries.len(),
            if f.entries.len() == 1 { "y" } else { "ies" }
        ));
    }
    let versions = match sha {
        Some(_) => crate::evidence::scan::versions(&binary).await,
        None => serde_json::Value::Null,
    };
    let started = chrono::Utc::now();
    let json = trivy::scan_image(&binary, &request, reporter).await?;
    if let Some(sha) = sha {
        crate::evidence::scan::save_scanner(&loaded.root, sha, &versions, started);
    }
    let parsed = report::parse(&json).map_err(|e| {
        let head: String = String::from_utf8_lossy(&json).chars().take(400).collect();
        CliError::failure(e.to_string())
            .detail(head)
            .hint("check the trivy version (`shipit doctor`); shipit reads SchemaVersion 2 reports")
    })?;
    let verdict = gate::evaluate(&parsed, &policy);
    let report_path = match sha {
        Some(sha) => Some(save_report(&loaded.root, sha, &json)?),
        None => None,
    };
    if let (Some(sha), true) = (sha, cfg.sbom) {
        // The SBOM: the same image, the same bounds, CycloneDX instead of the vulnerability report.
        let request = trivy::ImageScan { cyclonedx: true, ..request.clone() };
        reporter.status(&format!("writing the CycloneDX SBOM of {image} with trivy"));
        let bom = trivy::scan_image(&binary, &request, reporter).await?;
        let path = sbom_path(&loaded.root, sha);
        std::fs::write(&path, &bom)
            .map_err(|e| CliError::failure(format!("cannot save the SBOM {}: {e}", path.display())))?;
    }
    let summary = ScanSummary {
        passed: verdict.passed,
        counts: verdict.counts.clone(),
        blocking: verdict.blocking.len(),
        allowed: verdict.allowed,
        exceptions_used: verdict.exceptions_used.iter().map(|e| e.id.clone()).collect(),
        skipped_reason: None,
        report: report_path.as_ref().map(|p| relative(&loaded.root, p)),
    };
    if let Some(sha) = sha {
        record(&loaded.root, sha, &summary)?;
    }
    let trivyignore_not_used =
        ignored.into_iter().map(|f| IgnoredFile { ids: f.ids().map(str::to_string).collect(), path: f.path }).collect();
    Ok(ScanOutcome { image: image.to_string(), verdict, summary, trivyignore_not_used })
}

/// For `shipit ship`: scan, and turn a failing verdict into the exit-3 error. When `scan.enabled = false` the
/// scan is skipped and that is recorded.
pub async fn run(loaded: &Loaded, image: &str, sha: &str, reporter: &dyn Reporter) -> Result<ScanSummary, CliError> {
    if !loaded.config.scan.enabled {
        return skip(loaded, Some(sha), DISABLED_REASON);
    }
    let outcome = scan(loaded, image, Some(sha), reporter).await?;
    if outcome.verdict.passed { Ok(outcome.summary) } else { Err(outcome.gate_error()) }
}

pub const DISABLED_REASON: &str = "scan disabled in ship.toml (scan.enabled = false)";

/// Record that the scan was skipped, and why (`--skip-scan --reason`, or `scan.enabled = false`).
pub fn skip(loaded: &Loaded, sha: Option<&str>, reason: &str) -> Result<ScanSummary, CliError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CliError::usage("--skip-scan needs a non-empty --reason").hint(
            "say why, e.g. --reason \"hotfix for INC-1234; trivy DB mirror down\"; it is kept in the release record",
        ));
    }
    let summary = ScanSummary {
        passed: true,
        counts: Default::default(),
        blocking: 0,
        allowed: 0,
        exceptions_used: Vec::new(),
        skipped_reason: Some(reason.to_string()),
        report: None,
    };
    if let Some(sha) = sha {
        record(&loaded.root, sha, &summary)?;
    }
    Ok(summary)
}

/// The summary saved for a commit by an earlier `shipit scan`, for `push`/`ship` to put into the release record.
pub fn saved_summary(root: &Path, sha: &str) -> Option<ScanSummary> {
    let text = std::fs::read_to_string(summary_path(root, sha)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn report_path(root: &Path, sha: &str) -> PathBuf {
    release::dir(root).join(format!("{sha}.scan.json"))
}

/// The CycloneDX SBOM of the commit's image (`[scan] sbom = true`), attached by `push`.
pub fn sbom_path(root: &Path, sha: &str) -> PathBuf {
    release::dir(root).join(format!("{sha}.cdx.json"))
}

pub fn summary_path(root: &Path, sha: &str) -> PathBuf {
    release::dir(root).join(format!("{sha}.scan-summary.json"))
}

fn save_report(root: &Path, sha: &str, json: &[u8]) -> Result<PathBuf, CliError> {
    let path = report_path(root, sha);
    write_atomic(root, &path, json)?;
    Ok(path)
}

/// Save the summary, and put it into the release record when this commit already has one.
fn record(root: &Path, sha: &str, summary: &ScanSummary) -> Result<(), CliError> {
    let text = serde_json::to_vec_pretty(summary).expect("summary serializes");
    write_atomic(root, &summary_path(root, sha), &text)?;
    if let Some(mut release) = Release::for_commit(root, sha) {
        release.scan = Some(summary.clone());
        release.save(root)?;
    }
    Ok(())
}

/// `path` lives in the releases directory of `root` (created, and kept out of git, by `release::ensure_dir`).
fn write_atomic(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let fail = |e: &dyn std::fmt::Display| CliError::failure(format!("cannot write {}: {e}", path.display()));
    let dir = release::ensure_dir(root).map_err(|e| fail(&e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail(&e))?;
    tmp.write_all(bytes).map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
}
