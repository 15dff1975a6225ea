//! The chain of evidence for one digest, as `shipit verify` prints it: commit → build → scan → approvals
//! → deploys, each link read from the registry.

use serde::Serialize;

use super::gate::read_all;
use super::store::Store;
use super::{Approval, DeployRecord};
use crate::release::ImageRef;
use crate::scan::gate::Policy;

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub image: String,
    pub digest: String,
    pub commit: Option<String>,
    pub source: Option<String>,
    pub built: Option<String>,
    pub scan: ScanLink,
    pub approvals: Vec<Approval>,
    pub deploys: Vec<DeployRecord>,
    /// Links the policy requires that are missing or failing (empty: complete).
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ScanLink {
    Passed { summary: String, trivy: Option<String>, scanned: Option<String>, policy_changed: bool },
    Failed { summary: String, blocking: Vec<String> },
    Skipped { reason: String },
    Missing,
    Unusable { why: String },
}

impl Chain {
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// The newest approval for `env`, if any.
    pub fn approval_for(&self, env: &str) -> Option<&Approval> {
        self.approvals.iter().find(|a| a.environment == env)
    }

    /// The newest completed deploy to `env`.
    pub fn completed_in(&self, env: &str) -> Option<&DeployRecord> {
        self.deploys.iter().find(|d| d.environment == env && d.result == "completed")
    }
}

pub async fn read(
    store: &Store<'_>,
    image: &ImageRef,
    policy: &Policy,
    require_scan: bool,
) -> Result<Chain, super::store::StoreError> {
    let subject = store.subject(&image.digest).await?;
    let found = read_all(store, &image.digest).await?;
    // The build link: the image's own labels (revision, source, created), from its config blob.
    let config = match &subject.config_digest {
        Some(d) => store.client.get_blob(&store.path, d, store.reporter).await?,
        None => None,
    };
    let config: serde_json::Value =
        config.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(serde_json::Value::Null);
    let label = |k: &str| config.pointer(&format!("/config/Labels/{}", k.replace('/', "~1"))).and_then(|v| v.as_str());
    let commit = label("org.opencontainers.image.revision").map(str::to_string);
    let source = label("org.opencontainers.image.source").map(str::to_string);
    let built = label("org.opencontainers.image.created")
        .or_else(|| config.get("created").and_then(|v| v.as_str()))
        .map(str::to_string);

    let mut scan = ScanLink::Missing;
    for f in found.iter().filter(|f| f.statement.predicate_type == super::SCAN_PREDICATE) {
        match super::scan::judge(&f.statement, &subject, policy) {
            Ok(j) if j.verdict.passed => {
                scan = ScanLink::Passed {
                    summary: j.verdict.headline(),
                    trivy: j.trivy_version,
                    scanned: j.finished,
                    policy_changed: j.policy_changed,
                };
                break;
            }
            Ok(j) if matches!(scan, ScanLink::Missing | ScanLink::Unusable { .. }) => {
                scan = ScanLink::Failed {
                    summary: j.verdict.headline(),
                    blocking: j.verdict.blocking.iter().map(|b| b.finding.id.clone()).collect(),
                }
            }
            Ok(_) => {}
            Err(why) if matches!(scan, ScanLink::Missing) => scan = ScanLink::Unusable { why },
            Err(_) => {}
        }
    }
    if !matches!(scan, ScanLink::Passed { .. } | ScanLink::Failed { .. })
        && let Some(skip) = found.iter().find(|f| f.statement.predicate_type == super::SCAN_SKIPPED_PREDICATE)
    {
        scan = ScanLink::Skipped { reason: skip.statement.predicate["reason"].as_str().unwrap_or_default().into() };
    }
    let approvals = found
        .iter()
        .filter(|f| f.statement.predicate_type == super::APPROVAL_PREDICATE)
        .filter_map(|f| serde_json::from_value(f.statement.predicate.clone()).ok())
        .collect();
    let deploys = found
        .iter()
        .filter(|f| f.statement.predicate_type == super::DEPLOY_PREDICATE)
        .filter_map(|f| serde_json::from_value(f.statement.predicate.clone()).ok())
        .collect();
    let mut missing = Vec::new();
    if require_scan {
        match &scan {
            ScanLink::Passed { .. } | ScanLink::Skipped { .. } => {}
            ScanLink::Failed { summary, .. } => missing.push(format!("scan: fails under today's policy ({summary})")),
            ScanLink::Missing => missing.push("scan: none attached to this digest".into()),
            ScanLink::Unusable { why } => missing.push(format!("scan: {why}")),
        }
    }
    Ok(Chain {
        image: image.pinned(),
        digest: image.digest.clone(),
        commit,
        source,
        built,
        scan,
        approvals,
        deploys,
        missing,
    })
}

/// The chain as lines, for the terminal.
pub fn render(c: &Chain) -> String {
    let mut out = String::new();
    let mut line = |mark: &str, name: &str, text: String| out.push_str(&format!("{mark} {name:<9} {text}\n"));
    line("•", "image", c.image.clone());
    line(
        if c.commit.is_some() { "✔" } else { "?" },
        "commit",
        c.commit.clone().unwrap_or_else(|| "unknown (no org.opencontainers.image.revision label)".into()),
    );
    line(
        if c.built.is_some() { "✔" } else { "?" },
        "build",
        match (&c.built, &c.source) {
            (Some(b), Some(s)) => format!("{b} from {s}"),
            (Some(b), None) => b.clone(),
            _ => "unknown".into(),
        },
    );
    match &c.scan {
        ScanLink::Passed { summary, trivy, scanned, policy_changed } => line(
            "✔",
            "scan",
            format!(
                "passes today's policy: {summary} (trivy {}, scanned {}){}",
                trivy.as_deref().unwrap_or("?"),
                scanned.as_deref().unwrap_or("?"),
                if *policy_changed { "; scanned under a different policy than today's" } else { "" }
            ),
        ),
        ScanLink::Failed { summary, blocking } => {
            line("✘", "scan", format!("fails today's policy: {summary}; blocking: {}", blocking.join(", ")))
        }
        ScanLink::Skipped { reason } => line("!", "scan", format!("SKIPPED: {reason}")),
        ScanLink::Missing => line("✘", "scan", "none attached to this digest".into()),
        ScanLink::Unusable { why } => line("✘", "scan", why.clone()),
    }
    if c.approvals.is_empty() {
        line("-", "approvals", "none".into());
    }
    for a in &c.approvals {
        let ci = a.ci_run.as_deref().map(|r| format!(", {r}")).unwrap_or_default();
        line(
            "✔",
            "approval",
            format!(
                "{}: {} via {} at {}{ci}",
                a.environment,
                a.by,
                a.method.as_str(),
                a.at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        );
    }
    if c.deploys.is_empty() {
        line("-", "deploys", "none".into());
    }
    for d in &c.deploys {
        let forced = d.forced.as_ref().map(|f| format!("; FORCED: {} ({})", f.reason, f.missing)).unwrap_or_default();
        line(
            if d.result == "completed" { "✔" } else { "✘" },
            "deploy",
            format!(
                "{}: {} {} {} ({}{}) by {} at {}{forced}",
                d.environment,
                d.change,
                d.result,
                d.target,
                d.revision.as_deref().map(|r| format!("revision {r}")).unwrap_or_else(|| "no revision".into()),
                "",
                d.by,
                d.finished.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        );
    }
    out
}
