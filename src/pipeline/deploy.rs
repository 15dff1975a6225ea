//! Running a deploy or rollback against a target and turning its outcome into what the user sees and the exit
//! code a pipeline branches on (0 completed, 1 failed, 5 failed and rolled back).

use serde::Serialize;

use crate::deploy::target::Target;
use crate::deploy::{DeployMeta, DeployOptions, Outcome, Revision};
use crate::error::CliError;
use crate::release::ImageRef;
use crate::ui::Ui;

pub enum Change<'a> {
    Deploy(&'a ImageRef),
    Rollback(&'a Revision),
}

#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub environment: String,
    pub target: String,
    pub image: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

pub async fn execute(
    ui: &Ui,
    env_name: &str,
    target: &Target,
    change: Change<'_>,
    meta: &DeployMeta,
    opts: &DeployOptions,
) -> Result<DeployReport, CliError> {
    let name = stage_name(&change);
    let stage = ui.stage(name);
    let what = match &change {
        Change::Deploy(img) => img.short_digest(),
        Change::Rollback(rev) => format!("revision {}", rev.revision),
    };
    super::journal::set(
        env_name,
        format!("{name} of {what} to {} was started and had not finished", target.describe()),
    );
    let (image, result) = match change {
        Change::Deploy(img) => (img.pinned(), target.deploy(img, meta, opts, &stage).await),
        Change::Rollback(rev) => (rev.image.clone(), target.rollback(rev, meta, opts, &stage).await),
    };
    super::journal::set(
        env_name,
        match &result {
            Ok(Outcome::Completed { revision }) => format!("revision {revision} ({what}) is live"),
            Ok(Outcome::Failed { revision, .. }) => format!("revision {revision} ({what}) failed; not rolled back"),
            Ok(Outcome::RolledBack { restored, .. }) => format!("rolled back to revision {restored}"),
            Err(e) => format!("{name} of {what} failed: {}", e.message),
        },
    );
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            stage.fail(format!("{}: {}", target.describe(), e.message));
            return Err(e);
        }
    };
    let report =
        DeployReport { environment: env_name.to_string(), target: target.describe(), image, outcome: outcome.clone() };
    match outcome {
        Outcome::Completed { revision } => {
            stage.ok(format!("{} revision {revision} is live", target.describe()));
            Ok(report)
        }
        Outcome::Failed { revision, reason } => {
            stage.fail(format!("{} revision {revision} failed", target.describe()));
            Err(CliError::failure(format!("rollout of revision {revision} to {env_name} failed"))
                .detail(indent(&reason))
                .hint(format!("`shipit status {env_name}` shows what runs now; `shipit rollback {env_name}` puts a previous release back")))
        }
        Outcome::RolledBack { revision, restored, reason } => {
            stage.fail(format!("{} revision {revision} failed; rolled back to revision {restored}", target.describe()));
            Err(CliError::rolled_back(format!(
                "rollout of revision {revision} to {env_name} failed and was rolled back: revision {restored} runs again"
            ))
            .detail(indent(&reason))
            .hint(format!("fix the cause above, then ship again; `shipit status {env_name}` confirms what runs")))
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

fn stage_name(change: &Change<'_>) -> &'static str {
    match change {
        Change::Deploy(_) => "deploy",
        Change::Rollback(_) => "rollback",
    }
}
