//! The scan as evidence: cosign's vulnerability predicate around Trivy's full report, with shipit's policy
//! and verdict in `invocation.parameters`; and the reverse, a stored scan re-judged under today's policy.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dsse::Statement;
use super::store::SubjectImage;
use crate::scan::gate::{self, Policy, Verdict};
use crate::scan::report::{self, Report};

/// Who scanned, with what, and when: saved next to the report by `shipit scan` (`<sha>.scan-meta.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scanner {
    pub trivy_version: Option<String>,
    /// The vulnerability DB's `UpdatedAt` (Trivy's DB has no other version than its schema).
    pub db_updated_at: Option<String>,
    pub db_schema: Option<u64>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

pub fn meta_path(root: &Path, sha: &str) -> PathBuf {
    crate::release::dir(root).join(format!("{sha}.scan-meta.json"))
}

/// Ask trivy for its version and its DB's (`trivy --version --format json`), before the scan runs so the
/// scan stays trivy's last invocation. Best effort: the report itself names trivy's version too.
pub async fn versions(binary: &Path) -> Value {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.args(["--version", "--format", "json"]);
    if let Some(dir) = std::env::var_os(crate::env_vars::EnvVars::TRIVY_CACHE_DIR).filter(|d| !d.is_empty()) {
        cmd.arg("--cache-dir").arg(dir);
    }
    match tokio::time::timeout(std::time::Duration::from_secs(20), cmd.output()).await {
        Ok(Ok(o)) if o.status.success() => serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Save what `versions` said with the scan's times, next to the report.
pub fn save_scanner(root: &Path, sha: &str, versions: &Value, started: DateTime<Utc>) {
    let v = versions;
    let scanner = Scanner {
        trivy_version: v["Version"].as_str().map(str::to_string),
        db_updated_at: v.pointer("/VulnerabilityDB/UpdatedAt").and_then(Value::as_str).map(str::to_string),
        db_schema: v.pointer("/VulnerabilityDB/Version").and_then(Value::as_u64),
        started,
        finished: Utc::now(),
    };
    if crate::release::ensure_dir(root).is_ok() {
        let _ = std::fs::write(meta_path(root, sha), serde_json::to_vec_pretty(&scanner).expect("serializes"));
    }
}

pub fn load_scanner(root: &Path, sha: &str) -> Option<Scanner> {
    serde_json::from_slice(&std::fs::read(meta_path(root, sha)).ok()?).ok()
}

/// The policy as data: what a later reader compares with its own to say "scanned under another policy".
pub fn policy_json(p: &Policy) -> Value {
    let mut exceptions: Vec<Value> = p
        .exceptions
        .iter()
        .map(|e| {
            json!({
                "id": e.exception.id.as_str(),
                "package": e.exception.package.as_ref().map(|p| p.as_str()),
                "expires": e.exception.expires.0.to_string(),
            })
        })
        .collect();
    exceptions.sort_by_key(|e| e.to_string());
    json!({
        "fail_on": p.fail_on.as_upper(),
        "ignore_unfixed": p.ignore_unfixed,
        "unknown": p.unknown().as_str(),
        "exceptions": exceptions,
    })
}

/// The scan statement for `repository@digest`.
pub fn statement(
    repository: &str,
    digest: &str,
    raw_report: &[u8],
    verdict: &Verdict,
    policy: &Policy,
    scanner: &Scanner,
) -> Result<Statement, serde_json::Error> {
    let result: Value = serde_json::from_slice(raw_report)?;
    let version = scanner
        .trivy_version
        .clone()
        .or_else(|| result.pointer("/Trivy/Version").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let blocking: Vec<&str> = verdict.blocking.iter().map(|b| b.finding.id.as_str()).collect();
    let predicate = json!({
        "invocation": {
            "parameters": {
                "shipit": {
                    "policy": policy_json(policy),
                    "verdict": {
                        "passed": verdict.passed,
                        "counts": verdict.counts,
                        "blocking": blocking,
                        "allowed": verdict.allowed,
                        "exceptions_used": verdict.exceptions_used.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
                    },
                }
            },
            "uri": "",
            "event_id": "",
            "builder.id": concat!("shipit/", env!("CARGO_PKG_VERSION")),
        },
        "scanner": {
            "uri": format!("pkg:github/aquasecurity/trivy@{version}"),
            "version": version,
            "db": { "uri": "", "version": scanner.db_updated_at.clone().unwrap_or_default() },
            "result": result,
        },
        "metadata": {
            "scanStartedOn": scanner.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "scanFinishedOn": scanner.finished.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    });
    Ok(Statement::about(repository, digest, super::SCAN_PREDICATE, predicate))
}

/// Is this report about this image? Trivy names the image id (the config digest) of what it scanned, and
/// the repo digests the local engine knows; one of them must be the image being deployed.
pub fn bound_to(report: &Report, subject: &SubjectImage) -> Result<(), String> {
    let digest = &subject.descriptor.digest;
    if report.repo_digests.iter().any(|r| r.rsplit_once('@').is_some_and(|(_, d)| d == digest)) {
        return Ok(());
    }
    match (&report.image_id, &subject.config_digest) {
        (Some(id), Some(config)) if id == config => Ok(()),
        (Some(id), Some(config)) => Err(format!(
            "the report is about image {} (image id {}), not this one (image id {})",
            report.artifact.as_deref().unwrap_or("?"),
            crate::release::short_digest(id),
            crate::release::short_digest(config)
        )),
        _ => Err(format!(
            "the report (of {}) names neither this digest nor this image's id",
            report.artifact.as_deref().unwrap_or("?")
        )),
    }
}

/// A stored scan, read back and judged again.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub verdict: Verdict,
    /// The policy recorded with the scan differs from today's (the verdict above is today's).
    pub policy_changed: bool,
    /// The stored verdict's pass/fail, when recorded.
    pub stored_passed: Option<bool>,
    pub trivy_version: Option<String>,
    pub finished: Option<String>,
    /// The stored report's findings, for comparing two releases (the approval screen's scan delta).
    #[serde(skip)]
    pub findings: Vec<crate::scan::report::Finding>,
}

pub fn judge(statement: &Statement, subject: &SubjectImage, policy: &Policy) -> Result<Judged, String> {
    let p = &statement.predicate;
    let result = p.pointer("/scanner/result").ok_or("the scan evidence holds no Trivy report (scanner.result)")?;
    let bytes = serde_json::to_vec(result).expect("a JSON value serializes");
    let parsed = report::parse(&bytes).map_err(|e| format!("the stored Trivy report is unusable: {e}"))?;
    bound_to(&parsed, subject)?;
    let verdict = gate::evaluate(&parsed, policy);
    let stored = p.pointer("/invocation/parameters/shipit");
    let policy_changed = stored.and_then(|s| s.get("policy")).is_some_and(|sp| *sp != policy_json(policy));
    Ok(Judged {
        verdict,
        policy_changed,
        stored_passed: stored.and_then(|s| s.pointer("/verdict/passed")).and_then(Value::as_bool),
        trivy_version: p.pointer("/scanner/version").and_then(Value::as_str).map(str::to_string),
        finished: p.pointer("/metadata/scanFinishedOn").and_then(Value::as_str).map(str::to_string),
        findings: parsed.findings,
    })
}
