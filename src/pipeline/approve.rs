//! The approval gate before a deploy: shows what runs now and what will replace it, then asks — or takes
//! `--yes` / SHIPIT_APPROVE in CI, or refuses with exit code 4.

use crate::config::{Approval, Environment};
use crate::deploy::meta::short_commit;
use crate::env_vars::EnvVars;
use crate::error::CliError;
use crate::release::{ImageRef, short_digest};
use crate::rollout::LiveState;
use crate::ui::Ui;

/// "sha256:77aa… (a81f0e2)" for what runs now.
pub fn describe_live(live: Option<&LiveState>) -> String {
    match live {
        None => "nothing".into(),
        Some(l) => {
            let what = l.digest.as_deref().map(short_digest).unwrap_or_else(|| l.image.clone());
            match &l.commit {
                Some(c) => format!("{what} ({})", short_commit(c)),
                None => what,
            }
        }
    }
}

/// SHIPIT_APPROVE=production,staging (or `*`) approves those environments without a prompt; meant for a CI
/// job that itself sits behind an approval (a GitHub environment with required reviewers).
pub fn approved_by_env(env_name: &str) -> bool {
    std::env::var(EnvVars::SHIPIT_APPROVE)
        .map(|v| v.split(',').map(str::trim).any(|e| e == env_name || e == "*"))
        .unwrap_or(false)
}

pub fn approve(
    ui: &Ui,
    env_name: &str,
    env: &Environment,
    live: Option<&LiveState>,
    new: &ImageRef,
    new_commit: &str,
) -> Result<(), CliError> {
    let question = format!(
        "Deploy to {env_name}?  running: {} → new: {} ({})",
        describe_live(live),
        new.short_digest(),
        short_commit(new_commit)
    );
    confirm(ui, env_name, env, &question, false)
}

/// Ask `question` as `env` is configured to, and note how it was approved (attached to the digest by the
/// engine once the deploy is over).
pub fn confirm(ui: &Ui, env_name: &str, env: &Environment, question: &str, default: bool) -> Result<(), CliError> {
    use crate::evidence::{ApprovalMethod, note_approval};
    if env.approval == Approval::None {
        ui.debug(format!("{env_name}: approval = \"none\""));
        note_approval(env_name, ApprovalMethod::NotRequired);
        return Ok(());
    }
    if approved_by_env(env_name) {
        ui.info(format!("{} {question} yes (SHIPIT_APPROVE)", console::style("?").cyan()));
        note_approval(env_name, ApprovalMethod::EnvVar);
        return Ok(());
    }
    if ui.confirm(question, default, &format!("--yes or SHIPIT_APPROVE={env_name}"))? {
        note_approval(env_name, crate::evidence::gate::approval_method(ui));
        Ok(())
    } else {
        Err(CliError::approval(format!("deploy to {env_name} declined")).hint("nothing was changed"))
    }
}
