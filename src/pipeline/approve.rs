//! The approval gate before a change: the approval screen (what runs now, what replaces it, the commits,
//! the scan, what the target will change), then the question — or `--yes` / SHIPIT_APPROVE in CI, or a
//! refusal with exit code 4. However it is answered, the screen is in the log (and the job summary), so the
//! record says what was approved.

use crate::config::{Approval, Environment};
use crate::deploy::meta::short_commit;
use crate::env_vars::EnvVars;
use crate::error::CliError;
use crate::evidence::{ApprovalMethod, note_approval};
use crate::pipeline::screen::{self, Screen};
use crate::release::short_digest;
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

/// Show the screen and ask `question` as `env` is configured to, noting how it was approved (attached to
/// the digest by the engine once the change is over).
pub fn ask(
    ui: &Ui,
    env_name: &str,
    env: &Environment,
    question: &str,
    screen: Option<&Screen>,
) -> Result<(), CliError> {
    if env.approval == Approval::None {
        // Nobody is asked, but the log still says what was done.
        ui.info(format!("{} {question} yes (approval = \"none\")", console::style("?").cyan()));
        note_approval(env_name, ApprovalMethod::NotRequired);
        return Ok(());
    }
    if let Some(s) = screen {
        ui.block(&screen::text(s));
        if let Err(e) = crate::ci::append_summary(&screen::markdown(s)) {
            ui.warn(format!("could not write the job summary: {e}"));
        }
    }
    if approved_by_env(env_name) {
        ui.info(format!("{} {question} yes (SHIPIT_APPROVE)", console::style("?").cyan()));
        note_approval(env_name, ApprovalMethod::EnvVar);
        return Ok(());
    }
    let details = || screen.map(screen::text_details).unwrap_or_else(|| "no details are known\n".into());
    if ui.approve(question, &format!("--yes or SHIPIT_APPROVE={env_name}"), &details)? {
        note_approval(env_name, crate::evidence::gate::approval_method(ui));
        Ok(())
    } else {
        Err(CliError::approval(format!("{question} — declined")).hint("nothing was changed"))
    }
}
