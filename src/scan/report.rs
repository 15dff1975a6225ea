//! Trivy's JSON report (SchemaVersion 2), read leniently: Trivy adds fields in most releases and leaves out or
//! nulls the ones it has nothing for, so every field is optional and unknown ones are ignored. Only the shape
//! the gate needs is kept; the full report is saved as Trivy wrote it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::config::Severity;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("trivy's output is not a JSON report: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("trivy report has SchemaVersion {0}; shipit reads version 2")]
    Schema(u64),
    /// `{}`, or a report that does not say what it scanned: never a pass.
    #[error("trivy's output is not a complete report: it has no {0}")]
    Incomplete(&'static str),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawReport {
    schema_version: Option<u64>,
    artifact_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    metadata: RawMetadata,
    #[serde(default, deserialize_with = "nullable")]
    results: Vec<RawResult>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMetadata {
    #[serde(rename = "OS", default, deserialize_with = "nullable")]
    os: RawOs,
    #[serde(rename = "ImageID")]
    image_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    repo_digests: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawOs {
    family: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawResult {
    target: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    vulnerabilities: Vec<RawVulnerability>,
    #[serde(default, deserialize_with = "nullable")]
    secrets: Vec<RawSecret>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawVulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: Option<String>,
    pkg_name: Option<String>,
    installed_version: Option<String>,
    fixed_version: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    #[serde(rename = "PrimaryURL")]
    primary_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawSecret {
    #[serde(rename = "RuleID")]
    rule_id: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    start_line: Option<u64>,
}

/// `null` and absent both mean "none" (Trivy writes `"Results": null` for some empty scans).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    Vulnerability,
    Secret,
}

/// One thing the scan found: a vulnerable package or a secret in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// `CVE-2019-18224`, or the secret rule (`aws-access-key-id`).
    pub id: String,
    /// The package name; for a secret, the file it was found in.
    pub package: String,
    pub installed: Option<String>,
    /// The first version with a fix; `None` when no fix exists yet.
    pub fixed: Option<String>,
    pub severity: Severity,
    pub title: Option<String>,
    pub url: Option<String>,
    /// Where Trivy found it (`image (debian 10.1)`, `/app/config.env`).
    pub target: String,
}

impl Finding {
    /// A fix is available. Secrets always count as fixable: you delete them.
    pub fn has_fix(&self) -> bool {
        self.kind == FindingKind::Secret || self.fixed.as_deref().is_some_and(|f| !f.trim().is_empty())
    }
}

/// What the gate needs from a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub artifact: Option<String>,
    /// `debian 10.1`, when Trivy detected an OS.
    pub os: Option<String>,
    pub image_id: Option<String>,
    pub repo_digests: Vec<String>,
    pub findings: Vec<Finding>,
}

pub fn parse(json: &[u8]) -> Result<Report, ReportError> {
    let raw: RawReport = serde_json::from_slice(json)?;
    match raw.schema_version {
        Some(2) => {}
        Some(v) => return Err(ReportError::Schema(v)),
        None => return Err(ReportError::Incomplete("SchemaVersion")),
    }
    // Trivy leaves `Results` out when it found nothing (0.76 on a clean image), so its absence alone is
    // not an error; a report that does not name the image it scanned cannot be bound to a digest and is.
    if raw.artifact_name.as_deref().is_none_or(str::is_empty) {
        return Err(ReportError::Incomplete("ArtifactName"));
    }
    if raw.metadata.image_id.as_deref().is_none_or(str::is_empty) && raw.metadata.repo_digests.is_empty() {
        return Err(ReportError::Incomplete("Metadata.ImageID or Metadata.RepoDigests"));
    }
    let mut findings = Vec::new();
    for result in raw.results {
        let target = result.target.unwrap_or_default();
        for v in result.vulnerabilities {
            let Some(id) = v.vulnerability_id.filter(|s| !s.is_empty()) else { continue };
            findings.push(Finding {
                kind: FindingKind::Vulnerability,
                id,
                package: v.pkg_name.unwrap_or_default(),
                installed: v.installed_version.filter(|s| !s.is_empty()),
                fixed: v.fixed_version.filter(|s| !s.is_empty()),
                severity: severity(v.severity.as_deref()),
                title: v.title.filter(|s| !s.is_empty()),
                url: v.primary_url.filter(|s| !s.is_empty()),
                target: target.clone(),
            });
        }
        for s in result.secrets {
            let id = s.rule_id.filter(|r| !r.is_empty()).unwrap_or_else(|| "secret".to_string());
            let place = match s.start_line {
                Some(line) if line > 0 => format!("{target}:{line}"),
                _ => target.clone(),
            };
            let title = match (s.title, s.category) {
                (Some(t), _) if !t.is_empty() => Some(t),
                (_, Some(c)) if !c.is_empty() => Some(format!("{c} secret")),
                _ => None,
            };
            findings.push(Finding {
                kind: FindingKind::Secret,
                id,
                package: place,
                installed: None,
                fixed: None,
                severity: severity(s.severity.as_deref()),
                title,
                url: None,
                target: target.clone(),
            });
        }
    }
    let os = match (raw.metadata.os.family, raw.metadata.os.name) {
        (Some(f), Some(n)) => Some(format!("{f} {n}")),
        (Some(f), None) => Some(f),
        _ => None,
    };
    Ok(Report {
        artifact: raw.artifact_name,
        os,
        image_id: raw.metadata.image_id,
        repo_digests: raw.metadata.repo_digests,
        findings,
    })
}

/// Trivy's severity strings; anything unrecognised is UNKNOWN rather than an error.
fn severity(raw: Option<&str>) -> Severity {
    raw.and_then(Severity::parse).unwrap_or(Severity::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_nulls_absent_and_unknown_fields() {
        let r = parse(br#"{"SchemaVersion":2,"ArtifactName":"a","Results":null,"Metadata":{"ImageID":"sha256:1"},"NewThing":{"x":1}}"#).unwrap();
        assert!(r.findings.is_empty());
        assert!(matches!(parse(br#"{}"#), Err(ReportError::Incomplete("SchemaVersion"))));
        assert!(matches!(parse(br#"{"SchemaVersion":2,"Results":[]}"#), Err(ReportError::Incomplete("ArtifactName"))));
        assert!(matches!(
            parse(br#"{"SchemaVersion":2,"ArtifactName":"a","Metadata":null}"#),
            Err(ReportError::Incomplete(_))
        ));
        let r = parse(
            br#"{"SchemaVersion":2,"ArtifactName":"a","Metadata":{"ImageID":"sha256:1"},"Results":[{"Target":"t","Vulnerabilities":[
                {"VulnerabilityID":"CVE-1","PkgName":"p","Severity":"WEIRD","FixedVersion":"","Extra":[1,2]},
                {"VulnerabilityID":null},
                {"VulnerabilityID":"CVE-2","PkgName":null,"Severity":null,"FixedVersion":"1.2"}
            ],"Secrets":null}]}"#,
        )
        .unwrap();
        assert_eq!(r.findings.len(), 2);
        assert_eq!(r.findings[0].severity, Severity::Unknown);
        assert!(!r.findings[0].has_fix());
        assert!(r.findings[1].has_fix());
        assert_eq!(r.findings[1].package, "");
    }

    #[test]
    fn reads_secrets() {
        let r = parse(
            br#"{"SchemaVersion":2,"ArtifactName":"a","Metadata":{"ImageID":"sha256:1"},"Results":[{"Target":"/app/config.env","Class":"secret","Secrets":[
                {"RuleID":"aws-access-key-id","Category":"AWS","Severity":"CRITICAL","Title":"AWS Access Key ID","StartLine":1,
                 "Match":"AWS_ACCESS_KEY_ID=****"}]}]}"#,
        )
        .unwrap();
        let f = &r.findings[0];
        assert_eq!(f.kind, FindingKind::Secret);
        assert_eq!(f.id, "aws-access-key-id");
        assert_eq!(f.package, "/app/config.env:1");
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.has_fix());
    }

    #[test]
    fn refuses_other_schema_versions_and_non_json() {
        assert!(matches!(parse(br#"{"SchemaVersion":3}"#), Err(ReportError::Schema(3))));
        assert!(matches!(parse(b"FATAL something"), Err(ReportError::NotJson(_))));
    }
}
