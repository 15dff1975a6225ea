//! Release evidence bound to the digest: what shipit learns about an image (its scan, a skipped scan and
//! why, each approval, each deploy and how it ended) is attached to it in the registry as OCI artifacts
//! (`store`), as in-toto statements in DSSE envelopes (`dsse`), so that a deploy on any machine can check it
//! (`gate`, the rollout engine's first step) and `shipit verify` can show it. `.shipit/` only holds a scan
//! report until `push` attaches it.

pub mod chain;
pub mod dsse;
pub mod gate;
pub mod provenance;
pub mod publish;
pub mod scan;
pub mod sign;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// cosign's vulnerability attestation: `scanner.result` carries Trivy's full report.
pub const SCAN_PREDICATE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
pub const SCAN_SKIPPED_PREDICATE: &str = "https://shipit.dev/evidence/scan-skipped/v1";
pub const APPROVAL_PREDICATE: &str = "https://shipit.dev/evidence/approval/v1";
pub const DEPLOY_PREDICATE: &str = "https://shipit.dev/evidence/deploy/v1";
pub const SBOM_PREDICATE: &str = "https://cyclonedx.org/bom";
pub const PROVENANCE_PREDICATE: &str = "https://slsa.dev/provenance/v1";

/// The kind annotation of each artifact (`dev.shipit.evidence`).
pub mod kind {
    pub const SCAN: &str = "scan";
    pub const SCAN_SKIPPED: &str = "scan-skipped";
    pub const APPROVAL: &str = "approval";
    pub const DEPLOY: &str = "deploy";
    pub const PROVENANCE: &str = "provenance";
    pub const SBOM: &str = "sbom";
}

/// How a deploy was approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMethod {
    /// Someone answered the prompt on a terminal.
    Prompt,
    /// `--yes` on the command line.
    Yes,
    /// `SHIPIT_APPROVE` named the environment.
    EnvVar,
    /// The environment has `approval = "none"`.
    NotRequired,
}

impl ApprovalMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalMethod::Prompt => "prompt",
            ApprovalMethod::Yes => "--yes",
            ApprovalMethod::EnvVar => "SHIPIT_APPROVE",
            ApprovalMethod::NotRequired => "approval = \"none\"",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Approval {
    pub environment: String,
    /// The deployer (SHIPIT_DEPLOYER, the CI actor, or the git user).
    pub by: String,
    pub at: DateTime<Utc>,
    pub method: ApprovalMethod,
    /// In CI: the actor and the run that approved (`GITHUB_ACTOR`, the run URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run: Option<String>,
    /// For `promote`: the environment the digest came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployRecord {
    pub environment: String,
    pub target: String,
    /// `deploy`, `rollback`, `promote`
    pub change: String,
    pub revision: Option<String>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// `completed`, `failed`, `rolled_back`, `interrupted`, `error`
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub by: String,
    /// `--force --reason`: the evidence the gate found missing, deployed anyway, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<Forced>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forced {
    pub reason: String,
    pub missing: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScanSkipped {
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The CI actor and run URL, when running in GitHub Actions.
pub fn ci_identity() -> (Option<String>, Option<String>) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let actor = var("GITHUB_ACTOR");
    let run = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
        (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
        _ => None,
    };
    (actor, run)
}

/// Approvals given in this process, per environment, for the engine to attach once the outcome is known.
/// The approval is decided inside the engine's `decide` callback; this is how it gets out of it (like
/// `pipeline::journal`).
static APPROVALS: std::sync::Mutex<Vec<Approval>> = std::sync::Mutex::new(Vec::new());

pub fn note_approval(environment: &str, method: ApprovalMethod) {
    let (ci_actor, ci_run) = ci_identity();
    let approval = Approval {
        environment: environment.to_string(),
        by: crate::deploy::meta::deployer(),
        at: Utc::now(),
        method,
        ci_actor,
        ci_run,
        promoted_from: PROMOTED_FROM.lock().unwrap().clone(),
    };
    let mut all = APPROVALS.lock().unwrap();
    all.retain(|a| a.environment != environment);
    all.push(approval);
}

pub fn take_approval(environment: &str) -> Option<Approval> {
    let mut all = APPROVALS.lock().unwrap();
    let i = all.iter().position(|a| a.environment == environment)?;
    Some(all.remove(i))
}

/// Set by `promote` so the approval names where the digest came from.
static PROMOTED_FROM: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

pub fn set_promoted_from(from: &str) {
    *PROMOTED_FROM.lock().unwrap() = Some(from.to_string());
}
